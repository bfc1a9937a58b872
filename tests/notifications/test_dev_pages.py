"""The development outbox page: the file sink's .eml files, one message, its raw file; none in production."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlmodel import Session
from webkit import login, text_of

from sipflow import create_app
from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import OUTBOX_PENDING, deliver_due, enqueue

SUBJECT = "Kallelse till SIP-möte för Åsa"


def mail(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "SIP <sip@sipflow.localhost>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body, cte="quoted-printable")
    message.add_attachment(
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", maintype="text", subtype="calendar", filename="invite.ics"
    )
    return message


@pytest.fixture
def outbox_files(app, db_session, tmp_path, now):
    """Two messages written by the file sink into a folder of this test's own, the newer one last."""
    saved = {key: app.config[key] for key in ("OUTBOX_DIR", "SMTP_HOST")}
    folder = tmp_path / "outbox"
    app.config.update(OUTBOX_DIR=str(folder), SMTP_HOST="")
    names = []
    for offset, (to, subject) in enumerate(
        [("eva@example.se", "Första kallelsen"), ("anna.andersson@example.se", SUBJECT)]
    ):
        at = now + timedelta(minutes=offset)
        row = enqueue(
            db_session,
            mail(to, subject, f"Hej!\nMöte nummer {offset + 1}.\n"),
            kind="request",
            case_id=None,
            invitation_id=None,
            now=at,
        )
        db_session.commit()
        deliver_due(app, now=at)
        names.append(f"{at.strftime('%Y%m%dT%H%M%SZ')}-{row.id}.eml")
    db_session.info.pop(OUTBOX_PENDING, None)
    yield folder, names
    app.config.update(saved)


@pytest.fixture
def logged_in(client, make_user):
    """A national administrator (no unit): the one user who sees every message of the outbox."""
    login(client, make_user(None, roles="admin").username)
    return client


def test_the_page_lists_the_files_newest_first_with_the_status_counts(logged_in, outbox_files, engine, now):
    folder, (older, newer) = outbox_files
    with Session(engine) as session:
        session.add(
            OutboxMessage(
                kind="request",
                recipient="x@example.se",
                subject="x",
                message="x",
                message_id="<x@x>",
                next_attempt_at=now,
                created_at=now,
            )
        )
        session.commit()
    response = logged_in.get("/dev/outbox")
    assert response.status_code == 200
    html = text_of(response)
    assert html.index(newer) < html.index(older)
    assert SUBJECT in html and "Första kallelsen" in html  # RFC 2047 subjects decoded
    assert "anna.andersson@example.se" in html and "eva@example.se" in html
    assert 'data-status="sent">2<' in html and 'data-status="pending">1<' in html
    assert 'data-status="failed">0<' in html
    assert f'href="/dev/outbox/{newer}"' in html


def test_one_message_shows_headers_text_parts_and_the_raw_file(logged_in, outbox_files):
    folder, (_older, newer) = outbox_files
    response = logged_in.get(f"/dev/outbox/{newer}")
    assert response.status_code == 200
    html = text_of(response)
    assert SUBJECT in html and "Message-ID" in html
    assert "Möte nummer 2." in html  # the decoded text/plain part
    for content_type in ("multipart/mixed", "text/plain", "text/calendar"):
        assert content_type in html
    assert "invite.ics" in html
    assert "Content-Transfer-Encoding: quoted-printable" in html  # the raw message
    assert "<script" not in html and "style=" not in html

    raw = logged_in.get(f"/dev/outbox/{newer}/raw")
    assert raw.status_code == 200
    assert raw.mimetype == "message/rfc822"
    assert raw.get_data() == (folder / newer).read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "nope.eml",
        "20261102T090000Z-999999.eml",  # the right shape, but no such file
        "..%2F..%2Fsipflow.sqlite3",
        "%2Fetc%2Fpasswd",
        "notes.eml",  # in the folder, but not a file the sink wrote
        ".outbox-half.tmp",
    ],
)
def test_any_other_name_is_404(logged_in, outbox_files, name):
    folder, _names = outbox_files
    (folder / "notes.eml").write_text("Subject: not from the sink\r\n\r\nx\r\n")
    (folder / ".outbox-half.tmp").write_text("Subject: half\r\n")
    assert logged_in.get(f"/dev/outbox/{name}").status_code == 404
    assert logged_in.get(f"/dev/outbox/{name}/raw").status_code == 404


