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
