"""Aggregated counts that single out no one: small-cell suppression over an area hierarchy,
and calibrated noise for counts.

Counts of cases by area, category and month are published at several area levels (district,
street, community) at once. Suppressing every cell under ``k`` is not enough: a suppressed
cell can be recovered by subtraction from its parent (the parent's count minus its
published children) — and the city's total for a category and month is assumed known. So:

1. **Primary**: a cell with fewer than ``k`` cases is suppressed.
2. **Secondary**: under every published parent, what subtraction reveals — the parent minus
   its published children, i.e. the suppressed children together with the cases located at
   the parent but in none of its children — must be 0 or at least ``k``; otherwise the
   smallest published children are suppressed too until it is.
3. **Inheritance**: the children of a suppressed cell are all suppressed (a published child
   under a hidden parent would open the parent to subtraction).

Every group (a category and month) is protected on its own; no marginal over categories or
months is published. Noise, when asked for, comes from the two-sided geometric mechanism
(the discrete Laplace): P(Z = z) ∝ exp(-ε|z|), ε-differentially private for one count under
the addition or removal of one case. It is drawn from a keyed hash of the cell, so that asking
again gives the same value and noise cannot be averaged away by repeated downloads.

Pure Python over plain tuples: no Django, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

Path = tuple[str, ...]


@dataclass(frozen=True)
class Cell:
    """One area (a path of codes from the top level down) in one group, with its count."""

    path: Path
    group: Hashable
    count: int
    suppressed: bool
    # Why it is suppressed: "primary" (< k), "secondary" (to protect a sibling), "inherited"
    # (its parent is suppressed); empty when published.
    reason: str = ""


def _totals(
    leaves: Iterable[tuple[Path, Hashable, int]], depth: int
) -> tuple[dict[tuple[Hashable, Path], int], dict[Hashable, int]]:
    """Counts of every area path down to ``depth``, and each group's total (the root)."""
    totals: dict[tuple[Hashable, Path], int] = defaultdict(int)
    roots: dict[Hashable, int] = defaultdict(int)
    for path, group, count in leaves:
        if count < 0:
            raise ValueError(f"a count cannot be negative: {path} {group!r} {count}")
        if count == 0:
            continue
        roots[group] += count
        for d in range(1, min(len(path), depth) + 1):
            totals[(group, path[:d])] += count
    return totals, roots


def protect(
    leaves: Iterable[tuple[Path, Hashable, int]], *, k: int, depth: int
) -> dict[tuple[Hashable, Path], Cell]:
    """Suppress cells so that no count under ``k`` is published or derivable by subtraction.

    ``leaves`` are (area path, group, count) for the finest areas known, at any depth (a case
    located only to a district has a one-code path). Cells are made for every prefix of the
    paths down to ``depth``. Returns every non-empty cell, published or suppressed, keyed by
    (group, path). ``k`` ≤ 1 suppresses nothing."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    totals, roots = _totals(leaves, depth)
    children: dict[tuple[Hashable, Path], list[Path]] = defaultdict(list)
    for group, path in totals:
        children[(group, path[:-1])].append(path)
    cells: dict[tuple[Hashable, Path], Cell] = {}

    def visit(group: Hashable, parent: Path, parent_count: int, parent_hidden: bool) -> None:
        kids = sorted(children.get((group, parent), []))
        if not kids:
            return
        counts = {p: totals[(group, p)] for p in kids}
        status: dict[Path, str] = {}
        if parent_hidden:
            status = dict.fromkeys(kids, "inherited")
        else:
            status = {p: "primary" for p in kids if counts[p] < k}
            # Cases located at the parent itself and in none of its children are as hidden
            # as a suppressed child: subtraction reveals them together.
            remainder = parent_count - sum(counts.values())
            hidden = remainder + sum(counts[p] for p in status)
            shown = sorted((p for p in kids if p not in status), key=lambda p: (counts[p], p))
            while 0 < hidden < k and shown:
                extra = shown.pop(0)
                status[extra] = "secondary"
                hidden += counts[extra]
        for p in kids:
            reason = status.get(p, "")
            cells[(group, p)] = Cell(p, group, counts[p], bool(reason), reason)
            if len(p) < depth:
                visit(group, p, counts[p], bool(reason))

    for group, total in roots.items():
        # The city's own total for a group is treated as public: it is what every other
        # publication (a yearbook, a press release) gives first.
        visit(group, (), total, False)
    return cells


def geometric_alpha(epsilon: float) -> float:
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError(f"epsilon must be a positive number, not {epsilon!r}")
    return math.exp(-epsilon)


def noise_sd(epsilon: float) -> float:
    """Standard deviation of the two-sided geometric noise for ``epsilon``: √(2α)/(1−α)."""
    alpha = geometric_alpha(epsilon)
    return math.sqrt(2 * alpha) / (1 - alpha)


def _uniform(key: bytes, label: str, i: int) -> float:
    """A number in (0, 1) from HMAC-SHA256(key, label:i): deterministic, unpredictable
    without the key."""
    mac = hmac.new(key, f"{label}:{i}".encode(), hashlib.sha256).digest()
    return (int.from_bytes(mac[:7], "big") + 0.5) / 2**56


def geometric_noise(epsilon: float, *, key: bytes, label: str) -> int:
    """Two-sided geometric noise Z with P(Z = z) = (1−α)/(1+α) · α^|z|, α = e^(−ε), drawn
    from the keyed hash of ``label`` (same key and label: same noise)."""
    alpha = geometric_alpha(epsilon)
    # The difference of two i.i.d. geometric variables (failures before the first success,
    # success probability 1−α) has exactly this distribution. Inverse CDF of each.
    log_alpha = math.log(alpha)
    g1 = math.floor(math.log(_uniform(key, label, 1)) / log_alpha)
    g2 = math.floor(math.log(_uniform(key, label, 2)) / log_alpha)
    return g1 - g2


def noisy(count: int, epsilon: float, *, key: bytes, label: str) -> int:
    """``count`` plus its noise, never below zero."""
    return max(0, count + geometric_noise(epsilon, key=key, label=label))


def published(cells: Mapping[tuple[Hashable, Path], Cell], depth: int) -> list[Cell]:
    """The cells of one level (``depth`` codes), sorted by path and group."""
    return sorted(
        (c for c in cells.values() if len(c.path) == depth),
        key=lambda c: (c.path, str(c.group)),
    )
