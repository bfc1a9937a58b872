"""The administrator's forms."""

from __future__ import annotations

from wtforms import HiddenField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired
from wtforms.widgets import HiddenInput

from sipflow.admin.queries import USER_SEARCH_MAX
from sipflow.admin.users import ROLE_LABELS, SCOPE_HELP_NATIONAL
from sipflow.cases.forms import IDENTIFIER_KIND_CHOICES, VERSION_LABEL, PersonParticularsForm
from sipflow.forms import FilledInByTheService, MergesAsRead, PageForm
from sipflow.i18n import LANGUAGE_LABELS, LOCALES
from sipflow.lengths import MaxLength
from sipflow.translated import REQUIRED
from sipflow.translated import lazy_gettext as _l

# The access log keeps at most 80 characters of purpose.
PURPOSE_MAX = 80
# Said from the start: a personnummer or a name in the purpose is refused (services.check_purpose).
PURPOSE_HELP = _l(
    "Why you do this, for the access log, e.g. the person's request of 2 November. No personnummer or "
    "names: the purpose shows in other people's extracts."
)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _purpose_field():
    return StringField(
        _l("Purpose"),
        description=PURPOSE_HELP,
        filters=[_strip],
        validators=[
            DataRequired(message=REQUIRED),
            MaxLength(PURPOSE_MAX),
        ],
    )


class UserSearchForm(PageForm):
    """The users page's search; posted, so what was typed (a name, an address) stays out of URLs."""

    search = StringField(
        _l("Find a user"),
        description=_l("The beginning of their name, username or e-mail address."),
        filters=[_strip],
        validators=[MaxLength(USER_SEARCH_MAX)],
    )


class PersonLookupForm(PageForm):
    """Find a person by identifier; the identifier travels in the POST body only."""

    id_kind = SelectField(
        _l("Kind of identifier"),
        choices=IDENTIFIER_KIND_CHOICES,
        default="personnummer",
    )
    identifier = StringField(
        _l("Identifier"),
        description=_l("YYYYMMDD-NNNN for personnummer and samordningsnummer."),
        validators=[InputRequired(message=REQUIRED), MaxLength(40)],
    )
    purpose = _purpose_field()


class LogExtractForm(PageForm):
    """A loggutdrag of the person found, as PDF or CSV."""

    person_ref = HiddenField(validators=[InputRequired()])
    purpose = _purpose_field()
    file_format = SelectField(
        _l("Format"), choices=[SelectChoice("pdf", "PDF"), SelectChoice("csv", "CSV")], default="pdf"
    )


class RegisterExtractForm(PageForm):
    """Everything held about the person found (GDPR art. 15), as JSON."""

    person_ref = HiddenField(validators=[InputRequired()])
    purpose = _purpose_field()


class AdminParticularsForm(PersonParticularsForm):
    """The found person's name and folkbokföringskommun, changed with a purpose for the access log."""

    person_ref = HiddenField(validators=[InputRequired()])
    purpose = _purpose_field()


def row_version_field():
    """The row_version an edit form was read at, sent back so that a save after another change is refused."""
    return IntegerField(VERSION_LABEL, widget=HiddenInput(), validators=[InputRequired()])


def _value_and_label(choice) -> tuple[str, str]:
    """A choice (a SelectChoice or a (value, label) pair) as two strings."""
    if isinstance(choice, SelectChoice):
        return str(choice.value), str(choice.label)
    return str(choice[0]), str(choice[1])


def _shown(field) -> str:
    """A field's value as the page names it: a choice by its label, yes or no, text as it is."""
    if field.type == "BooleanField":
        return str(_l("Yes") if field.data else _l("No"))
    labels = dict(_value_and_label(choice) for choice in getattr(field, "choices", None) or [])
    values = field.data if isinstance(field.data, list | tuple) else [field.data]
    return ", ".join(labels.get(str(value), str(value)) for value in values if value not in (None, ""))


def saved_now(typed, saved) -> list:
    """A line per field whose value in saved (the form filled from the row as it is now) differs in typed."""
    lines = []
    for field in saved:
        if field.name in (saved.meta.csrf_field_name, "version") or field.name not in typed:
            continue
        if _shown(field) != _shown(typed[field.name]):
            value = _shown(field) or _l("(empty)")
            lines.append(_l("Saved now – %(field)s: %(value)s", field=field.label.text, value=value))
    return lines


def merge_stale(typed, saved, errors: list, version: int) -> None:
    """A form of a row someone else changed since it was read (StaleForm): merged with saved (the form as
    the row is saved now, `MergesAsRead.mark_as_read`), a field its sender left taking what is saved now,
    one both changed shown at the field; it then carries the row's version, so sent again it saves what its
    sender changed alone. A form that does not say what it was read as keeps what was typed, and what is
    saved now is listed where it differs."""
    from sipflow.admin.changes import STALE_ROW, STALE_ROW_MERGED
    from sipflow.cases.forms import show_current_version
    from sipflow.people.services import TAKEN_IN

    if typed.merge_current(saved, note=TAKEN_IN):
        errors.append(STALE_ROW_MERGED)
    else:
        errors.append(STALE_ROW)
        errors.extend(saved_now(typed, saved))
    show_current_version(typed, version)


def _role_field():
    from sipflow.cases.forms import MultiCheckboxField

    return MultiCheckboxField(
        _l("Roles"),
        choices=[SelectChoice(role, label) for role, label in ROLE_LABELS.items()],
        default=["staff"],
    )


# The invitation's username, first on the page (admin/user_form.html): a field's place among a form's fields
# is where its field was made (WTForms orders them so), and the error summary lists the refusals in that
# order, so it is made before UserForm's though only InviteUserForm has it.
_USERNAME = StringField(_l("Username"), filters=[_strip], validators=[FilledInByTheService()])


class UserForm(PageForm):
    """A user's name, e-mail, unit, roles and (for a coordinator) the counties and municipalities followed.

    The users service checks the name, address and username (users.clean_*): the form only reads them.
    """

    display_name = StringField(_l("Name"), filters=[_strip], validators=[FilledInByTheService()])
    email = StringField(_l("E-mail"), filters=[_strip], validators=[FilledInByTheService()])
    # The choices are the active units of the administrator's region; the users service checks what is posted
    # (an unknown, another region's or a deactivated unit) and says why at the field.
    unit_id = SelectField(_l("Unit"), coerce=str, choices=[], validate_choice=False)
    roles = _role_field()
    scope = StringField(
        _l("Counties and municipalities followed"),
        # Said by the administrator's region (admin.users.scope_help), set by the page.
        description=SCOPE_HELP_NATIONAL,
        filters=[_strip],
        validators=[MaxLength(400)],
    )
    language = SelectField(
        _l("Language"),
        description=_l("Of the user's pages and e-mail: reminders, invitations and password links."),
        choices=[SelectChoice(code, LANGUAGE_LABELS[code]) for code in LOCALES],
        # Checked by the service (checked_language), with the other fields. Left out of a post, the invitation
        # takes Swedish and a change keeps the user's language.
        validate_choice=False,
    )


class EditUserForm(MergesAsRead, UserForm):
    """A user's page: the fields of UserForm, the version of the user they were read at and their values
    as read (a change someone else made meanwhile is merged, field by field)."""

    merged_fields = ("display_name", "email", "unit_id", "roles", "scope", "language")
    version = row_version_field()


class InviteUserForm(UserForm):
    """A new user: the username too; the set-password link goes to the e-mail address."""

    username = _USERNAME
