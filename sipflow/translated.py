"""Messages translated when shown, whose values a page escapes: the project's lazy_gettext.

Flask-Babel's LazyString hands Jinja its whole text as safe HTML (`__html__` returns it as it is), the values
formatted into it too: a guardian's or an organisation's name, typed by a user, would be obeyed as markup in
any page that shows the message (a form error, a refusal). Here the translated text, which is ours (the
catalogues), stays markup, and each value is escaped unless it is markup itself.
"""

from __future__ import annotations

from flask_babel import gettext, pgettext
from flask_babel.speaklater import LazyString
from markupsafe import Markup


class LazyMessage(LazyString):
    """A lazily translated message; as HTML its values are escaped, its translated text is not."""

    def __html__(self) -> Markup:
        (string,) = self._args
        if not self._kwargs:
            return Markup(gettext(string))
        # Markup's % escapes each value (a value with __html__, e.g. another message, gives its own HTML).
        return Markup(gettext(string)) % self._kwargs


def lazy_gettext(string: str, **variables) -> LazyMessage:
    """Like Flask-Babel's lazy_gettext, but a page escapes the values put into the message."""
    return LazyMessage(gettext, string, **variables)


class LazyContextMessage(LazyString):
    """A lazily translated message with a context (msgctxt): one English word, two Swedish ones."""

    def __html__(self) -> Markup:
        context, string = self._args
        return Markup(pgettext(context, string))


def lazy_pgettext(context: str, string: str) -> LazyContextMessage:
    """Like lazy_gettext, for a msgid whose Swedish depends on what it is said of (context): an effort is
    "Planerad", a meeting "Planerat"."""
    return LazyContextMessage(pgettext, context, string)


# The one message for a required field left empty, on every form and in every service that checks one (the
# same words as WTForms' own default, so a bare DataRequired() says it too).
REQUIRED = lazy_gettext("This field is required.")
