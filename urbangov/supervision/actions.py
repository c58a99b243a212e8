"""Every change of state in supervision: folding cases into the evaluation's rollups, notices,
proactive tasks and hot-spot runs. Periodic jobs here are idempotent and claim their work
through state fields, so two workers are safe."""

from __future__ import annotations

import hashlib
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import FloatField, Func, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov.analytics import hotspots as hs
from urbangov.cases.actions import Submission, dispatch_case, submit_case
from urbangov.cases.models import IN_HANDS, Case, CaseEvent, Channel, Feedback
from urbangov.org.models import Area, Category, Level, Membership, Role, Unit
from urbangov.privacy.actions import Actor, actor_user, record
from urbangov.privacy.purpose import redact
from urbangov.supervision import evaluation
from urbangov.supervision.models import (
    Alert,
    DirtyCase,
    Grain,
    Hotspot,
    HotspotRun,
    Item,
    Metric,
    NoticeKind,
    Notification,
    PendingDeadline,
    ProactiveTask,
    Rollup,
    State,
)

# --- folding cases into the evaluation ---------------------------------------------------------


def mark_dirty(case_ids: Iterable[int]) -> None:
    """Queue cases for the next fold. A case already queued gets a fresh mark, so that a fold
    that read it before this change does not clear it (see :func:`fold`)."""
    now = timezone.now()
    rows = [DirtyCase(case_id=pk, at=now) for pk in set(case_ids)]
    if rows:
        DirtyCase.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["case_id"], update_fields=["at"]
        )


@dataclass(frozen=True)
class FoldResult:
    cases: int
    items: int
    days: int


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


class _Maps:
    """What the fold looks up for every case, read once per fold."""

    def __init__(self) -> None:
        self.unit_ids = dict(Unit.objects.values_list("code", "id"))
        areas = list(Area.objects.values_list("id", "code", "level", "path"))
        by_code = {code: (pk, level) for pk, code, level, _path in areas}
        self.street: dict[int, int | None] = {}
        self.district: dict[int, int | None] = {}
        for pk, _code, _level, path in areas:
            street = district = None
            for code in path.strip("/").split("/"):
                found = by_code.get(code)
                if found is None:
                    continue
                if found[1] == Level.STREET:
                    street = found[0]
                elif found[1] == Level.DISTRICT:
                    district = found[0]
            self.street[pk] = street
            self.district[pk] = district
        cats = list(Category.objects.values_list("id", "parent_id", "code", "urgency"))
        self.top = {pk: parent or pk for pk, parent, _c, _u in cats}
        self._categories = {code: pk for pk, _p, code, _u in cats}
        self._response: dict[tuple[str | None, str | None], timedelta] = {}

    def response_time(self, category: str | None, urgency: str | None) -> timedelta:
        key = (category, urgency)
        if key not in self._response:
            from urbangov.org.models import DEFAULT_SLA_HOURS, SlaPolicy

            pk = self._categories.get(category or "")
            if pk is not None:
                self._response[key] = Category.objects.get(pk=pk).deadlines(urgency)[1]
            else:
                level = urgency if urgency in DEFAULT_SLA_HOURS else "ordinary"
                self._response[key] = timedelta(hours=SlaPolicy.hours_for(level)[1])
        return self._response[key]


def _among(ids: Sequence[int], field: str) -> Q:
    """``field`` in ``ids``: a range when the ids are contiguous (a bulk fold), else a list."""
    if ids and ids[-1] - ids[0] + 1 == len(ids):
        return Q(**{f"{field}__gte": ids[0], f"{field}__lte": ids[-1]})
    return Q(**{f"{field}__in": list(ids)})


