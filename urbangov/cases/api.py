"""Cases over REST: residents create and follow them, staff list, read and move them.

Thin endpoints: authenticate, authorize through :mod:`urbangov.cases.permissions`, read through
:mod:`urbangov.cases.queries`, change through :mod:`urbangov.cases.actions`. Errors are mapped
to HTTP in :mod:`urbangov.api`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import pydantic
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema
from ninja import Status as Reply
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaError

from urbangov.cases import permissions, queries
from urbangov.cases.actions import (
    STAFF_FIELDS,
    Submission,
    Upload,
    perform,
    rate_case,
    reopen_case,
    submit_case,
)
from urbangov.cases.models import Attachment, Case, CaseEvent, Channel, ExtensionStatus, Status
from urbangov.cases.privacy import PersonalView, personal_view
from urbangov.cases.transitions import TRANSITIONS
from urbangov.cases.uploads import declared_too_large, read_uploads

# One implementation each, shared with the staff case page and the tracking page.
from urbangov.org.auth import STAFF_AUTH, optional_user, staff_user
from urbangov.org.models import Category
from urbangov.privacy import purpose as purposes
from urbangov.privacy.purpose import Purpose, redact
from urbangov.privacy.ratelimit import client_ip, hit, parse_rate

router = Router(tags=["cases"])

RESIDENT_CHANNELS = (Channel.WEB, Channel.APP)
# Cases taken by staff for a resident: on the phone, at a counter, or helped through the form.
STAFF_CHANNELS = (Channel.PHONE, Channel.COUNTER, Channel.ASSISTED)


class Error(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


ERRORS: dict[int, type[Schema]] = dict.fromkeys(
    (400, 401, 403, 404, 409, 413, 415, 422, 429), Error
)


def _errors(*codes: int) -> dict[int, type[Schema]]:
    return {code: ERRORS[code] for code in codes}


# --- create ------------------------------------------------------------------------------------


class CaseIn(Schema):
    """A resident's request. As JSON, or as multipart/form-data with photos as file parts."""

    model_config = pydantic.ConfigDict(extra="forbid")

    text: str = Field(description="What the problem is.")
    title: str = Field("", description="A short title; made from the text when empty.")
    category: str | None = Field(None, description="Category code (see /categories).")
    channel: str = Field(
        Channel.APP,
        description="web or app for anyone; phone, counter or assisted only for staff who "
        "take cases in (operators, handlers, supervisors, administrators).",
    )
    lat: float | None = Field(None, description="Latitude (WGS 84), with lon.")
    lon: float | None = Field(None, description="Longitude (WGS 84), with lat.")
    address: str = ""
    contact_name: str = Field("", description="Optional; stored encrypted.")
    contact_phone: str = Field("", description="Optional; stored encrypted.")
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Answers to the category's extra questions."
    )
    idempotency_key: str | None = Field(
        None, description="The same as the Idempotency-Key header; give one or the other."
    )


class CaseCreated(Schema):
    id: int
    tracking_code: str
    status: str
    created: bool = Field(description="False when an Idempotency-Key replay found the case.")
    tracking_url: str = Field(description="The resident's page for following the case.")
    api_url: str = Field(description="The same, as JSON.")


# Categories by code, per process, for the intake hot path: the catalogue changes a few times
# a year, cases arrive hundreds a second. Refreshed every minute (as the geo index is) and at
# once in the process where a category is saved.
_CATEGORY_SECONDS = 60.0
_categories: tuple[float, dict[str, Category]] | None = None


def _forget_categories(**_: Any) -> None:
    global _categories
    _categories = None


post_save.connect(_forget_categories, sender=Category, dispatch_uid="cases.api.categories.save")
post_delete.connect(_forget_categories, sender=Category, dispatch_uid="cases.api.categories.delete")


def _category(code: str) -> Category | None:
    global _categories
    cached = _categories
    if cached is None or time.monotonic() - cached[0] > _CATEGORY_SECONDS:
        cached = (time.monotonic(), {c.code: c for c in Category.objects.all()})
        _categories = cached
    return cached[1].get(code)


class RateLimited(HttpError):
    def __init__(self, retry_after: int) -> None:
        self.headers = {"Retry-After": str(retry_after)}
        super().__init__(
            429,
            _("Too many requests from your address; please try again in %(n)d seconds.")
            % {"n": retry_after},
        )


