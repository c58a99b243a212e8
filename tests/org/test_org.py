"""Organisation: the area tree, categories and their SLA, units and roles, in the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.conftest import City, box
from urbangov.org import geo
from urbangov.org.models import Area, Category, Level, SlaPolicy, Urgency
from urbangov.org.queries import scope_of

pytestmark = pytest.mark.django_db


def test_paths_nest_and_within_selects_the_subtree(city: City) -> None:
    assert city.grid_d1.path == "/C/D1/D1S1/D1S1C1/D1S1C1G1/"
    under_d1 = set(Area.objects.within(city.d1).values_list("code", flat=True))
    assert under_d1 == {"D1", "D1S1", "D1S1C1", "D1S1C1G1", "D1S1C1G2"}
    assert [a.code for a in city.grid_d1.ancestors()] == ["C", "D1", "D1S1", "D1S1C1", "D1S1C1G1"]


def test_area_rules(city: City) -> None:
    with pytest.raises(ValidationError):
        Area(code="X", name="x", level=Level.GRID, parent=city.city).full_clean()
    with pytest.raises(ValidationError):
        Area(code="Y", name="y", level=Level.DISTRICT, parent=None).full_clean()
    with pytest.raises(ValidationError):
        Area(
            code="Z",
            name="z",
            level=Level.DISTRICT,
            parent=city.city,
            geometry={"type": "Point", "coordinates": [1, 2]},
        ).full_clean()
    Area(
        code="D3",
        name="z",
        level=Level.DISTRICT,
        parent=city.city,
        geometry=box(121.3, 31.2, 121.31, 31.21),
    ).full_clean()


def test_locate_finds_the_grid_cell_and_refuses_points_outside(city: City) -> None:
    assert geo.locate(*city.p_d1) == city.grid_d1
    assert geo.locate(31.25, 121.475).code == "D1S1C1G2"
    assert geo.locate(40.7, -74.0) is None
    with pytest.raises(ValidationError):
        geo.check_point(40.7, -74.0)
    geo.check_point(*city.p_d2)


def test_sla_defaults_and_city_overrides(city: City) -> None:
    # Defaults seeded by migration: emergency 2 h, utilities 24 h, ordinary 7 d, complex 15 d.
    hours = dict(SlaPolicy.objects.values_list("urgency", "resolve_hours"))
    assert hours == {"emergency": 2, "utility": 24, "ordinary": 168, "complex": 360}
    assert city.noise.deadlines() == (timedelta(days=7), timedelta(hours=24))
    policy = SlaPolicy.objects.get(urgency=Urgency.ORDINARY)
    policy.resolve_hours = 120
    policy.save()  # as the admin saves it
    assert city.noise.deadlines()[0] == timedelta(hours=120)
    city.noise.resolve_hours = 48
    assert city.noise.deadlines()[0] == timedelta(hours=48)
    # A case raised to emergency takes the emergency class, not the category's override.
    assert city.noise.deadlines(Urgency.EMERGENCY)[0] == timedelta(hours=2)
    # Only the resolve clock is the category's: the response clock is the policy's (24 h).
    assert city.noise.deadlines()[1] == timedelta(hours=24)
    policy.response_hours = 12
    policy.save()
    assert city.noise.deadlines() == (timedelta(hours=48), timedelta(hours=12))
    # Both clocks its own: the policy does not enter (changing it changes nothing).
    city.noise.response_hours = 6
    assert city.noise.deadlines() == (timedelta(hours=48), timedelta(hours=6))
    assert city.noise.deadlines(Urgency.ORDINARY) == (timedelta(hours=48), timedelta(hours=6))
    assert city.noise.deadlines(Urgency.EMERGENCY) == (timedelta(hours=2), timedelta(hours=1))


def test_an_sla_change_made_elsewhere_applies_within_the_cache_age(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urbangov.org import models

    assert SlaPolicy.hours_for(Urgency.ORDINARY) == (168, 24)
    # Another process's change: no signal reaches this one, which keeps its table a while.
    SlaPolicy.objects.filter(urgency=Urgency.ORDINARY).update(resolve_hours=120)
    assert SlaPolicy.hours_for(Urgency.ORDINARY) == (168, 24)
    monkeypatch.setattr(models, "SLA_CACHE_SECONDS", 0.0)
    assert SlaPolicy.hours_for(Urgency.ORDINARY) == (120, 24)
    # A row removed (in the admin): the default applies at once.
    monkeypatch.setattr(models, "SLA_CACHE_SECONDS", 3600.0)
    SlaPolicy.objects.get(urgency=Urgency.UTILITY).delete()
    assert SlaPolicy.hours_for(Urgency.UTILITY) == models.DEFAULT_SLA_HOURS[Urgency.UTILITY]


def test_categories_have_two_levels(city: City) -> None:
    with pytest.raises(ValidationError):
        Category(code="water.leak.small", name="小漏", parent=city.water_leak).full_clean()


def test_scope_of_personas(city: City) -> None:
    op = scope_of(city.user("operator"))
    assert op.has("operator") and op.is_citywide("operator")
    outsider = scope_of(city.user("outsider"))
    assert outsider.paths("handler") == frozenset({city.d2.path})
    assert not outsider.is_citywide("handler")
    assert scope_of(city.user("admin")).is_admin
    assert not scope_of(city.user("nobody")).roles


def test_a_city_wide_scope_covers_every_case_only_while_it_holds_every_root(city: City) -> None:
    """The dispatch centre answers for the city: its supervisor reads cases unfiltered, until
    a second root area appears that it does not answer for."""
    from tests.conftest import make_case
    from urbangov.cases.models import Case
    from urbangov.cases.queries import scoped

    make_case(city)
    supervisor = city.user("supervisor")
    assert scope_of(supervisor).covers_everything("supervisor")
    assert "WHERE" not in str(scoped(supervisor).query)
    assert not scope_of(city.user("outsider")).covers_everything("handler")
    other = Area.objects.create(code="X", name="邻市", level="city")
    outside = make_case(city)
    Case.objects.filter(pk=outside.pk).update(
        area=Area.objects.create(code="XG", name="邻市网格", level="grid", parent=other)
    )
    supervisor = type(supervisor).objects.get(pk=supervisor.pk)  # a fresh request's scope
    assert not scope_of(supervisor).covers_everything("supervisor")
    assert outside not in scoped(supervisor) and scoped(supervisor).count() == 1


ADMIN_MODELS = ["area", "category", "slapolicy", "unit", "membership", "facility", "apitoken"]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_configurable_in_admin(client, city: City, model: str) -> None:
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-123")
    client.force_login(root)
    assert client.get(reverse(f"admin:org_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:org_{model}_add")).status_code == 200


def test_renaming_or_moving_an_area_carries_its_subtree_and_cases(city: City) -> None:
    from tests.conftest import make_case
    from urbangov.cases.queries import scoped

    case = make_case(city)  # located in D1's first grid cell
    d1 = Area.objects.get(code="D1")
    d1.code = "EAST"
    d1.save()
    grid = Area.objects.get(code="D1S1C1G1")
    assert grid.path == "/C/EAST/D1S1/D1S1C1/D1S1C1G1/"
    # The street office of that district still sees the case.
    from urbangov.org.models import Membership, Role

    Membership.objects.create(user=city.user("handler_d1"), unit=city.office_d1, role=Role.OPERATOR)
    assert case in scoped(city.user("handler_d1"))
    street = Area.objects.get(code="D1S1")
    with pytest.raises(ValidationError):
        d1.parent = Area.objects.get(code="D1S1C1")
        d1.full_clean()
    assert street.path == "/C/EAST/D1S1/"


def test_admin_changes_are_on_the_audit_log(client, city: City) -> None:
    from django.contrib.auth import get_user_model

    from urbangov.privacy.models import AuditEvent

    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-123")
    client.force_login(root)
    url = reverse("admin:org_slapolicy_change", args=[SlaPolicy.objects.get(urgency="ordinary").pk])
    response = client.post(url, {"urgency": "ordinary", "resolve_hours": 120, "response_hours": 24})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.org.slapolicy.change")
    assert event.actor == root and event.data == {"changed": ["resolve_hours"]}
    url = reverse("admin:org_membership_delete", args=[city.user("outsider").memberships.get().pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert AuditEvent.objects.filter(action="admin.org.membership.delete").count() == 1
