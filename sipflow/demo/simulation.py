"""What happens to a synthetic case over time, walked along its workflow file.

A case's next step is drawn among the transitions its workflow allows from the current state
(`workflow.transitions_from`): the one that moves the case on, or one that ends it in a final state. What a
step writes follows from the transition's `form`, its `effects` and its `parties`, and its deadlines from the
workflow's deadline rules through `cases.deadlines`, the functions the services use. No state, trigger or
occasion name appears here: what differs between workflows (the date a deadline counts from, whether a child
and its guardians or a school take part) is read from the file. Only the demo's persona mix (how often each
occasion comes, how old its persons are, which organisations usually take part) is keyed by occasion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sipflow.cases import deadlines
from sipflow.clock import first_working_day, local_to_utc, to_local
from sipflow.coding.rules import Catalogue, UnitFacts, age_on, codes_for_meeting
from sipflow.demo.bulkload import Ids, Rows, json_text, sqlite_datetime, unchanged
from sipflow.demo.population import FEMALE_NAMES, MALE_NAMES, Parties, Party, Population
from sipflow.i18n import DEFAULT_LOCALE
from sipflow.meetings.models import CANCELLED, FIRST, FOLLOW_UP, HELD, PLANNED
from sipflow.meetings.outcome import classify
from sipflow.people.identifiers import last_day_as_minor
from sipflow.plans.inputs import follow_up_due_at
from sipflow.plans.responsibility import is_huvudman
from sipflow.workflow.definition import CREATE_EVENT, TransitionDef, Workflow

# Fixed width, so that the highest number of a seed is also its highest reference string (an index seek).
NUMBER_WIDTH = 8
WINDOW_DAYS = 3 * 365
_WINDOW_SECONDS = WINDOW_DAYS * 86400
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)

QUESTIONS = (
    "Vem gör vad? Hur ser boendet ut?",
    "Hur kan skolgången fungera? Vem samordnar kontakterna?",
    "Vilket stöd behövs efter utskrivningen? Hemtjänst, boendestöd, läkemedel?",
    "Hur får personen en meningsfull sysselsättning? Hur ser ekonomin ut?",
    "Hur undviker vi att personen skickas mellan olika mottagningar?",
    "Vad är viktigt för dig? Vad vill du ska hända först?",
)
CHILD_VIEWS = (
    "Vill gå kvar i samma skola.",
    "Vill ha någon vuxen att prata med i skolan.",
    "Vill kunna sova bättre och orka träna igen.",
    "Vill att mamma och pappa slutar bråka om skolan.",
)
DECISIONS = (
    ("Kontakta boendestödet", "Socialtjänsten"),
    ("Boka läkarbesök för läkemedelsgenomgång", "Vårdcentralen"),
    ("Ansök om anpassad studiegång", "Elevhälsan"),
    ("Utred rätt till aktivitetsersättning", "Försäkringskassan"),
    ("Erbjud arbetsträning", "Arbetsförmedlingen"),
    ("Kontakta budget- och skuldrådgivningen", "Socialtjänsten"),
    ("Planera hemgång med hemtjänst", "Socialtjänsten"),
)
DECISION_PAIRS = tuple((a, b) for a in DECISIONS for b in DECISIONS if a != b)
NO_CHANGE_REASONS = ("Insatserna fungerar, ingen ändring behövs", "Personen vill vänta med förändringar")
CLOSE_REASONS = (
    "Målen i planen är uppnådda",
    "Insatserna avslutade enligt plan",
    "Personen har flyttat från kommunen",
    "Personen vill avsluta sin SIP",
    "Samordningen sker nu inom en enda huvudman",
)
WITHDRAW_REASONS = ("Personen återkallade samtycket", "Personen vill inte längre ha en SIP")
DECLINE_REASONS = ("Vill inte ha en SIP just nu", "Vill inte att uppgifter delas mellan myndigheterna")
CANCEL_REASONS = ("Felregistrerad", "Dubblett av en annan SIP")
CHANNELS = ("sipflow", "sipflow", "sipflow", "sipflow", "brev")
INFORMATION_SCOPE = "Uppgifter som behövs för planeringen"


@dataclass(frozen=True)
class Profile:
    """The persona mix of one occasion: demo data, not a rule of its workflow."""

    share: float  # of all cases
    age_mode: int | None  # of a triangular 18-95; None: a child (0-17)
    initiators: tuple[tuple[str, float], ...]  # party kind and cumulative chance of starting the SIP
    under_65: tuple[tuple[str, float], ...]  # party kind and chance of taking part, for persons under 65


# other_need 50 %, discharge 30 %, child 20 % of the cases.
PROFILES = {
    "other_need": Profile(
        0.5, 38, (("region", 0.55), ("municipality", 1.0)), (("employment", 0.35), ("insurance", 0.2))
    ),
    "discharge": Profile(0.3, 78, (("region", 1.0),), (("employment", 0.25), ("insurance", 0.3))),
    "child": Profile(0.2, None, (("school", 0.88), ("region", 0.95), ("municipality", 1.0)), ()),
}
# A workflow for an occasion the mix does not know (a county's own kind of SIP) still gets some cases.
OTHER_PROFILE = Profile(0.1, 50, (("region", 0.5), ("municipality", 1.0)), (("employment", 0.2),))

# Days a step takes after the last one, by the form of the step: (usual pace, pace under a short deadline).
PACE = {
    "consent": ((0.5, 10), (0.05, 1)),
    "preparation": ((0.5, 7), (0.02, 0.5)),
    "kallelse": ((0.5, 12), (0.3, 2.9)),
    "meeting_outcome": ((5, 21), (1, 6)),
    "plan": ((0.02, 3), (0.02, 3)),
}
DEFAULT_PACE = ((1, 20), (0.5, 5))
# A deadline counted from a case date this many days or fewer away is short: the case moves fast.
SHORT_DEADLINE_DAYS = 7
# Chance, per step, of a step that ends the case instead of moving it on.
DECLINE_CHANCE = 0.04
WITHDRAW_CHANCE = 0.01
CANCEL_CHANCE = 0.01
# Closing after a plan: less likely right after it is set than after a follow-up meeting.
CLOSE_CHANCE = (0.08, 0.38)


def reference_prefix(seed: int) -> str:
    """The reference prefix of a seed's synthetic cases."""
    return f"SIP-SYN-{seed}-"


