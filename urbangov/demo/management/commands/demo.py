"""``urbangov demo``: migrate, build the Demo City, print the accounts, and serve it."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov.demo import actions, generator
from urbangov.demo.queries import contents, last_build

DEFAULT_CASES = 100_000
DEFAULT_SEED = 12345
MAX_CASES = 2_000_000
# Resolved cases the demo's dispatcher learns from (the demo's texts need few; more costs
# time at start-up).
DISPATCH_TRAINING_CASES = 4000


def _anchor(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a date in the form YYYY-MM-DD") % {"value": value}
        ) from None


HELP = (
    "Build the Demo City — a synthetic city with a year of residents' requests — and serve "
    "it on http://127.0.0.1:PORT. Run again on the same data directory to serve it again."
)


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.description = _(HELP)  # translated when asked for, not at import
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--cases",
            type=int,
            default=DEFAULT_CASES,
            metavar="N",
            help=_("how many cases to generate (default %(default)s)"),
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            metavar="S",
            help=_("random seed: the same seed builds the same city"),
        )
        parser.add_argument(
            "--port",
            type=int,
            default=8000,
            metavar="P",
            help=_("port to serve on (default %(default)s)"),
        )
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help=_("build and print the accounts, but do not serve"),
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=_("empty the whole demo database (everything in it) and build the demo again"),
        )
        # The day the year of cases ends (at its start); today by default. For tests.
        parser.add_argument("--today", type=_anchor, default=None, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        count, seed, port = options["cases"], options["seed"], options["port"]
        serve = not options["no_serve"]
        if not 0 <= count <= MAX_CASES:
            raise CommandError(
                _("--cases must be between 0 and %(max)d, not %(n)d")
                % {"max": MAX_CASES, "n": count}
            )
        if not 1 <= port <= 65535:
            raise CommandError(_("--port must be between 1 and 65535, not %(n)d") % {"n": port})
        if serve:
            self._check_port(port)
        started = time.monotonic()
        anchor = options["today"] or timezone.localdate()
        end = generator.end_of_history(anchor, timezone.get_default_timezone())

        self._steps = 0
        self._step(_("Migrating the database"))
        t = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        self._done(t)

        found = contents()
        built: tuple[actions.Account, ...] | None = None
        if found.demo and not options["reset"]:
            build = last_build()
            self.stdout.write(
                _(
                    "The Demo City is already in this database (%(cases)s cases%(seed)s); not "
                    "building it again. Use --reset to build it from scratch."
                )
                % {
                    "cases": f"{found.cases:,}",
                    "seed": _(", seed %(seed)s") % {"seed": build.data.get("seed")}
                    if build is not None
                    else "",
                }
            )
        else:
            if options["reset"] and not (found.empty() and not found.users):
                self._step(_("Emptying the demo database (--reset)"))
                t = time.monotonic()
                try:
                    actions.wipe_demo(actor=None)
                except ValidationError as exc:
                    raise CommandError(" ".join(exc.messages)) from exc
                self._done(t)
            built = self._build(seed=seed, count=count, end=end)
        self._train_dispatcher()
        self._print_accounts(built)
        self.stdout.write(_("Ready in %(seconds).1f s.") % {"seconds": time.monotonic() - started})
        if serve:
            self._serve(port)

    # --- steps ---------------------------------------------------------------------------------

    def _step(self, text: str) -> None:
        self._steps += 1
        self.stdout.write(f"[{self._steps}] {text}…")
        self.stdout.flush()

    def _done(self, since: float) -> None:
        self.stdout.write(_("      done in %(s).1f s") % {"s": time.monotonic() - since})

    def _build(self, *, seed: int, count: int, end: Any) -> tuple[actions.Account, ...]:
        self._step(_("Drawing the city (seed %(seed)d)") % {"seed": seed})
        t = time.monotonic()
        city = generator.build_city(seed)
        self._done(t)
        self._step(
            _("Writing the city and %(n)s cases up to %(end)s")
            % {"n": f"{count:,}", "end": end.strftime("%Y-%m-%d %H:%M")}
        )
        t = time.monotonic()
        step = max(count // 10, 1000)
        shown = [0]

        def progress(done: int) -> None:
            if done > shown[0] and (done - shown[0] >= step or done == count):
                shown[0] = done
                pct = 100 * done / count if count else 100
                self.stdout.write(
                    f"      {done:>9,} / {count:,} ({pct:3.0f}%)  {time.monotonic() - t:6.1f} s"
                )
                self.stdout.flush()

        try:
            result = actions.build_demo(
                actor=None, seed=seed, count=count, end=end, progress=progress, city=city
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self._done(t)
        levels = result.areas
        self.stdout.write(
            _(
                "Built: %(districts)d districts, %(streets)d streets, %(communities)d "
                "communities, %(grids)d grid cells; %(units)d units, %(categories)d categories, "
                "%(facilities)d facilities; %(cases)s cases (%(open)s open, %(overdue)s overdue)."
            )
            % {
                "districts": levels["district"],
                "streets": levels["street"],
                "communities": levels["community"],
                "grids": levels["grid"],
                "units": result.units,
                "categories": result.categories,
                "facilities": result.facilities,
                "cases": f"{result.cases:,}",
                "open": f"{sum(result.statuses[s] for s in generator.OPEN):,}",
                "overdue": f"{result.overdue:,}",
            }
        )
        return result.accounts

    def _train_dispatcher(self) -> None:
        """Train the dispatcher on the demo's newest resolved cases, once (a later run keeps
        the model in service); a few thousand cases suffice for the demo's texts."""
        from urbangov.dispatch import actions as dispatch
        from urbangov.dispatch import classifier, training

        if classifier.current() is not None:
            return
        self._step(
            _("Training the dispatcher on the newest %(n)s resolved cases")
            % {"n": f"{DISPATCH_TRAINING_CASES:,}"}
        )
        t = time.monotonic()
        try:
            version, result, _activated = dispatch.train_version(
                actor=None, limit=DISPATCH_TRAINING_CASES, reason="urbangov demo"
            )
        except training.NotEnough:
            self.stdout.write(_("      too few resolved cases to learn from; skipped"))
            return
        self._done(t)
        actions.register_dispatcher(actor=None)
        self.stdout.write(
            _(
                "Dispatcher version %(v)s in service: on the newest %(n)s held-out cases, "
                "category macro-F1 %(f1).3f, right unit %(unit).1f%%."
            )
            % {
                "v": version.version,
                "n": f"{result.n_holdout:,}",
                "f1": result.candidate.macro_f1,
                "unit": 100 * result.candidate.unit_accuracy,
            }
        )

    def _print_accounts(self, built: tuple[actions.Account, ...] | None) -> None:
        # Just built: the passwords are the ones set. Otherwise check each still works.
        found = [(a, True) for a in built] if built is not None else actions.accounts()
        if not found:
            self.stdout.write(_("No demo accounts found in this database."))
            return
        self.stdout.write(_("Demo accounts (username, password, role @ unit):"))
        for line, (_account, works) in zip(
            actions.describe([account for account, _works in found]), found, strict=True
        ):
            note = "" if works else "  " + _("(password changed since the demo set it)")
            self.stdout.write(line + note)

    # --- serving -------------------------------------------------------------------------------

    def _check_port(self, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as exc:
                raise CommandError(
                    _("Port %(port)d on 127.0.0.1 is not free (%(error)s); pass --port.")
                    % {"port": port, "error": exc.strerror}
                ) from exc

    def _serve(self, port: int) -> None:
        from urbangov import runtime

        connections.close_all()
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "urbangov.settings")
        env.setdefault("URBANGOV_DATA_DIR", str(settings.DATA_DIR))
        worker = subprocess.Popen([sys.executable, "-m", "urbangov.cli", "worker"], env=env)
        self.stdout.write(
            _("Background worker started (pid %(pid)d). Press Ctrl+C to stop.")
            % {"pid": worker.pid}
        )
        master = os.getpid()
        try:
            runtime.serve(["--bind", f"127.0.0.1:{port}"])
        finally:
            # gunicorn's web workers are forked from here and unwind through this block when
            # they exit; only the process that started the task worker stops it.
            if os.getpid() == master and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
