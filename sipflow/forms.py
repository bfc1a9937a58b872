"""The base of every page's form: a field that held a NUL character is refused at the field.

The request's NUL characters are taken out of the form before any view runs (`security.nul_fields` names the
fields); the form shows what was typed without them and refuses each such field, so the page comes back with
the error next to the field and nothing typed lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask_wtf import FlaskForm
from wtforms import Field, Form, IntegerField
from wtforms.fields import FieldList, FormField
from wtforms.form import BaseForm
from wtforms.validators import StopValidation
from wtforms.widgets import HiddenInput

from sipflow.routing import ROW_ID_DIGITS, row_id
from sipflow.security import NUL_MESSAGE, nul_fields
from sipflow.translated import lazy_gettext as _l


class FilledInByTheService:
    """Marks a field the service behind the form refuses empty (the label's asterisk). The service checks
    the field, with every other, so the page shows each refusal at once: a check here would stop the form
    before it."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        return None


class PageForm(FlaskForm):
    """A page's form (rows inside it, FieldList of FormField, are checked with it)."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        held = nul_fields()
        if held and _refuse_fields(self, held):
            return False
        return valid


def _refuse_fields(form: Form, names: frozenset[str]) -> bool:
    """Put the NUL refusal on every field of form named in names, rows too; True when one was."""
    refused = False
    for field in form:
        refused = _refuse_field(field, names) or refused
    return refused


def _refuse_field(field: Field, names: frozenset[str]) -> bool:
    if isinstance(field, FormField):
        return _refuse_fields(field.form, names)
    if isinstance(field, FieldList):
        refused = False
        for entry in field.entries:
            refused = _refuse_field(entry, names) or refused
        if refused:  # the list's errors are its entries', gathered when it was validated
            field.errors = [entry.errors for entry in field.entries]
        return refused
    if field.name not in names:
        return False
    field.errors = [*field.errors, NUL_MESSAGE]
    return True


class RowIdField(IntegerField):
    """A hidden row id the page sends back (the version approved, say), read by `routing.row_id`: anything
    that names no row (missing, "abc", "²", a number beyond the id column) is refused at the field with
    `message`, as an id of no row is, never as an expired form."""

    widget = HiddenInput()

    def __init__(self, label=None, validators=None, *, message, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist) -> None:
        if valuelist:
            self.data = row_id(valuelist[0])

    def pre_validate(self, form) -> None:
        if self.data is None:
            raise StopValidation(self.message)


# A row's number in a list's field names (efforts-3-text): the digits an id has, ASCII only.
_ROW_NUMBER = re.compile(ROW_ID_DIGITS)


class RowList(FieldList):
    """A form's list of rows (FieldList) that reads the rows' numbers in the field names as ASCII digits.

    WTForms' own takes any key whose number passes str.isdigit() to int(): "efforts-²-text" or a number of
    thousands of digits raised ValueError (a 500). Such a key names no row here and is left out, as a key of
    no field is.

    row_heading: the heading of the row numbered n (from 1), as the page shows it above the row ("Insats 2")
    and the error summary names the row's fields ("Insats 2, Vem: …"); None for rows the page heads with
    something of its own.
    """

    def __init__(self, *args, row_heading: Callable[[int], object] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.type = "FieldList"  # it is one: the pages and typed_values ask a field's type by this name
        self.row_heading = row_heading

    def _extract_indices(self, prefix, formdata):
        offset = len(prefix) + 1
        for key in formdata:
            if key.startswith(prefix):
                number = key[offset:].split(self._field_separator, 1)[0]
                if _ROW_NUMBER.fullmatch(number):
                    yield int(number)


# The error summary at the top of a page whose form was refused (macros.html `error_summary`, shown by
# base.html, which prefixes the page title with "Error:"): each refusal once, a field's as a link to it,
# named by the field's label (its row's heading first, in a list of rows): a link's text is all a screen
# reader's list of links says of it.
_CHOICE_GROUPS = frozenset({"RadioField", "MultiCheckboxField"})
# A label that ends as a sentence does (a question) is followed by the message without a colon.
_SENTENCE_ENDS = ("?", "!", ".")


@dataclass(frozen=True)
class SummaryItem:
    """One line of the error summary: the message, and the id of the element it leads to (None: no link)."""

    message: object
    target: str | None = None


def error_summary_items(forms, errors=None, groups=None) -> list[SummaryItem]:
    """The page's refusals (errors, then each form's own) and each visible field's errors, in page order
    (a form's fields are declared in the order its page shows them).

    A field's line names the field, "Label: message" (a row's field "Row heading, Label: message", when its
    list has a row_heading), and leads to the field's id; a group of radios or tick boxes (a fieldset) to
    its first choice, the element a keyboard user lands on. Hidden fields are left out: `hidden_errors` says
    those. groups: a page's refusals of a group of fields, {the group's element id: [messages]}, said as
    they are, as the page's own refusals are.
    """
    items = [SummaryItem(message) for message in errors or ()]
    for target, messages in (groups or {}).items():
        items.extend(SummaryItem(message, target) for message in messages)
    for form in forms or ():
        if not isinstance(form, BaseForm):  # a page without that form (None, or not given to the template)
            continue
        items.extend(SummaryItem(message) for message in getattr(form, "form_errors", ()))
        for field in form:
            items.extend(_field_items(field))
    return items


def _field_items(field: Field, row=None):
    if isinstance(field, FormField):
        for subfield in field.form:
            yield from _field_items(subfield, row)
        return
    if isinstance(field, FieldList):
        heading = getattr(field, "row_heading", None)
        for number, entry in enumerate(field.entries, start=1):
            yield from _field_items(entry, heading(number) if heading else None)
        # the list's own refusals (its validators'), beside its rows' error lists
        yield from (SummaryItem(m) for m in field.errors if not isinstance(m, list | dict))
        return
    if isinstance(field.widget, HiddenInput) or not field.errors:
        return
    target = field.id
    if field.type in _CHOICE_GROUPS:
        first = next(iter(field), None)
        if first is not None:
            target = first.id
    for message in field.errors:
        yield SummaryItem(_named(message, field.label.text if field.label else "", row), target)


def _named(message, label, row):
    """message said of the field labelled label (in the row headed row, if any): the summary's line."""
    label = str(label).strip().removesuffix(":").rstrip()  # the label as the page shows it, bar the asterisk
    if row is not None:
        label = _l("%(row)s, %(label)s", row=row, label=label) if label else row
    elif not label:
        return message
    if str(label).endswith(_SENTENCE_ENDS):
        return _l("%(label)s %(message)s", label=label, message=message)
    return _l("%(label)s: %(message)s", label=label, message=message)
