"""Reads for GeoReport v2: cases as public service requests.

Open311's GET requests is public by design, so only what the spec lists is ever read:
never a contact detail (those columns are not even loaded), and never a tracking code.

A request's public ``service_request_id`` is the case's primary key, which grants nothing. The
tracking code is a bearer secret (whoever holds it may rate, close or reopen the case), so it
is given only to the application that posted the request, in the POST answer.

The residents' own words (the description) and the staff's replies and reasons (the status
notes) are published only when the city switches ``URBANGOV_OPEN311_PUBLISH_TEXT`` on, and
then through :func:`public_text`, which masks e-mail addresses, long numbers, and the personal
data the PII detector finds (names, addresses down to the building, plates…). The address of a
request is published through the same detector: a street stays, a house and room do not; and
its point is rounded to ``URBANGOV_OPEN311_COORDINATE_DECIMALS`` decimals (3: about 100 m), so
that it does not give away the door the address leaves out. Off (the default), the description
is left out and the status notes say the status in words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov.analytics import pii
from urbangov.cases.models import FINISHED, OPEN_STATUSES, Case, CaseQuerySet, Status
from urbangov.open311 import catalogue, w3c
from urbangov.org.models import Category

MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
STATUSES: dict[str, Sequence[str]] = {"open": OPEN_STATUSES, "closed": FINISHED}
# A service_request_id is a case's primary key: digits only, and within a bigint.
_REQUEST_ID = re.compile(r"[0-9]{1,18}")

# Contact details residents write into their own text; masked before the text is published.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_LONG_NUMBER = re.compile(r"(?<!\d)\d(?:[ -]?\d){6,}[Xx]?(?!\d)")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


def public_text(text: str) -> str:
    """``text`` with e-mail addresses and phone/ID-card numbers (7 digits or more) masked, then
    whatever else the PII detector finds (names, addresses) redacted."""
    text = _EMAIL.sub("[…]", text)
    text = _LONG_NUMBER.sub(lambda m: m.group(0) if _DATE.fullmatch(m.group(0)) else "[…]", text)
    return pii.redact(text)


def base() -> CaseQuerySet:
    """Cases with everything a request shows in one query, and no personal data loaded."""
    return (
        Case.objects.select_related("category", "reported_category", "unit", "open311")
        .defer(
            "contact_name",
            "contact_phone",
            "contact_lookup",
            "open311__email",
            "open311__device_id",
            "open311__account_id",
        )
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class Filters:
    ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None  # exclusive
    statuses: tuple[str, ...] = ()


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def request_id(value: str) -> int | None:
    """The case id a public ``service_request_id`` names, or None when it names none."""
    value = value.strip()
    return int(value) if _REQUEST_ID.fullmatch(value) else None


def _coarse(degrees: float | None) -> float | None:
    """A published coordinate, to the city's chosen precision."""
    if degrees is None:
        return None
    return round(degrees, settings.URBANGOV["OPEN311_COORDINATE_DECIMALS"])


def public_id(case: Case) -> str:
    """The case's ``service_request_id``: its primary key, which grants nothing."""
    return str(case.pk)


def parse_filters(params: dict[str, str]) -> Filters:
    """The GET requests filters; ValueError with a message for anything it cannot use."""
    ids = _split(params.get("service_request_id"))
    if len(ids) > MAX_RESULTS:
        raise ValueError(
            _("service_request_id: ask for at most %(max)d requests at once.")
            % {"max": MAX_RESULTS}
        )
    if ids:
        wrong = [i for i in ids if request_id(i) is None]
        if wrong:
            raise ValueError(
                _("service_request_id: %(values)s; a request id is a number.")
                % {"values": ", ".join(repr(i[:40]) for i in wrong[:5])}
            )
        # The spec: service_request_id overrides every other filter.
        return Filters(ids=tuple(dict.fromkeys(int(i) for i in ids)))
    codes = _split(params.get("service_code"))
    if codes:
        known = set(Category.objects.filter(code__in=codes).values_list("code", flat=True))
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValueError(
                _("service_code: no service %(codes)s.")
                % {"codes": ", ".join(repr(c) for c in unknown)}
            )
    statuses = _split(params.get("status"))
    wrong = [s for s in statuses if s.lower() not in STATUSES]
    if wrong:
        raise ValueError(
            _("status: %(values)s; use open, closed or both (comma-separated).")
            % {"values": ", ".join(repr(s) for s in wrong)}
        )
    start = end = None
    for name in ("start_date", "end_date"):
        raw = params.get(name)
        if raw is None or not raw.strip():
            continue
        try:
            period = w3c.parse(raw)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        if name == "start_date":
            start = period.start
        else:
            end = period.end
    if start is not None and end is not None and start >= end:
        raise ValueError(_("start_date must be earlier than end_date."))
    if start is None and end is None:
        start = timezone.now() - DEFAULT_WINDOW
    elif start is None and end is not None:
        start = end - DEFAULT_WINDOW
    return Filters(
        service_codes=tuple(dict.fromkeys(codes)),
        start=start,
        end=end,
        statuses=tuple(dict.fromkeys(s.lower() for s in statuses)),
    )


