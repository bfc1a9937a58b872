"""The coordinator's dashboard, its exports (CSV, XLSX, PDF) and the JSON endpoint: the same numbers."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from sipflow.clock import local_today, now_utc
from sipflow.coding.models import CodeDefinition, code_label
from sipflow.db import get_session
from sipflow.errors import UserError
from sipflow.people.models import County, Municipality
from sipflow.security import login_manager
from sipflow.stats import exports
from sipflow.stats.services import (
    BREAKDOWN_LABELS,
    BREAKDOWNS,
    FILTERS,
    LABEL_COLUMNS,
    PERIOD_PRESETS,
    Scope,
    StatsQuery,
    check_period_day,
    indicators,
    month_of,
    parse_date,
    parse_query,
    preset_period,
    scope_of,
    settings_from,
    single_values,
    sip_codes,
)
from sipflow.translated import lazy_gettext as _l
from sipflow.web import current_locale, json_error, register_json_address, workflow_registry

bp = Blueprint("stats", __name__, url_prefix="/statistik")
COORDINATOR = "coordinator"
DEFAULT_BY = "municipality,quarter"


def _json_route() -> bool:
    """Whether the request is for one of the statistics' JSON addresses, which answer errors as JSON too."""
    return request.path.startswith(bp.url_prefix + "/") and request.path.endswith(".json")


@bp.before_request
def _coordinators_only():
    """The statistics are for coordinators; anyone else logged in gets 403 (JSON: 401 when not logged in)."""
    if not current_user.is_authenticated:
        if _json_route():
            return json_error(401, "unauthorised", login_manager.login_message)
        return login_manager.unauthorized()
    if not current_user.has_role(COORDINATOR):
        if _json_route():
            return json_error(403, "not_allowed", _l("This page is for coordinators."))
        return render_template("errors/forbidden.html", message=_l("This page is for coordinators.")), 403
    return None


@bp.app_template_filter("stat_cell")
def stat_cell(value) -> str:
    """A table cell in the page's language (a share with a decimal comma in Swedish)."""
    return exports.shown(value)


# Another method than GET on a JSON address is refused as JSON by the app's 405 page (sipflow.web).
bp.record_once(lambda state: register_json_address(state.app, _json_route, json_error))


def _this_year() -> tuple[str, str]:
    """This year's whole months up to and including this one (a period is whole months)."""
    start, end = preset_period("this_year", local_today())
    return start.isoformat(), end.isoformat()


def _period_links(args: dict) -> list[dict]:
    """The preset periods as links to the page with the other filters kept; the one shown is current."""
    today, links = local_today(), []
    kept = {name: value for name, value in args.items() if value and name not in ("from", "to")}
    for key, label in PERIOD_PRESETS:
        start, end = (day.isoformat() for day in preset_period(key, today))
        links.append(
            {
                "label": label,
                "url": url_for("stats.dashboard", **kept, **{"from": start, "to": end}),
                "current": (args["from"], args["to"]) == (start, end),
            }
        )
    return links


def _month_around(text: str) -> tuple[str, str]:
    """The whole month of a date typed (checked), standing in for a period a refused date left unknown."""
    first, last = month_of(date.fromisoformat(text))
    return first.isoformat(), last.isoformat()


def _scope() -> Scope:
    """The counties and municipalities the logged-in coordinator follows (read once per request)."""
    if "stats_scope" not in g:
        g.stats_scope = scope_of(get_session(), current_user)
    return g.stats_scope


def _given() -> tuple[dict, dict[str, UserError]]:
    """Each filter's value in the address (the first of a repeated one) and the refusal of each repeated."""
    return single_values({name: request.args.getlist(name) for name in FILTERS})


def _args() -> dict:
    """The filters as typed, whole (what is checked); defaults: this year so far, everything followed."""
    start, end = _this_year()
    given, _repeated = _given()
    defaults = {"from": start, "to": end, "by": DEFAULT_BY, "compare_years": "0"}
    return {name: given[name] if given[name] is not None else defaults.get(name, "") for name in FILTERS}


# How much of each filter as typed the page shows again in its field. Only the page's echo is cut: the
# value checked is the whole one, so "1   7" years or "07" followed by spaces and more is refused, not
# read as the first characters (1 year, county 07).
_ECHOED = {"from": 20, "to": 20, "county": 10, "municipality": 10, "by": 200, "compare_years": 4}


def _echoed(args: dict) -> dict:
    """The filters as the page shows them again in its fields."""
    return {name: value[: _ECHOED.get(name, 20)] for name, value in args.items()}


def _refuse_repeated() -> None:
    """Raise the refusal of the first filter the address gives more than once."""
    repeated = _given()[1]
    if repeated:
        raise next(iter(repeated.values()))


