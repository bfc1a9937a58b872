"""An answer sent over the answer pages' limit (an office's or a family's many links behind one address)
is not saved, and the page saying how long to wait shows what the invitee typed, to copy: the refusal was a
page saying "Nothing was saved" with the comment gone."""

from __future__ import annotations

from meetingkit import invitation_of
from test_answers import link_path, opened
from webkit import text_of

from sipflow.meetings.answers import PUBLIC_LIMIT

COMMENT = "Jag kommer med min kontaktperson Åsa\noch tar rullstolen."


def test_an_answer_over_the_limit_keeps_the_comment_typed(app, client, db_session, ready, book):
    meeting = book()
    path = link_path(app, meeting, invitation_of(db_session, meeting, ready.relative))
    hidden = opened(client, path)
    per_minute = int(PUBLIC_LIMIT.split()[0])
    for _ in range(per_minute - 1):
        assert client.get(path).status_code == 200
    response = client.post(path, data={**hidden, "partstat": "DECLINED", "comment": COMMENT})
    assert response.status_code == 429
    page = text_of(response)
    assert "Inget sparades" in page
    assert "Det du fyllde i" in page and "Jag kommer med min kontaktperson Åsa\noch tar rullstolen." in page
    assert hidden["csrf_token"] not in page
    assert invitation_of(db_session, meeting, ready.relative).comment is None


def test_a_page_asked_for_over_the_limit_shows_no_card(client):
    for _ in range(30):
        client.get("/my-plan/not-a-token")
    response = client.get("/my-plan/not-a-token")
    assert response.status_code == 429
    assert "Det du fyllde i" not in text_of(response)
