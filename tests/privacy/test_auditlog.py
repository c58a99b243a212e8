"""The audit log: appended freely, sealed in order afterwards, and any tampering found."""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from urbangov.privacy import guard
from urbangov.privacy.actions import record, seal_audit_log
from urbangov.privacy.models import (
    GENESIS_HASH,
    AuditCheckpoint,
    AuditEvent,
    AuditSeal,
    chain_hash,
)
from urbangov.privacy.queries import verify_chain

pytestmark = pytest.mark.django_db


def _append(n: int, start: int = 0) -> list[AuditEvent]:
    return [
        record(actor=None, action="test.event", data={"i": i, "text": f"第{i}件"})
        for i in range(start, start + n)
    ]


def _lift_guard() -> None:
    """What someone who may change the schema does first: drop the append-only triggers
    (inside the test's transaction, so they come back when it rolls back)."""
    with connection.cursor() as cur:
        for statement in guard.remove_sql(connection.vendor):
            cur.execute(statement)


def _sql(statement: str, params: list[object]) -> None:
    """Tamper with the log in SQL, as an attacker with schema rights would."""
    _lift_guard()
    with connection.cursor() as cur:
        cur.execute(statement, params)


def test_seal_then_verify_counts_every_event() -> None:
    _append(7)
    result = seal_audit_log()
    assert result.sealed == 7 and result.head_seq == 7
    report = verify_chain()
    assert report.ok and report.sealed == 7 and report.unsealed == 0
    # Sealing again with nothing new writes nothing.
    assert seal_audit_log().sealed == 0
    assert AuditCheckpoint.objects.count() == 1


def test_chain_links_recomputed_by_hand() -> None:
    events = _append(3)
    seal_audit_log()
    prev = GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        seal = AuditSeal.objects.get(event=event)
        assert seal.seq == seq and seal.prev_hash == prev
        assert seal.hash == chain_hash(prev, seq, AuditEvent.objects.get(pk=event.pk))
        prev = seal.hash


def test_events_appended_after_a_seal_join_the_chain() -> None:
    _append(3)
    seal_audit_log()
    _append(2, start=3)
    assert verify_chain().unsealed == 2
    seal_audit_log(batch=1)  # several small batches, each with its checkpoint
    report = verify_chain()
    assert report.ok and report.sealed == 5 and report.checkpoints == 3


def test_edited_change_is_detected_and_named() -> None:
    events = _append(5)
    seal_audit_log()
    _sql("UPDATE privacy_auditevent SET data = %s WHERE id = %s", ['{"i": 99}', events[2].pk])
    report = verify_chain()
    assert not report.ok and report.first_bad_event == events[2].pk and report.first_bad_seq == 3


def test_edited_field_is_detected() -> None:
    events = _append(4)
    seal_audit_log()
    _sql("UPDATE privacy_auditevent SET actor_label = %s WHERE id = %s", ["mallory", events[1].pk])
    report = verify_chain()
    assert not report.ok and report.first_bad_event == events[1].pk


def test_deleted_event_is_detected() -> None:
    events = _append(5)
    seal_audit_log()
    _sql("DELETE FROM privacy_auditseal WHERE event_id = %s", [events[1].pk])
    _sql("DELETE FROM privacy_auditevent WHERE id = %s", [events[1].pk])
    report = verify_chain()
    assert not report.ok and report.first_bad_seq == 2 and "missing" in report.reason


def test_reordered_events_are_detected() -> None:
    events = _append(4)
    seal_audit_log()
    a, b = events[1].pk, events[2].pk
    # Swap which event each seal points to.
    _sql("UPDATE privacy_auditseal SET event_id = %s WHERE event_id = %s", [-1, a])
    _sql("UPDATE privacy_auditseal SET event_id = %s WHERE event_id = %s", [a, b])
    _sql("UPDATE privacy_auditseal SET event_id = %s WHERE event_id = %s", [b, -1])
    report = verify_chain()
    assert not report.ok and report.first_bad_seq == 2


