"""The impact assessment: scored by hand, the 80 %/15 % rule at its edge, the AIA's level
bands, unanswered questions refused with nothing saved, and each level's safeguards enforced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, City
from urbangov.algorithms import actions, impact, queries
from urbangov.algorithms.models import Algorithm, ImpactAssessment, Phase, ReviewOutcome
from urbangov.privacy.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

LOW_RISK = {
    "rights": "service",  # 1
    "reversibility": "easy",  # 0
    "automation": "suggestion",  # 1
    "vulnerable": "possibly",  # 1
    "data": "personal",  # 2
    "scale": "medium",  # 1
    "opacity": "partly",  # 1
}  # raw 7 of 27
HIGH_RISK = {
    "rights": "liberty",  # 4
    "reversibility": "hard",  # 3
    "automation": "full",  # 4
    "vulnerable": "yes",  # 3
    "data": "sensitive",  # 4
    "scale": "large",  # 2
    "opacity": "no",  # 3
}  # raw 23 of 27
ALL_MITIGATIONS = {
    q.id: "yes" for q in impact.QUESTIONS if q.kind == "mitigation" and q.options
}  # 13 of 13
NO_MITIGATIONS = dict.fromkeys(ALL_MITIGATIONS, "no")


def test_maxima_by_hand() -> None:
    s = impact.score({**LOW_RISK, **NO_MITIGATIONS})
    assert (s.raw, s.raw_max, s.mitigation, s.mitigation_max) == (7, 27, 0, 13)


def test_levels_by_hand() -> None:
    low = impact.score({**LOW_RISK, **NO_MITIGATIONS})
    assert low.score == 7 and low.level == 2  # 7/27 = 25.9 % > 25 %
    high = impact.score({**HIGH_RISK, **NO_MITIGATIONS})
    assert high.score == 23 and high.level == 4  # 85 %
    # Mitigated: 23 × 0.85 = 19.55 → 72.4 % → level III.
    mitigated = impact.score({**HIGH_RISK, **ALL_MITIGATIONS})
    assert mitigated.score == pytest.approx(19.55) and mitigated.level == 3
    # Low risk mitigated: 7 × 0.85 = 5.95 → 22 % → level I.
    assert impact.score({**LOW_RISK, **ALL_MITIGATIONS}).level == 1


def test_the_80_percent_edge() -> None:
    # 13 points possible; 80 % is 10.4: 11 points discount, 10 do not.
    eleven = {**ALL_MITIGATIONS, "logged": "no", "monitored": "no"}  # 13 − 2 = 11
    ten = {**ALL_MITIGATIONS, "logged": "no", "monitored": "no", "staff_trained": "no"}  # 10
    assert impact.score({**HIGH_RISK, **eleven}).score == pytest.approx(23 * 0.85)
    assert impact.score({**HIGH_RISK, **ten}).score == 23


def test_unanswered_required_questions_are_refused_and_nothing_saved(city: City) -> None:
    a = actions.ensure_algorithm(actor=None, code="x", name="X")
    answers = {**HIGH_RISK, **ALL_MITIGATIONS}
    del answers["scale"], answers["appeal"]
    answers["rights"] = "maybe"
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        actions.assess_impact(actor=None, algorithm=a, answers=answers)
    errors = caught.value.message_dict
    assert set(errors) == {"scale", "appeal", "rights"}
    assert errors["scale"] == ["This question must be answered."]
    assert ImpactAssessment.objects.count() == 0 and AuditEvent.objects.count() == before
    # The optional note may stay empty.
    done = actions.assess_impact(actor=None, algorithm=a, answers={**HIGH_RISK, **ALL_MITIGATIONS})
    assert done.level == 3 and queries.impact_level(a) == 3


def test_level_three_and_four_never_decide_automatically(city: City) -> None:
    a = actions.ensure_algorithm(actor=None, code="x", name="X")
    assert queries.may_decide_automatically(a.pk)
    actions.assess_impact(actor=None, algorithm=a, answers={**LOW_RISK, **ALL_MITIGATIONS})
    assert queries.may_decide_automatically(a.pk)
    actions.assess_impact(actor=None, algorithm=a, answers={**HIGH_RISK, **ALL_MITIGATIONS})
    assert not queries.may_decide_automatically(a.pk)
    assert impact.safeguards(3).audit_every.days == 30


def test_production_needs_assessment_approval_and_notice_at_high_levels(city: City) -> None:
    officer = city.users["algorithm_officer"]
    board = city.users["auditor"]
    a = actions.ensure_algorithm(actor=None, code="x", name="X")
    with pytest.raises(ValidationError, match="no impact assessment"):
        actions.set_phase(actor=officer, algorithm=a, phase=Phase.PRODUCTION)  # type: ignore[arg-type]
    actions.assess_impact(actor=officer, algorithm=a, answers={**HIGH_RISK, **ALL_MITIGATIONS})  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as caught:
        actions.set_phase(actor=officer, algorithm=a, phase=Phase.PRODUCTION)  # type: ignore[arg-type]
    text = " ".join(caught.value.messages)
    assert "must approve" in text and "public notice" in text
    actions.record_review(actor=board, algorithm=a, outcome=ReviewOutcome.APPROVE, reasons="ok")  # type: ignore[arg-type]
    a = actions.update_register(actor=officer, algorithm=a, public_notice="本市使用X")  # type: ignore[arg-type]
    # A newer assessment needs a newer approval.
    actions.assess_impact(actor=officer, algorithm=a, answers={**HIGH_RISK, **ALL_MITIGATIONS})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="must approve"):
        actions.set_phase(actor=officer, algorithm=a, phase=Phase.PRODUCTION)  # type: ignore[arg-type]
    assert Algorithm.objects.get(pk=a.pk).phase == Phase.IDEA
    actions.record_review(actor=board, algorithm=a, outcome=ReviewOutcome.APPROVE, reasons="ok")  # type: ignore[arg-type]
    moved = actions.set_phase(actor=officer, algorithm=a, phase=Phase.PRODUCTION)  # type: ignore[arg-type]
    assert moved.phase == Phase.PRODUCTION
    assert AuditEvent.objects.filter(action="algorithms.phase", object_id=str(a.pk)).exists()


def test_low_level_enters_production_without_approval(city: City) -> None:
    a = actions.ensure_algorithm(actor=None, code="x", name="X")
    actions.assess_impact(actor=None, algorithm=a, answers={**LOW_RISK, **ALL_MITIGATIONS})
    assert actions.set_phase(actor=None, algorithm=a, phase=Phase.PRODUCTION).phase == "production"


def test_assess_command_refuses_unanswered_questions(city: City, tmp_path: Path) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    a = actions.ensure_algorithm(actor=None, code="x", name="X")
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({**LOW_RISK}))
    with pytest.raises(CommandError) as caught:
        call_command(
            "algorithms", "assess", "x", "--answers", str(answers), "--actor", "algorithm_officer"
        )
    assert caught.value.returncode == 2 and "data_quality" in str(caught.value)
    assert not ImpactAssessment.objects.filter(algorithm=a).exists()
    with pytest.raises(CommandError, match="only an algorithm officer"):
        call_command("algorithms", "assess", "x", "--answers", str(answers), "--actor", "outsider")
    answers.write_text(json.dumps({**LOW_RISK, **ALL_MITIGATIONS}))
    call_command(
        "algorithms", "assess", "x", "--answers", str(answers), "--actor", "algorithm_officer"
    )
    assert queries.impact_level(a) == 1


def test_questions_command_lists_the_questionnaire() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.setdefault("SECRET_KEY", "impact-test")
    done = subprocess.run(
        [sys.executable, "-m", "urbangov.cli", "algorithms", "questions"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout.strip().splitlines()[-1])
    assert {q["id"] for q in listed} == {q.id for q in impact.QUESTIONS}


# --- the staff pages ------------------------------------------------------------------------


def _client(name: str) -> Client:
    client = Client()
    assert client.login(username=name, password=PASSWORD)
    return client


def test_questionnaire_page_names_unanswered_questions_and_saves_nothing(city: City) -> None:
    a = actions.ensure_algorithm(actor=None, code="x", name="X")
    url = reverse("algorithms:manage_assess", args=["x"])
    assert _client("outsider").get(url).status_code == 404
    assert _client("auditor").get(url).status_code == 404  # the board does not assess
    officer = _client("algorithm_officer")
    assert officer.get(url).status_code == 200
    partial = {**HIGH_RISK, **ALL_MITIGATIONS}
    del partial["vulnerable"]
    page = officer.post(url, partial)
    assert page.status_code == 400
    html = page.content.decode()
    assert "nothing was saved" in html and html.count("This question must be answered.") == 1
    assert 'value="liberty" checked' in html  # the answers given are kept
    assert not ImpactAssessment.objects.filter(algorithm=a).exists()
    done = officer.post(url, {**HIGH_RISK, **ALL_MITIGATIONS})
    assert done.status_code == 302 and queries.impact_level(a) == 3


def test_review_and_phase_forms(city: City) -> None:
    a = actions.ensure_algorithm(actor=None, code="x", name="X")
    detail = reverse("algorithms:manage_detail", args=["x"])
    assert _client("outsider").get(detail).status_code == 404
    officer, board = _client("algorithm_officer"), _client("auditor")
    assert officer.get(detail).status_code == 200
    # The officer may not review; the board may not move the phase.
    review = reverse("algorithms:manage_review", args=["x"])
    phase = reverse("algorithms:manage_phase", args=["x"])
    assert officer.post(review, {"outcome": "approve", "reasons": "mine"}).status_code == 404
    assert board.post(phase, {"phase": "production"}).status_code == 404
    refused = officer.post(phase, {"phase": "production"})
    assert refused.status_code == 409 and "no impact assessment" in refused.content.decode()
    assert board.post(review, {"outcome": "suspend", "reasons": ""}).status_code == 400
    assert board.post(review, {"outcome": "suspend", "reasons": "complaints"}).status_code == 302
    assert queries.is_suspended(a)
    assert "complaints" in board.get(detail).content.decode()
    listing = _client("algorithm_officer").get(reverse("algorithms:manage"))
    assert listing.status_code == 200 and "suggestions only" in listing.content.decode()
