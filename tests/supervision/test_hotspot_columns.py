"""The columns hot-spot detection reads (``case_columns``): on PostgreSQL they come from a
binary cursor with the time computed by the database, elsewhere through the ORM; both must
give what the cases themselves say."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from tests.conftest import City, make_case
from urbangov.cases.models import Case
from urbangov.supervision import actions as sup_actions

pytestmark = pytest.mark.django_db


def test_case_columns_match_the_cases(city: City) -> None:
    made = [
        make_case(city, text="幸福路东段路灯不亮", title="路灯不亮"),
        make_case(city, where="d2", text="楼下水管漏水", contact_phone="13900139000"),
        make_case(city, text="小区噪音扰民", title="噪音"),
    ]
    # the third: no place, no category of its own (the reported one counts), no contact
    Case.objects.filter(pk=made[2].pk).update(
        lat=None, lon=None, category=None, contact_lookup="", area=None
    )
    outside = make_case(city, text="去年的旧问题")
    Case.objects.filter(pk=outside.pk).update(created_at=timezone.now() - timedelta(days=400))
    now = timezone.now() + timedelta(seconds=1)
    columns = sup_actions.case_columns(now - timedelta(days=30), now)

    cases = list(Case.objects.filter(pk__in=[c.pk for c in made]).order_by("id"))
    assert columns["ids"].tolist() == [c.pk for c in cases]
    assert columns["titles"] == [c.title for c in cases]
    assert columns["texts"] == [c.text for c in cases]
    # the same seconds as Python's own conversion, to the microsecond
    assert columns["times"].tolist() == [c.created_at.timestamp() for c in cases]
    assert columns["lat"][:2].tolist() == [cases[0].lat, cases[1].lat]
    assert math.isnan(columns["lat"][2]) and math.isnan(columns["lon"][2])
    assert columns["area"] == [cases[0].area_id, cases[1].area_id, None]
    assert columns["category"] == [
        cases[0].category_id or cases[0].reported_category_id,
        cases[1].category_id or cases[1].reported_category_id,
        cases[2].reported_category_id,
    ]
    assert columns["category"][2] is not None
    assert columns["reporter"][:2] == [cases[0].contact_lookup, cases[1].contact_lookup]
    assert columns["reporter"][0] != columns["reporter"][1] != ""
    assert columns["reporter"][2] == f"case:{cases[2].pk}"
    assert columns["times"].dtype == np.float64 and columns["ids"].dtype == np.int64


def test_case_columns_of_an_empty_period(city: City) -> None:
    now = timezone.now()
    columns = sup_actions.case_columns(now - timedelta(days=1), now)
    assert len(columns["ids"]) == 0 and columns["titles"] == [] and len(columns["times"]) == 0
