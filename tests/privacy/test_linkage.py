"""A linkage attack on the Demo City's open data: an attacker who knows where, in what
category and in which month a neighbour reported a problem — and the city's own totals —
downloads every published file and tries to single that resident out.

Three attacks, each against the files as downloaded:
1. look the neighbour's cell up at every area level: it must be hidden or hold ≥ k requests;
2. subtract: under every published area (and the city's total), the parent minus its
   published children must be 0 or ≥ k;
3. solve: the linear system of everything published (and the hierarchy) must not determine
   any hidden cell (its null space touches every one).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.analytics.test_anonymize import _attack
from urbangov.analytics.anonymize import Cell
from urbangov.cases.models import Case
from urbangov.demo import actions as demo
from urbangov.demo import generator
from urbangov.org import geo
from urbangov.privacy.actions import publish_open_data

K = 10
LEVELS = {"district": 1, "street": 2, "community": 3}


@pytest.fixture(scope="module")
def published(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The Demo City (6,000 cases) published once for the module, rolled back at the end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            end = generator.end_of_history(date(2025, 6, 1), timezone.get_default_timezone())
            demo.build_demo(actor=None, seed=5, count=6000, end=end)
            publish_open_data(k=K, now=end + timedelta(days=1))
            client = Client()
            files = {}
            for level in LEVELS:
                url = reverse("privacy:open_data_file", args=["cases", level, "csv"])
                text = client.get(url).content.decode("utf-8-sig")
                files[level] = list(csv.DictReader(io.StringIO(text)))
            targets = []
            for (
                path,
                category,
                parent,
                reported,
                reported_parent,
                created,
            ) in Case.objects.values_list(
                "area__path",
                "category__code",
                "category__parent__code",
                "reported_category__code",
                "reported_category__parent__code",
                "created_at",
            ):
                codes = tuple(path.strip("/").split("/")[1:]) if path else ()
                top = parent or category or reported_parent or reported or ""
                month = timezone.localtime(created).strftime("%Y-%m")
                targets.append((codes, top, month))
            yield {"files": files, "targets": targets}
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            geo.invalidate()


@pytest.mark.django_db
def test_the_files_publish_something_and_hide_something(published: dict[str, Any]) -> None:
    district = published["files"]["district"]
    shown = [r for r in district if r["cases"]]
    hidden = [r for r in district if not r["cases"]]
    assert shown and hidden
    assert all(int(r["cases"]) >= K for r in shown)


@pytest.mark.django_db
def test_no_neighbour_is_found_in_a_group_smaller_than_k(published: dict[str, Any]) -> None:
    tables = {
        level: {(r["area"], r["category"], r["month"]): r["cases"] for r in rows}
        for level, rows in published["files"].items()
    }
    looked_up = 0
    for codes, category, month in published["targets"]:
        for level, depth in LEVELS.items():
            if len(codes) < depth:
                continue
            value = tables[level].get((codes[depth - 1], category, month))
            assert value is not None, "every located case is in a cell of every level"
            assert value == "" or int(value) >= K
            looked_up += 1
    assert looked_up > 6000


@pytest.mark.django_db
def test_subtraction_and_solving_reveal_no_small_count(published: dict[str, Any]) -> None:
    # The attacker rebuilds the area tree from the files (parent_area) and takes the city's
    # totals per category and month as known (they are, in any yearbook).
    parent_of: dict[tuple[int, str], str] = {}
    for level, depth in LEVELS.items():
        for row in published["files"][level]:
            parent_of[(depth, row["area"])] = row["parent_area"]

    def path(depth: int, code: str) -> tuple[str, ...]:
        out = [code]
        while depth > 1:
            code = parent_of[(depth, code)]
            depth -= 1
            out.append(code)
        return tuple(reversed(out))

    cells: dict[tuple[Any, tuple[str, ...]], Cell] = {}
    for level, depth in LEVELS.items():
        for row in published["files"][level]:
            group = (row["category"], row["month"])
            p = path(depth, row["area"])
            count = int(row["cases"]) if row["cases"] else 0
            cells[(group, p)] = Cell(
                p, group, count, not row["cases"], "?" if not row["cases"] else ""
            )
    totals: Counter[tuple[str, str]] = Counter((c, m) for _codes, c, m in published["targets"])
    # _attack reads the public group totals from the leaves it is given: give it the city's
    # totals as one leaf per group at the root.
    by_group: dict[Any, int] = defaultdict(int)
    for group, n in totals.items():
        by_group[group] += n
    leaves = [((), group, n) for group, n in by_group.items()]
    _attack(leaves, cells, depth=3, k=K)