def _rate_limited(request: HttpRequest, scope: str) -> None:
    rate = settings.URBANGOV["PUBLIC_SUBMIT_RATE"]
    if not hit(scope, client_ip(request), rate):
        _limit, window = parse_rate(rate)
        raise RateLimited(window - int(time.time()) % window)


def _schema_errors(exc: pydantic.ValidationError) -> SchemaError:
    return SchemaError(
        [
            {"loc": ("body", "payload", *e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False)
        ]
    )


def _form_data(request: HttpRequest) -> tuple[dict[str, Any], list[Upload]]:
    data: dict[str, Any] = {}
    for key in request.POST:
        value = request.POST.get(key, "")
        if value == "" and key in {"lat", "lon", "category", "idempotency_key"}:
            continue
        data[key] = value
    if isinstance(data.get("attributes"), str):
        try:
            data["attributes"] = json.loads(data["attributes"])
        except json.JSONDecodeError:
            raise ValidationError(
                {"attributes": [_("Send the answers as a JSON object.")]}
            ) from None
    # Every file part, whatever its name: counted before any is read, each read at most one
    # byte past the size cap.
    files = [f for name in request.FILES for f in request.FILES.getlist(name)]
    return data, read_uploads(files)


def _json_data(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise HttpError(400, _("Cannot parse request body")) from exc
    if not isinstance(data, dict):
        raise HttpError(400, _("The request body must be a JSON object."))
    return data


def _read_submission(request: HttpRequest) -> tuple[CaseIn, list[Upload]]:
    from urbangov.api import is_json  # the API module imports this one

    content_type = request.content_type or ""
    uploads: list[Upload] = []
    # JSON, or multipart for photos; nothing else. A body typed text/plain, urlencoded or not
    # at all is what another site's page can make its visitors' browsers send without asking
    # (a CORS "simple" request), so it is refused. Multipart is too, but stays for the photos:
    # the limit per address holds there.
    if content_type == "multipart/form-data":
        data, uploads = _form_data(request)
    elif is_json(content_type):
        data = _json_data(request)
    else:
        raise HttpError(
            415,
            _("Send the case as application/json or as multipart/form-data, not %(type)s.")
            % {"type": content_type or "(none)"},
        )
    try:
        return CaseIn.model_validate(data), uploads
    except pydantic.ValidationError as exc:
        raise _schema_errors(exc) from None


def _created(request: HttpRequest, case: Case, created: bool) -> CaseCreated:
    track = reverse("cases:track_case", kwargs={"code": case.tracking_code})
    return CaseCreated(
        id=case.pk,
        tracking_code=case.tracking_code,
        status=case.status,
        created=created,
        tracking_url=request.build_absolute_uri(track),
        api_url=request.build_absolute_uri(
            reverse("api:track", kwargs={"code": case.tracking_code})
        ),
    )


_CREATE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": CaseIn.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                **CaseIn.model_json_schema(),
                "properties": {
                    **CaseIn.model_json_schema()["properties"],
                    "attributes": {"type": "string", "description": "A JSON object, as text."},
                    "attachments": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "Photos (JPEG, PNG, GIF, WebP, HEIC) or PDF documents.",
                    },
                },
                "additionalProperties": True,
            }
        },
    },
}


