"""Load workflows/*.toml into validated, immutable workflow definitions."""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sipflow.i18n import LOCALES
from sipflow.workflow.registry import (
    CASE_DATE_INPUTS,
    CHILDS_VIEW_GUARDS,
    CONSENT_INPUTS,
    EFFECTS,
    EFFECTS_AFTER,
    EFFECTS_RECORDING,
    GUARD_FORMS,
    GUARDS,
    INPUTS,
    REMINDER_ANCHOR_FORMS,
    REMINDER_ANCHORS,
    REMINDER_ANCHORS_AHEAD_ONLY,
    REMINDER_TEMPLATES,
)

# The parties of a case a transition may name: part of the workflow file language.
INITIATOR, HUVUDANSVARIG, PARTICIPANT = PARTY_ROLES = ("initiator", "huvudansvarig", "participant")
DEADLINE_SOURCES = ("requested_at", "utskrivningsklar_at", "follow_up_on")
# What a deadline stands for in the county's indicators (SIP.md §6): the statistics read deadlines by these.
DEADLINE_INDICATORS = ("kallelse", "follow_up")
# The case dates a workflow may ask for when a SIP is started (start_dates).
START_DATES = ("utskrivningsklar_at",)
CREATE_EVENT = "create"
# The largest version a file may carry: the cases store it in a 32-bit integer column.
MAX_VERSION = 2**31 - 1

_TOP_KEYS = {
    "name",
    "version",
    "occasion",
    "initial",
    "label",
    "states",
    "deadlines",
    "transitions",
    "start_dates",
    "childs_view",
    "reminders",
}
_STATE_KEYS = {"label", "final", "retention_years", "entered_in_error"}
# The years a case may be kept in a final state before it is anonymised (sipflow/retention/).
RETENTION_YEARS_RANGE = (1, 100)
_TRANSITION_KEYS = {
    "trigger",
    "label",
    "source",
    "dest",
    "form",
    "conditions",
    "effects",
    "parties",
    "closes",
    "withdraws_consent",
}
_DEADLINE_KEYS = {
    "label",
    "from",
    "days",
    "working_days",
    "until",
    "extend_to_working_day",
    "started_by",
    "met_by",
    "indicator",
}
# Where a deadline's last day ends (`until`): at the wall-clock time of the moment it counts from (the
# default), or at the end of that day in Sweden: "within three days" counted in whole days.
SAME_TIME, END_OF_DAY = DEADLINE_UNTIL = ("same_time", "end_of_day")
_REMINDER_KEYS = {"name", "label", "anchor", "offset_days", "recipients", "template"}
# How far from its anchor a declared reminder may fall, in days either way.
REMINDER_OFFSET_MAX_DAYS = 366
# The most days a deadline may run from its case date (about ten years): beyond it no date can be computed.
DEADLINE_MAX_DAYS = 3660


class WorkflowError(ValueError):
    """A workflow file that cannot be used; the message names the file and the key.

    key: the dotted key refused (None when the message names no key of the file); line: where
    load_workflow_file found it in the file, as (number, the line as written), else None (a key that is
    missing has no line)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.line: tuple[int, str] | None = None

    def with_line(self) -> str:
        """The refusal and, when the file has it, the line it is about as written (what the check prints)."""
        if self.line is None:
            return str(self)
        number, written = self.line
        # Shown as its code, each character a terminal would not show as itself: a direction override in a
        # comment or string of the line (U+202E) would print its text reversed, another line than the file's.
        shown = "".join(c if c.isprintable() or c == "\t" else f"\\u{ord(c):04x}" for c in written[:120])
        return f"{self}\n  on line {number}: {shown}"


class WorkflowStateMissing(KeyError):
    """A case's state that its workflow version no longer defines (the file was edited in place to take
    the state away): its pages answer as for a missing version (WorkflowVersionMissing), never a 500."""

    def __init__(self, name: str, version: int, state: str):
        super().__init__((name, version, state))
        self.name = name
        self.version = version
        self.state = state


@dataclass(frozen=True)
class StateDef:
    """One state of a workflow."""

    name: str
    label: dict
    final: bool = False
    # Final states only: the years a case that ended here is kept before it is anonymised.
    retention_years: int | None = None
    # Final states only: a case that ended here was entered in error (makulerad): it never was a SIP
    # offered, so the statistics leave it out of the SIPs offered, accepted and declined.
    entered_in_error: bool = False


@dataclass(frozen=True)
class TransitionDef:
    """One transition: its trigger, sources, destination, guards, effects and who may fire it."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    label: dict
    form: str = "none"
    conditions: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    # Ends the case as done (its reason is kept on the case), as opposed to withdrawn or cancelled.
    closes: bool = False
    # The person withdraws consent: possible from every active state, it ends the case.
    withdraws_consent: bool = False


