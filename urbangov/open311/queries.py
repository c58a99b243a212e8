"""Reads for GeoReport v2: cases as public service requests.

Open311's GET requests is public by design, so only what the spec lists is ever read:
never a contact detail (those columns are not even loaded), and the free text goes through
:func:`public_text` first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov.cases.models import FINISHED, OPEN_STATUSES, Case, CaseQuerySet, Status
from urbangov.open311 import catalogue, w3c
from urbangov.org.models import Category

MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
STATUSES: dict[str, Sequence[str]] = {"open": OPEN_STATUSES, "closed": FINISHED}

# Contact details residents write into their own text; masked before the text is published.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_LONG_NUMBER = re.compile(r"(?<!\d)\d(?:[ -]?\d){6,}[Xx]?(?!\d)")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


def public_text(text: str) -> str:
    """``text`` with e-mail addresses and phone/ID-card numbers (7 digits or more) masked."""
    text = _EMAIL.sub("[…]", text)
    return _LONG_NUMBER.sub(lambda m: m.group(0) if _DATE.fullmatch(m.group(0)) else "[…]", text)


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
        .annotate(merged_code=F("merged_into__tracking_code"))
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class Filters:
    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None  # exclusive
    statuses: tuple[str, ...] = ()


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_filters(params: dict[str, str]) -> Filters:
    """The GET requests filters; ValueError with a message for anything it cannot use."""
    from urbangov.cases.models import normalise_tracking_code

    ids = _split(params.get("service_request_id"))
    if len(ids) > MAX_RESULTS:
        raise ValueError(
            _("service_request_id: ask for at most %(max)d requests at once.")
            % {"max": MAX_RESULTS}
        )
    if ids:
        # The spec: service_request_id overrides every other filter.
        return Filters(ids=tuple(dict.fromkeys(normalise_tracking_code(i) for i in ids)))
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
        return list(qs.filter(tracking_code__in=filters.ids)[:MAX_RESULTS])
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


def by_id(request_id: str) -> Case | None:
    from urbangov.cases.models import normalise_tracking_code

    return base().filter(tracking_code=normalise_tracking_code(request_id)).first()


def _status_notes(case: Case) -> str:
    if case.status in (Status.RESOLVED, Status.CLOSED) and case.resolution:
        return public_text(case.resolution)
    if case.status == Status.REJECTED:
        return public_text(case.reject_reason)
    merged = getattr(case, "merged_code", None)
    if case.status == Status.MERGED and merged:
        return _("Merged as a duplicate of %(code)s.") % {"code": merged}
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
    """One case as a GeoReport v2 service request. No contact detail, ever."""
    category = case.category or case.reported_category
    extra = getattr(case, "open311", None)
    is_open = case.status in OPEN_STATUSES
    return {
        "service_request_id": case.tracking_code,
        "status": "open" if is_open else "closed",
        "status_notes": _status_notes(case) or None,
        "service_name": category.display_name(language) if category else None,
        "service_code": category.code if category else None,
        "description": public_text(case.text),
        "agency_responsible": case.unit.name if case.unit else None,
        "service_notice": notice(category, case.urgency) if category and is_open else None,
        "requested_datetime": w3c.format_datetime(case.created_at),
        "updated_datetime": w3c.format_datetime(case.updated_at),
        "expected_datetime": w3c.format_datetime(case.resolve_due),
        "address": case.address or None,
        "address_id": (extra.address_id or None) if extra else None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": (extra.media_url or None) if extra else None,
    }