def test_an_empty_or_missing_folder_is_an_empty_list(logged_in, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_DIR", str(tmp_path / "missing"))
    response = logged_in.get("/dev/outbox")
    assert response.status_code == 200
    assert "Inget e-postmeddelande" in text_of(response)


def test_the_pages_need_a_login(client, outbox_files):
    _folder, (_older, newer) = outbox_files
    for url in ("/dev/outbox", f"/dev/outbox/{newer}", f"/dev/outbox/{newer}/raw"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url


def test_production_has_no_dev_pages(app, tmp_path):
    production = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": "a-production-secret-of-enough-length",
            "PNR_HASH_KEY": "k" * 32,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        }
    )
    try:
        assert "dev" not in production.blueprints
        assert not [rule for rule in production.url_map.iter_rules() if rule.rule.startswith("/dev")]
        for url in (
            "/dev/outbox",
            "/dev/outbox/20261102T090000Z-1.eml",
            "/dev/outbox/20261102T090000Z-1.eml/raw",
        ):
            assert production.test_client().get(url).status_code == 404
        assert "dev" in app.blueprints  # the testing app has them
    finally:
        production.extensions["sipflow.engine"].dispose()


# --- Who sees which message (defect 3 of issue 14) --------------------------------------------------------

ANSWER_LINK = "https://sipflow.localhost/svar/hemlig-svarsnyckel-"


@pytest.fixture
def case_mails(app, db_session, tmp_path, now, create_case, parties, make_unit, make_user):
    """File-sink messages: one about a case of the region, the person's personal link from that case, one to
    the school user, one about nothing."""
    saved = {key: app.config[key] for key in ("OUTBOX_DIR", "SMTP_HOST")}
    folder = tmp_path / "outbox"
    app.config.update(OUTBOX_DIR=str(folder), SMTP_HOST="")
    case = create_case()  # started by the region; the municipality takes part without a consent yet
    names = {}
    for offset, (key, to, case_id, kind) in enumerate(
        [
            ("case", "anhorig@example.se", case.id, "request"),
            ("link", "personen@example.se", case.id, "plan_link"),
            ("school", parties.school_user.email, None, "request"),
            ("nobody", "someone@example.se", None, "request"),
        ]
    ):
        at = now + timedelta(minutes=offset)
        row = enqueue(
            db_session,
            mail(to, f"Kallelse {key}", f"Svara här: {ANSWER_LINK}{key}\n"),
            kind=kind,
            case_id=case_id,
            invitation_id=None,
            now=at,
        )
        db_session.commit()
        deliver_due(app, now=at)
        names[key] = f"{at.strftime('%Y%m%dT%H%M%SZ')}-{row.id}.eml"
    db_session.info.pop(OUTBOX_PENDING, None)
    yield names
    app.config.update(saved)


def _sees(client, names: dict[str, str]) -> set[str]:
    """The messages the logged-in user is shown, by key; a hidden message is 404 on every page."""
    listing = text_of(client.get("/dev/outbox"))
    seen = set()
    for key, name in names.items():
        pages = [client.get(f"/dev/outbox/{name}"), client.get(f"/dev/outbox/{name}/raw")]
        listed = name in listing or f"Kallelse {key}" in listing
        if listed:
            # The raw file holds the recipient's links: theirs and the administrators' only (403 to others).
            assert pages[0].status_code == 200 and pages[1].status_code in (200, 403), key
            seen.add(key)
        else:
            assert all(page.status_code == 404 for page in pages), key
            assert ANSWER_LINK + key not in listing
    return seen


def test_staff_see_the_mails_of_cases_their_organisation_sees(client, parties, case_mails):
    login(client, parties.region_user.username)
    assert _sees(client, case_mails) == {"case"}