@dataclass(frozen=True)
class DeadlineDef:
    """A deadline: N (working) days from a case date, started and met by named transitions."""

    kind: str
    label: dict
    source_field: str
    days: int
    working_days: bool
    started_by: tuple[str, ...]
    met_by: tuple[str, ...]
    # DEADLINE_INDICATORS: which indicator measures this deadline (None: no indicator does).
    indicator: str | None = None
    # DEADLINE_UNTIL: the last day ends at the starting moment's wall-clock time or at the end of the day.
    until: str = SAME_TIME
    # A last day that is no working day (a weekend, a holiday, midsommarafton, julafton, nyårsafton) moves
    # to the next working day, as lag (1930:173) om beräkning av lagstadgad tid says.
    extend_to_working_day: bool = False


@dataclass(frozen=True)
class ReminderDef:
    """A reminder the file declares: offset_days from an anchor date, to the parties named, by a template."""

    name: str
    label: dict
    anchor: str
    offset_days: int
    recipients: tuple[str, ...]
    template: str


@dataclass(frozen=True)
class Workflow:
    """A validated workflow definition."""

    name: str
    version: int
    # Why a SIP of this kind is started (other need, discharge, child ...), stored on each case.
    occasion: str
    initial: str
    label: dict
    states: dict[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    deadlines: tuple[DeadlineDef, ...]
    # The case dates the start form asks for and requires (e.g. utskrivningsklar_at at discharge).
    start_dates: tuple[str, ...] = ()
    # Whether the child's own view is asked for and guardians consent (a child's SIP).
    childs_view: bool = False
    # Reminders the file declares besides the ones every case gets (sipflow/reminders/).
    reminders: tuple[ReminderDef, ...] = ()
    path: str = ""
    _by_state: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for state in self.states:
            self._by_state[state] = {t.trigger: t for t in self.transitions if state in t.sources}

    def transitions_from(self, state: str) -> list[TransitionDef]:
        """The transitions leaving state, in file order."""
        return list(self._by_state.get(state, {}).values())

    def declared_reminder(self, name: str | None) -> ReminderDef | None:
        """The reminder the file declares under name (a reminder row's topic), or None."""
        return next((reminder for reminder in self.reminders if reminder.name == name), None)

    def transition(self, state: str, trigger: str) -> TransitionDef | None:
        """The transition fired by trigger in state, or None when it is not allowed there."""
        return self._by_state.get(state, {}).get(trigger)

    def withdrawal(self, state: str) -> TransitionDef | None:
        """The transition by which consent is withdrawn in state, or None when the file has none there."""
        return next((t for t in self.transitions_from(state) if t.withdraws_consent), None)

    def state(self, state: str) -> StateDef:
        """The definition of state; WorkflowStateMissing when the file defines no such state."""
        try:
            return self.states[state]
        except KeyError:
            raise WorkflowStateMissing(self.name, self.version, state) from None

    def is_final(self, state: str) -> bool:
        """True for states that end the case (WorkflowStateMissing for a state the file does not define)."""
        return self.state(state).final

    @property
    def retention_years(self) -> dict[str, int]:
        """The years a case is kept per final state, in file order."""
        return {s.name: s.retention_years for s in self.states.values() if s.final}

    @property
    def triggers(self) -> list[str]:
        """Every trigger the workflow knows, in file order, without repeats."""
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    def state_label(self, state: str, locale: str) -> str:
        """The state's name in locale (Swedish when the locale is missing)."""
        label = self.state(state).label
        return label.get(locale) or label.get("sv") or state


def _fail(path: Path, key: str, message: str, *, at: str | None = None) -> WorkflowError:
    """The refusal of key; at: the key to show the line of when it is another (a key the message names)."""
    return WorkflowError(f"{path.name}: {key}: {message}", key=at or key)


# What a label of the file must look like: a text in each language of the user interface.
_LABEL_EXAMPLE = "label = { " + ", ".join(f'{locale} = "..."' for locale in LOCALES) + " }"


def _label(path: Path, key: str, raw) -> dict:
    """raw as a label with a text in each language of the user interface (LOCALES) and no other."""
    if not isinstance(raw, dict):
        raise _fail(path, key, f"needs a label with a text in each language: {_LABEL_EXAMPLE}")
    for locale, text in raw.items():
        if locale not in LOCALES:
            # A typo (eng, se) would leave that language's pages showing another language's text.
            raise _fail(path, f"{key}.{locale}", f"unknown language {locale!r} (known: {', '.join(LOCALES)})")
        if not isinstance(text, str) or not text.strip():
            raise _fail(path, f"{key}.{locale}", "must be a text in quotes")
        if any(unicodedata.category(char) == "Cc" for char in text):
            # A line break (\n, or a """...""" text over lines) is valid TOML, but a reminder's label is
            # its e-mail's subject, which cannot hold one: every such reminder would fail when sent.
            raise _fail(path, f"{key}.{locale}", "must be one line, without line breaks or tabs")
    missing = [locale for locale in LOCALES if locale not in raw]
    if missing:
        # The pages in that language would show another language's text instead, and nothing would say.
        raise _fail(path, key, f"has no text in {', '.join(missing)}: {_LABEL_EXAMPLE}")
    return dict(raw)


# The names the file gives (the workflow, its states, triggers and deadlines): stored on the case, its log,
# its deadlines and reminders in columns of 40 characters, and used in the pages' addresses and diagrams.
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_NAME_RULE = "must be a lower-case name of at most 40 letters a-z, digits or _"


def _identifier(path: Path, key: str, raw) -> str:
    if not isinstance(raw, str) or not _NAME_RE.fullmatch(raw):
        raise _fail(path, key, f"{_NAME_RULE}, got {raw!r}")
    return raw


def _one_of(path: Path, key: str, raw, allowed, what: str) -> str:
    """raw as the name of one of allowed (a state, a form ...), refused naming key otherwise."""
    if not isinstance(raw, str):
        raise _fail(path, key, f"must be one {what} name in quotes, got {raw!r}")
    if raw not in allowed:
        raise _fail(path, key, f"unknown {what} {raw!r}{_choices(raw, allowed)}")
    return raw


def _choices(raw: str, allowed) -> str:
    """What to write instead of raw: the closest of allowed (a typo) and every one of them, so that whoever
    edits the file needs no other list (the states the file declares, the guards sipflow has ...)."""
    known = sorted(allowed)
    if not known:
        return " (none known)"
    close = difflib.get_close_matches(raw, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (known: {', '.join(known)})"


def _tables(path: Path, key: str, raw, example: str) -> dict:
    """raw as a table of tables ([key.NAME] sections), refused naming key otherwise."""
    if not isinstance(raw, dict):
        raise _fail(path, key, f"must be a table of named sections: {example}")
    for name, item in raw.items():
        _identifier(path, f"{key}.{name}", name)
        if not isinstance(item, dict):
            raise _fail(path, f"{key}.{name}", f"must be a section of its own: {example}")
    return raw


def _unknown_keys(path: Path, key: str, raw: dict, allowed: set[str]) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        found = extra[0] if key == "(top level)" else f"{key}.{extra[0]}"
        raise _fail(path, key, f"unknown key {extra[0]!r}{_choices(extra[0], allowed)}", at=found)


def _names(path: Path, key: str, raw, allowed=None, what="name") -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise _fail(path, key, "must be a list of names")
    if allowed is not None:
        for item in raw:
            if item not in allowed:
                raise _fail(path, key, f"unknown {what} {item!r}{_choices(item, allowed)}")
    return tuple(raw)


def _flag(path: Path, key: str, raw) -> bool:
    if not isinstance(raw, bool):
        raise _fail(path, key, "must be true or false")
    return raw


def _retention_years(path: Path, key: str, raw, final: bool) -> int | None:
    low, high = RETENTION_YEARS_RANGE
    if not final:
        if raw is not None:
            raise _fail(path, key, "only a final state is kept for years; this state is not final")
        return None
    if raw is None:
        raise _fail(path, key, f"is required for a final state: the years ({low} to {high}) a case is kept")
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
        raise _fail(path, key, f"must be a whole number of years from {low} to {high}, got {raw!r}")
    return raw


# The keys every file has, each with what it looks like written.
_REQUIRED = {
    "name": 'name = "sip_aldre"',
    "version": "version = 1",
    "occasion": 'occasion = "elderly_home_care"',
    "initial": 'initial = "requested"',
    "states": "[states.NAME]",
    "transitions": "[[transitions]]",
}


def parse_workflow(path: Path, data: dict, guards=None, effects=None, inputs=None) -> Workflow:
    """Validate raw TOML data against the guards, effects and inputs (default: the registered ones)."""
    guards = GUARDS if guards is None else guards
    effects = EFFECTS if effects is None else effects
    inputs = INPUTS if inputs is None else inputs
    _unknown_keys(path, "(top level)", data, _TOP_KEYS)
    for key, example in _REQUIRED.items():
        if key not in data:
            if key in ("states", "transitions"):
                raise _fail(path, key, f"is required: the file has no {example} section")
            # A key missing has no line to show: the refusal says what to write and where.
            where = "at the top of the file, before any [section]"
            raise _fail(path, key, f"is required: write it {where}, e.g. {example}")
    _identifier(path, "occasion", data["occasion"])
    if not isinstance(data["version"], int) or isinstance(data["version"], bool) or data["version"] < 1:
        raise _fail(path, "version", "must be a positive whole number")
    if data["version"] > MAX_VERSION:
        # The cases' workflow_version column is a 32-bit integer: a larger one fails the first new case.
        raise _fail(path, "version", f"must be at most {MAX_VERSION}")
    _identifier(path, "name", data["name"])

    states = {}
    for name, raw in _tables(path, "states", data["states"], "[states.NAME]").items():
        _unknown_keys(path, f"states.{name}", raw, _STATE_KEYS)
        final = _flag(path, f"states.{name}.final", raw.get("final", False))
        entered_in_error = _flag(path, f"states.{name}.entered_in_error", raw.get("entered_in_error", False))
        if entered_in_error and not final:
            raise _fail(
                path, f"states.{name}.entered_in_error", "only a final state ends a case as entered in error"
            )
        states[name] = StateDef(
            name,
            _label(path, f"states.{name}.label", raw.get("label")),
            final,
            _retention_years(path, f"states.{name}.retention_years", raw.get("retention_years"), final),
            entered_in_error,
        )
    _one_of(path, "initial", data["initial"], states, "state")

    if not isinstance(data["transitions"], list) or not all(isinstance(t, dict) for t in data["transitions"]):
        raise _fail(path, "transitions", "must be a list of sections, each beginning with [[transitions]]")
    transitions = []
    for index, raw in enumerate(data["transitions"]):
        key = f"transitions[{index}]"
        trigger = raw.get("trigger")
        if isinstance(trigger, str) and _NAME_RE.fullmatch(trigger):
            # Named as every later refusal of the step is, by its trigger (the index alone says little).
            key = f"transitions.{trigger}"
        _unknown_keys(path, key, raw, _TRANSITION_KEYS)
        if "trigger" not in raw or "dest" not in raw or "source" not in raw:
            raise _fail(path, key, "needs trigger, source and dest")
        _identifier(path, f"{key}.trigger", raw["trigger"])
        key = f"transitions.{raw['trigger']}"
        sources = _names(path, f"{key}.source", raw["source"], states, "state")
        _one_of(path, f"{key}.dest", raw["dest"], states, "state")
        form = _one_of(path, f"{key}.form", raw.get("form", "none"), inputs, "form")
        parties = _names(path, f"{key}.parties", raw.get("parties", []), PARTY_ROLES, "party")
        if not parties:
            raise _fail(path, f"{key}.parties", "must name at least one party that may trigger it")
        for source in sources:
            if states[source].final:
                raise _fail(path, f"{key}.source", f"final state {source!r} cannot be left")
        transitions.append(
            TransitionDef(
                trigger=raw["trigger"],
                sources=sources,
                dest=raw["dest"],
                label=_label(path, f"{key}.label", raw.get("label")),
                form=form,
                conditions=_names(path, f"{key}.conditions", raw.get("conditions", []), guards, "guard"),
                effects=_names(path, f"{key}.effects", raw.get("effects", []), effects, "effect"),
                parties=parties,
                closes=_flag(path, f"{key}.closes", raw.get("closes", False)),
                withdraws_consent=_flag(
                    path, f"{key}.withdraws_consent", raw.get("withdraws_consent", False)
                ),
            )
        )
        named = transitions[-1].effects
        for index, effect in enumerate(named):
            missing = [needed for needed in EFFECTS_AFTER.get(effect, ()) if needed not in named[:index]]
            if missing:
                # It reads what that effect writes: alone or before it, it would silently do nothing.
                raise _fail(path, f"{key}.effects", f"{effect!r} must come after {missing[0]!r}")
        for effect in named:
            forms = EFFECTS_RECORDING.get(effect, ())
            if forms and form not in forms:
                # It records what that form asks for: on a step of another form there is nothing to record,
                # and the step failed when taken (mark_meeting_held on a step without a form: a 500).
                raise _fail(
                    path,
                    f"{key}.effects",
                    f"{effect!r} records what a step with form {' or '.join(map(repr, forms))} asks for, and "
                    f'this step\'s form is {form!r}: write form = "{forms[0]}", or leave {effect!r} out',
                )
        recording = [e for e, forms in EFFECTS_RECORDING.items() if form in forms and e in effects]
        for effect in recording:
            if effect not in named:
                # The form's input only checks what is typed: this effect records it, else it is lost.
                raise _fail(
                    path,
                    f"{key}.effects",
                    f"a step with form {form!r} needs the effect {effect!r}, which records what the form "
                    f'asks for (without it what is typed is lost): effects = ["{effect}", ...]',
                )
        for guard in transitions[-1].conditions:
            forms = GUARD_FORMS.get(guard, ())
            if forms and form not in forms:
                # It checks what that form sends: on this step it would refuse every time, with a message
                # asking for fields the step's page does not have.
                raise _fail(
                    path,
                    f"{key}.conditions",
                    f"{guard!r} checks what a step with form {' or '.join(map(repr, forms))} records, and "
                    f"this step's form is {form!r}, so the step could never be taken: write "
                    f'form = "{forms[0]}", or leave {guard!r} out',
                )
        if transitions[-1].closes and not states[raw["dest"]].final:
            raise _fail(path, f"{key}.closes", "a transition that closes the case must lead to a final state")
    seen = set()
    for t in transitions:
        for source in t.sources:
            if (source, t.trigger) in seen:
                raise _fail(path, f"transitions.{t.trigger}", f"defined twice for state {source!r}")
            seen.add((source, t.trigger))

    triggers = {t.trigger for t in transitions}
    deadlines = []
    for kind, raw in _tables(path, "deadlines", data.get("deadlines", {}), "[deadlines.NAME]").items():
        key = f"deadlines.{kind}"
        _unknown_keys(path, key, raw, _DEADLINE_KEYS)
        if not isinstance(raw.get("from"), str) or raw["from"] not in DEADLINE_SOURCES:
            raise _fail(path, f"{key}.from", f"must be one of {', '.join(DEADLINE_SOURCES)}")
        days = raw.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= DEADLINE_MAX_DAYS:
            raise _fail(
                path,
                f"{key}.days",
                f"must be a whole number of days from 0 to {DEADLINE_MAX_DAYS}, got {days!r}",
            )
        indicator = raw.get("indicator")
        if indicator is not None and (not isinstance(indicator, str) or indicator not in DEADLINE_INDICATORS):
            raise _fail(path, f"{key}.indicator", f"must be one of {', '.join(DEADLINE_INDICATORS)}")
        measured = next(
            (d.kind for d in deadlines if indicator is not None and d.indicator == indicator), None
        )
        if measured is not None:
            # The statistics join a case's deadlines of an indicator: two would count each meeting twice.
            raise _fail(
                path,
                f"{key}.indicator",
                f"deadlines.{measured} is measured as {indicator} already: one deadline per indicator",
            )
        started_by = _names(
            path, f"{key}.started_by", raw.get("started_by", []), triggers | {CREATE_EVENT}, "trigger"
        )
        if not started_by:
            raise _fail(path, f"{key}.started_by", 'must name the step that starts it (or "create")')
        _started_where_set(path, f"{key}.started_by", raw["from"], started_by, transitions)
        met_by = _names(path, f"{key}.met_by", raw.get("met_by", []), triggers, "trigger")
        if not met_by:
            # Nothing could meet it: every case would miss it, and its reminders would go out.
            raise _fail(path, f"{key}.met_by", "must name at least one step that meets it")
        deadlines.append(
            DeadlineDef(
                kind=kind,
                label=_label(path, f"{key}.label", raw.get("label")),
                source_field=raw["from"],
                days=days,
                working_days=_flag(path, f"{key}.working_days", raw.get("working_days", False)),
                started_by=started_by,
                met_by=met_by,
                indicator=indicator,
                until=_one_of(path, f"{key}.until", raw.get("until", SAME_TIME), DEADLINE_UNTIL, "end"),
                extend_to_working_day=_flag(
                    path, f"{key}.extend_to_working_day", raw.get("extend_to_working_day", False)
                ),
            )
        )

    childs_view = _flag(path, "childs_view", data.get("childs_view", False))
    for transition in transitions:
        child_guards = [guard for guard in transition.conditions if guard in CHILDS_VIEW_GUARDS]
        if child_guards and not childs_view:
            # The preparation form asks no child's view and no guardian consents without it: the guard could
            # never hold for a child (child_view_recorded), or would hold for everyone (guardians_consented).
            guard = child_guards[0]
            raise _fail(
                path,
                f"transitions.{transition.trigger}.conditions",
                f"{guard!r} is a requirement of a child's SIP, and the file does not say childs_view = true: "
                "without it no child's view is asked for and no guardian consents, so it could never be met "
                "or would check nothing; write childs_view = true at the top of the file, or leave "
                f"{guard!r} out",
            )
    start_dates = _names(path, "start_dates", data.get("start_dates", []), START_DATES, "case date")
    reminders = _reminders(path, data.get("reminders", []))
    # The case would never have such a date, so the deadline would never start, the reminder never go out
    # (and nothing would say).
    for deadline in deadlines:
        _needs_start_date(path, f"deadlines.{deadline.kind}.from", deadline.source_field, start_dates)
    for reminder in reminders:
        _needs_start_date(path, f"reminders.{reminder.name}.anchor", reminder.anchor, start_dates)
        forms = CASE_DATE_INPUTS.get(reminder.anchor) or set(REMINDER_ANCHOR_FORMS.get(reminder.anchor, ()))
        if forms and not any(t.form in forms for t in transitions):
            raise _fail(
                path,
                f"reminders.{reminder.name}.anchor",
                f"counts from {reminder.anchor}, which only a step with form {_either(forms)} sets, and the "
                "file has no such step: no case would have the date, so the reminder would never go; add a "
                f'step with form = "{sorted(forms)[0]}", or count from another anchor',
            )
    workflow = Workflow(
        name=data["name"],
        version=data["version"],
        occasion=data["occasion"],
        initial=data["initial"],
        label=_label(path, "label", data.get("label")),
        states=states,
        transitions=tuple(transitions),
        deadlines=tuple(deadlines),
        start_dates=start_dates,
        childs_view=childs_view,
        reminders=reminders,
        path=str(path),
    )
    _check_structure(path, workflow)
    # After the structure: a state nothing leads to is said as such, not as a deadline missed for it.
    for deadline in deadlines:
        _met_after_started(path, f"deadlines.{deadline.kind}.met_by", workflow, deadline)
    return workflow


def _needs_start_date(path: Path, key: str, date: str, start_dates: tuple[str, ...]) -> None:
    """Refuse counting from a case date the start form asks for (START_DATES) when the file asks for none."""
    if date in START_DATES and date not in start_dates:
        raise _fail(
            path,
            key,
            f'counts from {date}, which a case has only when the file says start_dates = ["{date}"]',
        )


def _either(forms) -> str:
    return " or ".join(repr(form) for form in sorted(forms))


def _started_where_set(
    path: Path, key: str, date: str, started_by: tuple[str, ...], transitions: list[TransitionDef]
) -> None:
    """Refuse a deadline counting from a date a form's input sets (CASE_DATE_INPUTS: follow_up_on, the plan's)
    started by the SIP's start or a step of another form: the case has no such date then (or an earlier
    round's, gone by), so the deadline was never set, and nothing said so."""
    forms = CASE_DATE_INPUTS.get(date)
    if not forms:
        return
    setting = sorted({t.trigger for t in transitions if t.form in forms})
    for trigger in started_by:
        other = sorted({t.form for t in transitions if t.trigger == trigger} - forms)
        if trigger != CREATE_EVENT and not other:
            continue
        step = f"{trigger!r} (form {other[0]!r})" if other else "the start of the SIP (create)"
        instead = f"started_by = {_toml_list(setting)}" if setting else f"a step with form {_either(forms)}"
        raise _fail(
            path,
            key,
            f"counts from {date}, which only a step with form {_either(forms)} sets, and {step} does not: "
            f"the deadline would never be set; name the steps that set it: {instead}",
        )


def _met_after_started(path: Path, key: str, workflow: Workflow, deadline: DeadlineDef) -> None:
    """Refuse a deadline none of whose met_by steps can come after a step that starts it: no way leads from
    the state that step leads to (the initial one for "create") to a state a met_by step leaves, so every case
    it starts for misses it (and its reminders go out), and nothing said so."""
    transitions = workflow.transitions
    for trigger in deadline.started_by:
        if trigger == CREATE_EVENT:
            dests = {workflow.initial}
        else:
            dests = {t.dest for t in transitions if t.trigger == trigger}
        for dest in sorted(dests):
            reached, ahead = {dest}, [dest]
            while ahead:
                for transition in workflow.transitions_from(ahead.pop()):
                    if transition.dest not in reached:
                        reached.add(transition.dest)
                        ahead.append(transition.dest)
            after = [t for t in transitions if not reached.isdisjoint(t.sources)]
            if any(t.trigger in deadline.met_by for t in after):
                continue
            # The steps that can come after it, but those ending the case (a cancellation, a withdrawal).
            can = sorted({t.trigger for t in after if not workflow.is_final(t.dest)})
            if can:
                others = ", ".join(f'"{name}"' for name in can[1:])
                instead = f'met_by = ["{can[0]}"]' + (f" (or {others})" if others else "")
                what = f"name in met_by a step that can come after it: {instead}"
            else:
                what = "start it at an earlier step, or name in met_by a step that leads on from there"
            raise _fail(
                path,
                key,
                f"none of its steps can come after {trigger!r}, which leads to {dest!r}: the deadline would "
                f"always be missed; {what}",
            )


def _toml_list(names) -> str:
    return "[" + ", ".join(f'"{name}"' for name in names) + "]"


def _reminders(path: Path, raw) -> tuple[ReminderDef, ...]:
    """The file's [[reminders]]: each on a registered anchor, to known parties, by a registered template."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise _fail(path, "reminders", "must be a list of tables: [[reminders]]")
    reminders: list[ReminderDef] = []
    for index, item in enumerate(raw):
        name = _identifier(path, f"reminders[{index}].name", item.get("name"))
        key = f"reminders.{name}"
        if any(known.name == name for known in reminders):
            raise _fail(path, key, "is declared twice")
        _unknown_keys(path, key, item, _REMINDER_KEYS)
        anchor = item.get("anchor")
        if not isinstance(anchor, str) or anchor not in REMINDER_ANCHORS:
            known = _choices(str(anchor), REMINDER_ANCHORS)
            raise _fail(path, f"{key}.anchor", f"unknown anchor {anchor!r}{known}")
        offset = item.get("offset_days", 0)
        if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > REMINDER_OFFSET_MAX_DAYS:
            raise _fail(
                path,
                f"{key}.offset_days",
                f"must be whole days, at most {REMINDER_OFFSET_MAX_DAYS} either way",
            )
        if anchor in REMINDER_ANCHORS_AHEAD_ONLY and offset > 0:
            raise _fail(
                path,
                f"{key}.offset_days",
                f"must be 0 or less from {anchor}: the day after it that date is no longer there (the next"
                " one's, or none, is), so a reminder after it would never go; 0 is the morning of its day",
            )
        recipients = _names(path, f"{key}.recipients", item.get("recipients", []), PARTY_ROLES, "party")
        if not recipients:
            raise _fail(path, f"{key}.recipients", "must name at least one party")
        template = item.get("template")
        if not isinstance(template, str) or template not in REMINDER_TEMPLATES:
            known = _choices(str(template), REMINDER_TEMPLATES)
            raise _fail(path, f"{key}.template", f"unknown template {template!r}{known}")
        reminders.append(
            ReminderDef(
                name=name,
                label=_label(path, f"{key}.label", item.get("label")),
                anchor=anchor,
                offset_days=offset,
                recipients=recipients,
                template=template,
            )
        )
    return tuple(reminders)


def _check_structure(path: Path, workflow: Workflow) -> None:
    """Refuse workflows that could strand a case or keep it going after consent is withdrawn."""
    if workflow.is_final(workflow.initial):
        raise _fail(path, "initial", "the initial state cannot be final")
    named = sorted({t.trigger for t in workflow.transitions if t.withdraws_consent})
    withdrawal = ", ".join(named) or "a transition with withdraws_consent = true"
    consenting = _after_consent(workflow)
    for state in workflow.states.values():
        if state.final:
            continue
        if not workflow.transitions_from(state.name):
            raise _fail(path, f"states.{state.name}", "an active state needs a way out")
        if state.name not in consenting:
            continue  # before any consent: see below
        withdraws = [t for t in workflow.transitions_from(state.name) if t.withdraws_consent]
        if len(withdraws) != 1 or not workflow.is_final(withdraws[0].dest):
            raise _fail(
                path,
                f"states.{state.name}",
                f"consent withdrawal ({withdrawal}) must be possible here, once, and end the case",
            )
    # Every state is reached from the initial one (a state nothing leads to is a mistake in a dest or source).
    reached, todo = {workflow.initial}, [workflow.initial]
    while todo:
        for transition in workflow.transitions_from(todo.pop()):
            if transition.dest not in reached:
                reached.add(transition.dest)
                todo.append(transition.dest)
    for state in workflow.states:
        if state not in reached:
            raise _fail(path, f"states.{state}", "no transition leads here from the initial state")
    # Withdrawing consent in a state before any step that records it would end a SIP as withdrawn while it
    # has no consent to withdraw (declining it, or cancelling, is the way out there).
    for state in workflow.states:
        withdraws = [t for t in workflow.transitions_from(state) if t.withdraws_consent]
        if state not in consenting and withdraws:
            steps = ", ".join(sorted({t.trigger for t in workflow.transitions if t.form in CONSENT_INPUTS}))
            raise _fail(
                path,
                f"transitions.{withdraws[0].trigger}.source",
                f"no consent can be in force in {state!r} (it comes before the step that records it: "
                f"{steps or 'none'}), so consent withdrawal cannot be offered there",
            )
    # From every active state the case can end without the person withdrawing consent: else a case in it
    # could only wait, or go round in a cycle, until consent is withdrawn.
    ends = {name for name, state in workflow.states.items() if state.final}
    grown = True
    while grown:
        grown = False
        for transition in workflow.transitions:
            if transition.withdraws_consent or transition.dest not in ends:
                continue
            for source in transition.sources:
                if source not in ends:
                    ends.add(source)
                    grown = True
    for state in workflow.states:
        if state not in ends:
            raise _fail(
                path,
                f"states.{state}",
                "no step leads on from here to a final state, only consent withdrawal: a case would stay",
            )
    # A case ending there would be both done (or withdrawn) and never a SIP: the statistics could not say.
    for transition in workflow.transitions:
        for flag in ("closes", "withdraws_consent"):
            if getattr(transition, flag) and workflow.states[transition.dest].entered_in_error:
                raise _fail(
                    path,
                    f"transitions.{transition.trigger}.{flag}",
                    f"leads to {transition.dest!r}, a state for cases entered in error",
                )


def _after_consent(workflow: Workflow) -> set[str]:
    """The states a case can be in after a step that records consent (a form in CONSENT_INPUTS): the only
    ones in which a consent may be in force, so from which it may be withdrawn."""
    reached = {t.dest for t in workflow.transitions if t.form in CONSENT_INPUTS}
    todo = list(reached)
    while todo:
        for transition in workflow.transitions_from(todo.pop()):
            if transition.dest not in reached:
                reached.add(transition.dest)
                todo.append(transition.dest)
    return reached


# Typographic quotes a word processor or a mail puts in place of the straight ones TOML reads.
_CURLY_QUOTES = "“”„‘’"


def _toml_hint(text: str, message: str) -> str:
    """The line a TOML error is at, as the file has it, and what is most often wrong there: tomllib names
    only its number and column, in words a coordinator editing the file does not read as what to fix."""
    found = re.search(r"at line (\d+)", message)
    lines = text.split("\n")  # as TOML counts them (splitlines would also split at \x0c, \u2028 ...)
    if found is None or not 1 <= int(found.group(1)) <= len(lines):
        return ""
    line = lines[int(found.group(1)) - 1].strip()
    if "twice" in message:
        hint = "each [section] is declared once, and each step begins with [[transitions]], two brackets"
    elif any(quote in line for quote in _CURLY_QUOTES):
        hint = 'write quotes as straight double quotes "...", not typographic ones'
    elif not re.sub(r'"[^"]*"', "", line).split("#")[0].isascii():
        # TOML's names (keys and [sections]) are ASCII without quotes: tomllib stops at the å in
        # [states.kallad_å] saying a bracket is expected, which sends the coordinator looking for one.
        hint = (
            "a name, before = or in [...], is written with a-z, digits and _ only, not å, ä or ö: "
            "the Swedish words go in the labels"
        )
    else:
        hint = "look for a quote, bracket, brace, comma or = missing or extra there or on the line before"
    return f"; the line reads: {line[:120]} ({hint})"


def load_workflow_file(path: Path, guards=None, effects=None, inputs=None) -> Workflow:
    """Read and validate one workflow file (against the registered blocks unless given)."""
    raw = path.read_bytes()
    # Windows editors save UTF-8 with a byte-order mark, which TOML does not allow: it is dropped here.
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise WorkflowError(f"{path.name}: not UTF-8 text (line {line}): save the file as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise WorkflowError(f"{path.name}: not valid TOML: {error}{_toml_hint(text, str(error))}") from None
    except RecursionError:
        # tomllib reads nested arrays and tables recursively: thousands deep exhaust the stack.
        raise WorkflowError(f"{path.name}: not valid TOML: nested too deeply") from None
    try:
        return parse_workflow(path, data, guards, effects, inputs)
    except WorkflowError as error:
        error.line = key_line(text, error.key) if error.key else None
        raise


# A line of a workflow file: a [section] or [[array]] header, or a key = value (a bare or dotted key).
# The name's parts are split by dots alone (spaces around them allowed), so no two of the pattern's parts may
# take the same spaces: a line of thousands of spaces after a "[" (in a multi-line string) is read once,
# where a name that could hold spaces was tried at every split of them (cubic: 4000 spaces took 40 s, and
# the start or the check hung on the file it was to refuse).
_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_\-]+(?:\s*\.\s*[A-Za-z0-9_\-]+)*)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"\s*([A-Za-z0-9_\-]+)\s*=\s*(.*)$")
# The key that names a section of an [[array]], as the refusals name it (transitions.give_consent).
_NAMED_BY = {"transitions": "trigger", "reminders": "name"}


def key_line(text: str, key: str) -> tuple[int, str] | None:
    """Where in the file text the dotted key of a refusal is: (line number, the line as written), or None.

    transitions.give_consent.dest is the dest = line of the [[transitions]] whose trigger is give_consent
    (the second such section when the key names no line within: the one repeating it); states.closed.final
    the final = line under [states.closed]; a [section] or a key without a line of its own, the section's
    header. tomllib keeps no places, so the lines are read here as the file has them."""
    lines = text.split("\n")
    inside = _lines_inside_strings(lines)
    sections: list[tuple[str, int, dict[str, int]]] = [("", 0, {})]  # (name, header line, key lines)
    for number, line in enumerate(lines, start=1):
        if number in inside:
            continue  # a multi-line string's text, which may read as a [section] or a key = value
        header = _HEADER.match(line)
        if header is not None and not _KEY.match(line):
            name = header.group(2).replace(" ", "")
            sections.append((name, number, {}))
            continue
        found = _KEY.match(line)
        if found is not None:
            sections[-1][2].setdefault(found.group(1), number)
            array = sections[-1][0]
            if _NAMED_BY.get(array) == found.group(1):
                value = found.group(2).split("#")[0].strip().strip('"').strip("'")
                sections[-1] = (f"{array}.{value}", sections[-1][1], sections[-1][2])
    parts = key.split(".")
    candidates = []
    for size in range(len(parts), 0, -1):
        section = ".".join(parts[:size])
        rest = parts[size:]
        indexed = re.fullmatch(r"(\w+)\[(\d+)\]", section)
        if indexed is not None:  # transitions[3]: the fourth [[transitions]], as the refusal counts
            named = [s for s in sections if s[0].split(".")[0] == indexed.group(1) and s[1]]
            matching = named[int(indexed.group(2)) : int(indexed.group(2)) + 1]
        else:
            matching = [s for s in sections if s[0] == section and s[1]]
        if matching:
            candidates = [(s, rest) for s in matching]
            break
    if not candidates:
        candidates = [(sections[0], parts)]  # a key at the top of the file
    for (_name, _header, keys), rest in candidates:
        if rest and rest[0] in keys:
            number = keys[rest[0]]
            return number, lines[number - 1].strip()
    (name, header, keys), rest = candidates[-1]
    named_by = _NAMED_BY.get(name.split(".")[0])
    if named_by in keys:  # a step or reminder repeated: the line naming it, trigger = "..."
        header = keys[named_by]
    if not header:
        return None
    return header, lines[header - 1].strip()


def _lines_inside_strings(lines: list[str]) -> set[int]:
    """The numbers of the lines that begin inside a multi-line string (three quotes, double or single): its
    text, not the file's keys. The file is valid TOML (tomllib read it), so its strings close; each line is
    read once, left to right, past its one-line strings and up to its comment."""
    inside: set[int] = set()
    open_with: str | None = None  # the delimiter of the multi-line string the scan is in
    for number, line in enumerate(lines, start=1):
        if open_with is not None:
            inside.add(number)
        at = 0
        while at < len(line):
            if open_with is not None:
                if open_with == '"""' and line[at] == "\\":
                    at += 2  # an escaped character, \" among them
                    continue
                if line.startswith(open_with, at):
                    at += 3
                    while at < len(line) and line[at] == open_with[0]:
                        at += 1  # up to two quotes of the text just before the closing three
                    open_with = None
                    continue
                at += 1
                continue
            char = line[at]
            if char == "#":
                break
            if line.startswith(('"""', "'''"), at):
                open_with = line[at : at + 3]
                at += 3
            elif char in "\"'":
                at += 1
                while at < len(line) and line[at] != char:
                    at += 2 if char == '"' and line[at] == "\\" else 1
                at += 1
            else:
                at += 1
    return inside
