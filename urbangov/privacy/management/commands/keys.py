"""``urbangov keys generate|status|rotate``: the keys that protect personal data at rest."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from urbangov.privacy import crypto
from urbangov.privacy.actions import Refused, key_usage, rotate_keys
from urbangov.privacy.management.commands._common import BAD_INPUT, fail


class Command(BaseCommand):
    help = "Make, inspect and rotate the keys that encrypt personal data at rest."
    # Garbage keys fail the system checks; this command must still run to say so plainly.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("generate", help="print a new encryption key (to put first in the list)")
        sub.add_parser(
            "status", help="count the stored values each configured key opens (exit 1: some none)"
        )
        sub.add_parser(
            "rotate",
            help="encrypt every stored value again under the first key; recompute keyed hashes",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "generate":
            self.stdout.write(crypto.new_key())
            return
        try:
            problems = crypto.key_problems(crypto.configured_keys())
        except ImproperlyConfigured as exc:
            problems = [str(exc)]
        if verb == "status":
            if problems:
                raise fail("; ".join(problems))
            usage = key_usage()
            self.stdout.write(json.dumps({"columns": usage}, ensure_ascii=False))
            unreadable = {name: counts[-1] for name, counts in usage.items() if counts[-1]}
            if unreadable:
                raise CommandError(f"values no configured key opens: {unreadable}", returncode=1)
            return
        try:
            report = rotate_keys(actor=None)
        except Refused as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from exc
        self.stdout.write(
            json.dumps(
                {
                    "reencrypted": report.reencrypted,
                    "rehashed": report.rehashed,
                    "key": report.key_fingerprint,
                },
                ensure_ascii=False,
            )
        )
