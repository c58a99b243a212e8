"""``urbangov retention set|list|apply``: how long personal data is kept, and anonymising the
cases past it."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from urbangov.privacy import permissions, registry
from urbangov.privacy.actions import apply_retention, retention_days, set_retention
from urbangov.privacy.management.commands._common import acting_user, explain, fail

DEFAULT = "default"


class Command(BaseCommand):
    help = (
        "Retention of personal data per category: set it, list it, and apply it (anonymise "
        "the personal fields of finished cases past it, keeping what statistics need)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        setter = sub.add_parser("set", help="days a category's cases keep personal data")
        setter.add_argument("category", help=f"a category code, or {DEFAULT!r}")
        setter.add_argument("days", type=int)
        setter.add_argument("--dataset", default="cases")
        setter.add_argument("--user", required=True)
        lister = sub.add_parser("list", help="the days in force for every category")
        lister.add_argument("--dataset", default="cases")
        apply = sub.add_parser("apply", help="anonymise what is past retention; say how many")
        apply.add_argument("--dataset", default="cases")
        apply.add_argument("--dry-run", action="store_true", help="count only, change nothing")
        apply.add_argument("--user", help="who applies it (default: the system)")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        dataset = registry.get(options["dataset"])
        if dataset is None:
            raise fail(
                f"unknown dataset {options['dataset']!r}; known: "
                + ", ".join(sorted(registry.datasets()))
            )
        if verb == "list":
            days = retention_days(dataset)
            self.stdout.write(
                json.dumps({DEFAULT if k == "" else k: v for k, v in sorted(days.items())})
            )
            return
        if verb == "set":
            user = acting_user(
                options["user"], permissions.can_apply_retention, "set retention periods"
            )
            category = "" if options["category"] == DEFAULT else options["category"]
            try:
                set_retention(
                    actor=user, dataset=dataset.name, category=category, days=options["days"]
                )
            except ValidationError as exc:
                raise explain(exc) from exc
            self.stdout.write(f"{options['category']}: personal data kept {options['days']} days")
            return
        actor = (
            acting_user(options["user"], permissions.can_apply_retention, "apply retention")
            if options["user"]
            else None
        )
        report = apply_retention(actor=actor, dataset=dataset.name, dry_run=options["dry_run"])
        verb_done = "would anonymise" if report.dry_run else "anonymised"
        self.stdout.write(
            json.dumps(
                {
                    "dataset": report.dataset,
                    "anonymised": report.anonymised,
                    "dry_run": report.dry_run,
                }
            )
        )
        self.stderr.write(f"{verb_done} {report.anonymised} {report.dataset} past retention")
