"""Lean INSERTs for the hottest write paths (case intake, timelines, the audit log).

``Model.save()`` rebuilds its SQL and walks every field through several layers for each row;
on the intake path that was over a third of the CPU a case costs. :func:`insert` builds the
statement once per model and database and converts only the values whose stored form depends
on the database (dates, JSON, encrypted text …); plain strings, numbers and booleans pass as
they are. The row comes from a model instance, so field defaults still apply.

It sends no ``pre_save``/``post_save`` signals and runs no ``save()`` override: use it only
for models that rely on neither (say so where you call it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

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


def _params(obj: models.Model, plan: _Plan, connection: BaseDatabaseWrapper) -> list[Any]:
    return [
        getattr(obj, attname) if convert is None else convert(getattr(obj, attname), connection)
        for attname, convert in plan.columns
    ]


def insert(obj: models.Model) -> models.Model:
    """INSERT one new instance and set its primary key; returns the instance."""
    model = type(obj)
    alias = router.db_for_write(model)
    connection = connections[alias]
    plan = _plan(model, alias)
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, _params(obj, plan, connection))
        row = cursor.fetchone()
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = alias
    return obj
