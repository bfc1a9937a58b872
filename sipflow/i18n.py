"""Swedish first, English available: locale selection for Flask-Babel."""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel, get_locale

LOCALES = ("sv", "en")


def select_locale() -> str:
    """The locale the user chose (kept in the session), else Swedish."""
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen
    return session.get("lang", "sv")


def init_babel(app: Flask) -> None:
    """Attach Flask-Babel with the project's translations folder."""
    Babel(
        app,
        locale_selector=select_locale,
        default_translation_directories="translations",
    )

    @app.context_processor
    def _locale():
        return {"current_locale": str(get_locale() or "sv"), "locales": LOCALES}
