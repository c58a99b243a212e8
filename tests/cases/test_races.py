"""Two staff members acting on the same case at the same moment (PostgreSQL, real threads)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from tests.conftest import City, make_case
from urbangov.cases import actions
from urbangov.cases.models import Case, Status

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]


def _at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released together; each result or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(5)
            results[i] = call()
        except Exception as exc:  # the test inspects what each call got
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_grant_and_refuse_at_once_settle_the_request_once(city: City) -> None:
    case = make_case(city)
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    actions.accept_case(case, actor=city.user("handler"))
    actions.request_extension(case, actor=city.user("handler"), hours=48, reason="r")
    case.refresh_from_db()
    due = case.resolve_due
    results = _at_once(
        lambda: actions.grant_extension(
            Case.objects.get(pk=case.pk), actor=city.user("supervisor")
        ),
        lambda: actions.refuse_extension(
            Case.objects.get(pk=case.pk), actor=city.user("operator"), note="no"
        ),
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], ValidationError), results
    case.refresh_from_db()
    [request] = case.extensions.all()
    moved = case.resolve_due - due
    assert (request.status, moved) in {("granted", timedelta(hours=48)), ("refused", timedelta(0))}
    assert case.events.filter(kind__in=["grant_extension", "refuse_extension"]).count() == 1


def test_merging_two_cases_into_each_other_at_once_merges_one(city: City) -> None:
    a, b = make_case(city), make_case(city)
    op = city.user("operator")
    results = _at_once(
        lambda: actions.merge_case(
            Case.objects.get(pk=a.pk), actor=op, into=Case.objects.get(pk=b.pk)
        ),
        lambda: actions.merge_case(
            Case.objects.get(pk=b.pk), actor=op, into=Case.objects.get(pk=a.pk)
        ),
    )
    assert sum(isinstance(r, Exception) for r in results) == 1, results
    statuses = sorted(Case.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True))
    assert statuses == sorted([Status.MERGED, Status.AWAITING_DISPATCH])
    assert connection.vendor == "postgresql"


def test_the_refused_merge_is_a_validation_error_not_a_deadlock(city: City) -> None:
    op = city.user("operator")
    for _ in range(3):
        a, b = make_case(city), make_case(city)
        results = _at_once(
            lambda a=a, b=b: actions.merge_case(a, actor=op, into=Case.objects.get(pk=b.pk)),
            lambda a=a, b=b: actions.merge_case(b, actor=op, into=Case.objects.get(pk=a.pk)),
        )
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(errors) == 1 and isinstance(errors[0], ValidationError), results
