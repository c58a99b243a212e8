"""State changes of the privacy app: appending to the audit log and sealing it."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from urbangov import db
from urbangov.privacy.models import (
    GENESIS_HASH,
    AuditChainLock,
    AuditCheckpoint,
    AuditEvent,
    AuditSeal,
    chain_hash,
    digest_of,
    iso_utc,
)

Actor = User | AnonymousUser | None

SEAL_BATCH = 5000


def actor_user(actor: Actor) -> User | None:
    if actor is None or not actor.is_authenticated:
        return None
    assert isinstance(actor, User)
    return actor


def actor_label(actor: Actor, default: str = "system") -> str:
    user = actor_user(actor)
    return user.get_username() if user is not None else default


def record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
    purpose: str = "",
    label: str | None = None,
) -> AuditEvent:
    """Append one event to the audit log.

    Called inside the caller's transaction, so the event exists exactly when the change does.
    Appending takes no lock: the chain is sealed later by :func:`seal_audit_log`. ``data``
    must not hold raw personal data — describe the change, do not copy it.
    """
    payload = data or {}
    user = actor_user(actor)
    event = AuditEvent(
        at=timezone.now(),
        actor=user,
        actor_label=label or actor_label(actor),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        purpose=purpose,
        data=payload,
        digest=digest_of(payload),
    )
    # On every write path of the platform: the lean insert (AuditEvent has no signals).
    db.insert(event)
    return event


def checkpoint_signature(seq: int, head: str, at_iso: str) -> str:
    secret = getattr(settings, "URBANGOV_AUDIT_KEY", "") or None
    return salted_hmac(
        "urbangov.audit.checkpoint", f"{seq}:{head}:{at_iso}", secret=secret, algorithm="sha256"
    ).hexdigest()


def signature_ok(checkpoint: AuditCheckpoint) -> bool:
    expected = checkpoint_signature(checkpoint.seq, checkpoint.hash, iso_utc(checkpoint.at))
    return hmac.compare_digest(expected, checkpoint.signature)


@dataclass(frozen=True)
class SealResult:
    sealed: int
    head_seq: int
    head_hash: str


def seal_audit_log(batch: int = SEAL_BATCH) -> SealResult:
    """Seal every event appended so far into the hash chain, oldest first.

    One sealer at a time: the lock row is taken FOR UPDATE (SQLite serialises writers anyway).
    Safe to run as often as wanted; with nothing to seal it writes nothing.
    """
    total = 0
    while True:
        with transaction.atomic():
            AuditChainLock.objects.get_or_create(id=1)
            AuditChainLock.objects.select_for_update().get(id=1)
            last = AuditSeal.objects.order_by("-seq").first()
            seq = last.seq if last else 0
            head = last.hash if last else GENESIS_HASH
            pending = list(AuditEvent.objects.filter(seal__isnull=True).order_by("id")[:batch])
            if not pending:
                return SealResult(sealed=total, head_seq=seq, head_hash=head)
            now = timezone.now()
            seals = []
            for event in pending:
                seq += 1
                digest = chain_hash(head, seq, event)
                seals.append(
                    AuditSeal(seq=seq, event=event, prev_hash=head, hash=digest, sealed_at=now)
                )
                head = digest
            AuditSeal.objects.bulk_create(seals)
            AuditCheckpoint.objects.create(
                seq=seq,
                hash=head,
                at=now,
                signature=checkpoint_signature(seq, head, iso_utc(now)),
            )
            total += len(pending)
