from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from urbangov.privacy.actions import seal_audit_log
from urbangov.privacy.queries import verify_chain


class Command(BaseCommand):
    help = "Seal the audit log into its hash chain, or verify that it is untouched."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("seal", help="seal every event appended so far")
        sub.add_parser("verify", help="recompute the chain; exit 1 naming the first bad event")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "seal":
            result = seal_audit_log()
            self.stdout.write(
                f"sealed {result.sealed} events; chain head at {result.head_seq} ({result.head_hash[:16]}…)"
            )
            return
        report = verify_chain()
        if report.ok:
            self.stdout.write(
                f"audit log intact: {report.sealed} sealed events, {report.checkpoints} "
                f"checkpoints, {report.unsealed} awaiting sealing"
            )
            return
        where = f"event {report.first_bad_event}" if report.first_bad_event else "checkpoint"
        raise CommandError(
            f"audit log broken at {where} (position {report.first_bad_seq}): {report.reason}",
            returncode=1,
        )
