"""Hot-spots and early warning: which problems many residents raise at once, and which
categories in which areas leave their usual weekly volume.

- :func:`text_features` turns texts (Chinese, English or mixed) into L2-normalised TF-IDF
  vectors of hashed character bigrams (trigrams on request). Character n-grams need no word
  segmentation, so a place name such as 丽发新城 matches wherever it is written, and they
  are computed with numpy over all texts at once (a year of a city's cases in seconds).
  The default scikit-learn word tokenizer would take a whole Chinese clause as one token.
- :func:`detect` links items that are close in text (cosine similarity), time (a window) and
  place (a radius and/or a blocking group such as the street and category), forms clusters
  around the best-connected items (star clustering, which does not chain unrelated items
  together the way single linkage does), joins clusters of one problem that recur beyond the
  window, and ranks them by a heat index (see :class:`HeatWeights`).
- :func:`weekly_alerts` compares one week of counts per series (a category in an area) with
  its expected band: the same weeks of earlier years when there is a year of history (a
  seasonal baseline, as Farrington's method does), else the trailing weeks.

Definitions and their reasons: ``docs/supervision.md``. Pure numpy/scipy: no Django, no I/O.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse, stats

DAY = 86400.0

# --- text features -------------------------------------------------------------------------

# Everything that is not a letter or a digit separates n-grams; runs of five or more digits
# (phone numbers, ids, masked numbers) carry no meaning about the problem. :func:`_clean`
# says it with regular expressions; :func:`_chunk_counts` does the same on code points with
# numpy (a table of each character's class), so that the work releases the GIL.
_NOT_WORD = re.compile(r"[^\w\x00]+|_+")
_LONG_NUMBER = re.compile(r"\d{5,}")
_SEP = "\x00"
_PRIMES = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B1))


# Full-width letters, digits and signs (Ａ３区, ！) as their ASCII forms, and the ideographic
# space as a space: what NFKC does to such text, at a fraction of its cost on long text.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def _clean(text: str) -> str:
    """The text as n-grams see it: a space wherever :func:`_chunk_counts` breaks them."""
    text = (text or "").translate(_FULL_WIDTH).lower()
    return _NOT_WORD.sub(" ", _LONG_NUMBER.sub(" ", text))


# Each code point's class, learnt from the regular expressions above the first time it is
# seen: 0 breaks n-grams (what _NOT_WORD replaces), 1 a letter, 2 a digit (\d). Threads
# that learn the same character at once write the same value.
_UNSEEN = 255
_CLASSES = np.full(0x110000, _UNSEEN, dtype=np.uint8)
_WORD_CHAR = re.compile(r"[^\W_]")
_DIGIT_CHAR = re.compile(r"\d")


def _char_classes(codes: NDArray[np.uint32]) -> NDArray[np.uint8]:
    cls = _CLASSES[codes]
    unseen = cls == _UNSEEN
    if unseen.any():
        for code in np.unique(codes[unseen]).tolist():
            ch = chr(code)
            _CLASSES[code] = 2 if _DIGIT_CHAR.match(ch) else 1 if _WORD_CHAR.match(ch) else 0
        cls = _CLASSES[codes]
    return cls


def _unique_counts(a: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Sorted distinct values and how often each occurs (a sort, not numpy 2's hash-based
    ``unique``, which is far slower on these keys)."""
    a = np.sort(a)
    if len(a) == 0:
        return a, np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    return a[starts], np.diff(np.r_[starts, len(a)]).astype(np.int64)


