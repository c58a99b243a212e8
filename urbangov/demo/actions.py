"""Writing the Demo City: the one state change of the demo app.

:func:`build_demo` turns what :mod:`urbangov.demo.generator` drew into rows — areas,
categories, units, facilities, a year of cases (through
:func:`urbangov.cases.actions.load_history`) and one account per role — in one transaction,
with one audit event for the whole city. The organisation is configuration (there is no
per-object org action), so it is bulk-written here.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from urbangov.algorithms.models import Algorithm, AlgorithmType, ErrorFocus, Phase
from urbangov.cases.actions import HistoricCase, HistoricEvent, deadlines_for, load_history
from urbangov.cases.models import Case, ExtensionRequest, Feedback
from urbangov.cases.transitions import TRANSITIONS
from urbangov.demo import catalogue, generator
from urbangov.demo.generator import SOURCE, CaseRec, City
from urbangov.demo.queries import contents
from urbangov.org import geo
from urbangov.org.models import Area, Category, Facility, Membership, Role, Unit
from urbangov.privacy.actions import Actor, record

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: str
    unit_code: str
    unit_name: str
    superuser: bool = False


@dataclass(frozen=True)
class BuildResult:
    areas: Counter[str]
    categories: int
    units: int
    facilities: int
    cases: int
    statuses: Counter[str]
    overdue: int
    accounts: tuple[Account, ...]


# username, role, unit ("busiest street office" and "busiest department" are picked from the
# generated cases, so that each handler's workbench has a queue)
BUSIEST_OFFICE = "<street office>"
BUSIEST_DEPARTMENT = "<department>"
NEXT_DEPARTMENT = "<second department>"
ACCOUNT_PLAN: tuple[tuple[str, str, str], ...] = (
    ("operator", Role.OPERATOR, catalogue.DISPATCH_CENTRE),
    ("handler", Role.HANDLER, BUSIEST_OFFICE),
    ("handler2", Role.HANDLER, BUSIEST_DEPARTMENT),
    ("handler3", Role.HANDLER, NEXT_DEPARTMENT),
    ("supervisor", Role.SUPERVISOR, catalogue.DISPATCH_CENTRE),
    ("analyst", Role.ANALYST, catalogue.DATA_BUREAU),
    ("algorithm_officer", Role.ALGORITHM_OFFICER, catalogue.DATA_BUREAU),
    ("auditor", Role.AUDITOR, catalogue.DATA_BUREAU),
    ("admin", Role.ADMIN, catalogue.DATA_BUREAU),
)
_PASSWORD_ALPHABET = "".join(c for c in string.ascii_lowercase + string.digits if c not in "il1o0")


def demo_password(username: str) -> str:
    """The demo account's password: derived from this installation's secret key, so that a
    second run can print it again without it being stored anywhere."""
    raw = salted_hmac("urbangov.demo.password", username, algorithm="sha256").digest()
    chars = [_PASSWORD_ALPHABET[b % len(_PASSWORD_ALPHABET)] for b in raw[:15]]
    return "-".join("".join(chars[i : i + 5]) for i in (0, 5, 10))


def sla_table(categories: Iterable[Category]) -> dict[str, tuple[timedelta, timedelta]]:
    """(time to respond, time to resolve) of each category, as dispatch would set them."""
    start = datetime(2000, 1, 1, tzinfo=UTC)
    table = {}
    for category in categories:
        respond_by, resolve_by = deadlines_for(category, category.urgency, start)
        table[category.code] = (respond_by - start, resolve_by - start)
    return table


def build_demo(
    *,
    actor: Actor,
    seed: int,
    count: int,
    end: datetime,
    progress: Progress | None = None,
    city: City | None = None,
) -> BuildResult:
    """Write the Demo City drawn from ``seed`` with ``count`` cases ending at ``end``.

    Refuses (ValidationError, nothing written) on a database that already holds a city, cases
    or any of the demo's usernames: the demo never mixes with real data.
    """
    if count < 0:
        raise ValidationError(_("The number of cases cannot be negative."))
    found = contents()
    if not found.empty():
        raise ValidationError(
            _(
                "This database already holds %(areas)d areas, %(units)d units, %(categories)d "
                "categories and %(cases)d cases; the Demo City is built only into an empty database "
                "(use a fresh URBANGOV_DATA_DIR, or --reset on a demo database)."
            )
            % {
                "areas": found.areas,
                "units": found.units,
                "categories": found.categories,
                "cases": found.cases,
            }
        )
    User = get_user_model()
    usernames = [name for name, _role, _unit in ACCOUNT_PLAN]
    clash = sorted(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if clash:
        raise ValidationError(
            _("Users %(names)s already exist; the demo creates them.") % {"names": ", ".join(clash)}
        )
    city = city or generator.build_city(seed)
    with transaction.atomic():
        area_ids = _write_areas(city)
        category_objs = _write_categories(city)
        unit_ids = _write_units(city, area_ids, {c.code: c.pk for c in category_objs})
        Facility.objects.bulk_create(
            Facility(
                kind=f.kind,
                name=f.name,
                lat=f.lat,
                lon=f.lon,
                capacity=f.capacity,
                area_id=area_ids[f.area],
            )
            for f in city.facilities
        )
        sla = sla_table(c for c in category_objs if c.parent_id is not None)
        cases = generator.generate_cases(city, count=count, seed=seed, end=end, sla=sla)
        writer = _CaseWriter(
            city, area_ids, {c.code: c.pk for c in category_objs}, unit_ids, end, progress
        )
        loaded = load_history(writer.historic(cases), actor=actor, source=SOURCE)
        writer.finish()
        accounts = _write_accounts(writer.in_hands, unit_ids)
        result = BuildResult(
            areas=Counter(a.level for a in city.areas),
            categories=len(category_objs),
            units=len(unit_ids),
            facilities=len(city.facilities),
            cases=loaded,
            statuses=writer.statuses,
            overdue=writer.overdue,
            accounts=accounts,
        )
        record(
            actor=actor,
            action="demo.build",
            data={
                "seed": seed,
                "end": end.isoformat(),
                "cases": loaded,
                "areas": dict(result.areas),
                "units": result.units,
                "categories": result.categories,
                "facilities": result.facilities,
                "accounts": [a.username for a in accounts],
            },
        )
    geo.invalidate()
    return result


# The dispatcher's impact questionnaire as the Demo City answers it: where a request goes and
# how fast (not access to a right), some decisions without a person, personal data in the
# texts, safeguards in place except review before an automatic dispatch takes effect.
DISPATCH_IMPACT = {
    "rights": "service",
    "reversibility": "effort",
    "automation": "partial",
    "vulnerable": "possibly",
    "data": "personal",
    "scale": "large",
    "opacity": "partly",
    "data_quality": "yes",
    "bias_tested": "yes",
    "human_review": "no",
    "explained": "yes",
    "appeal": "yes",
    "logged": "yes",
    "monitored": "yes",
    "staff_trained": "yes",
}

DISPATCH_PLAIN = {
    "en": {
        "summary": "Reads each new request and suggests the kind of problem and the office "
        "that handles it there; where it is sure enough it sends the request on by itself.",
        "effect": "Decides only where your request goes first. A person checks every request "
        "it is unsure about, and the office can send a request back if it is not theirs.",
        "appeal": "Your case page says how your request was routed; use 'contest this "
        "decision' there and a person who did not make the decision looks at it again.",
    },
    "zh-hans": {
        "summary": "阅读每一件新诉求，判断问题类别并建议由当地哪个部门承办；有足够把握时自动派单。",
        "effect": "它只决定诉求先交给谁办。没有把握的诉求都由工作人员确认，承办单位认为不属于自己的也可以退回。",
        "appeal": "诉求页面写明了派单方式；点“对此决定提出异议”，由未参与该决定的工作人员重新审查。",
    },
    "zh-hant": {
        "summary": "閱讀每一件新訴求，判斷問題類別並建議由當地哪個部門承辦；有足夠把握時自動派單。",
        "effect": "它只決定訴求先交給誰辦。沒有把握的訴求都由工作人員確認，承辦單位認為不屬於自己的也可以退回。",
        "appeal": "訴求頁面寫明了派單方式；點「對此決定提出異議」，由未參與該決定的工作人員重新審查。",
    },
}


def register_dispatcher(*, actor: Actor) -> Algorithm:
    """The dispatcher's register entry as a city would file it, its impact assessment, and
    its move into production: what residents read on the public algorithm register. Done
    once (an entry already in production is left as it is)."""
    from urbangov.algorithms import actions as register
    from urbangov.dispatch.actions import dispatch_algorithm

    algorithm = dispatch_algorithm(actor=actor)
    if algorithm.phase == Phase.PRODUCTION:
        return algorithm
    register.update_register(
        actor=actor,
        algorithm=algorithm,
        owner=Unit.objects.filter(code=catalogue.DISPATCH_CENTRE).first(),
        responsible_person=_("Head of the 12345 hotline centre"),
        algorithm_type=AlgorithmType.STATISTICAL,
        decisions_made=_(
            "The category of each new request, the unit that handles it, whether it is an "
            "emergency or a likely duplicate, and whether it is sent on without an operator."
        ),
        effect_on_residents=_(
            "Where a request goes first and so how soon someone works on it; nothing about "
            "whether it is accepted or how it is resolved."
        ),
        benefits=_(
            "Requests reach the right unit sooner; operators spend their time on the unclear ones."
        ),
        risks=_(
            "A request sent to the wrong unit loses time: below each category's confidence "
            "threshold a person decides, units send back what is not theirs, and every "
            "correction is logged and teaches the next version."
        ),
        non_discrimination=_(
            "Audited by channel and area for how often its routing is corrected and how "
            "satisfied residents are; it does not read the resident's identity."
        ),
        data_sources=_(
            "The request's title, text, place and chosen category; past resolved requests for training."
        ),
        personal_data=True,
        human_oversight=_(
            "Operators confirm every request below the threshold and can redirect any; the "
            "ethics board can suspend automatic dispatch at once."
        ),
        how_to_appeal=_(
            "From the request's tracking page; a person who did not decide reviews it."
        ),
        error_focus=ErrorFocus.ASSISTIVE,
        plain_language=DISPATCH_PLAIN,
    )
    register.assess_impact(actor=actor, algorithm=algorithm, answers=DISPATCH_IMPACT)
    return register.set_phase(
        actor=actor,
        algorithm=algorithm,
        phase=Phase.PRODUCTION,
        reason=_("Demo City: filed, assessed and in service."),
    )


def wipe_demo(*, actor: Actor) -> None:
    """Empty a demo database (every table), so that the demo can be built again.

    Refuses a database that does not hold the Demo City: this never wipes a real city.
    """
    found = contents()
    if not found.demo and not found.empty():
        raise ValidationError(
            _("This database does not hold the Demo City; --reset only empties a demo database.")
        )
    call_command("flush", interactive=False, verbosity=0)
    geo.invalidate()
    record(actor=actor, action="demo.reset", data={"areas": found.areas, "cases": found.cases})


def accounts() -> list[tuple[Account, bool]]:
    """The demo accounts in this database, each with whether its printed password still
    works (it does unless someone changed it)."""
    User = get_user_model()
    users = {
        u.get_username(): u
        for u in User.objects.filter(username__in=[name for name, _role, _unit in ACCOUNT_PLAN])
    }
    out = []
    for username, role, _unit in ACCOUNT_PLAN:
        user = users.get(username)
        if user is None:
            continue
        membership = Membership.objects.filter(user=user, role=role).select_related("unit").first()
        password = demo_password(username)
        out.append(
            (
                Account(
                    username,
                    password,
                    role,
                    membership.unit.code if membership else "",
                    membership.unit.name if membership else "",
                    bool(user.is_superuser),
                ),
                user.check_password(password),
            )
        )
    return out


# --- the writers -----------------------------------------------------------------------------


def _write_areas(city: City) -> dict[str, int]:
    ids: dict[str, int] = {}
    paths: dict[str, str] = {}
    for level in (
        generator.CITY,
        generator.DISTRICT,
        generator.STREET,
        generator.COMMUNITY,
        generator.GRID,
    ):
        rows = []
        for a in city.by_level(level):
            path = (paths[a.parent] if a.parent else "/") + a.code + "/"
            paths[a.code] = path
            rows.append(
                Area(
                    code=a.code,
                    name=a.name,
                    level=a.level,
                    parent_id=ids[a.parent] if a.parent else None,
                    path=path,
                    geometry=a.geometry,
                    population=a.population,
                    pop_children=a.pop_children,
                    pop_working=a.pop_working,
                    pop_elderly=a.pop_elderly,
                    migrant_share=a.migrant_share,
                    income_band=a.income_band,
                )
            )
        for row in Area.objects.bulk_create(rows, batch_size=500):
            ids[row.code] = row.pk
    return ids


def _write_categories(city: City) -> list[Category]:
    tops = Category.objects.bulk_create(
        Category(
            code=c.code,
            name=c.name,
            name_en=c.name_en,
            urgency=c.urgency,
            keywords=c.keywords,
            description=c.description,
        )
        for c in city.categories
        if c.parent is None
    )
    parent_ids = {c.code: c.pk for c in tops}
    subs = Category.objects.bulk_create(
        Category(
            code=c.code,
            name=c.name,
            name_en=c.name_en,
            urgency=c.urgency,
            keywords=c.keywords,
            description=c.description,
            parent_id=parent_ids[c.parent],
        )
        for c in city.categories
        if c.parent is not None
    )
    return [*tops, *subs]


def _write_units(
    city: City, area_ids: dict[str, int], category_ids: dict[str, int]
) -> dict[str, int]:
    created = Unit.objects.bulk_create(
        Unit(code=u.code, name=u.name, kind=u.kind) for u in city.units
    )
    ids = {u.code: u.pk for u in created}
    Unit.areas.through.objects.bulk_create(
        Unit.areas.through(unit_id=ids[u.code], area_id=area_ids[a])
        for u in city.units
        for a in u.areas
    )
    Unit.categories.through.objects.bulk_create(
        Unit.categories.through(unit_id=ids[u.code], category_id=category_ids[c])
        for u in city.units
        for c in u.categories
    )
    return ids


class _CaseWriter:
    """Turns generated cases into :class:`HistoricCase` rows for ``load_history``, counting
    as it goes; afterwards links merged duplicates and writes extension requests."""

    def __init__(
        self,
        city: City,
        area_ids: dict[str, int],
        category_ids: dict[str, int],
        unit_ids: dict[str, int],
        end: datetime,
        progress: Progress | None,
    ) -> None:
        self.area_ids = area_ids
        self.category_ids = category_ids
        self.unit_ids = unit_ids
        self.end = end
        self.progress = progress
        self.statuses: Counter[str] = Counter()
        self.in_hands: Counter[str] = Counter()
        self.overdue = 0
        self.merges: list[tuple[str, str]] = []
        self.extensions: list[tuple[str, generator.ExtensionRec]] = []
        self.public = {name: t.public for name, t in TRANSITIONS.items()}

    def historic(self, cases: Iterable[CaseRec]) -> Iterator[HistoricCase]:
        done = 0
        for rec in cases:
            self.statuses[rec.status] += 1
            if rec.status in generator.IN_HANDS and rec.unit:
                self.in_hands[rec.unit] += 1
                if rec.resolve_due is not None and rec.resolve_due < self.end:
                    self.overdue += 1
            if rec.merged_into:
                self.merges.append((rec.external_id, rec.merged_into))
            for x in rec.extensions:
                self.extensions.append((rec.external_id, x))
            yield self._historic(rec)
            done += 1
            if self.progress is not None and done % 1000 == 0:
                self.progress(done)
        if self.progress is not None:
            self.progress(done)

    def _historic(self, rec: CaseRec) -> HistoricCase:
        case = Case(
            tracking_code=rec.tracking_code,
            channel=rec.channel,
            title=rec.title,
            text=rec.text,
            reported_category_id=self.category_ids[rec.reported_category]
            if rec.reported_category
            else None,
            category_id=self.category_ids[rec.category] if rec.category else None,
            urgency=rec.urgency,
            lat=rec.lat,
            lon=rec.lon,
            address=rec.address,
            area_id=self.area_ids[rec.area],
            contact_name=rec.contact_name,
            contact_phone=rec.contact_phone,
            status=rec.status,
            unit_id=self.unit_ids[rec.unit] if rec.unit else None,
            created_at=rec.created_at,
            updated_at=rec.updated_at,
            dispatched_at=rec.dispatched_at,
            response_due=rec.response_due,
            resolve_due=rec.resolve_due,
            accepted_at=rec.accepted_at,
            resolved_at=rec.resolved_at,
            closed_at=rec.closed_at,
            resolution=rec.resolution,
            reject_reason=rec.reject_reason,
            reopen_count=rec.reopen_count,
            source=SOURCE,
            external_id=rec.external_id,
        )
        public = self.public
        return HistoricCase(
            case=case,
            events=[
                HistoricEvent(
                    at=e.at,
                    kind=e.kind,
                    from_status=e.from_status,
                    to_status=e.to_status,
                    actor_label=e.actor_label,
                    note=e.note,
                    public=public.get(e.kind, True),
                    data=dict(e.data),
                )
                for e in rec.events
            ],
            feedback=[
                Feedback(round=f.round, rating=f.rating, comment=f.comment, at=f.at)
                for f in rec.feedback
            ],
        )

    def finish(self) -> None:
        """Link duplicates to the cases they were merged into, and write the handlers'
        requests for more time — both need the ids the load gave."""
        wanted = {a for pair in self.merges for a in pair} | {x for x, _ in self.extensions}
        ids: dict[str, int] = {}
        names = sorted(wanted)
        for lo in range(0, len(names), 900):
            ids.update(
                Case.objects.filter(
                    source=SOURCE, external_id__in=names[lo : lo + 900]
                ).values_list("external_id", "id")
            )
        Case.objects.bulk_update(
            [Case(id=ids[dup], merged_into_id=ids[into]) for dup, into in self.merges],
            ["merged_into"],
            batch_size=500,
        )
        ExtensionRequest.objects.bulk_create(
            ExtensionRequest(
                case_id=ids[ext_id],
                requested_at=x.requested_at,
                hours=x.hours,
                reason=x.reason,
                status=x.status,
                decided_at=x.decided_at,
                decision_note=x.decision_note,
            )
            for ext_id, x in self.extensions
        )


def _pick_units(in_hands: Counter[str], unit_ids: dict[str, int]) -> dict[str, str]:
    """The street office and the two departments with the most cases in hand."""
    offices = [u for u, _ in in_hands.most_common() if u.startswith("JD")]
    departments = [u for u, _ in in_hands.most_common() if not u.startswith("JD")]
    all_offices = sorted(u for u in unit_ids if u.startswith("JD"))
    all_departments = [d.code for d in catalogue.DEPARTMENTS]
    offices += [u for u in all_offices if u not in offices]
    departments += [u for u in all_departments if u not in departments]
    return {
        BUSIEST_OFFICE: offices[0],
        BUSIEST_DEPARTMENT: departments[0],
        NEXT_DEPARTMENT: departments[1],
    }


def _write_accounts(in_hands: Counter[str], unit_ids: dict[str, int]) -> tuple[Account, ...]:
    User = get_user_model()
    picked = _pick_units(in_hands, unit_ids)
    names = dict(Unit.objects.filter(pk__in=unit_ids.values()).values_list("code", "name"))
    out: list[Account] = []
    memberships: list[Membership] = []
    for username, role, unit in ACCOUNT_PLAN:
        code = picked.get(unit, unit)
        password = demo_password(username)
        superuser = role == Role.ADMIN
        if superuser:
            user = User.objects.create_superuser(username=username, password=password, email="")
        else:
            user = User.objects.create_user(username=username, password=password)
        memberships.append(Membership(user=user, unit_id=unit_ids[code], role=role))
        out.append(Account(username, password, role, code, names[code], superuser))
    Membership.objects.bulk_create(memberships)
    return tuple(out)


def describe(accounts: Sequence[Account]) -> list[str]:
    """Lines for the terminal: who can log in, as what, and where."""
    width = max((len(a.username) for a in accounts), default=8)
    return [
        f"  {a.username:<{width}}  {a.password}  {Role(a.role).label} @ {a.unit_name}"
        + (" (superuser)" if a.superuser else "")
        for a in accounts
    ]
