"""The audit log: append freely, seal in order afterwards.

Writers only INSERT an :class:`AuditEvent`; no writer waits for another. A single sealer
(``urbangov auditlog seal``, and the worker every few seconds) later takes the events not yet
sealed, gives each the next sequence number and chains it by hash to the one before in an
:class:`AuditSeal` row, and signs the new head in an :class:`AuditCheckpoint`. This is how
certificate-transparency logs work: entries are accepted at once and merged into the tree
within a bounded delay. Neither table is ever updated: a seal is a new row, not an edit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest_of(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class AuditEvent(models.Model):
    """One thing that happened: who did what to which object, when, and why."""

    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        # The label keeps who it was if the account is ever removed.
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(_("actor label"), max_length=150)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    data = models.JSONField(_("change"), default=dict, blank=True)
    digest = models.CharField(_("digest of the change"), max_length=64)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id} by {self.actor_label}"

    def content(self) -> dict[str, Any]:
        """The fields a seal's hash covers (the change itself through its digest)."""
        return {
            "id": self.pk,
            "at": iso_utc(self.at),
            "actor_id": self.actor_id,
            "actor": self.actor_label,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "purpose": self.purpose,
            "digest": self.digest,
        }


def chain_hash(prev_hash: str, seq: int, event: AuditEvent) -> str:
    payload = canonical_json({"seq": seq, "prev": prev_hash, "event": event.content()})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AuditSeal(models.Model):
    """The place of one event in the chain: written once, when the event is sealed."""

    seq = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="seal")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")

    def __str__(self) -> str:
        return f"seal {self.seq} of event {self.event_id}"


class AuditCheckpoint(models.Model):
    """A signed statement of the chain head after a sealing run."""

    seq = models.BigIntegerField(db_index=True)
    hash = models.CharField(max_length=64)
    at = models.DateTimeField()
    signature = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")

    def __str__(self) -> str:
        return f"checkpoint at {self.seq}"


class AuditChainLock(models.Model):
    """A single row the sealer locks so that two sealers never interleave."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)

    def __str__(self) -> str:
        return "audit chain lock"


# --- data-sharing agreements and exports -----------------------------------------------------


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("draft, awaiting approval")
    APPROVED = "approved", _("approved")
    REVOKED = "revoked", _("revoked")


class SharingAgreement(models.Model):
    """A data-sharing agreement (数据共享协议): who receives which fields of which rows, on
    what legal basis, for what purpose, until when, approved by whom. Case-level data leaves
    only under one, and only its fields."""

    recipient = models.CharField(_("recipient"), max_length=200)
    recipient_contact = models.CharField(_("recipient's contact"), max_length=200, blank=True)
    legal_basis = models.TextField(_("legal basis"))
    purpose = models.TextField(_("purpose"))
    dataset = models.CharField(_("dataset"), max_length=40)
    fields = models.JSONField(_("fields"), default=list)
    areas = models.JSONField(_("areas (codes)"), default=list)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    # The rows covered: those created in this period (open ends: no bound).
    data_from = models.DateTimeField(_("data from"), null=True, blank=True)
    data_until = models.DateTimeField(_("data until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoke_reason = models.TextField(_("reason for revocation"), blank=True)

    class Meta:
        verbose_name = _("data-sharing agreement")
        verbose_name_plural = _("data-sharing agreements")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.recipient} ({self.dataset})"

    def refusal(self, now: datetime) -> str:
        """Why no export may be made under this agreement now; empty when one may."""
        if self.status == AgreementStatus.REVOKED:
            return str(_("the agreement was revoked"))
        if self.status != AgreementStatus.APPROVED:
            return str(_("the agreement has not been approved"))
        if now < self.valid_from:
            return str(_("the agreement is not yet in force"))
        if now >= self.valid_until:
            return str(_("the agreement has expired"))
        return ""

    def state(self, now: datetime) -> str:
        if self.status == AgreementStatus.APPROVED and not self.refusal(now):
            return "active"
        if self.status == AgreementStatus.APPROVED and now >= self.valid_until:
            return "expired"
        return str(self.status)


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSON = "json", "JSON"
    PARQUET = "parquet", "Parquet"


class DataExport(models.Model):
    """One export of case-level data under an agreement: what left, as a digest."""

    agreement = models.ForeignKey(
        SharingAgreement, on_delete=models.PROTECT, related_name="exports"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    at = models.DateTimeField()
    format = models.CharField(max_length=10, choices=ExportFormat.choices)
    fields = models.JSONField(default=list)
    rows = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField()
    # SHA-256 of the exact bytes handed over.
    digest = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"export {self.pk} under agreement {self.agreement_id}"


# --- open data -------------------------------------------------------------------------------


class OpenDataRelease(models.Model):
    """One published table of aggregated counts (one dataset, one area level). Every level of
    one publication shares its ``batch``; the page serves the newest batch."""

    batch = models.CharField(max_length=32, db_index=True)
    dataset = models.CharField(max_length=40)
    level = models.CharField(max_length=20)
    published_at = models.DateTimeField()
    # Cases created before this moment are counted (the start of the day of publication).
    data_until = models.DateTimeField()
    k = models.PositiveSmallIntegerField()
    epsilon = models.FloatField(null=True, blank=True)
    # [{"area", "area_name", "category", "category_name", "month", "cases"}], cases None when
    # suppressed.
    table = models.JSONField(default=list)
    cells = models.PositiveIntegerField()
    suppressed = models.PositiveIntegerField()
    # SHA-256 of the table's canonical JSON.
    digest = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("open-data release")
        verbose_name_plural = _("open-data releases")
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "dataset", "level"], name="release_unique")
        ]

    def __str__(self) -> str:
        return f"{self.dataset}/{self.level} {self.batch}"


# --- retention -------------------------------------------------------------------------------


class RetentionPolicy(models.Model):
    """How long a dataset's rows keep their personal data after they are finished, per
    category (``category`` empty: the default). A category without a row of its own follows
    its parent's, then the default."""

    dataset = models.CharField(max_length=40, default="cases")
    category = models.CharField(_("category code"), max_length=40, blank=True)
    days = models.PositiveIntegerField(_("days kept after finishing"))

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")
        constraints = [
            models.UniqueConstraint(fields=["dataset", "category"], name="retention_unique")
        ]

    def __str__(self) -> str:
        return f"{self.dataset}:{self.category or '*'} {self.days} d"


class ErasedRecord(models.Model):
    """A row whose personal data was anonymised under retention (so it is counted once)."""

    dataset = models.CharField(max_length=40)
    object_pk = models.BigIntegerField()
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "object_pk"], name="erased_once")]

    def __str__(self) -> str:
        return f"{self.dataset}:{self.object_pk} erased"
