"""The forms of the case pages: one per kind of transition input, starting a SIP and adding participants.

Each transition form turns its fields into the typed data dict that sipflow/cases/inputs.py expects:
dates as `date`, local wall-clock times as aware UTC, ids as ints.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    Form,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms import TextAreaField as _TextAreaField
from wtforms.validators import AnyOf, InputRequired, NumberRange, Optional, Regexp, StopValidation
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from sipflow.cases.days_off import DayOffWording, day_off_warning
from sipflow.cases.fields import window_message
from sipflow.clock import local_to_utc, wall_time_exists, wall_time_repeated, within_date_window
from sipflow.consent.models import GUARDIAN_GIVER
from sipflow.forms import FilledInByTheService, PageForm
from sipflow.i18n import DEFAULT_LOCALE, FORM_MESSAGES, LANGUAGE_LABELS, LOCALES
from sipflow.lengths import MaxLength
from sipflow.people.identifiers import KINDS as IDENTIFIER_KINDS
from sipflow.people.labels import unit_label
from sipflow.people.services import IDENTIFIER_KIND_LABELS, ParticularsChanged
from sipflow.routing import row_id
from sipflow.translated import REQUIRED
from sipflow.translated import lazy_gettext as _l

DATETIME_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
DECISION_ROWS = 3

# Labels for the stored codes, shared by forms and pages.
GIVER_LABELS = {
    "person": _l("The person"),
    "guardian": _l("Guardian"),
    "legal_representative": _l("Legal representative (god man or förvaltare)"),
}
CONSENT_FORM_LABELS = {"oral": _l("Oral"), "written": _l("Written")}
# The kinds of identifier to choose from, on Ny SIP and in the administration's person search: Swedish
# names in every language, so each option is marked lang="sv" (an option holds no markup; the Glossary).
IDENTIFIER_KIND_CHOICES = [
    SelectChoice(kind, IDENTIFIER_KIND_LABELS[kind], render_kw={"lang": "sv"}) for kind in IDENTIFIER_KINDS
]
MEETING_MODE_LABELS = {"on_site": _l("On site"), "video": _l("Video"), "mixed": _l("Mixed")}
ATTENDANCE_LABELS = {
    "on_site": _l("On site"),
    "video": _l("Video"),
    "phone": _l("Phone"),
    "absent": _l("Absent"),
}
PRIVATE_KIND_LABELS = {
    "narstaende": _l("Relative"),
    "guardian": _l("Guardian"),
    "representative": _l("Legal representative (god man or förvaltare)"),
}
# A party's role in a case (workflow.definition.PARTY_ROLES), as the case page and the workflows page name it.
PARTY_ROLE_LABELS = {
    "initiator": _l("initiator"),
    "huvudansvarig": _l("overall responsibility"),
    "participant": _l("participant"),
}


def _required():
    return InputRequired(message=REQUIRED)


def _max(n: int):
    return MaxLength(n)


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def choices(pairs) -> list[SelectChoice]:
    """Choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def grouped_choices(groups) -> list[SelectChoice]:
    """Choices from (group label, [(value, label), ...]) pairs, each in its <optgroup>."""
    return [SelectChoice(value, label, optgroup=group) for group, items in groups for value, label in items]


def _text(value: str | None) -> str:
    return (value or "").strip()


def parsed(field):
    """The field's value, or None when the form's own checks refused it: a page whose form they refused asks
    the service with the fields that parsed, as its step would read them (a refused value may not even
    convert: a time in year 1 has no UTC time)."""
    return None if field.errors else field.data


def _utc(value: datetime | None) -> datetime | None:
    """A naive local wall-clock time from a datetime-local field as aware UTC."""
    return None if value is None else local_to_utc(value)


class RowForm(Form):
    """A row of a list inside a page's form (FieldList of FormField): WTForms' own messages (a date that is
    no date, a choice that is none) in the page's language, as FlaskForm gives them; a row has no CSRF token
    of its own (the page's form carries it)."""

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return FORM_MESSAGES


class TextAreaField(_TextAreaField):
    """A textarea whose line breaks arrive as LF, one character each, as the browser counted them.

    A browser sends every line break of a textarea as CRLF but counts it as one character against the
    field's maxlength, so a length check of the raw text refused text the browser had let through (ten
    lines of a 500-character reason came to 509). The text is stored with LF line breaks.
    """

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, str):
            self.data = self.data.replace("\r\n", "\n").replace("\r", "\n")


