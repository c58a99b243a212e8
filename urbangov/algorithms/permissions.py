"""Who may do what with the register, assessments, reviews and appeals: one predicate each.

The ethics board is the auditors (and administrators): they review what the algorithm
officers register and assess, so that nobody approves their own work."""

from __future__ import annotations

from typing import Any

from urbangov.org.models import Role
from urbangov.org.queries import scope_of


def can_edit_register(user: Any) -> bool:
    return scope_of(user).has(Role.ALGORITHM_OFFICER)


def can_assess(user: Any) -> bool:
    return scope_of(user).has(Role.ALGORITHM_OFFICER)


def can_review(user: Any) -> bool:
    return scope_of(user).has(Role.AUDITOR)
