"""Swedish first, English available: locale selection for Flask-Babel."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, has_request_context, request, session
from flask_babel import Babel, get_locale

LOCALES = ("sv", "en")
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def select_locale() -> str:
    """The locale the user chose (kept in the session), else Swedish (also outside requests: CLI, jobs)."""
    if not has_request_context():
        return "sv"
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen
    return session.get("lang", "sv")


def lang_url(code: str, base: str | None = None) -> str:
    """This page (or base) with ?lang=code; a GET page keeps its other query arguments."""
    args = request.args.to_dict() if request.method == "GET" and base is None else {}
    args["lang"] = code
    return (base or request.path) + "?" + urlencode(args)


def init_babel(app: Flask) -> None:
    """Attach Flask-Babel with the project's translations folder."""
    Babel(
        app,
        locale_selector=select_locale,
        default_translation_directories="translations",
    )

    @app.context_processor
    def _locale():
        return {"current_locale": str(get_locale() or "sv"), "locales": LOCALES, "lang_url": lang_url}


def compile_catalogues(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile every messages.po whose .mo is missing or older (what `pybabel compile` does); for tests."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle)
        with mo.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(mo)
    return written
