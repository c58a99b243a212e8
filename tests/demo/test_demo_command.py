"""``urbangov demo --no-serve`` end to end on the real database: what it writes equals what
the generator drew, the accounts work, and a second run neither duplicates nor breaks."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from urbangov.cases.models import Case, CaseEvent, ExtensionRequest, Feedback, Status
from urbangov.cases.queries import queue_for, scoped
from urbangov.cases.transitions import TRANSITIONS
from urbangov.demo import actions, generator
from urbangov.org import geo
from urbangov.org.models import Area, Category, Facility, Level, Membership, Role, Unit
from urbangov.privacy.actions import seal_audit_log
from urbangov.privacy.models import AuditEvent
from urbangov.privacy.queries import verify_chain

SEED = 3
COUNT = 1500
TODAY = "2025-06-01"
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Demo:
    output: str
    end: Any


def run_demo(*extra: str) -> str:
    out = StringIO()
    with override_settings(PASSWORD_HASHERS=FAST_HASHER), translation.override("en"):
        call_command(
            "demo",
            "--no-serve",
            "--cases",
            str(COUNT),
            "--seed",
            str(SEED),
            "--today",
            TODAY,
            *extra,
            stdout=out,
        )
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[Demo]:
    """One Demo City for the module, built inside a transaction that every test's own
    transaction nests in (as Django's setUpTestData does), and rolled back at the end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            output = run_demo()
            end = generator.end_of_history(
                date.fromisoformat(TODAY), timezone.get_default_timezone()
            )
            yield Demo(output, end)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            geo.invalidate()


def db_fingerprint() -> str:
    """What the database holds of the demo's cases, as one hash."""
    h = hashlib.sha256()
    for row in (
        Case.objects.filter(source=generator.SOURCE)
        .order_by("external_id")
        .values_list(
            "external_id",
            "tracking_code",
            "status",
            "text",
            "unit__code",
            "category__code",
            "area__code",
            "created_at",
            "resolve_due",
            "reopen_count",
        )
    ):
        h.update(repr(row).encode())
    for row in CaseEvent.objects.order_by("case__external_id", "at", "id").values_list(
        "case__external_id", "kind", "from_status", "to_status", "at", "note"
    ):
        h.update(repr(row).encode())
    return h.hexdigest()


pytestmark = pytest.mark.django_db


def test_the_command_writes_exactly_what_the_generator_drew(demo: Demo) -> None:
    city = generator.build_city(SEED)
    sla = actions.sla_table(Category.objects.filter(parent__isnull=False))
    drawn = list(generator.generate_cases(city, count=COUNT, seed=SEED, end=demo.end, sla=sla))
    assert Case.objects.count() == COUNT
    stored = {
        c.external_id: c
        for c in Case.objects.select_related("unit", "category", "area", "merged_into")
    }
    events = Counter(CaseEvent.objects.values_list("case__external_id", flat=True))
    for rec in drawn:
        case = stored[rec.external_id]
        assert case.tracking_code == rec.tracking_code
        assert (case.status, case.text, case.title) == (rec.status, rec.text, rec.title)
        assert case.area.code == rec.area and (case.lat, case.lon) == (rec.lat, rec.lon)
        assert (case.unit.code if case.unit else None) == rec.unit
        assert (case.category.code if case.category else None) == rec.category
        assert case.resolve_due == rec.resolve_due and case.created_at == rec.created_at
        assert (case.merged_into.external_id if case.merged_into else None) == rec.merged_into
        assert case.contact_phone == rec.contact_phone
        assert case.anonymous == (not rec.contact_name and not rec.contact_phone)
        assert events[rec.external_id] == len(rec.events)
    assert Feedback.objects.count() == sum(len(r.feedback) for r in drawn)
    assert ExtensionRequest.objects.count() == sum(len(r.extensions) for r in drawn)
    assert Area.objects.filter(level=Level.DISTRICT).count() == 6
    assert 36 <= Area.objects.filter(level=Level.STREET).count() <= 44
    assert 180 <= Area.objects.filter(level=Level.COMMUNITY).count() <= 220
    assert Facility.objects.count() == len(city.facilities)
    assert Unit.objects.count() == len(city.units)
    assert "Demo" in demo.output or "演示" in demo.output


def test_areas_nest_by_path_and_points_locate_to_their_cells(demo: Demo) -> None:
    for area in Area.objects.select_related("parent").exclude(parent=None):
        assert area.path == area.parent.path + area.code + "/"  # type: ignore[union-attr]
    geo.invalidate()
    sample = Case.objects.select_related("area").order_by("id")[::50]
    for case in sample:
        assert case.lat is not None and case.lon is not None
        geo.check_point(case.lat, case.lon)
        assert geo.locate(case.lat, case.lon) == case.area
    # unit areas and categories are configured
    office = Unit.objects.filter(kind="street_office").first()
    assert office is not None and office.areas.get().level == Level.STREET
    assert office.categories.exists()
    water = Unit.objects.get(code="WATER")
    assert set(water.categories.values_list("code", flat=True)) >= {"construction.water_supply"}


def test_stored_timelines_follow_the_transition_table(demo: Demo) -> None:
    by_case: dict[int, list[CaseEvent]] = {}
    for e in CaseEvent.objects.order_by("case_id", "at", "id"):
        by_case.setdefault(e.case_id, []).append(e)
    statuses = dict(Case.objects.values_list("id", "status"))
    assert len(by_case) == COUNT
    for case_id, timeline in by_case.items():
        assert timeline[0].kind == "submit" and timeline[0].to_status == Status.SUBMITTED
        status = Status.SUBMITTED
        for e in timeline[1:]:
            t = TRANSITIONS[e.kind]
            assert e.from_status == status and status in t.sources, (case_id, e.kind)
            assert e.to_status == (t.target or status)
            assert e.public == t.public
            status = e.to_status
        assert statuses[case_id] == status


def test_open_overdue_dissatisfied_and_reopened_cases_exist(demo: Demo) -> None:
    now = timezone.now()
    assert Case.objects.open().exists()
    assert Case.objects.overdue(demo.end).exists()
    assert Case.objects.overdue(now).count() >= Case.objects.overdue(demo.end).count()
    assert Feedback.objects.filter(rating="dissatisfied").exists()
    assert Case.objects.filter(reopen_count__gt=0).exists()
    assert Case.objects.filter(status=Status.MERGED, merged_into__isnull=False).exists()
    assert not Case.objects.filter(status=Status.MERGED, merged_into__isnull=True).exists()
    assert ExtensionRequest.objects.filter(status="granted").exists()


def test_contacts_are_encrypted_at_rest(demo: Demo) -> None:
    case = Case.objects.exclude(contact_phone="").order_by("id").first()
    assert case is not None and case.contact_phone.isdigit()
    with connection.cursor() as cur:
        cur.execute("SELECT contact_phone, contact_lookup FROM cases_case WHERE id = %s", [case.pk])
        raw_phone, lookup = cur.fetchone()
    assert case.contact_phone not in raw_phone and len(lookup) == 64


@pytest.mark.parametrize("username", [name for name, _, _ in actions.ACCOUNT_PLAN])
def test_every_demo_account_logs_in_with_its_printed_password(
    demo: Demo, username: str, client: Client
) -> None:
    password = actions.demo_password(username)
    assert f"{username}" in demo.output and password in demo.output
    assert client.login(username=username, password=password)
    user = get_user_model().objects.get(username=username)
    role = next(r for name, r, _ in actions.ACCOUNT_PLAN if name == username)
    assert Membership.objects.filter(user=user, role=role).exists()
    assert user.is_superuser == (role == Role.ADMIN)


@pytest.mark.parametrize("username", ["operator", "handler", "handler2", "supervisor"])
def test_workbench_queues_are_not_empty(demo: Demo, username: str, client: Client) -> None:
    user = get_user_model().objects.get(username=username)
    queue = queue_for(user)
    assert queue.exists()
    if username.startswith("handler"):
        unit = Membership.objects.get(user=user).unit
        assert set(queue.values_list("unit_id", flat=True)) == {unit.pk}
        # a handler sees their unit's cases, not the whole city's
        assert scoped(user).count() < Case.objects.count()
    client.force_login(user)
    response = client.get(reverse("cases:workbench"))
    assert response.status_code == 200


def test_audit_log_records_the_build_and_verifies(demo: Demo) -> None:
    build = AuditEvent.objects.get(action="demo.build")
    assert build.data["seed"] == SEED and build.data["cases"] == COUNT
    load = AuditEvent.objects.get(action="case.load_history")
    assert load.data == {"source": generator.SOURCE, "cases": COUNT, "sha256": load.data["sha256"]}
    seal_audit_log()
    assert verify_chain().ok


def test_residents_find_the_dispatcher_on_the_public_register(demo: Demo, client: Client) -> None:
    """The demo files its dispatcher as a city would: register entry, impact assessment, in
    production — so the public register is not empty and says, in the reader's language,
    what it does and how to contest it."""
    assert "Dispatcher version" in demo.output
    entry = next(e for e in client.get("/algorithms/register.json").json()["algorithms"])
    assert entry["code"] == "dispatch" and entry["phase"] == "production"
    assert entry["owner_unit"] and entry["personal_data"] is True
    page = client.get("/algorithms/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert actions.DISPATCH_PLAIN["en"]["summary"] in page
    hant = client.get("/algorithms/dispatch/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert actions.DISPATCH_PLAIN["zh-hant"]["appeal"] in hant
    # its impact assessment is what the demo answered: level II, automatic dispatch allowed
    from urbangov.algorithms import impact
    from urbangov.algorithms.queries import impact_level, may_decide_automatically
    from urbangov.dispatch.actions import dispatch_algorithm

    algorithm = dispatch_algorithm(actor=None)
    assert impact_level(algorithm) == impact.score(impact.validate(actions.DISPATCH_IMPACT)).level
    assert may_decide_automatically(algorithm.pk)


def test_a_second_run_does_not_duplicate(demo: Demo) -> None:
    before = (
        Case.objects.count(),
        CaseEvent.objects.count(),
        Area.objects.count(),
        get_user_model().objects.count(),
        AuditEvent.objects.count(),
    )
    output = run_demo()
    after = (
        Case.objects.count(),
        CaseEvent.objects.count(),
        Area.objects.count(),
        get_user_model().objects.count(),
        AuditEvent.objects.count(),
    )
    assert after == before
    assert "--reset" in output
    assert actions.demo_password("operator") in output


def test_reset_rebuilds_the_same_city_from_scratch(demo: Demo) -> None:
    fingerprint = db_fingerprint()
    users = get_user_model().objects.count()
    # The module's demo is not committed: fire PostgreSQL's deferred foreign-key checks now,
    # as a commit would, or TRUNCATE refuses to run ("pending trigger events").
    connection.check_constraints()
    output = run_demo("--reset")
    assert Case.objects.count() == COUNT
    assert get_user_model().objects.count() == users
    assert AuditEvent.objects.filter(action="demo.build").count() == 1
    assert db_fingerprint() == fingerprint
    assert "operator" in output


def test_bad_input_is_refused_with_a_clear_error(demo: Demo) -> None:
    cases = Case.objects.count()
    with translation.override("en"):
        with pytest.raises(CommandError, match="--cases must be between 0"):
            call_command("demo", "--no-serve", "--cases", "-5", stdout=StringIO())
        with pytest.raises(CommandError, match="--port must be between 1 and 65535"):
            call_command("demo", "--port", "70000", stdout=StringIO())
        with pytest.raises(CommandError, match="not a date in the form YYYY-MM-DD"):
            call_command("demo", "--no-serve", "--today", "2025-13-40", stdout=StringIO())
    assert Case.objects.count() == cases


def test_the_demo_is_never_built_into_a_real_city(demo: Demo) -> None:
    # Make this database look like a real city's: no Demo City root, another one instead.
    Area.objects.filter(code="DC").update(code="REAL")
    before = (Case.objects.count(), Area.objects.count())
    with pytest.raises(CommandError, match="does not hold the Demo City"):
        run_demo("--reset")
    with pytest.raises(CommandError, match="only into an empty database"):
        run_demo()
    assert (Case.objects.count(), Area.objects.count()) == before


def test_cases_span_the_year_before_the_anchor(demo: Demo) -> None:
    start = demo.end - timedelta(days=365)
    assert Case.objects.filter(created_at__gte=start, created_at__lt=demo.end).count() == COUNT
    months = Counter(
        timezone.localtime(at).month for at in Case.objects.values_list("created_at", flat=True)
    )
    assert len(months) == 12 and min(months.values()) > COUNT / 30
    assert not CaseEvent.objects.filter(at__gt=demo.end).exists()