class InDateWindow:
    """Refuse a date or date-time outside clock.date_window(); it would overflow or break pages later."""

    field_flags: dict = {}

    def __call__(self, form, field) -> None:
        if field.data is not None and not within_date_window(field.data):
            raise StopValidation(window_message())


SKIPPED_TIME = _l("That time does not exist: the clocks go forward an hour that night.")


class ExistingWallTime:
    """Refuse a local date-time the clocks skip when summer time starts, rather than move it an hour."""

    field_flags: dict = {}

    def __call__(self, form, field) -> None:
        if field.data is not None and within_date_window(field.data) and not wall_time_exists(field.data):
            raise StopValidation(SKIPPED_TIME)


def repeated_time_message(wall: datetime):
    """The refusal of a wall-clock time the night summer time ends shows twice (clock.wall_time_repeated)."""
    return _l(
        "%(time)s occurs twice that night: the clocks go back from 03:00 to 02:00. Choose a time before "
        "02:00 or from 03:00.",
        time=wall.strftime("%H:%M"),
    )


class UnambiguousWallTime:
    """Refuse a local date-time that occurs twice the night summer time ends (its moment is unknown)."""

    field_flags: dict = {}

    def __call__(self, form, field) -> None:
        if field.data is not None and within_date_window(field.data) and wall_time_repeated(field.data):
            raise StopValidation(repeated_time_message(field.data))


def date_field(label, validators=None, **kwargs) -> DateField:
    """A date field that accepts only dates within clock.date_window()."""
    return DateField(label, validators=[*(validators or [Optional()]), InDateWindow()], **kwargs)


class DayOffConfirmation:
    """The tick that confirms a date on a weekend day or a holiday after the warning (cases.days_off).

    A form mixes it in with a BooleanField confirm_day (its label says what going on does) and a HiddenField
    warned_day, and names its date field (day_field) and its wording (day_off_wording). The tick confirms the
    day warned about (warned_day) alone, so a tick left on confirms no other day the user picks afterwards.
    """

    day_field = "date"
    day_off_wording: DayOffWording

    def _day_shown(self):
        return self[self.day_field].data

    def confirmed_day(self):
        """The day the user confirmed despite the warning, or None."""
        if not self.confirm_day.data:
            return None
        try:
            return datetime.strptime(self.warned_day.data or "", "%Y-%m-%d").date()
        except ValueError:
            return None

    def asks_to_confirm_day(self) -> bool:
        """True while the date shown is the day warned about and still no working day: the page shows the
        tick to confirm it, with the warning (day_warning_by_tick or the date's own error)."""
        shown = self._day_shown()
        return (
            bool(self.warned_day.data)
            and isinstance(shown, date)
            and shown.isoformat() == self.warned_day.data
            and day_off_warning(shown, self.day_off_wording) is not None
        )

    def day_warning_by_tick(self):
        """The day-off warning to show with the tick, or None while the date field shows it as its error.

        A tick refused for another field's error comes back without the date's error, and a tick alone does
        not say what it confirms.
        """
        if not self.asks_to_confirm_day():
            return None
        warning = day_off_warning(self._day_shown(), self.day_off_wording)
        errors = {str(error) for error in self[self.day_field].errors}
        return None if str(warning) in errors else warning

    def warn_day_off(self, day) -> None:
        """Show the confirmation with the warning about day, unticked: it confirms that day alone."""
        self.warned_day.data = day.isoformat()
        self.confirm_day.data = False


class MultiCheckboxField(SelectMultipleField):
    """A set of checkboxes: several choices at once."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _local_datetime_field(label, validators=None, **kwargs) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        validators=[*(validators or [Optional()]), InDateWindow(), ExistingWallTime()],
        format=DATETIME_LOCAL_FORMATS,
        **kwargs,
    )


@dataclass
class FormContext:
    """What a case's transition forms offer: its organisations, its participants, its kind."""

    organisations: list[tuple[int, str]] = field(default_factory=list)
    participants: list[tuple[int, str]] = field(default_factory=list)
    guardians: list[tuple[int, str]] = field(default_factory=list)
    child: bool = False
    # The guardians give or decline the consent (services.guardians_consent: a child's SIP, a person under
    # 18): the consent forms start at "Guardian".
    guardians_consent: bool = False
    # Whom the consent forms offer as giving or declining it (services.consent_givers; None: every giver).
    givers: tuple[str, ...] | None = None
    # The organisations the consent was withdrawn for (consent.services.withdrawn_organisations): a fresh
    # consent form leaves them unticked, so keeping its defaults gives none of them the SIP back.
    withdrawn: frozenset[int] = frozenset()
    # What a fresh form shows, by form kind and field: what is stored, so saving the form loses nothing.
    prefill: dict[str, dict] = field(default_factory=dict)


