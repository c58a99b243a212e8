"""``urbangov equity``: accessibility for any data, and the city's access reports.

    urbangov equity fca --demand CSV --supply CSV --threshold T
                        [--metric euclidean|haversine] [--decay step|gaussian]
                        [--method 2sfca|e2sfca|gravity] [--sigma S] [--beta B] [--min-cost C]
    urbangov equity report KIND [--method …] [--decay …] [--threshold T]

``fca`` reads a demand CSV with ``id,x,y,population`` and a supply CSV with
``id,x,y,capacity`` (x/y in metres for euclidean, longitude/latitude for haversine) and prints,
as its last line, exactly one JSON object ``{"access": {demand id: value}, "gini": …}`` (a
summary of what was computed goes to stderr). It reads and writes no database. ``report`` computes and keeps an access report for the city's
facilities of one kind (for a periodic job) and prints its summary as JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from urbangov.analytics import accessibility, inequality, tabular
from urbangov.equity import actions, queries
from urbangov.equity.models import Decay, Method
from urbangov.org.models import FacilityKind


def _read_points(path: str, value_column: str, label: str) -> tuple[list[str], Any, Any]:
    """(ids, x/y array, values) from a CSV, or a CommandError naming the file and line."""
    wanted = ["id", "x", "y", value_column]
    try:
        table = tabular.read_table(path)
    except tabular.TableError as exc:
        raise CommandError(f"{label}: {exc}") from None
    missing = [c for c in wanted if c not in table.header]
    if missing:
        raise CommandError(
            _("%(label)s file %(path)s lacks the column(s) %(cols)s; it needs %(need)s.")
            % {"label": label, "path": path, "cols": ", ".join(missing), "need": ",".join(wanted)}
        )
    ids: list[str] = []
    xy: list[tuple[float, float]] = []
    values: list[float] = []
    seen: set[str] = set()
    for line, raw in table.rows:
        row = {k: v.strip() for k, v in raw.items()}
        where = {"label": label, "path": path, "line": line}
        ident = row["id"]
        if not ident:
            raise CommandError(_("%(label)s %(path)s line %(line)d: the id is empty.") % where)
        if ident in seen:
            raise CommandError(
                _("%(label)s %(path)s line %(line)d: the id %(id)r appears twice.")
                % {**where, "id": ident}
            )
        seen.add(ident)
        try:
            x, y = float(row["x"]), float(row["y"])
        except ValueError:
            raise CommandError(
                _(
                    "%(label)s %(path)s line %(line)d: x and y must be numbers (missing coordinates?)."
                )
                % where
            ) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise CommandError(
                _("%(label)s %(path)s line %(line)d: x and y must be finite numbers.") % where
            )
        try:
            value = float(row[value_column])
        except ValueError:
            raise CommandError(
                _("%(label)s %(path)s line %(line)d: %(col)s must be a number.")
                % {**where, "col": value_column}
            ) from None
        if not math.isfinite(value) or value < 0:
            raise CommandError(
                _("%(label)s %(path)s line %(line)d: %(col)s must not be negative (it is %(v)s).")
                % {**where, "col": value_column, "v": row[value_column]}
            )
        ids.append(ident)
        xy.append((x, y))
        values.append(value)
    return ids, np.array(xy, dtype=np.float64).reshape(-1, 2), np.array(values, dtype=np.float64)


def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


class Command(BaseCommand):
    help = "Accessibility (2SFCA, E2SFCA, gravity) for any data, and the city's access reports."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="{fca,report}")
        fca = verbs.add_parser(
            "fca", help=_("floating-catchment accessibility of demand points to supply points")
        )
        fca.add_argument("--demand", required=True, metavar="CSV", help=_("id,x,y,population"))
        fca.add_argument("--supply", required=True, metavar="CSV", help=_("id,x,y,capacity"))
        fca.add_argument(
            "--threshold",
            required=True,
            type=float,
            metavar="T",
            help=_("catchment: metres (or the unit of x/y for euclidean)"),
        )
        fca.add_argument("--metric", choices=accessibility.METRICS, default="euclidean")
        fca.add_argument("--decay", choices=accessibility.DECAYS, default=None)
        fca.add_argument("--method", choices=accessibility.METHODS, default=None)
        fca.add_argument(
            "--sigma",
            type=float,
            default=None,
            help=_("width of the Gaussian decay (default: half the threshold)"),
        )
        fca.add_argument("--beta", type=float, default=1.0, help=_("gravity exponent (default 1)"))
        fca.add_argument(
            "--min-cost",
            type=float,
            default=None,
            help=_("gravity: costs below this count as this (default: a tenth of the threshold)"),
        )
        report = verbs.add_parser("report", help=_("compute and keep a city access report"))
        report.add_argument("kind", choices=FacilityKind.values)
        report.add_argument("--method", choices=Method.values, default=Method.ENHANCED)
        report.add_argument("--decay", choices=Decay.values, default=Decay.GAUSSIAN)
        report.add_argument("--threshold", type=float, default=None, metavar="METRES")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "fca":
            self._fca(options)
        else:
            self._report(options)

    def _fca(self, options: dict[str, Any]) -> None:
        threshold = options["threshold"]
        if not (math.isfinite(threshold) and threshold > 0):
            raise CommandError(
                _("--threshold must be a positive number, not %(t)s") % {"t": threshold}
            )
        method = options["method"]
        decay = options["decay"]
        if method is None:
            method = "e2sfca" if decay else "2sfca"
        if decay and method != "e2sfca":
            raise CommandError(
                _("--decay applies to --method e2sfca only (the method given is %(m)s).")
                % {"m": method}
            )
        if method == "e2sfca":
            decay = decay or "step"
        for name in ("sigma", "min_cost"):
            value = options[name]
            if value is not None and not (math.isfinite(value) and value > 0):
                raise CommandError(
                    _("--%(name)s must be a positive number.") % {"name": name.replace("_", "-")}
                )
        if not (math.isfinite(options["beta"]) and options["beta"] >= 0):
            raise CommandError(_("--beta must be a number of 0 or more."))
        d_ids, d_xy, population = _read_points(options["demand"], "population", _("Demand"))
        s_ids, s_xy, capacity = _read_points(options["supply"], "capacity", _("Supply"))
        metric = options["metric"]
        if metric == "haversine":
            for label, xy in ((_("Demand"), d_xy), (_("Supply"), s_xy)):
                bad = (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
                if np.any(bad):
                    raise CommandError(
                        _(
                            "%(label)s point %(id)s: with --metric haversine, x is a longitude "
                            "(±180) and y a latitude (±90)."
                        )
                        % {
                            "label": label,
                            "id": (d_ids if label == _("Demand") else s_ids)[
                                int(np.flatnonzero(bad)[0])
                            ],
                        }
                    )
        try:
            reach = accessibility.reach_from_points(d_xy, s_xy, threshold, metric=metric)
            result = accessibility.accessibility(
                population,
                capacity,
                reach,
                method=method,
                decay=decay or "step",
                sigma=options["sigma"],
                beta=options["beta"],
                min_cost=options["min_cost"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        gini = inequality.gini(result.access, population) if population.sum() > 0 else math.nan
        unserved = [i for i, ok in zip(d_ids, result.in_reach, strict=True) if not ok]
        # What was computed, for a reader, on stderr: the last line of stdout is the contract.
        self.stderr.write(
            _(
                "%(method)s, %(metric)s, threshold %(t)s: %(d)d demand points, %(s)d supply "
                "points, %(p)d pairs in reach; %(u)d demand point(s) with nothing in reach "
                "(access 0)."
            )
            % {
                "method": method if method != "e2sfca" else f"e2sfca ({decay})",
                "metric": metric,
                "t": f"{threshold:g}",
                "d": len(d_ids),
                "s": len(s_ids),
                "p": reach.pairs,
                "u": len(unserved),
            }
        )
        out = {
            "access": {i: float(v) for i, v in zip(d_ids, result.access, strict=True)},
            "gini": _json_number(gini),
        }
        self.stdout.write(json.dumps(out, ensure_ascii=False, allow_nan=False))

    def _report(self, options: dict[str, Any]) -> None:
        kind = options["kind"]
        threshold = options["threshold"] or queries.THRESHOLD_M[kind]
        try:
            report = actions.run_access_report(
                actor=None,
                kind=kind,
                method=options["method"],
                decay=options["decay"],
                threshold=threshold,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            json.dumps(
                {"report": report.pk, "kind": kind, **report.summary},
                ensure_ascii=False,
                allow_nan=False,
            )
        )
