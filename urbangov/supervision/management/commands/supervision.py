"""``urbangov supervision fold|rebuild|notices``: what the worker does, on demand.

fold      fold every case that moved into the evaluation's items and rollups
rebuild   forget all items and rollups and fold every case again (after the rules changed)
notices   send due reminders and overdue notices now
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from urbangov.supervision import actions


class Command(BaseCommand):
    help = "Fold cases into the evaluation (fold, rebuild) or send notices now (notices)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", choices=["fold", "rebuild", "notices"])

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "notices":
            self.stdout.write(json.dumps({"sent": actions.send_notices()}))
            return
        result = actions.fold_all() if verb == "fold" else actions.rebuild(actor=None)
        self.stdout.write(
            json.dumps({"cases": result.cases, "items": result.items, "days": result.days})
        )
