"""The decision log: written through actions only, never edited (answers and outcomes are new
rows pointing to the old), found by subject; versions registered with their artefact's hash,
activated and rolled back with a record, refused when the artefact does not check."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from tests.conftest import City, make_case
from urbangov.algorithms import actions, queries
from urbangov.algorithms.models import (
    Activation,
    AlgorithmVersion,
    AppendOnlyError,
    Artefact,
    Decision,
    Kind,
    Mode,
    Verdict,
)
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db


def version(
    code: str = "eligibility", label: str | None = None, artefact: bytes | None = b"model"
) -> AlgorithmVersion:
    algorithm = actions.ensure_algorithm(actor=None, code=code, name=code.title())
    return actions.register_version(
        actor=None, algorithm=algorithm, version=label, artefact=artefact
    )


def decide(v: AlgorithmVersion, subject: object, **kw: object) -> Decision:
    return actions.record_decision(
        version=v,
        subject=subject,  # type: ignore[arg-type]
        inputs=kw.pop("inputs", {"text": "楼下水管漏水", "lat": 31.2}),
        output=kw.pop("output", {"unit": "WATER", "category": "water.leak"}),
        alternatives=kw.pop(
            "alternatives",
            [{"output": {"unit": "D1S1", "category": "noise"}, "score": 0.05}],
        ),
        confidence=kw.pop("confidence", 0.93),
        explanation="读作供水问题",
        mode=kw.pop("mode", Mode.SUGGESTION),  # type: ignore[arg-type]
    )


def test_a_decision_records_everything_and_its_audit_event(city: City) -> None:
    case = make_case(city)
    v = version()
    d = decide(v, case)
    assert (d.subject_type, d.subject_id) == ("cases.case", str(case.pk))
    assert d.algorithm.code == "eligibility" and d.version == v and d.kind == Kind.ALGORITHM
    # The digest is SHA-256 of the canonical JSON of the inputs (computed here independently).
    canonical = '{"lat":31.2,"text":"楼下水管漏水"}'
    assert d.inputs_digest == hashlib.sha256(canonical.encode()).hexdigest()
    assert d.inputs == {}  # nothing personal is kept unless given as the summary
    assert (
        AuditEvent.objects.filter(
            action="algorithms.decision.algorithm", object_id=str(d.pk)
        ).count()
        == 1
    )
    assert queries.decisions_about(case) == [d]


def test_decisions_are_never_edited_or_deleted(city: City) -> None:
    d = decide(version(), make_case(city))
    d.confidence = 0.1
    with pytest.raises(AppendOnlyError):
        d.save()
    with pytest.raises(AppendOnlyError):
        Decision.objects.filter(pk=d.pk).update(confidence=0.1)
    with pytest.raises(AppendOnlyError):
        d.delete()
    with pytest.raises(AppendOnlyError):
        Decision.objects.filter(pk=d.pk).delete()
    d.refresh_from_db()
    assert d.confidence == 0.93


def test_bad_confidence_or_mode_is_refused(city: City) -> None:
    v = version()
    case = make_case(city)
    with pytest.raises(ValidationError):
        decide(v, case, confidence=1.5)
    with pytest.raises(ValidationError):
        decide(v, case, mode="whenever")
    assert not Decision.objects.exists()


@pytest.mark.parametrize(
    ("chosen", "verdict"),
    [
        ({"unit": "WATER", "category": "water.leak"}, Verdict.ACCEPTED),
        ({"unit": "D1S1", "category": "noise"}, Verdict.ALTERNATIVE),
        ({"unit": "D2S1", "category": "noise"}, Verdict.CORRECTED),
    ],
)
def test_a_person_answer_is_a_new_row_pointing_to_the_decision(
    city: City, chosen: dict[str, str], verdict: str
) -> None:
    case = make_case(city)
    d = decide(version(), case)
    answer = actions.record_human_decision(
        actor=city.user("operator"), subject=case, output=chosen, reason="看过现场"
    )
    assert answer is not None
    assert answer.kind == Kind.HUMAN and answer.refers_to == d and answer.verdict == verdict
    assert answer.reason == "看过现场" and answer.actor == city.user("operator")
    d.refresh_from_db()
    assert d.output == {"unit": "WATER", "category": "water.leak"}  # the original stands
    threads = queries.threads_about(case)
    assert len(threads) == 1 and threads[0].answers == [answer]


def test_no_answer_without_a_person_or_without_a_decision(city: City) -> None:
    case = make_case(city)
    assert (
        actions.record_human_decision(
            actor=city.user("operator"), subject=case, output={"unit": "WATER"}
        )
        is None
    )
    decide(version(), case)
    assert actions.record_human_decision(actor=None, subject=case, output={"unit": "WATER"}) is None
    # An output with keys the algorithm never decided is not an answer to it.
    assert (
        actions.record_human_decision(
            actor=city.user("operator"), subject=case, output={"eligible": True}
        )
        is None
    )
    assert Decision.objects.filter(kind=Kind.HUMAN).count() == 0


def test_outcome_points_to_the_decision(city: City) -> None:
    case = make_case(city)
    d = decide(version(), case)
    outcome = actions.record_outcome(
        actor=city.user("handler_d1"),
        subject=case,
        output={"unit": "D1S1", "category": "water.leak"},
    )
    assert outcome is not None
    assert outcome.kind == Kind.OUTCOME and outcome.refers_to == d
    assert outcome.verdict == Verdict.CORRECTED


def test_versions_activation_and_rollback_are_recorded(city: City) -> None:
    one = version("dispatch-test", artefact=b"one")
    two = version("dispatch-test", artefact=b"two")
    assert (one.version, two.version) == ("1", "2")
    assert one.artefact_sha256 == hashlib.sha256(b"one").hexdigest()
    actions.activate_version(actor=None, version=one, reason="first")
    actions.activate_version(actor=None, version=two, reason="better")
    algorithm = queries.algorithm("dispatch-test")
    assert algorithm is not None and algorithm.active_version == two
    back = actions.rollback(actor=None, algorithm=algorithm, reason="two misroutes gas")
    assert back.rollback and back.version == one and back.previous == two
    algorithm.refresh_from_db()
    assert algorithm.active_version == one
    assert [a.version.version for a in queries.activations("dispatch-test")] == ["1", "2", "1"]
    assert AuditEvent.objects.filter(action="algorithms.rollback").count() == 1
    with pytest.raises(ValidationError):
        actions.activate_version(actor=None, version=one)  # already in service


def test_rollback_needs_an_earlier_version(city: City) -> None:
    one = version("solo", artefact=b"x")
    actions.activate_version(actor=None, version=one)
    algorithm = queries.algorithm("solo")
    assert algorithm is not None
    with pytest.raises(ValidationError):
        actions.rollback(actor=None, algorithm=algorithm)


def test_activation_refused_when_the_artefact_or_the_check_fails(city: City) -> None:
    good = version("guarded", artefact=b"good")
    bad = version("guarded", artefact=b"bad")
    actions.activate_version(actor=None, version=good)
    # The stored bytes are altered behind the register's back (append-only rows are never
    # edited through the ORM, so by SQL).
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Artefact._meta.db_table} SET data = %s WHERE version_id = %s",  # noqa: S608 (a table name from the model)
            [b"tampered", bad.pk],
        )
    with pytest.raises(ValidationError, match="SHA-256"):
        actions.activate_version(actor=None, version=bad)

    def refuse(_v: AlgorithmVersion) -> None:
        raise ValidationError("cannot load")

    third = version("guarded", artefact=b"third")
    with pytest.raises(ValidationError, match="cannot load"):
        actions.activate_version(actor=None, version=third, verify=refuse)
    algorithm = queries.algorithm("guarded")
    assert algorithm is not None and algorithm.active_version == good
    assert Activation.objects.filter(algorithm=algorithm).count() == 1


def test_versions_are_unique_and_append_only(city: City) -> None:
    v = version("uniq", label="7")
    with pytest.raises(ValidationError):
        version("uniq", label="7")
    v.notes = "changed"
    with pytest.raises(AppendOnlyError):
        v.save()
