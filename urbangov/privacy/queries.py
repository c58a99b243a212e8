"""Reads of the privacy app: verifying the audit chain."""

from __future__ import annotations

from dataclasses import dataclass

from urbangov.privacy.actions import signature_ok
from urbangov.privacy.models import (
    GENESIS_HASH,
    AuditCheckpoint,
    AuditEvent,
    AuditSeal,
    chain_hash,
    digest_of,
)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    sealed: int
    unsealed: int
    checkpoints: int
    first_bad_event: int | None = None
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(chunk: int = 2000) -> ChainReport:
    """Walk the chain in sequence order and recompute every link.

    Detects an edited event (its change no longer matches its digest, or its fields no longer
    match its seal), a deleted event (a gap in the sequence), an inserted or reordered event
    (a link that does not follow from the one before), and a rewritten tail (a checkpoint whose
    signature or hash no longer matches).
    """
    expected_seq = 1
    prev = GENESIS_HASH
    hash_at: dict[int, str] = {}
    checkpoints = list(AuditCheckpoint.objects.order_by("seq", "id"))
    wanted = {c.seq for c in checkpoints}
    last_seq = 0
    while True:
        seals = list(
            AuditSeal.objects.filter(seq__gte=expected_seq)
            .select_related("event")
            .order_by("seq")[:chunk]
        )
        if not seals:
            break
        for seal in seals:
            event = seal.event
            if seal.seq != expected_seq:
                return _bad(event.pk, expected_seq, f"event at position {expected_seq} is missing")
            if seal.prev_hash != prev:
                return _bad(event.pk, seal.seq, "link to the previous event is broken")
            if digest_of(event.data) != event.digest:
                return _bad(event.pk, seal.seq, "the recorded change was edited")
            if chain_hash(prev, seal.seq, event) != seal.hash:
                return _bad(event.pk, seal.seq, "the event was edited after sealing")
            prev = seal.hash
            if seal.seq in wanted:
                hash_at[seal.seq] = seal.hash
            last_seq = seal.seq
            expected_seq += 1
    for checkpoint in checkpoints:
        if not signature_ok(checkpoint):
            return _bad(None, checkpoint.seq, f"checkpoint {checkpoint.pk} has a bad signature")
        if checkpoint.seq > last_seq:
            return _bad(None, checkpoint.seq, f"events up to position {checkpoint.seq} are missing")
        if hash_at.get(checkpoint.seq) != checkpoint.hash:
            return _bad(None, checkpoint.seq, f"chain differs from checkpoint {checkpoint.pk}")
    signed_up_to = checkpoints[-1].seq if checkpoints else 0
    if last_seq > signed_up_to:
        # The sealer signs a checkpoint in the same transaction as every seal it writes, so a
        # sealed event beyond the last checkpoint was not sealed by it.
        seal = AuditSeal.objects.get(seq=signed_up_to + 1)
        return _bad(seal.event_id, seal.seq, "sealed without a signed checkpoint")
    unsealed = AuditEvent.objects.filter(seal__isnull=True).count()
    return ChainReport(ok=True, sealed=last_seq, unsealed=unsealed, checkpoints=len(checkpoints))


def _bad(event_id: int | None, seq: int, reason: str) -> ChainReport:
    return ChainReport(
        ok=False,
        sealed=0,
        unsealed=0,
        checkpoints=0,
        first_bad_event=event_id,
        first_bad_seq=seq,
        reason=reason,
    )