# The label of the hidden version field, never shown. Given, so WTForms does not make one up from the field's
# name through its own catalogue: that loads WTForms' translations from disk once per request.
VERSION_LABEL = "Version"


def typed_values(form) -> list[tuple[str, str]]:
    """What the user typed or chose in form, as (field label, text) for a read-only copy; empty ones out.

    A form's lists of rows are left out: the caller shows each row (typed_values of its form) under its own
    heading.
    """
    values = []
    for f in form:
        if getattr(f.widget, "input_type", None) in ("hidden", "submit") or f.type == "CSRFTokenField":
            continue
        if f.type in ("FieldList", "FormField"):
            continue
        if f.type == "BooleanField":
            text = _("Yes") if f.data else ""
        elif hasattr(f, "iter_choices"):
            text = ", ".join(str(label) for _value, label, selected, *_rest in f.iter_choices() if selected)
        else:
            text = f._value()
        if text and str(text).strip():
            values.append((str(f.label.text), str(text)))
    return values


def show_current_version(form, version: int) -> None:
    """After a conflict, the re-rendered form carries the version the page now shows; what was typed stays.

    Sending it again after a look at the page as it is now is then a deliberate choice.
    """
    form.version.data = version
    form.version.raw_data = [str(version)]


def tick_removed(name: str):
    """Beside a checkbox group whose box for name was ticked on a page read before name left the SIP."""
    return _l("%(name)s has been removed from the SIP and is no longer included.", name=name)


class ForgetsRemovedTicks:
    """A form with checkbox groups of the SIP's participants or organisations: a box ticked on a page read
    before its participant or organisation was taken off the SIP is unticked (the form no longer offers it)
    and named beside its group, never dropped silently; the form is then refused until sent again."""

    # The names of those unticked, by field (forget_removed_ticks).
    removed_ticks: dict[str, list[str]] | None = None

    def forget_removed_ticks(self, gone: dict[str, dict[int, str]]) -> None:
        """gone: by field name, the labels of those that may be ticked but are no longer offered."""
        self.removed_ticks = {}
        for name, labels in gone.items():
            field = self._fields.get(name)
            if field is None or not field.data:
                continue
            offered = {choice.value for choice in field.choices or ()}
            names = [labels[value] for value in field.data if value not in offered and value in labels]
            if names:
                self.removed_ticks[name] = names
                field.data = [value for value in field.data if value in offered]
        self._mark_removed_ticks()

    def _mark_removed_ticks(self) -> None:
        for name, names in (self.removed_ticks or {}).items():
            field = self._fields[name]
            marks = [tick_removed(n) for n in names]
            field.errors = [*marks, *(e for e in field.errors if all(str(e) != str(m) for m in marks))]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.removed_ticks:
            return valid
        self._mark_removed_ticks()
        return False


class TransitionForm(ForgetsRemovedTicks, PageForm):
    """Base of the transition forms: every one carries the case version it was loaded with."""

    version = IntegerField(VERSION_LABEL, widget=HiddenInput(), validators=[InputRequired()])

    def __init__(self, formdata, **kwargs) -> None:
        super().__init__(formdata=formdata, **kwargs)
        # Whether the form holds what was sent, rather than being a fresh one for the page: a page shown
        # again after another form of it was refused (a POST) holds fresh forms too, which is_submitted()
        # (true of any POST) would take for sent, leaving their defaults out (no organisation ticked).
        self.sent = formdata is not None

    def configure(self, ctx: FormContext) -> None:
        """Fill the choices that depend on the case."""

    def to_data(self) -> dict:
        """The typed input for sipflow.cases.inputs."""
        return {}


class NoneForm(TransitionForm):
    """A step without input of its own."""


