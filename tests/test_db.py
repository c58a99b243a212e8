"""urbangov.db: a lean INSERT or UPDATE must store exactly what Model.save() stores; on
PostgreSQL the statements sent through db.cursor are kept prepared, and nothing else is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection
from django.db.models import Count

from tests.conftest import City
from urbangov import db
from urbangov.cases.models import Case, CaseEvent, Channel, Status
from urbangov.org.models import Urgency

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


def test_update_stores_what_save_stores_and_only_the_fields_named(city: City) -> None:
    by_orm, lean = db.insert(_case(city, "orm-55555")), db.insert(_case(city, "lean-66666"))
    later = datetime(2026, 3, 2, 9, 0, 0, 654321, tzinfo=UTC)
    fields = ["status", "updated_at", "unit", "category", "urgency", "contact_phone", "attributes"]
    for case in (by_orm, lean):
        case.status = Status.DISPATCHED
        case.updated_at = later
        case.unit = city.water_dept
        case.category = city.water_leak
        case.urgency = Urgency.EMERGENCY
        case.contact_phone = "13900139000"
        case.attributes = {"楼层": 5, "list": [1, None]}
        case.title = "not written: not among the fields"
    by_orm.save(update_fields=fields)
    db.update(lean, fields)
    a, b = _raw(by_orm.pk), _raw(lean.pk)
    for column in COLUMNS:
        if column in {"idempotency_key", "tracking_code", "contact_name", "contact_phone"}:
            continue  # the keys differ; encrypted columns are randomised
        assert a[column] == b[column], column
    stored = Case.objects.get(pk=lean.pk)
    assert stored.title == "路灯不亮"
    assert (stored.status, stored.unit, stored.category) == (
        Status.DISPATCHED,
        city.water_dept,
        city.water_leak,
    )
    assert stored.updated_at == later and stored.urgency == Urgency.EMERGENCY
    assert stored.contact_phone == "13900139000" and b["contact_phone"] != "13900139000"
    assert stored.attributes == {"楼层": 5, "list": [1, None]}


def test_update_of_a_row_that_is_not_there_is_an_error(city: City) -> None:
    case = db.insert(_case(city, "gone-77777"))
    ghost = Case.objects.get(pk=case.pk)
    ghost.pk = case.pk + 10_000
    ghost.status = Status.CLOSED
    with pytest.raises(DatabaseError, match="0 rows updated"):
        db.update(ghost, ["status"])
    assert Case.objects.get(pk=case.pk).status == Status.SUBMITTED


@pytest.mark.parametrize("name", ["id", "events", "no_such_field"])
def test_update_sets_only_columns(city: City, name: str) -> None:
    case = db.insert(_case(city, f"col-{name[:5]:0<5}"))
    with pytest.raises(Exception, match=name):
        db.update(case, [name])


def _prepared() -> list[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cur.fetchall()]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_the_hot_statements_are_prepared_and_the_orms_are_not(city: City) -> None:
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    assert isinstance(threshold, int) and threshold > 0
    case = db.insert(_case(city, "prep-88888"))
    for i in range(threshold + 1):
        db.insert(CaseEvent(case=case, kind="note", actor_label=f"x{i}"))
        case.updated_at = datetime(2026, 3, 3, i, tzinfo=UTC)
        db.update(case, ["updated_at"])
        # The ORM's, with a value in an expression: never prepared (client-side binding).
        Case.objects.filter(pk=case.pk).annotate(n=Count("events")).values("n").get()
    prepared = _prepared()
    assert any(s.startswith('INSERT INTO "cases_caseevent"') for s in prepared), prepared
    assert any(s.startswith('UPDATE "cases_case" SET "updated_at"') for s in prepared), prepared
    assert not any("COUNT(" in s.upper() for s in prepared), prepared
    # The values went in as given.
    assert case.events.count() == threshold + 1
    assert Case.objects.get(pk=case.pk).updated_at == datetime(2026, 3, 3, threshold, tzinfo=UTC)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_prepared_statements_can_be_turned_off(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    # What URBANGOV_DB_PREPARED=0 sets (for a pooler that does not follow them).
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", None)
    before = len(_prepared())
    case = db.insert(_case(city, "noprep-9999"))
    for i in range(10):
        db.insert(CaseEvent(case=case, kind="note", actor_label=f"y{i}"))
    assert len(_prepared()) == before
    assert case.events.count() == 10
