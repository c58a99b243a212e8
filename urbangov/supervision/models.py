"""Supervision (督办与考核): what the city's evaluation counts, kept up to date as cases move;
notices to handlers and supervisors; proactive-governance tasks (未诉先办); hot-spots and
early-warning alerts.

How the numbers stay fast and right (details in ``docs/supervision.md``):

- :class:`Item` is one countable fact about one case — it came in (volume), one of its
  dispatches was or was not answered in time (response), its first resolution was or was not
  confirmed on time (resolution), its first rating was or was not satisfied (satisfaction) —
  dated by the day it counts on. Items are derived from the case, its timeline and its
  feedback by :mod:`urbangov.supervision.evaluation`, never edited by hand.
- :class:`Rollup` sums items per day and per month, by unit and street. Pages read rollups,
  never scan cases.
- Both are rebuilt for the cases that changed by :func:`urbangov.supervision.actions.fold`,
  a periodic idempotent job: it claims the cases named in :class:`DirtyCase` (filled in the
  transaction of each change by the cases app's ``case_written`` signal), every case stored since its watermark (imports
  and bulk loads send no signal), and every case whose pending deadline has passed
  (:class:`PendingDeadline`), then recomputes the rollups of the days those cases touch.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from urbangov.cases.models import Case
from urbangov.org.models import Area, Category, Unit


class Metric(models.IntegerChoices):
    VOLUME = 1, _("cases received")
    RESPONSE = 2, _("response rate")
    RESOLUTION = 3, _("resolution rate")
    SATISFACTION = 4, _("satisfaction rate")


RATES = (Metric.RESPONSE, Metric.RESOLUTION, Metric.SATISFACTION)


class Item(models.Model):
    """One countable fact about a case, dated by the day it counts on (see the module doc)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+", db_index=True)
    metric = models.PositiveSmallIntegerField(choices=Metric.choices)
    day = models.DateField()
    unit = models.ForeignKey(Unit, null=True, on_delete=models.CASCADE, related_name="+")
    street = models.ForeignKey(Area, null=True, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey(Area, null=True, on_delete=models.CASCADE, related_name="+")
    # the top-level category
    category = models.ForeignKey(Category, null=True, on_delete=models.CASCADE, related_name="+")
    ok = models.BooleanField()

    class Meta:
        indexes = [
            models.Index(fields=["metric", "day"]),
            models.Index(fields=["day"]),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_metric_display()} {self.day} {self.ok}"


class Grain(models.IntegerChoices):
    DAY = 1, _("day")
    MONTH = 2, _("month")


class Rollup(models.Model):
    """Sums of items. Volume rows carry the category (and no unit); rate rows carry the unit
    (and no category), which keeps a month of a large city to a few thousand rows."""

    grain = models.PositiveSmallIntegerField(choices=Grain.choices)
    day = models.DateField()  # the day, or the first day of the month
    metric = models.PositiveSmallIntegerField(choices=Metric.choices)
    unit = models.ForeignKey(Unit, null=True, on_delete=models.CASCADE, related_name="+")
    street = models.ForeignKey(Area, null=True, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey(Area, null=True, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(Category, null=True, on_delete=models.CASCADE, related_name="+")
    n = models.PositiveIntegerField()
    ok = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["grain", "metric", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.get_metric_display()} {self.ok}/{self.n}"


class DirtyCase(models.Model):
    """A case whose items must be derived again (it moved since the last fold)."""

    case_id = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.case_id)


class PendingDeadline(models.Model):
    """The earliest deadline at which a case's items change without any transition (a
    dispatch not yet answered, a case not yet resolved): the fold looks at it again then."""

    case_id = models.BigIntegerField(primary_key=True)
    due = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.case_id} @ {self.due}"


class State(models.Model):
    """One row: where the periodic jobs stand. Jobs claim their turn through these fields."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # every case with a larger id has not been folded in yet
    watermark = models.BigIntegerField(default=0)
    folded_at = models.DateTimeField(null=True, blank=True)
    # reminders and overdue notices have been sent for deadlines up to here
    notices_until = models.DateTimeField(null=True, blank=True)
    # a hot-spot run claimed at this moment (another worker leaves it alone for a while)
    hotspots_claimed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return "supervision state"


class NoticeKind(models.TextChoices):
    REMINDER = "reminder", _("deadline approaching")
    OVERDUE = "overdue", _("overdue")
    ESCALATED = "escalated", _("escalated by a supervisor")
    TASK = "task", _("proactive task assigned")


class Notification(models.Model):
    """An in-app notice to one staff member. ``key`` makes every sender idempotent."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    case = models.ForeignKey(Case, null=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=NoticeKind.choices)
    key = models.CharField(max_length=120)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notice_once")]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.key}"


class HotspotRun(models.Model):
    """One detection over a period of cases, with what it found."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    cases = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.period_start:%Y-%m-%d} – {self.period_end:%Y-%m-%d}"


class Hotspot(models.Model):
    """A cluster of cases about one problem (one place, one issue, close in time)."""

    run = models.ForeignKey(HotspotRun, on_delete=models.CASCADE, related_name="hotspots")
    rank = models.PositiveIntegerField()
    label = models.CharField(max_length=200)  # the representative case's title
    place = models.CharField(max_length=200, blank=True)
    heat = models.FloatField()
    size = models.PositiveIntegerField()
    residents = models.PositiveIntegerField()
    growth = models.FloatField()
    first = models.DateTimeField()
    last = models.DateTimeField()
    lat = models.FloatField(null=True)
    lon = models.FloatField(null=True)
    street = models.ForeignKey(Area, null=True, on_delete=models.SET_NULL, related_name="+")
    category = models.ForeignKey(Category, null=True, on_delete=models.SET_NULL, related_name="+")
    representative = models.ForeignKey(Case, null=True, on_delete=models.SET_NULL, related_name="+")
    members = models.JSONField(default=list)  # case ids

    class Meta:
        ordering = ["run", "rank"]

    def __str__(self) -> str:
        return self.label


class Alert(models.Model):
    """A category in a street whose weekly volume left its expected band."""

    run = models.ForeignKey(HotspotRun, on_delete=models.CASCADE, related_name="alerts")
    week_start = models.DateField()
    street = models.ForeignKey(Area, null=True, on_delete=models.SET_NULL, related_name="+")
    category = models.ForeignKey(Category, null=True, on_delete=models.SET_NULL, related_name="+")
    observed = models.PositiveIntegerField()
    expected = models.FloatField()
    low = models.FloatField()
    high = models.FloatField()
    method = models.CharField(max_length=10)
    direction = models.CharField(max_length=4)

    class Meta:
        ordering = ["run", "-observed"]

    def __str__(self) -> str:
        return f"{self.week_start} {self.observed} > {self.high:.1f}"


class ProactiveTask(models.Model):
    """Proactive governance (未诉先办): the city acts on a hot-spot or an alert before more
    residents have to ask. The work itself is a case (channel "other"), dispatched to the
    unit and tracked like any case; this row says where it came from and on what evidence."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="proactive_task")
    hotspot = models.ForeignKey(Hotspot, null=True, on_delete=models.SET_NULL, related_name="+")
    alert = models.ForeignKey(Alert, null=True, on_delete=models.SET_NULL, related_name="+")
    origin = models.CharField(max_length=200)  # what the hot-spot or alert said, kept
    evidence = models.JSONField(default=list)  # case ids behind it
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("proactive task")
        verbose_name_plural = _("proactive tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["hotspot"], condition=Q(hotspot__isnull=False), name="one_task_per_hotspot"
            ),
            models.UniqueConstraint(
                fields=["alert"], condition=Q(alert__isnull=False), name="one_task_per_alert"
            ),
        ]

    def __str__(self) -> str:
        return self.origin
