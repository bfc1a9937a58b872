"""Swedish first, English available: locale selection for Flask-Babel."""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from urllib.parse import parse_qsl, urlencode
from weakref import WeakKeyDictionary

import flask_wtf.form
from flask import Flask, has_request_context, request, session
from flask_babel import Babel, Domain, force_locale, get_locale, get_translations
from flask_wtf.i18n import translations as wtforms_translations
from jinja2 import pass_context
from markupsafe import Markup, escape

from sipflow.errors import InvalidInput
from sipflow.translated import lazy_gettext as _l

LOCALES = ("sv", "en")
DEFAULT_LOCALE = "sv"
# The languages a user or a participant may have, named in the page's language (forms, lists).
LANGUAGE_LABELS = {"sv": _l("Swedish"), "en": _l("English")}
# A moment written out in mail ("tisdag 8 december 2026 kl. 10:00", "Tuesday 8 December 2026 at 10:00").
MAIL_MOMENT_PATTERNS = {"sv": "EEEE d MMMM y 'kl.' HH:mm", "en": "EEEE d MMMM y 'at' HH:mm"}
# A day written out in mail ("tisdag 8 december 2026"): a deadline counted in whole days.
MAIL_DAY_PATTERNS = {"sv": "EEEE d MMMM y", "en": "EEEE d MMMM y"}
# The command line speaks English throughout (its own lines, its help, the README), so a service's message
# it prints, else in the default locale, comes in English too.
CLI_LOCALE = "en"
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
# Set with the session's language when it was chosen with ?lang= in this session (not left from a
# session that ended): a login then keeps it rather than restoring the user's stored language.
CHOSEN_KEY = "lang_chosen"


# The letters Swedish sorts after z, in its order (æ with ä and ø with ö, as Swedish dictionaries do):
# mapped past every Latin letter, so "Örebro" comes after "Zon" and "Åtgärd" before "Äldre".
_SWEDISH_AFTER_Z = {"å": "\ue000", "ä": "\ue001", "æ": "\ue001", "ö": "\ue002", "ø": "\ue002"}


def sort_key(text: str, locale: str) -> tuple[str, str]:
    """The key a list of words shown to a reader sorts by in their language: case and accents aside (é as
    e), but in Swedish å, ä and ö are letters of their own after z; the text itself breaks a tie."""
    keyed = []
    for char in unicodedata.normalize("NFC", text).casefold():
        if locale == "sv" and char in _SWEDISH_AFTER_Z:
            keyed.append(_SWEDISH_AFTER_Z[char])
        else:
            base = unicodedata.normalize("NFD", char)
            keyed.append("".join(c for c in base if not unicodedata.combining(c)))
    return "".join(keyed), text


def cli_count(number: int, noun: str, plural: str | None = None) -> str:
    """A count as the command line's English writes it: "1 case", "2 cases", "0 cases" (plural: when it is
    not noun + "s"). The command line is English only (CLI_LOCALE), so its lines are not in the catalogues."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def known_language(value: object) -> str | None:
    """value when it is one of LOCALES, else None."""
    return value if isinstance(value, str) and value in LOCALES else None


def language_or_default(value: object) -> str:
    """value when it is one of LOCALES (a stored language), else the default language, Swedish."""
    return known_language(value) or DEFAULT_LOCALE


def in_cli_language(command):
    """A CLI command whose services' messages come in CLI_LOCALE (put it under @with_appcontext)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        with force_locale(CLI_LOCALE):
            return command(*args, **kwargs)

    return run


def checked_language(value: object, *, field: str = "language") -> str:
    """value when it is one of LOCALES; else InvalidInput naming field (services check it, whoever calls)."""
    language = known_language(value)
    if language is None:
        raise InvalidInput(_l("Choose Swedish or English."), field=field)
    return language


