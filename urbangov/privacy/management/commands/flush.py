"""Django's ``flush`` (erase every table), allowed to empty the append-only audit log.

The audit log's guard (:mod:`urbangov.privacy.guard`) refuses every ``DELETE`` on the log; this
command, which erases the whole database anyway (and which the test suite runs between
transactional tests), is the one thing it lets through.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlush

from urbangov.privacy import guard


class Command(DjangoFlush):
    help = (
        "Remove ALL data from the database, the audit log included (the only operation its "
        "append-only guard allows), and re-run post-migrate handlers."
    )

    def handle(self, **options: Any) -> None:
        with guard.flushing(options["database"]):
            super().handle(**options)
