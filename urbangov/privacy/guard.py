"""The audit log's append-only guard: database triggers that refuse UPDATE and DELETE.

The sealer only ever INSERTs (events, seals, checkpoints), so the tables of the log are
append-only by design; these triggers make the database itself say so. An ``UPDATE`` or
``DELETE`` on them — from the ORM, the admin, a data migration, a console — fails with an
``IntegrityError`` and changes nothing.

One operation may still empty the log: ``urbangov flush`` (Django's flush, which the test
suite runs between transactional tests), which erases the whole database anyway.

- PostgreSQL: a ``BEFORE UPDATE OR DELETE`` row trigger that always refuses, and a
  ``BEFORE TRUNCATE`` statement trigger that refuses unless the session has set
  ``urbangov.flush`` (our ``flush`` command does, around Django's own ``TRUNCATE``).
- SQLite: ``BEFORE UPDATE`` triggers that always refuse, and ``BEFORE DELETE`` triggers that
  refuse unless ``urbangov_flushing()`` says this thread is running our ``flush``. That
  function exists only on connections opened by urbangov (it is registered when a connection
  opens); from any other program — the ``sqlite3`` shell, a backup tool — the DELETE fails on
  the missing function, which refuses it as well.

What the guard is, and is not (see docs/auditlog.md): it stops writes by mistake and by anyone
who can only run ordinary statements. It does not stop someone who can change the schema
(``DROP TRIGGER``, ``ALTER TABLE … DISABLE TRIGGER``), set the session variable, or edit the
SQLite file directly. The hash chain and the signed checkpoints are what detect those, and
``urbangov auditlog verify`` also fails when a guard is missing or disabled.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

GUARDED_TABLES = ("privacy_auditevent", "privacy_auditseal", "privacy_auditcheckpoint")
SQLITE_FUNCTION = "urbangov_flushing"
PG_SETTING = "urbangov.flush"

_state = threading.local()


def _flushing() -> int:
    return 1 if getattr(_state, "flushing", False) else 0


def register_sqlite_function(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: give each SQLite connection ``urbangov_flushing()``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 0, _flushing)


def _message(operation: str, table: str) -> str:
    return f"the audit log is append-only: {operation} on {table} refused"


def install_sql(vendor: str) -> list[str]:
    """Statements that install the guard on every table of the log."""
    if vendor == "postgresql":
        statements = [
            """CREATE OR REPLACE FUNCTION urbangov_refuse_audit_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'TRUNCATE' AND current_setting('urbangov.flush', true) = 'on' THEN
                RETURN NULL;
              END IF;
              RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
            END
            $$""",
        ]
        for table in GUARDED_TABLES:
            statements += [
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION urbangov_refuse_audit_change()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION urbangov_refuse_audit_change()",
            ]
        return statements
    if vendor == "sqlite":
        statements = []
        for table in GUARDED_TABLES:
            statements += [
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{_message('UPDATE', table)}'); END",
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"WHEN NOT {SQLITE_FUNCTION}() "
                f"BEGIN SELECT RAISE(ABORT, '{_message('DELETE', table)}'); END",
            ]
        return statements
    return []


def remove_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        statements = []
        for table in GUARDED_TABLES:
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            ]
        return [*statements, "DROP FUNCTION IF EXISTS urbangov_refuse_audit_change()"]
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_{suffix}"
            for table in GUARDED_TABLES
            for suffix in ("no_update", "no_delete")
        ]
    return []


def expected_triggers(vendor: str) -> set[str]:
    if vendor == "postgresql":
        return {f"{t}_{s}" for t in GUARDED_TABLES for s in ("append_only", "no_truncate")}
    if vendor == "sqlite":
        return {f"{t}_{s}" for t in GUARDED_TABLES for s in ("no_update", "no_delete")}
    return set()


def missing_guards(using: str = "default") -> list[str]:
    """Names of the guard's triggers that are absent or disabled (empty: all in force).

    On a database other than PostgreSQL or SQLite there is no guard: every name is missing."""
    connection = connections[using]
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"
            )
        elif vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            return ["(no append-only guard for this database)"]
        present = {row[0] for row in cursor.fetchall()}
    return sorted(expected_triggers(vendor) - present)


@contextmanager
def flushing(using: str = "default") -> Iterator[None]:
    """Let the current thread empty the log's tables: for ``urbangov flush`` only."""
    connection = connections[using]
    _state.flushing = True
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', false)", [PG_SETTING])
        yield
    finally:
        _state.flushing = False
        if connection.vendor == "postgresql" and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, '', false)", [PG_SETTING])
