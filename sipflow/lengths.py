"""The one length rule of typed text, and its one refusal: "At most N characters."

A text is as long as a browser counts it against a field's maxlength: in UTF-16 code units (an emoji such
as "🎉" is two, "å" is one). So a value the browser let through is never refused by the server, and a value
the server stored fits its field's maxlength when the change form shows it again. A value within n UTF-16
units is within n characters (code points), so it still fits a VARCHAR(n) column.

Every form's length check (`MaxLength`, which also gives the field its maxlength), every service's
(`cases.fields.clean_text`, the plan and meeting inputs, the user and directory rules) and every CSV
import's (`csvfiles.too_long`) asks `fits` and refuses with `too_long`.
"""

from __future__ import annotations

from wtforms.validators import ValidationError

from sipflow.translated import lazy_gettext as _l


def length(text: str) -> int:
    """text's length as a browser counts it against maxlength: its UTF-16 code units."""
    # surrogatepass: a lone surrogate (which no browser sends) counts as the one unit it is, never raises.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def fits(text: str | None, limit: int) -> bool:
    """Whether text (None: nothing) is within limit as a browser counts it."""
    return text is None or length(text) <= limit


def too_long(limit: int):
    """The refusal of a text over limit."""
    return _l("At most %(max)d characters.", max=limit)


class MaxLength:
    """A form field's length check (WTForms' Length counts code points, with its own wording): sets the
    field's maxlength, and refuses a longer value with `too_long`."""

    def __init__(self, max: int) -> None:
        self.max = max
        self.field_flags = {"maxlength": max}

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and not fits(field.data, self.max):
            raise ValidationError(too_long(self.max))
