"""``urbangov hotspots``: find hot-spots in any file of messages, or refresh the city's.

    urbangov hotspots detect --csv FILE --text COL[,COL…] [--time COL] [--votes COL[,COL]] [--top N]
    urbangov hotspots refresh [--days N]

``detect`` reads a CSV (UTF-8, header row) and prints, as its last line on standard output,
one JSON object ``{"clusters": [{"label", "heat", "size", "ids", "first", "last"}…]}`` in heat
order: ``ids`` are 0-based data row numbers, ``label`` the representative message's first
text column, ``first``/``last`` ISO 8601 times (null without ``--time``). A readable summary
goes to standard error. With ``--votes likes,dislikes`` agreement is likes − dislikes. The
same text posted twice counts as one resident. ``refresh`` runs the city's detection and
early warning now (what the worker does every hour).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from urbangov.analytics import hotspots as hs
from urbangov.analytics import tabular


def _columns(value: str, flag: str) -> list[str]:
    names = [c.strip() for c in value.split(",") if c.strip()]
    if not names:
        raise CommandError(f"{flag} needs at least one column name")
    return names


def _time(value: str, row: int, column: str) -> datetime:
    text = value.strip()
    if not text:
        raise CommandError(f"row {row}: column {column!r} is empty; every row needs a time")
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise CommandError(
            f"row {row}: {text!r} in column {column!r} is not a time "
            "(ISO 8601 like 2019-11-02 08:30:00, or seconds since 1970)"
        ) from None


def _number(value: str, row: int, column: str) -> float:
    text = value.strip()
    if not text:
        return 0.0
    try:
        number = float(text)
    except ValueError:
        raise CommandError(f"row {row}: {text!r} in column {column!r} is not a number") from None
    if not math.isfinite(number):
        raise CommandError(f"row {row}: {text!r} in column {column!r} is not a finite number")
    return number


class Command(BaseCommand):
    help = "Find hot-spots in a CSV of messages (detect), or refresh the city's (refresh)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        detect = sub.add_parser("detect", help="cluster the messages of a CSV file")
        detect.add_argument("--csv", required=True, help="the file (UTF-8, header row)")
        detect.add_argument("--text", required=True, help="text column(s), comma-separated")
        detect.add_argument("--time", help="column with when each message was written")
        detect.add_argument("--votes", help="likes column, or likes,dislikes")
        detect.add_argument("--top", type=int, default=20, help="how many clusters (default 20)")
        detect.add_argument(
            "--min-size", type=int, default=3, help="smallest cluster reported (default 3)"
        )
        detect.add_argument(
            "--window-days",
            type=float,
            default=30.0,
            help="messages further apart are not linked directly (default 30; with --time)",
        )
        refresh = sub.add_parser("refresh", help="detect the city's hot-spots and alerts now")
        refresh.add_argument("--days", type=int, default=None, help="days of cases to read")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "refresh":
            self._refresh(options)
            return
        self._detect(options)

    def _refresh(self, options: dict[str, Any]) -> None:
        from urbangov.supervision.actions import refresh_hotspots

        days = options.get("days")
        if days is not None and not 1 <= days <= 3660:
            raise CommandError("--days is between 1 and 3660")
        result = refresh_hotspots(days=days, force=True)
        assert result.run is not None
        self.stdout.write(
            json.dumps(
                {
                    "run": result.run.pk,
                    "cases": result.run.cases,
                    "hotspots": result.hotspots,
                    "alerts": result.alerts,
                    "seconds": result.run.seconds,
                }
            )
        )

    def _detect(self, options: dict[str, Any]) -> None:
        if options["top"] < 1:
            raise CommandError("--top must be at least 1")
        if options["min_size"] < 2:
            raise CommandError("--min-size must be at least 2")
        if not options["window_days"] > 0:
            raise CommandError("--window-days must be more than 0")
        path = Path(options["csv"])
        text_cols = _columns(options["text"], "--text")
        vote_cols = _columns(options["votes"], "--votes") if options.get("votes") else []
        if len(vote_cols) > 2:
            raise CommandError("--votes takes one column (likes) or two (likes,dislikes)")
        time_col = options.get("time")
        wanted = [*text_cols, *vote_cols, *([time_col] if time_col else [])]
        try:
            table = tabular.read_table(path, wanted)
        except tabular.TableError as exc:
            raise CommandError(str(exc)) from None
        if table.encoding not in ("utf-8", "utf-8-sig"):
            self.stderr.write(f"read {path} as {table.encoding}")
        rows = [row for _line, row in table.rows]
        if not rows:
            self.stdout.write(json.dumps({"clusters": []}))
            return
        fields = [[r.get(c) or "" for r in rows] for c in text_cols]
        times = (
            [_time(r.get(time_col) or "", k, time_col) for k, r in enumerate(rows)]
            if time_col
            else None
        )
        epoch = np.array([t.timestamp() for t in times]) if times else None
        votes = None
        if vote_cols:
            votes = np.array(
                [
                    _number(r.get(vote_cols[0]) or "", k, vote_cols[0])
                    - (
                        _number(r.get(vote_cols[1]) or "", k, vote_cols[1])
                        if len(vote_cols) > 1
                        else 0
                    )
                    for k, r in enumerate(rows)
                ]
            )
        # The same text posted again counts as the same resident.
        reporters = ["\x1f".join(f[k].strip() for f in fields) for k in range(len(rows))]
        params = hs.DetectParams(
            min_size=options["min_size"],
            window_days=options["window_days"],
        )
        features = hs.text_features(fields)
        clusters = hs.detect(
            features, times=epoch, votes=votes, reporters=reporters, params=params
        )[: options["top"]]
        out = []
        for c in clusters:
            label = fields[0][c.representative].strip().replace("\n", " ")
            out.append(
                {
                    "label": label if len(label) <= 80 else label[:79] + "…",
                    "heat": round(c.heat, 4),
                    "size": c.size,
                    "ids": sorted(int(i) for i in c.members),
                    "first": min(times[i] for i in c.members).isoformat() if times else None,
                    "last": max(times[i] for i in c.members).isoformat() if times else None,
                }
            )
        for k, row in enumerate(out, start=1):
            self.stderr.write(
                f"{k:>3}. heat {row['heat']:.2f}  {row['size']:>3} messages  {row['label']}"
            )
        self.stdout.write(json.dumps({"clusters": out}, ensure_ascii=False))
