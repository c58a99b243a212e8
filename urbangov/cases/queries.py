"""Reads of cases, always through the reader's scope."""

from __future__ import annotations

import operator
import re
from datetime import datetime
from functools import reduce
from typing import Any

from django.db.models import Case as When_
from django.db.models import F, Q, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from urbangov.analytics import pii
from urbangov.cases import permissions
from urbangov.cases.models import (
    CODE_ALPHABET,
    Case,
    CaseEvent,
    CaseQuerySet,
    Channel,
    ExtensionStatus,
    Rating,
    Status,
    normalise_tracking_code,
)
from urbangov.cases.permissions import AREA_ROLES, CASE_ROLES, can_view
from urbangov.cases.transitions import STAFF_TRANSITIONS, TRANSITIONS
from urbangov.org.models import Area, Category, Role, Unit, Urgency
from urbangov.org.queries import scope_of


def scoped(user: Any, qs: CaseQuerySet | None = None) -> CaseQuerySet:
    """The cases ``user`` may see: their units' cases, and for operators, supervisors and
    analysts every case in their units' areas (and unlocated ones when they cover the city)."""
    qs = qs if qs is not None else Case.objects.all()
    scope = scope_of(user)
    if scope.is_admin:
        return qs
    if scope.covers_everything(*AREA_ROLES):
        # Every located case lies under a root area, and the unlocated ones are the
        # city-wide's too: no filter (its OR would keep the database off its indexes on a
        # city's millions of cases).
        return qs
    clauses: list[Q] = []
    unit_ids = scope.unit_ids(*CASE_ROLES)
    if unit_ids:
        clauses.append(Q(unit_id__in=unit_ids))
    clauses += [Q(area__path__startswith=p) for p in sorted(scope.paths(*AREA_ROLES))]
    if scope.is_citywide(*AREA_ROLES):
        clauses.append(Q(area__isnull=True))
    if not clauses:
        return qs.none()
    return qs.filter(reduce(operator.or_, clauses))


def get_for(user: Any, pk: int) -> Case:
    """The case if ``user`` may see it; 404 for missing and for not-yours alike."""
    case = (
        Case.objects.select_related("area", "unit", "category", "reported_category")
        .filter(pk=pk)
        .first()
    )
    if case is None or not can_view(user, case):
        raise Http404("No such case")
    return case


def by_tracking_code(code: str) -> Case | None:
    return (
        Case.objects.select_related("unit", "category", "reported_category")
        .filter(tracking_code=normalise_tracking_code(code))
        .first()
    )


# How many merges a duplicate's reporter is followed through (a merged case's survivor may
# itself be merged later); a bound, so that a cycle cannot loop.
_MERGE_HOPS = 10


def surviving_case(case: Case) -> Case | None:
    """For a merged case, the case the city follows up instead (through later merges too),
    with only what its reporter may see loaded: status, unit, reply. None otherwise."""
    seen = {case.pk}
    current = case
    for _hop in range(_MERGE_HOPS):
        target = current.merged_into_id
        if current.status != Status.MERGED or target is None or target in seen:
            break
        found = (
            Case.objects.select_related("unit")
            .only("status", "merged_into", "resolution", "resolved_at", "closed_at", "unit__name")
            .filter(pk=target)
            .first()
        )
        if found is None:
            break
        seen.add(found.pk)
        current = found
    return current if current.pk != case.pk else None