def _offer_givers(form, ctx: FormContext) -> bool:
    """Offer on a consent form only the givers who may give or decline it (ctx.givers); whether it offers
    guardians to tick (guardians taking part, and a guardian may give it). What is sent is the service's to
    judge, its refusal saying why (a page read before the 18th birthday, sent after), not the select's
    "not a valid choice"."""
    if ctx.givers is not None:
        form.given_by.choices = [choice for choice in form.given_by.choices if choice.value in ctx.givers]
        form.given_by.validate_choice = False
    return bool(ctx.guardians) and (ctx.givers is None or GUARDIAN_GIVER in ctx.givers)


class ConsentForm(TransitionForm):
    """A given consent: who gave it, how, for how long, and which organisations it covers."""

    given_by = SelectField(_l("Given by"), choices=_choices(GIVER_LABELS), validators=[_required()])
    given_by_name = StringField(_l("Name of the one giving consent"), validators=[Optional(), _max(120)])
    # Refused empty by the consent service, with its other fields (consent.services.give_consent).
    form = RadioField(
        _l("Form"),
        choices=_choices(CONSENT_FORM_LABELS),
        validate_choice=False,
        validators=[FilledInByTheService()],
    )
    valid_until = date_field(_l("Valid until"))
    guardian_participant_ids = MultiCheckboxField(_l("Guardians consenting"), coerce=int)
    organisation_ids = MultiCheckboxField(_l("Organisations covered"), coerce=int)
    information_scope = TextAreaField(_l("Information covered"), validators=[Optional(), _max(500)])

    def configure(self, ctx: FormContext) -> None:
        if _offer_givers(self, ctx):
            # Each guardian consents in their own right: one consent row per guardian ticked here.
            self.guardian_participant_ids.choices = choices(ctx.guardians)
        else:
            del self.guardian_participant_ids
        self.organisation_ids.choices = choices(ctx.organisations)
        if not self.sent:
            if self.organisation_ids.data is None:
                self.organisation_ids.data = [
                    org_id for org_id, _ in ctx.organisations if org_id not in ctx.withdrawn
                ]
            if self.given_by.data in (None, "person") and ctx.guardians_consent:
                self.given_by.data = "guardian"

    def to_data(self) -> dict:
        guardians = self._fields.get("guardian_participant_ids")
        return {
            "given_by": self.given_by.data,
            "given_by_name": _text(self.given_by_name.data) or None,
            "form": self.form.data,
            "valid_until": self.valid_until.data,
            "organisation_ids": list(self.organisation_ids.data or []),
            "information_scope": _text(self.information_scope.data) or None,
            "guardian_participant_ids": list(guardians.data or []) if guardians else [],
        }


class ConsentDeclinedForm(TransitionForm):
    """A declined consent and the reason given."""

    given_by = SelectField(_l("Declined by"), choices=_choices(GIVER_LABELS), validators=[_required()])
    given_by_name = StringField(_l("Name of the one declining"), validators=[Optional(), _max(120)])
    # As the consent form's: each guardian ticked gets a row of their own, so the SIP says who declined.
    guardian_participant_ids = MultiCheckboxField(_l("Guardians declining"), coerce=int)
    form = RadioField(_l("Form"), choices=_choices(CONSENT_FORM_LABELS), validators=[_required()])
    reason = TextAreaField(_l("Reason given"), validators=[_required(), _max(500)])

    def configure(self, ctx: FormContext) -> None:
        if _offer_givers(self, ctx):
            self.guardian_participant_ids.choices = choices(ctx.guardians)
        else:
            del self.guardian_participant_ids
        if not self.sent and ctx.guardians_consent:
            self.given_by.data = "guardian"

    def to_data(self) -> dict:
        guardians = self._fields.get("guardian_participant_ids")
        return {
            "given_by": self.given_by.data,
            "given_by_name": _text(self.given_by_name.data) or None,
            "form": self.form.data,
            "reason": _text(self.reason.data),
            "guardian_participant_ids": list(guardians.data or []) if guardians else [],
        }


class PreparationForm(TransitionForm):
    """What matters to the person, the questions for the agenda and, for a child, the child's own view."""

    own_goals = TextAreaField(
        _l("What matters to you? (Vad är viktigt för dig?)"),
        description=_l(
            "In the person's own words, one per line: they become the person's own goals in the plan."
        ),
        validators=[Optional(), _max(4000)],
    )
    questions = TextAreaField(
        _l("Questions for the meeting (frågeställningar)"), validators=[Optional(), _max(4000)]
    )
    child_view = TextAreaField(_l("The child's own view"), validators=[Optional(), _max(4000)])

    def configure(self, ctx: FormContext) -> None:
        if not ctx.child:
            del self.child_view

    def to_data(self) -> dict:
        data = {
            "questions": _text(self.questions.data) or None,
            "own_goals": _text(self.own_goals.data) or None,
        }
        if "child_view" in self:
            data["child_view"] = _text(self.child_view.data) or None
        return data


