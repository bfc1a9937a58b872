"""Every user-facing string is in both catalogues; Swedish by default, English on request."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_mapping_cfg
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from webkit import TEST_PASSWORD

from sipflow.i18n import LOCALES, TRANSLATIONS_DIR

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted_messages() -> dict[str, list[str]]:
    """Every msgid in sipflow/**.py and templates/**.html, extracted with babel.cfg, and where it is used."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map):
        singular = message[0] if isinstance(message, tuple) else message
        found.setdefault(singular, []).append(f"{filename}:{lineno}")
    return found


def catalogue(locale: str):
    with (TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


def test_extraction_covers_code_templates_and_lazy_strings():
    messages = extracted_messages()
    assert "My SIPs" in messages  # a template
    assert "Wrong username or password." in messages  # lazy_gettext in the security views
    assert "A valid consent is required." in messages  # a guard's lazy message
    assert "Unknown municipality." in messages  # people/services


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale):
    messages = extracted_messages()
    translations = catalogue(locale)
    missing = []
    for msgid, places in messages.items():
        entry = translations.get(msgid)
        strings = (
            entry.string
            if entry is not None and isinstance(entry.string, tuple)
            else ((entry.string,) if entry is not None else ("",))
        )
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(f"{msgid!r} ({places[0]})")
    assert not missing, f"untranslated in {locale}/LC_MESSAGES/messages.po:\n" + "\n".join(missing)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_with_a_context_is_translated_in_its_context(locale):
    """A msgid with a msgctxt (lazy_pgettext) is its own entry: the one without a context does not count."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    translations = catalogue(locale)
    found = [
        (context, message)
        for _filename, _lineno, message, _comments, context in extract_from_dir(ROOT, method_map, options_map)
        if context
    ]
    assert ("effort status", "Planned") in found
    missing = [
        pair
        for pair in found
        if not (entry := translations.get(pair[1], context=pair[0])) or not entry.string
    ]
    assert not missing, f"untranslated in {locale} in their context: {missing}"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale):
    for entry in catalogue(locale):
        if entry.id and isinstance(entry.id, str):
            assert set(PLACEHOLDER.findall(entry.id)) == set(PLACEHOLDER.findall(entry.string)), entry.id


@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgstr_belongs_to_a_msgid(locale):
    """Babel reads a stray msgstr (a merge's leftover) without a word, where GNU msgfmt refuses the file."""
    path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    previous = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        assert not line.startswith(("<<<<<<<", "=======", ">>>>>>>")), f"{path.name}:{number}: {line}"
        # A plural's forms follow each other (msgstr[0], msgstr[1]); any other msgstr follows its msgid.
        allowed = ("msgid", '"', "msgstr[") if line.startswith("msgstr[") else ("msgid", '"')
        if line.startswith("msgstr"):
            assert previous.startswith(allowed), f"{locale}/messages.po:{number}: msgstr without a msgid"
        if line.strip():
            previous = line


def test_english_catalogue_repeats_the_msgids():
    assert all(entry.string == entry.id for entry in catalogue("en") if entry.id)


def test_pybabel_compile_succeeds(tmp_path):
    shutil.copytree(TRANSLATIONS_DIR, tmp_path / "translations", ignore=shutil.ignore_patterns("*.mo"))
    status = CommandLineInterface().run(["pybabel", "-q", "compile", "-d", str(tmp_path / "translations")])
    assert not status
    for locale in LOCALES:
        assert (tmp_path / "translations" / locale / "LC_MESSAGES" / "messages.mo").stat().st_size > 0


def test_a_start_without_compiled_translations_is_refused_saying_how_to_compile(tmp_path, monkeypatch):
    # A checkout installed for production without `make run` has no messages.mo: every page came in the
    # English of the source (the login page said "Log in"), the Swedish first interface nowhere, silently.
    from sipflow import create_app, i18n
    from sipflow.config import ConfigError

    folder = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS_DIR, folder, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", folder)
    with pytest.raises(ConfigError) as refused:
        create_app({"ENV_NAME": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}"})
    message = str(refused.value)
    assert message.startswith("the translations are not compiled (no messages.mo beside ")
    assert "sv/LC_MESSAGES/messages.po" in message and f"run `pybabel compile -d {folder}`" in message


def test_a_catalogue_older_than_its_po_is_logged(tmp_path, caplog):
    from sipflow import i18n

    folder = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS_DIR, folder)
    i18n.compile_catalogues(folder)
    i18n.check_catalogues(logging.getLogger("sipflow"), folder)
    assert "translations:" not in caplog.text
    po = folder / "sv" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    os.utime(mo, (po.stat().st_mtime - 60, po.stat().st_mtime - 60))
    i18n.check_catalogues(logging.getLogger("sipflow"), folder)
    assert "translations: sv/LC_MESSAGES/messages.po is newer than its messages.mo" in caplog.text


class FreshContextClient(FlaskClient):
    """A client whose every request has its own application context (db_session keeps one pushed)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def test_swedish_by_default_and_english_on_request(app, parties):
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/login",
        data={
            "csrf_token": token,
            "username": parties.region_user.username,
            "password": TEST_PASSWORD,
        },
    )
    swedish = client.get("/").get_data(as_text=True)
    assert '<html lang="sv">' in swedish and "Mina SIP" in swedish and "Ny SIP" in swedish
    english = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "My SIPs" in english and "Mina SIP" not in english
    # The choice stays for the session.
    assert "New SIP" in client.get("/cases/new").get_data(as_text=True)
    assert "Mina SIP" in client.get("/?lang=sv").get_data(as_text=True)


def test_a_page_escapes_the_values_of_a_translated_message_but_not_its_text(app):
    from flask import render_template_string
    from markupsafe import Markup

    from sipflow.translated import lazy_gettext

    typed = '<meta http-equiv="refresh" content="0;url=https://evil.example/">'
    with app.test_request_context("/?lang=sv"):
        refusal = lazy_gettext("The consent does not cover %(organisation)s.", organisation=typed)
        html = render_template_string("{{ m }}", m=refusal)
        assert "<meta" not in html and "&lt;meta http-equiv=&#34;refresh&#34;" in html
        # Outside a page the message is the plain text, translated.
        assert str(refusal).endswith(typed + ".") and "<meta" in str(refusal)
        # A value that is markup itself, or a number, is put in as it is.
        linked = lazy_gettext("At most %(max)d characters.", max=12)
        assert render_template_string("{{ m }}", m=linked) == str(linked) and "12" in str(linked)
        bold = lazy_gettext("The consent does not cover %(organisation)s.", organisation=Markup("<b>K</b>"))
        assert "<b>K</b>" in render_template_string("{{ m }}", m=bold)


def test_words_sort_as_the_readers_language_sorts_them():
    from sipflow.i18n import sort_key

    words = ["Örebro", "zon", "Åtgärd", "Äldre", "apa", "Émile"]
    # Swedish: å, ä, ö are letters after z (æ with ä); an accent elsewhere is no letter of its own.
    swedish = sorted([*words, "Ærø"], key=lambda w: sort_key(w, "sv"))
    assert swedish == ["apa", "Émile", "zon", "Åtgärd", "Äldre", "Ærø", "Örebro"]
    assert sorted(words, key=lambda w: sort_key(w, "en")) == [
        "Äldre",
        "apa",
        "Åtgärd",
        "Émile",
        "Örebro",
        "zon",
    ]