def select_locale() -> str:
    """The locale the user chose (kept in the session), else Swedish (also outside requests: CLI, jobs)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    _keep_requested_language()
    return session.get("lang", DEFAULT_LOCALE)


def _keep_requested_language() -> None:
    """Keep this request's ?lang= in the session, as the page's language from now on."""
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen
        session[CHOSEN_KEY] = True


def chosen_language() -> str | None:
    """The language chosen with ?lang= in this session (this request's included), else None."""
    if not has_request_context() or not session.get(CHOSEN_KEY):
        return None
    return known_language(session.get("lang"))


def requested_language() -> str | None:
    """The language this request's ?lang= asks for, when it is one of LOCALES."""
    return known_language(request.args.get("lang")) if has_request_context() else None


def lang_url(code: str, base: str | None = None) -> str:
    """This page (or base, with the query it holds) with ?lang=code; a GET page without a base keeps its
    other query arguments."""
    if not base:  # no address named (a template's undefined page_url too): this page's
        path, args = request.path, request.args.to_dict() if request.method == "GET" else {}
    else:
        path, _sep, query = base.partition("?")
        args = dict(parse_qsl(query, keep_blank_values=True))
    args["lang"] = code
    return path + "?" + urlencode(args)


class _CatalogueByLocale(Domain):
    """flask-babel's message domain, finding the catalogue of a locale in a dict keyed by the locale.

    flask-babel's own looks the context up once more and spells the locale out as a string on every
    gettext; a page translates a hundred or so labels (lazy ones each time they are shown). The catalogues
    are the same either way: loaded once per locale, from the same folders, and never changed.
    """

    def __init__(self, domain: str):
        super().__init__(domain=domain)
        self._by_locale: dict = {}
        # The request's locale object and its catalogue: a request asks some fifty times with the same
        # object, and comparing babel Locales in the dict (hash, then attribute by attribute) cost more
        # than the look-up. A new request (or force_locale) brings a new object and finds it in the dict.
        self._last: tuple = (None, None)

    def get_translations(self):
        """The catalogue of the current locale (flask-babel's, kept by locale)."""
        locale = get_locale()
        if locale is None:
            return super().get_translations()
        last_locale, last_found = self._last
        if last_locale is locale:
            return last_found
        found = self._by_locale.get(locale)
        if found is None:
            found = self._by_locale[locale] = super().get_translations()
        self._last = (locale, found)
        return found


class _FormMessages:
    """WTForms' own messages ("Not a valid choice.", "Not a valid date value.") in the page's language.

    Flask-WTF translates them with WTForms' catalogue, whose Swedish is uneven ("Inte ett giltigt val"
    without a full stop, "Felaktigt val; kunde inte ceorce:a"). The project's catalogue has those it words
    itself (the "could not coerce" ones as plain words, PLAIN); any other falls back to WTForms' catalogue.
    """

    PLAIN = {
        "Invalid Choice: could not coerce.": "Not a valid choice.",
        "Invalid choice(s): one or more data inputs could not be coerced.": (
            "One or more choices are not valid."
        ),
    }

    def gettext(self, string: str) -> str:
        plain = self.PLAIN.get(string, string)
        own = get_translations().ugettext(plain)
        return own if own != string else wtforms_translations.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        own = get_translations().ungettext(singular, plural, n)
        return own if own not in (singular, plural) else wtforms_translations.ngettext(singular, plural, n)


# The Swedish terms the English pages keep on purpose (docs/architecture.md, Glossary: a label may add the
# Swedish term in brackets): swedish_terms marks each lang="sv" there, so a screen reader says it in Swedish.
SWEDISH_TERMS = (
    "samordnad individuell plan",
    "fast vårdkontakt",
    "fast omsorgskontakt",
    "Vad är viktigt för dig?",
    "huvudansvar",
    "folkbokföringskommun",
    "utskrivningsklar",
    "samtycke",
    "insatser",
    "insats",
    "god man",
    "förvaltare",
    "frågeställningar",
    "anhörigstöd",
    "Det är viktigt för mig…",
    "loggutdrag",
    "registerutdrag",
    "personnummer",
    "samordningsnummer",
    "reservnummer",
)
# A term is marked whatever its case ("Loggutdrag" as a heading).
_SWEDISH_TERM = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(t) for t in sorted(SWEDISH_TERMS, key=len, reverse=True)) + r")(?!\w)",
    re.IGNORECASE,
)
_TAG = re.compile(r"(<[^>]*>)")


def swedish_terms(text) -> Markup:
    """text as HTML (escaped, unless it is markup already) with each Swedish term in it marked
    `<span lang="sv">` when the page is in another language; on a Swedish page, as it is. The template filter
    `sv_terms`: the catalogues keep plain text, and no term is marked inside a tag (an address, an id)."""
    html = escape(text)
    if str(get_locale() or DEFAULT_LOCALE) == DEFAULT_LOCALE or not _SWEDISH_TERM.search(html):
        return html
    parts = _TAG.split(html)
    marked = r'<span lang="sv">\1</span>'
    return Markup("".join(part if i % 2 else _SWEDISH_TERM.sub(marked, part) for i, part in enumerate(parts)))