def _query(args: dict) -> StatsQuery:
    """The filter as typed, checked (a UserError naming the first field refused)."""
    return parse_query(
        get_session(),
        start=args["from"],
        end=args["to"],
        county=args["county"],
        municipality=args["municipality"],
        by=args["by"],
        compare_years=args["compare_years"],
        code=args["code"],
        scope=_scope(),
    )


def _answer(args: dict, query: StatsQuery | None = None) -> dict:
    """The indicators of the filter (query: args already checked)."""
    if query is None:
        _refuse_repeated()
    settings = settings_from(current_app.config, workflow_registry(), current_locale())
    return indicators(get_session(), query or _query(args), settings)


# What stands in for a refused field while the others are checked: nothing chosen, no earlier years.
_NEUTRAL = {"county": "", "municipality": "", "by": "", "compare_years": "0", "code": ""}
_DATES = ("from", "to")


def _checked(args: dict) -> tuple[StatsQuery | None, dict[str, UserError]]:
    """The query of a good filter, or every field's refusal by field, to show each beside its field.

    parse_query stops at the first refusal: each refused field is put aside for a neutral value and the
    filter checked again. A refused date (its form, or a day that begins or ends no month) leaves the
    period unknown, so the other date's month (if good) stands for it and nothing is said about the
    period's order or length.
    """
    # A filter given more than once is refused as any other: its first value stands in for the others' checks.
    refusals: dict[str, UserError] = dict(_given()[1])
    trial = dict(args)
    for name in refusals:
        if name not in _DATES:
            trial[name] = _NEUTRAL.get(name, "")
    good = []
    for name in _DATES:
        if name in refusals:
            continue
        try:
            day = parse_date(args[name], name)
            check_period_day(day, name)
        except UserError as error:
            refusals[name] = error
        else:
            good.append(day.isoformat())
    if any(name in refusals for name in _DATES):
        trial["from"], trial["to"] = _month_around(good[0] if good else _this_year()[1])
    for _attempt in range(len(args) + 1):
        try:
            query = _query(trial)
        except UserError as error:
            field = error.field or "from"
            if field in refusals:
                break
            refusals[field] = error
            if field in _DATES:
                trial["from"], trial["to"] = _month_around(_this_year()[1])
            else:
                trial[field] = _NEUTRAL.get(field, "")
        else:
            return (None if refusals else query), refusals
    return None, refusals


def _choices() -> dict:
    """The filter's options; a coordinator with a scope is offered only the areas inside it."""
    session = get_session()
    scope = _scope()
    counties = session.execute(select(County.code, County.name).order_by(County.name)).all()
    municipalities = session.execute(
        select(Municipality.code, Municipality.name, Municipality.county_code).order_by(Municipality.name)
    ).all()
    if scope.restricted:
        counties = [row for row in counties if row.code in scope.counties]
        municipalities = [
            row
            for row in municipalities
            if row.code in scope.municipalities or row.county_code in scope.counties
        ]
    return {
        "scoped": scope.restricted,
        "codes": [(code, code_label(label)) for code, label in sip_codes(session)],
        "counties": counties,
        "municipalities": municipalities,
        "breakdowns": [("", _l("No breakdown"))]
        + [(name, BREAKDOWN_LABELS[name]) for name in BREAKDOWNS]
        + [
            ("municipality,quarter", _l("Municipality and quarter")),
            ("county,quarter", _l("County and quarter")),
            ("sex,age_band", _l("Sex and age band")),
        ],
    }


def _charts(answer: dict) -> list[dict]:
    """The answer's charts (bars per municipality, the trend per quarter) drawn as SVG; a chart with nothing
    to draw (no SIP in the period: no point, or every point 0) is not drawn (svg None): the page says so in
    its place. A hidden small number ("<5") is something to draw."""
    drawers = {"municipality": exports.bar_chart_svg, "quarter": exports.line_chart_svg}
    charts = []
    for chart in answer.get("charts", []):
        points = [tuple(point) for point in chart["points"]]
        svg = None
        if any(value not in (0, None) for _label, value in points):
            description = "; ".join(f"{label}: {value}" for label, value in points)
            svg = drawers[chart["key"]](chart["title"], description, points)
        charts.append({"svg": svg, "title": chart["title"], "points": points})
    return charts


@bp.get("/")
def dashboard():
    """The coordinator's start page: filters, indicator tables, charts and download links; a refused
    filter shows every field's refusal beside it, each field as typed."""
    args = _args()
    query, refusals = _checked(args)
    answer = _answer(args, query) if query else None
    return (
        render_template(
            "stats/dashboard.html",
            args=_echoed(args),
            period_links=_period_links(_echoed(args)),
            errors={field: str(error.message) for field, error in refusals.items()},
            answer=answer,
            charts=_charts(answer) if answer else [],
            query_string=request.query_string.decode("ascii", "replace"),
            label_columns=LABEL_COLUMNS,
            legend=exports.legend(current_app.config["STATS_SUPPRESSION_THRESHOLD"]),
            **_choices(),
        ),
        max((error.status for error in refusals.values()), default=200),
    )