# A meeting's place goes into the invitation e-mails and the calendar entries (LOCATION, DESCRIPTION), which
# are copied, shared and synced to phones: staff are told so beside the fields where they type it.
PLACE_IN_CALENDAR = _l(
    "Sent in the invitation e-mail and the calendar entry: write where to meet, never a name or what the "
    "meeting is about."
)


class KallelseForm(TransitionForm):
    """A kallelse sent through another system (LINK, a letter): when, through what, and the meeting."""

    sent_at = _local_datetime_field(_l("Sent at"))
    channel = StringField(
        _l("Sent through (system or way)"),
        validators=[_required(), _max(40)],
        description=_l("For example LINK, Lifecare or letter."),
    )
    # A meeting at a time shown twice would be booked at a guess; a sending time may be either (it passed).
    meeting_starts_at = _local_datetime_field(_l("Meeting starts at"), [Optional(), UnambiguousWallTime()])
    meeting_minutes = IntegerField(
        _l("Length in minutes"),
        default=60,
        validators=[Optional(), NumberRange(min=15, max=480, message=_l("Between 15 and 480 minutes."))],
    )
    mode = SelectField(_l("Meeting form"), choices=_choices(MEETING_MODE_LABELS), default="on_site")
    location = StringField(_l("Place"), validators=[Optional(), _max(200)], description=PLACE_IN_CALENDAR)

    def to_data(self) -> dict:
        # A field the form refused is left out (parsed): the service is asked about the others too.
        return {
            "sent_at": _utc(parsed(self.sent_at)),
            "channel": _text(parsed(self.channel)),
            "meeting_starts_at": _utc(parsed(self.meeting_starts_at)),
            "meeting_minutes": parsed(self.meeting_minutes) or 60,
            "mode": parsed(self.mode),
            "location": _text(parsed(self.location)) or None,
        }


class PlanForm(TransitionForm):
    """Establish the plan, written on its own page: this carries the version of it the user saw."""

    plan_row_version = IntegerField(
        widget=HiddenInput(), validators=[Optional(), NumberRange(min=0, max=2**31 - 1)]
    )

    def to_data(self) -> dict:
        return {"plan_row_version": self.plan_row_version.data}


class ReasonForm(TransitionForm):
    """A step that needs a reason."""

    reason = TextAreaField(_l("Reason"), validators=[_required(), _max(500)])

    def to_data(self) -> dict:
        return {"reason": _text(self.reason.data)}


FORM_CLASSES: dict[str, type[TransitionForm]] = {
    "none": NoneForm,
    "consent": ConsentForm,
    "consent_declined": ConsentDeclinedForm,
    "preparation": PreparationForm,
    "kallelse": KallelseForm,
    # Recorded on a page of its own (the meetings area's outcome page); the case page links to it.
    "meeting_outcome": NoneForm,
    "plan": PlanForm,
    "reason": ReasonForm,
}


def build_transition_form(
    kind: str, ctx: FormContext, *, prefix: str, version: int, formdata=None
) -> TransitionForm:
    """The form for a transition of kind, bound to formdata (None: a fresh form for the page)."""
    form_class = FORM_CLASSES[kind]
    if formdata is None:
        form = form_class(formdata=None, prefix=prefix, version=version)
    else:
        form = form_class(formdata=formdata, prefix=prefix)
    form.configure(ctx)
    if formdata is None:
        for name, value in ctx.prefill.get(kind, {}).items():
            if name in form and value and not form[name].data:
                form[name].data = value
    return form


def prefill_times(form: TransitionForm, local_now: datetime) -> None:
    """Suggest 'now' (local, to the minute) for the times a fresh form asks for."""
    wall = local_now.replace(second=0, microsecond=0, tzinfo=None)
    for name in ("sent_at",):
        if name in form and form[name].data is None:
            form[name].data = wall


# --- Participants -----------------------------------------------------------------------------------------


def _case_version_field() -> IntegerField:
    # The case version the page was read at: a form from before someone else's step is a conflict.
    return IntegerField(VERSION_LABEL, widget=HiddenInput(), validators=[InputRequired()])


