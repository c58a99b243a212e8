from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from urbangov.privacy.actions import install_guard, record, seal_audit_log
from urbangov.privacy.queries import verify_chain


class Command(BaseCommand):
    help = "Seal the audit log into its hash chain, or verify that it is untouched."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("seal", help="seal every event appended so far")
        sub.add_parser("verify", help="recompute the chain; exit 1 naming the first bad event")
        sub.add_parser(
            "guard", help="(re)install the triggers that refuse UPDATE and DELETE on the log"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "guard":
            installed = install_guard()
            self.stdout.write(f"append-only guard in force on {', '.join(installed)}")
            return
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
        # The finding goes on the log itself (a new event, sealed after the damage), so that
        # it is on record even if whoever tampered later restores what they changed.
        record(
            actor=None,
            action="privacy.auditlog.verify.failed",
            data={
                "reason": report.reason,
                "first_bad_event": report.first_bad_event,
                "first_bad_seq": report.first_bad_seq,
                "missing_guards": list(report.missing_guards),
            },
            label="urbangov auditlog verify",
        )
        if report.missing_guards:
            raise CommandError(
                f"audit log chain intact ({report.sealed} sealed events) but {report.reason}; "
                "reinstall it with `urbangov auditlog guard`",
                returncode=1,
            )
        where = f"event {report.first_bad_event}" if report.first_bad_event else "checkpoint"
        raise CommandError(
            f"audit log broken at {where} (position {report.first_bad_seq}): {report.reason}",
            returncode=1,
        )
