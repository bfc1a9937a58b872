"""The SIP indicators of SIP.md §6, each group one SQL GROUP BY over the code records (or the cases).

Counting rules: a code record stands when the sum of its signs is positive (a reversal, sign -1, takes it
back). A SIP meeting is a held meeting with a standing SIP code; a video SIP one with a standing distance
code too. Persons are distinct per group; the municipality, sex, age and occasion are those the code record
copied on the meeting day, so a person who moved counts where they lived at each meeting. Indicators about
cases without a meeting (offered, accepted, follow-ups due) group by the municipality the case kept when
the SIP was requested (`SipCase.municipality_code`), so a later move changes no published period.
Every answer passes disclosure control (`disclosure.suppress_table`) before it leaves this module.
"""

from __future__ import annotations

import calendar
import re
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Integer, and_, case, exists, extract, false, func, literal, or_, select
from sqlmodel import Session

from sipflow.admin.users import coordinator_scope
from sipflow.cases.models import Deadline, Participant, SipCase, TransitionLog, met_in_time
from sipflow.clock import STOCKHOLM, now_utc, to_local
from sipflow.coding.models import CodeDefinition, CodeRecord
from sipflow.errors import InvalidInput, NotAllowed
from sipflow.meetings.models import HELD, Attendance, Meeting
from sipflow.people.labels import ORGANISATION_KIND_SHORT
from sipflow.people.models import County, Municipality, Organisation, Person
from sipflow.stats.disclosure import (
    ALL,
    Suppressed,
    linked_cells,
    plain,
    suppress_breakdown,
    suppress_table,
    withheld_where_small,
)
from sipflow.stats.sql import days_between, quarter_of, swedish_day, year_of
from sipflow.translated import lazy_gettext as _l
from sipflow.translated import lazy_pgettext as _lp
from sipflow.workflow.definition import DEADLINE_INDICATORS

BREAKDOWNS = ("municipality", "county", "quarter", "year", "sex", "age_band", "occasion", "organisation_kind")
BREAKDOWN_LABELS = {
    "municipality": _l("Municipality"),
    "county": _l("County"),
    "quarter": _l("Quarter"),
    "year": _l("Year"),
    "sex": _l("Sex"),
    "age_band": _l("Age band"),
    "occasion": _l("Occasion"),
    "organisation_kind": _l("Organisation type"),
    "period": _l("Period"),
}
SEX_LABELS = {"female": _l("Female"), "male": _l("Male"), "unknown": _l("Not stated")}
# An organisation type as every page names it in a list (the attendance table's rows).
ORGANISATION_KIND_LABELS = ORGANISATION_KIND_SHORT
MODE_LABELS = {"on_site": _l("On site"), "video": _l("Video"), "phone": _l("Phone"), "absent": _l("Absent")}
MAX_YEARS = 20
# The days a period may start and end on: beyond them no SIP was or will be held, and the calendar
# arithmetic of the queries (20 years back, the day after the end) stays inside the dates Python has.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2199, 12, 31)
MAX_COMPARE_YEARS = 20
# The forms (code, registered by the consent area) whose steps accept or decline a SIP: which triggers use
# them is read from the workflow files, so no trigger name is spelt here.
ACCEPT_FORM, DECLINE_FORM = "consent", "consent_declined"
DIGITAL = ("fully_digital", "partly_digital")
NOT_APPLICABLE = "–"
# The age band of a person whose age is not known (no birth date): said so, not "–" (no such breakdown).
AGE_UNKNOWN = "unknown"


@dataclass(frozen=True)
class Scope:
    """The counties and municipalities a coordinator follows; both empty: every one."""

    counties: frozenset[str] = frozenset()
    municipalities: frozenset[str] = frozenset()

    @property
    def restricted(self) -> bool:
        """Whether the coordinator follows only some counties or municipalities."""
        return bool(self.counties or self.municipalities)

    def allows(self, county: str | None, municipality: str | None, municipality_county: str | None) -> bool:
        """Whether a chosen county (or municipality, in municipality_county) lies inside the scope."""
        if not self.restricted:
            return True
        if county is not None and county not in self.counties:
            return False
        if municipality is not None:
            return municipality in self.municipalities or municipality_county in self.counties
        return True


def scope_of(session: Session, user) -> Scope:
    """The statistics scope of a coordinator (their `coordinator_scope` rows); none: every county."""
    counties, municipalities = coordinator_scope(session, user)
    return Scope(counties, municipalities)


