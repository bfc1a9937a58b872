"""Each invitee's reminder is named by who they are to the SIP on the case page and the administration's
list, never by a private person's name or address."""

from __future__ import annotations

import re
from collections import Counter

from sqlmodel import Session
from webkit import login

from sipflow.people.models import Organisation, Unit


def _section(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    return page[start : page.index("</section>", start)]


def _recipients(section: str, label: str) -> list[str]:
    """The recipients of the section's rows of one kind, as shown after "Mottagare:"."""
    rows = re.findall(rf"{label}, [^<]*?\.\s*Mottagare: (.+?)\.\s*Status:", section)
    return [re.sub(r"\s+", " ", row) for row in rows]


def _unit_label(engine, participant) -> str:
    with Session(engine) as session:
        unit = session.get(Unit, participant.unit_id)
        return f"{session.get(Organisation, participant.organisation_id).name}, {unit.name}"


def test_the_case_page_names_each_invitee_of_a_meeting_tomorrow_by_who_they_are_to_the_sip(
    app, engine, client, parties, book, ready
):
    book()
    login(client, parties.region_user.username)
    section = _section(client.get(f"/cases/{ready.case.uid}").get_data(as_text=True), "h-reminders")
    named = _recipients(section, "Möte i morgon")
    assert Counter(named) == Counter(
        [
            _unit_label(engine, ready.region),
            _unit_label(engine, ready.municipality),
            "personen",
            "närstående (syster)",
            "närstående (bror)",
        ]
    )
    for private in ("Kallad", "Eva", "Olle", "Testa", "@"):
        assert private not in section


def test_the_administrations_list_names_invitees_as_the_case_page_does(
    app, engine, client, make_user, parties, book, ready
):
    book()
    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    page = client.get("/admin/reminders/?lang=en").get_data(as_text=True)
    # The recipient's cell is the one before the status's.
    cells = [cell.strip() for cell in re.findall(r"<td>([^<]*)</td>\s*<td>Upcoming", page)]
    assert Counter(cells) >= Counter(["the person", "relative (syster)", "relative (bror)"])
    assert "Invitee" not in page and "eva.andersson" not in page
