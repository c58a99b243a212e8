"""``urbangov export --agreement ID --format csv|json|parquet --output FILE --user NAME``:
case-level data under a data-sharing agreement, with only its fields."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from urbangov.privacy import permissions
from urbangov.privacy.actions import Refused, export_data
from urbangov.privacy.management.commands._common import acting_user, explain, fail


class Command(BaseCommand):
    help = (
        "Export case-level data under a data-sharing agreement: only its fields, only its "
        "areas and period, free text redacted; logged with the SHA-256 of what left."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--agreement", type=int, help="the agreement's number (required)")
        parser.add_argument("--format", default="csv", choices=["csv", "json", "parquet"])
        parser.add_argument("--output", "-o", required=True, help="file to write, or - for stdout")
        parser.add_argument("--user", required=True, help="the administrator exporting")

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["user"], permissions.can_export, "export case-level data")
        output = options["output"]
        if output != "-" and Path(output).exists():
            raise fail(f"{output} exists; an export never overwrites a file.")
        try:
            result = export_data(
                actor=user, agreement_id=options["agreement"], fmt=options["format"]
            )
        except Refused as exc:
            raise explain(exc) from exc
        if output == "-":
            sys.stdout.buffer.write(result.content)
            sys.stdout.buffer.flush()
        else:
            Path(output).write_bytes(result.content)
        summary = {
            "export": result.export.pk,
            "agreement": result.export.agreement_id,
            "rows": result.export.rows,
            "bytes": result.export.size,
            "sha256": result.export.digest,
        }
        (self.stderr if output == "-" else self.stdout).write(json.dumps(summary))