def filtered(
    qs: CaseQuerySet,
    *,
    status: str | None = None,
    category: str | None = None,
    area: str | None = None,
    unit: str | None = None,
    overdue: bool = False,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: str | None = None,
    now: datetime | None = None,
) -> CaseQuerySet:
    """Apply workbench/API filters; unknown codes raise ValueError with a message."""
    if status:
        if status not in Status.values:
            raise ValueError(f"unknown status {status!r}")
        qs = qs.filter(status=status)
    if category:
        if not Category.objects.filter(code=category).exists():
            raise ValueError(f"unknown category {category!r}")
        # Until dispatch sets the category, the one the resident chose stands for it.
        qs = qs.filter(
            Q(category__code=category)
            | Q(category__parent__code=category)
            | Q(category__isnull=True, reported_category__code=category)
            | Q(category__isnull=True, reported_category__parent__code=category)
        )
    if area:
        found = Area.objects.filter(code=area).first()
        if found is None:
            raise ValueError(f"unknown area {area!r}")
        qs = qs.in_area(found)
    if unit:
        if not Unit.objects.filter(code=unit).exists():
            raise ValueError(f"unknown unit {unit!r}")
        qs = qs.filter(unit__code=unit)
    if overdue:
        qs = qs.overdue(now or timezone.now())
    if created_from:
        qs = qs.filter(created_at__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__lt=created_to)
    if q:
        q = q.strip()
        code = normalise_tracking_code(q)
        is_code = bool(_TRACKING.fullmatch(code))
        match = Q(tracking_code=code) if is_code else Q(pk__in=[])
        if not _personal(q):
            match |= Q(title__icontains=q)
        elif not is_code:
            # Titles are searched raw: a search for a phone number, an ID or a name would tell
            # which cases hold it to a reader who sees them redacted.
            raise ValueError(
                _(
                    "Search by a tracking code or words of the title, not by personal data "
                    "(a phone or ID number, a name): that needs a case opened with a purpose."
                )
            )
        qs = qs.filter(match)
    return qs


_TRACKING = re.compile(f"[{CODE_ALPHABET}]{{5}}-[{CODE_ALPHABET}]{{5}}")
# A run of this many digits is part of a phone, ID or card number, even where it is not whole.
_NUMBER_FRAGMENT = re.compile(r"\d{6,}")
_SEARCH_REFUSED = frozenset(pii.PiiType) - {pii.PiiType.ADDRESS}


def _personal(query: str) -> bool:
    """Whether a search text holds personal data (places aside: a case's place is shown)."""
    return bool(_NUMBER_FRAGMENT.search(query) or pii.detect(query, types=_SEARCH_REFUSED))


def queue_for(user: Any) -> CaseQuerySet:
    """What needs the user's hand first, by their roles."""
    scope = scope_of(user)
    qs = scoped(user)
    wanted = Q(pk__in=[])
    if scope.has(Role.OPERATOR):
        wanted |= Q(status__in=[Status.SUBMITTED, Status.AWAITING_DISPATCH])
        wanted |= Q(status=Status.ACCEPTED, extensions__status=ExtensionStatus.PENDING)
    if scope.has(Role.HANDLER):
        wanted |= Q(
            status__in=[Status.DISPATCHED, Status.ACCEPTED],
            unit_id__in=scope.unit_ids(Role.HANDLER),
        )
    if scope.has(Role.SUPERVISOR):
        wanted |= Q(status__in=[Status.DISPATCHED, Status.ACCEPTED], resolve_due__lt=timezone.now())
        wanted |= Q(status=Status.ACCEPTED, extensions__status=ExtensionStatus.PENDING)
    return queue_order(qs.filter(wanted).distinct())


def queue_order(qs: CaseQuerySet) -> CaseQuerySet:
    """Emergencies first (they jump the queue), then the nearest deadline, then the oldest."""
    emergency_first = When_(When(urgency=Urgency.EMERGENCY, then=Value(0)), default=Value(1))
    return qs.order_by(emergency_first, F("resolve_due").asc(nulls_last=True), "created_at", "id")


# --- timelines and what staff may do next -------------------------------------------------


def _resident_label(event: CaseEvent) -> bool:
    return event.actor_id is None and event.actor_label == "resident"