@router.post(
    "/cases",
    response={201: CaseCreated, 200: CaseCreated, **_errors(400, 401, 403, 413, 415, 422, 429)},
    summary="Submit a case",
    openapi_extra={"requestBody": _CREATE_BODY, "security": [{}, {"BearerToken": []}]},
)
def create_case(
    request: HttpRequest,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        description="A key of the client's choosing (a UUID); a retry with the same key "
        "returns the case the first request made, with status 200, and never makes a second.",
    ),
) -> Reply[CaseCreated]:
    """Residents submit without authentication (channel web or app), limited per client
    address. Staff who take cases in (operators, handlers, supervisors, administrators) may
    also enter cases taken by phone, at a counter or assisted, without the limit; other staff
    roles submit as residents do."""
    if declared_too_large(request):
        raise HttpError(413, _("The request body is too large."))
    user = optional_user(request)
    staff = user is not None and permissions.can_take_intake(user)
    if not staff:
        _rate_limited(request, "api.cases.create")
    payload, uploads = _read_submission(request)
    key = idempotency_key.strip() if idempotency_key else None
    if payload.idempotency_key and key and payload.idempotency_key != key:
        raise ValidationError(
            {
                "idempotency_key": [
                    _("The Idempotency-Key header and the body's idempotency_key differ.")
                ]
            }
        )
    key = key or payload.idempotency_key
    if payload.channel in STAFF_CHANNELS and not staff:
        if user is None:
            raise AuthenticationError(
                401,
                _("Cases by %(channel)s are entered by staff: authenticate with a staff token.")
                % {"channel": payload.channel},
            )
        raise HttpError(
            403,
            _(
                "Only operators, handlers and supervisors may enter cases by phone, at a "
                "counter or assisted."
            ),
        )
    if payload.channel not in RESIDENT_CHANNELS + STAFF_CHANNELS:
        raise ValidationError(
            {
                "channel": [
                    _("Unknown channel %(value)r; use one of %(choices)s.")
                    % {
                        "value": payload.channel,
                        "choices": ", ".join(RESIDENT_CHANNELS + STAFF_CHANNELS),
                    }
                ]
            }
        )
    category = None
    if payload.category:
        category = _category(payload.category)
        if category is None:
            raise ValidationError(
                {"category": [_("No category with code %(code)r.") % {"code": payload.category}]}
            )
    result = submit_case(
        actor=user,
        submission=Submission(
            channel=payload.channel,
            title=payload.title,
            text=payload.text,
            reported_category=category,
            lat=payload.lat,
            lon=payload.lon,
            address=payload.address,
            contact_name=payload.contact_name,
            contact_phone=payload.contact_phone,
            attributes=payload.attributes,
            attachments=uploads,
            idempotency_key=key,
        ),
    )
    return Reply(201 if result.created else 200, _created(request, result.case, result.created))


# --- staff: list and read ---------------------------------------------------------------------


class Ref(Schema):
    code: str
    name: str


class CaseSummary(Schema):
    id: int
    tracking_code: str
    title: str
    status: str
    status_label: str
    channel: str
    urgency: str
    category: Ref | None
    area: Ref | None
    unit: Ref | None
    created_at: datetime
    resolve_due: datetime | None
    overdue: bool


class CasePage(Schema):
    count: int = Field(description="How many cases match, over all pages.")
    limit: int
    offset: int
    items: list[CaseSummary]


class CaseFilters(Schema):
    status: str | None = Field(None, description="One of " + ", ".join(Status.values))
    category: str | None = Field(
        None, description="Category code; a parent code takes its children."
    )
    area: str | None = Field(None, description="Area code; the area and everything below it.")
    unit: str | None = Field(None, description="Handling unit code.")
    overdue: bool = Field(False, description="Only cases in a unit's hands past their deadline.")
    created_from: datetime | None = Field(None, description="Submitted at or after (inclusive).")
    created_to: datetime | None = Field(None, description="Submitted before (exclusive).")
    q: str | None = Field(None, description="A tracking code, or words of the title.")
    limit: int = Field(50, ge=1, le=500)
    # Bounded so that no offset overflows the database's integers (SQLite's are 64-bit).
    offset: int = Field(0, ge=0, le=1_000_000_000)


def _ref(obj: Any) -> Ref | None:
    return Ref(code=obj.code, name=obj.name) if obj is not None else None


def _aware(value: datetime | None) -> datetime | None:
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value)


def _summary(case: Case, now: datetime) -> CaseSummary:
    return CaseSummary(
        id=case.pk,
        tracking_code=case.tracking_code,
        # Lists never state a purpose: the title as anyone without one sees it.
        title=redact(case.title),
        status=case.status,
        status_label=str(Status(case.status).label),
        channel=case.channel,
        urgency=case.urgency,
        category=_ref(case.category),
        area=_ref(case.area),
        unit=_ref(case.unit),
        created_at=case.created_at,
        resolve_due=case.resolve_due,
        overdue=case.is_overdue(now),
    )


