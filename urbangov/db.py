"""Lean INSERTs and UPDATEs for the hottest write paths (case intake and transitions,
timelines, the decision and audit logs).

``Model.save()`` rebuilds its SQL and walks every field through several layers for each row;
on the intake path that was over a third of the CPU a case costs. :func:`insert` builds the
statement once per model and database (:func:`update`, once per model, fields and database)
and converts only the values whose stored form depends on the database (dates, JSON,
encrypted text …); plain strings, numbers and booleans pass as they are. The row comes from a
model instance, so field defaults still apply.

It sends no ``pre_save``/``post_save`` signals and runs no ``save()`` override: use it only
for models that rely on neither (say so where you call it).

:func:`cursor` is for the few statements those paths run for every case, always with the same
text and the same plan whatever the values: on PostgreSQL it binds the values on the server,
so that the database keeps the statement parsed and planned after a few runs instead of doing
both again each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import DatabaseError, connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

# Field classes whose Python value is also what the database driver takes. Exact classes only:
# a subclass (an encrypted text field, say) may store something else.
_PLAIN: frozenset[type[models.Field[Any, Any]]] = frozenset(
    {
        models.CharField,
        models.TextField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.PositiveBigIntegerField,
        models.BooleanField,
        models.FloatField,
    }
)

Converter = Callable[[Any, BaseDatabaseWrapper], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    columns: tuple[tuple[str, Converter], ...]


def _is_plain(field: models.Field[Any, Any]) -> bool:
    if isinstance(field, models.ForeignKey):
        return _is_plain(field.target_field)
    return type(field) in _PLAIN or isinstance(field, models.AutoField)


@lru_cache(maxsize=64)
def _plan(model: type[models.Model], alias: str) -> _Plan:
    connection = connections[alias]
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    pk = quote(meta.pk.column) if meta.pk is not None else "id"
    # Table and column names come from our own models (quoted); every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {pk}"
    )
    columns = tuple((f.attname, None if _is_plain(f) else f.get_db_prep_save) for f in fields)
    return _Plan(sql, columns)


@lru_cache(maxsize=64)
def _update_plan(model: type[models.Model], names: tuple[str, ...], alias: str) -> _Plan:
    connection = connections[alias]
    meta = model._meta
    assert meta.pk is not None
    fields: list[models.Field[Any, Any]] = []
    for name in names:
        field = meta.get_field(name)
        if not isinstance(field, models.Field) or not field.concrete or field.primary_key:
            raise ValueError(f"{model.__name__}.{name} is not a column update() can set")
        fields.append(field)
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    # Names come from our own models (quoted); every value is a parameter.
    sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    columns = tuple(
        (f.attname, None if _is_plain(f) else f.get_db_prep_save) for f in [*fields, meta.pk]
    )
    return _Plan(sql, columns)


def _params(obj: models.Model, plan: _Plan, connection: BaseDatabaseWrapper) -> list[Any]:
    return [
        getattr(obj, attname) if convert is None else convert(getattr(obj, attname), connection)
        for attname, convert in plan.columns
    ]


@contextmanager
def cursor(connection: BaseDatabaseWrapper) -> Iterator[CursorWrapper]:
    """A cursor for a statement whose text never changes and that runs over and over (values
    only as parameters). On PostgreSQL its values are bound on the server, and psycopg has the
    statement prepared once it has run ``prepare_threshold`` times on the connection (see
    ``URBANGOV_DB_PREPARED`` in settings); elsewhere, and where that is turned off, it is the
    connection's usual cursor.

    Only for statements whose plan does not depend on their values (an INSERT, a row by its
    key): after a few runs the database may keep one plan for every value, made without
    knowing them. The duplicate search, for one, is not: made for any values, its plan reads
    three days of cases by time instead of a few hundred metres through the cells' index.

    Django's own cursors bind on the client and are never prepared: some of the ORM's
    queries are not valid SQL once their values are bound on the server (an expression with a
    value in it, ordered by under DISTINCT), so only statements written for this may use it.
    """
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
    ):
        with connection.cursor() as usual:
            yield usual
        return
    # (The stubs do not know the class.)
    from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]

    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
    # Wrapped as the connection wraps its own (errors as Django's, queries logged and seen by
    # execute wrappers, the broken-transaction check).
    wrapped: CursorWrapper = connection._prepare_cursor(raw)  # type: ignore[attr-defined]
    try:
        yield wrapped
    finally:
        wrapped.close()


def insert(obj: models.Model) -> models.Model:
    """INSERT one new instance and set its primary key; returns the instance."""
    model = type(obj)
    alias = router.db_for_write(model)
    connection = connections[alias]
    plan = _plan(model, alias)
    with cursor(connection) as statement:
        statement.execute(plan.sql, _params(obj, plan, connection))
        row = statement.fetchone()
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = alias
    return obj


def update(obj: models.Model, fields: list[str]) -> None:
    """UPDATE the named fields of a stored instance's row from the instance, as
    ``save(update_fields=fields)`` does; an error where no row has that primary key."""
    model = type(obj)
    alias = router.db_for_write(model)
    connection = connections[alias]
    plan = _update_plan(model, tuple(fields), alias)
    with cursor(connection) as statement:
        statement.execute(plan.sql, _params(obj, plan, connection))
        changed = statement.rowcount
    if changed != 1:
        raise DatabaseError(f"{model.__name__} {obj.pk}: {changed} rows updated, 1 expected")