def _chunk_counts(
    texts: Sequence[str], n_features: int, ngrams: tuple[int, ...]
) -> sparse.csr_matrix:
    """How often each hashed n-gram (column) occurs in each text (row): the n-grams of
    :func:`_clean`'s text, never spanning a separator, computed with numpy over the whole
    chunk at once; canonical CSR (sorted columns, no duplicates), int32 counts."""
    mask = np.uint64(n_features - 1)
    # Lower case on the string (it may change lengths); the rest on code points.
    joined = (_SEP.join([(t or "").replace(_SEP, " ") for t in texts]) + _SEP).lower()
    raw = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    # full width as ASCII (lowering first is the same: Ａ→ａ→a as Ａ→A→a)
    wide = (raw >= 0xFF01) & (raw <= 0xFF5E)
    raw = np.where(wide, raw - np.uint32(0xFEE0), raw)
    raw[raw == 0x3000] = 0x20
    cls = _char_classes(raw)
    codes = raw.astype(np.uint64)
    is_sep = raw == 0
    breaks = cls == 0
    digit = cls == 2
    n = len(codes)
    if digit.any():
        # runs of five or more digits break n-grams as a whole
        edges = np.flatnonzero(np.diff(digit, prepend=False, append=False))
        starts, ends = edges[0::2], edges[1::2]
        long_run = ends - starts >= 5
        if long_run.any():
            marks = np.zeros(n + 1, dtype=np.int32)
            marks[starts[long_run]] += 1
            marks[ends[long_run]] -= 1
            breaks |= np.cumsum(marks[:n]) > 0
    doc = (np.cumsum(is_sep) - is_sep).astype(np.int32)
    rows: list[NDArray[np.int32]] = []
    cols: list[NDArray[np.int64]] = []
    for size in ngrams:
        if n < size:
            continue
        width = n - size + 1
        valid = ~breaks[:width]
        h = codes[:width] + np.uint64(size)
        for k in range(1, size):
            valid &= ~breaks[k : width + k]
            h = h * _PRIMES[k % 3] + codes[k : width + k]
        h ^= h >> np.uint64(29)
        rows.append(doc[:width][valid])
        cols.append((h[valid] & mask).astype(np.int64))
    row = np.concatenate(rows) if rows else np.empty(0, dtype=np.int32)
    col = np.concatenate(cols).astype(np.int32) if cols else np.empty(0, dtype=np.int32)
    # scipy's conversion sorts each row's few entries and adds up repeats: cheaper than
    # sorting the whole chunk
    return sparse.coo_matrix(
        (np.ones(len(row), dtype=np.int32), (row, col)), shape=(len(texts), n_features)
    ).tocsr()


def _row_sums(values: NDArray[np.float32], indptr: NDArray[np.int32]) -> NDArray[np.float64]:
    """Σ values per CSR row (0 for empty rows)."""
    sums = np.zeros(len(indptr) - 1)
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if len(nonempty):
        sums[nonempty] = np.add.reduceat(values.astype(np.float64), indptr[nonempty])
    return sums


def _normalise_rows(m: sparse.csr_matrix) -> sparse.csr_matrix:
    """Rows scaled to unit length (empty rows stay empty); vector operations on the data."""
    m = sparse.csr_matrix(m, dtype=np.float32, copy=True)
    norms = np.sqrt(_row_sums(m.data * m.data, m.indptr))
    norms[norms == 0] = 1.0
    m.data *= np.repeat((1.0 / norms).astype(np.float32), np.diff(m.indptr))
    return m


