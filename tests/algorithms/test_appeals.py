"""Explanations and appeals: from the resident's tracking page to a reviewer who took no part
in the decision, with a deadline; the outcome recorded as a decision; appeal rates and the
platform's scheduled audits kept as reports with the snapshot's hash."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client, TestCase
from django.urls import reverse

from tests.conftest import PASSWORD, City
from tests.dispatch.conftest import fresh_caches, model_in_service  # noqa: F401 (fixtures)
from urbangov.algorithms import actions, audits, queries
from urbangov.algorithms.models import (
    AlgorithmVersion,
    Appeal,
    AppealStatus,
    AuditReport,
    Decision,
    Kind,
    Verdict,
)
from urbangov.cases.actions import Submission, submit_case
from urbangov.cases.models import Case, Channel
from urbangov.dispatch import actions as dispatch
from urbangov.privacy.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

LEAK = "楼下水管漏水，水流了一地，请尽快处理"
NOISE = "楼上装修噪音太大，晚上也在施工"


def submit(city: City, text: str, where: str = "d1", channel: str = Channel.WEB) -> Case:
    lat, lon = city.p_d1 if where == "d1" else city.p_d2
    sub = Submission(channel=channel, title="", text=text, lat=lat, lon=lon)
    with TestCase.captureOnCommitCallbacks(execute=True):
        case = submit_case(actor=None, submission=sub).case
    dispatch.dispatch_submitted()
    case.refresh_from_db()
    return case


def decision_of(case: Case) -> Decision:
    return Decision.objects.about(case).get(kind=Kind.ALGORITHM)


def login(city: City, name: str) -> Client:
    client = Client()
    assert client.login(username=name, password=PASSWORD)
    return client


def test_resident_appeals_from_the_tracking_page_and_sees_the_outcome(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    case = submit(city, LEAK)
    resident = Client()
    page = resident.get(reverse("cases:track_case", args=[case.tracking_code])).content.decode()
    assert "Appeal this decision" in page
    link = page.split('href="/algorithms/appeal/', 1)[1].split('"', 1)[0]
    url = f"/algorithms/appeal/{link}"
    shown = resident.get(url)
    assert shown.status_code == 200
    # The plain-language explanation of the decision is on the page.
    assert decision_of(case).algorithm.name in shown.content.decode()
    # Empty grounds: refused, nothing saved.
    assert resident.post(url, {"grounds": "  "}).status_code == 400
    assert Appeal.objects.count() == 0
    done = resident.post(url, {"grounds": "漏水点在公共管道，应由物业处理"})
    assert done.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.decision == decision_of(case)
    assert appeal.assignee == city.users["supervisor"]  # nobody who decided: a supervisor
    assert timedelta(days=14, hours=23) < appeal.due_at - appeal.submitted_at <= timedelta(days=15)
    assert AuditEvent.objects.filter(action="algorithms.appeal.submit").exists()
    # A second appeal of the same decision is refused.
    again = resident.post(url, {"grounds": "again"})
    assert again.status_code == 409 and Appeal.objects.count() == 1
    # A forged token is a 404.
    assert resident.get("/algorithms/appeal/123:forged/").status_code == 404

    # The outsider (and the operator) cannot see the appeal; the supervisor decides it.
    decide = reverse("algorithms:appeal_decide", args=[appeal.pk])
    assert login(city, "outsider").get(decide).status_code == 404
    assert (
        login(city, "operator").post(decide, {"outcome": "overturn", "reason": "x"}).status_code
        == 404
    )
    supervisor = login(city, "supervisor")
    assert supervisor.get(reverse("algorithms:appeals")).status_code == 200
    assert supervisor.post(decide, {"outcome": "overturn", "reason": ""}).status_code == 400
    assert supervisor.post(decide, {"outcome": "overturn", "reason": "物业负责"}).status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.DECIDED and appeal.outcome is not None
    outcome = appeal.outcome
    assert outcome.kind == Kind.HUMAN and outcome.verdict == Verdict.OVERTURNED
    assert outcome.refers_to == decision_of(case) and outcome.actor == city.users["supervisor"]
    assert outcome.reason == "物业负责"
    # Decided once only.
    with pytest.raises(ValidationError, match="already been decided"):
        actions.decide_appeal(
            actor=city.users["supervisor"],  # type: ignore[arg-type]
            appeal=appeal,
            overturn=False,
            reason="x",
        )
    # The resident sees the outcome on the case page and on the appeal page.
    page = resident.get(reverse("cases:track_case", args=[case.tracking_code])).content.decode()
    assert "overturned on appeal" in page and "物业负责" in page
    assert "物业负责" in resident.get(url).content.decode()


def test_the_reviewer_is_never_someone_who_decided(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    case = submit(city, NOISE)
    decision = decision_of(case)
    # The supervisor answered the algorithm's decision: the appeal goes to the operator.
    actions.record_human_decision(
        actor=city.users["supervisor"],  # type: ignore[arg-type]
        subject=case,
        output=decision.output,
    )
    appeal = actions.submit_appeal(decision=decision, grounds="wrong office")
    assert appeal.assignee == city.users["operator"]
    # Confirmed: a decision that confirms.
    confirmed = actions.decide_appeal(
        actor=city.users["operator"],  # type: ignore[arg-type]
        appeal=appeal,
        overturn=False,
        reason="the office is right",
    )
    assert confirmed.verdict == Verdict.CONFIRMED and confirmed.output == decision.output
    # Someone else than the assignee may not decide.
    other = actions.submit_appeal(decision=decision_of(submit(city, LEAK)), grounds="x")
    with pytest.raises(ValidationError, match="assigned"):
        actions.decide_appeal(
            actor=city.users["auditor"],  # type: ignore[arg-type]
            appeal=other,
            overturn=True,
            reason="x",
        )


def test_platform_audit_reports_with_snapshot_hash_and_appeal_rates(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    cases = [
        submit(city, LEAK, "d1"),
        submit(city, NOISE, "d1", Channel.PHONE),
        submit(city, "自来水管爆裂，家里没水了", "d2"),
        submit(city, "晚上工地施工噪音扰民", "d2", Channel.PHONE),
    ]
    appealed = actions.submit_appeal(decision=decision_of(cases[0]), grounds="x")
    actions.decide_appeal(
        actor=appealed.assignee,  # type: ignore[arg-type]
        appeal=appealed,
        overturn=True,
        reason="y",
    )
    algorithm = model_in_service.algorithm
    reports = audits.audit_algorithm(actor=city.users["auditor"], algorithm=algorithm)  # type: ignore[arg-type]
    by = {r.dimension: r for r in reports}
    assert {"all", "district", "channel"} <= set(by)
    district = by["district"]
    assert district.rows == 4
    rows = audits.snapshot(algorithm, district.period_start, district.period_end)
    assert district.snapshot_sha256 == audits.snapshot_hash(rows)
    assert set(district.result["groups"]) == {"D1", "D2"}
    assert district.result["rates"]["D1"]["appeal_rate"]["value"] == pytest.approx(0.5)
    assert district.result["rates"]["D1"]["overturn_rate"]["value"] == pytest.approx(0.5)
    assert district.result["rates"]["D1"]["misrouting_rate"]["value"] == pytest.approx(0.5)
    assert set(by["channel"].result["groups"]) == {"web", "phone"}
    assert AuditEvent.objects.filter(action="algorithms.audit").count() == len(reports)
    # Not due again until the level's period has passed (level II before any assessment).
    assert algorithm not in audits.audits_due()
    later = district.created_at + timedelta(days=91)
    assert algorithm in audits.audits_due(later)
    # Reports are evidence: never edited.
    with pytest.raises(Exception, match="never"):
        district.save()


def test_audit_command_platform(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    submit(city, LEAK, "d1")
    submit(city, NOISE, "d2", Channel.PHONE)
    out = StringIO()
    call_command("audit", "platform", "--days", "7", stdout=out)
    told = json.loads(out.getvalue().strip().splitlines()[-1])
    assert {r["dimension"] for r in told["reports"]} >= {"all", "district", "channel"}
    assert all(len(r["snapshot_sha256"]) == 64 for r in told["reports"])
    assert AuditReport.objects.count() == len(told["reports"])
    assert audits.audit_due_job() == 0  # just audited: nothing due
    assert queries.appeals_for(city.users["supervisor"]) == []


def test_the_outcome_is_signalled_after_commit(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    from urbangov.algorithms.signals import appeal_decided

    heard: list[tuple[int, str]] = []

    def listen(sender: object, appeal: Appeal, outcome: Decision, **kw: object) -> None:
        heard.append((appeal.pk, outcome.verdict))

    appeal_decided.connect(listen)
    try:
        appeal = actions.submit_appeal(decision=decision_of(submit(city, LEAK)), grounds="x")
        with TestCase.captureOnCommitCallbacks(execute=True):
            actions.decide_appeal(
                actor=appeal.assignee,  # type: ignore[arg-type]
                appeal=appeal,
                overturn=True,
                reason="y",
            )
    finally:
        appeal_decided.disconnect(listen)
    assert heard == [(appeal.pk, Verdict.OVERTURNED)]
