"""A reminder to someone with no address to send it to says on the lists that it will not go out.

Olle (the brother) is called some other way: he has no e-mail address. His "Meeting tomorrow" reminder would
end undeliverable when its moment came; until then the case page and the administration's list showed it as
upcoming, as if he would hear of the meeting. They say now that it will not be sent, and why.
"""

from __future__ import annotations

import re

from test_invitee_names import _recipients, _section
from webkit import login

BROTHER = "närstående (bror)"


def _rows(section: str) -> dict[str, str]:
    """{recipient: the rest of its row} of the section's "Möte i morgon" rows."""
    rows = re.findall(r"Möte i morgon, [^<]*?\.\s*Mottagare: (.+?)\.\s*Status:(.*?)</li>", section, re.S)
    return {flat(who): flat(re.sub(r"<[^>]+>", " ", rest)) for who, rest in rows}


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_case_page_says_a_reminder_to_an_invitee_without_an_address_will_not_go_out(
    client, parties, book, ready
):
    book()
    login(client, parties.region_user.username)
    section = _section(client.get(f"/cases/{ready.case.uid}").get_data(as_text=True), "h-reminders")
    rows = _rows(section)
    assert BROTHER in _recipients(section, "Möte i morgon") and len(rows) == 5
    status, said = (
        "Skickas inte",
        "Mottagaren har ingen e-postadress, så påminnelsen skickas inte: meddela på annat sätt.",
    )
    assert flat(rows[BROTHER]).strip() == f"{status} {said}"
    for who, rest in rows.items():
        if who != BROTHER:
            assert rest.split() == ["Kommande"], who


def test_the_administrations_list_says_it_too(client, make_user, parties, book, ready):
    book()
    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    page = client.get("/admin/reminders/").get_data(as_text=True)
    statuses = [
        re.sub(r"\s+", " ", status).strip()
        for who, status in re.findall(r"<td>([^<]*)</td>\s*<td>(Kommande[^<]*)</td>", page)
        if who.strip() == BROTHER
    ]
    assert statuses == ["Kommande: skickas inte, mottagaren har ingen e-postadress"]
    others = re.findall(r"<td>(?!närstående \(bror\))[^<]*</td>\s*<td>(Kommande[^<]*)</td>", page)
    assert others and all(status.strip() == "Kommande" for status in others)