def _events(ids: Sequence[int]) -> dict[int, list[evaluation.Event]]:
    """The timeline events the rules read, per case, oldest first."""
    events: dict[int, list[evaluation.Event]] = defaultdict(list)
    qs = CaseEvent.objects.filter(_among(ids, "case_id"), kind__in=evaluation.KINDS).order_by(
        "case_id", "at", "id"
    )
    if connection.vendor == "postgresql":
        # A bulk fold reads tens of millions of events: straight from the driver, which
        # gives aware datetimes and decoded JSON, without the ORM's per-row converters.
        sql, params = qs.values_list("case_id", "at", "kind", "data").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            raw = cursor.cursor
            while rows := raw.fetchmany(20000):
                for case_id, at, kind, data in rows:
                    if isinstance(data, str):
                        import json

                        data = json.loads(data)
                    events[case_id].append(evaluation.Event(at, kind, data or {}))
        return events
    for case_id, at, kind, data in qs.values_list("case_id", "at", "kind", "data"):
        events[case_id].append(evaluation.Event(at, kind, data or {}))
    return events


def _derive(
    ids: Sequence[int], maps: _Maps, now: datetime
) -> tuple[list[tuple[Any, ...]], dict[int, datetime]]:
    """Item rows and pending deadlines for the cases ``ids`` (sorted)."""
    tz = _tz()
    rows = list(
        Case.objects.filter(_among(ids, "pk")).values_list(
            "id",
            "status",
            "created_at",
            "unit_id",
            "dispatched_at",
            "response_due",
            "area_id",
            "category_id",
            "reported_category_id",
        )
    )
    events = _events(ids)
    ratings = {
        case_id: (at, rating)
        for case_id, at, rating in Feedback.objects.filter(
            _among(ids, "case_id"), round=0
        ).values_list("case_id", "at", "rating")
    }
    proactive = set(
        ProactiveTask.objects.filter(_among(ids, "case_id")).values_list("case_id", flat=True)
    )
    out: list[tuple[Any, ...]] = []
    pending: dict[int, datetime] = {}
    for pk, status, created, unit, dispatched, response_due, area, cat, reported in rows:
        derived = evaluation.items_for(
            evaluation.CaseRow(
                pk, status, created, unit, dispatched, response_due, pk in proactive
            ),
            events.get(pk, []),
            ratings.get(pk),
            now=now,
            tz=tz,
            unit_ids=maps.unit_ids,
            response_time=maps.response_time,
        )
        street = maps.street.get(area) if area is not None else None
        district = maps.district.get(area) if area is not None else None
        category = cat or reported
        top = maps.top.get(category) if category is not None else None
        for f in derived.facts:
            out.append((pk, f.metric, f.day, f.unit_id, street, district, top, f.ok))
        if derived.pending_until is not None:
            pending[pk] = derived.pending_until
    return out, pending


_ITEM_COLUMNS = ("case_id", "metric", "day", "unit_id", "street_id", "district_id", "category_id")