@dataclass(frozen=True)
class _Shape:
    """What a workflow file says about the cases that follow it, read once."""

    needs_guardians: bool
    needs_school: bool
    needs_child_view: bool
    dates_at_request: tuple[str, ...]  # case dates a deadline started with the SIP counts from
    short: bool

    @classmethod
    def of(cls, workflow: Workflow) -> _Shape:
        conditions = {c for t in workflow.transitions for c in t.conditions}
        first = deadlines.started_by(workflow, CREATE_EVENT)
        return cls(
            needs_guardians="guardians_consented" in conditions,
            needs_school="school_participates" in conditions,
            needs_child_view="child_view_recorded" in conditions,
            dates_at_request=tuple(dict.fromkeys(rule.source_field for rule in first)),
            short=any(rule.days <= SHORT_DEADLINE_DAYS for rule in first),
        )


@dataclass
class CaseState:
    """One case while it is simulated: its rows and what the next steps need to know."""

    case: dict
    workflow: Workflow
    shape: _Shape
    org_rows: list
    private: list
    guardians: list
    initiator: Party
    huvudansvarig: Party
    at: datetime | None = None
    meeting: dict | None = None
    person: dict | None = None
    held: int = 0
    has_lead: bool = False  # a plan has named the huvudansvarig organisation
    # The consent the person gives once of age, while the SIP runs: (at, party, form, valid until).
    adult_consent: tuple | None = None

    def __post_init__(self):
        self.at = self.case["requested_at"]
        self.open_deadlines: list[dict] = []
        self.consents: list[dict] = []


