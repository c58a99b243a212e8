"""urbangov.db.insert: a lean INSERT must store exactly what Model.save() stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from tests.conftest import City
from urbangov import db
from urbangov.cases.models import Case, CaseEvent, Channel

pytestmark = pytest.mark.django_db

COLUMNS = [f.column for f in Case._meta.concrete_fields if not f.primary_key]


def _raw(pk: int) -> dict[str, object]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM cases_case WHERE id = %s", [pk])  # noqa: S608
        return dict(zip(COLUMNS, cur.fetchone(), strict=True))


def _case(city: City, key: str) -> Case:
    moment = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    return Case(
        channel=Channel.PHONE,
        title="路灯不亮",
        text="幸福路路灯不亮",
        reported_category=city.noise,
        lat=31.25,
        lon=121.45,
        area=city.grid_d1,
        contact_name="王五",
        contact_phone="13700137000",
        attributes={"楼层": 3, "ok": True},
        idempotency_key=key,
        created_at=moment,
        updated_at=moment,
        tracking_code=f"AAAAA-{key[-5:]}",
    )


def test_insert_stores_what_save_stores(city: City) -> None:
    by_orm = _case(city, "orm-22222")
    by_orm.save()
    lean = _case(city, "lean-33333")
    assert db.insert(lean) is lean and lean.pk is not None and not lean._state.adding
    a, b = _raw(by_orm.pk), _raw(lean.pk)
    for column in COLUMNS:
        if column in {"idempotency_key", "tracking_code", "contact_name", "contact_phone"}:
            continue
        assert a[column] == b[column], column
    # Encrypted columns differ byte for byte (Fernet is randomised) but read back the same.
    assert b["contact_phone"] != "13700137000"
    stored = Case.objects.get(pk=lean.pk)
    assert (stored.contact_name, stored.contact_phone) == ("王五", "13700137000")
    assert stored.attributes == {"楼层": 3, "ok": True}
    assert stored.created_at == datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    assert stored.area == city.grid_d1


def test_insert_returns_distinct_keys_and_fills_foreign_keys(city: City) -> None:
    case = db.insert(_case(city, "fk-44444"))
    events = [db.insert(CaseEvent(case=case, kind="note", actor_label="x")) for _ in range(3)]
    assert len({e.pk for e in events}) == 3
    assert list(case.events.order_by("id").values_list("pk", flat=True)) == [e.pk for e in events]
