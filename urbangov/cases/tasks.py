from __future__ import annotations

from django_tasks import task

from urbangov.cases.actions import TransitionError, triage_case
from urbangov.cases.models import Case, Status


@task()
def triage(case_id: int) -> str:
    """Queue a new case for dispatch; a case already moved on is left as it is."""
    case = Case.objects.filter(pk=case_id, status=Status.SUBMITTED).first()
    if case is None:
        return "skipped"
    try:
        triage_case(case)
    except TransitionError:
        return "skipped"
    return "queued"
