"""The base of every page's form: a field that held a NUL character is refused at the field.

The request's NUL characters are taken out of the form before any view runs (`security.nul_fields` names the
fields); the form shows what was typed without them and refuses each such field, so the page comes back with
the error next to the field and nothing typed lost.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field, Form
from wtforms.fields import FieldList, FormField

from sipflow.security import NUL_MESSAGE, nul_fields


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
