"""Supervision over REST: the overview, the evaluation table, the cases behind a number,
the hot-spots and the formal escalation. Same filters, scope and rules as the pages."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from urbangov.cases import queries as case_queries
from urbangov.cases.actions import escalate_case
from urbangov.org.auth import STAFF_AUTH, staff_user
from urbangov.supervision import permissions, queries
from urbangov.supervision.evaluation import DEFINITIONS
from urbangov.supervision.models import RATES, Metric

router = Router(tags=["supervision"])


class Error(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


class Period(Schema):
    month: str | None = Field(None, description="YYYY-MM (default: the current month)")
    from_: date | str | None = Field(None, alias="from", description="first day, YYYY-MM-DD")
    to: date | str | None = Field(None, description="last day (inclusive), YYYY-MM-DD")
    area: str | None = Field(None, description="district or street code")
    unit: str | None = Field(None, description="handling unit code")
    level: str | None = Field(None, description="unit, street or district")
    w: str | None = Field(None, description="weights response,resolution,satisfaction (sum 100)")


class RateOut(Schema):
    metric: str
    n: int
    ok: int
    rate: float | None
    definition: str


class OverviewOut(Schema):
    start: date
    end: date
    volume: int
    rates: list[RateOut]
    composite: float | None
    overdue: int
    due_soon: int
    due_hours: int  # the window due_soon counts: the city's reminder horizon
    trend: list[tuple[str, int]]
    categories: list[tuple[str, int]]


class RowOut(Schema):
    code: str
    name: str
    rank: int | None
    rates: list[RateOut]
    composite: float | None
    previous: float | None


class HotspotOut(Schema):
    id: int
    rank: int
    label: str
    place: str
    heat: float
    size: int
    residents: int
    first: datetime
    last: datetime
    lat: float | None
    lon: float | None
    cases: list[int]


class EscalateIn(Schema):
    due: datetime = Field(description="the new deadline to resolve, with its time zone")
    note: str = Field(description="why, and what the unit must do")


class EscalateOut(Schema):
    id: int
    tracking_code: str
    resolve_due: datetime


NAMES = {
    Metric.RESPONSE: "response",
    Metric.RESOLUTION: "resolution",
    Metric.SATISFACTION: "satisfaction",
}


def _supervisor(request: HttpRequest) -> object:
    user = staff_user(request)
    if not permissions.can_supervise(user):
        raise HttpError(403, _("Supervision is open to supervisors, analysts and administrators."))
    return user


def _filters(params: Period) -> queries.Filters:
    raw = {
        k: str(v) for k, v in params.dict(by_alias=True).items() if v is not None and str(v) != ""
    }
    try:
        return queries.parse_filters(raw)
    except queries.FilterError as exc:
        raise ValidationError({k: [v] for k, v in exc.errors.items()}) from None


def _rates(rates: dict[int, queries.Rate]) -> list[RateOut]:
    return [
        RateOut(
            metric=NAMES[m],
            n=rates[m].n,
            ok=rates[m].ok,
            rate=rates[m].value,
            definition=str(DEFINITIONS[NAMES[m]]),
        )
        for m in RATES
    ]


@router.get(
    "/supervision/overview",
    response={200: OverviewOut, 400: Error, 401: Error, 403: Error, 422: Error},
    auth=STAFF_AUTH,
    summary="The city at a glance (supervisors, analysts)",
)
def overview(request: HttpRequest, params: Query[Period]) -> OverviewOut:
    user = _supervisor(request)
    filters = _filters(params)
    data = queries.overview(user, filters)
    return OverviewOut(
        start=filters.period.start,
        end=filters.period.last,
        volume=data.volume,
        rates=_rates(data.rates),
        composite=data.composite,
        overdue=data.overdue,
        due_soon=data.due_soon,
        due_hours=data.due_hours,
        trend=[(label, n) for label, _d, n in data.trend],
        categories=[(c.code if c else "", n) for c, n in data.categories],
    )


@router.get(
    "/supervision/performance",
    response={200: list[RowOut], 400: Error, 401: Error, 403: Error, 422: Error},
    auth=STAFF_AUTH,
    summary="The evaluation table: rates, composite, rank (supervisors, analysts)",
)
def performance(request: HttpRequest, params: Query[Period]) -> list[RowOut]:
    user = _supervisor(request)
    filters = _filters(params)
    return [
        RowOut(
            code=r.code,
            name=r.name,
            rank=r.rank,
            rates=_rates(r.rates),
            composite=r.composite,
            previous=r.previous,
        )
        for r in queries.performance(user, filters)
    ]


class EvidenceParams(Period):
    metric: str = Field(description="volume, response, resolution or satisfaction")
    ok: bool | None = Field(None, description="only the cases counted as met (true) or missed")
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000_000)


class EvidenceOut(Schema):
    count: int
    cases: list[tuple[int, str]]


@router.get(
    "/supervision/evidence",
    response={200: EvidenceOut, 400: Error, 401: Error, 403: Error, 422: Error},
    auth=STAFF_AUTH,
    summary="The exact cases behind a number (supervisors, analysts)",
)
def evidence(request: HttpRequest, params: Query[EvidenceParams]) -> EvidenceOut:
    user = _supervisor(request)
    metric = {
        "volume": Metric.VOLUME,
        "response": Metric.RESPONSE,
        "resolution": Metric.RESOLUTION,
        "satisfaction": Metric.SATISFACTION,
    }.get(params.metric)
    if metric is None:
        raise ValidationError(
            {"metric": [_("Choose volume, response, resolution or satisfaction.")]}
        )
    filters = _filters(params)
    qs = queries.evidence(user, filters, metric=metric, ok=params.ok)
    page = qs.values_list("id", "tracking_code")[params.offset : params.offset + params.limit]
    return EvidenceOut(count=qs.count(), cases=list(page))


@router.get(
    "/supervision/hotspots",
    response={200: list[HotspotOut], 401: Error, 403: Error},
    auth=STAFF_AUTH,
    summary="The latest hot-spots (supervisors, analysts)",
)
def hotspots(request: HttpRequest) -> list[HotspotOut]:
    user = _supervisor(request)
    run = queries.latest_run()
    if run is None:
        return []
    return [
        HotspotOut(
            id=h.pk,
            rank=h.rank,
            label=h.label,
            place=h.place,
            heat=h.heat,
            size=h.size,
            residents=h.residents,
            first=h.first,
            last=h.last,
            lat=h.lat,
            lon=h.lon,
            cases=list(h.members),
        )
        for h in queries.hotspots_for(user, run)
    ]


@router.post(
    "/supervision/cases/{case_id}/escalate",
    response={200: EscalateOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error},
    auth=STAFF_AUTH,
    summary="Escalate a case (督办) with a new deadline (supervisors)",
)
def escalate(request: HttpRequest, case_id: int, body: EscalateIn) -> EscalateOut:
    user = staff_user(request)
    case = case_queries.get_for(user, case_id)
    if not permissions.can_escalate(user, case):
        raise Http404("Not allowed to escalate this case")
    updated = escalate_case(case, actor=user, due=body.due, note=body.note)
    assert updated.resolve_due is not None
    return EscalateOut(
        id=updated.pk, tracking_code=updated.tracking_code, resolve_due=updated.resolve_due
    )
