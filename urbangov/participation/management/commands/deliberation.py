"""``urbangov deliberation``: opinion analysis of a Polis export, and open-data exports.

    urbangov deliberation analyze --votes participants-votes.csv [--comments comments.csv]
    urbangov deliberation export TOPIC_ID --out FILE.zip
    urbangov deliberation topics --out FILE.csv

``analyze`` prints a few lines on what it read and, as its last line, one JSON object:
``{"groups": {participant: group}, "consensus": [comment ids], "representative": {group:
[comment ids]}}``. With ``--comments`` the comments Polis marks moderated out are left out of
the analysis, as Polis does. A file that cannot be read exits with status 2 and a line naming
the file, the line and what is wrong.
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from urbangov.analytics import opinion

EXIT_BAD_INPUT = 2


def _id(value: str) -> int | str:
    """Polis's ids are integers; print them as numbers where they are."""
    return int(value) if value.isdigit() and str(int(value)) == value else value


class Command(BaseCommand):
    help = "Opinion analysis of Polis exports, and open-data exports of topics."

    def add_arguments(self, parser: ArgumentParser) -> None:
        verbs = parser.add_subparsers(dest="verb", required=True)
        analyze = verbs.add_parser("analyze", help="opinion groups of a Polis export")
        analyze.add_argument("--votes", required=True, help="Polis participants-votes.csv")
        analyze.add_argument("--comments", help="Polis comments.csv (to apply its moderation)")
        analyze.add_argument("--seed", type=int, default=0, help="seed of the k-means starts")
        export = verbs.add_parser("export", help="anonymised open-data export of one topic")
        export.add_argument("topic", type=int)
        export.add_argument("--out", required=True, help="the .zip file to write")
        topics = verbs.add_parser("topics", help="every topic as CSV")
        topics.add_argument("--out", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "analyze":
            self._analyze(options)
        elif verb == "export":
            self._export(options)
        else:
            self._topics(options)

    def _fail(self, message: str) -> None:
        self.stderr.write(message)
        sys.exit(EXIT_BAD_INPUT)

    def _read(self, path: str) -> list[str]:
        file = Path(path)
        if not file.is_file():
            self._fail(f"{path}: no such file")
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self._fail(f"{path}: not UTF-8 text (byte {exc.start}): is this a Polis CSV export?")
        return text.splitlines(keepends=True)

    def _analyze(self, options: dict[str, Any]) -> None:
        path = options["votes"]
        lines = self._read(path)
        try:
            export = opinion.read_participants_votes(lines)
        except opinion.PolisFormatError as exc:
            self._fail(f"{path}:{exc.line}: {exc.message}")
        moderated: frozenset[str] = frozenset()
        if options.get("comments"):
            comments = options["comments"]
            try:
                moderated = opinion.read_moderation(self._read(comments))
            except opinion.PolisFormatError as exc:
                self._fail(f"{comments}:{exc.line}: {exc.message}")
        votes = export.votes
        n, m = votes.shape
        self.stdout.write(
            f"read {n} participants, {m} comments, {len(votes.rows)} votes"
            + (f"; {len(moderated)} comments moderated out" if moderated else "")
        )
        analysis = opinion.analyze(
            votes, moderated_out=moderated, options=opinion.Options(seed=options["seed"])
        )
        self.stdout.write(
            f"clustered {int(analysis.clustered.sum())} participants into {analysis.k} groups "
            f"(silhouette by k: "
            + ", ".join(f"{k}: {v:.3f}" for k, v in sorted(analysis.silhouettes.items()))
            + ")"
        )
        summary = {
            "groups": analysis.group_of(),
            "consensus": [_id(c.statement) for c in analysis.consensus],
            "representative": {
                str(g.id): [_id(r.statement) for r in g.representative] for g in analysis.groups
            },
        }
        self.stdout.write(json.dumps(summary, ensure_ascii=False))

    def _export(self, options: dict[str, Any]) -> None:
        from urbangov.participation.export import topic_zip
        from urbangov.participation.models import Topic

        topic = Topic.objects.filter(pk=options["topic"]).first()
        if topic is None:
            raise CommandError(f"no topic {options['topic']}")
        data = topic_zip(topic)
        Path(options["out"]).write_bytes(data)
        self.stdout.write(f"wrote {options['out']} ({len(data)} bytes)")

    def _topics(self, options: dict[str, Any]) -> None:
        from urbangov.participation.export import topics_csv

        text = topics_csv()
        Path(options["out"]).write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {options['out']}")
