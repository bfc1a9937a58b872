"""The base of every page's form: a field that held a NUL character is refused at the field.

The request's NUL characters are taken out of the form before any view runs (`security.nul_fields` names the
fields); the form shows what was typed without them and refuses each such field, so the page comes back with
the error next to the field and nothing typed lost.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto, _is_submitted  # the default formdata, and whether one was sent
from markupsafe import Markup
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import Field, Form, HiddenField, IntegerField
from wtforms.fields import FieldList, FileField, FormField
from wtforms.fields.core import UnboundField
from wtforms.form import BaseForm
from wtforms.validators import Optional, StopValidation
from wtforms.widgets import HiddenInput, TextArea

from sipflow.lengths import MaxLength
from sipflow.routing import ROW_ID_DIGITS, row_id
from sipflow.security import NUL_MESSAGE, nul_fields
from sipflow.translated import lazy_gettext as _l


class FilledInByTheService:
    """Marks a field the service behind the form refuses empty (the label's "(required)"). The service checks
    the field, with every other, so the page shows each refusal at once: a check here would stop the form
    before it."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        return None


class PageForm(FlaskForm):
    """A page's form (rows inside it, FieldList of FormField, are checked with it)."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            """What a browser sends: the form body, and an uploaded file only at a file field.

            Flask-WTF's own also read a JSON body as the form and put every uploaded file among the form's
            values: a file sent at a text field, or a JSON object or list at one, reached the services as no
            text (a 500), a JSON list or a nesting deeper than the parser's limit before any view."""
            if formdata is not _Auto or not _is_submitted():
                return super().wrap_formdata(form, formdata)
            at_file_fields = {field.name for field in form if isinstance(field, FileField)}
            files = [(name, file) for name, file in request.files.items(multi=True) if name in at_file_fields]
            if files:
                return CombinedMultiDict((MultiDict(files), request.form))
            return request.form or None

    def hidden_tag(self, *fields):
        """Flask-WTF's hidden_tag, a plain hidden input written directly (tests/test_forms_hidden_tag.py holds
        the two equal): WTForms' widget asks dir() of the field's flags on every input, and the case page
        writes ten hidden inputs (each form's CSRF token and version) on every view."""
        if fields:
            return super().hidden_tag(*fields)
        return Markup("\n").join(
            _hidden_input(field) for field in self if isinstance(field.widget, HiddenInput)
        )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        held = nul_fields()
        if held and _refuse_fields(self, held):
            return False
        return valid


_HIDDEN_INPUT = Markup('<input id="%s" name="%s" type="hidden" value="%s">')


def _hidden_input(field: Field) -> Markup:
    """The field's hidden input as WTForms writes it (attributes by name, escaped), unless the field asks for
    more than a plain one (attributes of its own, disabled, a datalist): then WTForms' own."""
    if field.render_kw or getattr(field.flags, "disabled", False) or getattr(field, "_datalist", None):
        return Markup(field())
    return _HIDDEN_INPUT % (field.id, field.name, field._value())


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
    they are, as the page's own refusals are. A refusal in errors that is a SummaryItem already leads where
    it says (the plan step's conditions lead to the part of the plan where each is met). A form with a
    summary_heading (one of several alike on the page) heads its fields' lines with it, as a row's heading.
    """
    items = [m if isinstance(m, SummaryItem) else SummaryItem(m) for m in errors or ()]
    for target, messages in (groups or {}).items():
        items.extend(SummaryItem(message, target) for message in messages)
    for form in forms or ():
        if not isinstance(form, BaseForm):  # a page without that form (None, or not given to the template)
            continue
        items.extend(SummaryItem(message) for message in getattr(form, "form_errors", ()))
        # One form of several alike on a page (an answer form per invitee) names whose it is, as a row does.
        heading = getattr(form, "summary_heading", None)
        for field in form:
            items.extend(_field_items(field, heading))
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


def field_refusal(message, label, target: str) -> SummaryItem:
    """The summary's line of a refusal beside a field no form class declares (Mina SIP's filters): named by
    its label as a form field's is, leading to the element with the id target."""
    return SummaryItem(_named(message, label, None), target)


def _named(message, label, row):
    """message said of the field labelled label (in the row headed row, if any): the summary's line."""
    label = row_field_label(row, label)
    if not str(label):
        return message
    if str(label).endswith(_SENTENCE_ENDS):
        return _l("%(label)s %(message)s", label=label, message=message)
    return _l("%(label)s: %(message)s", label=label, message=message)


# What a user typed into a form sent after their session ended, shown back on the login page
# (`security.send_to_login`): the form's fields are known only by their names there, so which form was sent
# is read from the names (the app's form, and the prefix it was made with, whose fields the most of them
# are), and what each field is (text typed, or a hidden id, a password, a choice) from that form's own
# structure: a row's field (decisions-0-text) through its list (decisions) and the list's row form
# (DecisionRowForm.text), labelled as the row's field with the row's heading. Inputs of these kinds hold
# what was typed; every other (hidden, password, choices, tick boxes, files) is never shown back.
_TYPED_INPUTS = frozenset(
    {"text", "email", "tel", "search", "url", "number", "date", "time", "datetime-local"}
)
_SEPARATOR = "-"  # between a prefix, a list's name, a row's number and a row's field (WTForms' own)


@dataclass(frozen=True)
class _Declared:
    """A field as a form class declares it: whether it holds typed text, and its label."""

    typed: bool
    label: object


@dataclass(frozen=True)
class _Rows:
    """A list of rows (FieldList) as a form class declares it: what each row is, and its heading."""

    entry: object  # _Declared, or the row form's fields (a dict, `_structure`)
    heading: Callable[[int], object] | None


@dataclass(frozen=True)
class _Found:
    """A posted name read through a form's structure: the field, and the rows it is in, outermost first, as
    (the list's posted name, the row's number in the name, the list's row heading)."""

    field: _Declared
    rows: tuple[tuple[str, int, Callable[[int], object] | None], ...] = ()


def _form_classes(base: type = Form) -> Iterable[type]:
    for cls in base.__subclasses__():
        if cls.__module__.startswith("sipflow."):
            yield cls
        yield from _form_classes(cls)


def _module_level(cls: type) -> bool:
    """cls is a class its module names (not one built at run time, as `OutcomeForm.for_case` builds)."""
    owner = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        owner = getattr(owner, part, None)
    return owner is cls


def _node(unbound: UnboundField):
    """What an unbound field is: a field (_Declared), a row form's fields (dict) or a list of rows."""
    if issubclass(unbound.field_class, FieldList):
        inner = unbound.args[0] if unbound.args else unbound.kwargs.get("unbound_field")
        heading = unbound.kwargs.get("row_heading")
        return _Rows(_node(inner), heading) if isinstance(inner, UnboundField) else None
    if issubclass(unbound.field_class, FormField):
        form_class = unbound.args[0] if unbound.args else unbound.kwargs.get("form_class")
        return _structure(form_class)
    widget = unbound.kwargs.get("widget") or getattr(unbound.field_class, "widget", None)
    typed = isinstance(widget, TextArea) or getattr(widget, "input_type", None) in _TYPED_INPUTS
    label = unbound.args[0] if unbound.args else unbound.kwargs.get("label")
    return _Declared(typed and label is not None, label)


@functools.cache
def _structure(cls: type) -> dict[str, object]:
    """The fields cls declares by name: each a _Declared, a row form's fields (dict) or _Rows."""
    fields = {}
    for name in dir(cls):
        unbound = getattr(cls, name, None)
        if isinstance(unbound, UnboundField):
            node = _node(unbound)
            if node is not None:
                fields[name] = node
    return fields


@functools.cache
def _sent_candidates() -> tuple[dict[str, object], ...]:
    """The structures of the app's forms a page may send, in one order (built once: forms are made at
    import)."""
    classes = sorted(
        {cls for cls in _form_classes() if _module_level(cls)}, key=lambda c: (c.__module__, c.__qualname__)
    )
    return tuple(_structure(cls) for cls in classes)


def _resolve(fields: dict, name: str, path: str = "", rows: tuple = ()) -> _Found | None:
    """name (without the form's prefix) read through fields; path: the posted name of fields' form."""
    own, _, rest = name.partition(_SEPARATOR)
    node = fields.get(own)
    path = f"{path}{own}"
    while isinstance(node, _Rows):
        number, _, rest = rest.partition(_SEPARATOR)
        if not _ROW_NUMBER.fullmatch(number):
            return None
        rows = (*rows, (path, int(number), node.heading))
        path, node = f"{path}{_SEPARATOR}{number}", node.entry
        if isinstance(node, _Declared):
            return _Found(node, rows) if not rest else None
    if isinstance(node, dict):
        return _resolve(node, rest, path + _SEPARATOR, rows) if rest else None
    if isinstance(node, _Declared) and not rest:
        return _Found(node, rows)
    return None


def _prefixes(key: str) -> Iterable[str]:
    """The prefixes a form may have been made with that key starts with: none, one part or two
    ("answer-12-")."""
    yield ""
    parts = key.split(_SEPARATOR, 2)
    if len(parts) > 1:
        yield parts[0] + _SEPARATOR
    if len(parts) > 2:
        yield parts[0] + _SEPARATOR + parts[1] + _SEPARATOR


def _sent_form(keys: list[str]) -> tuple[dict, str] | None:
    """The structure of the form keys were sent from, and its prefix: the one whose fields the most of keys
    are; of those, the one declaring the fewest fields besides (the closest fit), then the first."""
    best, best_score = None, None
    prefixes = sorted({prefix for key in keys for prefix in _prefixes(key)}, key=lambda p: (len(p), p))
    for order, fields in enumerate(_sent_candidates()):
        for prefix in prefixes:
            found = {
                key[len(prefix) :].partition(_SEPARATOR)[0]
                for key in keys
                if key.startswith(prefix) and _resolve(fields, key[len(prefix) :]) is not None
            }
            if not found:
                continue
            score = (len(found), -(len(fields) - len(found)), -len(prefix), -order)
            if best_score is None or score > best_score:
                best, best_score = (fields, prefix), score
    return best


def row_field_label(row, label):
    """The label of a field as the page shows it, bar "(required)", in its row's (headed row) with the
    heading first ("Insats 2, Vem"), as the error summary and the login page's card of what was typed name
    it; row None: a field outside a list, or in a row the page heads with something of its own."""
    label = str(label).strip().removesuffix(":").rstrip()
    if row is None:
        return label
    return _l("%(row)s, %(label)s", row=row, label=label) if label else row


def _row_numbers(keys: list[str], path: str) -> dict[int, int]:
    """The rows of the list posted as path, each row's number in the names to its place (from 1) in the
    list, as the list reads them (`RowList._extract_indices`, sorted)."""
    offset = len(path) + len(_SEPARATOR)
    numbers = set()
    for key in keys:
        if key.startswith(path + _SEPARATOR):
            number = key[offset:].split(_SEPARATOR, 1)[0]
            if _ROW_NUMBER.fullmatch(number):
                numbers.add(int(number))
    return {number: place for place, number in enumerate(sorted(numbers), start=1)}


def _label(found: _Found, prefix: str, keys: list[str]):
    label = found.field.label
    for path, number, heading in reversed(found.rows):
        row = heading(_row_numbers(keys, prefix + path)[number]) if heading else None
        label = row_field_label(row, label)
    return label


def _elsewhere(key: str, prefix: str, keys: list[str]) -> str | None:
    """The label of key, a field the sent form does not declare, when every form of the app declaring it
    (by that name, or by it without the sent form's prefix) declares a typed field labelled alike; else
    None: no label is guessed from another form."""
    names = {key} | ({key[len(prefix) :]} if prefix and key.startswith(prefix) else set())
    labels = set()
    for fields in _sent_candidates():
        for name in names:
            found = _resolve(fields, name)
            if found is not None:
                label = _label(found, key[: len(key) - len(name)], keys) if found.field.typed else None
                labels.add(None if label is None else str(label))
    return labels.pop() if len(labels) == 1 else None


def typed_in_request(formdata) -> list[tuple[str, str]]:
    """What the user typed into the form formdata was sent from, as (field label, text), in the order
    posted; empty fields out. Only a field the form sent declares as one a user types into is shown (or,
    when it does not declare it, one that every form of the app declaring that name declares so, labelled
    alike), never a password, a CSRF token, a hidden id or an unknown name; a row's field is labelled as
    its row form labels it, with the row's heading."""
    keys = list(dict.fromkeys(formdata.keys()))
    sent = _sent_form(keys)
    if sent is None:
        return []
    fields, prefix = sent
    values = []
    for key, value in formdata.items(multi=True):
        if not value.strip() or "password" in key.lower():
            continue
        found = _resolve(fields, key[len(prefix) :]) if key.startswith(prefix) else None
        if found is None:
            label = _elsewhere(key, prefix, keys)
        else:
            label = str(_label(found, prefix, keys)) if found.field.typed else None
        if label is not None:
            values.append((label, value))
    return values


# A form sent after someone else changed what it edits: a field the sender left as the page showed it takes
# what is saved now, one they changed keeps what they typed, one both changed (differently) keeps what they
# typed with what it is now at the field (`MergesAsRead`). The meeting change form, the admin user,
# organisation and unit forms.
EMPTY = _l("(empty)")
# The longest record of the values a form was read as, quoted as JSON.
SHOWN_MAX = 4000


def field_text(field) -> str:
    """A field's value as text to compare: a date ISO, a time HH:MM, a choice its value, several choices
    their values sorted, a tick "y" or "", text stripped."""
    value = field.data
    if value is None or value is False:
        return ""
    if value is True:
        return "y"
    if isinstance(value, list | tuple):
        return ",".join(sorted(str(each) for each in value))
    if hasattr(value, "isoformat"):
        return value.strftime("%H:%M") if field.type == "TimeField" else value.isoformat()
    return str(value).strip()


def field_shown(field, text: str) -> str:
    """text, a value of field as `field_text` gives it, as the page names it: a choice by its label."""
    if field.type == "BooleanField":
        return str(_l("Yes") if text else _l("No"))
    labels = {str(choice[0]): str(choice[1]) for choice in _choices(field)}
    names = [labels.get(each, each) for each in text.split(",")] if text else []
    return ", ".join(names) or str(EMPTY)


def _choices(field):
    for choice in getattr(field, "choices", None) or ():
        yield (choice.value, choice.label) if hasattr(choice, "value") else (choice[0], choice[1])


class MergesAsRead:
    """A form that carries the values its page showed (`shown`: merged_fields as read), so that after
    someone else's change it can tell what its sender changed from what they left (`merge_current`)."""

    merged_fields: tuple[str, ...] = ()
    shown = HiddenField(validators=[Optional(), MaxLength(SHOWN_MAX)])

    def values(self) -> dict[str, str]:
        """The values of merged_fields as text (`field_text`)."""
        return {name: field_text(self[name]) for name in self.merged_fields}

    def mark_as_read(self) -> None:
        """Carry the values the form holds now as those its page showed."""
        self.shown.data = json.dumps(self.values(), ensure_ascii=False)
        self.shown.raw_data = [self.shown.data]

    def _shown_values(self) -> dict[str, str] | None:
        """What the page showed, or None when the form does not say (a page from before it did, forged)."""
        try:
            shown = json.loads(self.shown.data or "")
        except ValueError:
            return None
        if not isinstance(shown, dict) or not all(isinstance(shown.get(n), str) for n in self.merged_fields):
            return None
        return shown

    def merge_current(self, current, *, note=None) -> bool:
        """After someone else's change: current (the form filled from the row as it is now, `mark_as_read`)
        wherever this user left the value the page showed (note, if any, under its label), what they typed
        wherever they changed it. A value both changed, differently, keeps what this user typed and says at
        the field what it is now. Sent again, the form then applies this user's changes alone. False: the
        form does not say what it showed, and what was typed stays as it is.
        """
        shown, typed, now = self._shown_values(), self.values(), current.values()
        self.shown.data = current.shown.data
        self.shown.raw_data = [self.shown.data]
        if shown is None:
            return False
        for name in self.merged_fields:
            field = self[name]
            if typed[name] == shown[name]:
                field.data, field.raw_data = current[name].data, None
                if note is not None and now[name] != shown[name]:
                    field.description = note
            elif typed[name] != now[name] and shown[name] != now[name]:
                field.errors = [
                    *field.errors,
                    _l(
                        "Changed by someone else to %(theirs)s; you wrote %(yours)s.",
                        theirs=field_shown(field, now[name]),
                        yours=field_shown(field, typed[name]),
                    ),
                ]
        return True