def text_features(
    fields: Sequence[Sequence[str]],
    *,
    n_features: int = 2**20,
    ngrams: tuple[int, ...] = (2,),
    max_df: float = 0.02,
    min_df: int = 2,
    chunk: int = 20_000,
    threads: int = 2,
) -> sparse.csr_matrix:
    """TF-IDF vectors of hashed character n-grams, one row per item, L2-normalised.

    ``fields`` is one or more sequences of texts of equal length (say titles and
    descriptions). Each field is weighted and normalised on its own, then the fields are
    added with equal weight: a short title counts as much as a long description.
    n-grams in more than ``max_df`` of the items (boilerplate such as 小区 or 反映; but never
    those in 25 items or fewer) or in fewer than ``min_df`` (they can link nothing) are
    dropped; the rest get sublinear term frequency (1 + ln tf) and smoothed IDF, as
    scikit-learn's ``TfidfVectorizer`` does.
    """
    if not fields:
        raise ValueError("give at least one field of texts")
    n = len(fields[0])
    if any(len(f) != n for f in fields):
        raise ValueError("every field must have one text per item")
    if n_features & (n_features - 1):
        raise ValueError("n_features must be a power of two")
    # Chunks of items (small sorts stay in cache): per field the counts, and the document
    # frequency (the items holding the n-gram in any field).
    chunks = list(range(0, n, chunk))
    counted: list[list[sparse.csr_matrix]] = []
    df = np.zeros(n_features, dtype=np.int64)

    def one_chunk(lo: int) -> list[sparse.csr_matrix]:
        return [_chunk_counts(list(texts[lo : lo + chunk]), n_features, ngrams) for texts in fields]

    def weigh(per_field: list[sparse.csr_matrix]) -> sparse.csr_matrix:
        total: sparse.csr_matrix | None = None
        for counts in per_field:
            values = (1.0 + np.log(counts.data)) * weight[counts.indices]
            kept = values > 0
            rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))[kept]
            indptr = np.zeros(counts.shape[0] + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=counts.shape[0]), out=indptr[1:])
            weighted = _normalise_rows(
                sparse.csr_matrix(
                    (values[kept].astype(np.float32), counts.indices[kept], indptr),
                    shape=counts.shape,
                )
            )
            total = weighted if total is None else total + weighted
        assert total is not None
        return _normalise_rows(total)

    # numpy's arithmetic and scipy's conversions release the GIL: two threads use two cores.
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for per_field in pool.map(one_chunk, chunks):
            counted.append(per_field)
            held = per_field[0]
            for other in per_field[1:]:
                held = held + other  # the n-grams an item holds in any field
            df += np.bincount(held.indices, minlength=n_features)
        idf = np.log((1 + n) / (1 + df)) + 1.0
        # In a small corpus every n-gram is in a large share of the items: drop none below 25.
        keep = (df >= min_df) & (df <= max(min_df, max_df * n, 25))
        weight = np.where(keep, idf, 0.0)
        parts = list(pool.map(weigh, counted))
    if not parts:
        return sparse.csr_matrix((n, n_features), dtype=np.float32)
    return sparse.csr_matrix(sparse.vstack(parts, format="csr"))


# --- linking and clustering ----------------------------------------------------------------


