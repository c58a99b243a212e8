"""Retention: finished cases past their category's retention lose their personal data — and
only that: every statistic reads the same before and after."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from tests.conftest import City, make_case
from urbangov.cases.actions import accept_case, dispatch_case, resolve_case
from urbangov.cases.models import Case, CaseEvent, Status
from urbangov.privacy.actions import apply_retention, publish_open_data, set_retention
from urbangov.privacy.models import AuditEvent, ErasedRecord, OpenDataRelease

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

TEXT = "我叫王小明，电话13912345678，住在幸福路12号3栋502室，水管爆了"


def _resolved(city: City, **kw: Any) -> Case:
    case = make_case(city, text=TEXT, **kw)
    case = dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    case = accept_case(case, actor=city.user("handler"))
    return resolve_case(case, actor=city.user("handler"), resolution="已修复。王小明先生确认。")


def _statistics() -> Any:
    cases = Case.objects.all()
    return (
        sorted(
            cases.values_list(
                "status", "category_id", "area_id", "unit_id", "channel", "urgency"
            ).annotate(n=Count("id"))
        ),
        sorted(cases.values_list("id", "created_at", "resolved_at", "closed_at", "dispatched_at")),
        list(
            CaseEvent.objects.order_by("id").values_list("kind", "from_status", "to_status", "at")
        ),
    )


def test_cases_past_retention_are_anonymised_and_statistics_stay(city: City) -> None:
    old = _resolved(city)
    recent = _resolved(city)
    still_open = make_case(city, text=TEXT)
    years = timezone.now() + timedelta(days=3 * 365 + 1)
    Case.objects.filter(pk=recent.pk).update(resolved_at=years - timedelta(days=10))
    stats = _statistics()
    before_open_data = {r.level: r.table for r in publish_open_data(k=1, now=years)}

    report = apply_retention(actor=None, now=years)
    assert report.anonymised == 1
    old.refresh_from_db()
    assert (old.contact_name, old.contact_phone, old.contact_lookup, old.address) == (
        "",
        "",
        "",
        "",
    )
    assert "王小明" not in old.text and "13912345678" not in old.text and "502室" not in old.text
    assert "水管爆了" in old.text and "[电话]" in old.text
    assert "王小明" not in old.resolution
    assert round(old.lat, 3) == old.lat  # type: ignore[arg-type]
    # What was not past retention kept everything.
    recent.refresh_from_db()
    still_open.refresh_from_db()
    assert recent.contact_phone == "13800138000" and "王小明" in recent.text
    assert still_open.contact_name == "张三"
    # Statistics: the same counts by status, category, area, unit, channel; the same dates
    # and timelines; the same open data.
    assert _statistics() == stats
    OpenDataRelease.objects.all().delete()
    after_open_data = {r.level: r.table for r in publish_open_data(k=1, now=years)}
    assert after_open_data == before_open_data
    # Logged, and counted once: a second run finds nothing new.
    event = AuditEvent.objects.get(action="privacy.retention.apply")
    assert event.data["ids"] == [old.pk] and event.data["anonymised"] == 1
    assert apply_retention(actor=None, now=years).anonymised == 0
    assert ErasedRecord.objects.count() == 1


def test_retention_is_set_per_category_and_inherited_from_the_parent(city: City) -> None:
    admin = city.user("admin")
    water = _resolved(city)  # category water.leak, a child of water
    noise = make_case(city, category=city.noise, text="噪音")
    dispatch_case(noise, actor=city.user("operator"), unit=city.office_d1)
    noise = accept_case(Case.objects.get(pk=noise.pk), actor=city.user("handler_d1"))
    resolve_case(noise, actor=city.user("handler_d1"), resolution="已处理")
    set_retention(actor=admin, dataset="cases", category="water", days=30)
    set_retention(actor=admin, dataset="cases", category="", days=365)
    in_40_days = timezone.now() + timedelta(days=40)
    assert apply_retention(actor=None, now=in_40_days, dry_run=True).anonymised == 1
    assert apply_retention(actor=None, now=in_40_days).anonymised == 1
    assert Case.objects.get(pk=water.pk).contact_name == ""
    assert Case.objects.get(pk=noise.pk).contact_name == "张三"
    assert apply_retention(actor=None, now=in_40_days + timedelta(days=366)).anonymised == 1


def test_commands(city: City) -> None:
    _resolved(city)
    out = io.StringIO()
    call_command("retention", "set", "water.leak", "1", "--user=admin", stdout=out)
    listing = io.StringIO()
    call_command("retention", "list", stdout=listing)
    days = json.loads(listing.getvalue())
    assert days["water.leak"] == 1 and days["water"] == days["default"] == 3 * 365
    out, err = io.StringIO(), io.StringIO()
    call_command("retention", "apply", "--dry-run", stdout=out, stderr=err)
    assert json.loads(out.getvalue())["anonymised"] == 0  # resolved today: 1 day not yet past
    for args, message in (
        (["set", "no.such", "10", "--user=admin"], "Unknown category"),
        (["set", "water", "0", "--user=admin"], "at least one day"),
        (["set", "water", "10", "--user=handler"], "may not"),
        (["apply", "--dataset=nope"], "unknown dataset"),
    ):
        with pytest.raises(CommandError) as info:
            call_command("retention", *args)
        assert info.value.returncode == 2 and message in str(info.value)
    assert Case.objects.filter(status=Status.RESOLVED).get().contact_name == "张三"
