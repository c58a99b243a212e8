"""The dispatcher as the worker runs it: new cases classified in batches, dispatched by
themselves above their category's threshold or queued with the top suggestions; every output
a logged decision; emergencies flagged and first in the queue; likely duplicates held for an
operator; the inline setting; and the fallback when there is no model or assessing fails."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import TestCase

from tests.conftest import City
from urbangov.algorithms.models import AlgorithmVersion, Decision, Kind, Mode
from urbangov.cases import queries as case_queries
from urbangov.cases.actions import Submission, submit_case
from urbangov.cases.models import Case, Channel, Status
from urbangov.dispatch import actions, engine
from urbangov.dispatch.models import CategoryPolicy, DistrictFallback
from urbangov.org.models import Area, Level, Urgency
from urbangov.privacy.models import AuditEvent
from urbangov.supervision.models import DirtyCase

pytestmark = pytest.mark.django_db


def submit(city: City, text: str, *, where: str = "d1", **kw: Any) -> Case:
    lat, lon = (city.p_d1 if where == "d1" else city.p_d2) if where else (None, None)
    sub = Submission(
        channel=kw.pop("channel", Channel.WEB),
        title=kw.pop("title", ""),
        text=text,
        reported_category=kw.pop("category", None),
        lat=kw.pop("lat", lat),
        lon=kw.pop("lon", lon),
        **kw,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        return submit_case(actor=None, submission=sub).case


def decision_about(case: Case) -> Decision:
    return Decision.objects.about(case).get(kind=Kind.ALGORITHM)


def test_confident_case_is_dispatched_automatically_with_its_decision(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    case = submit(city, "楼下水管漏水，水流了一地，请尽快处理")
    assert actions.dispatch_submitted() == 1
    case.refresh_from_db()
    decision = decision_about(case)
    assert decision.mode == Mode.AUTOMATIC
    assert decision.version == model_in_service
    assert decision.output["category"] == "water.leak" and decision.output["unit"] == "WATER"
    assert decision.confidence is not None and decision.confidence >= 0.9
    assert case.status == Status.DISPATCHED and case.unit == city.water_dept
    assert case.category == city.water_leak
    # The timeline names the decision; the audit log has it, in the same transaction.
    event = case.events.get(kind="dispatch")
    assert event.data["decision"] == decision.pk and event.actor_id is None
    assert AuditEvent.objects.filter(
        action="algorithms.decision.algorithm", object_id=str(decision.pk)
    ).exists()
    # Alternatives with scores, an explanation, and a digest of the inputs (not the text).
    assert len(decision.alternatives) == 2
    assert all("score" in a and "output" in a for a in decision.alternatives)
    assert decision.explanation and decision.inputs_digest and len(decision.inputs_digest) == 64
    assert "水管" not in str(decision.inputs)
    assert decision.inputs["channel"] == "web" and decision.inputs["area"] == city.grid_d1.code


def test_below_the_category_threshold_the_case_waits_with_three_suggestions(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    CategoryPolicy.objects.create(category=city.water_leak, threshold=0.999999)
    case = submit(city, "楼下水管漏水，水流了一地")
    actions.dispatch_submitted()
    case.refresh_from_db()
    decision = decision_about(case)
    assert case.status == Status.AWAITING_DISPATCH and case.unit is None
    assert decision.mode == Mode.SUGGESTION
    assert decision.output["unit"] == "WATER"
    policy = next(r for r in decision.reasons if r["code"] == "policy")
    assert policy["held"] == [engine.BELOW_THRESHOLD]
    # The other two suggestions, best first, each with its unit.
    assert {a["output"]["category"] for a in decision.alternatives} == {"noise", "gas"}
    scores = [decision.confidence] + [a["score"] for a in decision.alternatives]
    assert scores == sorted(scores, reverse=True)


def test_a_category_that_never_goes_alone(city: City, model_in_service: AlgorithmVersion) -> None:
    CategoryPolicy.objects.create(category=city.noise, threshold=0.1, automatic=False)
    case = submit(city, "晚上广场舞噪音太大影响休息，装修电钻声音太吵")
    actions.dispatch_submitted()
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    decision = decision_about(case)
    assert decision.output["category"] == "noise"
    # Noise in district 1 goes to its street office (the unit answering for it there).
    assert decision.output["unit"] == city.office_d1.code
    assert engine.POLICY_OFF in next(r for r in decision.reasons if r["code"] == "policy")["held"]


def test_same_category_routes_by_district(city: City, model_in_service: AlgorithmVersion) -> None:
    one = submit(city, "酒吧音乐声半夜还很响，吵得睡不着", where="d1")
    two = submit(city, "酒吧音乐声半夜还很响，吵得睡不着，工地夜间施工噪音扰民", where="d2")
    actions.dispatch_submitted()
    assert decision_about(one).output["unit"] == city.office_d1.code
    assert decision_about(two).output["unit"] == city.office_d2.code


def test_emergency_gets_two_hours_and_jumps_the_queue(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    CategoryPolicy.objects.create(category=city.noise, threshold=0.1, automatic=False)
    CategoryPolicy.objects.create(category=city.water_leak, threshold=0.1, automatic=False)
    ordinary = submit(city, "晚上广场舞噪音太大影响休息")
    urgent = submit(city, "楼道里有很大的煤气味，好像燃气泄漏了，请马上来人！")
    actions.dispatch_submitted()
    urgent.refresh_from_db()
    ordinary.refresh_from_db()
    assert urgent.urgency == Urgency.EMERGENCY and ordinary.urgency != Urgency.EMERGENCY
    danger = next(r for r in decision_about(urgent).reasons if r["code"] == "emergency")
    assert "燃气泄漏" in danger["terms"]
    queue = list(case_queries.queue_for(city.user("operator")))
    assert queue.index(urgent) < queue.index(ordinary)


def test_emergency_dispatched_automatically_is_due_in_two_hours(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    case = submit(city, "水管爆裂，地下室被淹了，水已经没过膝盖，自来水管漏水")
    actions.dispatch_submitted()
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.urgency == Urgency.EMERGENCY
    hours = (case.resolve_due - case.dispatched_at).total_seconds() / 3600
    assert hours == pytest.approx(2.0)


def test_likely_duplicate_is_held_for_the_operator_with_the_match(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    first = submit(city, "幸福路12号楼下水管漏水，水流了一地")
    actions.dispatch_submitted()
    second = submit(city, "幸福路12号楼下的水管漏水，水流了一地！")
    far = submit(city, "幸福路12号楼下水管漏水，水流了一地", where="d2")
    actions.dispatch_submitted()
    second.refresh_from_db()
    d = decision_about(second)
    assert d.output["duplicate_of"] == first.pk
    assert second.status == Status.AWAITING_DISPATCH
    dup = next(r for r in d.reasons if r["code"] == "duplicate")
    assert dup["tracking_code"] == first.tracking_code and dup["similarity"] >= 0.6
    # The same words 10 km away are another problem.
    assert decision_about(far).output["duplicate_of"] is None


def test_without_a_point_duplicates_are_looked_for_under_the_named_place_only(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    # Two communities whose codes differ where one has "_", a wildcard to SQL's LIKE: the
    # place a resident names must not reach into its look-alike.
    street = city.d1.children.get()
    look_alike = Area.objects.create(
        code="D1XC", name="北苑社区", level=Level.COMMUNITY, parent=street, geometry=None
    )
    named = Area.objects.create(
        code="D1_C", name="南苑社区", level=Level.COMMUNITY, parent=street, geometry=None
    )
    text = "幸福路12号楼下水管漏水，水流了一地"
    elsewhere = submit(city, text, where="")
    inside = submit(city, text, where="")
    # Placed by staff (no point): in each community.
    Case.objects.filter(pk=elsewhere.pk).update(area=look_alike)
    Case.objects.filter(pk=inside.pk).update(area=named)
    actions.dispatch_submitted()
    assert decision_about(inside).output["duplicate_of"] is None  # not the look-alike's
    later = submit(city, text + "！", where="", address="南苑社区幸福路12号")
    actions.dispatch_submitted()
    d = decision_about(later)
    assert d.output["duplicate_of"] == inside.pk != elsewhere.pk
    dup = next(r for r in d.reasons if r["code"] == "duplicate")
    assert dup["distance_m"] is None and 0 <= dup["hours"] < 1


def test_without_a_model_the_resident_choice_is_suggested_never_applied(
    city: City, fresh_caches: None
) -> None:
    case = submit(city, "楼下水管漏水", category=city.water_leak)
    actions.dispatch_submitted()
    case.refresh_from_db()
    decision = decision_about(case)
    assert case.status == Status.AWAITING_DISPATCH
    assert decision.version is not None and decision.version.version == "0"
    assert decision.mode == Mode.SUGGESTION and decision.confidence is None
    assert decision.output["unit"] == "WATER"
    assert engine.NO_MODEL in next(r for r in decision.reasons if r["code"] == "policy")["held"]


def test_reported_category_is_evidence_not_the_answer(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    # The resident chose "gas"; the text is plainly about noise.
    case = submit(city, "楼上装修电钻声音太吵，晚上广场舞噪音太大", category=city.gas)
    actions.dispatch_submitted()
    decision = decision_about(case)
    assert decision.output["category"] == "noise"
    reported = next(r for r in decision.reasons if r["code"] == "reported")
    assert reported["agrees"] is False


def test_fallback_unit_of_the_district(city: City, model_in_service: AlgorithmVersion) -> None:
    # Nobody answers for gas in the test city; district 2's fallback takes it.
    DistrictFallback.objects.create(district=city.d2, unit=city.office_d2)
    case = submit(city, "燃气表读数不对，请燃气公司核查，燃气费账单有误", where="d2")
    actions.dispatch_submitted()
    decision = decision_about(case)
    assert decision.output["category"] == "gas"
    assert decision.output["unit"] == city.office_d2.code
    routed = next(r for r in decision.reasons if r["code"] == "routed")
    assert routed["how"] == "fallback" and routed["area"] == city.d2.code


def test_two_sweeps_decide_each_case_once(city: City, model_in_service: AlgorithmVersion) -> None:
    cases = [submit(city, f"楼下水管漏水第{i}次") for i in range(3)]
    assert actions.dispatch_submitted() == 3
    assert actions.dispatch_submitted() == 0
    for case in cases:
        assert Decision.objects.about(case).filter(kind=Kind.ALGORITHM).count() == 1


def test_when_assessing_fails_cases_still_reach_the_operators(
    city: City, fresh_caches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = submit(city, "楼下水管漏水")

    def broken(_cases: Any) -> Any:
        raise RuntimeError("simulated failure of the assessment")

    monkeypatch.setattr(actions, "assess", broken)
    actions.dispatch_submitted()
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    assert not Decision.objects.about(case).exists()


def test_inline_dispatch_in_the_request(
    city: City, model_in_service: AlgorithmVersion, settings: Any
) -> None:
    from urbangov.cases import signals

    signals.case_written.connect(actions.on_written, dispatch_uid="test.inline")
    committed: list[str] = []
    signals.case_submitted.connect(
        lambda sender, case, **kw: committed.append(
            Case.objects.values_list("status", flat=True).get(pk=case.pk)
        ),
        dispatch_uid="test.inline.committed",
        weak=False,
    )
    try:
        case = submit(city, "楼下水管漏水，水流了一地")
    finally:
        signals.case_written.disconnect(dispatch_uid="test.inline")
        signals.case_submitted.disconnect(dispatch_uid="test.inline.committed")
    # Dispatched in the intake's own transaction: already so when the intake committed, and
    # so in the case the intake returns (the row was not read again: the intake inserted it).
    assert committed == [Status.DISPATCHED]
    assert case.status == Status.DISPATCHED and case.unit_id == city.water_dept.pk
    stored = Case.objects.get(pk=case.pk)
    for field in ("status", "unit_id", "category_id", "urgency", "response_due", "resolve_due"):
        assert getattr(stored, field) == getattr(case, field), field
    assert decision_about(case).mode == Mode.AUTOMATIC
    # Queued for the evaluation by the intake, in the same transaction: once is enough.
    assert DirtyCase.objects.filter(case_id=case.pk).count() == 1


def test_inline_failure_after_the_transition_leaves_the_returned_case_as_stored(
    city: City, model_in_service: AlgorithmVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatch fails after the case's row was updated (at the last write of the
    transition): the savepoint undoes it, and the case the intake returns is as stored,
    submitted, not the dispatched copy."""
    from django.db import connection

    from urbangov.cases import actions as case_actions
    from urbangov.cases import signals

    real = case_actions.record

    def failing(**kwargs: Any) -> Any:
        if kwargs.get("action") == "case.dispatch":
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table_here")
        return real(**kwargs)

    monkeypatch.setattr(case_actions, "record", failing)
    signals.case_written.connect(actions.on_written, dispatch_uid="test.inline")
    try:
        case = submit(city, "楼下水管漏水，水流了一地")
    finally:
        signals.case_written.disconnect(dispatch_uid="test.inline")
    assert case.status == Status.SUBMITTED and case.unit_id is None
    stored = Case.objects.get(pk=case.pk)
    assert (stored.status, stored.unit_id, stored.resolve_due) == (Status.SUBMITTED, None, None)
    assert not case.events.filter(kind="dispatch").exists()
    assert not Decision.objects.about(case).exists()
    # The intake's mark for the evaluation stands: the dispatch made none of its own.
    assert DirtyCase.objects.filter(case_id=case.pk).exists()


def test_inline_database_error_undoes_the_dispatch_alone(
    city: City, model_in_service: AlgorithmVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error in the middle of the dispatch (after its decision is written) rolls
    back to the dispatch's savepoint: the intake commits, the case waits for the worker."""
    from django.db import connection

    from urbangov.cases import signals

    real = actions.cases.dispatch_case

    def failing(*args: Any, **kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")
        return real(*args, **kwargs)

    monkeypatch.setattr(actions.cases, "dispatch_case", failing)
    signals.case_written.connect(actions.on_written, dispatch_uid="test.inline")
    try:
        case = submit(city, "楼下水管漏水，水流了一地")
    finally:
        signals.case_written.disconnect(dispatch_uid="test.inline")
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED
    assert case.events.filter(kind="submit").count() == 1
    assert not Decision.objects.about(case).exists()
    # The worker decides it afterwards.
    monkeypatch.setattr(actions.cases, "dispatch_case", real)
    assert actions.dispatch_submitted() == 1
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED


def test_inline_failure_leaves_the_case_for_the_worker(
    city: City, fresh_caches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = submit(city, "楼下水管漏水")

    def broken(_cases: Any) -> Any:
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(actions, "assess", broken)
    assert actions.dispatch_now(case) is None
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED
