"""``urbangov import-cases FILE --mapping MAPPING``: import another system's CSV export.

Exit codes: 0 imported (or, with --dry-run, would import); 1 bad rows and nothing stored
(without --skip-bad); 2 the file or the mapping cannot be used at all.
"""

from __future__ import annotations

import json
import sys
import time
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from urbangov.cases import importer


class Command(BaseCommand):
    help = (
        "Import cases from a CSV export of another system (311, Open311, 12345 hotline). "
        "Bad rows are reported by line; by default any bad row aborts the whole import."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the CSV file")
        parser.add_argument(
            "--mapping",
            required=True,
            help=f"a built-in mapping ({', '.join(importer.builtin_mappings())}) or a JSON mapping file",
        )
        parser.add_argument(
            "--source",
            help="name of the source system stored with each case (default: the mapping's)",
        )
        parser.add_argument(
            "--encoding", help="the file's encoding (default: the mapping's, else detected)"
        )
        parser.add_argument(
            "--timezone",
            help="time zone of times without an offset (default: the mapping's, else TIME_ZONE)",
        )
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="create categories and units for unknown types and agencies",
        )
        parser.add_argument(
            "--skip-bad", action="store_true", help="import the good rows and report the bad ones"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file only; store nothing"
        )
        parser.add_argument("--actor", help="username recorded in the audit log as the importer")
        parser.add_argument(
            "--json",
            action="store_true",
            help="print one JSON summary on stdout; the report goes to stderr",
        )
        parser.add_argument(
            "--max-report", type=int, default=100, help="bad rows to list (0: all; default 100)"
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="do not show progress on stderr"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        report = self.stderr if options["json"] else self.stdout
        show_progress = not options["no_progress"]
        last = [0.0]

        def progress(stage: str, count: int) -> None:
            now = time.monotonic()
            if show_progress and (now - last[0] >= 0.5 or stage != "validated"):
                last[0] = now
                label = {
                    "validated": _("rows read and checked"),
                    "checked": _("rows read and checked (whole file)"),
                    "written": _("cases written"),
                }[stage]
                end = "\r" if sys.stderr.isatty() else "\n"
                self.stderr.write(f"import-cases: {count} {label}", ending=end)

        actor = None
        if options["actor"]:
            actor = get_user_model().objects.filter(username=options["actor"]).first()
            if actor is None:
                raise CommandError(
                    _("No user %(name)r.") % {"name": options["actor"]}, returncode=2
                )
        try:
            mapping = importer.load_mapping(options["mapping"])
            plan = importer.validate(
                options["file"],
                mapping,
                source=options["source"],
                encoding=options["encoding"],
                time_zone=options["timezone"],
                create_missing=options["create_missing"],
                progress=progress,
            )
        except importer.ImportFileError as exc:
            raise CommandError(str(exc), returncode=2) from None

        limit = options["max_report"]
        shown = plan.bad if limit <= 0 else plan.bad[:limit]
        for bad in shown:
            report.write(str(bad))
        if len(shown) < len(plan.bad):
            report.write(
                _("… and %(n)d more bad rows (--max-report 0 lists all, --json gives them all).")
                % {"n": len(plan.bad) - len(shown)}
            )
        for message, count in plan.warnings.most_common():
            lines = ", ".join(str(n) for n in plan.warning_lines[message])
            report.write(
                _("note: %(message)s — %(n)d rows (first: line %(lines)s)")
                % {"message": message, "n": count, "lines": lines}
            )

        aborted = bool(plan.bad) and not options["skip_bad"]
        if not aborted and not options["dry_run"] and plan.good:
            try:
                importer.write(plan, actor=actor, progress=progress)
            except importer.ImportFileError as exc:
                raise CommandError(str(exc), returncode=2) from None
        plan.seconds = time.monotonic() - started

        summary = self._summary(plan, aborted=aborted, dry_run=options["dry_run"])
        if options["json"]:
            doc = plan.summary()
            doc.update(
                {
                    "aborted": aborted,
                    "dry_run": options["dry_run"],
                    "exit_code": 1 if aborted else 0,
                }
            )
            report.write(summary)
            self.stdout.write(json.dumps(doc, ensure_ascii=False))
        if aborted:
            raise CommandError(summary, returncode=1)
        if not options["json"]:
            self.stdout.write(summary)

    def _summary(self, plan: importer.Plan, *, aborted: bool, dry_run: bool) -> str:
        counts = _(
            "%(file)s: %(rows)d rows, %(valid)d valid, %(bad)d bad "
            "(%(invalid)d invalid, %(dup)d duplicated in the file, %(old)d already imported); "
            "encoding %(encoding)s"
        ) % {
            "file": plan.path,
            "rows": plan.rows_read,
            "valid": len(plan.good),
            "bad": len(plan.bad),
            "invalid": plan.count("invalid"),
            "dup": plan.count("duplicate"),
            "old": plan.count("imported"),
            "encoding": plan.encoding,
        }
        new_cats, new_units = len(plan.planned_categories()), len(plan.planned_units())
        if aborted:
            outcome = _(
                "nothing imported. Fix the rows above, or pass --skip-bad to import the %(n)d good rows."
            ) % {"n": len(plan.good)}
        elif dry_run:
            outcome = _(
                "dry run: would import %(n)d cases and create %(c)d categories and %(u)d units."
            ) % {"n": len(plan.good), "c": new_cats, "u": new_units}
        else:
            outcome = _(
                "imported %(n)d cases from %(source)s; created %(c)d categories and %(u)d units (%(s).1f s)."
            ) % {
                "n": plan.written,
                "source": plan.source,
                "c": len(plan.created_categories),
                "u": len(plan.created_units),
                "s": plan.seconds,
            }
        return f"{counts}; {outcome}"
