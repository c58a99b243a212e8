"""Residents' requests (诉求): the case, its timeline, attachments, feedback and extensions.

Models hold data and the invariants that need no outside world. Every change of state goes
through :mod:`urbangov.cases.actions`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from urbangov.org.models import Area, Category, Unit, Urgency
from urbangov.privacy.fields import EncryptedTextField


class Channel(models.TextChoices):
    WEB = "web", _("web")
    APP = "app", _("app / Open311")
    PHONE = "phone", _("phone hotline")
    COUNTER = "counter", _("service counter")
    ASSISTED = "assisted", _("assisted by staff")
    OTHER = "other", _("other")


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    AWAITING_DISPATCH = "awaiting_dispatch", _("awaiting dispatch")
    DISPATCHED = "dispatched", _("dispatched")
    ACCEPTED = "accepted", _("being handled")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected as out of scope")
    MERGED = "merged", _("merged as duplicate")


OPEN_STATUSES = (
    Status.SUBMITTED,
    Status.AWAITING_DISPATCH,
    Status.DISPATCHED,
    Status.ACCEPTED,
)
# Cases with a handling unit and a clock running.
IN_HANDS = (Status.DISPATCHED, Status.ACCEPTED)
FINISHED = (Status.RESOLVED, Status.CLOSED, Status.REJECTED, Status.MERGED)

# Tracking codes avoid 0/O, 1/I/L and U so they can be read out on the phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_tracking_code() -> str:
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def normalise_tracking_code(value: str) -> str:
    raw = "".join(ch for ch in value.upper() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == 10 else value.strip().upper()


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> CaseQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now: datetime | None = None) -> CaseQuerySet:
        """In a unit's hands past the deadline to resolve. A query, not a timer."""
        now = now or timezone.now()
        return self.filter(status__in=IN_HANDS, resolve_due__lt=now)

    def response_overdue(self, now: datetime | None = None) -> CaseQuerySet:
        now = now or timezone.now()
        return self.filter(status=Status.DISPATCHED, response_due__lt=now)

    def due_within(self, hours: float, now: datetime | None = None) -> CaseQuerySet:
        now = now or timezone.now()
        return self.filter(
            status__in=IN_HANDS, resolve_due__gte=now, resolve_due__lt=now + timedelta(hours=hours)
        )

    def in_area(self, area: Area) -> CaseQuerySet:
        return self.filter(area__path__startswith=area.path)


class Case(models.Model):
    tracking_code = models.CharField(
        _("tracking code"), max_length=11, unique=True, default=new_tracking_code, editable=False
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("description"))
    reported_category = models.ForeignKey(
        Category,
        verbose_name=_("category chosen by the resident"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.ORDINARY
    )
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    area = models.ForeignKey(
        Area,
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    # Personal data: encrypted at rest, looked up by keyed hash only.
    contact_name = EncryptedTextField(_("contact name"), blank=True, default="")
    contact_phone = EncryptedTextField(_("contact phone"), blank=True, default="")
    contact_lookup = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    attributes = models.JSONField(_("answers to extra questions"), default=dict, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.SUBMITTED,
        db_index=True,
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("handling unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    created_at = models.DateTimeField(_("submitted at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    response_due = models.DateTimeField(_("respond by"), null=True, blank=True)
    resolve_due = models.DateTimeField(_("resolve by"), null=True, blank=True, db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    resolution = models.TextField(_("reply to the resident"), blank=True)
    reject_reason = models.TextField(_("reason for rejection"), blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    # Where an imported case came from.
    source = models.CharField(_("source system"), max_length=40, blank=True)
    external_id = models.CharField(_("id in the source system"), max_length=80, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="case_unique_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["status", "resolve_due"]),
            models.Index(fields=["unit", "status"]),
            models.Index(fields=["category", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_code} {self.title}"

    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.status in IN_HANDS and self.resolve_due is not None and self.resolve_due < now

    def reopen_deadline(self) -> datetime | None:
        if self.resolved_at is None:
            return None
        return self.resolved_at + timedelta(days=settings.URBANGOV["REOPEN_WINDOW_DAYS"])

    def has_location(self) -> bool:
        return self.lat is not None and self.lon is not None


class CaseEvent(models.Model):
    """One entry of a case's timeline."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150)
    note = models.TextField(blank=True)
    # Shown to the resident on the tracking page.
    public = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="cases/%Y/%m/")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("satisfied")
    BASIC = "basic", _("basically satisfied")
    DISSATISFIED = "dissatisfied", _("dissatisfied")


class Feedback(models.Model):
    """The resident's rating of a resolution; one per resolution round."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="feedback")
    round = models.PositiveSmallIntegerField(default=0)
    rating = models.CharField(_("rating"), max_length=12, choices=Rating.choices)
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [
            models.UniqueConstraint(fields=["case", "round"], name="feedback_once_per_round")
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.rating}"


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    GRANTED = "granted", _("granted")
    REFUSED = "refused", _("refused")
    # The case left the unit's hands (sent back, resolved, merged) before a decision.
    WITHDRAWN = "withdrawn", _("withdrawn")


class ExtensionRequest(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    hours = models.PositiveIntegerField(_("extra hours"))
    reason = models.TextField(_("reason"))
    status = models.CharField(
        max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status="pending"),
                name="one_pending_extension_per_case",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.hours} h ({self.status})"
