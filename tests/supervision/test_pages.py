"""Supervision pages and API: who gets in (outsiders 404), bad filters answered with a clear
message and no 500, the formal escalation on the timeline with its notice, reminders and
overdue notices sent once, proactive tasks from hot-spots, and the monthly report."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from tests.conftest import City, make_case
from urbangov.cases import actions
from urbangov.cases.models import Case, CaseEvent, Channel, Status
from urbangov.org.models import ApiToken
from urbangov.supervision import actions as sup_actions
from urbangov.supervision.models import (
    Hotspot,
    Item,
    Metric,
    NoticeKind,
    Notification,
    ProactiveTask,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PAGES = [
    "supervision:overview",
    "supervision:performance",
    "supervision:overdue",
    "supervision:hotspots",
    "supervision:report",
]


def as_user(city: City, username: str, language: str = "en") -> Client:
    client = Client()
    client.cookies["django_language"] = language
    client.force_login(city.user(username))
    return client


def _dispatched(city: City, **kw: Any) -> Case:
    case = make_case(city, **kw)
    with TestCase.captureOnCommitCallbacks(execute=True):
        actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    case.refresh_from_db()
    return case


# --- who gets in -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_supervisors_analysts_admins_in_others_404(city: City, name: str) -> None:
    url = reverse(name)
    assert Client().get(url).status_code == 302  # signed out: to the sign-in page
    for username in ("supervisor", "analyst", "admin"):
        response = as_user(city, username).get(url)
        assert response.status_code == 200, (username, name)
    for username in ("outsider", "handler", "operator", "nobody", "auditor"):
        assert as_user(city, username).get(url).status_code == 404, (username, name)


def test_unit_board_for_its_own_staff_only(city: City) -> None:
    url = reverse("supervision:unit_board", args=["WATER"])
    assert as_user(city, "handler").get(url).status_code == 200
    assert as_user(city, "supervisor").get(url).status_code == 200
    assert as_user(city, "outsider").get(url).status_code == 404
    assert as_user(city, "handler_d1").get(url).status_code == 404
    assert (
        as_user(city, "handler").get(reverse("supervision:unit_board", args=["NOPE"])).status_code
        == 404
    )
    # The board's lists behind its numbers are the unit's, and nobody else's.
    evidence = reverse("supervision:evidence") + "?metric=response&board=WATER"
    assert as_user(city, "handler").get(evidence).status_code == 200
    assert as_user(city, "outsider").get(evidence).status_code == 404
    assert (
        as_user(city, "outsider")
        .get(reverse("supervision:evidence") + "?metric=response")
        .status_code
        == 404
    )


def test_district_supervisor_sees_only_their_streets(city: City) -> None:
    from django.contrib.auth import get_user_model

    from urbangov.org.models import Membership, Role, Unit, UnitKind

    d2_case = make_case(city, where="d2")
    d1_case = make_case(city)
    sup_actions.fold()
    unit = Unit.objects.create(code="D2SUP", name="西区督查", kind=UnitKind.OTHER)
    unit.areas.add(city.d2)
    user = get_user_model().objects.create_user(username="d2sup", password="x" * 12)
    Membership.objects.create(user=user, unit=unit, role=Role.SUPERVISOR)
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    listed = client.get(reverse("supervision:evidence") + "?metric=volume")
    assert listed.status_code == 200
    html = listed.content.decode()
    assert d2_case.tracking_code in html and d1_case.tracking_code not in html
    streets = json.loads(client.get(reverse("supervision:streets_geojson")).content)
    assert [f["properties"]["name"] for f in streets["features"]] == ["D2S1"]


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-03-31&to=2026-03-01", "before it starts"),
        ("from=1900-01-01&to=1900-02-01", "must start between"),
        ("from=2010-01-01&to=2025-12-31", "at most"),
        ("from=2026-13-01&to=2026-13-05", "is not a date"),
        ("month=2026-15", "is not a month"),
        ("month=2026-01&from=2026-01-01&to=2026-01-31", "either a month or a date range"),
        ("area=NOPE", "No area with code"),
        ("area=D1S1C1G1", "by district or street"),
        ("unit=NOPE", "No handling unit"),
        ("w=30,30,30", "add up to 90"),
        ("w=50,x,50", "whole numbers"),
        ("w=50,50", "Give three weights"),
        ("level=galaxy", "Rank by unit"),
    ],
)
def test_bad_filters_get_a_clear_message_not_a_500(city: City, query: str, message: str) -> None:
    client = as_user(city, "supervisor")
    for name in ("supervision:overview", "supervision:performance", "supervision:report"):
        response = client.get(reverse(name) + "?" + query)
        assert response.status_code == 400, (name, query)
        assert message in response.content.decode(), (name, query)
    api = client.get("/api/v1/supervision/performance?" + query)
    assert api.status_code == 400
    assert message in api.json()["detail"]


def test_evidence_with_bad_parameters_is_400(city: City) -> None:
    client = as_user(city, "supervisor")
    for query in ("metric=nope", "metric=response&ok=maybe", "metric=response&street=NOPE"):
        response = client.get(reverse("supervision:evidence") + "?" + query)
        assert response.status_code == 400, query


def test_misconfigured_weights_are_a_system_check_error(settings: Any) -> None:
    from urbangov.supervision.checks import weights_sum_to_100

    settings.URBANGOV = {**settings.URBANGOV, "SCORE_WEIGHTS": ["40", "40", "40"]}
    (error,) = weights_sum_to_100()
    assert error.id == "supervision.E001" and "120" in error.msg


# --- pages show the numbers, their definitions and their charts --------------------------------


def test_overview_shows_rates_definitions_charts_and_tables(city: City) -> None:
    case = _dispatched(city)
    with TestCase.captureOnCommitCallbacks(execute=True):
        actions.accept_case(case, actor=city.user("handler"))
    sup_actions.fold()
    client = as_user(city, "supervisor")
    html = client.get(reverse("supervision:overview")).content.decode()
    assert "Response rate: of the dispatches whose response deadline" in html
    assert "vendor/echarts/echarts.min.js" in html
    for chart in ("chart-trend", "chart-categories", "chart-map", "chart-rates"):
        assert f'id="{chart}-data"' in html and f'aria-labelledby="{chart}-caption"' in html
    assert html.count('class="table-view" open') == 4
    # in Chinese, the default language, too
    zh = as_user(city, "supervisor", "zh-hans").get(reverse("supervision:overview"))
    assert zh.status_code == 200


def test_vendored_echarts_is_served_from_our_static_files(city: City) -> None:
    from django.contrib.staticfiles import finders

    path = finders.find("vendor/echarts/echarts.min.js")
    assert path is not None
    with open(path, encoding="utf-8") as handle:
        head = handle.read(2000)
    assert "echarts" in head.lower()
    assert finders.find("supervision/charts.js") is not None


def test_evidence_page_lists_exactly_the_counted_cases(city: City) -> None:
    cases = [_dispatched(city) for _ in range(3)]
    sup_actions.fold()
    client = as_user(city, "supervisor")
    html = client.get(reverse("supervision:evidence") + "?metric=volume").content.decode()
    assert "3 cases" in html
    for case in cases:
        assert case.tracking_code in html
    # The category mix's bar for cases without a category opens only those.
    loose = make_case(city, category=None, title="说不清的事", text="说不清楚是什么问题")
    assert Case.objects.get(pk=loose.pk).category_id is None
    sup_actions.fold()
    overview = client.get(reverse("supervision:overview")).content.decode()
    assert "category=-" in overview
    listed = client.get(
        reverse("supervision:evidence") + "?metric=volume&category=-"
    ).content.decode()
    assert loose.tracking_code in listed and "1 case" in listed
    assert all(case.tracking_code not in listed for case in cases)


def test_performance_and_report_pages(city: City) -> None:
    _dispatched(city)
    sup_actions.fold()
    client = as_user(city, "analyst")
    perf = client.get(reverse("supervision:performance") + "?level=street")
    assert perf.status_code == 200 and "Composite" in perf.content.decode()
    report = client.get(reverse("supervision:report"))
    html = report.content.decode()
    assert report.status_code == 200
    for heading in (
        "Top problems",
        "Worst-served areas",
        "Units falling behind",
        "Suggested proactive tasks",
    ):
        assert heading in html
    assert "data-print" in html


# --- escalation (督办) --------------------------------------------------------------------------


def test_supervisor_escalates_with_a_new_deadline_on_the_timeline(city: City) -> None:
    case = _dispatched(city)
    url = reverse("supervision:escalate", args=[case.pk])
    assert as_user(city, "outsider").get(url).status_code == 404
    assert as_user(city, "handler").get(url).status_code == 404
    client = as_user(city, "supervisor")
    assert client.get(url).status_code == 200
    bad = client.post(url, {"due": "2000-01-01T10:00", "note": "快"})
    assert bad.status_code == 400 and "in the future" in bad.content.decode()
    assert client.post(url, {"due": "not a date", "note": "快"}).status_code == 400
    due = timezone.localtime(timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    with TestCase.captureOnCommitCallbacks(execute=True):
        ok = client.post(
            url, {"due": due.strftime("%Y-%m-%dT%H:%M"), "note": "群众反映强烈，请明天办结"}
        )
    assert ok.status_code == 302
    case.refresh_from_db()
    assert case.resolve_due == due and case.status == Status.DISPATCHED
    event = CaseEvent.objects.get(case=case, kind="escalate")
    assert event.note == "群众反映强烈，请明天办结" and event.data["previous_due"]
    (notice,) = Notification.objects.filter(kind=NoticeKind.ESCALATED)
    assert notice.user == city.user("handler") and notice.case == case
    # on the handler's notifications page
    page = as_user(city, "handler").get(reverse("supervision:notifications")).content.decode()
    assert case.tracking_code in page and "Escalated by a supervisor" in page


def test_an_escalation_notice_shows_the_note_redacted(city: City) -> None:
    """A notice is read without a stated purpose: personal data in the supervisor's note is
    masked there, as on the timeline for such a reader."""
    case = _dispatched(city)
    due = timezone.localtime(timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    with TestCase.captureOnCommitCallbacks(execute=True):
        as_user(city, "supervisor").post(
            reverse("supervision:escalate", args=[case.pk]),
            {"due": due.strftime("%Y-%m-%dT%H:%M"), "note": "请回电居民13812345678，今天办结"},
        )
    (notice,) = Notification.objects.filter(kind=NoticeKind.ESCALATED)
    assert "13812345678" not in str(notice.data) and "今天办结" in notice.data["note"]
    page = as_user(city, "handler").get(reverse("supervision:notifications")).content.decode()
    assert "13812345678" not in page and "5678" in page  # masked, still recognisable


def test_escalation_over_the_api(city: City) -> None:
    case = _dispatched(city)
    key = ApiToken.new_key()
    from urbangov.org.models import hash_token

    ApiToken.objects.create(user=city.user("supervisor"), name="t", key_hash=hash_token(key))
    due = (timezone.now() + timedelta(hours=30)).isoformat()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    client = Client()
    ok = client.post(
        f"/api/v1/supervision/cases/{case.pk}/escalate",
        {"due": due, "note": "请尽快"},
        content_type="application/json",
        **headers,
    )
    assert ok.status_code == 200, ok.content
    other = ApiToken.new_key()
    ApiToken.objects.create(user=city.user("outsider"), name="o", key_hash=hash_token(other))
    refused = client.post(
        f"/api/v1/supervision/cases/{case.pk}/escalate",
        {"due": due, "note": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {other}",
    )
    assert refused.status_code == 404
    past = client.post(
        f"/api/v1/supervision/cases/{case.pk}/escalate",
        {"due": "2001-01-01T00:00:00+08:00", "note": "x"},
        content_type="application/json",
        **headers,
    )
    assert past.status_code == 400 and "future" in past.json()["detail"]
    assert client.get("/api/v1/supervision/overview", **headers).status_code == 200
    assert (
        client.get("/api/v1/supervision/overview", HTTP_AUTHORIZATION=f"Bearer {other}").status_code
        == 403
    )


# --- overdue and due soon ------------------------------------------------------------------------


def test_overdue_and_due_soon_lists_per_unit_and_street(city: City) -> None:
    soon = _dispatched(city)  # water.leak: due in 24 hours
    late_d1 = _dispatched(city)
    late_d2 = _dispatched(city, where="d2")
    for case in (late_d1, late_d2):
        Case.objects.filter(pk=case.pk).update(resolve_due=timezone.now() - timedelta(hours=1))
    client = as_user(city, "supervisor")
    page = client.get(reverse("supervision:overdue")).content.decode()
    overdue_part, soon_part = page.split('id="soon-h"')
    assert "2 cases overdue" in overdue_part
    assert late_d1.tracking_code in overdue_part and late_d2.tracking_code in overdue_part
    assert soon.tracking_code not in overdue_part and soon.tracking_code in soon_part
    # counts per unit (both are the water department's) and per street
    assert f'<td>{city.water_dept.name}</td><td class="num">2</td>' in overdue_part
    assert '<td>东区一街道</td><td class="num">1</td>' in overdue_part
    assert '<td>西区一街道</td><td class="num">1</td>' in overdue_part
    # the area filter keeps one district's cases; a shorter horizon drops the one due soon
    east = client.get(reverse("supervision:overdue") + "?area=D1&hours=2").content.decode()
    assert late_d1.tracking_code in east and late_d2.tracking_code not in east
    assert soon.tracking_code not in east and "0 cases due within 2.0 hours" in east
    assert client.get(reverse("supervision:overdue") + "?hours=0").status_code == 400


def test_the_overview_counts_due_soon_over_the_citys_reminder_window(
    city: City, settings: Any
) -> None:
    _dispatched(city)  # water.leak: due in 24 hours
    client = as_user(city, "supervisor")
    settings.URBANGOV = {**settings.URBANGOV, "REMINDER_HOURS": 30}
    assert "1 due within 30 hours" in client.get(reverse("supervision:overview")).content.decode()
    settings.URBANGOV = {**settings.URBANGOV, "REMINDER_HOURS": 12}
    assert "0 due within 12 hours" in client.get(reverse("supervision:overview")).content.decode()
    api = client.get("/api/v1/supervision/overview").json()
    assert (api["due_soon"], api["due_hours"]) == (0, 12)


# --- reminders and overdue notices -------------------------------------------------------------


def test_reminders_before_and_notices_after_the_deadline_are_sent_once(city: City) -> None:
    soon = _dispatched(city)  # water.leak: due in 24 hours
    late = _dispatched(city)
    Case.objects.filter(pk=late.pk).update(resolve_due=timezone.now() - timedelta(hours=1))
    start = timezone.now() - timedelta(hours=2)
    from urbangov.supervision.models import State

    State.objects.update_or_create(pk=1, defaults={"notices_until": start})
    sent = sup_actions.send_notices()
    reminders = Notification.objects.filter(kind=NoticeKind.REMINDER)
    overdue = Notification.objects.filter(kind=NoticeKind.OVERDUE)
    assert [(n.user.username, n.case_id) for n in reminders] == [("handler", soon.pk)]
    # the city-wide supervisor hears of the overdue case; nobody else
    assert [(n.user.username, n.case_id) for n in overdue] == [("supervisor", late.pk)]
    assert sent == 2
    # Run again, and again over the same window: nothing twice.
    assert sup_actions.send_notices() == 0
    State.objects.filter(pk=1).update(notices_until=start)
    assert sup_actions.send_notices() == 0
    assert Notification.objects.count() == 2
    # marking read
    client = as_user(city, "handler")
    client.post(reverse("supervision:notifications"))
    assert not Notification.objects.filter(user=city.user("handler"), read_at__isnull=True)


# --- hot-spots and proactive tasks --------------------------------------------------------------


def test_hotspot_refresh_and_a_proactive_task_from_it(city: City) -> None:
    texts = [
        "幸福路东段路灯不亮，晚上一片漆黑",
        "幸福路东段的路灯坏了好几天了",
        "幸福路东段路灯晚上不亮很危险",
        "幸福路东段路灯全黑，老人出门不便",
    ]
    cases = [make_case(city, text=t, title=t[:8], category=city.noise) for t in texts]
    for text in (
        "咨询社保卡补办流程",
        "孩子入学需要哪些材料",
        "公交12路改线了吗",
        "医保异地报销怎么办理",
    ):
        make_case(city, text=text, title=text, category=city.noise)
    sup_actions.fold()
    summary = sup_actions.refresh_hotspots(force=True)
    assert summary.run is not None and summary.hotspots >= 1
    hotspot = Hotspot.objects.get(run=summary.run, rank=1)
    assert set(hotspot.members) == {c.pk for c in cases}
    assert hotspot.place.endswith("东区一社区")
    # the run is a decision in the algorithms' log, with the cases it read as a digest
    from urbangov.algorithms.models import Decision, Mode

    (decision,) = Decision.objects.about(summary.run).all()
    assert decision.algorithm.code == "hotspots" and decision.mode == Mode.SUGGESTION
    assert decision.output["hotspots"][0] == {
        "id": hotspot.pk,
        "rank": 1,
        "size": hotspot.size,
        "heat": round(hotspot.heat, 4),
    }
    assert decision.inputs["cases"] == summary.run.cases and len(decision.inputs_digest) == 64
    assert texts[0] not in str(decision.inputs) + str(decision.output)
    # the periodic job claims its turn: a second run within the hour does nothing
    assert sup_actions.refresh_hotspots().run is None

    client = as_user(city, "supervisor")
    page = client.get(reverse("supervision:hotspots")).content.decode()
    assert hotspot.label in page
    detail = client.get(reverse("supervision:hotspot", args=[hotspot.pk])).content.decode()
    assert all(c.tracking_code in detail for c in cases)
    assert (
        as_user(city, "analyst")
        .post(reverse("supervision:hotspot_task", args=[hotspot.pk]), {"unit": "D1S1"})
        .status_code
        == 404
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        made = client.post(
            reverse("supervision:hotspot_task", args=[hotspot.pk]),
            {"unit": "D1S1", "title": "主动排查幸福路东段路灯", "text": "请全面检修"},
        )
    assert made.status_code == 302
    task = ProactiveTask.objects.get(hotspot=hotspot)
    assert task.case.channel == Channel.OTHER and task.case.status == Status.DISPATCHED
    assert task.case.unit == city.office_d1 and set(task.evidence) == set(hotspot.members)
    assert Notification.objects.filter(kind=NoticeKind.TASK, user=city.user("handler_d1")).exists()
    # once only
    again = client.post(reverse("supervision:hotspot_task", args=[hotspot.pk]), {"unit": "D1S1"})
    assert again.status_code == 302 and ProactiveTask.objects.count() == 1
    # a proactive task is no resident's request: not in the volume, but in the response rate
    sup_actions.fold()
    metrics = set(Item.objects.filter(case=task.case).values_list("metric", flat=True))
    assert Metric.VOLUME not in metrics
    # and the hot-spot detection does not count it either
    sup_actions.refresh_hotspots(force=True)
    assert all(task.case_id not in h.members for h in Hotspot.objects.all())


def test_hotspots_command_refresh(city: City) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("hotspots", "refresh", "--days", "30", stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["cases"] == 0 and result["hotspots"] == 0
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--days"):
        call_command("hotspots", "refresh", "--days", "0")


def test_supervision_command_folds_and_rebuilds(city: City) -> None:
    from io import StringIO

    from django.core.management import call_command

    make_case(city)
    out = StringIO()
    call_command("supervision", "fold", stdout=out)
    assert json.loads(out.getvalue())["cases"] == 1
    assert Item.objects.filter(metric=Metric.VOLUME).count() == 1
    out = StringIO()
    call_command("supervision", "rebuild", stdout=out)
    assert json.loads(out.getvalue()) == {"cases": 1, "items": 1, "days": 1}
    assert Item.objects.count() == 1


def test_an_alert_becomes_a_task_and_the_report_shows_the_evidence(city: City) -> None:
    """Eight quiet weeks of one noise case a week in a street, then eight in the last
    complete week: the early warning raises an alert (trailing band by hand: mean 1, no
    variance, so 1 ± 2.576 · √1 and 8 > 3.58), a supervisor turns it into a task, and the
    monthly report lists it with the unit falling behind and the cases behind each."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from django.conf import settings

    from urbangov.supervision.models import Alert

    tz = ZoneInfo(settings.TIME_ZONE)
    today = timezone.localdate(timezone.now(), tz)
    last_week = today - timedelta(days=today.weekday() + 7)
    days = [last_week - timedelta(weeks=k) + timedelta(days=2) for k in range(1, 9)]
    days += [last_week + timedelta(days=k % 7) for k in range(8)]
    for day in days:
        case = make_case(city, category=city.noise, title="夜间施工噪音", text="工地夜里施工")
        Case.objects.filter(pk=case.pk).update(
            created_at=datetime.combine(day, time(12), tzinfo=tz)
        )
    sup_actions.fold()
    summary = sup_actions.refresh_hotspots(force=True)
    assert summary.run is not None
    (alert,) = Alert.objects.filter(run=summary.run)
    assert (alert.week_start, alert.observed, alert.direction) == (last_week, 8, "up")
    assert alert.method == "trailing" and alert.expected == pytest.approx(1.0)
    assert alert.high == pytest.approx(1 + 2.5758, abs=1e-3)

    client = as_user(city, "supervisor")
    report = client.get(reverse("supervision:report")).content.decode()
    assert "Look into" in report and "8 cases against 1.0 expected" in report
    with TestCase.captureOnCommitCallbacks(execute=True):
        made = client.post(reverse("supervision:alert_task", args=[alert.pk]), {"unit": "D1S1"})
    assert made.status_code == 302
    task = ProactiveTask.objects.get(alert=alert)
    assert task.case.status == Status.DISPATCHED and task.case.unit == city.office_d1
    assert task.case.events.filter(kind="dispatch").exists()
    report = client.get(reverse("supervision:report")).content.decode()
    assert reverse("cases:case_detail", args=[task.case_id]) in report
    # An outsider's attempt is refused like a missing page.
    assert (
        as_user(city, "handler")
        .post(reverse("supervision:alert_task", args=[alert.pk]), {"unit": "D1S1"})
        .status_code
        == 404
    )