@dataclass(frozen=True)
class StatsQuery:
    """What the user asked for: a period (and the same period in earlier years), an area, breakdowns."""

    start: date
    end: date
    county: str | None = None
    municipality: str | None = None
    by: tuple[str, ...] = ()
    compare_years: int = 0
    # Only meetings with this SIP code (XU045, AU124, ...) count; None: every code of kind sip.
    code: str | None = None
    # The coordinator's scope, applied when no county or municipality is chosen (parse_query checked those).
    scope: Scope | None = None
    # The Swedish day the answer is counted on: a deadline falling due after it is not due yet.
    today: date = field(default_factory=lambda: _local_today(None))

    def periods(self) -> list[tuple[date, date]]:
        """The period and the same period in each earlier year compared, oldest first."""
        out = []
        for back in range(self.compare_years, -1, -1):
            # Whole months as the period: February ends on the 29th in a leap year compared.
            out.append((_years_back(self.start, back), _month_end(_years_back(self.end, back))))
        return out

    def as_dict(self) -> dict:
        """The query as the JSON answer echoes it."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "county": self.county,
            "municipality": self.municipality,
            "by": list(self.by),
            "compare_years": self.compare_years,
            "code": self.code,
        }


def _local_today(now: datetime | None) -> date:
    """The Swedish calendar day of now (None: the clock's now)."""
    return to_local(now or now_utc()).date()


def period_label(start: date, end: date) -> str:
    """A compared period as the tables name it: its year when it is one calendar year ("2025"), else its
    first and last day ("2024-07-01 – 2025-06-30"), since the year it ends in would not say which days."""
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return str(start.year)
    return f"{start.isoformat()} – {end.isoformat()}"


def _years_back(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


# Only the form the field's hint shows, in ASCII digits (date.fromisoformat takes 20260101, 2026-W01-1 too).
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,6}")


def parse_date(value: str | None, field_name: str) -> date:
    """An ISO date (YYYY-MM-DD, ASCII digits) or a refusal naming the field.

    A date in that form that is no day of the calendar (2026-02-30) is refused as one that does not exist,
    saying why, not as one in another form.
    """
    text = (value or "").strip()
    if _ISO_DATE.fullmatch(text) is None:
        raise InvalidInput(_l("Enter a date as YYYY-MM-DD."), field=field_name)
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    year, month = int(text[:4]), int(text[5:7])
    if year == 0:  # no year 0 in the calendar Python (and the period's bounds) use
        raise InvalidInput(_range_message(), field=field_name)
    if not 1 <= month <= 12:
        message = _l("The date %(date)s does not exist: the months are 01 to 12.", date=text)
    else:
        days = calendar.monthrange(year, month)[1]
        message = _l("The date %(date)s does not exist: that month has %(days)d days.", date=text, days=days)
    raise InvalidInput(message, field=field_name)


def _range_message():
    """The refusal of a day outside the days a period may start and end on."""
    first, last = EARLIEST_DAY.isoformat(), LATEST_DAY.isoformat()
    return _l("Enter a date from %(first)s to %(last)s.", first=first, last=last)


# The filters a statistics query is asked with (the page's fields, the JSON's and exports' parameters, the
# CLI's options): each takes one value (by: one comma-separated list).
FILTERS = ("from", "to", "county", "municipality", "by", "compare_years", "code")


def single_values(
    given: Mapping[str, Sequence[str]],
) -> tuple[dict[str, str | None], dict[str, InvalidInput]]:
    """Each filter's value as given (None: not given; the first when given more than once) and a refusal,
    naming the field, of each filter given more than once: a second value is never silently dropped."""
    values: dict[str, str | None] = {}
    refusals: dict[str, InvalidInput] = {}
    for name in FILTERS:
        typed = list(given.get(name) or ())
        values[name] = typed[0] if typed else None
        if len(typed) > 1:
            refusals[name] = InvalidInput(
                _l("Given %(count)d times: give one value only.", count=len(typed)), field=name
            )
    return values, refusals


def parse_query(
    session: Session,
    *,
    start: str | date | None,
    end: str | date | None,
    county: str | None = None,
    municipality: str | None = None,
    by: str | list[str] | tuple[str, ...] | None = None,
    compare_years: str | int | None = 0,
    code: str | None = None,
    scope: Scope | None = None,
    now: datetime | None = None,
) -> StatsQuery:
    """Check what was asked for; an InvalidInput naming the field (from, to, county, municipality, by).

    With a coordinator's scope, a county or municipality outside it is NotAllowed (naming the field), and
    no county or municipality chosen means every one inside it. No scope (the CLI): every county. now (the
    clock's, when None) is when the answer is counted: what falls due later is not due yet.
    """
    start_day = start if isinstance(start, date) else parse_date(start, "from")
    end_day = end if isinstance(end, date) else parse_date(end, "to")
    for day, field_name in ((start_day, "from"), (end_day, "to")):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise InvalidInput(_range_message(), field=field_name)
    _whole_months(start_day, end_day)
    if end_day < start_day:
        raise InvalidInput(_l("The end of the period is before its start."), field="to")
    if _years_back(end_day, MAX_YEARS) >= start_day:
        raise InvalidInput(_l("A period may be at most 20 years long."), field="to")
    if isinstance(by, str):
        by = [part for part in by.replace(" ", "").split(",") if part]
    names = tuple(by or ())
    unknown = [name for name in names if name not in BREAKDOWNS]
    if unknown:
        raise InvalidInput(_l("Unknown breakdown: %(name)s.", name=unknown[0][:40]), field="by")
    # A breakdown twice, or a quarter beside the year it lies in, is no table anyone meant: refused.
    twice = next((name for index, name in enumerate(names) if name in names[:index]), None)
    if twice is not None:
        label = str(BREAKDOWN_LABELS[twice]).lower()
        raise InvalidInput(_l("The breakdown by %(name)s is chosen twice.", name=label), field="by")
    if "quarter" in names and "year" in names:
        raise InvalidInput(
            _l("A quarter lies within a year: choose quarter or year as the breakdown, not both."), field="by"
        )
    county = (county or "").strip() or None
    municipality = (municipality or "").strip() or None
    # Codes are digits (SCB): anything else is refused before the database sees it (a NUL would fail there).
    if county is not None and (not _digits(county, 2) or session.get(County, county) is None):
        raise InvalidInput(_l("Unknown county."), field="county")
    if municipality is not None:
        known = session.get(Municipality, municipality) if _digits(municipality, 4) else None
        if known is None:
            raise InvalidInput(_l("Unknown municipality."), field="municipality")
        if county is not None and known.county_code != county:
            raise InvalidInput(_l("The municipality is not in the county chosen."), field="municipality")
    if scope is not None and scope.restricted:
        if not scope.allows(county, None, None):
            raise NotAllowed(_l("You do not follow this county's statistics."), field="county")
        if municipality is not None and not scope.allows(None, municipality, known.county_code):
            raise NotAllowed(_l("You do not follow this municipality's statistics."), field="municipality")
    years = _parse_years(compare_years)
    if _years_back(start_day, years) < EARLIEST_DAY:
        raise InvalidInput(
            _l(
                "The earliest period compared would start before %(first)s: compare with fewer earlier "
                "years.",
                first=EARLIEST_DAY.isoformat(),
            ),
            field="compare_years",
        )
    code = (code or "").strip().upper() or None
    if code is not None:
        known_code = (
            session.get(CodeDefinition, code)
            if len(code) <= 10 and code.isascii() and code.isalnum()
            else None
        )
        if known_code is None or known_code.kind != "sip":
            raise InvalidInput(_not_a_sip_code(session, known_code), field="code")
    restricted = scope if scope is not None and scope.restricted else None
    query = StatsQuery(
        start_day, end_day, county, municipality, names, years, code, restricted, _local_today(now)
    )
    periods = query.periods()
    pairs = zip(periods, periods[1:], strict=False)
    if any(earlier_end >= later_start for (_, earlier_end), (later_start, _) in pairs):
        # Overlapping periods would count a shared day in one of them only: a later one would lose those days.
        raise InvalidInput(
            _l("Earlier years can be compared only for a period of at most one year."), field="compare_years"
        )
    return query


def sip_codes(session: Session) -> list[tuple[str, str]]:
    """The catalogue's SIP codes (kind sip, retired ones too: their meetings are counted), with their labels,
    in code order: the codes a query may be limited to."""
    statement = (
        select(CodeDefinition.code, CodeDefinition.label)
        .where(CodeDefinition.kind == "sip")
        .order_by(CodeDefinition.code)
    )
    return [(code, label) for code, label in session.execute(statement)]


def _not_a_sip_code(session: Session, known: CodeDefinition | None):
    """The refusal of a code that is no SIP code: a KVÅ code of another kind (ZV051) is named as one, and
    the SIP codes that can be chosen are listed."""
    codes = ", ".join(code for code, _ in sip_codes(session))
    if not codes:
        return _l("Unknown SIP code: the code catalogue has no SIP code.")
    if known is not None:
        return _l(
            "%(code)s is not a SIP code: only a SIP code can be chosen (%(codes)s).",
            code=known.code,
            codes=codes,
        )
    return _l("Unknown SIP code: only a SIP code can be chosen (%(codes)s).", codes=codes)


def _month_end(day: date) -> date:
    """The last day of day's month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of day's month: the shortest period the statistics count."""
    return day.replace(day=1), _month_end(day)


# The periods a coordinator asks for most, offered beside the dates: (key, label).
PERIOD_PRESETS = (
    ("this_year", _l("This year so far")),
    ("last_quarter", _l("Last quarter")),
    ("last_year", _l("Last year")),
)


def preset_period(key: str, today: date) -> tuple[date, date]:
    """The whole months of a preset period (PERIOD_PRESETS) seen from today: this year up to and including
    this month, the last whole quarter before this one, or the last whole year (a year-end report)."""
    if key == "this_year":
        return date(today.year, 1, 1), _month_end(today)
    if key == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    if key == "last_quarter":
        first_month = (today.month - 1) // 3 * 3 + 1  # this quarter's first month
        this_quarter = date(today.year, first_month, 1)
        last_day = this_quarter - timedelta(days=1)
        return date(last_day.year, last_day.month - 2, 1), last_day
    raise ValueError(f"unknown period preset {key!r}")


def _whole_months(start: date, end: date) -> None:
    """Refuse a period that is not whole calendar months, naming the field and the day meant.

    Two periods a day apart would give that day's SIPs back as their difference (one woman aged 25-44
    had a first SIP on 13 July), whatever each table hides; a month's are many more. The CLI and every
    export go through here, as the page does.
    """
    check_period_day(start, "from")
    check_period_day(end, "to")


def check_period_day(day: date, field_name: str) -> None:
    """A period's first day (field from) must begin a month, its last (to) end one; else a refusal."""
    if field_name == "from" and day.day != 1:
        raise InvalidInput(
            _l(
                "Statistics are counted in whole months: enter the first day of a month, such as %(day)s.",
                day=day.replace(day=1).isoformat(),
            ),
            field="from",
        )
    if field_name == "to" and day != _month_end(day):
        raise InvalidInput(
            _l(
                "Statistics are counted in whole months: enter the last day of a month, such as %(day)s.",
                day=_month_end(day).isoformat(),
            ),
            field="to",
        )


def _parse_years(value: str | int | None) -> int:
    """The number of earlier years to compare (ASCII digits, 0 to 20) or a refusal naming compare_years."""
    if isinstance(value, int):
        years = value
    else:
        text = (value or "0").strip()
        if _WHOLE_NUMBER.fullmatch(text) is None:
            raise InvalidInput(_l("Enter a whole number of years."), field="compare_years")
        years = int(text)
    if not 0 <= years <= MAX_COMPARE_YEARS:
        raise InvalidInput(_l("Enter a number of earlier years from 0 to 20."), field="compare_years")
    return years


def _digits(text: str, length: int) -> bool:
    return len(text) == length and text.isascii() and text.isdigit()


# --- Age bands -------------------------------------------------------------------------------------------


def age_band_labels(bands: tuple[tuple[int, int | None], ...]) -> list[str]:
    """The bands' labels: "0–17", ..., "80+"."""
    return [f"{low}+" if high is None else f"{low}–{high}" for low, high in bands]


def _age_band(column, bands):
    labels = age_band_labels(bands)
    whens = []
    for (low, high), label in zip(bands, labels, strict=True):
        condition = column >= low if high is None else and_(column >= low, column <= high)
        whens.append((condition, label))
    return case(*whens, else_=literal(AGE_UNKNOWN))


# --- The shared pieces of the meeting indicators --------------------------------------------------------


@dataclass
class Settings:
    """The configuration the indicators read (config keys STATS_*)."""

    threshold: int = 5
    age_bands: tuple[tuple[int, int | None], ...] = (
        (0, 17),
        (18, 24),
        (25, 44),
        (45, 64),
        (65, 79),
        (80, None),
    )
    # The deadlines the workflow files mark `indicator = "kallelse"` / `"follow_up"`, each as (workflow name,
    # version, deadline kind): a deadline row counts only when its case's workflow and version declare its
    # kind with that indicator (another file may give the same kind another meaning, or none).
    kallelse_deadlines: tuple[tuple[str, int, str], ...] = ()
    follow_up_deadlines: tuple[tuple[str, int, str], ...] = ()
    # Each workflow's own steps, by its occasion (one workflow's: the loader refuses a second declaring it,
    # and the case's occasion is in the covering index the offered SIPs are read from): the steps (occasion,
    # trigger) of the consent's forms, and (occasion, trigger, destination) ending a case in a state its file
    # marks `entered_in_error` (makulerad), such a case never a SIP offered, accepted or declined. A county's
    # file may give the same step into the same state another meaning ("Avbruten", a real ending).
    accept_steps: tuple[tuple[str, str], ...] = ()
    decline_steps: tuple[tuple[str, str], ...] = ()
    entered_in_error_steps: tuple[tuple[str, str, str], ...] = ()
    occasion_labels: dict = field(default_factory=dict)


def settings_from(config: dict, registry, locale: str = "sv") -> Settings:
    """The indicator settings from the config and the workflow files (what accepts, declines, is measured)."""
    accept, decline, voiding, occasions = set(), set(), set(), {}
    measured: dict[str, set] = {indicator: set() for indicator in DEADLINE_INDICATORS}
    # An occasion is one workflow's (the loader refuses a second workflow declaring it), named by the label
    # of its newest version: versions read oldest first, each a later one overwrites.
    for workflow in sorted(registry.workflows(), key=lambda w: w.version):
        occasions[workflow.occasion] = workflow.label.get(locale) or workflow.occasion
        for deadline in workflow.deadlines:
            if deadline.indicator is not None:
                measured[deadline.indicator].add((workflow.name, workflow.version, deadline.kind))
        for transition in workflow.transitions:
            if workflow.states[transition.dest].entered_in_error:
                voiding.add((workflow.occasion, transition.trigger, transition.dest))
            if transition.form == ACCEPT_FORM:
                accept.add((workflow.occasion, transition.trigger))
            elif transition.form == DECLINE_FORM:
                decline.add((workflow.occasion, transition.trigger))
    return Settings(
        threshold=config["STATS_SUPPRESSION_THRESHOLD"],
        age_bands=config["STATS_AGE_BANDS"],
        kallelse_deadlines=tuple(sorted(measured["kallelse"])),
        follow_up_deadlines=tuple(sorted(measured["follow_up"])),
        accept_steps=tuple(sorted(accept)),
        decline_steps=tuple(sorted(decline)),
        entered_in_error_steps=tuple(sorted(voiding)),
        occasion_labels=occasions,
    )


def _measured_deadlines(deadlines: tuple[tuple[str, int, str], ...], case_columns, deadline_columns):
    """The SQL condition "this deadline row is one of these (workflow, version, kind)": its case's workflow
    and version declare its kind with the indicator. One condition per workflow version (as many as the
    files), each the version's kinds as an IN list; none: no row.
    """
    kinds: dict[tuple[str, int], list[str]] = defaultdict(list)
    for name, version, kind in deadlines:
        kinds[(name, version)].append(kind)
    if not kinds:
        return false()
    return or_(
        *(
            and_(
                case_columns.workflow_name == name,
                case_columns.workflow_version == version,
                deadline_columns.kind.in_(sorted(names)),
            )
            for (name, version), names in sorted(kinds.items())
        )
    )


def _period_filter(day_column, query: StatsQuery):
    return or_(*(day_column.between(start, end) for start, end in query.periods()))


def _period_label(day_column, query: StatsQuery):
    """Which compared period a day falls in, keyed by the year it ends in (`period_label` names it)."""
    return case(*((day_column.between(s, e), literal(e.year)) for s, e in query.periods()), else_=literal(0))


def _area_filter(municipality_column, query: StatsQuery):
    if query.municipality:
        return municipality_column == query.municipality
    if query.county:
        codes = select(Municipality.code).where(Municipality.county_code == query.county)
        return municipality_column.in_(codes)
    if query.scope is not None:
        counties = select(Municipality.code).where(Municipality.county_code.in_(sorted(query.scope.counties)))
        return or_(
            municipality_column.in_(sorted(query.scope.municipalities)), municipality_column.in_(counties)
        )
    return literal(True)


def _dimensions(
    query: StatsQuery,
    settings: Settings,
    *,
    day,
    municipality,
    county,
    sex,
    age,
    occasion,
    org_kind,
    by_period: bool = True,
):
    """(name, SQL expression) of each breakdown asked for; a breakdown a source lacks is "–".

    by_period=False: the compared periods are counted together (a chart's bar over every period).
    """
    expressions = {
        "municipality": municipality,
        "county": county,
        "quarter": quarter_of(day),
        "year": year_of(day),
        "sex": sex,
        "age_band": _age_band(age, settings.age_bands) if age is not None else None,
        "occasion": occasion,
        "organisation_kind": org_kind,
    }
    dims = []
    if query.compare_years and by_period:
        dims.append(("period", _period_label(day, query)))
    for name in query.by:
        expression = expressions[name]
        dims.append((name, expression if expression is not None else literal(NOT_APPLICABLE)))
    return dims


def _sip_meetings(
    query: StatsQuery,
    settings: Settings,
    *,
    per_organisation_kind: bool,
    with_case: bool = False,
    by_period: bool = True,
):
    """One row per SIP meeting (per organisation kind too, when asked) with the breakdown columns.

    The breakdown expressions are computed in a subquery and grouped by its columns: PostgreSQL would not
    match a GROUP BY expression holding bound parameters to the same expression in the select list.
    """
    cr, mu = CodeRecord.__table__.c, Municipality.__table__.c
    dims = _dimensions(
        query,
        settings,
        day=cr.held_on,
        municipality=cr.municipality_code,
        county=mu.county_code,
        sex=cr.legal_sex,
        age=cr.age_years,
        occasion=cr.occasion,
        org_kind=cr.organisation_kind,
        by_period=by_period,
    )
    keys = ["meeting_id", "person_id", "meeting_kind"]
    if with_case:
        keys += ["case_id", "held_on"]
    if per_organisation_kind:
        keys.append("organisation_kind")
    source = CodeRecord.__table__
    if "county" in query.by:
        source = source.join(Municipality.__table__, mu.code == cr.municipality_code)
    base = (
        select(
            *(cr[key] for key in keys),
            cr.kind,
            cr.sign,
            *(expression.label(f"d_{name}") for name, expression in dims),
        )
        .select_from(source)
        .where(
            _period_filter(cr.held_on, query),
            _area_filter(cr.municipality_code, query),
            *([_of_the_code(cr, query.code)] if query.code else []),
        )
        .subquery("coded")
    )
    group = [base.c[key] for key in keys] + [base.c[f"d_{name}"] for name, _ in dims]
    sip = func.sum(case((base.c.kind == "sip", base.c.sign), else_=0))
    distance = func.sum(case((base.c.kind == "distance", base.c.sign), else_=0))
    statement = select(*group, distance.label("distance")).group_by(*group).having(sip > 0)
    return statement.subquery("sip_meeting"), [name for name, _ in dims]


def _of_the_code(cr, code: str):
    """The records a SIP code filter keeps: the SIP records of that code, and the other records (ZV051) of
    a unit that recorded it at the meeting. An add-on code is the unit's own: a meeting where the region's
    unit (XU045) was on site and the municipality's home health care (AU124) joined by video is an AU124 SIP
    by video, and an XU045 one on site, as each huvudman's own KVÅ statistics count it."""
    same_unit = CodeRecord.__table__.alias("same_unit")
    return or_(
        and_(cr.kind == "sip", cr.code == code),
        and_(
            cr.kind != "sip",
            exists(
                select(1).where(
                    same_unit.c.meeting_id == cr.meeting_id,
                    same_unit.c.unit_id == cr.unit_id,
                    same_unit.c.kind == "sip",
                    same_unit.c.code == code,
                )
            ),
        ),
    )


def _grouped(base, keys: list[str], aggregates):
    """SELECT keys, aggregates(base) FROM (base) GROUP BY keys: group by plain columns of a subquery."""
    sub = base.subquery()
    columns = [sub.c[key] for key in keys]
    return select(*columns, *aggregates(sub)).group_by(*columns)


def _attended(meeting_id, kind: str):
    p, a = Participant.__table__.c, Attendance.__table__.c
    return exists(
        select(1)
        .select_from(Attendance.__table__.join(Participant.__table__, p.id == a.participant_id))
        .where(a.meeting_id == meeting_id, p.kind == kind, a.mode != "absent")
    )


# A share is a percentage with one decimal, a half rounded up as official Swedish statistics round
# (SCB), not to the even digit as round() does: 5 of 16 is 31.3 %, not 31.2 %.
_TENTH = Decimal("0.1")


def percent(numerator, denominator) -> float | None:
    """numerator of denominator in percent, one decimal, a half rounded up; None without a denominator."""
    if not isinstance(numerator, int) or not isinstance(denominator, int) or denominator == 0:
        return None
    # Exact decimal arithmetic: a float quotient may lie just below the half (0.35 is 0.34999...).
    exact = Decimal(100 * numerator) / Decimal(denominator)
    return float(exact.quantize(_TENTH, rounding=ROUND_HALF_UP))


# --- The rows every table shows, counted or not ---------------------------------------------------------

# The breakdowns whose every value a table shows, with 0 where nothing was counted: each compared period,
# each quarter (year) of a period and each municipality (county) of the area asked for. A trend by quarter
# would otherwise join the quarters around an empty one, and a municipality followed without a SIP would
# be missing as if it were not followed. The other breakdowns show the values seen.
FRAMED = ("period", "quarter", "year", "municipality", "county")


@dataclass(frozen=True)
class Frame:
    """The periods (their key in the rows, start, end) and the area's (municipality, county) codes."""

    periods: tuple[tuple[int | None, date, date], ...]
    area: tuple[tuple[str, str], ...]

    def keys(self, names, seen) -> list[tuple]:
        """Every row key (values of names) a table must show, beside the other breakdowns' values seen."""
        names = list(names)
        if not any(name in FRAMED for name in names):
            return []
        others = [index for index, name in enumerate(names) if name not in FRAMED]
        combinations = list(dict.fromkeys(tuple(key[index] for index in others) for key in seen))
        places = list(
            dict.fromkeys(
                tuple(municipality if name == "municipality" else county for name in names if name in AREA)
                for municipality, county in self.area
            )
        )
        out = []
        for period, start, end in self.periods:
            for when in _times(start, end, names):
                for place in places:
                    for other in combinations if others else [()]:
                        values = {"period": period} | when
                        values |= dict(zip([name for name in names if name in AREA], place, strict=True))
                        values |= dict(zip([names[index] for index in others], other, strict=True))
                        out.append(tuple(values[name] for name in names))
        return out


AREA = ("municipality", "county")


def _times(start: date, end: date, names: list[str]) -> list[dict]:
    """Each quarter (20261: 2026 Q1) or year from start to end as names asks, as row values; else one."""
    if "quarter" in names:
        first, last = start.year * 4 + (start.month - 1) // 3, end.year * 4 + (end.month - 1) // 3
        return [{"quarter": (n // 4) * 10 + n % 4 + 1} for n in range(first, last + 1)]
    if "year" in names:
        return [{"year": year} for year in range(start.year, end.year + 1)]
    return [{}]


def frame_of(session: Session, query: StatsQuery) -> Frame:
    """The periods compared (keyed as the rows' period column) and every municipality of the area asked for.

    The area is what the queries count (`_area_filter`): the municipality chosen, the county's, the
    coordinator's scope, else every one.
    """
    periods = tuple((end.year if query.compare_years else None, start, end) for start, end in query.periods())
    area = session.execute(
        select(Municipality.code, Municipality.county_code)
        .where(_area_filter(Municipality.code, query))
        .order_by(Municipality.code)
    ).all()
    return Frame(periods, tuple((code, county) for code, county in area))


def _fill(rows: list[dict], names, frame: Frame, zero) -> list[dict]:
    """rows and, for every key the frame asks for that none of them has, a row of zero() (in key order).

    Only after disclosure control: a row of zeros says what its absence said (nothing was counted), so it
    neither hides nor gives back any cell, and the table's groups stay those disclosure control checked.
    """
    names = list(names)
    seen = {tuple(row.get(name) for name in names) for row in rows}
    missing = [key for key in frame.keys(names, seen) if key not in seen]
    if not missing:
        return rows
    filled = rows + [dict(zip(names, key, strict=True)) | zero() for key in missing]
    return sorted(filled, key=lambda row: tuple(str(row.get(name)) for name in names))


# --- The indicator groups --------------------------------------------------------------------------------

MEETING_COUNTS = ("persons", "sips", "first", "follow_up", "video", "digital", "classified")
EXTRA_COUNTS = ("narstaende", "person_present")
# Persons are distinct per row, so their column says which period a row counts them over: the finest
# period breakdown chosen, else the whole period (by year a row's persons are that year's, not a quarter's).
PERSONS_LABELS = {
    "quarter": _l("Number of persons who received a SIP per quarter"),
    "year": _l("Number of persons who received a SIP per year"),
    None: _l("Number of persons who received a SIP in the period"),
}
MEETING_COLUMNS = (
    ("persons", PERSONS_LABELS["quarter"]),
    ("sips", _l("Number of SIPs")),
    ("first", _l("First SIP meetings")),
    ("follow_up", _l("Follow-up SIP meetings")),
    ("video", _l("Number of SIPs held by video")),
    ("digital_share", _l("Share of care planning meetings held fully or partly digitally (%)")),
    ("narstaende_share", _l("Share of SIPs with a relative present (%)")),
    ("person_present_share", _l("Share of SIPs where the person took part (%)")),
)


def meeting_columns(by: tuple[str, ...]) -> tuple:
    """The SIP meeting table's columns, the persons column named by the period its rows count over."""
    period = next((name for name in ("quarter", "year") if name in by), None)
    return (("persons", PERSONS_LABELS[period]), *MEETING_COLUMNS[1:])


def meeting_indicators(
    session: Session, query: StatsQuery, settings: Settings, by=None, *, by_period: bool = True
) -> tuple[list, list]:
    """Persons, SIPs (first, follow-up), video, digital share, närstående and person present: one query."""
    by = query.by if by is None else by
    q = replace(query, by=tuple(by))
    inner, names = _sip_meetings(
        q, settings, per_organisation_kind="organisation_kind" in by, by_period=by_period
    )
    m = Meeting.__table__.c
    dim_columns = [inner.c[f"d_{name}"] for name in names]

    def count_when(condition):
        return func.sum(case((condition, 1), else_=0))

    statement = (
        select(
            *dim_columns,
            func.count(func.distinct(inner.c.person_id)).label("persons"),
            func.count().label("sips"),
            count_when(inner.c.meeting_kind == "first").label("first"),
            count_when(inner.c.meeting_kind != "first").label("follow_up"),
            count_when(inner.c.distance > 0).label("video"),
            count_when(m.classification.in_(DIGITAL)).label("digital"),
            count_when(m.classification.is_not(None)).label("classified"),
            count_when(_attended(inner.c.meeting_id, "narstaende")).label("narstaende"),
            count_when(_attended(inner.c.meeting_id, "person")).label("person_present"),
        )
        .select_from(inner.join(Meeting.__table__, m.id == inner.c.meeting_id))
        .where(m.status == HELD)
        .group_by(*dim_columns)
        .order_by(*dim_columns)
    )
    rows = []
    for record in session.execute(statement).mappings():
        row = {name: record[f"d_{name}"] for name in names}
        for key in (*MEETING_COUNTS, *EXTRA_COUNTS):
            row[key] = int(record[key] or 0)
        rows.append(row)
    return rows, names


def _with_shares(row: dict) -> dict:
    row["digital_share"] = percent(row["digital"], row["classified"])
    row["narstaende_share"] = percent(row["narstaende"], row["sips"])
    row["person_present_share"] = percent(row["person_present"], row["sips"])
    return row


def lead_time_histograms(session: Session, query: StatsQuery, settings: Settings) -> dict[str, dict]:
    """Days from request to first meeting, utskrivningsklar to kallelse, plan to follow-up, per group.

    Each is one GROUP BY (group, days) count; the median is read from that bounded histogram (no maximum:
    it is one person's value).
    """
    inner, names = _sip_meetings(query, settings, per_organisation_kind=False, with_case=True)
    dims = [inner.c[f"d_{name}"] for name in names]
    sc, dl, m = SipCase.__table__.c, Deadline.__table__.c, Meeting.__table__.c
    out: dict[str, dict] = {}

    dim_keys = [f"d_{name}" for name in names]

    def histogram(*columns, where, joined, with_within=False):
        base = select(*dims, *columns).select_from(joined).where(*where)
        keys = [*dim_keys, "days", *(["within"] if with_within else [])]
        return _grouped(base, keys, lambda sub: [func.count().label("n")])

    out["request_to_first"] = _histograms(
        session,
        histogram(
            days_between(sc.requested_at, inner.c.held_on).label("days"),
            where=[inner.c.meeting_kind == "first"],
            joined=inner.join(SipCase.__table__, sc.id == inner.c.case_id),
        ),
        names,
    )
    out["utskrivningsklar_to_kallelse"] = _histograms(
        session,
        histogram(
            days_between(sc.utskrivningsklar_at, dl.met_at).label("days"),
            case((met_in_time(dl.met_at, dl.due_at), 1), else_=0).label("within"),
            where=[inner.c.meeting_kind == "first", sc.utskrivningsklar_at.is_not(None)],
            joined=inner.join(SipCase.__table__, sc.id == inner.c.case_id).join(
                Deadline.__table__,
                and_(
                    dl.case_id == sc.id,
                    _measured_deadlines(settings.kallelse_deadlines, sc, dl),
                    dl.met_at.is_not(None),
                ),
            ),
            with_within=True,
        ),
        names,
        within=True,
    )
    earlier = Meeting.__table__.alias("earlier")
    previous = (
        select(func.max(earlier.c.held_at))
        .where(earlier.c.case_id == m.case_id, earlier.c.status == HELD, earlier.c.held_at < m.held_at)
        .scalar_subquery()
    )
    out["plan_to_follow_up"] = _histograms(
        session,
        histogram(
            days_between(previous, inner.c.held_on).label("days"),
            where=[inner.c.meeting_kind != "first"],
            joined=inner.join(Meeting.__table__, m.id == inner.c.meeting_id),
        ),
        names,
    )
    return out


def _histograms(session, statement, names, *, within: bool = False) -> dict:
    groups: dict[tuple, dict] = defaultdict(lambda: {"days": [], "within": 0})
    for record in session.execute(statement).mappings():
        if record["days"] is None:
            continue
        group = groups[tuple(record[f"d_{name}"] for name in names)]
        group["days"].extend([int(record["days"])] * int(record["n"]))
        if within and record["within"]:
            group["within"] += int(record["n"])
    return groups


def case_outcome_queries(query: StatsQuery, settings: Settings):
    """The two statements behind `case_outcomes` (offered/accepted/declined; follow-ups due) and their keys.

    Apart so that the query-plan test reads the very statements the dashboard runs.
    """
    sc, p, tl, dl = SipCase.__table__.c, Person.__table__.c, TransitionLog.__table__.c, Deadline.__table__.c
    mu = Municipality.__table__.c

    def in_period(column):
        return or_(
            *(
                and_(column >= _midnight(s), column < _midnight(e + timedelta(days=1)))
                for s, e in query.periods()
            )
        )

    def stepped(steps):
        # A step of the case's own workflow (its occasion): the log found by the (case, trigger) index.
        triggers: dict[str, list[str]] = defaultdict(list)
        for occasion, trigger in steps:
            triggers[occasion].append(trigger)
        return exists(
            select(1).where(
                tl.case_id == sc.id,
                tl.trigger.in_(sorted({trigger for _, trigger in steps}) or ("",)),
                or_(
                    false(), *(and_(sc.occasion == o, tl.trigger.in_(t)) for o, t in sorted(triggers.items()))
                ),
            )
        )

    # A case ended as entered in error (makulerad) is no SIP: not offered, accepted, declined, nor due a
    # follow-up. Read from its log (the step into such a state, found by the (case, trigger) index), so the
    # case row is still read from the covering index alone. The step is matched with the state it led to
    # and the case's own workflow: the same trigger may lead elsewhere, or mean otherwise, in another file.
    voiding = settings.entered_in_error_steps
    entered_in_error = exists(
        select(1).where(
            tl.case_id == sc.id,
            tl.trigger.in_(sorted({trigger for _, trigger, _ in voiding}) or ("",)),
            or_(
                false(),
                *(
                    and_(sc.occasion == occasion, tl.trigger == trigger, tl.to_state == state)
                    for occasion, trigger, state in voiding
                ),
            ),
        )
    )

    def dims_for(day, kept_age):
        # An anonymised person's birth date is cut to its year: the age kept from the whole one counts then.
        return _dimensions(
            query,
            settings,
            day=day,
            municipality=sc.municipality_code,
            county=mu.county_code,
            sex=p.legal_sex,
            age=func.coalesce(kept_age, _age_on(p.birth_date, day)),
            occasion=sc.occasion,
            org_kind=None,
        )

    people = SipCase.__table__.join(Person.__table__, p.id == sc.person_id)
    if "county" in query.by:
        people = people.join(Municipality.__table__, mu.code == sc.municipality_code)
    dims = dims_for(swedish_day(sc.requested_at), sc.age_at_request)
    keys = [f"d_{name}" for name, _ in dims]
    base = (
        select(
            *(expression.label(f"d_{name}") for name, expression in dims),
            case((stepped(settings.accept_steps), 1), else_=0).label("accepted"),
            case((stepped(settings.decline_steps), 1), else_=0).label("declined"),
        )
        .select_from(people)
        .where(in_period(sc.requested_at), _area_filter(sc.municipality_code, query), ~entered_in_error)
    )
    offered = _grouped(
        base,
        keys,
        lambda sub: [
            func.count().label("offered"),
            func.sum(sub.c.accepted).label("accepted"),
            func.sum(sub.c.declined).label("declined"),
        ],
    )
    dims = dims_for(swedish_day(dl.due_at), dl.age_on_due_day)
    base = (
        select(
            *(expression.label(f"d_{name}") for name, expression in dims),
            case((and_(dl.met_at.is_not(None), met_in_time(dl.met_at, dl.due_at)), 1), else_=0).label(
                "on_time"
            ),
        )
        .select_from(Deadline.__table__.join(people, sc.id == dl.case_id))
        .where(
            _measured_deadlines(settings.follow_up_deadlines, sc, dl),
            dl.cancelled_at.is_(None),
            ~entered_in_error,
            in_period(dl.due_at),
            # Only a follow-up whose day has come is due (counted, and held by its date or not): one later
            # in the period would count as missed before anyone could hold it.
            dl.due_at < _midnight(query.today + timedelta(days=1)),
            _area_filter(sc.municipality_code, query),
        )
    )
    due = _grouped(
        base, keys, lambda sub: [func.count().label("due"), func.sum(sub.c.on_time).label("on_time")]
    )
    return offered, due, keys


def follow_ups_due_through(query: StatsQuery) -> date | None:
    """The day follow-ups due are counted to, when the period reaches past it (today); else None.

    A follow-up counts once its day has come (`case_outcome_queries`): a period ending after today is
    counted up to today only, and the answer says so.
    """
    return query.today if query.end > query.today else None


def _age_on(birth, day):
    """Whole years from a birth date to a day (SQL); NULL without a birth date."""
    month_day = extract("month", day).cast(Integer) * 100 + extract("day", day).cast(Integer)
    birthday = extract("month", birth).cast(Integer) * 100 + extract("day", birth).cast(Integer)
    return year_of(day) - year_of(birth) - case((month_day < birthday, 1), else_=0)


# Breakdowns case outcomes cannot have: a case is shared by several organisations, of several kinds.
OUTCOMES_NOT_BY = ("organisation_kind",)


def case_outcomes(session: Session, query: StatsQuery, settings: Settings) -> dict[tuple, dict]:
    """Offered, accepted and declined SIPs (by request date) and follow-ups due and held by their date."""
    out: dict[tuple, dict] = defaultdict(
        lambda: {"offered": 0, "accepted": 0, "declined": 0, "follow_ups_due": 0, "follow_ups_on_time": 0}
    )
    offered, due, keys = case_outcome_queries(query, settings)
    for record in session.execute(offered).mappings():
        row = out[tuple(record[key] for key in keys)]
        for key in ("offered", "accepted", "declined"):
            row[key] = int(record[key] or 0)
    for record in session.execute(due).mappings():
        row = out[tuple(record[key] for key in keys)]
        row["follow_ups_due"] = int(record["due"] or 0)
        row["follow_ups_on_time"] = int(record["on_time"] or 0)
    return out


def _midnight(day: date) -> datetime:
    """The instant a Swedish calendar day begins (a period's days are Swedish ones), in UTC."""
    return datetime.combine(day, time(0), tzinfo=STOCKHOLM).astimezone(UTC)


def attendance_query(query: StatsQuery, settings: Settings):
    """The statement behind `attendance_by_organisation_kind` and its period columns (for the plan test)."""
    # The SIP meetings the meeting indicators count (the code filter too), each in its compared period.
    inner, names = _sip_meetings(replace(query, by=()), settings, per_organisation_kind=False)
    a, pt, o, m = (
        Attendance.__table__.c,
        Participant.__table__.c,
        Organisation.__table__.c,
        Meeting.__table__.c,
    )
    periods = [inner.c[f"d_{name}"] for name in names]
    statement = (
        select(*periods, o.kind, a.mode, func.count().label("n"))
        .select_from(
            inner.join(Meeting.__table__, m.id == inner.c.meeting_id)
            .join(Attendance.__table__, a.meeting_id == inner.c.meeting_id)
            .join(Participant.__table__, pt.id == a.participant_id)
            .join(Organisation.__table__, o.id == pt.organisation_id)
        )
        .where(m.status == HELD, pt.kind == "organisation")
        .group_by(*periods, o.kind, a.mode)
        .order_by(*periods, o.kind, a.mode)
    )
    return statement, names


def attendance_by_organisation_kind(session: Session, query: StatsQuery, settings: Settings) -> list[dict]:
    """How each organisation type took part in the period's SIP meetings: on site, video, phone, absent."""
    statement, names = attendance_query(query, settings)
    by_key: dict[tuple, dict] = {}
    for record in session.execute(statement):
        *period, kind, mode, n = record
        key = (*period, kind)
        row = by_key.setdefault(
            key,
            dict(zip(names, period, strict=True))
            | {"organisation_kind": kind, "on_site": 0, "video": 0, "phone": 0, "absent": 0},
        )
        row[mode] = int(n)
    rows = []
    for row in by_key.values():
        row["invited"] = row["on_site"] + row["video"] + row["phone"] + row["absent"]
        row["attended"] = row["invited"] - row["absent"]
        row["attended_share"] = percent(row["attended"], row["invited"])
        row["absent_share"] = percent(row["absent"], row["invited"])
        rows.append(row)
    return rows


# --- The answer ------------------------------------------------------------------------------------------


# The lead times measured. No maximum (or minimum) is shown: it is one person's value, whatever the group.
LEAD_MEASURES = ("request_to_first", "utskrivningsklar_to_kallelse", "plan_to_follow_up")


def _lead_row(days: list[int]) -> dict:
    if not days:
        return {"n": 0, "median": None}
    return {"n": len(days), "median": _median(days)}


def _median(days: list[int]) -> int | float:
    """The median of whole days: a whole number as an int (26, not 26.0), else a half as a float (22.5).

    The outputs show an int as it is and a float with one decimal, so a column reads "26" and "22,5".
    """
    middle = statistics.median(days)
    return int(middle) if middle == int(middle) else float(middle)


# How many steps `indicators` reports to its progress callback (one per indicator group): a bar's length.
PROGRESS_STEPS = 5


def indicators(session: Session, query: StatsQuery, settings: Settings, progress=None) -> dict:
    """Every indicator table, labelled and through disclosure control: what every page and export shows."""
    labeller = _Labeller(session, settings, query)

    def tick() -> None:
        if progress is not None:
            progress(1)

    dim_names = (["period"] if query.compare_years else []) + list(query.by)

    rows, _ = meeting_indicators(session, query, settings)
    tick()
    total_rows, _ = meeting_indicators(session, query, settings, by=())
    tick()
    rows = [_with_shares(row) for row in rows]
    # Persons are distinct over the whole period, so a total is counted, not summed: one per period compared.
    totals = {row.get("period"): _with_shares(row) for row in total_rows}
    chosen = query.end.year if query.compare_years else None
    coarser = {}
    for period in [start_end[1].year for start_end in query.periods()] if query.compare_years else [None]:
        # Compared, each period's rows are protected as that period asked for alone (its total published
        # there), so the compared table hides what the period's own table hides.
        period_total = totals.get(period) or _with_shares(dict.fromkeys(MEETING_COUNTS + EXTRA_COUNTS, 0))
        protected = _protect_meetings(
            [row for row in rows if row.get("period") == period], period_total, query.by, settings
        )
        if period == chosen:
            coarser, total = protected, period_total
    if query.compare_years:
        total = None
    frame = frame_of(session, query)
    meeting_table = _laid_out(
        "meetings",
        _l("SIP meetings"),
        dim_names,
        meeting_columns(query.by),
        _fill(rows, dim_names, frame, _no_meetings),
        total,
        labeller,
    )
    notes = []
    if "organisation_kind" in query.by:
        # Counted from the code records: a kind is a row only where its health care coded the SIP, so a
        # school or the social services taking part would read as no SIP of theirs without this.
        notes.append(CODED_BY_KIND_NOTE)
    if query.by and total is not None:
        # Persons are distinct per row and over the whole period in the total: summed, the rows of two
        # quarters (or of two municipalities, after a move) count a person twice, the total once.
        notes.append(PERSONS_TOTAL_NOTE)
    meeting_table["note"] = " ".join(str(note) for note in notes) or None
    charts = [
        _chart(session, query, settings, name, title, coarser, totals.get(chosen), labeller, frame)
        for name, title in CHARTS
        if name in query.by
    ]

    histograms = lead_time_histograms(session, query, settings)
    tick()
    keys = sorted(
        {key for groups in histograms.values() for key in groups}, key=lambda k: tuple(str(v) for v in k)
    )
    lead_rows = []
    for key in keys:
        row = dict(zip([n for n in dim_names], key, strict=True))
        for measure, groups in histograms.items():
            group = groups.get(key, {"days": [], "within": 0})
            stats = _lead_row(group["days"])
            row[f"{measure}_n"] = stats["n"]
            row[f"{measure}_median"] = stats["median"]
            if measure == "utskrivningsklar_to_kallelse":
                row["kallelse_within"] = group["within"]
                row["kallelse_within_share"] = percent(group["within"], stats["n"])
        lead_rows.append(row)
    lead_table = _table(
        "lead_times",
        _l("Lead times"),
        dim_names,
        LEAD_COLUMNS,
        lead_rows,
        None,
        labeller,
        settings,
        filled=lambda protected: _fill(protected, dim_names, frame, _no_lead_times),
        counts=(
            "request_to_first_n",
            "utskrivningsklar_to_kallelse_n",
            "plan_to_follow_up_n",
            "kallelse_within",
        ),
        shares={"kallelse_within_share": ("kallelse_within", "utskrivningsklar_to_kallelse_n")},
        small_sample={f"{measure}_median": f"{measure}_n" for measure in LEAD_MEASURES},
        # The same first and follow-up meetings as the SIP meeting table: hidden where it hides them.
        linked=linked_cells(
            lead_rows, rows, dim_names, {"request_to_first_n": "first", "plan_to_follow_up_n": "follow_up"}
        ),
        # The lead times of a row of "<5" persons are theirs: nothing of the row is shown.
        withheld_rows=withheld_where_small(lead_rows, rows, dim_names, "persons", settings.threshold),
        populations={"utskrivningsklar_to_kallelse_n": ("kallelse_within", "kallelse_within_share")},
    )

    outcome_query = replace(query, by=tuple(name for name in query.by if name not in OUTCOMES_NOT_BY))
    outcome_dims = (["period"] if query.compare_years else []) + list(outcome_query.by)
    outcomes = case_outcomes(session, outcome_query, settings)
    tick()
    outcome_rows = []
    for key in sorted(outcomes, key=lambda k: tuple(str(v) for v in k)):
        outcome_rows.append(_outcome_shares(dict(zip(outcome_dims, key, strict=True)) | outcomes[key]))
    outcome_total = _protect_outcomes(outcome_rows, outcome_query, settings)
    outcome_table = _laid_out(
        "outcomes",
        _l("Offered SIPs and follow-ups"),
        outcome_dims,
        OUTCOME_COLUMNS,
        _fill(outcome_rows, outcome_dims, frame, _no_outcomes),
        outcome_total,
        labeller,
    )
    notes = []
    not_by = [name for name in query.by if name in OUTCOMES_NOT_BY]
    if not_by:
        notes.append(
            _l(
                "Not broken down by %(names)s: a case is shared by several organisations.",
                names=", ".join(str(BREAKDOWN_LABELS[name]).lower() for name in not_by),
            )
        )
    if query.code:
        notes.append(
            _l(
                "Not limited to SIP code %(code)s: a SIP is coded when its meeting is held, after it was "
                "offered, and a follow-up due may not have been held yet.",
                code=query.code,
            )
        )
    due_through = follow_ups_due_through(query)
    if due_through is not None:
        notes.append(
            _l(
                "Follow-ups due are counted up to and including today, %(today)s: a follow-up falling due "
                "later in the period is not due yet.",
                today=due_through.isoformat(),
            )
        )
    if notes:
        outcome_table["note"] = " ".join(str(note) for note in notes)

    attendance_rows = attendance_by_organisation_kind(session, query, settings)
    tick()
    attendance_counts = ("on_site", "video", "phone", "absent", "invited", "attended")
    attendance_total = None
    if not query.compare_years:
        # Compared, each period is a row group of its own, as in the SIP meeting table: no sum over years.
        attendance_total = {k: sum(r[k] for r in attendance_rows) for k in attendance_counts}
        invited = attendance_total["invited"]
        attendance_total["attended_share"] = percent(attendance_total["attended"], invited)
        attendance_total["absent_share"] = percent(attendance_total["absent"], invited)
    attendance_dims = (["period"] if query.compare_years else []) + ["organisation_kind"]
    period_totals = list(totals.values())
    small = withheld_where_small(period_totals, period_totals, ["period"], "persons", settings.threshold)
    small_periods = {period_totals[index].get("period") for index in small}
    attendance_table = _table(
        "attendance",
        _l("Attendance per organisation type"),
        attendance_dims,
        ATTENDANCE_COLUMNS,
        attendance_rows,
        attendance_total,
        labeller,
        settings,
        filled=lambda protected: _every_kind_where_small(
            _fill(protected, attendance_dims, frame, _no_attendance), small_periods, settings.threshold
        ),
        counts=attendance_counts,
        # The attendance at the SIPs of a period of "<5" persons is theirs: nothing of it is shown.
        withheld_rows=withheld_where_small(
            [*attendance_rows, *([attendance_total] if attendance_total is not None else [])],
            period_totals,
            ["period"] if query.compare_years else [],
            "persons",
            settings.threshold,
        ),
        populations={"invited": (ALL,)},
        sums={"invited": ("on_site", "video", "phone", "absent"), "attended": ("on_site", "video", "phone")},
        # Invited minus attended is the absent column: hidden there, neither share may give it back.
        shares={
            "attended_share": ("attended", "invited", "absent"),
            "absent_share": ("absent", "invited", "attended"),
        },
    )
    tables = [meeting_table, lead_table, outcome_table, attendance_table]
    _note_partial_counties(tables, labeller)
    return {
        "query": query.as_dict(),
        "suppression_threshold": settings.threshold,
        # The last day follow-ups due are counted to when the period reaches past today (ISO), else None.
        "follow_ups_due_through": due_through.isoformat() if due_through is not None else None,
        "tables": tables,
        "charts": charts,
    }


# Why the SIP meeting table's total of persons is less than the sum of its rows (a table with a breakdown).
PERSONS_TOTAL_NOTE = _l(
    "The total counts each person once in the whole period, a row once in that row: a person with SIPs in "
    "two quarters, or in two municipalities after a move, is in two rows, so the total of persons can be "
    "less than the sum of the rows."
)

# What a SIP meeting row per organisation type counts (the meeting table's note by that breakdown).
CODED_BY_KIND_NOTE = _l(
    "By organisation type, a SIP counts for each type whose health care units recorded a SIP code (KVÅ) "
    "at the meeting; who else took part, a school or the social services, is in the table Attendance per "
    "organisation type."
)

CHARTS = (
    ("municipality", _l("Number of SIPs per municipality")),
    ("quarter", _l("Number of SIPs per quarter")),
)


MEETING_RULES = {
    "counts": MEETING_COUNTS + EXTRA_COUNTS,
    # Persons are distinct per row: a coarser row's persons are no sum of the finer rows'.
    "additive": tuple(column for column in MEETING_COUNTS + EXTRA_COUNTS if column != "persons"),
    "sums": {"sips": ("first", "follow_up")},
    "shares": {
        "digital_share": ("digital", "classified"),
        "narstaende_share": ("narstaende", "sips"),
        "person_present_share": ("person_present", "sips"),
    },
    # By organisation kind a meeting is in a row per kind taking part: no sum over kinds.
    "overlapping": ("organisation_kind",),
    # A row of "<5" persons shows nothing else about them: not their SIPs, not that none was by video.
    "populations": {"persons": (ALL,)},
    # Each person counted had a SIP in the row: a row's SIPs are at least its persons ("<5" persons, 1 SIP
    # or more; a reader subtracts that much from a total).
    "floors": {"sips": "persons"},
}


def _protect_meetings(rows, total, by, settings: Settings) -> dict[tuple[str, ...], list[dict]]:
    """One period's SIP meeting rows and total through disclosure control, with every coarser breakdown."""
    return suppress_breakdown(rows, total, tuple(by), threshold=settings.threshold, **MEETING_RULES)


OUTCOME_COUNTS = ("offered", "accepted", "declined", "follow_ups_due", "follow_ups_on_time")
OUTCOME_RULES = {
    "counts": OUTCOME_COUNTS,
    "additive": OUTCOME_COUNTS,
    "sums": {"offered": ("accepted", "declined", "undecided")},
    "shares": {
        "accepted_share": ("accepted", "offered"),
        "follow_ups_on_time_share": ("follow_ups_on_time", "follow_ups_due"),
    },
    # "<5" offered, "0 declined" would say none of them declined: hidden; likewise follow-ups held.
    "populations": {
        "offered": ("accepted", "declined", "accepted_share"),
        "follow_ups_due": ("follow_ups_on_time", "follow_ups_on_time_share"),
    },
}


def _protect_outcomes(rows: list[dict], query: StatsQuery, settings: Settings) -> dict:
    """The outcome rows through disclosure control, each period as asked for alone; their total.

    A case is in one row, so a period's total is the sum of its rows. Compared, the total adds the
    periods up: it is hidden wherever a period's own total hides a count, which it would give back.
    """
    periods = [end.year for _, end in query.periods()] if query.compare_years else [None]
    period_totals = []
    for period in periods:
        block = [row for row in rows if row.get("period") == period]
        whole = _outcome_shares({name: sum(row[name] for row in block) for name in OUTCOME_COUNTS})
        real = dict(whole)
        suppress_breakdown(block, whole, tuple(query.by), threshold=settings.threshold, **OUTCOME_RULES)
        period_totals.append((real, whole))
    if not query.compare_years:
        return period_totals[0][1]
    total = _outcome_shares({name: sum(real[name] for real, _ in period_totals) for name in OUTCOME_COUNTS})
    hidden = {
        (0, name)
        for _, whole in period_totals
        for name in OUTCOME_COUNTS
        if isinstance(whole[name], Suppressed)
    }
    rules = {key: value for key, value in OUTCOME_RULES.items() if key != "additive"}
    suppress_table([], total, threshold=settings.threshold, linked=hidden, **rules)
    return total


def _chart(
    session, query: StatsQuery, settings: Settings, name, title, coarser, total, labeller, frame: Frame
) -> dict:
    """SIPs per municipality or quarter in the period chosen: the SIP meeting table by that alone shows.

    Its bars are that table's protected cells (hidden where it hides them), never counted again: taken
    from the coarser tables protected with this one, or, by organisation kind (a meeting in a row per
    kind: no sum), counted by that breakdown alone and protected as that table asked for alone. Compared
    with earlier years, the chart is of the period chosen and its title says so.
    """
    if (name,) in coarser:
        bars = coarser[(name,)]
    else:
        chosen = replace(query, compare_years=0)
        bars, _ = meeting_indicators(session, chosen, settings, by=(name,))
        bars = [_with_shares(row) for row in bars]
        whole = dict(total) if total else _with_shares(dict.fromkeys(MEETING_COUNTS + EXTRA_COUNTS, 0))
        bars = _protect_meetings(bars, whole, (name,), settings)[(name,)]
    # Every quarter (municipality) of the period chosen, 0 where none was held: a trend joins no gap.
    chosen_frame = replace(frame, periods=((None, query.start, query.end),))
    bars = _fill(list(bars), (name,), chosen_frame, _no_meetings)
    if query.compare_years:
        title = _l(
            "%(title)s, %(start)s to %(end)s",
            title=title,
            start=query.start.isoformat(),
            end=query.end.isoformat(),
        )
    return {
        "key": name,
        "title": str(title),
        # What a chart's table heads its two columns with (the report and the workbook give it as one).
        "columns": [
            {"key": name, "label": str(BREAKDOWN_LABELS[name])},
            {"key": "sips", "label": str(dict(MEETING_COLUMNS)["sips"])},
        ],
        "points": [(labeller.label(name, bar[name]), plain(bar["sips"])) for bar in bars],
    }


def _every_kind_where_small(rows: list[dict], small_periods: set, threshold: int) -> list[dict]:
    """The attendance rows, every organisation type listed in each period of "<5" persons, each value
    withheld: which types a small group's SIPs had (a row) or had not (none, or a row of zeros the other
    periods add) is a fact about every one of those persons."""
    hidden = dict.fromkeys(_no_attendance(), Suppressed(threshold, withheld=True))
    out = [row | hidden if row.get("period") in small_periods else row for row in rows]
    for period in small_periods:
        listed = {row["organisation_kind"] for row in out if row.get("period") == period}
        key = {"period": period} if period is not None else {}
        out += [
            key | {"organisation_kind": kind} | hidden
            for kind in ORGANISATION_KIND_LABELS
            if kind not in listed
        ]
    return sorted(out, key=lambda row: (str(row.get("period")), str(row["organisation_kind"])))


def _no_meetings() -> dict:
    return _with_shares(dict.fromkeys(MEETING_COUNTS + EXTRA_COUNTS, 0))


def _no_outcomes() -> dict:
    return _outcome_shares(dict.fromkeys(OUTCOME_COUNTS, 0))


def _no_lead_times() -> dict:
    row = {"kallelse_within": 0, "kallelse_within_share": None}
    for measure in LEAD_MEASURES:
        row |= {f"{measure}_n": 0, f"{measure}_median": None}
    return row


def _no_attendance() -> dict:
    row = dict.fromkeys(("on_site", "video", "phone", "absent", "invited", "attended"), 0)
    return row | {"attended_share": None, "absent_share": None}


def _outcome_shares(row: dict) -> dict:
    row["accepted_share"] = percent(row["accepted"], row["offered"])
    row["follow_ups_on_time_share"] = percent(row["follow_ups_on_time"], row["follow_ups_due"])
    return row


# The lead times count Swedish calendar days (sql.days_between), and their labels say so: a discharge kallelse
# extended over Easter is within its deadline at 6 days, which read as working days would seem missed.
LEAD_COLUMNS = (
    ("request_to_first_n", _l("First meetings")),
    ("request_to_first_median", _l("Request to first meeting, median (calendar days)")),
    ("utskrivningsklar_to_kallelse_n", _l("Discharge SIPs with a notice of meeting")),
    (
        "utskrivningsklar_to_kallelse_median",
        _l("Ready for discharge to notice of meeting, median (calendar days)"),
    ),
    ("kallelse_within", _l("Notice of meeting within the deadline")),
    ("kallelse_within_share", _l("Share of notices of meeting within the deadline (%)")),
    ("plan_to_follow_up_n", _l("Follow-up meetings")),
    ("plan_to_follow_up_median", _l("Plan to follow-up, median (calendar days)")),
)
OUTCOME_COLUMNS = (
    ("offered", _l("SIPs offered")),
    ("accepted", _l("SIPs accepted")),
    ("declined", _l("SIPs declined")),
    ("accepted_share", _l("Share of offered SIPs accepted (%)")),
    # Every follow-up whose day has come, held or not: not the Att göra page's follow-ups still to do.
    ("follow_ups_due", _lp("statistics", "Follow-ups due")),
    ("follow_ups_on_time", _l("Follow-ups held by their date")),
    ("follow_ups_on_time_share", _l("Share of follow-ups held by their date (%)")),
)
ATTENDANCE_COLUMNS = (
    ("on_site", _l("On site")),
    ("video", _l("Video")),
    ("phone", _l("Phone")),
    ("absent", _l("Absent")),
    # Every organisation whose attendance the meeting recorded, absent ones too: called to the meeting.
    ("invited", _l("Invited to the SIP meeting")),
    ("attended_share", _l("Share attended (%)")),
    ("absent_share", _l("Share absent (%)")),
)


# The label column of a table without breakdown: its one row, the total, says "Total" there.
TOTAL_LABEL_KEY = "breakdown"
# The columns that say what a row is (its breakdown values, or "Total"): a page heads each row with them.
LABEL_COLUMNS = frozenset(BREAKDOWN_LABELS) | {TOTAL_LABEL_KEY}


class _Labeller:
    """Turns breakdown values (codes) into the words a reader sees."""

    def __init__(self, session: Session, settings: Settings, query: StatsQuery | None = None):
        rows = session.execute(select(Municipality.code, Municipality.name, Municipality.county_code)).all()
        self.municipalities = {code: name for code, name, _ in rows}
        self.counties = dict(session.execute(select(County.code, County.name)).all())
        self.settings = settings
        self.partial = _partial_counties(rows, query) if query is not None and "county" in query.by else {}
        # A compared period's rows carry the year it ends in (a key: the periods never share one).
        periods = query.periods() if query is not None else []
        self.periods = {end.year: period_label(start, end) for start, end in periods}
        self.part_quarters = _part_quarters(periods)
        self.part_years = _part_years(periods)
        # A period reaching past today is counted up to today: the compared period, the year and the
        # quarter today falls in say so, so this year so far does not read as a whole year beside the last.
        self.through = (
            follow_ups_due_through(query) if query is not None and query.start <= query.today else None
        )
        self.chosen_end = query.end if query is not None else None

    def label(self, name: str, value) -> str:
        if value is None or value == NOT_APPLICABLE:
            return NOT_APPLICABLE
        if name == "municipality":
            return self.municipalities.get(value, value)
        if name == "county":
            county = self.counties.get(value, value)
            if value in self.partial:
                # Counted over some of its municipalities only: the CSV's row says so too, without the note.
                return str(_l("%(county)s (part)", county=county))
            return county
        if name == "period":
            return self._so_far(self.periods.get(value, str(value)), value == self._today_in("period"))
        if name == "quarter":
            # "2026 Q1"; Swedish "2026 K1" (kvartal).
            quarter = str(_l("%(year)s Q%(quarter)s", year=int(value) // 10, quarter=int(value) % 10))
            if int(value) == self._today_in("quarter"):
                return self._so_far(quarter, True)
            if int(value) in self.part_quarters:
                # A period from February counts only February and March of its first quarter: said so.
                return str(_l("%(period)s (part)", period=quarter))
            return quarter
        if name == "year" and int(value) == self._today_in("year"):
            return self._so_far(str(value), True)
        if name == "year" and int(value) in self.part_years:
            # A period from July counts only July to December of its first year: said so, as of a quarter.
            return str(_l("%(period)s (part)", period=str(value)))
        if name == "sex":
            return str(SEX_LABELS.get(value, SEX_LABELS["unknown"]))
        if name == "age_band" and value == AGE_UNKNOWN:
            return str(_l("Age unknown"))
        if name == "occasion":
            return str(self.settings.occasion_labels.get(value, value))
        if name == "organisation_kind":
            return str(ORGANISATION_KIND_LABELS.get(value, value))
        return str(value)

    def _today_in(self, name: str) -> int | None:
        """The key of the compared period, year or quarter today falls in, when the period asked for reaches
        past today (it is counted up to today only); else None."""
        if self.through is None:
            return None
        day = self.through
        if name == "period":  # a compared period is keyed by the year it ends in: the one asked for
            return self.chosen_end.year
        return day.year * 10 + (day.month - 1) // 3 + 1 if name == "quarter" else day.year

    def _so_far(self, label: str, counted_so_far: bool) -> str:
        """The label of a period counted only up to and including today, saying that day."""
        if not counted_so_far:
            return label
        return str(_l("%(period)s (up to %(today)s)", period=label, today=self.through.isoformat()))


def _counted_in_part(periods: list[tuple[date, date]], months: int, key) -> set[int]:
    """The spans of months months (a quarter: 3, a year: 12), each named by key(a day of it), that the
    periods count only some months of: the first and the last of a period that does not begin and end with
    one."""
    part = set()
    for start, end in periods:
        if (start.month - 1) % months:
            part.add(key(start))
        if end.month % months:
            part.add(key(end))
    return part


def _part_quarters(periods: list[tuple[date, date]]) -> set[int]:
    """The quarters (20261: 2026 Q1) the periods count only some months of."""
    return _counted_in_part(periods, 3, lambda day: day.year * 10 + (day.month - 1) // 3 + 1)


def _part_years(periods: list[tuple[date, date]]) -> set[int]:
    """The years the periods count only some months of (a period from July: its first year)."""
    return _counted_in_part(periods, 12, lambda day: day.year)


def _partial_counties(municipalities, query: StatsQuery) -> dict[str, list[str]]:
    """The counties the area asked for covers only in part, each with the names of its municipalities counted.

    A municipality chosen, or a coordinator's scope of single municipalities (without their whole county),
    makes a county row the sum of those municipalities alone, not the county's figure.
    """
    if query.municipality:
        chosen = {query.municipality}
    elif query.county or query.scope is None:
        return {}
    else:
        chosen = set(query.scope.municipalities)
    whole = set() if query.municipality else set(query.scope.counties)
    counted: dict[str, list[str]] = defaultdict(list)
    sizes: dict[str, int] = defaultdict(int)
    for code, name, county in municipalities:
        sizes[county] += 1
        if county not in whole and code in chosen:
            counted[county].append(name)
    # Gotland is one municipality: chosen alone, it is the whole county still.
    return {county: sorted(names) for county, names in counted.items() if len(names) < sizes[county]}


def _note_partial_counties(tables: list[dict], labeller: _Labeller) -> None:
    """Each table by county says which municipalities a county row marked "(part)" counts."""
    if not labeller.partial:
        return
    counted = "; ".join(
        str(
            _l(
                "%(county)s: %(municipalities)s",
                county=labeller.counties.get(code, code),
                municipalities=", ".join(names),
            )
        )
        for code, names in sorted(labeller.partial.items())
    )
    note = str(
        _l(
            "A county marked (part) counts only the municipalities chosen or followed in it, not the whole "
            "county: %(counted)s.",
            counted=counted,
        )
    )
    for table in tables:
        if any(column["key"] == "county" for column in table["columns"]):
            table["note"] = f"{table['note']} {note}" if table["note"] else note


def _table(key, title, dim_names, columns, rows, total, labeller, settings, *, filled=None, **rules):
    # rules: counts, shares, small_sample, sums, linked, as suppress_table takes them; filled: the rows as
    # shown, given the protected rows (`_fill`).
    suppress_table(rows, total, threshold=settings.threshold, **rules)
    if filled is not None:
        rows = filled(rows)
    return _laid_out(key, title, dim_names, columns, rows, total, labeller)


def _laid_out(key, title, dim_names, columns, rows, total, labeller) -> dict:
    """A table already through disclosure control, labelled for pages and exports."""
    if not dim_names:
        # No breakdown: the one row is the total (the same numbers), shown once and labelled as such.
        if total is None and rows:
            total = rows[0]
        rows = []
    header = [{"key": name, "label": str(BREAKDOWN_LABELS[name])} for name in dim_names]
    if not dim_names:
        header.insert(0, {"key": TOTAL_LABEL_KEY, "label": str(_l("Breakdown"))})
    header += [{"key": name, "label": str(label)} for name, label in columns]
    shown = [name for name, _ in columns]
    out_rows = []
    for row in rows:
        cells = {name: labeller.label(name, row.get(name)) for name in dim_names}
        cells |= {name: plain(row.get(name)) for name in shown}
        out_rows.append(cells)
    out_total = None
    if total is not None:
        out_total = {name: "" for name in dim_names} | {name: plain(total.get(name)) for name in shown}
        out_total[dim_names[0] if dim_names else TOTAL_LABEL_KEY] = str(_l("Total"))
    return {
        "key": key,
        "title": str(title),
        "columns": header,
        "rows": out_rows,
        "total": out_total,
        "note": None,
    }