@pytest.mark.parametrize("position", [1, 3])
def test_an_inserted_event_is_detected_and_named(position: int) -> None:
    events = _append(4)
    seal_audit_log()
    forged = record(actor=None, action="test.forged", data={"i": "inserted"})
    before = AuditSeal.objects.get(seq=position - 1).hash if position > 1 else GENESIS_HASH
    # Make room at ``position`` (from the end, so that no two seals share a number), then
    # seal the forged event there with a correct link to the one before it.
    for seq in range(4, position - 1, -1):
        _sql("UPDATE privacy_auditseal SET seq = %s WHERE seq = %s", [seq + 1, seq])
    AuditSeal.objects.create(
        seq=position,
        event=forged,
        prev_hash=before,
        hash=chain_hash(before, position, forged),
        sealed_at=forged.at,
    )
    report = verify_chain()
    assert not report.ok
    assert (report.first_bad_event, report.first_bad_seq) == (forged.pk, position)
    assert "inserted" in report.reason
    # The genuine events themselves are untouched: the one after the forgery is not blamed.
    assert report.first_bad_event not in {e.pk for e in events}


def test_forged_tail_with_correct_hashes_is_caught_by_the_checkpoint() -> None:
    _append(3)
    seal_audit_log()
    head = AuditSeal.objects.order_by("-seq").first()
    assert head is not None
    # Someone with database access appends an event and computes its link correctly …
    forged = record(actor=None, action="test.forged", data={})
    AuditSeal.objects.create(
        seq=4,
        event=forged,
        prev_hash=head.hash,
        hash=chain_hash(head.hash, 4, forged),
        sealed_at=forged.at,
    )
    # … but cannot sign a checkpoint without the key.
    report = verify_chain()
    assert not report.ok and report.first_bad_event == forged.pk
    assert "checkpoint" in report.reason


def test_rewritten_checkpoint_signature_is_detected() -> None:
    _append(2)
    seal_audit_log()
    _lift_guard()
    AuditCheckpoint.objects.update(signature="0" * 64)
    report = verify_chain()
    assert not report.ok and "signature" in report.reason


def test_command_exit_codes() -> None:
    events = _append(3)
    call_command("auditlog", "seal")
    call_command("auditlog", "verify")
    _sql("UPDATE privacy_auditevent SET action = %s WHERE id = %s", ["x", events[0].pk])
    with pytest.raises(CommandError) as info:
        call_command("auditlog", "verify")
    assert info.value.returncode == 1
    assert f"event {events[0].pk}" in str(info.value)
    # The finding is on the log.
    finding = AuditEvent.objects.get(action="privacy.auditlog.verify.failed")
    assert finding.data["first_bad_event"] == events[0].pk and finding.data["first_bad_seq"] == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_appends_do_not_wait_for_each_other_and_late_commits_are_sealed() -> None:
    """A writer holding an open transaction with an appended event blocks nobody: another
    writer appends and commits, the sealer seals what is committed, and the late event is
    sealed on the next run."""
    started, release = threading.Event(), threading.Event()
    late: dict[str, int] = {}

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                late["id"] = record(actor=None, action="test.slow", data={}).pk
                started.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert started.wait(10)
    fast = record(actor=None, action="test.fast", data={})  # autocommit: must not block
    assert fast.pk > late["id"]
    first = seal_audit_log()
    assert first.sealed == 1 and AuditSeal.objects.get(seq=1).event_id == fast.pk
    release.set()
    thread.join(10)
    second = seal_audit_log()
    assert second.sealed == 1 and AuditSeal.objects.get(seq=2).event_id == late["id"]
    assert verify_chain().ok


def test_a_separate_audit_key_signs_checkpoints(settings) -> None:
    from urbangov.privacy.actions import signature_ok

    _append(2)
    settings.URBANGOV_AUDIT_KEY = "audit-key-1"
    seal_audit_log()
    checkpoint = AuditCheckpoint.objects.get()
    assert signature_ok(checkpoint)
    # Rotating SECRET_KEY leaves the chain verifiable; changing the audit key does not.
    settings.SECRET_KEY = "another-secret-key"
    assert verify_chain().ok
    settings.URBANGOV_AUDIT_KEY = "audit-key-2"
    assert not verify_chain().ok
