"""Go live on an empty database from the README's commands alone, then work in a real browser.

The commands are read from the README's "Going live (production)" section and run as the operator would
(`flask --app wsgi sipflow ...` in the project folder, configured by SIPFLOW_* variables only); the county's
file is the README's example. Then, in Debian's Chromium: the first administrator opens the printed link,
invites a staff member of an imported unit, who opens the e-mailed link, chooses a password, logs in and
starts a SIP with another imported unit taking part.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from playwright.sync_api import expect
from support import valid_personnummer
from werkzeug.serving import make_server

from sipflow import create_app
from sipflow.i18n import compile_catalogues

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLE = "docs/examples/county-import.csv"
LINK = re.compile(r"(?:https?://[^/\s]+)?(/set-password/[A-Za-z0-9_-]{43})")
ADMIN_PASSWORD = "granskog älv morgon 17"
STAFF_PASSWORD = "lingon höst fjäril 58"
STAFF_EMAIL = "lisa.lindqvist@exempel.example"
TIMEOUT = 10_000


def readme_go_live_commands() -> list[list[str]]:
    """The `flask --app wsgi sipflow ...` lines of the README's go-live block, as argument lists."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Going live (production)") :]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start : section.index("\n```", start)]
    commands = [shlex.split(line, comments=True) for line in block.splitlines()]
    return [words for words in commands if words[:4] == ["flask", "--app", "wsgi", "sipflow"]]


def _environment(tmp_path: Path) -> dict[str, str]:
    """The variables the README's go-live names, for a database file of this test's own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SIPFLOW_") and key not in ("FLASK_APP", "FLASK_ENV", "FLASK_DEBUG")
    }
    env.update(
        {
            # The flask of the interpreter running the tests, as an operator's activated virtualenv.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "SIPFLOW_ENV": "production",
            "SIPFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'golive.sqlite3'}",
            "SIPFLOW_SECRET_KEY": "go-live-secret-key-0123456789abcdef",
            "SIPFLOW_PNR_HASH_KEY": "go-live-pnr-hash-key-0123456789",
            "SIPFLOW_PUBLIC_URL": "https://sip.region.example.se",
            "SIPFLOW_MAIL_FROM": "sip@region.example.se",
            "SIPFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
            "SIPFLOW_OUTBOX_DIR": str(tmp_path / "outbox"),
        }
    )
    return env


def _run(words: list[str], env: dict[str, str]) -> str:
    """Run one README command in the project folder; its standard output (it must succeed)."""
    words = [EXAMPLE if word == "county.csv" else word for word in words]
    done = subprocess.run(words, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{shlex.join(words)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def gone_live(tmp_path) -> Iterator[tuple[str, str, Path]]:
    """The README's commands on an empty database, then sipflow served on it: (url, admin link, outbox)."""
    compile_catalogues()
    env = _environment(tmp_path)
    commands = readme_go_live_commands()
    kinds = [words[4:6] for words in commands]
    assert kinds == [["db", "upgrade"], ["user", "create"], ["import", "directory"], ["import", "directory"]]
    outputs = [_run(words, env) for words in commands]
    (admin_link,) = LINK.findall(outputs[1])
    assert "exempel-psykiatri" in outputs[2]  # the dry run lists what the real import then creates

    app = create_app(
        {
            # Production as the README's: Chromium keeps its HTTPS-only (__Host-) cookies for 127.0.0.1.
            "ENV_NAME": "production",
            "DATABASE_URL": env["SIPFLOW_DATABASE_URL"],
            "SECRET_KEY": env["SIPFLOW_SECRET_KEY"],
            "PNR_HASH_KEY": env["SIPFLOW_PNR_HASH_KEY"],
            "MAIL_FROM": env["SIPFLOW_MAIL_FROM"],
            "OUTBOX_DIR": env["SIPFLOW_OUTBOX_DIR"],
            "INSTANCE_DIR": env["SIPFLOW_INSTANCE_DIR"],
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, admin_link, Path(env["SIPFLOW_OUTBOX_DIR"])
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["sipflow.engine"].dispose()


def _invitation_link(outbox: Path) -> str:
    """The set-password link of the one e-mail to the invited staff member."""
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"].addresses[0].addr_spec == STAFF_EMAIL:
            found += LINK.findall(message.get_body(preferencelist=("plain",)).get_content())
    assert len(found) == 1, found
    return found[0]


def _choose_password(page, password: str) -> None:
    expect(page.get_by_role("heading", name="Välj ditt lösenord")).to_be_visible()
    page.locator("#new_password").fill(password)
    page.locator("#new_password_again").fill(password)
    page.get_by_role("button", name="Spara lösenordet").click()


def _log_in(page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()


def test_go_live_from_the_readme_and_start_the_first_sip(gone_live, browser):
    url, admin_link, outbox = gone_live
    # The CSP forbids inline script and style; the console reports any that the pages would need.
    refused: list[str] = []

    def new_page():
        context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
        context.set_default_timeout(TIMEOUT)
        context.on(
            "console",
            lambda message: refused.append(message.text) if "Content Security" in message.text else None,
        )
        return context, context.new_page()

    # The first administrator: the printed link, a password, and in (the README's "you are logged in").
    admin_context, page = new_page()
    page.goto(f"{url}{admin_link}")
    _choose_password(page, ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/"))  # logged in, on the administration pages
    page.goto(f"{url}/admin/users/new")
    # By id: the required fields' labels end in an asterisk.
    page.locator("#username").fill("lisa.lindqvist")
    page.locator("#display_name").fill("Lisa Lindqvist")
    page.locator("#email").fill(STAFF_EMAIL)
    page.locator("#unit_id").select_option(label="Region Exempelland, Psykiatriska mottagningen")
    expect(page.get_by_label("Personal")).to_be_checked()
    page.locator("form.stacked").get_by_role("button").click()
    expect(page.locator(".flash")).to_contain_text("Lisa Lindqvist är inbjuden")
    admin_context.close()

    # The staff member: the mailed link in a browser of their own, a password, then a login with it.
    staff_context, page = new_page()
    page.goto(f"{url}{_invitation_link(outbox)}")
    _choose_password(page, STAFF_PASSWORD)
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()
    page.get_by_role("button", name="Logga ut").click()
    _log_in(page, url, "lisa.lindqvist", STAFF_PASSWORD)
    expect(page.get_by_role("heading", name="Att göra", exact=True)).to_be_visible()

    page.get_by_role("navigation").get_by_role("link", name="Mina SIP").click()
    expect(page.locator(".who-unit")).to_contain_text("Psykiatriska mottagningen, Region Exempelland")
    page.get_by_role("link", name="Ny SIP").first.click()
    expect(page.get_by_role("heading", name="Ny SIP")).to_be_visible()
    pnr = valid_personnummer(date(1988, 11, 23), 314)
    page.get_by_label("Typ av SIP").select_option("sip")
    page.get_by_label("Identitetsnummer").fill(pnr)
    page.get_by_label("Förnamn").fill("Elin")
    page.get_by_label("Efternamn").fill("Berg")
    page.get_by_label("Folkbokföringskommun").select_option(label="Timrå")
    page.get_by_label("Socialtjänsten Timrå").check()
    page.get_by_role("button", name="Starta SIP:en").click()

    expect(page.locator(".state-badge")).to_have_text("Initierad")
    expect(page.locator(".flash")).to_contain_text("är startad")
    assert "/cases/" in page.url and pnr not in page.url
    expect(page.get_by_text("Socialtjänsten Timrå").first).to_be_visible()
    staff_context.close()
    assert not refused, refused
