"""What the city's evaluation counts about one case: the rules, written once.

:func:`items_for` turns a case, its timeline and its first rating into :class:`Fact` rows.
The definitions (the same text the pages show, see :data:`DEFINITIONS`):

- **Volume**: every case a resident raised counts on the day it came in (proactive tasks,
  which the city raised itself, do not).
- Cases that end **merged** (a duplicate) or **rejected** (out of scope) count in no rate.
- **Response rate** (响应率): each dispatch counts for the unit it went to, on the day of its
  response deadline. It is answered in time when the unit accepted the case (签收, which is
  when it takes up contact with the resident) by that deadline. A dispatch the unit sent back
  before the deadline is left out (the case was not theirs); one accepted or sent back late,
  or not answered when the deadline passed, counts as not answered.
- **Resolution rate** (解决率): each case counts once, for the unit that held it in its first
  round, on the day of that round's deadline to resolve (as set at dispatch, moved only by
  granted extensions — an escalation's new deadline does not excuse lateness). It is resolved
  when the unit resolved it by the deadline and the resident did not reject the resolution
  (rated it dissatisfied, or reopened the case). A reopened case therefore counts against its
  first resolution. A case not resolved when the deadline passed counts as not resolved.
- **Satisfaction rate** (满意率): each case's first rating counts, for the unit of its first
  round, on the day it was given: satisfied or basically satisfied, among all rated.

Pure Python over plain values: the fold feeds it rows, the tests feed it by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

VOLUME, RESPONSE, RESOLUTION, SATISFACTION = 1, 2, 3, 4
EXCLUDED_STATUSES = frozenset({"merged", "rejected"})
SATISFIED = frozenset({"satisfied", "basic"})
# Timeline events the rules read.
KINDS = ("dispatch", "accept", "send_back", "grant_extension", "resolve", "reopen")


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class CaseRow:
    id: int
    status: str
    created_at: datetime
    unit_id: int | None
    dispatched_at: datetime | None
    response_due: datetime | None
    proactive: bool = False


@dataclass(frozen=True)
class Fact:
    metric: int
    day: date
    unit_id: int | None
    ok: bool


@dataclass(frozen=True)
class Derived:
    facts: list[Fact]
    # the next moment at which the facts change without a transition (None: never)
    pending_until: datetime | None


def _local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def _due(data: Mapping[str, Any]) -> datetime | None:
    value = data.get("resolve_due")
    parsed = parse_datetime(str(value)) if value else None
    return parsed


def items_for(
    case: CaseRow,
    events: Sequence[Event],
    first_rating: tuple[datetime, str] | None,
    *,
    now: datetime,
    tz: tzinfo,
    unit_ids: Mapping[str, int],
    response_time: Callable[[str | None, str | None], timedelta],
) -> Derived:
    """The facts the evaluation counts for one case (see the module doc).

    ``events`` are the case's timeline events of :data:`KINDS`, oldest first. ``unit_ids``
    maps unit codes (as dispatch events name them) to ids. ``response_time(category,
    urgency)`` is the time to respond that dispatch would set, for dispatches that are no
    longer the case's current one (the case row keeps the current one's deadline).
    """
    facts: list[Fact] = []
    pending: list[datetime] = []
    if not case.proactive:
        facts.append(Fact(VOLUME, _local_day(case.created_at, tz), case.unit_id, True))
    if case.status in EXCLUDED_STATUSES:
        return Derived(facts, None)

    dispatches = [k for k, e in enumerate(events) if e.kind == "dispatch"]
    # --- response: every dispatch -------------------------------------------------------
    for n, k in enumerate(dispatches):
        d = events[k]
        unit = unit_ids.get(str(d.data.get("unit", "")))
        current = n == len(dispatches) - 1 and case.dispatched_at is not None
        if (
            current
            and case.response_due is not None
            and abs(
                (case.dispatched_at - d.at).total_seconds()  # type: ignore[operator]
            )
            < 1
        ):
            deadline = case.response_due
        else:
            deadline = d.at + response_time(d.data.get("category"), d.data.get("urgency"))
        answer = None
        for e in events[k + 1 :]:
            if e.kind in ("accept", "send_back"):
                answer = e
                break
            if e.kind in ("dispatch", "reopen"):
                break
        day = _local_day(deadline, tz)
        if answer is None:
            if now > deadline:
                facts.append(Fact(RESPONSE, day, unit, False))
            else:
                pending.append(deadline)
        elif answer.kind == "accept":
            facts.append(Fact(RESPONSE, day, unit, answer.at <= deadline))
        elif answer.at > deadline:  # sent back, but late
            facts.append(Fact(RESPONSE, day, unit, False))

    # --- resolution and satisfaction: the first round -----------------------------------
    reopen = next((k for k, e in enumerate(events) if e.kind == "reopen"), len(events))
    first_round = events[:reopen]
    in_force: int | None = None
    for k, e in enumerate(first_round):
        if e.kind == "dispatch":
            in_force = k
        elif e.kind == "send_back":
            in_force = None
    first_unit: int | None = None
    if in_force is not None:
        d = first_round[in_force]
        first_unit = unit_ids.get(str(d.data.get("unit", "")))
        deadline_or_none = _due(d.data)
        resolved_at: datetime | None = None
        for e in first_round[in_force + 1 :]:
            if e.kind == "grant_extension" and _due(e.data) is not None:
                deadline_or_none = _due(e.data)
            elif e.kind == "resolve" and resolved_at is None:
                resolved_at = e.at
        if deadline_or_none is not None:
            deadline = deadline_or_none
            day = _local_day(deadline, tz)
            if resolved_at is None:
                if now > deadline:
                    facts.append(Fact(RESOLUTION, day, first_unit, False))
                else:
                    pending.append(deadline)
            else:
                rejected = reopen < len(events) or (
                    first_rating is not None and first_rating[1] not in SATISFIED
                )
                facts.append(
                    Fact(RESOLUTION, day, first_unit, resolved_at <= deadline and not rejected)
                )
    if first_rating is not None:
        at, rating = first_rating
        facts.append(Fact(SATISFACTION, _local_day(at, tz), first_unit, rating in SATISFIED))
    return Derived(facts, min(pending) if pending else None)


# The definitions, as the pages and docs/supervision.md show them (translated on the page).
DEFINITIONS = {
    "response": _(
        "Response rate: of the dispatches whose response deadline fell in the period, the "
        "share the unit accepted (taking up contact with the resident) by that deadline. A "
        "dispatch the unit sent back before the deadline is left out; one accepted or sent "
        "back late, or not answered when the deadline passed, counts as not answered. Each "
        "dispatch counts for the unit it went to."
    ),
    "resolution": _(
        "Resolution rate: of the cases whose deadline to resolve (as set at dispatch, moved "
        "only by granted extensions) fell in the period, the share the unit resolved by the "
        "deadline without the resident rejecting the resolution (rating it dissatisfied or "
        "reopening the case). Only the first round counts: a reopened case counts against "
        "its first resolution."
    ),
    "satisfaction": _(
        "Satisfaction rate: of the first ratings residents gave in the period, the share "
        "that were satisfied or basically satisfied."
    ),
    "composite": _(
        "Composite score: the three rates weighted as the city sets them (by default 30 for "
        "response, 35 for resolution and 35 for satisfaction, out of 100); shown only when all "
        "three rates have cases, and ranked on it."
    ),
    "excluded": _(
        "Cases merged as duplicates or rejected as out of scope count in no rate. Proactive "
        "tasks the city raised itself count in the response and resolution rates, not in the "
        "volume of residents' requests."
    ),
}