@router.get(
    "/cases",
    response={200: CasePage, **_errors(400, 401, 403, 422)},
    auth=STAFF_AUTH,
    summary="List cases (staff)",
)
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> CasePage:
    """The cases the caller may see, newest first, filtered and paginated."""
    user = staff_user(request)
    now = timezone.now()
    try:
        qs = queries.filtered(
            queries.scoped(user),
            status=filters.status,
            category=filters.category,
            area=filters.area,
            unit=filters.unit,
            overdue=filters.overdue,
            created_from=_aware(filters.created_from),
            created_to=_aware(filters.created_to),
            q=filters.q,
            now=now,
        )
    except ValueError as exc:
        raise HttpError(400, _("Unknown filter value: %(error)s.") % {"error": exc}) from None
    page = (
        qs.select_related("category", "area", "unit")
        .defer("text", "contact_name", "contact_phone", "attributes", "resolution")
        .order_by("-created_at", "-id")[filters.offset : filters.offset + filters.limit]
    )
    return CasePage(
        count=qs.count(),
        limit=filters.limit,
        offset=filters.offset,
        items=[_summary(case, now) for case in page],
    )


class Contact(Schema):
    name: str
    phone: str
    masked: bool = Field(description="True when the caller may not see the raw details.")


class AttachmentOut(Schema):
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class EventOut(Schema):
    at: datetime
    kind: str
    from_status: str
    to_status: str
    actor: str
    note: str
    public: bool
    data: dict[str, Any]


class TransitionOut(Schema):
    name: str
    label: str
    fields: dict[str, bool] = Field(description="The body's fields; true where required.")


class CaseDetail(CaseSummary):
    text: str
    reported_category: Ref | None
    lat: float | None
    lon: float | None
    address: str
    anonymous: bool
    contact: Contact | None
    attributes: dict[str, Any]
    updated_at: datetime
    dispatched_at: datetime | None
    response_due: datetime | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str
    reject_reason: str
    merged_into: str | None = Field(description="Tracking code of the surviving case.")
    reopen_count: int
    pending_extension_hours: int | None
    attachments: list[AttachmentOut]
    timeline: list[EventOut]
    transitions: list[TransitionOut] = Field(
        description="What the caller may do now: POST /cases/{id}/transitions/{name}."
    )


def _contact(case: Case, personal: PersonalView) -> Contact | None:
    if case.anonymous or not (case.contact_name or case.contact_phone):
        return None
    return Contact(
        name=personal.contact_name, phone=personal.contact_phone, masked=not personal.raw
    )


def _detail(user: User, case: Case, stated: Purpose | None = None) -> CaseDetail:
    now = timezone.now()
    # Raw personal data: a role that may, and a stated purpose; the read is logged with it.
    personal = personal_view(
        user, case, stated, via="api", may=permissions.can_see_contact(user, case)
    )
    pending = case.extensions.filter(status=ExtensionStatus.PENDING).first()
    merged_into = (
        Case.objects.filter(pk=case.merged_into_id).values_list("tracking_code", flat=True).first()
        if case.merged_into_id
        else None
    )
    return CaseDetail(
        **{**_summary(case, now).model_dump(), "title": personal.title},
        text=personal.text,
        reported_category=_ref(case.reported_category),
        lat=case.lat,
        lon=case.lon,
        address=personal.address,
        anonymous=case.anonymous,
        contact=_contact(case, personal),
        attributes=case.attributes,
        updated_at=case.updated_at,
        dispatched_at=case.dispatched_at,
        response_due=case.response_due,
        accepted_at=case.accepted_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        resolution=personal.resolution,
        reject_reason=personal.reject_reason,
        merged_into=merged_into,
        reopen_count=case.reopen_count,
        pending_extension_hours=pending.hours if pending else None,
        attachments=[
            AttachmentOut(
                name=a.name,
                content_type=a.content_type,
                size=a.size,
                sha256=a.sha256,
                uploaded_at=a.uploaded_at,
            )
            for a in Attachment.objects.filter(case=case).order_by("id")
        ],
        timeline=[
            EventOut(
                at=e.at,
                kind=e.kind,
                from_status=e.from_status,
                to_status=e.to_status,
                actor=e.actor_label,
                note=personal.clean(e.note),
                public=e.public,
                data=e.data,
            )
            for e in CaseEvent.objects.filter(case=case).order_by("at", "id")
        ],
        transitions=[
            TransitionOut(name=name, label=str(TRANSITIONS[name].label), fields=STAFF_FIELDS[name])
            for name in queries.available_transitions(user, case)
        ],
    )


