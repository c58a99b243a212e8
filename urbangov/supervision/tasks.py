"""Periodic jobs run by ``urbangov worker`` (registered in ``settings.PERIODIC_JOBS``).

Each is idempotent and claims its work through a state field (see the actions they call),
so any number of workers may run them.
"""

from __future__ import annotations

from urbangov.supervision import actions


def fold() -> int:
    """Keep the evaluation's rollups up to date with the cases that moved."""
    return actions.fold().cases


def send_notices() -> int:
    """Reminders before deadlines, overdue notices after them."""
    return actions.send_notices()


def refresh_hotspots() -> int:
    """A new hot-spot run at most once an hour (the claim decides which worker runs it)."""
    return actions.refresh_hotspots().hotspots
