"""``urbangov audit``: bias audits of any decisions file, and of the platform's own decisions.

    urbangov audit run --csv FILE --group COL [--group COL …] --label COL --prediction COL
                       [--positive VALUE …] [--reference GROUP] [--focus punitive|assistive|
                       selection|all] [--threshold 0.8] [--alpha 0.05] [--time COL]
    urbangov audit platform [--days N] [--actor USER]

``run`` reads the CSV (no database) and prints, as its last line, one JSON object
``{"groups": {G: {"n", "selection_rate", "tpr", "fpr", "fnr", "ppv"}}, "reference": G,
"disparities": {G: {metric: {value, ci, reference, difference, ratio, p_value, p_adjusted}}},
"findings": [...]}``. ``--positive`` names the prediction value(s) that count as positive
(repeat it for several); without it the prediction column must be 0/1. Several ``--group``
columns audit their combinations (``a|b``). Bad input exits with status 2 and one line.

``platform`` runs the scheduled audit of dispatch decisions (by district and by channel) now
and keeps it as an audit report with the hash of its data snapshot.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from urbangov.analytics import fairness, tabular


def _read(path: str, columns: list[str]) -> dict[str, Any]:
    """The named columns of the CSV (the file verbs' reading rules), values stripped."""
    try:
        table = tabular.read_table(path)
    except tabular.TableError as exc:
        raise CommandError(f"audit: {exc}", returncode=2) from None
    missing = [c for c in columns if c not in table.header]
    if missing:
        raise CommandError(
            f"audit: {path} has no column(s) {', '.join(missing)}; "
            f"it has {', '.join(table.header[:30])}",
            returncode=2,
        )
    out: dict[str, Any] = {}
    for c in columns:
        values = [row.get(c, "").strip() for _line, row in table.rows]
        empty = [line for (line, _row), v in zip(table.rows, values, strict=True) if not v]
        if empty:
            raise CommandError(
                f"audit: the column {c} has {len(empty)} missing value(s), "
                f"the first on line {empty[0]}; remove or fill them first",
                returncode=2,
            )
        out[c] = np.array(values, dtype=object)
    return out


class Command(BaseCommand):
    help = "Bias audits: of any decisions file (run), of the platform's decisions (platform)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="{run,platform}")
        run = verbs.add_parser("run", help="audit a decisions CSV by group")
        run.add_argument("--csv", required=True, metavar="FILE")
        run.add_argument("--group", required=True, action="append", metavar="COL")
        run.add_argument("--label", required=True, metavar="COL", help="the true outcome, 0/1")
        run.add_argument("--prediction", required=True, metavar="COL")
        run.add_argument("--positive", action="append", metavar="VALUE")
        run.add_argument("--reference", metavar="GROUP")
        run.add_argument("--focus", default="all", choices=sorted(fairness.FOCUS))
        run.add_argument("--threshold", type=float, default=fairness.FOUR_FIFTHS)
        run.add_argument("--alpha", type=float, default=0.05)
        run.add_argument("--time", metavar="COL", help="outcome time (a number) per row")
        platform = verbs.add_parser("platform", help="audit the dispatch decisions now")
        platform.add_argument("--days", type=int, default=30)
        platform.add_argument("--actor", default="", help="user name recorded as the auditor")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "run":
            self._run(options)
        else:
            self._platform(options)

    def _run(self, options: dict[str, Any]) -> None:
        groups: list[str] = options["group"]
        wanted = [*groups, options["label"], options["prediction"]]
        if options["time"]:
            wanted.append(options["time"])
        data = _read(options["csv"], list(dict.fromkeys(wanted)))
        prediction = data[options["prediction"]]
        if options["positive"]:
            positive = [v.strip() for v in options["positive"]]
            present = set(np.unique(prediction).tolist())
            unknown = [v for v in positive if v not in present]
            if unknown:
                raise CommandError(
                    f"audit: the prediction column never has the value(s) {', '.join(unknown)}",
                    returncode=2,
                )
            prediction = np.isin(prediction, positive)
        time = None
        if options["time"]:
            try:
                time = data[options["time"]].astype(np.float64)
            except ValueError:
                raise CommandError(
                    f"audit: the time column {options['time']} is not all numbers", returncode=2
                ) from None
        try:
            result = fairness.audit(
                {g: data[g] for g in groups} if len(groups) > 1 else data[groups[0]],
                data[options["label"]],
                prediction,
                reference=options["reference"],
                outcome_time=time,
                focus=options["focus"],
                threshold=options["threshold"],
                alpha=options["alpha"],
            )
        except fairness.AuditError as exc:
            raise CommandError(f"audit: {exc}", returncode=2) from None
        for finding in result.findings:
            self.stdout.write(f"finding: {finding.text}")
        self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, allow_nan=False))

    def _platform(self, options: dict[str, Any]) -> None:
        from django.contrib.auth import get_user_model
        from django.core.exceptions import ValidationError

        import urbangov.algorithms.audits as audits

        actor: Any = None
        if options["actor"]:
            actor = get_user_model().objects.filter(username=options["actor"]).first()
            if actor is None:
                raise CommandError(f"audit: no user {options['actor']!r}", returncode=2)
        try:
            reports = audits.run_platform_audit(actor=actor, days=options["days"])
        except ValidationError as exc:
            raise CommandError(f"audit: {'; '.join(exc.messages)}", returncode=2) from None
        self.stdout.write(
            json.dumps(
                {
                    "reports": [
                        {
                            "id": r.pk,
                            "dimension": r.dimension,
                            "rows": r.rows,
                            "snapshot_sha256": r.snapshot_sha256,
                            "findings": len(r.findings),
                        }
                        for r in reports
                    ]
                },
                ensure_ascii=False,
            )
        )
