"""The plan editor's forms: the whole working plan on one page, and the huvudansvar hand-over.

Rows (goals, efforts, contacts) are WTForms field lists. Without JavaScript the page offers empty rows and
a button that shows more of them, keeping what was typed; a row is removed by ticking its box.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from wtforms import (
    BooleanField,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import InputRequired, NumberRange, Optional
from wtforms.widgets import HiddenInput

from sipflow.cases.forms import (
    VERSION_LABEL,
    DayOffConfirmation,
    RowForm,
    TextAreaField,
    choices,
    date_field,
    typed_values,
)
from sipflow.forms import PageForm, RowList
from sipflow.lengths import MaxLength
from sipflow.plans.editor import (
    CONFIRMED_FOLLOW_UP_DAY,
    FOLLOW_UP_DAY_OFF,
    MAX_EFFORTS,
    MAX_GOALS,
    TEXT_LIMITS,
)
from sipflow.plans.merge import (
    ADDED,
    CHANGED_REMOVED,
    DIGEST_MAX,
    REMOVED,
    REMOVED_CHANGED,
    PlanMerge,
    normalised,
)
from sipflow.translated import lazy_gettext as _l
from sipflow.translated import lazy_pgettext as _lp

# An effort's status as staff and the person read it (EFFORT_STATUSES), in the editor, on the person's
# page and in a stored version alike. In Swedish an effort (insats) is "Planerad", a meeting "Planerat".
EFFORT_STATUS_LABELS = {
    "planned": _lp("effort status", "Planned"),
    "ongoing": _lp("effort status", "Ongoing"),
    "done": _lp("effort status", "Done"),
    "cancelled": _lp("effort status", "Cancelled"),
}
# How an approval of the plan was given (plans.models.APPROVAL_METHODS), wherever an approval is shown.
APPROVAL_METHOD_LABELS = {
    "meeting": _l("At the meeting"),
    "digital": _l("Digitally, through the personal link"),
    "paper": _l("On paper"),
}
# Empty rows shown under each list, and added by "more rows".
BLANK_ROWS = 2
# The rows a posted list of efforts may hold. A plan may hold more efforts than a save keeps (MAX_EFFORTS):
# each meeting's decisions are carried into it unread (plans.from_meetings), and every row of it comes back
# on saving, those ticked "Remove" too; a row past the bound was left out unread, so saving removed it. The
# bound keeps a request of thousands of rows from being built into a form, not a plan from growing.
EFFORT_ROWS_POSTED = 10 * MAX_EFFORTS
# After someone else saved the plan meanwhile (plans.merge), at each value and row it concerns; a value both
# changed says so in the meeting change form's words.
EMPTY = _l("(empty)")
TAKEN_IN = _l("Changed by someone else meanwhile.")
ROW_NOTES = {
    ADDED: _l("Someone else added this row meanwhile."),
    REMOVED: _l(
        "Someone else removed this row meanwhile: it is removed when you save, unless you untick “Remove”."
    ),
    REMOVED_CHANGED: _l(
        "Someone else removed this row meanwhile, and you changed it: it is kept when you save, unless you "
        "tick “Remove”."
    ),
    CHANGED_REMOVED: _l(
        "Someone else changed this row meanwhile, and you removed it: it is kept as they wrote it when you "
        "save, unless you tick “Remove” again."
    ),
}
# The row notes that ask the user to choose: shown as the row's error.
ROW_CLASHES = frozenset({REMOVED_CHANGED, CHANGED_REMOVED})
# The field of a row a note about the whole row stands at.
ROW_NOTE_FIELD = {"own_goals": "text", "professional_goals": "text", "efforts": "what", "contacts": "name"}


def _max(key: str):
    return MaxLength(TEXT_LIMITS[key])


# Ids and versions are 32-bit columns: anything larger is refused at the field, never sent to the database.
MAX_ID = 2**31 - 1


def optional_int(value):
    """An id from a select: None when empty; anything else must be a whole number an id column holds."""
    if value is None or value == "":
        return None
    number = value if isinstance(value, int) else int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError("out of range")
    return number


def _counter():
    """A hidden version number the page was read at."""
    return IntegerField(
        VERSION_LABEL, widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=0, max=MAX_ID)]
    )


def _text(value) -> str:
    return (value or "").strip()


class GoalRow(RowForm):
    """One goal."""

    uid = HiddenField()
    text = TextAreaField(_l("Goal"), validators=[Optional(), _max("goal")], render_kw={"rows": 2})
    remove = BooleanField(_l("Remove"))

    def blank(self) -> bool:
        """Nothing typed in the row."""
        return not _text(self.text.data)


class EffortRow(RowForm):
    """One effort (insats) of an organisation taking part."""

    uid = HiddenField()
    what = TextAreaField(_l("Effort"), validators=[Optional(), _max("what")], render_kw={"rows": 2})
    organisation_id = SelectField(_l("Organisation"), coerce=optional_int, validate_choice=False)
    unit_id = SelectField(_l("Unit"), coerce=optional_int, validate_choice=False)
    responsible = StringField(_l("Responsible person"), validators=[Optional(), _max("responsible")])
    starts_on = date_field(_l("From"))
    ends_on = date_field(_l("To"))
    status = SelectField(_l("Status"), choices=choices(EFFORT_STATUS_LABELS.items()), default="planned")
    remove = BooleanField(_l("Remove"))

    def blank(self) -> bool:
        """Nothing typed in the row (a chosen organisation alone is not an effort)."""
        return not (
            _text(self.what.data) or _text(self.responsible.data) or self.starts_on.data or self.ends_on.data
        )


class ActorRow(RowForm):
    """Something the person or a närstående does, or a measure by someone outside the SIP."""

    uid = HiddenField()
    what = TextAreaField(_l("What"), validators=[Optional(), _max("what")], render_kw={"rows": 2})
    actor = StringField(_l("Who"), validators=[Optional(), _max("actor")])
    starts_on = date_field(_l("From"))
    ends_on = date_field(_l("To"))
    status = SelectField(_l("Status"), choices=choices(EFFORT_STATUS_LABELS.items()), default="planned")
    remove = BooleanField(_l("Remove"))

    def blank(self) -> bool:
        """Nothing typed in the row."""
        return not (
            _text(self.what.data) or _text(self.actor.data) or self.starts_on.data or self.ends_on.data
        )


class ContactRow(RowForm):
    """The contact person of one organisation taking part."""

    organisation_id = IntegerField(
        "Organisation", widget=HiddenInput(), validators=[Optional(), NumberRange(min=0, max=MAX_ID)]
    )
    name = StringField(_l("Contact person"), validators=[Optional(), _max("contact_name")])
    phone = StringField(_l("Phone"), validators=[Optional(), _max("phone")])
    email = StringField(_l("E-mail"), validators=[Optional(), _max("email")])

    def validate(self, extra_validators=None) -> bool:
        """The organisation is a hidden field, shown nowhere: a refusal of it stands at the row's name."""
        valid = super().validate(extra_validators)
        if self.organisation_id.errors:
            self.name.errors = [*self.name.errors, _l("Choose an organisation taking part in the SIP.")]
        return valid


