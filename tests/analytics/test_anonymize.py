"""Small-cell suppression over an area hierarchy, and the geometric noise: hand-computed cases,
the noise's distribution against its formula, and an independent check (linear algebra over
everything an attacker knows) that no suppressed cell can be worked out."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from urbangov.analytics import anonymize as an

G = "g"


def _status(cells: dict, path: tuple[str, ...]) -> str:
    cell = cells[(G, path)]
    return cell.reason or "published"


def test_hand_computed_primary_and_secondary() -> None:
    # k = 3. A = 11 (A1 5, A2 2, A3 4); B = 3 (B1 1, B2 1, and 1 case located at B only).
    leaves = [
        (("A", "A1"), G, 5),
        (("A", "A2"), G, 2),
        (("A", "A3"), G, 4),
        (("B", "B1"), G, 1),
        (("B", "B2"), G, 1),
        (("B",), G, 1),
    ]
    cells = an.protect(leaves, k=3, depth=2)
    assert cells[(G, ("A",))].count == 11 and _status(cells, ("A",)) == "published"
    assert cells[(G, ("B",))].count == 3 and _status(cells, ("B",)) == "published"
    # Under A: A2 < 3 is suppressed; A minus the others would give it away, so the smallest
    # published sibling (A3, 4) goes too; together they hide 6 ≥ 3.
    assert _status(cells, ("A", "A1")) == "published"
    assert _status(cells, ("A", "A2")) == "primary"
    assert _status(cells, ("A", "A3")) == "secondary"
    # Under B: both children < 3; with the case at B itself, subtraction gives 3 ≥ 3.
    assert _status(cells, ("B", "B1")) == _status(cells, ("B", "B2")) == "primary"
    assert len(cells) == 7


def test_cases_located_at_the_parent_count_as_hidden() -> None:
    # A = 10: A1 5, A2 4 and one case located at A only. Publishing both children would
    # reveal that one case (10 - 5 - 4), so the smaller child is suppressed.
    cells = an.protect([(("A", "A1"), G, 5), (("A", "A2"), G, 4), (("A",), G, 1)], k=3, depth=2)
    assert _status(cells, ("A", "A1")) == "published"
    assert _status(cells, ("A", "A2")) == "secondary"


def test_children_of_a_suppressed_cell_are_suppressed() -> None:
    leaves = [(("A", "A1"), G, 1), (("A", "A2"), G, 1), (("B", "B1"), G, 10)]
    cells = an.protect(leaves, k=3, depth=2)
    # A (2) is small; the city total is public, so B is suppressed too, then everything below.
    assert _status(cells, ("A",)) == "primary"
    assert _status(cells, ("B",)) == "secondary"
    assert {_status(cells, p) for p in [("A", "A1"), ("A", "A2"), ("B", "B1")]} == {"inherited"}


def test_groups_are_independent_and_deeper_paths_are_cut_at_depth() -> None:
    leaves = [
        (("A", "A1", "x"), ("water", "2026-01"), 12),
        (("A", "A1", "y"), ("water", "2026-01"), 3),
        (("A", "A1"), ("noise", "2026-01"), 2),
    ]
    cells = an.protect(leaves, k=10, depth=2)
    assert cells[(("water", "2026-01"), ("A", "A1"))].count == 15
    assert not cells[(("water", "2026-01"), ("A", "A1"))].suppressed
    assert cells[(("noise", "2026-01"), ("A",))].suppressed
    assert all(len(path) <= 2 for _group, path in cells)


def test_k_one_suppresses_nothing_and_bad_input_is_refused() -> None:
    cells = an.protect([(("A", "A1"), G, 1), (("B",), G, 2)], k=1, depth=2)
    assert not any(c.suppressed for c in cells.values())
    with pytest.raises(ValueError, match="negative"):
        an.protect([(("A",), G, -1)], k=3, depth=1)
    with pytest.raises(ValueError, match="depth"):
        an.protect([], k=3, depth=0)


# --- an independent check: what can an attacker work out? -----------------------------------


def _attack(
    leaves: list[tuple[tuple[str, ...], str, int]], cells: dict, depth: int, k: int
) -> None:
    """For every group, build the linear system an attacker has — the published counts, the
    public group total, and parent = children + cases located at the parent (those remainders
    unknown) — and check through its null space that no suppressed cell is determined; and
    that under every published parent, what subtraction reveals is 0 or at least k."""
    groups = {g for _p, g, _n in leaves}
    for group in groups:
        nodes = sorted({p for (g, p) in cells if g == group}, key=lambda p: (len(p), p))
        index = {p: i for i, p in enumerate([(), *nodes])}
        parents = [p for p in index if any(len(q) == len(p) + 1 and q[:-1] == p for q in index)]
        remainder = {p: len(index) + i for i, p in enumerate(parents)}
        width = len(index) + len(remainder)
        rows, values = [], []
        for p in parents:
            row = np.zeros(width)
            row[index[p]] = 1
            row[remainder[p]] = -1
            for q in index:
                if len(q) == len(p) + 1 and q[:-1] == p:
                    row[index[q]] = -1
            rows.append(row)
            values.append(0)
        total = sum(n for _p, g, n in leaves if g == group)
        known = {(): total} | {
            p: cells[(group, p)].count for p in nodes if not cells[(group, p)].suppressed
        }
        for p, value in known.items():
            row = np.zeros(width)
            row[index[p]] = 1
            rows.append(row)
            values.append(value)
        matrix = np.array(rows)
        _u, s, vt = np.linalg.svd(matrix)
        rank = int((s > 1e-9).sum())
        null = vt[rank:]
        for p in nodes:
            if cells[(group, p)].suppressed:
                assert null.shape[0] and np.abs(null[:, index[p]]).max() > 1e-9, (
                    f"suppressed cell {p} of {group} is determined by the published ones"
                )
        for p in [(), *nodes]:
            if p != () and cells[(group, p)].suppressed:
                continue
            kids = [q for q in nodes if len(q) == len(p) + 1 and q[:-1] == p]
            if not kids or len(p) >= depth:
                continue
            parent = total if p == () else cells[(group, p)].count
            revealed = parent - sum(
                cells[(group, q)].count for q in kids if not cells[(group, q)].suppressed
            )
            if 0 < revealed < k:
                # Only where the city's own total is below k, and then everything is hidden:
                # the attacker learns nothing beyond the total they already knew.
                assert p == () and parent < k, (group, p, revealed)
                assert all(cells[(group, q)].suppressed for q in kids)


@pytest.mark.parametrize("seed", range(12))
def test_no_suppressed_cell_can_be_worked_out(seed: int) -> None:
    rnd = random.Random(seed)
    leaves = []
    for d in range(rnd.randint(2, 5)):
        for s in range(rnd.randint(1, 4)):
            for c in range(rnd.randint(1, 4)):
                for g in ("x", "y"):
                    n = rnd.choice([0, 1, 1, 2, 3, 5, 8, 13, 30])
                    leaves.append(((f"D{d}", f"D{d}S{s}", f"D{d}S{s}C{c}"), g, n))
            if rnd.random() < 0.4:
                leaves.append(((f"D{d}", f"D{d}S{s}"), "x", rnd.randint(1, 4)))
    cells = an.protect(leaves, k=10, depth=3)
    assert any(c.suppressed for c in cells.values())
    for cell in cells.values():
        assert cell.suppressed or cell.count >= 10
    _attack(leaves, cells, depth=3, k=10)


# --- noise -----------------------------------------------------------------------------------


def test_noise_follows_the_two_sided_geometric_distribution() -> None:
    epsilon = 0.7
    alpha = math.exp(-epsilon)
    n = 20_000
    draws = [an.geometric_noise(epsilon, key=b"k", label=f"cell-{i}") for i in range(n)]
    mean = sum(draws) / n
    variance = sum(d * d for d in draws) / n - mean**2
    expected_variance = 2 * alpha / (1 - alpha) ** 2  # the distribution's, by hand
    assert abs(mean) < 4 * math.sqrt(expected_variance / n)
    assert abs(variance - expected_variance) / expected_variance < 0.06
    assert an.noise_sd(epsilon) == pytest.approx(math.sqrt(expected_variance))
    counts = Counter(draws)
    for z in (-2, -1, 0, 1, 2):
        pmf = (1 - alpha) / (1 + alpha) * alpha ** abs(z)
        assert abs(counts[z] / n - pmf) < 4 * math.sqrt(pmf * (1 - pmf) / n)


def test_noise_is_fixed_per_cell_and_key() -> None:
    first = [an.geometric_noise(0.5, key=b"city", label=f"c{i}") for i in range(50)]
    again = [an.geometric_noise(0.5, key=b"city", label=f"c{i}") for i in range(50)]
    other = [an.geometric_noise(0.5, key=b"another", label=f"c{i}") for i in range(50)]
    assert first == again and first != other
    assert an.noisy(0, 0.5, key=b"city", label="x") >= 0
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="epsilon"):
            an.geometric_noise(bad, key=b"k", label="x")