def _edges(
    x: sparse.csr_matrix,
    order: NDArray[np.int64],
    bounds: list[tuple[int, int]],
    times: NDArray[np.float64] | None,
    xy: NDArray[np.float64] | None,
    *,
    window: float,
    radius: float,
    threshold: float,
    chunk: int = 512,
    span: float = 0.25,
    min_rows: int = 128,
    threads: int = 2,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    """Pairs (i, j) of original indices, i before j in ``order``, within the window, the
    radius and the same block, whose cosine similarity is at least ``threshold``.

    Each block is compared in runs of at most ``chunk`` rows that span at most ``span`` of
    the window (but at least ``min_rows`` rows), each against the later rows of its window.
    """
    xs = sparse.csr_matrix(x[order])
    ts = times[order] if times is not None else None
    windowed = ts is not None and math.isfinite(window)
    # places in ``order``'s order, one contiguous array per coordinate
    spaced = xy is not None and math.isfinite(radius)
    px = np.ascontiguousarray(xy[order, 0]) if spaced and xy is not None else None
    py = np.ascontiguousarray(xy[order, 1]) if spaced and xy is not None else None

    def block_edges(
        bound: tuple[int, int],
    ) -> list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]]:
        a, b = bound
        found: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]] = []
        if b - a < 2:
            return found
        # The block's own columns only: transposing a slice of a 2^20-column matrix would
        # allocate a pointer per column every time.
        sub = xs[a:b]
        if sub.nnz * 32 > xs.shape[1]:
            # a table over the columns costs less than sorting the block's entries
            present = np.zeros(xs.shape[1], dtype=bool)
            present[sub.indices] = True
            used = np.flatnonzero(present)
            remap = np.empty(xs.shape[1], dtype=np.int32)
            remap[used] = np.arange(len(used), dtype=np.int32)
            columns = remap[sub.indices]
        else:
            used, _n = _unique_counts(sub.indices.astype(np.int64))
            columns = np.searchsorted(used, sub.indices).astype(np.int32)
        block_x = sparse.csr_matrix(
            (sub.data, columns, sub.indptr), shape=(b - a, max(len(used), 1))
        )
        c = a
        while c < b:
            c_end = min(b, c + chunk)
            if windowed:
                assert ts is not None
                # rows that span a small part of the window, so that the product holds
                # few pairs beyond it (but not so few that the calls cost more)
                soon = ts[c] + window * span
                c_end = min(
                    c_end, max(c + min_rows, int(np.searchsorted(ts[a:b], soon, side="right")) + a)
                )
                w_end = int(np.searchsorted(ts[a:b], ts[c_end - 1] + window, side="right")) + a
            else:
                w_end = b
            # rows c..c_end against columns c..w_end (the later items in the window)
            product = block_x[c - a : c_end - a] @ block_x[c - a : w_end - a].T
            hits = np.flatnonzero(product.data >= threshold)
            r = np.searchsorted(product.indptr, hits, side="right") - 1
            q = product.indices[hits].astype(np.int64)
            later = q > r
            r, q, s = r[later] + c, q[later] + c, product.data[hits[later]]
            if windowed:
                assert ts is not None
                near = np.abs(ts[q] - ts[r]) <= window
                r, q, s = r[near], q[near], s[near]
            if px is not None and py is not None:
                dx = px[r] - px[q]
                dy = py[r] - py[q]
                # an item without a place is linked by text and time alone
                close = (dx * dx + dy * dy <= radius * radius) | ~(
                    np.isfinite(dx) & np.isfinite(dy)
                )
                r, q, s = r[close], q[close], s[close]
            found.append((order[r], order[q], s.astype(np.float32)))
            c = c_end
        return found

    src: list[NDArray[np.int64]] = []
    dst: list[NDArray[np.int64]] = []
    sim: list[NDArray[np.float32]] = []
    # scipy's sparse products release the GIL: two threads use two cores.
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for found in pool.map(block_edges, bounds):
            for r_, q_, s_ in found:
                src.append(r_)
                dst.append(q_)
                sim.append(s_)
    if not src:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=np.float32)
    return np.concatenate(src), np.concatenate(dst), np.concatenate(sim)