class AddUnitForm(PageForm):
    """Let one more unit (and its organisation) take part."""

    version = _case_version_field()
    unit_id = SelectField(_l("Unit"), coerce=int, validators=[_required()])
    # The label of the unit sent when an administrator deactivated it since the page was read.
    deactivated: str | None = None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.deactivated is not None:
            # Said for what it is, not as the generic "not a valid choice" of an option no longer offered.
            self.unit_id.errors = [_("%(unit)s is deactivated and cannot be added.", unit=self.deactivated)]
            return False
        return valid

    def set_unit_groups(self, groups, *, for_validation: bool = True) -> None:
        """Offer these units (queries.UnitGroup: one group per organisation, each labelled apart).

        The page writes the picker from unit_groups; the field's choices only serve validating a post, so
        a fresh form (never validated) may go without them (for_validation=False).
        """
        groups = _labelled_unit_groups(tuple(groups))
        self.unit_groups = groups
        if for_validation:
            self.unit_id.choices = grouped_choices(groups)


# The case page's picker hands the same groups (queries.units_for_case_page's, kept per directory token) to
# every view of a SIP: labelled once, not again for each of its some hundred units on every view.
@functools.lru_cache(maxsize=512)
def _labelled_unit_groups(groups: tuple) -> tuple:
    """Each group as (its label, its units as (id, label)): each option names its organisation too, since a
    chosen option shows its own label alone."""
    return tuple(
        (group.label, tuple((unit_id, unit_label(group.label, name)) for unit_id, name in group.units))
        for group in groups
    )


PHONE = Regexp(r"^[0-9+()\- ]{5,40}$", message=_l("Enter a phone number (digits, +, -, spaces)."))
EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", flags=re.UNICODE, message=_l("Enter an e-mail address."))


def _strip(value):
    """A text field's value without the spaces around it (a pasted address often brings one along)."""
    return value.strip() if isinstance(value, str) else value


LANGUAGE_HELP = _l("Invitations, reminders and the personal link are written in this language.")
LANGUAGE_REFUSED = _l("Choose Swedish or English.")


def _language_field(*, keep: bool) -> RadioField:
    # AnyOf rather than the choice check, for the service's message; keep offers "as before" (empty).
    options = [SelectChoice("", _l("As before"))] if keep else []
    return RadioField(
        _l("Language"),
        choices=options + _choices({code: LANGUAGE_LABELS[code] for code in LOCALES}),
        default="" if keep else DEFAULT_LOCALE,
        description=LANGUAGE_HELP,
        validate_choice=False,
        validators=[Optional(), AnyOf(LOCALES, message=LANGUAGE_REFUSED)],
    )


class AddPrivateForm(PageForm):
    """Add a närstående, a guardian or a legal representative (god man, förvaltare)."""

    version = _case_version_field()
    kind = RadioField(_l("Taking part as"), choices=_choices(PRIVATE_KIND_LABELS), validators=[_required()])
    name = StringField(_l("Name"), validators=[_required(), _max(120)])
    relation = StringField(_l("Relation to the person"), validators=[Optional(), _max(60)])
    email = StringField(_l("E-mail"), validators=[Optional(), _max(254), EMAIL], filters=[_strip])
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE], filters=[_strip])
    language = _language_field(keep=False)


class RemoveParticipantForm(PageForm):
    """Take one participant off the SIP, saying why (on the removal page of that participant)."""

    version = _case_version_field()
    reason = StringField(
        _l("Why is the participant removed?"),
        validators=[_required(), _max(500)],
        description=_l("Shown in the SIP's history of removed participants."),
    )


class CorrectUtskrivningsklarForm(PageForm):
    """Correct when the patient was reported ready for discharge, saying why (cases.corrections)."""

    version = _case_version_field()
    utskrivningsklar_at = _local_datetime_field(
        _l("Reported ready for discharge (utskrivningsklar)"),
        validators=[_required()],
        description=_l("The deadline for the notice of meeting counts from it, and moves with it."),
    )
    reason = StringField(
        _l("Why is the date corrected?"),
        validators=[_required(), _max(1000)],
        description=_l("Shown in the SIP's timeline."),
    )


# The first option of a participant select: nobody is chosen until the user chooses (a select without it
# shows its first participant chosen, so a choice that is gone would silently become that participant).
CHOOSE_PARTICIPANT = _l("Choose a participant")