def search(filters: Filters) -> list[Case]:
    """The newest matching cases, at most :data:`MAX_RESULTS`, in one query."""
    qs = base()
    if filters.ids:
        return list(qs.filter(pk__in=filters.ids)[:MAX_RESULTS])
    if filters.service_codes:
        qs = qs.filter(
            Q(category__code__in=filters.service_codes)
            | Q(category__isnull=True, reported_category__code__in=filters.service_codes)
        )
    if filters.statuses:
        wanted = [s for name in filters.statuses for s in STATUSES[name]]
        qs = qs.filter(status__in=wanted)
    if filters.start is not None:
        qs = qs.filter(created_at__gte=filters.start)
    if filters.end is not None:
        qs = qs.filter(created_at__lt=filters.end)
    return list(qs[:MAX_RESULTS])


def by_id(value: str) -> Case | None:
    """The case a public ``service_request_id`` names; None for a missing or malformed id."""
    pk = request_id(value)
    return base().filter(pk=pk).first() if pk is not None else None


def publish_text() -> bool:
    """Whether the city publishes the residents' and staff's own words (off by default)."""
    return bool(settings.URBANGOV.get("OPEN311_PUBLISH_TEXT", False))


def _status_notes(case: Case, with_text: bool) -> str:
    if with_text and case.status in (Status.RESOLVED, Status.CLOSED) and case.resolution:
        return public_text(case.resolution)
    if with_text and case.status == Status.REJECTED and case.reject_reason:
        return public_text(case.reject_reason)
    if case.status == Status.MERGED and case.merged_into_id:
        # The surviving request by its public id: a reader can look it up, and act on nothing.
        return _("Merged as a duplicate of %(code)s.") % {"code": case.merged_into_id}
    return str(Status(case.status).label)


def notices() -> Callable[[Category, str], str]:
    """``notice(category, urgency)``, computed once per pair for a whole list."""
    memo: dict[tuple[int, str], str] = {}

    def notice(category: Category, urgency: str) -> str:
        key = (category.pk, urgency)
        if key not in memo:
            memo[key] = catalogue.notice(category, urgency)
        return memo[key]

    return notice


def as_request(case: Case, language: str, notice: Callable[[Category, str], str]) -> dict[str, Any]:
    """One case as a GeoReport v2 service request. No contact detail and no tracking code,
    ever; free text only where the city publishes it."""
    with_text = publish_text()
    category = case.category or case.reported_category
    extra = getattr(case, "open311", None)
    is_open = case.status in OPEN_STATUSES
    return {
        "service_request_id": public_id(case),
        "status": "open" if is_open else "closed",
        "status_notes": _status_notes(case, with_text) or None,
        "service_name": category.display_name(language) if category else None,
        "service_code": category.code if category else None,
        "description": public_text(case.text) if with_text else None,
        "agency_responsible": case.unit.name if case.unit else None,
        "service_notice": notice(category, case.urgency) if category and is_open else None,
        "requested_datetime": w3c.format_datetime(case.created_at),
        "updated_datetime": w3c.format_datetime(case.updated_at),
        "expected_datetime": w3c.format_datetime(case.resolve_due),
        "address": pii.redact(case.address) or None,
        "address_id": (extra.address_id or None) if extra else None,
        "zipcode": None,
        "lat": _coarse(case.lat),
        "long": _coarse(case.lon),
        "media_url": (extra.media_url or None) if extra else None,
    }
