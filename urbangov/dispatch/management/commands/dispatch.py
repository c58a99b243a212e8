"""``urbangov dispatch``: evaluate a classifier on any labelled CSV, train the dispatcher on the
city's own resolved cases, and put versions in and out of service.

    urbangov dispatch evaluate --train FILE [--test FILE | --cv K] --text COL[,COL…] --label COL
    urbangov dispatch train [--limit N] [--holdout F] [--no-activate] [--reason TEXT]
    urbangov dispatch activate VERSION [--reason TEXT]
    urbangov dispatch rollback [--reason TEXT]
    urbangov dispatch versions
    urbangov dispatch export VERSION FILE
    urbangov dispatch import FILE [--activate] [--reason TEXT]
    urbangov dispatch run                       # decide the submitted cases now, once

``evaluate`` and ``train`` print progress on standard error and, as the last line of standard
output, one JSON object. Exit codes: 0 done; 2 bad input (a file, a column, a label, a text);
3 a model that is refused (corrupt, another format) or a version that cannot be put in
service. On any error nothing is registered or activated and the dispatcher in service is
unchanged.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from urbangov.algorithms import queries as register_queries
from urbangov.analytics import textclf
from urbangov.dispatch import actions, classifier, evaluation, training

BAD_INPUT = 2
REFUSED = 3


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=REFUSED)


def _messages(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Evaluate, train and manage the dispatcher's text classifier."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)

        ev = sub.add_parser("evaluate", help="measure a classifier on a labelled CSV")
        ev.add_argument("--train", required=True, type=Path, metavar="FILE")
        which = ev.add_mutually_exclusive_group(required=True)
        which.add_argument("--test", type=Path, metavar="FILE")
        which.add_argument("--cv", type=int, metavar="K")
        ev.add_argument("--text", required=True, metavar="COL[,COL…]")
        ev.add_argument("--label", required=True, metavar="COL")
        ev.add_argument("--seed", type=int, default=0)

        tr = sub.add_parser("train", help="train on this city's resolved cases")
        tr.add_argument("--limit", type=int, default=40_000, help="newest resolved cases taken")
        tr.add_argument("--holdout", type=float, default=0.2, help="newest share held out")
        tr.add_argument("--min-per-class", type=int, default=5)
        tr.add_argument("--no-activate", action="store_true", help="register only")
        tr.add_argument("--reason", default="", help="why (kept with the activation)")

        ac = sub.add_parser("activate", help="put a version in service")
        ac.add_argument("version")
        ac.add_argument("--reason", default="")

        rb = sub.add_parser("rollback", help="put the previous version back in service")
        rb.add_argument("--reason", default="")

        sub.add_parser("versions", help="list the versions")

        ex = sub.add_parser("export", help="write a version's model to a file")
        ex.add_argument("version")
        ex.add_argument("file", type=Path)

        im = sub.add_parser("import", help="register a model file as a new version")
        im.add_argument("file", type=Path)
        im.add_argument("--activate", action="store_true")
        im.add_argument("--reason", default="")

        sub.add_parser("run", help="decide the submitted cases now")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        getattr(self, f"_{verb}")(options)

    def _say(self, text: str) -> None:
        """Progress, on standard error (standard output ends with the JSON line)."""
        self.stderr.write(text)
        self.stderr.flush()

    def _json(self, data: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False))

    # --- evaluate -------------------------------------------------------------------------

    def _evaluate(self, options: dict[str, Any]) -> None:
        columns = [c.strip() for c in options["text"].split(",") if c.strip()]
        if not columns:
            raise _bad("--text names no column")
        try:
            train = evaluation.read(options["train"], columns, options["label"])
            evaluation.check_training(train, cv=options["cv"])
            test = None
            if options["test"] is not None:
                test = evaluation.read(options["test"], columns, options["label"])
                evaluation.check_test(train, test)
        except evaluation.BadInput as exc:
            raise _bad(str(exc)) from exc
        self._say(
            f"{len(train.labels):,} rows, {len(set(train.labels))} labels; loading the lexicon"
        )
        lexicon = classifier.lexicon()
        config = textclf.Config(seed=options["seed"])

        def trainer(titles: Any, texts: Any, labels: Any) -> textclf.Model:
            return textclf.fit(titles, texts, labels, config=config, lexicon=lexicon)

        started = time.monotonic()
        try:
            if test is not None:
                result = textclf.evaluate_split(
                    (train.titles, train.texts, train.labels),
                    (test.titles, test.texts, test.labels),
                    trainer,
                )
            else:
                self._say(f"{options['cv']}-fold cross-validation grouped by identical text")
                result = textclf.cross_validate(
                    train.titles, train.texts, train.labels, trainer, options["cv"], options["seed"]
                )
        except textclf.TextError as exc:
            raise _bad(f"row {exc.index + 2}: {exc}") from exc
        except ValueError as exc:
            raise _bad(str(exc)) from exc
        self._say(
            f"macro-F1 {result.scores.macro_f1:.4f}, accuracy {result.scores.accuracy:.4f}, "
            f"{time.monotonic() - started:.1f} s"
        )
        self._json(result.as_dict())

    # --- train ------------------------------------------------------------------------------

    def _train(self, options: dict[str, Any]) -> None:
        if not 0.05 <= options["holdout"] <= 0.5:
            raise _bad("--holdout is a share between 0.05 and 0.5")
        if options["limit"] < 20:
            raise _bad("--limit must be at least 20")
        try:
            version, result, activated = actions.train_version(
                actor=None,
                limit=options["limit"],
                holdout=options["holdout"],
                min_per_class=options["min_per_class"],
                activate_if_better=not options["no_activate"],
                reason=options["reason"],
                say=self._say,
            )
        except training.NotEnough as exc:
            raise _bad(str(exc)) from exc
        except ValidationError as exc:
            raise _refused(_messages(exc)) from exc
        if not result.better:
            self._say(
                f"version {version.version} registered but NOT activated: it is worse than "
                f"version {result.active_version} on the held-out cases"
            )
        else:
            self._say(
                f"version {version.version} registered"
                + (" and activated" if activated else " (not activated: --no-activate)")
            )
        self._json(
            {
                "version": version.version,
                "activated": activated,
                "at_least_as_good": result.better,
                "compared_with": result.active_version,
                "holdout": result.candidate.as_dict(),
                "in_service_on_holdout": result.active.as_dict() if result.active else None,
                "n_train": result.n_train,
                "n_holdout": result.n_holdout,
                "n_refit": result.trained_on["n"],
                "dropped_rare_categories": result.dropped,
                "seconds": round(result.seconds, 1),
                "sha256": version.artefact_sha256,
            }
        )

    # --- versions -------------------------------------------------------------------------------

    def _version(self, label: str) -> Any:
        found = register_queries.version(classifier.ALGORITHM, label)
        if found is None:
            known = ", ".join(v.version for v in register_queries.versions(classifier.ALGORITHM))
            raise _bad(f"no dispatch version {label!r}; the versions are: {known or 'none'}")
        return found

    def _activate(self, options: dict[str, Any]) -> None:
        version = self._version(options["version"])
        try:
            actions.activate(actor=None, version=version, reason=options["reason"])
        except ValidationError as exc:
            raise _refused(_messages(exc)) from exc
        self.stdout.write(f"version {version.version} is in service")

    def _rollback(self, options: dict[str, Any]) -> None:
        try:
            activation = actions.rollback(actor=None, reason=options["reason"])
        except ValidationError as exc:
            raise _refused(_messages(exc)) from exc
        self.stdout.write(
            f"version {activation.version.version} is in service again "
            f"(was {activation.previous.version if activation.previous else 'none'})"
        )

    def _versions(self, options: dict[str, Any]) -> None:
        algorithm = register_queries.algorithm(classifier.ALGORITHM)
        active = algorithm.active_version_id if algorithm else None
        rows = register_queries.versions(classifier.ALGORITHM)
        if not rows:
            self.stdout.write("no versions yet; run `urbangov dispatch train`")
            return
        for v in rows:
            holdout = (v.metrics or {}).get("holdout") or {}
            self.stdout.write(
                f"{'*' if v.pk == active else ' '} {v.version:>4}  {v.created_at:%Y-%m-%d %H:%M}  "
                f"{v.artefact_format or '-':<22} n={(v.trained_on or {}).get('n', '-')}  "
                f"macro-F1={holdout.get('macro_f1', '-')}  unit={holdout.get('unit_accuracy', '-')}"
            )

    def _export(self, options: dict[str, Any]) -> None:
        version = self._version(options["version"])
        from urbangov.algorithms.actions import artefact_bytes

        try:
            data = artefact_bytes(version)
        except ValidationError as exc:
            raise _refused(_messages(exc)) from exc
        try:
            options["file"].write_bytes(data)
        except OSError as exc:
            raise _bad(f"{options['file']}: cannot be written: {exc.strerror}") from exc
        self.stdout.write(
            f"version {version.version} written to {options['file']} ({len(data):,} bytes)"
        )

    def _import(self, options: dict[str, Any]) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _bad(f"{path}: cannot be read: {exc.strerror}") from exc
        try:
            model = textclf.Model.from_bytes(data)
        except textclf.ModelFormatError as exc:
            raise _refused(f"{path}: {exc}") from exc
        from urbangov.dispatch import routing

        table = routing.current()
        unknown = [c for c in model.classes if c not in table.category_by_code]
        if unknown:
            raise _refused(
                f"{path}: the model's categories are not this city's: "
                + ", ".join(repr(u) for u in unknown[:10])
            )
        try:
            with transaction.atomic():
                version = actions.register_model(
                    actor=None,
                    artefact=data,
                    trained_on={"source": f"imported from {path.name}", **model.info},
                    metrics={},
                    notes=f"imported from {path.name}",
                )
                if options["activate"]:
                    actions.activate(
                        actor=None, version=version, reason=options["reason"] or "imported"
                    )
        except ValidationError as exc:
            raise _refused(_messages(exc)) from exc
        self.stdout.write(
            f"registered version {version.version}"
            + (" and activated it" if options["activate"] else "")
        )

    def _run(self, options: dict[str, Any]) -> None:
        total = 0
        while True:
            done = actions.dispatch_submitted()
            total += done
            if done == 0:
                break
        self.stdout.write(f"{total} cases decided")