def _chosen_id(value) -> int | None:
    """A choice's id: an option's own (an int) as it is, a posted one through routing.row_id, the empty
    first choice None; anything else is no choice the form offers (WTForms' refusal, as int's)."""
    if type(value) is int or value is None:
        return value
    if value == "":
        return None
    number = row_id(value)
    if number is None:
        raise ValueError(value)
    return number


def participant_removed(name: str):
    """Beside a participant chosen in a form the page read before someone took them off the SIP."""
    return _l("%(name)s has been removed from the SIP. Choose the participant again.", name=name)


class OrganisationWithdrawalForm(PageForm):
    """The person withdraws their consent for one organisation and keeps it for the others."""

    version = _case_version_field()
    # Refused empty, or naming an organisation the consent does not cover now, by the consent service
    # (consent.services.check_organisation_withdrawal), beside this field.
    organisation_id = RadioField(
        _l("Organisation the consent is withdrawn for"),
        coerce=_chosen_id,
        validate_choice=False,
        validators=[FilledInByTheService()],
    )
    reason = TextAreaField(_l("Reason given, if any"), validators=[Optional(), _max(500)])

    def to_data(self) -> dict:
        return {"organisation_id": self.organisation_id.data, "reason": _text(self.reason.data) or None}


class ContactForm(PageForm):
    """The e-mail address and phone number a participant is invited and reached at.

    The participant is a required choice from an empty start: one posted who has left the SIP meanwhile is
    not chosen again (what was typed is never moved to another participant), and the field names them.
    """

    version = _case_version_field()
    participant_id = SelectField(_l("Participant"), coerce=_chosen_id, validators=[_required()])
    # The name of the participant the form chose who has left the SIP since (forget_removed_participant).
    removed_participant: str | None = None

    def set_participants(self, participants) -> None:
        """Offer participants ((id, label) pairs), after an empty first choice."""
        self.participant_id.choices = [SelectChoice("", CHOOSE_PARTICIPANT), *choices(participants)]

    def forget_removed_participant(self, name: str) -> None:
        """The participant chosen left the SIP: choose nobody, and say so at the field, whatever else it says.

        What was typed stays in the other fields, to be sent for the participant the user chooses again.
        """
        self.removed_participant = name
        self.participant_id.data, self.participant_id.raw_data = None, [""]
        self.participant_id.errors = [participant_removed(name)]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.removed_participant is None:
            return valid
        self.participant_id.errors = [participant_removed(self.removed_participant)]
        return False

    email = StringField(
        _l("E-mail"),
        validators=[Optional(), _max(254), EMAIL],
        filters=[_strip],
        description=_l(
            "Invitations go here. For a unit: its shared mailbox or the contact person's address."
            " Left empty, the stored address is kept."
        ),
    )
    # The form is the same blank one for every participant: an empty field keeps what is stored, and
    # removing a stored value is this explicit choice (an erased address revokes personal links).
    remove_email = BooleanField(_l("Remove the e-mail address"))
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE], filters=[_strip])
    remove_phone = BooleanField(_l("Remove the phone number"))
    language = _language_field(keep=True)


def _user_id_or_none(value):
    """A posted user id, or None for "no contact person" (the empty choice)."""
    if value is None or value == "":
        return None
    if isinstance(value, int):  # the stored choice the page starts from
        return value
    number = row_id(value)  # a number no user id can be (beyond the column) is no choice, not a 500
    if number is None:
        raise ValueError("not a user id")
    return number


class ContactPersonForm(PageForm):
    """Name the contact person of one unit on the SIP (its own page; the case page's "Bli kontaktperson")."""

    version = _case_version_field()
    # Checked by the service, the one rule (an active staff member of the unit): a choice no longer offered
    # (someone deactivated meanwhile) is refused beside the field in its words.
    contact_user_id = SelectField(
        _l("Contact person"),
        coerce=_user_id_or_none,
        validate_choice=False,
        description=_l(
            "The unit's contact person gets the SIP's reminders and, when the unit has no e-mail address of"
            " its own on the SIP, its invitations."
        ),
    )


# --- Ny SIP -----------------------------------------------------------------------------------------------