@router.get(
    "/cases/{int:case_id}",
    response={200: CaseDetail, **_errors(401, 403, 404)},
    auth=STAFF_AUTH,
    summary="Read a case (staff)",
    url_name="case",
)
def read_case(
    request: HttpRequest,
    case_id: int,
    purpose: str | None = Query(
        None,
        description="Why you need the personal data: " + ", ".join(Purpose.values) + ". "
        "Without one, contact details are masked and free text is redacted.",
    ),
) -> CaseDetail:
    """The case with its timeline and the transitions the caller may take now. Personal
    data (contact, address, what the resident and staff wrote) is raw only for the handler
    and operators of the case who state a purpose, and that read is in the audit log with
    it; masked and redacted otherwise."""
    user = staff_user(request)
    case = queries.get_for(user, case_id)
    try:
        stated = purposes.stated(purpose)
    except purposes.UnknownPurpose as exc:
        raise HttpError(400, str(exc)) from None
    return _detail(user, case, stated)


class TransitionIn(Schema):
    """The fields a transition takes; each transition uses only some (see the case's
    ``transitions``)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    unit: str | None = Field(None, description="dispatch: the handling unit's code.")
    category: str | None = Field(None, description="dispatch: a category code to set.")
    urgency: str | None = Field(
        None, description="dispatch: emergency, utility, ordinary or complex."
    )
    note: str | None = None
    reason: str | None = Field(None, description="send_back, request_extension, reject.")
    hours: int | None = Field(None, description="request_extension: extra hours wanted.")
    resolution: str | None = Field(None, description="resolve: the reply to the resident.")
    into: str | None = Field(None, description="merge: tracking code of the surviving case.")


@router.post(
    "/cases/{int:case_id}/transitions/{name}",
    response={200: CaseDetail, **_errors(400, 401, 403, 404, 409, 422)},
    auth=STAFF_AUTH,
    summary="Move a case (staff)",
)
def transition_case(
    request: HttpRequest, case_id: int, name: str, payload: TransitionIn | None = None
) -> CaseDetail:
    """Take the transition ``name`` (dispatch, accept, send_back, request_extension,
    grant_extension, refuse_extension, resolve, close, merge, reject). 404 when the caller
    cannot see the case, 403 when they may not take this transition, 409 when the case's
    status does not allow it; nothing changes on any error."""
    user = staff_user(request)
    if name not in STAFF_FIELDS:
        raise HttpError(
            404,
            _("No transition named %(name)r; the transitions are %(names)s.")
            % {"name": name, "names": ", ".join(STAFF_FIELDS)},
        )
    case = queries.get_for(user, case_id)
    if not permissions.can(name, user, case):
        raise HttpError(
            403,
            _("You may not %(action)s this case.") % {"action": TRANSITIONS[name].label},
        )
    data = payload.model_dump(exclude_none=True) if payload is not None else {}
    stray = sorted(set(data) - set(STAFF_FIELDS[name]))
    if stray:
        raise ValidationError(
            {
                field: [_("%(name)s takes no %(field)s.") % {"name": name, "field": field}]
                for field in stray
            }
        )
    perform(name, case, actor=user, data=data)
    # Read again without the scope check: a handler who sends a case back no longer sees it,
    # yet must hear that the transition was done. The detail follows their scope as it is now
    # (contact masked, no transitions left to them).
    after = Case.objects.select_related("area", "unit", "category", "reported_category")
    return _detail(user, after.get(pk=case.pk))


# --- residents: follow by tracking code ---------------------------------------------------------


class PublicEvent(Schema):
    at: datetime
    kind: str
    text: str = Field(description="What happened, in the request's language.")
    who: str = Field(
        description="The resident ('you'), the unit by name, or the city service centre."
    )
    note: str = Field(
        description="The reply, the reason for a rejection, or the resident's own words."
    )


class FollowedCase(Schema):
    """The case a duplicate was merged into, as its reporter may see it: read-only."""

    status: str
    status_label: str
    unit: str | None = Field(description="The unit handling it, by name.")
    resolved_at: datetime | None
    resolution: str = Field(description="The reply, once it is resolved.")


class Tracking(Schema):
    tracking_code: str
    title: str
    status: str
    status_label: str
    category: str | None
    unit: str | None
    created_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str
    reject_reason: str
    merged_into: FollowedCase | None = Field(
        description="For a duplicate: the status, unit and reply of the case the city follows "
        "up instead. Never that case's tracking code, which is another resident's."
    )
    rating: str | None = Field(description="The resident's rating of the latest resolution.")
    reopen_until: datetime | None
    timeline: list[PublicEvent]


def _followed(case: Case) -> FollowedCase | None:
    survivor = queries.surviving_case(case)
    if survivor is None:
        return None
    replied = survivor.status in (Status.RESOLVED, Status.CLOSED)
    return FollowedCase(
        status=survivor.status,
        status_label=str(Status(survivor.status).label),
        unit=survivor.unit.name if survivor.unit else None,
        resolved_at=survivor.resolved_at if replied else None,
        resolution=redact(survivor.resolution) if replied else "",
    )


def _tracking(case: Case) -> Tracking:
    feedback = case.feedback.filter(round=case.reopen_count).first()
    # Until dispatch sets the category, the one the resident chose stands for it.
    shown = case.category or case.reported_category
    return Tracking(
        tracking_code=case.tracking_code,
        # Whoever holds the code: never personal data unredacted (see the tracking page).
        title=redact(case.title),
        status=case.status,
        status_label=str(Status(case.status).label),
        category=shown.display_name(get_language() or "zh-hans") if shown else None,
        unit=case.unit.name if case.unit else None,
        created_at=case.created_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        resolution=redact(case.resolution),
        reject_reason=redact(case.reject_reason),
        merged_into=_followed(case),
        rating=feedback.rating if feedback else None,
        reopen_until=case.reopen_deadline()
        if case.status in (Status.RESOLVED, Status.CLOSED)
        else None,
        # The same timeline as the tracking page shows, so the two never disagree.
        timeline=[
            PublicEvent(**{**row, "note": redact(row.get("note") or "")})
            for row in queries.public_timeline(case)
        ],
    )


def _by_code(code: str) -> Case:
    case = queries.by_tracking_code(code)
    if case is None:
        raise HttpError(404, _("No case has the tracking code %(code)s.") % {"code": code})
    return case


@router.get(
    "/track/{code}",
    response={200: Tracking, 404: Error},
    summary="Follow a case by its tracking code",
    url_name="track",
)
def track(request: HttpRequest, code: str) -> Tracking:
    """What the resident may see: status, the unit handling it, the reply and the public
    timeline. Never contact details, never staff names."""
    return _tracking(_by_code(code))


def _resident_or_staff(request: HttpRequest) -> User | None:
    """Residents act on their case by its code, limited per address; staff who take cases in
    may act for them (a callback survey, 回访) without the limit."""
    user = optional_user(request)
    if user is None or not permissions.can_take_intake(user):
        _rate_limited(request, "api.track")
    return user


class RatingIn(Schema):
    rating: str = Field(description="satisfied, basic (basically satisfied) or dissatisfied.")
    comment: str = ""


@router.post(
    "/track/{code}/rating",
    response={200: Tracking, **_errors(400, 404, 409, 422, 429)},
    summary="Rate the resolution",
)
def rate(request: HttpRequest, code: str, payload: RatingIn) -> Tracking:
    """Rate a resolved case; satisfied or basically satisfied closes it, dissatisfied lets
    the resident reopen it within the reopen window."""
    user = _resident_or_staff(request)
    case = _by_code(code)
    rate_case(case, actor=user, rating=payload.rating, comment=payload.comment)
    return _tracking(_by_code(code))


class ReopenIn(Schema):
    reason: str = ""


@router.post(
    "/track/{code}/reopen",
    response={200: Tracking, **_errors(400, 404, 409, 422, 429)},
    summary="Reopen after a dissatisfied rating",
)
def reopen(request: HttpRequest, code: str, payload: ReopenIn | None = None) -> Tracking:
    """Reopen a case rated dissatisfied, within the reopen window; it goes back to dispatch."""
    user = _resident_or_staff(request)
    case = _by_code(code)
    reopen_case(case, actor=user, reason=payload.reason if payload is not None else "")
    return _tracking(_by_code(code))