class PlanEditorForm(DayOffConfirmation, PageForm):
    """The working plan."""

    day_field = "follow_up_on"
    day_off_wording = FOLLOW_UP_DAY_OFF

    row_version = _counter()
    # What the plan held when the page was read (plans.editor.page_digest), for a merge should someone else
    # save the plan meanwhile.
    as_read = HiddenField(validators=[Optional(), MaxLength(DIGEST_MAX)])
    # The number of the plan's newest version when the page was read (0: none), so a save is told of a
    # version established meanwhile (plans.editor.established_meanwhile); a page without it is told nothing.
    versions_seen = IntegerField(
        VERSION_LABEL, widget=HiddenInput(), validators=[Optional(), NumberRange(min=0, max=MAX_ID)]
    )
    needs = TextAreaField(_l("Needs"), validators=[Optional(), _max("needs")], render_kw={"rows": 4})
    own_goals = RowList(
        FormField(GoalRow),
        max_entries=MAX_GOALS + BLANK_ROWS * 10,
        row_heading=lambda number: _l("The person's goal %(number)d", number=number),
    )
    professional_goals = RowList(
        FormField(GoalRow),
        max_entries=MAX_GOALS + BLANK_ROWS * 10,
        row_heading=lambda number: _l("The professionals' goal %(number)d", number=number),
    )
    efforts = RowList(
        FormField(EffortRow),
        max_entries=EFFORT_ROWS_POSTED,
        row_heading=lambda number: _l("Effort %(number)d", number=number),
    )
    own_efforts = RowList(
        FormField(ActorRow),
        max_entries=EFFORT_ROWS_POSTED,
        row_heading=lambda number: _l("Own effort %(number)d", number=number),
    )
    other_efforts = RowList(
        FormField(ActorRow),
        max_entries=EFFORT_ROWS_POSTED,
        row_heading=lambda number: _l("Measure by others %(number)d", number=number),
    )
    no_other_measures = BooleanField(_l("No measures by others than the organisations taking part"))
    huvudansvar_contact = StringField(
        _l("Named contact at the organisation with overall responsibility"),
        validators=[Optional(), _max("huvudansvar_contact")],
    )
    fast_vardkontakt = StringField(_l("Fast vårdkontakt"), validators=[Optional(), _max("fast_vardkontakt")])
    fast_omsorgskontakt = StringField(
        _l("Fast omsorgskontakt"), validators=[Optional(), _max("fast_omsorgskontakt")]
    )
    contacts = RowList(FormField(ContactRow), max_entries=200)
    follow_up_on = date_field(_l("Follow-up on"))
    # Shown with the warning that the follow-up falls on a weekend day or a holiday (DayOffConfirmation).
    confirm_day = BooleanField(_l("Keep the date anyway"))
    warned_day = HiddenField()
    child_view = TextAreaField(_l("The child's own view"), validators=[Optional(), _max("child_view")])
    child_view_missing_reason = TextAreaField(
        _l("Why the child's own view is missing"), validators=[Optional(), _max("child_view_missing_reason")]
    )

    # The kind each effort list holds, in the order the service's efforts list is built.
    EFFORT_LISTS = (("efforts", "effort"), ("own_efforts", "own"), ("other_efforts", "other"))

    def configure(
        self,
        organisations: list[tuple[int, str]],
        units: list[tuple[int, str, int]],
        *,
        child: bool,
        offered: Collection[int],
        kept_units: Sequence[tuple[int, str, int]] = (),
    ) -> None:
        """The organisation and unit choices of the case (units with their organisation's id); the child's
        fields only for a person under 18.

        offered: the organisations an effort may be given to; another (one the consent in force no longer
        covers) and its units stay choices only of the row that names it, so that row keeps its owner when
        saved (the save refuses it as a new owner only). kept_units: units an effort is stored with that no
        longer take part (labelled so), a choice only of the row that names it, so a save does not drop it.
        """
        empty = [SelectChoice("", _l("Choose"))]
        for entry in self.efforts:
            row = entry.form
            row.organisation_id.choices = empty + choices(
                (organisation_id, name)
                for organisation_id, name in organisations
                if organisation_id in offered or organisation_id == row.organisation_id.data
            )
            row.unit_id.choices = (
                [SelectChoice("", _l("Any unit"))]
                + choices(
                    (unit_id, name)
                    for unit_id, name, organisation_id in units
                    if organisation_id in offered
                    or organisation_id == row.organisation_id.data
                    or unit_id == row.unit_id.data
                )
                + choices((unit_id, name) for unit_id, name, _ in kept_units if unit_id == row.unit_id.data)
            )
        if not child and "child_view" in self:
            del self.child_view
            del self.child_view_missing_reason

    # The id of the first field of the first row "Add more rows" added: it takes the focus as the page loads,
    # so a keyboard user goes on at the new rows rather than at the top of the page (None: the page opens
    # at its top, as any page does; the blank rows every page of the editor carries move nothing).
    first_added_id: str | None = None

    def add_blank_rows(self, count: int = BLANK_ROWS, *, asked: bool = False) -> None:
        """Empty rows under each list, for a page without JavaScript; asked: the user asked for them ("Add
        more rows"), so the first of them takes the focus."""
        for name in ("own_goals", "professional_goals", "efforts", "own_efforts", "other_efforts"):
            field = self[name]
            for _ in range(count):
                if len(field.entries) < field.max_entries:
                    row = field.append_entry().form
                    if asked and self.first_added_id is None:
                        self.first_added_id = (row.text if "text" in row else row.what).id

    def removed_rows(self) -> int:
        """How many saved rows (goals and efforts) the user ticked "Remove" on."""
        lists = ("own_goals", "professional_goals", *(name for name, _ in self.EFFORT_LISTS))
        rows = (entry.form for name in lists for entry in self[name])
        return sum(1 for row in rows if row.uid.data and row.remove.data)

    def to_data(self) -> tuple[dict, list[str]]:
        """The service's data, and for each of its efforts the form row it came from (for errors)."""
        data: dict = {
            "needs": self.needs.data,
            "own_goals": [
                {"uid": e.form.uid.data or None, "text": e.form.text.data}
                for e in self.own_goals
                if not e.form.remove.data and not e.form.blank()
            ],
            "professional_goals": [
                {"uid": e.form.uid.data or None, "text": e.form.text.data}
                for e in self.professional_goals
                if not e.form.remove.data and not e.form.blank()
            ],
            "no_other_measures": bool(self.no_other_measures.data),
            "huvudansvar_contact": self.huvudansvar_contact.data,
            "fast_vardkontakt": self.fast_vardkontakt.data,
            "fast_omsorgskontakt": self.fast_omsorgskontakt.data,
            "contacts": [
                {
                    "organisation_id": e.form.organisation_id.data,
                    "name": e.form.name.data,
                    "phone": e.form.phone.data,
                    "email": e.form.email.data,
                }
                for e in self.contacts
            ],
            "follow_up_on": self.follow_up_on.data,
            CONFIRMED_FOLLOW_UP_DAY: self.confirmed_day(),
        }
        if "child_view" in self:
            data["child_view"] = self.child_view.data
            data["child_view_missing_reason"] = self.child_view_missing_reason.data
        efforts, rows = [], []
        for name, kind in self.EFFORT_LISTS:
            for entry in self[name]:
                row = entry.form
                if row.remove.data or row.blank():
                    continue
                item = {
                    "uid": row.uid.data or None,
                    "kind": kind,
                    "what": row.what.data,
                    "starts_on": row.starts_on.data,
                    "ends_on": row.ends_on.data,
                    "status": row.status.data,
                }
                if kind == "effort":
                    item |= {
                        "organisation_id": row.organisation_id.data,
                        "unit_id": row.unit_id.data,
                        "responsible": row.responsible.data,
                    }
                else:
                    item["actor"] = row.actor.data
                efforts.append(item)
                rows.append(entry.id)
        data["efforts"] = efforts
        return data, rows

    # Each list of rows with its heading on the page, for a read-only copy of what was typed.
    ROW_HEADINGS = (
        ("own_goals", _l("The person's own goals")),
        ("professional_goals", _l("The professionals' goals")),
        ("efforts", _l("Efforts (insatser)")),
        ("own_efforts", _l("What the person and their relatives do themselves")),
        ("other_efforts", _l("Measures by others")),
        ("contacts", _l("Contacts")),
    )

    def kept_input(self) -> list[tuple[str | None, list[tuple[str, str]]]]:
        """What was typed, for the page's "What you entered" card: the plan's own fields, then each row."""
        groups = [(None, typed_values(self))]
        for name, heading in self.ROW_HEADINGS:
            for number, entry in enumerate(self[name], start=1):
                # A blank row's status select still holds its default: nothing typed.
                blank = getattr(entry.form, "blank", None)
                values = [] if blank is not None and blank() else typed_values(entry.form)
                if values:
                    groups.append((_l("%(list)s, row %(number)d", list=heading, number=number), values))
        return [(title, values) for title, values in groups if values]

    def fill(self, data: dict) -> None:
        """Fill a fresh form with the stored plan (plans.editor.plan_data)."""
        self.needs.data = data["needs"]
        for name in ("own_goals", "professional_goals"):
            self._fill_rows(name, data[name])
        for name, kind in self.EFFORT_LISTS:
            self._fill_rows(name, [item for item in data["efforts"] if item["kind"] == kind])
        self.no_other_measures.data = data["no_other_measures"]
        for name in ("huvudansvar_contact", "fast_vardkontakt", "fast_omsorgskontakt"):
            self[name].data = data[name]
        self.follow_up_on.data = data["follow_up_on"]
        if "child_view" in self:
            self.child_view.data = data["child_view"]
            self.child_view_missing_reason.data = data["child_view_missing_reason"]

    def _fill_rows(self, name: str, items: list) -> None:
        """Every stored row of a list, however many the plan holds (its bound is against rows posted), and
        room for the blank rows under them."""
        field = self[name]
        field.max_entries = max(field.max_entries, len(items) + BLANK_ROWS * 10)
        for item in items:
            field.append_entry(item)

    def show_merge(self, merge: PlanMerge) -> None:
        """Mark what someone else changed meanwhile on this form, filled with merge.data: a value both
        changed (the user's kept) as its error, with what it is now; a value or row taken in as a note."""
        for where, key, name in merge.taken:
            field = self._merged_field(where, key, name)
            if field is not None:
                note_field(field, TAKEN_IN)
        for (where, key), what in merge.rows.items():
            field = self._merged_field(where, key, ROW_NOTE_FIELD[where])
            if field is None:
                continue
            if what in ROW_CLASHES:
                field.errors = [*field.errors, ROW_NOTES[what]]
            else:
                note_field(field, ROW_NOTES[what])
        for clash in merge.clashes:
            field = self._merged_field(clash.where, clash.key, clash.name)
            if field is not None:
                field.errors = [
                    *field.errors,
                    _l(
                        "Changed by someone else to %(theirs)s; you wrote %(yours)s.",
                        theirs=_shown(field, clash.theirs),
                        yours=_shown(field, clash.yours),
                    ),
                ]
        for entries in self:
            if entries.type == "FieldList":
                # The list keeps its rows' errors: the "check the fields" banner shows for a row too.
                entries.errors = [entry.errors for entry in entries]

    def _merged_field(self, where: str | None, key, name: str):
        """The field a merge's note concerns: a plan field, or the field of the row with key (uid or
        organisation), whichever effort list holds it."""
        if where is None:
            return self[name] if name in self else None
        lists = [name for name, _kind in self.EFFORT_LISTS] if where == "efforts" else [where]
        for list_name in lists:
            for entry in self[list_name]:
                row = entry.form
                row_key = row.organisation_id.data if where == "contacts" else row.uid.data
                if row_key == key and name in row:
                    return row[name]
        return None


