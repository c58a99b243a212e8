"""The audit log's append-only guard: the database itself refuses UPDATE and DELETE on events,
seals and checkpoints (PostgreSQL and SQLite), lets only `flush` empty them, and `auditlog
verify` fails when the guard has been taken away."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from urbangov.privacy import guard
from urbangov.privacy.actions import record, seal_audit_log
from urbangov.privacy.models import AuditCheckpoint, AuditEvent, AuditSeal
from urbangov.privacy.queries import verify_chain

STATEMENTS = {
    "privacy_auditevent": (
        "UPDATE privacy_auditevent SET actor_label = 'mallory'",
        "DELETE FROM privacy_auditevent",
    ),
    "privacy_auditseal": (
        "UPDATE privacy_auditseal SET hash = 'x'",
        "DELETE FROM privacy_auditseal",
    ),
    "privacy_auditcheckpoint": (
        "UPDATE privacy_auditcheckpoint SET signature = 'x'",
        "DELETE FROM privacy_auditcheckpoint",
    ),
}


def _sealed_log(n: int = 3) -> None:
    for i in range(n):
        record(actor=None, action="test.event", data={"i": i})
    seal_audit_log()


def _snapshot() -> tuple[list[tuple[object, ...]], ...]:
    return (
        list(AuditEvent.objects.order_by("id").values_list("id", "actor_label", "data")),
        list(AuditSeal.objects.order_by("seq").values_list("seq", "event_id", "hash")),
        list(AuditCheckpoint.objects.order_by("id").values_list("id", "signature")),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement", [s for pair in STATEMENTS.values() for s in pair], ids=lambda s: s[:40]
)
def test_update_and_delete_in_sql_are_refused(statement: str) -> None:
    _sealed_log()
    before = _snapshot()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert _snapshot() == before
    assert verify_chain().ok


@pytest.mark.django_db
def test_the_orm_and_querysets_are_refused_too() -> None:
    _sealed_log()
    before = _snapshot()
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(action="test.event").update(purpose="covering up")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.order_by("id").first().delete()  # type: ignore[union-attr]
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditCheckpoint.objects.all().delete()
    event = AuditEvent.objects.order_by("id").first()
    assert event is not None
    event.actor_label = "mallory"
    with pytest.raises(IntegrityError), transaction.atomic():
        event.save()
    assert _snapshot() == before


@pytest.mark.django_db
def test_appending_and_sealing_still_work_under_the_guard() -> None:
    _sealed_log(4)
    _sealed_log(2)
    report = verify_chain()
    assert report.ok and report.sealed == 6 and report.checkpoints == 2


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_truncate_is_refused_on_postgresql() -> None:
    _sealed_log()
    with connection.cursor() as cursor:
        # The rows were inserted in this test's transaction: check their deferred foreign keys
        # now, or PostgreSQL refuses TRUNCATE for pending trigger events, not for the guard.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(IntegrityError, match="TRUNCATE"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE privacy_auditcheckpoint, privacy_auditseal, privacy_auditevent")
    assert AuditEvent.objects.count() == 3


@pytest.mark.django_db
def test_verify_fails_when_the_guard_is_dropped_and_guard_reinstalls_it() -> None:
    _sealed_log()
    with connection.cursor() as cursor:
        cursor.execute(guard.remove_sql(connection.vendor)[0])
    report = verify_chain()
    assert not report.ok and report.missing_guards
    assert "append-only guard" in report.reason
    with pytest.raises(CommandError) as info:
        call_command("auditlog", "verify")
    assert info.value.returncode == 1 and "urbangov auditlog guard" in str(info.value)

    call_command("auditlog", "guard")
    assert guard.missing_guards() == []
    seal_audit_log()  # the reinstallation is itself on the log
    assert verify_chain().ok
    assert AuditEvent.objects.filter(action="privacy.auditlog.guard").count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.all().delete()


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_disabled_trigger_counts_as_missing_on_postgresql() -> None:
    _sealed_log()
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE privacy_auditevent DISABLE TRIGGER privacy_auditevent_append_only"
        )
    report = verify_chain()
    assert not report.ok and report.missing_guards == ("privacy_auditevent_append_only",)


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_log_and_the_guard_stays_in_force() -> None:
    _sealed_log()
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == AuditSeal.objects.count() == 0
    assert AuditCheckpoint.objects.count() == 0
    # Only the flush itself was let through.
    _sealed_log(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 1


def test_sqlite_programs_other_than_urbangov_cannot_delete(tmp_path: Path) -> None:
    """Another program (the sqlite3 shell, a script) has no urbangov_flushing(): its DELETE
    fails on the missing function, its UPDATE on the trigger; INSERT works."""
    db = sqlite3.connect(tmp_path / "log.sqlite3")
    for table in guard.GUARDED_TABLES:
        db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT)")
    for statement in guard.install_sql("sqlite"):
        db.execute(statement)
    db.execute("INSERT INTO privacy_auditevent (v) VALUES ('kept')")
    db.commit()
    with pytest.raises(sqlite3.OperationalError, match="urbangov_flushing"):
        db.execute("DELETE FROM privacy_auditevent")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE privacy_auditevent SET v = 'changed'")
    assert db.execute("SELECT v FROM privacy_auditevent").fetchall() == [("kept",)]
    db.close()
