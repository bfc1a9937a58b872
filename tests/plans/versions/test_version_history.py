"""The case's history says which version of the plan each establishing or revising step established: a
year of follow-ups otherwise reads as the same "Revidera plan" entry again and again."""

from __future__ import annotations

from webkit import login, text_of


def _timeline(page: str) -> str:
    return page.split("Händelser", 1)[1].split("Nästa steg", 1)[0]


def test_each_plan_step_in_the_history_names_the_version_it_established(client, parties, revised):
    assert login(client, parties.region_user.username).status_code == 302
    history = _timeline(text_of(client.get(f"/cases/{revised.case.uid}")))
    order = [
        "Fastställ plan",
        "Planens version 1 fastställdes.",
        "Revidera plan",
        "Planens version 2 fastställdes.",
    ]
    positions = [history.find(text) for text in order]
    assert -1 not in positions and positions == sorted(positions), history
    # The follow-up step between them, and every other step, names none.
    assert history.count("Planens version") == 2
    follow_up = history[history.index("Registrera uppföljning") : positions[2]]
    assert "Planens version" not in follow_up