def _stars(n: int, i: NDArray[np.int64], j: NDArray[np.int64], s: NDArray[np.float32]) -> NDArray:
    """Star clustering: the item with the most (similarity-weighted) links becomes a centre
    and takes its unassigned neighbours; repeat. Returns each item's centre, or -1."""
    adj = sparse.csr_matrix(
        (np.concatenate([s, s]), (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(n, n)
    )
    strength = np.asarray(adj.sum(axis=1)).ravel()
    centre = np.full(n, -1, dtype=np.int64)
    for v in np.argsort(-strength, kind="stable"):
        if centre[v] != -1 or strength[v] == 0:
            continue
        centre[v] = v
        nbrs = adj.indices[adj.indptr[v] : adj.indptr[v + 1]]
        free = nbrs[centre[nbrs] == -1]
        centre[free] = v
    return centre


@dataclass(frozen=True)
class HeatWeights:
    """How the heat index weighs what it combines (all on a log scale, so that no single
    part can dominate):

    ``heat = ln(1 + residents) + votes × ln(1 + agreement) + growth × ln(growth ratio)
    + duration × ln(1 + days / 7)``

    - residents: distinct reporters (or items when reporters are unknown);
    - agreement: Σ max(likes − dislikes, 0) over the items;
    - growth ratio: (items in the last ``recent_days`` of the analysis + 1) ÷ (items in the
      ``recent_days`` before those + 1): above 1 while the problem is rising;
    - days: from the first item to the last.
    """

    votes: float = 0.5
    growth: float = 0.5
    duration: float = 0.25
    recent_days: float = 14.0


@dataclass(frozen=True)
class Cluster:
    members: NDArray[np.int64]  # item indices, oldest first
    representative: int  # the item that stands for the cluster (its centre)
    heat: float
    residents: int
    agreement: float
    growth: float
    first: float | None  # seconds since the epoch
    last: float | None
    place: str = ""

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass(frozen=True)
class DetectParams:
    """Defaults suit a city's cases; a message board without places works with them too."""

    min_similarity: float = 0.3
    window_days: float = 30.0  # items further apart in time are not linked directly
    radius_km: float = 1.5  # nor items further apart in space (when places are given)
    min_size: int = 3
    # clusters of one problem that recur beyond the window are joined when their centroids
    # are this similar (and in one block, and within the radius)
    merge_similarity: float = 0.4
    heat: HeatWeights = field(default_factory=HeatWeights)


def _as_optional(values: ArrayLike | None, n: int, name: str) -> NDArray[np.float64] | None:
    if values is None:
        return None
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have one entry per item ({n}), not {arr.shape[0]}")
    return arr


def detect(
    features: sparse.csr_matrix,
    *,
    times: ArrayLike | None = None,
    xy_km: ArrayLike | None = None,
    groups: ArrayLike | None = None,
    votes: ArrayLike | None = None,
    reporters: Sequence[str] | None = None,
    places: Sequence[str] | None = None,
    now: float | None = None,
    params: DetectParams | None = None,
) -> list[Cluster]:
    """Clusters of items about one problem, hottest first.

    ``features``: rows from :func:`text_features`. Optional per item: ``times`` (seconds),
    ``xy_km`` (planar coordinates in km; NaN where unknown), ``groups`` (only items of one
    group are compared, e.g. the street and category), ``votes`` (likes − dislikes),
    ``reporters`` (who raised it, to count residents once), ``places`` (names; a cluster is
    named after its most common one). ``now``: the end of the analysis, for growth
    (default: the latest time).
    """
    p = params or DetectParams()
    n = features.shape[0]
    t = _as_optional(times, n, "times")
    if t is not None and not np.all(np.isfinite(t)):
        raise ValueError("times must all be finite")
    xy = _as_optional(xy_km, n, "xy_km")
    if xy is not None and (xy.ndim != 2 or xy.shape[1] != 2):
        raise ValueError("xy_km must have two columns")
    v = _as_optional(votes, n, "votes")
    g = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    if g.shape[0] != n:
        raise ValueError(f"groups must have one entry per item ({n})")
    if n == 0:
        return []
    order = np.lexsort(((t if t is not None else np.arange(n, dtype=np.float64)), g))
    g_sorted = g[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    bounds = list(zip(starts.tolist(), [*starts[1:].tolist(), n], strict=True))
    window = p.window_days * DAY if t is not None else math.inf
    i, j, s = _edges(
        features,
        order,
        bounds,
        t,
        xy,
        window=window,
        radius=p.radius_km,
        threshold=p.min_similarity,
    )
    centre = _stars(n, i, j, s)
    # second pass: join stars of one recurring problem (centroid similarity, same block)
    labels = _join_recurring(features, centre, g, xy, p)
    return _rank(labels, centre, t, xy, v, reporters, places, now, p)


def _join_recurring(
    features: sparse.csr_matrix,
    centre: NDArray[np.int64],
    groups: NDArray[np.int64],
    xy: NDArray[np.float64] | None,
    p: DetectParams,
) -> NDArray[np.int64]:
    """Each item's cluster label (the index of a centre), -1 for items in no cluster."""
    labels = centre.copy()
    ids, inverse, counts = np.unique(centre, return_inverse=True, return_counts=True)
    real = ids >= 0
    if real.sum() < 2:
        return labels
    members = sparse.csr_matrix(
        (np.ones(len(centre), dtype=np.float32), (inverse, np.arange(len(centre)))),
        shape=(len(ids), len(centre)),
    )
    cent = _normalise_rows(sparse.csr_matrix(members @ features))
    star_ids = ids[real]
    cent = cent[np.flatnonzero(real)]
    star_groups = groups[star_ids]
    order = np.argsort(star_groups, kind="stable")
    gs = star_groups[order]
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    bounds = list(zip(starts.tolist(), [*starts[1:].tolist(), len(order)], strict=True))
    star_xy = None
    if xy is not None:
        # a star's place: the mean of its located members
        sums = members @ np.nan_to_num(xy)
        located = members @ np.isfinite(xy).all(axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            star_xy = (sums / located[:, None])[np.flatnonzero(real)]
    a, b, _s = _edges(
        cent,
        order.astype(np.int64),
        bounds,
        None,
        star_xy,
        window=math.inf,
        radius=p.radius_km,
        threshold=p.merge_similarity,
    )
    if len(a) == 0:
        return labels
    k = len(star_ids)
    graph = sparse.csr_matrix((np.ones(len(a)), (a, b)), shape=(k, k))
    _n, comp = sparse.csgraph.connected_components(graph, directed=False)
    # every star of a component takes the label of the component's biggest star
    star_size = counts[real]
    best = np.full(_n, -1, dtype=np.int64)
    for idx in np.argsort(-star_size, kind="stable"):
        if best[comp[idx]] == -1:
            best[comp[idx]] = star_ids[idx]
    relabel = ids.copy()
    relabel[real] = best[comp]
    return relabel[inverse]


def _rank(
    labels: NDArray[np.int64],
    centre: NDArray[np.int64],
    t: NDArray[np.float64] | None,
    xy: NDArray[np.float64] | None,
    v: NDArray[np.float64] | None,
    reporters: Sequence[str] | None,
    places: Sequence[str] | None,
    now: float | None,
    p: DetectParams,
) -> list[Cluster]:
    w = p.heat
    horizon = now if now is not None else (float(t.max()) if t is not None else None)
    recent = w.recent_days * DAY
    out: list[Cluster] = []
    has = np.flatnonzero(labels >= 0)
    if len(has) == 0:
        return out
    by_label = np.argsort(labels[has], kind="stable")
    sorted_items = has[by_label]
    sorted_labels = labels[sorted_items]
    cuts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    for lo, hi in zip(cuts.tolist(), [*cuts[1:].tolist(), len(sorted_items)], strict=True):
        items = sorted_items[lo:hi]
        if len(items) < p.min_size:
            continue
        label = int(sorted_labels[lo])
        if t is not None:
            items = items[np.argsort(t[items], kind="stable")]
        members = items.tolist()
        residents = len(set(map(reporters.__getitem__, members))) if reporters else len(items)
        agreement = float(np.clip(v[items], 0, None).sum()) if v is not None else 0.0
        first = float(t[items].min()) if t is not None else None
        last = float(t[items].max()) if t is not None else None
        growth = 1.0
        if t is not None and horizon is not None:
            latest = int(((t[items] > horizon - recent) & (t[items] <= horizon)).sum())
            before = int(((t[items] > horizon - 2 * recent) & (t[items] <= horizon - recent)).sum())
            growth = (latest + 1) / (before + 1)
        days = (last - first) / DAY if first is not None and last is not None else 0.0
        heat = (
            math.log1p(residents)
            + w.votes * math.log1p(agreement)
            + w.growth * math.log(growth)
            + w.duration * math.log1p(days / 7)
        )
        place = ""
        if places is not None:
            named = Counter(map(places.__getitem__, members))
            # the most common name, the first in code-point order among equals
            common = [(-count, str(name)) for name, count in named.items() if name]
            if common:
                place = min(common)[1]
        out.append(
            Cluster(
                members=items,
                representative=label if centre[label] == label else int(items[0]),
                heat=round(heat, 6),
                residents=residents,
                agreement=agreement,
                growth=growth,
                first=first,
                last=last,
                place=place,
            )
        )
    out.sort(key=lambda c: (-c.heat, -c.size, c.representative))
    return out


# --- early warning ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """What a series was expected to count in one week, and whether it left the band."""

    series: int
    observed: float
    expected: float
    low: float
    high: float
    method: str  # "seasonal" (same weeks of earlier years) or "trailing" (recent weeks)
    reference_weeks: int

    @property
    def direction(self) -> str:
        if self.observed > self.high:
            return "up"
        if self.observed < self.low:
            return "down"
        return ""


def weekly_bands(
    counts: ArrayLike,
    *,
    week: int = -1,
    season: int = 52,
    half_window: int = 2,
    trailing: int = 8,
    min_reference: int = 4,
    alpha: float = 0.01,
) -> list[Band]:
    """The expected band of every series (row of ``counts``, one column per week) in ``week``.

    Seasonal baseline where a year of history exists: the weeks ``week − k·season + j`` for
    every earlier year k and ``|j| ≤ half_window`` (Farrington's reference weeks). Otherwise
    the ``trailing`` weeks just before. Expected = the mean of the reference weeks; the band is
    expected ± z·√(φ·max(expected, 1)), z the two-sided normal quantile of ``alpha`` and
    φ = max(1, variance ÷ mean) the over-dispersion of the reference weeks (counts of
    complaints vary more than Poisson). Series with fewer than ``min_reference`` reference
    weeks get no band.
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError("counts must be a 2-D array: series × weeks")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie between 0 and 1")
    n_weeks = c.shape[1]
    w = week if week >= 0 else n_weeks + week
    if not 0 <= w < n_weeks:
        raise ValueError(f"week {week} is outside the {n_weeks} weeks given")
    seasonal = [
        w - k * season + j
        for k in range(1, w // max(season, 1) + 2)
        for j in range(-half_window, half_window + 1)
        if 0 <= w - k * season + j < w - half_window
    ]
    if len(seasonal) >= min_reference:
        ref, method = seasonal, "seasonal"
    else:
        ref, method = list(range(max(0, w - trailing), w)), "trailing"
    if len(ref) < min_reference:
        return []
    z = float(stats.norm.ppf(1 - alpha / 2))
    values = c[:, ref]
    mean = values.mean(axis=1)
    var = values.var(axis=1, ddof=1) if len(ref) > 1 else np.zeros(len(c))
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(mean > 0, np.maximum(1.0, var / np.where(mean > 0, mean, 1)), 1.0)
    half = z * np.sqrt(phi * np.maximum(mean, 1.0))
    return [
        Band(
            series=k,
            observed=float(c[k, w]),
            expected=float(mean[k]),
            low=float(max(0.0, mean[k] - half[k])),
            high=float(mean[k] + half[k]),
            method=method,
            reference_weeks=len(ref),
        )
        for k in range(len(c))
    ]


def weekly_alerts(counts: ArrayLike, **kwargs: int | float) -> list[Band]:
    """The bands of :func:`weekly_bands` that the week left, the largest excess first."""
    bands = [b for b in weekly_bands(counts, **kwargs) if b.direction]  # type: ignore[arg-type]
    return sorted(bands, key=lambda b: -abs(b.observed - b.expected) / max(b.high - b.low, 1e-9))
