"""``urbangov opendata publish [--k K] [--epsilon E]``: publish the aggregated open data."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from urbangov.privacy.actions import publish_open_data
from urbangov.privacy.management.commands._common import fail


class Command(BaseCommand):
    help = (
        "Publish counts of cases by area level, category and month, with small cells and "
        "what subtraction would reveal suppressed (and optional noise); see /open-data/."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        publish = sub.add_parser("publish", help="publish now (nothing new: nothing written)")
        publish.add_argument("--k", type=int, help="smallest published count (default 10)")
        publish.add_argument(
            "--epsilon", type=float, help="add two-sided geometric noise of this epsilon"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        k = options["k"]
        if k is not None and k < 2:
            raise fail("--k must be at least 2: a count of one is a person.")
        epsilon = options["epsilon"]
        if epsilon is not None and not (0 < epsilon < float("inf")):
            raise fail("--epsilon must be a positive number.")
        releases = publish_open_data(k=k, epsilon=epsilon)
        for release in releases:
            self.stdout.write(
                json.dumps(
                    {
                        "dataset": release.dataset,
                        "level": release.level,
                        "batch": release.batch,
                        "cells": release.cells,
                        "suppressed": release.suppressed,
                        "k": release.k,
                        "epsilon": release.epsilon,
                        "sha256": release.digest,
                    }
                )
            )