def test_report_lists_the_unit_falling_behind_with_its_cases(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Last month the water department let two dispatches go unanswered past their response
    deadline and resolved a third in time: it is the unit falling behind, and its row links to
    exactly the two cases it missed."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from django.conf import settings

    tz = ZoneInfo(settings.TIME_ZONE)
    real = timezone.now
    first = timezone.localdate(real(), tz).replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=1)
    then = datetime.combine(last_month + timedelta(days=10), time(9), tzinfo=tz)
    monkeypatch.setattr(timezone, "now", lambda: then)
    late = [_dispatched(city), _dispatched(city)]
    rated = _dispatched(city)
    with TestCase.captureOnCommitCallbacks(execute=True):
        actions.accept_case(rated, actor=city.user("handler"))
        actions.resolve_case(rated, actor=city.user("handler"), resolution="修好了")
        actions.rate_case(rated, actor=None, rating="satisfied")
    monkeypatch.setattr(timezone, "now", real)
    # (the rating's time comes from its field's default, which the patched clock misses)
    from urbangov.cases.models import Feedback

    Feedback.objects.filter(case=rated).update(at=then + timedelta(hours=1))
    sup_actions.fold()
    client = as_user(city, "supervisor")
    html = client.get(reverse("supervision:report")).content.decode()
    assert "Units falling behind" in html and city.water_dept.name in html
    month = last_month.strftime("%Y-%m")
    link = f"month={month}&amp;unit={city.water_dept.code}&amp;metric=response&amp;ok=0"
    assert link in html
    listed = client.get(
        reverse("supervision:evidence")
        + f"?month={month}&unit={city.water_dept.code}&metric=response&ok=0"
    ).content.decode()
    assert all(c.tracking_code in listed for c in late) and rated.tracking_code not in listed
