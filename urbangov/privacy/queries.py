"""Reads of the privacy app: verifying the audit chain, the auditors' search, agreements,
exports and open-data releases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from urbangov.privacy import guard, registry
from urbangov.privacy.actions import signature_ok
from urbangov.privacy.models import (
    GENESIS_HASH,
    AuditCheckpoint,
    AuditEvent,
    AuditSeal,
    DataExport,
    OpenDataRelease,
    SharingAgreement,
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
    # Triggers of the append-only guard that are absent or disabled.
    missing_guards: tuple[str, ...] = ()


def verify_chain(chunk: int = 2000) -> ChainReport:
    """Walk the chain in sequence order and recompute every link.

    Detects an edited event (its change no longer matches its digest, or its fields no longer
    match its seal), a deleted event (a gap in the sequence), an inserted or reordered event
    (a link that does not follow from the one before), and a rewritten tail (a checkpoint whose
    signature or hash no longer matches). Last, it checks that the append-only guard (the
    triggers refusing UPDATE and DELETE, :mod:`urbangov.privacy.guard`) is still in force.
    """
    expected_seq = 1
    prev = GENESIS_HASH
    # The link before ``prev`` and the event it sealed: when an event links to the one two
    # places back, the event between them was inserted, and that is the one to name.
    before_prev = ""
    prev_event: int | None = None
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
                if before_prev and seal.prev_hash == before_prev:
                    return _bad(
                        prev_event,
                        seal.seq - 1,
                        f"event at position {seal.seq - 1} was inserted into the chain",
                    )
                return _bad(event.pk, seal.seq, "link to the previous event is broken")
            if digest_of(event.data) != event.digest:
                return _bad(event.pk, seal.seq, "the recorded change was edited")
            if chain_hash(prev, seal.seq, event) != seal.hash:
                return _bad(event.pk, seal.seq, "the event was edited after sealing")
            before_prev, prev, prev_event = prev, seal.hash, event.pk
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
    missing = guard.missing_guards()
    if missing:
        return ChainReport(
            ok=False,
            sealed=last_seq,
            unsealed=0,
            checkpoints=len(checkpoints),
            reason=f"the append-only guard is missing or disabled: {', '.join(missing)}",
            missing_guards=tuple(missing),
        )
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


# --- the auditors' search --------------------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    purpose: str = ""
    # An exact phone number (or other contact a dataset keeps a keyed hash of): the events
    # about that person's records.
    contact: str = ""
    reads_only: bool = False
    since: datetime | None = None
    until: datetime | None = None


# Reads of personal data are the actions ending in ".read" (case.contact.read …).
READ_SUFFIX = ".read"


def search_audit(query: AuditQuery) -> QuerySet[AuditEvent]:
    """Events matching every given criterion, newest first, with their seals."""
    qs = AuditEvent.objects.select_related("seal").order_by("-at", "-id")
    if query.actor:
        qs = qs.filter(actor_label__iexact=query.actor.strip())
    if query.action:
        qs = qs.filter(action__startswith=query.action.strip())
    if query.object_type:
        qs = qs.filter(object_type=query.object_type.strip())
    if query.object_id:
        qs = qs.filter(object_id=query.object_id.strip())
    if query.purpose:
        qs = qs.filter(purpose__icontains=query.purpose.strip())
    if query.reads_only:
        qs = qs.filter(action__endswith=READ_SUFFIX)
    if query.since is not None:
        qs = qs.filter(at__gte=query.since)
    if query.until is not None:
        qs = qs.filter(at__lt=query.until)
    if query.contact:
        about = Q(pk__in=[])
        for dataset in registry.datasets().values():
            ids = dataset.subjects(query.contact)
            if ids:
                about |= Q(object_type=dataset.object_type, object_id__in=ids)
        qs = qs.filter(about)
    return qs


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str
    at: datetime | None
    unsealed: int


def chain_head() -> ChainHead:
    last = AuditCheckpoint.objects.order_by("-seq", "-id").first()
    unsealed = AuditEvent.objects.filter(seal__isnull=True).count()
    if last is None:
        return ChainHead(seq=0, hash=GENESIS_HASH, at=None, unsealed=unsealed)
    return ChainHead(seq=last.seq, hash=last.hash, at=last.at, unsealed=unsealed)


# --- agreements, exports, open data ----------------------------------------------------------


def agreements() -> QuerySet[SharingAgreement]:
    return SharingAgreement.objects.select_related("created_by", "approved_by", "revoked_by")


def exports() -> QuerySet[DataExport]:
    return DataExport.objects.select_related("agreement")


def latest_releases() -> dict[str, list[OpenDataRelease]]:
    """The newest publication of each dataset, its levels in the dataset's order."""
    out: dict[str, list[OpenDataRelease]] = {}
    for name, dataset in registry.datasets().items():
        latest = OpenDataRelease.objects.filter(dataset=name).only("batch").first()
        if latest is None:
            continue
        order = {level.name: i for i, level in enumerate(dataset.levels)}
        releases = OpenDataRelease.objects.filter(dataset=name, batch=latest.batch).defer("table")
        out[name] = sorted(releases, key=lambda r: order.get(r.level, 99))
    return out


def latest_release(dataset: str, level: str) -> OpenDataRelease | None:
    latest = OpenDataRelease.objects.filter(dataset=dataset).only("batch").first()
    if latest is None:
        return None
    return OpenDataRelease.objects.filter(dataset=dataset, batch=latest.batch, level=level).first()