def _insert_items(rows: list[tuple[Any, ...]]) -> None:
    """Write item rows: COPY on PostgreSQL (a bulk load writes millions), else one
    executemany. Values are plain ints, dates and booleans."""
    if not rows:
        return
    table = Item._meta.db_table
    columns = [*_ITEM_COLUMNS, "ok"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    adapt = connection.ops.adapt_datefield_value
    values = [(*r[:2], adapt(r[2]), *r[3:]) for r in rows]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (our own names)
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def _month(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _recompute(days: set[date]) -> None:
    """Rebuild the daily rollups of ``days`` and the monthly rollups of their months."""
    if not days:
        return
    rollup, item = Rollup._meta.db_table, Item._meta.db_table
    adapt = connection.ops.adapt_datefield_value
    ordered = sorted(days)
    with connection.cursor() as cursor:
        for lo in range(0, len(ordered), 400):
            chunk = [adapt(d) for d in ordered[lo : lo + 400]]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"DELETE FROM {rollup} WHERE grain = %s AND day IN ({marks})",  # noqa: S608
                [Grain.DAY, *chunk],
            )
            # Volume keeps the category and drops the unit; the rates the other way round.
            cursor.execute(
                f"""INSERT INTO {rollup}
                    (grain, day, metric, unit_id, street_id, district_id, category_id, n, ok)
                SELECT %s, day, metric,
                    CASE WHEN metric = %s THEN NULL ELSE unit_id END,
                    street_id, district_id,
                    CASE WHEN metric = %s THEN category_id ELSE NULL END,
                    COUNT(*), SUM(CASE WHEN ok THEN 1 ELSE 0 END)
                FROM {item} WHERE day IN ({marks})
                GROUP BY day, metric,
                    CASE WHEN metric = %s THEN NULL ELSE unit_id END,
                    street_id, district_id,
                    CASE WHEN metric = %s THEN category_id ELSE NULL END""",  # noqa: S608
                [Grain.DAY, Metric.VOLUME, Metric.VOLUME, *chunk, Metric.VOLUME, Metric.VOLUME],
            )
        for month in sorted({_month(d) for d in days}):
            start, end = adapt(month), adapt(_next_month(month))
            cursor.execute(
                f"DELETE FROM {rollup} WHERE grain = %s AND day = %s",  # noqa: S608
                [Grain.MONTH, start],
            )
            cursor.execute(
                f"""INSERT INTO {rollup}
                    (grain, day, metric, unit_id, street_id, district_id, category_id, n, ok)
                SELECT %s, %s, metric, unit_id, street_id, district_id, category_id,
                    SUM(n), SUM(ok)
                FROM {rollup} WHERE grain = %s AND day >= %s AND day < %s
                GROUP BY metric, unit_id, street_id, district_id, category_id""",  # noqa: S608
                [Grain.MONTH, start, Grain.DAY, start, end],
            )


def fold(*, limit: int = 2000, now: datetime | None = None) -> FoldResult:
    """Derive the items of every case that changed, and rebuild the rollups they touch.

    Claims its work under the lock of the :class:`State` row (one fold at a time; SQLite
    serialises writers anyway): the queued cases (:class:`DirtyCase`), the cases stored since
    the watermark (bulk loads send no signal; new cases submitted one by one are queued by
    their signal too), and the cases whose pending deadline has passed. A queued case marked
    again while the fold ran keeps its mark and is folded again next time.
    """
    now = now or timezone.now()
    with transaction.atomic():
        State.objects.get_or_create(pk=1)
        state = State.objects.select_for_update().get(pk=1)
        marked = list(
            DirtyCase.objects.order_by("at", "case_id").values_list("case_id", "at")[:limit]
        )
        new = list(
            Case.objects.filter(pk__gt=state.watermark)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        due = list(
            PendingDeadline.objects.filter(due__lte=now)
            .order_by("due")
            .values_list("case_id", flat=True)[:limit]
        )
        ids = sorted({pk for pk, _at in marked} | set(new) | set(due))
        days: set[date] = set()
        written = 0
        if ids:
            maps = _Maps()
            for lo in range(0, len(ids), 5000):
                batch = ids[lo : lo + 5000]
                days.update(
                    Item.objects.filter(_among(batch, "case_id"))
                    .values_list("day", flat=True)
                    .distinct()
                )
                Item.objects.filter(_among(batch, "case_id")).delete()
                rows, pending = _derive(batch, maps, now)
                _insert_items(rows)
                written += len(rows)
                days.update(r[2] for r in rows)
                PendingDeadline.objects.filter(_among(batch, "case_id")).delete()
                PendingDeadline.objects.bulk_create(
                    PendingDeadline(case_id=pk, due=at) for pk, at in pending.items()
                )
            _recompute(days)
            for pk, at in marked:
                DirtyCase.objects.filter(case_id=pk, at=at).delete()
        state.folded_at = now
        update = ["folded_at"]
        if new:
            state.watermark = new[-1]
            update.append("watermark")
        state.save(update_fields=update)
    return FoldResult(cases=len(ids), items=written, days=len(days))


def fold_all(*, batch: int = 20000) -> FoldResult:
    """Fold until nothing is left (after a bulk load, or from ``urbangov supervision fold``)."""
    cases = items = days = 0
    while True:
        result = fold(limit=batch)
        cases, items, days = cases + result.cases, items + result.items, days + result.days
        if result.cases == 0:
            return FoldResult(cases, items, days)


def rebuild(*, actor: Actor, batch: int = 20000) -> FoldResult:
    """Forget every item and rollup and fold every case again (after the rules changed)."""
    with transaction.atomic():
        Item.objects.all().delete()
        Rollup.objects.all().delete()
        PendingDeadline.objects.all().delete()
        DirtyCase.objects.all().delete()
        State.objects.update_or_create(pk=1, defaults={"watermark": 0})
        record(actor=actor, action="supervision.rebuild", data={})
    return fold_all(batch=batch)


# --- notices -----------------------------------------------------------------------------------


def _notify(rows: list[Notification]) -> int:
    """Insert notices, skipping any already sent (same user and key): idempotent."""
    if not rows:
        return 0
    before = Notification.objects.count()
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return Notification.objects.count() - before


def _handlers(unit_ids: Iterable[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for unit_id, user_id in Membership.objects.filter(
        unit_id__in=set(unit_ids), role=Role.HANDLER, user__is_active=True
    ).values_list("unit_id", "user_id"):
        out[unit_id].append(user_id)
    return out


def _supervisors() -> list[tuple[int, int, frozenset[str], bool]]:
    """(user id, unit id, area paths, citywide) of every active supervisor membership."""
    rows = list(
        Membership.objects.filter(role=Role.SUPERVISOR, user__is_active=True, unit__active=True)
        .values_list("user_id", "unit_id")
        .distinct()
    )
    paths: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for unit_id, path, parent in Area.objects.filter(
        unit__in={unit for _user, unit in rows}
    ).values_list("unit", "path", "parent_id"):
        paths[unit_id].append((path, parent is None))
    return [
        (
            user,
            unit,
            frozenset(p for p, _ in paths[unit]),
            any(root for _, root in paths[unit]),
        )
        for user, unit in rows
    ]


def send_notices(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Remind handlers before a deadline, and tell supervisors once it has passed.

    Claims the time window since its last run through :attr:`State.notices_until`; every
    notice has a key (case and deadline), so a window seen twice sends nothing twice.
    """
    now = now or timezone.now()
    ahead = timedelta(hours=settings.URBANGOV.get("REMINDER_HOURS", 24))
    with transaction.atomic():
        State.objects.get_or_create(pk=1)
        state = State.objects.select_for_update().get(pk=1)
        since = state.notices_until or now - ahead
        if since >= now:
            return 0
        soon = list(
            Case.objects.filter(
                status__in=IN_HANDS,
                resolve_due__gt=since + ahead,
                resolve_due__lte=now + ahead,
                unit__isnull=False,
            )
            .exclude(resolve_due__isnull=True)
            .values_list("id", "unit_id", "resolve_due")[:batch]
        )
        late = list(
            Case.objects.filter(status__in=IN_HANDS, resolve_due__gt=since, resolve_due__lte=now)
            .select_related("area")
            .values_list("id", "unit_id", "resolve_due", "area__path")[:batch]
        )
        handlers = _handlers(u for _, u, _d in soon)
        rows = [
            Notification(
                user_id=user,
                case_id=case_id,
                kind=NoticeKind.REMINDER,
                key=f"remind:{case_id}:{due.isoformat()}",
                data={"due": due.isoformat()},
            )
            for case_id, unit, due in soon
            if due is not None
            for user in handlers.get(unit, [])
        ]
        supervisors = _supervisors()
        for case_id, unit, due, path in late:
            if due is None:
                continue
            for user, sup_unit, paths, citywide in supervisors:
                covers = (
                    citywide
                    or sup_unit == unit
                    or (path is not None and any(path.startswith(p) for p in paths))
                )
                if covers:
                    rows.append(
                        Notification(
                            user_id=user,
                            case_id=case_id,
                            kind=NoticeKind.OVERDUE,
                            key=f"overdue:{case_id}:{due.isoformat()}",
                            data={"due": due.isoformat()},
                        )
                    )
        sent = _notify(rows)
        # A window cut short by the batch limit is taken up again next time.
        if len(soon) < batch and len(late) < batch:
            state.notices_until = now
            state.save(update_fields=["notices_until"])
    return sent


def notify_escalated(case: Case) -> int:
    """Tell the unit's handlers that a supervisor escalated their case (sent on commit)."""
    event = case.events.filter(kind="escalate").order_by("-at", "-id").first()
    if event is None or case.unit_id is None:
        return 0
    return _notify(
        [
            Notification(
                user_id=user,
                case_id=case.pk,
                kind=NoticeKind.ESCALATED,
                key=f"escalated:{event.pk}",
                # A notice is read without a stated purpose: the note as the timeline shows it
                # to such a reader, redacted.
                data={"due": event.data.get("resolve_due"), "note": redact(event.note)[:500]},
            )
            for user in _handlers([case.unit_id]).get(case.unit_id, [])
        ]
    )


def mark_read(*, actor: User, ids: Sequence[int] | None = None) -> int:
    """Mark the actor's notices read (all of them when ``ids`` is None)."""
    qs = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


# --- proactive governance ----------------------------------------------------------------------


def create_task(
    *,
    actor: Actor,
    unit: Unit,
    title: str,
    text: str,
    hotspot: Hotspot | None = None,
    alert: Alert | None = None,
) -> ProactiveTask:
    """Turn a hot-spot or an alert into a proactive task (未诉先办) for ``unit``: a case on
    channel "other", dispatched to the unit at once, with the evidence kept alongside."""
    if (hotspot is None) == (alert is None):
        raise ValidationError(_("A proactive task comes from one hot-spot or one alert."))
    if not unit.active:
        raise ValidationError({"unit": [_("%(unit)s is not an active unit.") % {"unit": unit}]})
    source = hotspot or alert
    assert source is not None
    if ProactiveTask.objects.filter(Q(hotspot=hotspot) if hotspot else Q(alert=alert)).exists():
        raise ValidationError(_("A proactive task already exists for this."))
    lat = lon = None
    category = None
    if hotspot is not None:
        lat, lon = hotspot.lat, hotspot.lon
        category = hotspot.category
        origin = _("Hot-spot: %(label)s (%(n)d cases)") % {
            "label": hotspot.label,
            "n": hotspot.size,
        }
        evidence = list(hotspot.members)
        key = f"proactive:hotspot:{hotspot.pk}"
    else:
        assert alert is not None
        category = alert.category
        origin = _("Alert: %(category)s in %(street)s, %(n)d cases in the week of %(week)s") % {
            "category": alert.category.name if alert.category else "—",
            "street": alert.street.name if alert.street else "—",
            "n": alert.observed,
            "week": alert.week_start.isoformat(),
        }
        evidence = []
        key = f"proactive:alert:{alert.pk}"
    with transaction.atomic():
        case = submit_case(
            actor=actor,
            submission=Submission(
                channel=Channel.OTHER,
                title=title,
                text=text,
                reported_category=category if category is not None and category.active else None,
                lat=lat,
                lon=lon,
                idempotency_key=key,
            ),
        ).case
        task = ProactiveTask.objects.create(
            case=case,
            hotspot=hotspot,
            alert=alert,
            origin=origin[:200],
            evidence=evidence,
            created_by=actor_user(actor),
        )
        dispatch_case(case, actor=actor, unit=unit, note=origin[:2000])
        record(
            actor=actor,
            action="supervision.task",
            obj=task,
            data={
                "case": case.pk,
                "unit": unit.code,
                "hotspot": hotspot.pk if hotspot else None,
                "alert": alert.pk if alert else None,
                "evidence": len(evidence),
            },
        )
        handlers = _handlers([unit.pk]).get(unit.pk, [])
        transaction.on_commit(
            lambda: _notify(
                [
                    Notification(
                        user_id=user,
                        case_id=case.pk,
                        kind=NoticeKind.TASK,
                        key=f"task:{task.pk}",
                        data={"origin": redact(origin)[:200]},
                    )
                    for user in handlers
                ]
            )
        )
    return task


# --- hot-spots and early warning ---------------------------------------------------------------

KM_PER_DEGREE = 111.32


def _claim_hotspots(now: datetime, every: timedelta) -> bool:
    """Claim a hot-spot run through :attr:`State.hotspots_claimed_at`: only one worker wins,
    and not again before ``every`` has passed."""
    State.objects.get_or_create(pk=1)
    return bool(
        State.objects.filter(pk=1)
        .filter(Q(hotspots_claimed_at__isnull=True) | Q(hotspots_claimed_at__lte=now - every))
        .update(hotspots_claimed_at=now)
    )


class _Epoch(Func):
    """Seconds since the epoch of an aware timestamp, as a double (PostgreSQL): what
    ``datetime.timestamp()`` gives, without making a datetime per row."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
    output_field = FloatField()


def case_columns(start: datetime, end: datetime) -> dict[str, Any]:
    """The columns detection reads for cases submitted in [start, end), as arrays."""
    cases = (
        Case.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(proactive_task__isnull=False)
        .order_by("id")
        .annotate(topic=Coalesce("category_id", "reported_category_id"))
    )
    fields = ("id", "title", "text", "lat", "lon", "area_id", "topic", "contact_lookup")
    rows: Sequence[tuple[Any, ...]]
    if connection.vendor == "postgresql":
        # A year of a big city's cases: binary rows straight from the driver, the time as
        # seconds since the epoch (no datetime objects), one column at a time from there.
        query = cases.annotate(seconds=_Epoch("created_at")).values_list(*fields, "seconds")
        sql, params = query.query.sql_with_params()
        connection.ensure_connection()
        # a plain (server-binding) cursor: Django's client-side ones return text only
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params, binary=True)
            rows = cursor.fetchall()
        ids, titles, texts, lat, lon, area, category, lookup, seconds = (
            zip(*rows, strict=True) if rows else ((),) * 9
        )
    else:
        listed = list(cases.values_list(*fields, "created_at"))
        ids, titles, texts, lat, lon, area, category, lookup, created = (
            zip(*listed, strict=True) if listed else ((),) * 9
        )
        seconds = tuple(t.timestamp() for t in created)
    return {
        "ids": np.array(ids, dtype=np.int64),
        "titles": list(titles),
        "texts": list(texts),
        "times": np.array(seconds, dtype=np.float64),
        # NULL as NaN
        "lat": np.array(lat, dtype=np.float64),
        "lon": np.array(lon, dtype=np.float64),
        "area": list(area),
        "category": list(category),
        "reporter": [who or f"case:{pk}" for who, pk in zip(lookup, ids, strict=True)],
    }


def detect_hotspots(
    columns: dict[str, Any], *, now: datetime, params: hs.DetectParams | None = None
) -> list[hs.Cluster]:
    """Clusters among the cases in ``columns``: compared within one street and one top-level
    category, linked by text within the time window and the radius."""
    maps = _Maps()
    names = _place_names()
    n = len(columns["ids"])
    if n == 0:
        return []
    lat0 = float(np.nanmean(columns["lat"])) if np.isfinite(columns["lat"]).any() else 0.0
    xy = np.column_stack(
        [
            columns["lon"] * KM_PER_DEGREE * math.cos(math.radians(lat0)),
            columns["lat"] * KM_PER_DEGREE,
        ]
    )
    # looked up once per distinct area and category, then mapped over the cases in C
    areas, categories = columns["area"], columns["category"]
    street = {a: (maps.street.get(a) or 0 if a else 0) for a in set(areas)}
    top = {c: (maps.top.get(c) or 0 if c else 0) for c in set(categories)}
    place = {a: (names.get(a, "") if a else "") for a in street}
    streets = np.fromiter(map(street.__getitem__, areas), dtype=np.int64, count=n)
    tops = np.fromiter(map(top.__getitem__, categories), dtype=np.int64, count=n)
    groups = streets * 100_000 + tops
    features = hs.text_features([columns["titles"], columns["texts"]])
    return hs.detect(
        features,
        times=columns["times"],
        xy_km=xy,
        groups=groups,
        reporters=columns["reporter"],
        places=list(map(place.__getitem__, areas)),
        now=now.timestamp(),
        params=params,
    )


def _place_names() -> dict[int, str]:
    """A grid cell's community and street, as residents name the place."""
    areas = {
        pk: (name, parent, level)
        for pk, name, parent, level in Area.objects.values_list("id", "name", "parent_id", "level")
    }
    out: dict[int, str] = {}
    for pk, (name, parent, level) in areas.items():
        if level == Level.GRID and parent in areas:
            community = areas[parent]
            street = areas.get(community[1]) if community[1] else None
            out[pk] = f"{street[0]} · {community[0]}" if street else community[0]
        else:
            out[pk] = name
    return out


def weekly_counts(
    weeks: int, last_week_start: date
) -> tuple[list[tuple[int | None, int | None]], np.ndarray]:
    """Weekly volume per (street, top category) for ``weeks`` weeks ending with the week that
    starts on ``last_week_start``, from the daily rollups. Weeks before the city's first case
    are left out: they are no history of zero cases (a city a few months on the platform
    would otherwise get a "seasonal" baseline of zeros from the year before it started)."""
    first = last_week_start - timedelta(weeks=weeks - 1)
    start = (
        Rollup.objects.filter(grain=Grain.DAY, metric=Metric.VOLUME)
        .order_by("day")
        .values_list("day", flat=True)
        .first()
    )
    if start is not None and start > first:
        # from the week that holds the first case
        weeks = 1 + max(0, -(-(last_week_start - start).days // 7))
        first = last_week_start - timedelta(weeks=weeks - 1)
    rows = (
        Rollup.objects.filter(
            grain=Grain.DAY,
            metric=Metric.VOLUME,
            day__gte=first,
            day__lt=last_week_start + timedelta(days=7),
        )
        .values_list("street_id", "category_id", "day", "n")
        .iterator(chunk_size=20000)
    )
    index: dict[tuple[int | None, int | None], int] = {}
    cells: list[tuple[int, int, int]] = []
    for street, category, day, n in rows:
        key = (street, category)
        k = index.setdefault(key, len(index))
        cells.append((k, (day - first).days // 7, n))
    counts = np.zeros((len(index), weeks))
    for k, w, n in cells:
        counts[k, w] += n
    return list(index), counts


@dataclass(frozen=True)
class HotspotSummary:
    run: HotspotRun | None
    hotspots: int
    alerts: int


def refresh_hotspots(
    *,
    actor: Actor = None,
    now: datetime | None = None,
    days: int | None = None,
    every: timedelta | None = None,
    keep: int = 200,
    force: bool = False,
) -> HotspotSummary:
    """Detect hot-spots among the last ``days`` of cases and raise early-warning alerts for
    the last complete week; store them as a new run. Periodic (claimed through
    :attr:`State.hotspots_claimed_at`, at most once per ``every``) or on demand (``force``)."""
    now = now or timezone.now()
    days = days or settings.URBANGOV.get("HOTSPOT_DAYS", 90)
    every = every or timedelta(hours=1)
    if force:
        State.objects.update_or_create(pk=1, defaults={"hotspots_claimed_at": now})
    elif not _claim_hotspots(now, every):
        return HotspotSummary(None, 0, 0)
    started = time.monotonic()
    start = now - timedelta(days=days)
    columns = case_columns(start, now)
    clusters = detect_hotspots(columns, now=now)[:keep]
    maps = _Maps()
    # alerts: the last complete week (weeks start on Monday, city time)
    today = timezone.localtime(now, _tz()).date()
    last_week = today - timedelta(days=today.weekday() + 7)
    keys, counts = weekly_counts(52 * 2 + 3, last_week)
    bands = hs.weekly_alerts(counts) if len(keys) else []
    tz = _tz()
    with transaction.atomic():
        run = HotspotRun.objects.create(
            started_at=now,
            period_start=start,
            period_end=now,
            cases=len(columns["ids"]),
            params={"days": days, "keep": keep},
        )
        ids = columns["ids"]
        objs = []
        for rank, c in enumerate(clusters, start=1):
            members = ids[c.members]
            lats = columns["lat"][c.members]
            lons = columns["lon"][c.members]
            located = np.isfinite(lats) & np.isfinite(lons)
            rep = int(ids[c.representative])
            area = columns["area"][c.representative]
            category = columns["category"][c.representative]
            objs.append(
                Hotspot(
                    run=run,
                    rank=rank,
                    label=columns["titles"][c.representative][:200],
                    place=c.place[:200],
                    heat=c.heat,
                    size=c.size,
                    residents=c.residents,
                    growth=c.growth,
                    first=datetime.fromtimestamp(c.first or 0, tz),
                    last=datetime.fromtimestamp(c.last or 0, tz),
                    lat=float(lats[located].mean()) if located.any() else None,
                    lon=float(lons[located].mean()) if located.any() else None,
                    street_id=maps.street.get(area) if area else None,
                    category_id=maps.top.get(category) if category else None,
                    representative_id=rep,
                    members=[int(m) for m in members],
                )
            )
        Hotspot.objects.bulk_create(objs)
        Alert.objects.bulk_create(
            Alert(
                run=run,
                week_start=last_week,
                street_id=keys[b.series][0],
                category_id=keys[b.series][1],
                observed=int(b.observed),
                expected=round(b.expected, 3),
                low=round(b.low, 3),
                high=round(b.high, 3),
                method=b.method,
                direction=b.direction,
            )
            for b in bands
            if b.direction == "up"
        )
        run.finished_at = timezone.now()
        run.seconds = round(time.monotonic() - started, 3)
        run.save(update_fields=["finished_at", "seconds"])
        record(
            actor=actor,
            action="supervision.hotspots",
            obj=run,
            data={"cases": run.cases, "hotspots": len(objs), "days": days},
        )
        _record_hotspot_decision(actor, run, objs, last_week, ids)
    return HotspotSummary(run, len(objs), run.alerts.count())


HOTSPOT_ALGORITHM = "hotspots"
# The method's version: urbangov.analytics.hotspots as it stands (rules and code, no model).
HOTSPOT_VERSION = "1"
# Hot-spots named in a run's decision (the run keeps them all).
DECISION_TOP = 20


def hotspot_algorithm(*, actor: Actor = None) -> Any:
    from urbangov.algorithms import actions as register

    return register.ensure_algorithm(
        actor=actor,
        code=HOTSPOT_ALGORITHM,
        name=_("Hot-spots and early warning"),
        purpose=_(
            "Groups cases about the same problem (close in text, place and time), ranks the "
            "groups by heat, and raises an alert where a category's weekly volume in a street "
            "leaves its expected band. It suggests; supervisors decide what to act on."
        ),
    )


def _record_hotspot_decision(
    actor: Actor, run: HotspotRun, hotspots: list[Hotspot], week: date, ids: Any
) -> None:
    """One run's output as a decision in the algorithms' log (every algorithmic output is
    one): the cases read (their digest), the hot-spots ranked first and the alerts raised."""
    from urbangov.algorithms import actions as register
    from urbangov.algorithms.models import Mode

    version = register.ensure_version(
        actor=actor,
        algorithm=hotspot_algorithm(actor=actor),
        version=HOTSPOT_VERSION,
        artefact_format="rules",
        notes="urbangov.analytics.hotspots: text, place and time linking; seasonal bands.",
    )
    alerts = list(run.alerts.order_by("id").values_list("id", "street_id", "category_id"))
    register.record_decision(
        actor=actor,
        version=version,
        subject=run,
        inputs={
            "cases": hashlib.sha256(np.asarray(ids, dtype=np.int64).tobytes()).hexdigest(),
            "period": [run.period_start.isoformat(), run.period_end.isoformat()],
            "params": run.params,
        },
        inputs_summary={"cases": run.cases, **run.params},
        output={
            "hotspots": [
                {"id": h.pk, "rank": h.rank, "size": h.size, "heat": round(h.heat, 4)}
                for h in hotspots[:DECISION_TOP]
            ],
            "alerts": [a[0] for a in alerts],
        },
        reasons=[
            {"code": "hotspots", "count": len(hotspots), "cases": run.cases},
            {
                "code": "alerts",
                "week": week.isoformat(),
                "series": [[street, category] for _id, street, category in alerts],
            },
        ],
        explanation=_(
            "%(h)s hot-spots among %(n)s cases of the period, %(a)s alerts for the week of "
            "%(week)s; a supervisor decides which to act on."
        )
        % {"h": len(hotspots), "n": run.cases, "a": len(alerts), "week": week.isoformat()},
        mode=Mode.SUGGESTION,
    )