# The one translator of WTForms' own messages: every FlaskForm's (below) and every row form's.
FORM_MESSAGES = _FormMessages()


def uncompiled_catalogues(directory: Path = TRANSLATIONS_DIR) -> tuple[list[Path], list[Path]]:
    """The messages.po files without their compiled messages.mo, and those whose .mo is older."""
    missing, older = [], []
    for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists():
            missing.append(po)
        elif mo.stat().st_mtime < po.stat().st_mtime:
            older.append(po)
    return missing, older


def check_catalogues(logger, directory: Path | None = None) -> None:
    """Refuse to start without the compiled catalogues: Flask-Babel would show every page in the English
    of the source, the Swedish first interface nowhere, and say nothing. One older than its .po (a new
    release over an old compilation) is logged: its new texts show in English until compiled."""
    from sipflow.config import ConfigError

    directory = TRANSLATIONS_DIR if directory is None else directory
    missing, older = uncompiled_catalogues(directory)
    if missing:
        raise ConfigError(
            "the translations are not compiled (no messages.mo beside "
            + ", ".join(str(po.relative_to(directory)) for po in missing)
            + f"): run `pybabel compile -d {directory}` (make translations) before the start"
        )
    for po in older:
        logger.warning(
            "translations: %s is newer than its messages.mo: run `pybabel compile -d %s`",
            po.relative_to(directory),
            directory,
        )


def init_babel(app: Flask) -> None:
    """Attach Flask-Babel with the project's translations folder (its catalogues compiled)."""
    check_catalogues(app.logger)
    # Every FlaskForm's Meta.get_translations answers with this module global of flask_wtf.form.
    flask_wtf.form.translations = FORM_MESSAGES
    babel = Babel(
        app,
        locale_selector=select_locale,
        default_translation_directories="translations",
    )
    babel.domain_instance = _CatalogueByLocale(app.extensions["babel"].default_domain)
    # Kept before the view runs, not when a text is first translated: a page that only redirects renders
    # nothing, and the page it leads to would come in the old language (while a logged-in user's stored
    # language had changed already).
    app.before_request(_keep_requested_language)
    app.jinja_env.filters["sv_terms"] = swedish_terms

    @app.context_processor
    def _locale():
        return {
            "current_locale": str(get_locale() or DEFAULT_LOCALE),
            "locales": LOCALES,
            "lang_url": lang_url,
            "language_labels": LANGUAGE_LABELS,
            **template_gettext(),
        }


# A text without variables as the templates show it (translated, as Markup when autoescaping), by catalogue:
# a catalogue never changes once loaded, and a page shows some eighty such texts on every render. Bounded by
# the texts the templates hold; a catalogue dropped takes its texts with it.
_FIXED_TEXTS: WeakKeyDictionary = WeakKeyDictionary()


def template_gettext() -> dict:
    """`gettext` and `ngettext` for one template render, bound to the catalogue in force as it starts.

    Jinja's `_()` calls the `gettext` of the template's context, else flask-babel's global one, which
    finds the request, the locale and the catalogue again on every call (about 10 µs; the case page has
    some 80). These behave as flask-babel's (Jinja's new-style gettext), looked up once per render; a
    render inside `force_locale` (mail in the recipient's language) gets that language's catalogue.
    """
    translations = get_translations()
    try:
        fixed = _FIXED_TEXTS[translations]
    except KeyError:
        fixed = _FIXED_TEXTS.setdefault(translations, {})
    except TypeError:  # a catalogue without weak references: nothing kept
        fixed = {}

    @pass_context
    def gettext(context, string: str, **variables) -> str:
        autoescape = context.eval_ctx.autoescape
        if not variables:
            found = fixed.get((string, autoescape))
            if found is not None:
                return found
        text = translations.ugettext(string)
        if autoescape:
            text = Markup(text)
        # Always a format string, as Jinja's own: "%%" is "%" whether or not there are variables.
        text = text % variables
        if not variables:
            fixed[string, autoescape] = text
        return text

    @pass_context
    def ngettext(context, singular: str, plural: str, num: int, **variables) -> str:
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    # `_` too: Jinja's own `_` is an alias that looks `gettext` up and calls it through the context again.
    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}


def compile_catalogues(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile every messages.po whose .mo is missing or older (what `pybabel compile` does); for tests."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    missing, older = uncompiled_catalogues(directory)
    for po in sorted(missing + older):
        mo = po.with_suffix(".mo")
        with po.open("rb") as handle:
            catalog = read_po(handle)
        with mo.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(mo)
    return written