def test_staff_see_a_mail_to_someone_else_with_its_links_masked(client, parties, case_mails):
    # The närstående's answer link answers in their name: staff reading the outbox must not get it.
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/dev/outbox/{case_mails['case']}"))
    assert "anhorig@example.se" in page and "Svara här: https://sipflow.localhost/svar/…" in page
    assert "hemlig-svarsnyckel" not in page
    assert client.get(f"/dev/outbox/{case_mails['case']}/raw").status_code == 403


def test_administrators_see_the_links(logged_in, case_mails):
    page = text_of(logged_in.get(f"/dev/outbox/{case_mails['case']}"))
    assert ANSWER_LINK + "case" in page
    assert logged_in.get(f"/dev/outbox/{case_mails['case']}/raw").status_code == 200


def test_the_recipient_sees_the_links_of_a_mail_to_them(client, parties, case_mails):
    login(client, parties.school_user.username)
    assert ANSWER_LINK + "school" in text_of(client.get(f"/dev/outbox/{case_mails['school']}"))
    assert client.get(f"/dev/outbox/{case_mails['school']}/raw").status_code == 200


def test_staff_see_the_mails_sent_to_themselves(client, parties, case_mails):
    login(client, parties.school_user.username)
    assert _sees(client, case_mails) == {"school"}
    assert "Nationella administratörer ser alla" in text_of(client.get("/dev/outbox"))


@pytest.mark.parametrize("who", ["municipality_user", "outsider_user"])
def test_staff_of_an_organisation_that_cannot_see_the_case_see_none_of_its_mails(
    client, parties, case_mails, who
):
    login(client, getattr(parties, who).username)
    assert _sees(client, case_mails) == set()
    listing = text_of(client.get("/dev/outbox"))
    assert "anhorig@example.se" not in listing and ANSWER_LINK not in listing
    assert 'data-status="sent">0<' in listing  # the counts cover only what the user may see


@pytest.mark.parametrize("roles", ["coordinator", "staff"])
def test_a_coordinator_or_a_teacher_who_sees_no_case_sees_no_mail(
    client, make_unit, make_user, case_mails, roles
):
    teacher = make_user(make_unit("school", "Annan skola"), roles=roles)
    login(client, teacher.username)
    assert _sees(client, case_mails) == set()
    listing = text_of(client.get("/dev/outbox"))
    assert ANSWER_LINK not in listing and "anhorig@example.se" not in listing


def test_an_administrator_sees_every_mail(logged_in, case_mails):
    assert _sees(logged_in, case_mails) == {"case", "link", "school", "nobody"}


def test_a_personal_link_is_not_shown_to_the_staff_of_its_case(client, parties, case_mails):
    # The link opens every plan of the person, also of SIPs the staff member's organisation is not in.
    login(client, parties.region_user.username)
    assert "link" not in _sees(client, case_mails)


@pytest.mark.parametrize("unit", ["outsider", "region"])
def test_a_region_administrator_sees_no_more_than_other_staff_of_the_region(
    client, parties, make_user, case_mails, unit
):
    # The outbox holds every region's mail: a county's administrator is not the national one.
    administrator = make_user(getattr(parties, unit), roles="admin")
    login(client, administrator.username)
    assert _sees(client, case_mails) == set()
    listing = text_of(client.get("/dev/outbox"))
    assert ANSWER_LINK not in listing and "personen@example.se" not in listing
    assert "Nationella administratörer ser alla" in listing


def test_a_region_administrator_who_is_staff_sees_their_cases_mails_with_the_links_masked(
    client, parties, make_user, case_mails
):
    administrator = make_user(parties.region, roles="staff,admin")
    login(client, administrator.username)
    assert _sees(client, case_mails) == {"case"}
    page = text_of(client.get(f"/dev/outbox/{case_mails['case']}"))
    assert "hemlig-svarsnyckel" not in page and "Svara här: https://sipflow.localhost/svar/…" in page
    assert client.get(f"/dev/outbox/{case_mails['case']}/raw").status_code == 403


def test_a_region_administrator_sees_the_links_of_a_mail_to_them(client, parties, make_user, case_mails):
    administrator = make_user(parties.region, roles="admin", email=parties.school_user.email.upper())
    login(client, administrator.username)
    assert _sees(client, case_mails) == {"school"}
    assert ANSWER_LINK + "school" in text_of(client.get(f"/dev/outbox/{case_mails['school']}"))