def public_timeline(case: Case) -> list[dict[str, Any]]:
    """The events a resident sees: what happened and which unit did it, never staff names."""
    centre = _("City service centre")
    events = list(case.events.all().order_by("at", "id"))
    codes = {str(e.data.get("unit")) for e in events if e.kind == "dispatch" and e.data}
    unit_names = dict(Unit.objects.filter(code__in=codes).values_list("code", "name"))
    current: str | None = None
    rows: list[dict[str, Any]] = []
    for event in events:
        data = event.data or {}
        if event.kind == "dispatch":
            current = (
                data.get("unit_name")
                or unit_names.get(str(data.get("unit")))
                or (case.unit.name if case.unit else None)
            )
        elif event.kind in ("send_back", "reopen"):
            current = None
        if not event.public:
            continue
        unit = current or centre
        who = unit
        note = ""
        if event.kind == "submit":
            text = _("Case received")
            channel = data.get("channel", case.channel)
            who = _("You") if channel in (Channel.WEB, Channel.APP) else centre
        elif event.kind == "triage":
            text = _("Waiting to be sent to the unit in charge")
            who = centre
        elif event.kind == "dispatch":
            text = _("Sent to %(unit)s") % {"unit": unit}
            who = centre
            # By what: the dispatch algorithm by itself, or a person (see "How your case was
            # routed" for why).
            note = (
                _("Routed automatically by the city's dispatch algorithm.")
                if data.get("decision")
                else _("Routed by a dispatch operator.")
            )
        elif event.kind == "accept":
            text = _("%(unit)s has taken on the case") % {"unit": unit}
        elif event.kind == "grant_extension":
            due = parse_datetime(str(data.get("resolve_due", "")))
            text = (
                _("More time was granted; the new deadline is %(date)s")
                % {"date": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")}
                if due
                else _("More time was granted")
            )
        elif event.kind == "resolve":
            text = _("%(unit)s replied") % {"unit": unit}
            note = event.note
        elif event.kind == "rate":
            rating = data.get("rating", "")
            label = Rating(rating).label if rating in Rating.values else rating
            text = _("Rated the reply: %(rating)s") % {"rating": label}
            who = _("You") if _resident_label(event) else centre
            note = event.note
        elif event.kind == "close":
            text = _("Case closed")
            who = _("You") if _resident_label(event) else centre
        elif event.kind == "reopen":
            text = _("Reopened because the reply was not satisfactory")
            who = _("You") if _resident_label(event) else centre
            note = event.note
        elif event.kind == "merge":
            # Never the other case's tracking code: it is another resident's key to that case.
            text = _(
                "This case reports the same problem as another one; the city follows it up there."
            )
            who = centre
        elif event.kind == "reject":
            text = _("Not a matter the city can take on")
            who = centre
            note = event.note
        elif event.kind in TRANSITIONS:
            text = str(TRANSITIONS[event.kind].label)
        else:
            text = (
                str(Status(event.to_status).label)
                if event.to_status in Status.values
                else event.kind
            )
        rows.append({"at": event.at, "kind": event.kind, "text": text, "who": who, "note": note})
    return rows


def _status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else value


def staff_timeline(case: Case) -> list[dict[str, Any]]:
    """Every event, internal ones too, with who did it."""
    rows = []
    for event in case.events.order_by("at", "id"):
        if event.kind in TRANSITIONS:
            label = str(TRANSITIONS[event.kind].label)
        elif event.kind == "submit":
            label = _("submitted")
        else:
            label = event.kind
        rows.append(
            {
                "at": event.at,
                "who": event.actor_label,
                "label": label,
                "public": event.public,
                "moved": bool(event.to_status) and event.from_status != event.to_status,
                "from": _status_label(event.from_status) if event.from_status else "",
                "to": _status_label(event.to_status),
                "note": event.note,
            }
        )
    return rows


def available_transitions(user: Any, case: Case) -> list[str]:
    """The staff transitions this user may take on this case now, in the workbench's order."""
    pending = case.extensions.filter(status=ExtensionStatus.PENDING).exists()
    names = []
    for name in STAFF_TRANSITIONS:
        if case.status not in TRANSITIONS[name].sources:
            continue
        if name in ("grant_extension", "refuse_extension") and not pending:
            continue
        if name == "request_extension" and pending:
            continue
        if permissions.can(name, user, case):
            names.append(name)
    return names