def note_field(field, note) -> None:
    """A note under the field's label, after any description of its own."""
    field.description = f"{field.description} {note}" if field.description else note


def _shown(field, value) -> str:
    """value, a value of field, as the page names it: a choice by its label, a tick as yes or no."""
    if field.type == "BooleanField":
        return str(_l("Yes") if value else _l("No"))
    text = normalised(value)
    labels = {str(choice.value): str(choice.label) for choice in getattr(field, "choices", None) or ()}
    return labels.get(text, text) or str(EMPTY)


class HandOverForm(PageForm):
    """Give overall responsibility (huvudansvar) to an organisation taking part."""

    version = _counter()
    organisation_id = SelectField(
        _l("Organisation to have overall responsibility"),
        coerce=optional_int,
        validate_choice=False,
        description=_l("A huvudman: the region or the municipality taking part."),
    )
    reason = TextAreaField(_l("Why (required when handing over)"), validators=[Optional(), MaxLength(1000)])


class PlanPageForm(PlanEditorForm):
    """The plan page's form as a browser sends it, never made: the editor's fields and the hand-over's, which
    are the editor form's (templates/plans/editor_page.html). Declared for forms.typed_in_request alone, so
    the login page's card of what was typed, for a hand-over sent after its session ended, labels the
    hand-over's reason as the page does and shows it beside the plan's text."""

    handover = FormField(HandOverForm)


class EstablishForm(PageForm):
    """Establish (or revise) the plan as the page shows it."""

    version = _counter()
    plan_row_version = _counter()