@bp.get("/indikatorer.json")
def as_json():
    """The same numbers as JSON; a bad filter answers 400 with the field and the reason."""
    try:
        return jsonify(_answer(_args()))
    except UserError as error:
        return _refusal(error)


def _refusal(error: UserError):
    """A refused filter as JSON: 400 for a bad one, 403 for an area outside the coordinator's scope."""
    return json_error(error.status, error.code, error.message, field=error.field)


def _download(make, mimetype: str, filename, args: dict | None = None):
    """An export of the answer; filename is a name, or a function of the answer that gives one."""
    try:
        answer = _answer(args or _args())
    except UserError as error:
        return _refusal(error)
    if callable(filename):
        filename = filename(answer)
    return Response(
        make(answer),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@bp.get("/indikatorer.csv")
def as_csv():
    """The SIP meeting table as CSV."""
    return _download(exports.to_csv, "text/csv", _export_name("csv"))  # Flask adds the charset


@bp.get("/indikatorer.xlsx")
def as_xlsx():
    """Every indicator table as a sheet of an XLSX workbook, and a last sheet saying what it covers."""
    return _download(
        lambda answer: exports.to_xlsx(answer, _cover(answer), made_at=now_utc()),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _export_name("xlsx"),
    )


def _export_name(extension: str):
    """The file name of an export of an answer: its period, area and SIP code, as the report's."""

    def named(answer: dict) -> str:
        query = answer["query"]
        start, end = date.fromisoformat(query["from"]), date.fromisoformat(query["to"])
        return exports.report_filename(start, end, _area(query)[0], query["code"], extension)

    return named


@bp.get("/kvartalsrapport.pdf")
def quarterly_pdf():
    """The quarterly report as PDF: every table, by the breakdown asked for (as the page: by municipality
    and quarter unless told), with the same checks of the filter as every other export. Its heading, the
    lines under it and its file name say which area and SIP code it covers."""
    args = _args()

    def report(answer: dict) -> bytes:
        cover = _cover(answer)
        return exports.to_pdf(
            answer,
            heading=cover.heading,
            subtitle=cover.period,
            details=cover.details,
            made_at=now_utc(),
            notes=cover.notes,
        )

    return _download(report, "application/pdf", _export_name("pdf"), args)


def _cover(answer: dict) -> exports.Cover:
    """What an export of the answer covers, in the reader's language: the area and SIP code in its heading
    and the lines under it, the period, and what the marks of a hidden cell mean."""
    query = answer["query"]
    codes, names = _area(query)
    area = ", ".join(names)
    if query["code"]:
        heading = _("SIP statistics: %(area)s, SIP code %(code)s", area=area, code=query["code"])
        label = code_label(get_session().get(CodeDefinition, query["code"]).label)
        code_line = _("SIP code: %(code)s %(label)s", code=query["code"], label=label)
    else:
        heading = _("SIP statistics: %(area)s", area=area)
        code_line = _("SIP codes: all")
    places = ", ".join(f"{name} ({code})" for code, name in zip(codes, names, strict=True)) if codes else area
    return exports.Cover(
        heading=heading,
        details=(_("Area: %(area)s", area=places), code_line),
        period=_("Period: %(start)s – %(end)s", start=query["from"], end=query["to"]),
        notes=tuple(exports.legend(answer["suppression_threshold"])),
    )


def _area(query: dict) -> tuple[list[str], list[str]]:
    """The codes and names of the area a checked filter covers: the municipality or county chosen, else the
    counties and the municipalities (outside them) the coordinator follows, else every county (no code)."""
    session = get_session()
    if query["municipality"]:
        place = session.get(Municipality, query["municipality"])
        return [place.code], [place.name]
    if query["county"]:
        place = session.get(County, query["county"])
        return [place.code], [place.name]
    scope = _scope()
    if not scope.restricted:
        return [], [_("all counties")]
    counties = session.execute(
        select(County.code, County.name).where(County.code.in_(scope.counties)).order_by(County.code)
    ).all()
    municipalities = session.execute(
        select(Municipality.code, Municipality.name)
        .where(Municipality.code.in_(scope.municipalities), Municipality.county_code.not_in(scope.counties))
        .order_by(Municipality.code)
    ).all()
    rows = [*counties, *municipalities]
    return [row.code for row in rows], [row.name for row in rows]