class NewCaseForm(PageForm):
    """Start a SIP: its kind, the person, and the other units taking part.

    The fields are declared in the order the page shows them (cases/new.html): the error summary lists the
    refusals in this order."""

    workflow_name = SelectField(_l("Kind of SIP"), validators=[_required()])
    utskrivningsklar_at = _local_datetime_field(
        _l("Reported ready for discharge (utskrivningsklar)"),
        # Which kinds of SIP ask for it is read from the workflow files (start_dates): cases.views sets it.
    )
    id_kind = SelectField(
        _l("Kind of identifier"),
        choices=IDENTIFIER_KIND_CHOICES,
        default="personnummer",
        # AnyOf rather than the choice check, for a message of our own (and the same in every language).
        validate_choice=False,
        validators=[
            _required(),
            AnyOf(IDENTIFIER_KINDS, message=_l("Choose a kind of identifier in the list.")),
        ],
    )
    identifier = StringField(
        _l("Identifier"),
        description=_l("YYYYMMDD-NNNN for personnummer and samordningsnummer."),
        validators=[_required(), _max(40)],
    )
    given_name = StringField(_l("Given name"), validators=[_required(), _max(120)])
    family_name = StringField(_l("Family name"), validators=[_required(), _max(120)])
    # Checked by the service (Unknown municipality.), so the message is the same whoever calls it.
    home_municipality_code = SelectField(
        _l("Municipality of registration (folkbokföringskommun)"),
        validators=[_required()],
        validate_choice=False,
    )
    unit_ids = SelectMultipleField(_l("Other units taking part"), coerce=int)
    # Shown with the warning that the person has an open SIP; open_ack ties the tick to that person.
    confirm_open = BooleanField(_l("Start another SIP for the person anyway"))
    open_ack = HiddenField()
    # Shown with the warning that a child's SIP is for an adult; adult_ack ties the tick to the age and kind.
    confirm_adult = BooleanField(_l("Start this kind of SIP anyway, though the person is an adult"))
    adult_ack = HiddenField()

    def set_units(self, units) -> None:
        """Offer these units (queries.StartUnits: groups of one organisation each, labelled apart, the own
        county's first and every other county's apart)."""
        self._units = units
        self.unit_ids.choices = grouped_choices((group.label, group.units) for group in units.groups())

    def unit_sections(self) -> list[UnitSection]:
        """The unit choices as the page shows them: the near ones (county None), then one section per other
        county, open when one of its units is ticked (a form sent back keeps what was chosen in sight)."""
        units = getattr(self, "_units", None)
        if units is None:
            return []
        chosen = set(self.unit_ids.data or [])

        def ticked(groups) -> list[tuple[str, list[tuple[int, str, bool]]]]:
            return [
                (group.label, [(unit_id, name, unit_id in chosen) for unit_id, name in group.units])
                for group in groups
            ]

        sections = [UnitSection(None, True, ticked(units.near))] if units.near else []
        for county in units.elsewhere:
            groups = ticked(county.groups)
            is_open = any(checked for _label, choices in groups for _id, _name, checked in choices)
            sections.append(UnitSection(county.name, is_open, groups))
        return sections


@dataclass(frozen=True)
class UnitSection:
    """Part of Ny SIP's unit picker: county None for the near units, shown as they are; another county's
    units behind a disclosure, open when it holds a ticked unit."""

    county: str | None
    open: bool
    groups: list[tuple[str, list[tuple[int, str, bool]]]]


class PersonParticularsForm(PageForm):
    """A person's name and folkbokföringskommun, as registered."""

    # people.services.particulars_digest of what the form was read with: a change since is merged.
    shown = HiddenField()

    given_name = StringField(_l("Given name"), validators=[_required(), _max(120)])
    family_name = StringField(_l("Family name"), validators=[_required(), _max(120)])
    # Checked by the service (Unknown municipality.), as on Ny SIP.
    home_municipality_code = SelectField(
        _l("Municipality of registration (folkbokföringskommun)"),
        validators=[_required()],
        validate_choice=False,
    )

    def show_merge(self, merged: ParticularsChanged, shown: str) -> None:
        """Fill the form with the particulars merged after someone else changed them meanwhile: a field taken
        in noted under its label, one both changed with what it is now as its error; shown the digest now."""
        for name, value in merged.values.items():
            self[name].data = value
            self[name].raw_data = [value]
        for name, note in merged.notes.items():
            self[name].description = note
        for name, clash in merged.clashes.items():
            self[name].errors = [*self[name].errors, clash]
        self.shown.data = shown
