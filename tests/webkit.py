"""A small browser for the test client: read forms as a browser submits them, log in with CSRF on."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

TEST_PASSWORD = "correct horse battery staple"


class _Forms(HTMLParser):
    """Every form of a page: its action and the name/value pairs a browser would send unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._action: str | None = None
        self._select: dict | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        # A submit button of a form sending it elsewhere (formaction): (its form's action, where, its pair).
        self.formactions: list[tuple[str, str, tuple[str, str] | None]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._action = a.get("action")
            self.forms[self._action] = []
            return
        if self._action is None:
            return
        fields = self.forms[self._action]
        if tag == "button" and "formaction" in a and a.get("type", "submit") == "submit":
            pair = (a["name"], a.get("value", "")) if "name" in a else None
            self.formactions.append((self._action, a["formaction"], pair))
            return
        if tag == "input" and "name" in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button"):
                fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = {"name": a["name"], "first": None, "chosen": False, "multiple": "multiple" in a}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in a:
                fields.append((self._select["name"], value))
                self._select["chosen"] = True
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._action = None
        elif tag == "select" and self._select is not None:
            s = self._select
            if not s["chosen"] and not s["multiple"] and s["first"] is not None:
                self.forms[self._action].append((s["name"], s["first"]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.forms[self._action].append((self._textarea, "".join(self._text).lstrip("\n")))
            self._textarea = None


def forms_of(html: str) -> dict[str, list[tuple[str, str]]]:
    """The forms of html by action."""
    parser = _Forms()
    parser.feed(html)
    forms = parser.forms
    # A button with formaction sends its own form's fields, and its own name and value, to that address.
    for action, elsewhere, pair in parser.formactions:
        forms[elsewhere] = [*forms[action], *([pair] if pair else [])]
    return forms


def fill(pairs: list[tuple[str, str]], **values) -> MultiDict:
    """The form's own values with some replaced (a list value sets several, None removes the field)."""
    data = MultiDict(pairs)
    for name, value in values.items():
        data.poplist(name)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            data.add(name, str(item))
    return data


def csrf_token(html: str) -> str:
    """Any CSRF token on the page (one per session)."""
    return re.search(r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"', html).group(1)


def login(client, username: str, password: str = TEST_PASSWORD):
    """Log in through the login form, CSRF token and all."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "username": username,
            "password": password,
        },
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


def seen(html: str) -> str:
    """A page's markup as the eye reads it: visually hidden text left out, what is hidden from a screen reader
    (aria-hidden) kept without its span."""
    html = re.sub(r'<span class="visually-hidden">.*?</span>', "", html)
    return re.sub(r'<span aria-hidden="true">(.*?)</span>', r"\1", html)


def spoken(html: str) -> str:
    """A page's text as a screen reader says it: what is hidden from it (aria-hidden) left out, visually
    hidden text kept, tags dropped, spaces collapsed."""
    html = re.sub(r'<span aria-hidden="true">.*?</span>', "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def without_tokens(html: str) -> str:
    return re.sub(r'value="[^"]*"', "", html)


class FreshContextClient(FlaskClient):
    """A test client whose every request gets an application context (and so a `g`) of its own.

    The db_session fixture keeps a request context pushed for the whole test; without this, every
    request would reuse its `g`: one database session, one logged-in user and one CSRF token for all.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


_ERROR_SUMMARY = re.compile(r'<div class="alert alert-error error-summary".*?</div>', re.S)


def error_summary_of(html: str) -> str:
    """The page's error summary (macros.html error_summary), or "" when it has none."""
    found = _ERROR_SUMMARY.search(html)
    return found.group(0) if found else ""


def beside_fields(html: str) -> str:
    """The page without its error summary, which repeats each field's error as a link to the field."""
    return _ERROR_SUMMARY.sub("", html)


def summary_out_of_page_order(html: str) -> list[str] | None:
    """The ids the page's error summary links to when they are not in the order of their elements in the
    page (the summary follows the page), else None."""
    targets = re.findall(r'<a href="#([^"]+)">', error_summary_of(html))
    page = beside_fields(html)
    placed = [t for t in targets if f'id="{t}"' in page]
    if placed == sorted(placed, key=lambda target: page.index(f'id="{target}"')):
        return None
    return targets
