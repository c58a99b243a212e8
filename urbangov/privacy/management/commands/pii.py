"""``urbangov pii scan`` and ``urbangov pii redact``: personal data in lines of text on stdin.

    urbangov pii scan [--types PHONE,EMAIL]    one JSON object a line:
                                               {"spans": [{"start": 3, "end": 5, "type": "PERSON"}, …]}
    urbangov pii redact [--keep PHONE]         each line with its personal data masked

Offsets are in Unicode code points (Python ``str`` indices) of the line without its line
ending. Input must be UTF-8 text: the first line that is not (invalid UTF-8, or a NUL byte, as
in binary files) stops the command with exit status 2 and a message naming the line; the lines
before it have been answered.
"""

from __future__ import annotations

import io
import json
import sys
from argparse import ArgumentParser
from collections.abc import Iterator
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from urbangov.analytics import pii


def _types(value: str | None) -> frozenset[pii.PiiType]:
    if not value:
        return frozenset()
    names = [v.strip().upper() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in pii.PiiType.__members__]
    if unknown:
        raise CommandError(
            _("Unknown type %(names)s; the types are %(types)s.")
            % {"names": ", ".join(unknown), "types": ", ".join(pii.PiiType.__members__)},
            returncode=2,
        )
    return frozenset(pii.PiiType[n] for n in names)


def _lines(stream: IO[bytes]) -> Iterator[str]:
    for number, raw in enumerate(stream, 1):
        if b"\x00" in raw:
            raise CommandError(
                _("Line %(line)d has a NUL byte: this is binary data, not text.")
                % {"line": number},
                returncode=2,
            )
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommandError(
                _("Line %(line)d is not UTF-8 text (byte %(byte)d).")
                % {"line": number, "byte": exc.start + 1},
                returncode=2,
            ) from None
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]  # a byte-order mark is not part of the text
        yield line.rstrip("\r\n")


class Command(BaseCommand):
    help = "Find (scan) or mask (redact) personal data in lines of text read from stdin."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        scan = sub.add_parser(
            "scan", help='print {"spans": [{"start", "end", "type"}…]} for each line'
        )
        scan.add_argument("--types", help="only these types, comma-separated (default: all)")
        redact = sub.add_parser("redact", help="print each line with its personal data masked")
        redact.add_argument("--keep", help="types to leave unmasked, comma-separated")

    def handle(self, *args: Any, **options: Any) -> None:
        stream: IO[bytes] = options.get("stdin") or sys.stdin.buffer
        if options.get("stdout") is None and isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(encoding="utf-8")
        if options["verb"] == "scan":
            wanted = _types(options.get("types")) or None
            for line in _lines(stream):
                spans = pii.detect(line, types=wanted)
                self.stdout.write(json.dumps({"spans": [s.as_dict() for s in spans]}))
                self.stdout.flush()
            return
        keep = _types(options.get("keep"))
        for line in _lines(stream):
            self.stdout.write(pii.redact(line, keep=keep))
            self.stdout.flush()
