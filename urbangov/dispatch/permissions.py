"""Who may answer the dispatcher: the operators who may dispatch the case."""

from __future__ import annotations

from typing import Any

from urbangov.cases import permissions as case_permissions
from urbangov.cases.models import Case


def can_decide(user: Any, case: Case) -> bool:
    return case_permissions.can("dispatch", user, case)


def can_see(user: Any, case: Case) -> bool:
    return case_permissions.can_view(user, case)