class CaseSimulator:
    """Builds the rows of one synthetic case at a time, following the case's workflow file."""

    def __init__(
        self,
        *,
        rng,
        now,
        seed,
        population,
        parties,
        workflows,
        ids,
        sqlite,
        units: dict[int, UnitFacts] | None = None,
        catalogue: Catalogue | None = None,
    ):
        self.rng = rng
        # How values of rows built as final tuples are handed to the database driver.
        self.db_datetime = sqlite_datetime if sqlite else unchanged
        self.db_json = json_text
        self.now = now
        self.seed = seed
        self.population: Population = population
        self.parties: Parties = parties
        self.ids: Ids = ids
        # What the coding rules need: each party unit's facts and the codes in force when the load starts.
        self.units = units or {}
        self.catalogue = catalogue or Catalogue()
        self.window_start = now - timedelta(days=WINDOW_DAYS)
        # The latest workflow of each occasion in the persona mix, and the mix's cumulative shares.
        self.workflows: dict[str, Workflow] = workflows
        self.occasions = [o for o in PROFILES if o in workflows]
        self.occasions += sorted(o for o in workflows if o not in PROFILES)
        shares = [PROFILES.get(o, OTHER_PROFILE).share for o in self.occasions]
        self.occasion_cum = [sum(shares[: i + 1]) / sum(shares) for i in range(len(shares))]
        self.shapes = {w.name: _Shape.of(w) for w in workflows.values()}
        self._step_cache: dict = {}
        # Per workflow and event: the deadline kinds it meets and the rules it starts.
        self.deadline_rules = {
            (w.name, event): (deadlines.met_kinds(w, event), deadlines.started_by(w, event))
            for w in workflows.values()
            for event in (*w.triggers, CREATE_EVENT)
        }

    # -- helpers ---------------------------------------------------------------------------------------

    def _days(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=self.rng.uniform(low, high) * 86400)

    def _meeting_start(self, after: datetime, low_days: float, high_days: float) -> datetime:
        day = (after + self._days(low_days, high_days)).date()
        if day.weekday() >= 5:
            day += timedelta(days=7 - day.weekday())
        # 08:00-14:45 UTC is working hours in Sweden, summer and winter.
        minutes = 8 * 60 + 15 * self.rng.randrange(28)
        return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=UTC)

    def _meeting_mode(self, at: datetime) -> str:
        # Digital meetings grow over the window, as the counties' goals want them to.
        share = (at - self.window_start).total_seconds() / _WINDOW_SECONDS
        share = 0.0 if share < 0 else 1.0 if share > 1 else share
        r = self.rng.random()
        if r < 0.12 + 0.18 * share:
            return "video"
        if r < 0.22 + 0.30 * share:
            return "mixed"
        return "on_site"

    def _office_hours(self, at: datetime) -> datetime:
        """at, or the next working morning when at falls in an evening, a night or a weekend."""
        hour = at.hour
        if 6 <= hour < 15 and at.weekday() < 5:  # 06-15 UTC: 07/08-16/17 in Sweden
            return at
        day = at.toordinal() + (hour >= 15)
        weekday = (day - 1) % 7  # day 1 (0001-01-01) was a Monday
        if weekday >= 5:
            day += 7 - weekday
        return _EPOCH + timedelta(days=day - 1, minutes=360 + self.rng.randrange(540))

    def _requested_at(self) -> datetime:
        # Density rising linearly to twice the starting rate: "antalet SIP ska öka".
        position = -1 + math.sqrt(1 + 3 * self.rng.random())
        at = self._office_hours(self.window_start + timedelta(seconds=position * WINDOW_DAYS * 86400))
        return min(at, self.now - timedelta(hours=1))

    def _pick(self, table: tuple[tuple[str, float], ...]) -> str:
        r = self.rng.random()
        for kind, cumulative in table:
            if r < cumulative:
                return kind
        return table[-1][0]

    # -- one case --------------------------------------------------------------------------------------

    def add_case(self, rows: Rows, index: int, number: int) -> None:
        """Simulate one case from its request to now and append its rows."""
        rng = self.rng
        r = rng.random()
        occasion = self.occasions[-1]
        for candidate, cumulative in zip(self.occasions, self.occasion_cum, strict=True):
            if r < cumulative:
                occasion = candidate
                break
        profile = PROFILES.get(occasion, OTHER_PROFILE)
        workflow = self.workflows[occasion]
        shape = self.shapes[workflow.name]
        mun = self.population.home(index)
        county = self.population.county_of[mun]
        requested = self._requested_at()
        if profile.age_mode is None:
            age = rng.randrange(18)
        else:
            age = min(95, int(rng.triangular(18, 96, profile.age_mode)))
        person = self.population.person(index, number, age, requested, mun)
        rows.by_table["person"].append(person)

        region = self.parties.regions[county]
        kommun = self.parties.municipalities[mun]
        initiator = self.parties.of(self._pick(profile.initiators), county, mun)
        others = [self.parties.schools[mun]] if shape.needs_school else []
        for kind, chance in profile.under_65:
            if age < 65 and rng.random() < chance:
                others.append(self.parties.of(kind, county, mun))
        organisations = [initiator] + [p for p in (region, kommun, *others) if p is not initiator]
        organisations = list(dict.fromkeys(organisations))[:4]

        case_id = self.ids.take("sipcase")
        case = {
            "id": case_id,
            "uid": f"{rng.getrandbits(128):032x}",
            "reference": f"{reference_prefix(self.seed)}{number:0{NUMBER_WIDTH}d}",
            "workflow_name": workflow.name,
            "workflow_version": workflow.version,
            "state": workflow.initial,
            "occasion": workflow.occasion,
            "version": 1,
            "person_id": person["id"],
            "initiating_organisation_id": initiator.organisation_id,
            "created_by_user_id": initiator.user_id,
            "requested_at": requested,
            "utskrivningsklar_at": None,
            "child_view": None,
            "questions": None,
            "follow_up_on": None,
            "closed_reason": None,
            "created_at": requested,
            "updated_at": requested,
            "municipality_code": mun,
        }
        # A date the first deadline counts from, other than the request itself, came shortly before it
        # (the notice that a patient is utskrivningsklar, say).
        for field in shape.dates_at_request:
            if case[field] is None:
                case[field] = requested - self._days(0.02, 0.8)
        rows.by_table["sipcase"].append(case)

        participants = rows.by_table["participant"]
        org_rows = []
        for i, party in enumerate(organisations):
            row = {
                "id": self.ids.take("participant"),
                "case_id": case_id,
                "kind": "organisation",
                "role": "initiator" if i == 0 else "participant",
                "organisation_id": party.organisation_id,
                "unit_id": party.unit_id,
                "contact_user_id": party.user_id if i == 0 else None,
                "name": None,
                "relation": None,
                "added_at": requested,
                # A column with a Python default: the loader's compiled INSERT names it, so every row has it.
                "language": DEFAULT_LOCALE,
            }
            participants.append(row)
            org_rows.append((party, row))
        private = [self._private(case_id, "person", None, None, requested)]
        guardians = []
        family = person["family_name"]
        if shape.needs_guardians:
            for relation in ("mamma", "pappa")[: 1 if rng.random() < 0.35 else 2]:
                first = rng.choice(FEMALE_NAMES if relation == "mamma" else MALE_NAMES)
                guardian = self._private(
                    case_id, "guardian", f"{first} {family}", "vårdnadshavare", requested
                )
                private.append(guardian)
                guardians.append(guardian)
        elif rng.random() < 0.45:
            relation = rng.choice(
                ("mamma", "pappa", "syster", "bror")
                if age < 30
                else ("sambo", "make", "maka", "syster", "bror", "vän")
                if age < 70
                else ("dotter", "son", "make", "maka")
            )
            private.append(
                self._private(
                    case_id,
                    "narstaende",
                    f"{rng.choice(FEMALE_NAMES + MALE_NAMES)} {family}",
                    relation,
                    requested,
                )
            )
        participants.extend(private)

        sim = CaseState(
            case=case,
            workflow=workflow,
            shape=shape,
            org_rows=org_rows,
            private=private,
            guardians=guardians,
            initiator=initiator,
            huvudansvarig=initiator,
            person=person,
        )
        self._log(rows, sim, CREATE_EVENT, None, requested, initiator, None, {})
        self._deadlines(rows, sim, CREATE_EVENT, requested)
        self._run(rows, sim)
        # Mina SIP's candidates, as create_case and every step leave them: each organisation once, with the
        # case's final time and state, and its occasion.
        updated_at, state = self.db_datetime(case["updated_at"]), case["state"]
        rows.by_table["case_visibility"].extend(
            (organisation_id, case_id, updated_at, state, case["occasion"])
            for organisation_id in dict.fromkeys(party.organisation_id for party in organisations)
        )

    def _private(self, case_id, kind, name, relation, at) -> dict:
        return {
            "id": self.ids.take("participant"),
            "case_id": case_id,
            "kind": kind,
            "role": "participant",
            "organisation_id": None,
            "unit_id": None,
            "contact_user_id": None,
            "name": name,
            "relation": relation,
            "added_at": at,
            "language": DEFAULT_LOCALE,
        }

    def _log(self, rows, sim, trigger, from_state, at, party, reason, details) -> None:
        # Never changed once written: built as the final parameter tuple straight away.
        rows.by_table["transitionlog"].append(
            (
                self.ids.take("transitionlog"),
                sim.case["id"],
                self.db_datetime(at),
                party.user_id,
                party.organisation_id,
                trigger,
                from_state,
                sim.case["state"],
                reason,
                self.db_json(details),
            )
        )

    def _deadlines(self, rows, sim, event, at) -> None:
        """What the services write for the deadlines of event, through the same rules (cases.deadlines)."""
        workflow, case = sim.workflow, sim.case
        met, started = self.deadline_rules[(workflow.name, event)]
        ending = workflow.is_final(case["state"])
        if (met or ending) and sim.open_deadlines:
            still_open = []
            for deadline in sim.open_deadlines:
                column = deadlines.settled(deadline["kind"], met, ending)
                if column:
                    deadline[column] = at
                else:
                    still_open.append(deadline)
            sim.open_deadlines = still_open
        for rule in started:
            due = deadlines.due_at(rule, case)
            if due is None:
                continue
            deadline = {
                "id": self.ids.take("deadline"),
                "case_id": case["id"],
                "kind": rule.kind,
                "due_at": due,
                "met_at": None,
                "cancelled_at": None,
            }
            rows.by_table["deadline"].append(deadline)
            sim.open_deadlines.append(deadline)

    # -- the next step ---------------------------------------------------------------------------------

    def _party(self, sim: CaseState, transition: TransitionDef) -> Party:
        """Who fires transition: a holder of the first party role it lists, sometimes a participant.

        The roles are those services.party_roles finds: the initiating organisation is initiator, the
        organisation a plan names is huvudansvarig (nobody before a plan), the others are participants.
        """
        parties = transition.parties
        if "participant" in parties and len(sim.org_rows) > 1 and self.rng.random() < 0.3:
            return sim.org_rows[1][0]
        for role in parties:
            if role == "initiator":
                return sim.initiator
            if role == "huvudansvarig" and sim.has_lead:
                return sim.huvudansvarig
            if role == "participant":
                for party, row in sim.org_rows:
                    if row["role"] == "participant":
                        return party
        return sim.initiator  # pragma: no cover - every shipped transition lists initiator

    def _onward_at(self, sim: CaseState, transition: TransitionDef, rule) -> datetime:
        """When the transition that moves the case on happens (rule: the deadline it meets, if any)."""
        t = sim.at
        if sim.meeting is not None and "mark_meeting_held" in transition.effects:
            return sim.meeting["starts_at"]
        low, high = PACE.get(transition.form, DEFAULT_PACE)[sim.shape.short]
        if rule is None:
            return t + self._days(low, high)
        if rule.days == 0:
            # A date set in the plan: the step happens around it.
            return max(sim.case[rule.source_field] + self._days(-5, 25), t + timedelta(hours=1))
        if not sim.shape.short:
            return t + self._days(low, high)
        # A short time limit: most steps come within it, counted from its date; some are late.
        start = sim.case[rule.source_field]
        late = self.rng.random() >= 0.85
        at = start + (self._days(rule.days, rule.days + 5) if late else self._days(low, high))
        return max(at, t + timedelta(minutes=30))

    def _steps(self, workflow: Workflow, state: str):
        """The transitions that move a case on from state, and those that end it with their kind; cached."""
        key = (workflow.name, state)
        steps = self._step_cache.get(key)
        if steps is None:
            options = workflow.transitions_from(state)
            onward = tuple(
                (t, next((r for r in workflow.deadlines if t.trigger in r.met_by), None))
                for t in options
                if not workflow.is_final(t.dest)
            )
            stops = []
            for t in options:
                if not workflow.is_final(t.dest):
                    continue
                if t.form == "consent_declined":
                    stops.append((t, "decline"))
                elif t.withdraws_consent:
                    stops.append((t, "withdraw"))
                elif t.form == "reason":
                    stops.append((t, "end"))
                else:
                    stops.append((t, "other"))
            steps = self._step_cache[key] = (onward, tuple(stops))
        return steps

    def _closes(self, sim: CaseState, transition: TransitionDef) -> bool:
        # The file says which transition closes the SIP (its reason is kept on the case), as for the service.
        return transition.closes

    def _next_step(self, sim: CaseState) -> tuple[TransitionDef, datetime, Party]:
        """The case's next transition, when it happens and which party fires it."""
        t, rng = sim.at, self.rng
        onward_options, stops = self._steps(sim.workflow, sim.case["state"])
        if onward_options:
            onward, rule = onward_options[0] if len(onward_options) == 1 else rng.choice(onward_options)
            onward_at = self._onward_at(sim, onward, rule)
        else:
            onward, onward_at = None, t + self._days(1, 30)
        r = rng.random()
        cumulative = 0.0
        for transition, kind in stops:
            if kind == "decline":
                cumulative += DECLINE_CHANCE
            elif kind == "withdraw":
                cumulative += WITHDRAW_CHANCE
            elif kind == "end" and sim.held:
                cumulative += CLOSE_CHANCE[onward is None or onward.form != "meeting_outcome"]
            else:
                cumulative += CANCEL_CHANCE
            if r < cumulative or onward is None:
                return transition, t + (onward_at - t) * rng.random(), self._party(sim, transition)
        return onward, onward_at, self._party(sim, onward)

    def _run(self, rows: Rows, sim: CaseState) -> None:
        case, workflow = sim.case, sim.workflow
        while not workflow.is_final(case["state"]):
            transition, at, party = self._next_step(sim)
            at = self._office_hours(at)
            self._adult_consent(rows, sim, min(at, self.now))
            if at > self.now:
                break
            trigger = transition.trigger
            details: dict = {}
            reason = None
            form = transition.form
            if form == "consent":
                details["consent_id"] = self._consent(rows, sim, at, party)
            elif form == "consent_declined":
                reason = self.rng.choice(DECLINE_REASONS)
                self._declined(rows, sim, at, party, reason)
            elif form == "preparation":
                case["questions"] = self.rng.choice(QUESTIONS)
                if sim.shape.needs_child_view:
                    case["child_view"] = self.rng.choice(CHILD_VIEWS)
            elif form == "kallelse":
                details.update({"sent_at": at.isoformat(), "channel": self.rng.choice(CHANNELS)})
            elif form == "meeting_outcome":
                details.update(self._outcome(at))
            elif form == "plan":
                details["huvudansvarig_organisation_id"] = self._plan(sim, at)
            elif form == "reason":
                closes = self._closes(sim, transition)
                reason = self.rng.choice(
                    CLOSE_REASONS
                    if closes
                    else WITHDRAW_REASONS
                    if transition.withdraws_consent
                    else CANCEL_REASONS
                )
                if closes:
                    case["closed_reason"] = reason
            from_state = case["state"]
            case["state"] = transition.dest
            for effect in transition.effects:
                if effect == "plan_meeting":
                    details["meeting_id"] = self._plan_meeting(rows, sim, at)
                elif effect == "mark_meeting_held":
                    details["meeting_id"] = self._hold_meeting(rows, sim, at, party)
                elif effect == "withdraw_consents":
                    for consent in sim.consents:
                        if consent["withdrawn_at"] is None:
                            consent["withdrawn_at"] = at
                            consent["withdrawn_reason"] = reason
                elif effect == "cancel_meetings" and sim.meeting is not None:
                    sim.meeting["status"] = CANCELLED
                    sim.meeting = None
            case["version"] += 1
            case["updated_at"] = at
            self._log(rows, sim, trigger, from_state, at, party, reason, details)
            self._deadlines(rows, sim, trigger, at)
            sim.at = at

    # -- what the forms and effects write ----------------------------------------------------------------

    @staticmethod
    def _custody_ends(sim: CaseState) -> date | None:
        """The last day the guardians taking part consent for the person (consent.services.guardians_last_day:
        the day before the 18th birthday); None without guardians or a birth date."""
        born = (sim.person or {}).get("birth_date")
        return last_day_as_minor(born) if sim.guardians and born is not None else None

    def _consent(self, rows, sim, at, party) -> int:
        form = "written" if self.rng.random() < 0.6 else "oral"
        # Long enough for every follow-up the simulation generates, so consent_valid always holds.
        until = (at + timedelta(days=WINDOW_DAYS + 30)).date()
        custody_ends = self._custody_ends(sim)
        if custody_ends is None or until <= custody_ends:
            return self._consents(rows, sim, at, party, sim.guardians or [None], form, until)
        if custody_ends < to_local(at).date():
            # Of age by now: the person consents themselves.
            return self._consents(rows, sim, at, party, [None], form, until)
        # The guardians' consent ends with custody; from the 18th birthday the person consents themselves,
        # on the first working day from it, if the SIP still runs then (_adult_consent).
        adult = first_working_day(custody_ends + timedelta(days=1))
        sim.adult_consent = (local_to_utc(datetime.combine(adult, time(9))), party, form, until)
        return self._consents(rows, sim, at, party, sim.guardians, form, custody_ends)

    def _adult_consent(self, rows, sim: CaseState, by: datetime) -> None:
        """Record the consent the person gives once of age (see _consent) when it falls at or before by."""
        if sim.adult_consent is not None and sim.adult_consent[0] <= by:
            at, party, form, until = sim.adult_consent
            sim.adult_consent = None
            self._consents(rows, sim, at, party, [None], form, until)

    def _consents(self, rows, sim, at, party, givers, form: str, until: date) -> int:
        """A consent given at by each of givers (a guardian participant, or None: the person); the first
        id."""
        first_id = None
        for guardian in givers:
            consent_id = self.ids.take("consent")
            first_id = first_id or consent_id
            consent = {
                "id": consent_id,
                "case_id": sim.case["id"],
                "decision": "given",
                "given_by": "guardian" if guardian else "person",
                "given_by_name": guardian["name"] if guardian else None,
                # The guardian participant who consented: sip_child v2 asks it of every guardian taking part.
                "given_by_participant_id": guardian["id"] if guardian else None,
                "form": form,
                "information_scope": INFORMATION_SCOPE,
                "valid_until": until,
                "declined_reason": None,
                "recorded_at": at,
                "recorded_by_user_id": party.user_id,
                "withdrawn_at": None,
                "withdrawn_reason": None,
            }
            rows.by_table["consent"].append(consent)
            sim.consents.append(consent)
            for org, _ in sim.org_rows:
                rows.by_table["consentorganisation"].append((consent_id, org.organisation_id))
        return first_id

    def _declined(self, rows, sim, at, party, reason) -> None:
        custody_ends = self._custody_ends(sim)
        by_guardians = custody_ends is not None and to_local(at).date() <= custody_ends
        rows.by_table["consent"].append(
            {
                "id": self.ids.take("consent"),
                "case_id": sim.case["id"],
                "decision": "declined",
                "given_by": "guardian" if by_guardians else "person",
                "given_by_name": None,
                "given_by_participant_id": None,
                "form": "oral",
                "information_scope": None,
                "valid_until": None,
                "declined_reason": reason,
                "recorded_at": at,
                "recorded_by_user_id": party.user_id,
                "withdrawn_at": None,
                "withdrawn_reason": None,
            }
        )

    def _outcome(self, at) -> dict:
        rng = self.rng
        if rng.random() < 0.08:
            return {"decisions": [], "no_change_reason": rng.choice(NO_CHANGE_REASONS)}
        due = (at + timedelta(days=rng.choice((7, 14, 30)))).date().isoformat()
        return {"decisions": [{"text": t, "owner": o, "due_on": due} for t, o in rng.choice(DECISION_PAIRS)]}

    def _plan(self, sim, at) -> int:
        rng = self.rng
        if len(sim.org_rows) > 1 and rng.random() < 0.4:
            lead = sim.org_rows[1][0]
        else:
            lead = sim.initiator
        if not is_huvudman(lead.kind):
            # Only a huvudman holds it: the first taking part (the region and the municipality always do).
            lead = next(party for party, _ in sim.org_rows if is_huvudman(party.kind))
        for party, row in sim.org_rows:
            if party is lead:
                row["role"] = "huvudansvarig"
            elif row["role"] == "huvudansvarig":
                # Handed on: the starting organisation's units are initiator again (services.role_of_unit).
                row["role"] = "initiator" if party is sim.initiator else "participant"
        sim.huvudansvarig = lead
        sim.has_lead = True
        # A day in the plan, due by its end as the plan editor's step stores it (not at the clock time now).
        day = to_local(at).date() + timedelta(days=rng.choice((30, 60, 90, 90, 120, 180)))
        sim.case["follow_up_on"] = follow_up_due_at(day)
        return lead.organisation_id

    def _plan_meeting(self, rows, sim, at) -> int:
        low, high = PACE["meeting_outcome"][sim.shape.short]
        starts = self._meeting_start(at, low, high)
        # Provisional, as a booking's (meetings.services.meeting_kind): settled when it is held.
        meeting = self._meeting_row(sim, FOLLOW_UP if sim.held else FIRST, PLANNED, starts)
        rows.by_table["meeting"].append(meeting)
        sim.meeting = meeting
        return meeting["id"]

    def _meeting_row(self, sim, kind, status, starts) -> dict:
        mode = self._meeting_mode(starts)
        meeting_id = self.ids.take("meeting")
        return {
            "id": meeting_id,
            "case_id": sim.case["id"],
            "kind": kind,
            "status": status,
            "mode": mode,
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=90 if self.rng.random() < 0.3 else 60),
            "location": None if mode == "video" else sim.initiator.name,
            "video_url": f"https://video.example.se/sip/{sim.case['uid'][:16]}/{meeting_id}"
            if mode != "on_site"
            else None,
            "held_at": None,
            "moved": False,
            "classification": None,
            "no_change_reason": None,
            # Drawn from the seeded generator, so a seed gives the same data every time.
            "uid": f"{self.rng.getrandbits(128):032x}@sipflow",
            "sequence": 0,
            "room": None,
            "booked_by_user_id": None,
            "cancelled_at": None,
            "updated_at": None,
        }

    def _hold_meeting(self, rows, sim, at, party) -> int:
        rng = self.rng
        meeting = sim.meeting
        if meeting is None:  # a follow-up meeting nobody booked through a kallelse: recorded as it was held
            meeting = self._meeting_row(sim, FOLLOW_UP, HELD, at)
            meeting["ends_at"] = at + timedelta(hours=1)
            rows.by_table["meeting"].append(meeting)
        # First or follow-up as held (meetings.services.settle_meeting_kinds): a case's meetings are held
        # here in the order of their times, so the first held is the first meeting.
        meeting["kind"] = FOLLOW_UP if sim.held else FIRST
        meeting["status"] = HELD
        meeting["held_at"] = at
        meeting["mode"] = mode = self._meeting_mode(at) if rng.random() < 0.1 else meeting["mode"]
        sim.meeting = None
        sim.held += 1
        attendance = rows.by_table["attendance"]
        everyone = [row for _, row in sim.org_rows] + sim.private
        modes = []
        taking_part = []
        for i, row in enumerate(everyone):
            r = rng.random()
            if mode == "on_site":
                how = "absent" if r < 0.08 else "on_site"
            elif mode == "video":
                how = "absent" if r < 0.08 else "phone" if r < 0.14 else "video"
            elif i == 0:
                how = "on_site"  # a mixed meeting has someone in the room ...
            elif i == 1:
                how = "video"  # ... and someone who is not
            else:
                how = "absent" if r < 0.08 else "phone" if r < 0.13 else "video" if r < 0.5 else "on_site"
            if row["kind"] == "narstaende" and rng.random() < 0.3:
                how = "absent"
            attendance.append((meeting["id"], row["id"], how))
            modes.append(how)
            if row["unit_id"] is not None:
                taking_part.append((self.units.get(row["unit_id"]), how))
        # The one rule the outcome page stores and the statistics count.
        meeting["classification"] = classify(modes)
        self._codes(rows, sim, meeting, at, party, taking_part)
        return meeting["id"]

    def _codes(self, rows, sim, meeting, at, party, taking_part) -> None:
        """The meeting's code records, by the rules the record_codes effect applies."""
        choices = codes_for_meeting(taking_part, self.catalogue)
        if not choices:
            return
        person, case = sim.person, sim.case
        held_on = to_local(at).date()
        age = age_on(person["birth_date"], held_on)
        records = rows.by_table["code_record"]
        for choice in choices:
            records.append(
                {
                    "id": self.ids.take("code_record"),
                    "case_id": case["id"],
                    "meeting_id": meeting["id"],
                    "unit_id": choice.unit.unit_id,
                    "organisation_id": choice.unit.organisation_id,
                    "code": choice.code,
                    "kind": choice.kind,
                    "sign": 1,
                    "reverses_id": None,
                    "held_on": held_on,
                    "meeting_kind": meeting["kind"],
                    "person_id": person["id"],
                    "municipality_code": person["home_municipality_code"],
                    "legal_sex": person["legal_sex"],
                    "age_years": age,
                    "occasion": case["occasion"],
                    "organisation_kind": choice.unit.organisation_kind,
                    "recorded_at": at,
                    "recorded_by_user_id": party.user_id,
                    "reason": None,
                }
            )
