"""Opinion groups, representative statements and consensus from agree / disagree / pass votes,
found as Polis finds them (compdemocracy.org; the Clojure "math" of the polis repository).

The method, step by step (each step names the Polis function it follows):

1. **Vote matrix** — participants × statements, agree = 1, disagree = −1, pass = 0, not seen =
   missing. Statements moderated out are set to 0 for *every* participant, as Polis's
   ``zero-out-columns`` does: they carry no opinion but still count as answered when a
   participant's projection is scaled (step 4).
2. **Who is clustered** (``in-conv``) — participants with at least ``min(7, statements)`` votes
   (passes count); if that leaves fewer than 15, the most active voters are added up to 15.
   Everyone is projected onto the map; only these are clustered. "Statements" here and in step
   4 are those somebody voted on: Polis's rating matrix has a column only for those (``n-cmts``).
   Polis also keeps everyone who was ever in (its ``in-conv`` only grows between updates); a
   snapshot of the votes has no earlier updates, so here it is decided on the votes given.
3. **PCA** of the column-mean-imputed matrix (every participant), two components, by block
   power iteration on the sparse centred matrix (an imputed cell is exactly 0 once centred, so
   the matrix stays sparse).
4. **Sparsity-aware projection** — each participant's centred votes projected onto the two
   components, scaled by ``sqrt(statements / votes)`` so that people who voted on few
   statements are not pulled into the centre (``sparsity-aware-project-ptpt``).
5. **Two-level k-means** — the clustered participants into up to 100 *base clusters*, then the
   base-cluster centres (weighted by size, at most 20 Lloyd iterations as Polis runs them) into
   ``k`` groups for every ``k`` from 2 to ``min(5, 2 + bases // 12)``; ``k`` is the one with the
   best silhouette over the base-cluster centres (the larger ``k`` on a tie). Polis seeds its
   k-means from its own history (each update starts from the last clustering, from the first
   distinct points only when there is none); a snapshot has no history, so here each k-means
   takes the best of several k-means++ starts from a fixed seed — the same answer on every run.
   This is the one known departure from Polis's code (docs/benchmarks.md, "Opinion analysis").
6. **Representative statements** per group — Polis's ``repness``: Laplace-smoothed agree and
   disagree probabilities in the group, ``(n + 1) / (seen + 2)``, their ratio to the rest of the
   clustered participants, a one-proportion z-test in the group and a two-proportion z-test
   against the rest; statements significant at 90 % on both are ranked by ratio × test ×
   probability × test; up to 5, the best agreed-upon first; at least one per group.
7. **Group-informed consensus** — for each statement, the product over groups of each group's
   smoothed agree probability ``(agrees + 1) / (seen + 2)``; consensus statements are those a
   majority of *every* group is likely to agree with (each factor above one half), highest
   product first.

Everything here is pure: arrays in, frozen dataclasses out, no Django and no I/O. Reading a
Polis export is :func:`read_participants_votes`, which takes the text's lines.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

AGREE = 1
DISAGREE = -1
PASS = 0

Z_90 = 1.2816  # one-sided 90 % critical value Polis uses


@dataclass(frozen=True)
class Options:
    """The knobs of the method; the defaults are Polis's."""

    min_votes: int = 7  # votes needed to be clustered (or every statement, if fewer)
    greedy_n: int = 15  # at least this many clustered, the most active first
    base_k: int = 100  # base clusters
    max_k: int = 5  # most opinion groups
    base_starts: int = 3  # k-means++ starts for the base clusters
    base_iterations: int = 100  # Lloyd iterations for the base clusters (Polis's base-iters)
    group_starts: int = 10  # k-means++ starts for each group clustering
    # Lloyd iterations for the groups: Polis passes ``:cluster-iters`` (100) to ``kmeans``, which
    # does not read that key, so its groups run ``kmeans``'s default ``max-iters`` of 20
    # (conversation.clj ``:group-clusterings``; clusters.clj ``kmeans``).
    group_iterations: int = 20
    pca_iterations: int = 500  # most block power iterations
    pca_tolerance: float = 1e-9
    seed: int = 0
    max_representative: int = 5
    max_consensus: int = 5


class VotesError(ValueError):
    """Votes that cannot be analysed as given (shape, values, duplicates)."""


@dataclass(frozen=True)
class Votes:
    """A sparse participants × statements vote matrix.

    ``participants`` are in the order they joined (Polis keeps that order; it only decides
    ties). Each vote is one ``(row, column, value)`` triple with value 1, −1 or 0; a pair may
    appear once (give the latest vote when a participant changed their mind).
    """

    participants: tuple[str, ...]
    statements: tuple[str, ...]
    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    values: NDArray[np.int8]

    @classmethod
    def from_triples(
        cls,
        participants: Sequence[str],
        statements: Sequence[str],
        triples: Iterable[tuple[int, int, int]],
    ) -> Votes:
        items = list(triples)
        rows = np.fromiter((t[0] for t in items), dtype=np.int64, count=len(items))
        cols = np.fromiter((t[1] for t in items), dtype=np.int64, count=len(items))
        values = np.fromiter((t[2] for t in items), dtype=np.int64, count=len(items))
        return cls.from_arrays(participants, statements, rows, cols, values)

    @classmethod
    def from_arrays(
        cls,
        participants: Sequence[str],
        statements: Sequence[str],
        rows: NDArray[np.integer] | Sequence[int],
        cols: NDArray[np.integer] | Sequence[int],
        values: NDArray[np.integer] | Sequence[int],
    ) -> Votes:
        people = tuple(str(p) for p in participants)
        items = tuple(str(s) for s in statements)
        if len(set(people)) != len(people):
            raise VotesError("participant ids must be unique")
        if len(set(items)) != len(items):
            raise VotesError("statement ids must be unique")
        r = np.asarray(rows, dtype=np.int64).ravel()
        c = np.asarray(cols, dtype=np.int64).ravel()
        v = np.asarray(values, dtype=np.int64).ravel()
        if not len(r) == len(c) == len(v):
            raise VotesError("rows, cols and values must have the same length")
        if len(r):
            if r.min() < 0 or r.max() >= len(people):
                raise VotesError("a vote names a participant outside the list")
            if c.min() < 0 or c.max() >= len(items):
                raise VotesError("a vote names a statement outside the list")
            bad = ~np.isin(v, (AGREE, DISAGREE, PASS))
            if bad.any():
                raise VotesError(
                    f"a vote is 1 (agree), -1 (disagree) or 0 (pass), not {int(v[bad][0])}"
                )
            keys = r * max(len(items), 1) + c
            if len(np.unique(keys)) != len(keys):
                raise VotesError("a participant voted twice on the same statement")
        return cls(people, items, r, c, v.astype(np.int8))

    @classmethod
    def from_dense(
        cls,
        participants: Sequence[str],
        statements: Sequence[str],
        matrix: NDArray[np.floating],
    ) -> Votes:
        """From a dense matrix with NaN for "not seen"."""
        m = np.asarray(matrix, dtype=float)
        if m.shape != (len(participants), len(statements)):
            raise VotesError(
                f"matrix is {m.shape[0]}×{m.shape[1]} but there are "
                f"{len(participants)} participants and {len(statements)} statements"
            )
        r, c = np.nonzero(~np.isnan(m))
        return cls.from_arrays(participants, statements, r, c, m[r, c].astype(np.int64))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.participants), len(self.statements)

    def counts(self) -> NDArray[np.int64]:
        """Votes (passes included) per participant."""
        return np.bincount(self.rows, minlength=len(self.participants)).astype(np.int64)


@dataclass(frozen=True)
class StatementStats:
    """One statement's counts and Polis statistics within one group."""

    statement: str
    agree: int
    disagree: int
    seen: int
    p_agree: float  # (agree + 1) / (seen + 2)
    p_disagree: float
    z_agree: float  # one-proportion test of agreeing in the group
    z_disagree: float
    ratio_agree: float  # p_agree / the rest's
    ratio_disagree: float
    z_agree_vs_rest: float  # two-proportion test against the rest
    z_disagree_vs_rest: float


@dataclass(frozen=True)
class Representative:
    """A statement that sets a group apart: how it voted and how strongly."""

    statement: str
    direction: str  # "agree" or "disagree"
    successes: int  # agrees (or disagrees) in the group
    seen: int
    probability: float
    probability_test: float
    ratio: float  # probability in the group ÷ probability in the rest
    ratio_test: float
    best_agree: bool = False

    @property
    def metric(self) -> float:
        return self.ratio * self.ratio_test * self.probability * self.probability_test


@dataclass(frozen=True)
class Group:
    id: int
    members: tuple[str, ...]
    center: tuple[float, float]
    representative: tuple[Representative, ...]


@dataclass(frozen=True)
class Consensus:
    statement: str
    agree: float  # product over groups of the smoothed agree probability
    disagree: float  # the same for disagree
    group_agree: tuple[float, ...]  # each group's smoothed agree probability


@dataclass(frozen=True)
class Analysis:
    participants: tuple[str, ...]  # everyone, in input order
    projection: NDArray[np.float64]  # (participants, 2): the map
    clustered: NDArray[np.bool_]  # who was clustered (Polis's in-conv)
    labels: NDArray[np.int64]  # group of each participant, -1 where not clustered
    groups: tuple[Group, ...]
    k: int
    silhouettes: Mapping[int, float]
    components: NDArray[np.float64]  # (2, statements)
    explained: tuple[float, float]  # share of variance of each component
    consensus: tuple[Consensus, ...]  # the selected consensus statements, best first
    group_consensus: Mapping[str, Consensus] = field(default_factory=dict)  # every statement

    def group_of(self) -> dict[str, int]:
        """participant id -> group id, for the clustered participants."""
        return {
            p: int(g)
            for p, g, c in zip(self.participants, self.labels, self.clustered, strict=True)
            if c
        }


# --- the method --------------------------------------------------------------------------------


def clustered_participants(
    counts: NDArray[np.int64], n_statements: int, options: Options
) -> NDArray[np.bool_]:
    """Polis's ``in-conv``: enough votes to be clustered, topped up to ``greedy_n``.

    ``n_statements`` is Polis's ``n-cmts``: the columns of its rating matrix, which only has a
    column for a statement once someone voted on it (:func:`voted_statements`)."""
    needed = min(options.min_votes, n_statements)
    chosen = (counts >= needed) & (counts > 0)
    if chosen.sum() < options.greedy_n:
        order = np.argsort(-counts, kind="stable")
        for i in order:
            if chosen.sum() >= options.greedy_n or counts[i] == 0:
                break
            chosen[i] = True
    return chosen


def voted_statements(votes: Votes) -> int:
    """Statements with at least one vote: Polis's ``n-cmts``. Its rating matrix gains a column
    only when a vote names the comment (named_matrix.clj ``update-nmat``), so a statement nobody
    has voted on yet counts neither towards ``min(7, n-cmts)`` nor in the projection's
    ``sqrt(n-cmnts / n-votes)``."""
    return int(np.count_nonzero(np.bincount(votes.cols, minlength=len(votes.statements))))


def _centred(
    votes: Votes, moderated: NDArray[np.bool_]
) -> tuple[sparse.csr_matrix, NDArray[np.float64], NDArray[np.int64]]:
    """The centred, mean-imputed matrix (sparse), the column means, and the number of answered
    statements per participant as the projection counts them."""
    n, m = votes.shape
    keep = ~moderated[votes.cols]
    rows, cols = votes.rows[keep], votes.cols[keep]
    vals = votes.values[keep].astype(np.float64)
    seen = np.bincount(cols, minlength=m).astype(np.float64)
    sums = np.bincount(cols, weights=vals, minlength=m)
    means = np.divide(sums, seen, out=np.zeros(m), where=seen > 0)
    centred = sparse.csr_matrix((vals - means[cols], (rows, cols)), shape=(n, m))
    # A moderated-out column is zeroed for every participant (``zero-out-columns``); Polis has
    # such a column only if someone voted on the statement.
    zeroed = int((moderated & (np.bincount(votes.cols, minlength=m) > 0)).sum())
    answered = np.bincount(rows, minlength=n).astype(np.int64) + zeroed
    return centred, means, answered


def principal_components(
    x: sparse.spmatrix | NDArray[np.float64], n_components: int = 2, *, options: Options = Options()
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The top principal directions of the (already centred) ``x`` and their eigenvalues of
    ``xᵀx``, by block power iteration with a Rayleigh–Ritz step; signs fixed so that each
    direction's largest loading is positive."""
    _, m = x.shape
    n_components = min(n_components, m)
    block = min(m, n_components + 2)
    rng = np.random.default_rng(options.seed)
    basis, _ = np.linalg.qr(rng.random((m, block)))
    previous = np.zeros(n_components)
    values = previous
    for _ in range(options.pca_iterations):
        product = np.asarray(x.T @ (x @ basis))
        basis, _ = np.linalg.qr(product)
        small = basis.T @ np.asarray(x.T @ (x @ basis))
        values = np.sort(np.linalg.eigvalsh(small))[::-1][:n_components]
        scale = max(float(values[0]), 1e-300)
        if np.max(np.abs(values - previous)) <= options.pca_tolerance * scale:
            break
        previous = values
    small = basis.T @ np.asarray(x.T @ (x @ basis))
    eigvals, eigvecs = np.linalg.eigh(small)
    order = np.argsort(eigvals)[::-1][:n_components]
    comps = (basis @ eigvecs[:, order]).T
    for i in range(len(comps)):
        j = int(np.argmax(np.abs(comps[i])))
        if comps[i, j] < 0:
            comps[i] = -comps[i]
    if len(comps) < 2:
        comps = np.vstack([comps, np.zeros((2 - len(comps), m))])
        eigvals = np.concatenate([eigvals, np.zeros(2)])
    return comps, np.maximum(eigvals[order][:n_components], 0.0)


def project(
    votes: Votes, moderated: NDArray[np.bool_], options: Options = Options()
) -> tuple[NDArray[np.float64], NDArray[np.float64], tuple[float, float]]:
    """Everyone's place on the two-dimensional opinion map, the components, and the share of
    variance each explains."""
    centred, _means, answered = _centred(votes, moderated)
    comps, eigvals = principal_components(centred, 2, options=options)
    comps[:, moderated] = 0.0  # exactly: their centred column is all zeros
    total = float(centred.multiply(centred).sum())
    shares = tuple(float(v / total) if total > 0 else 0.0 for v in eigvals[:2])
    coords = np.asarray(centred @ comps.T)
    scale = np.sqrt(max(voted_statements(votes), 1) / np.maximum(answered, 1))
    explained = (shares[0] if shares else 0.0, shares[1] if len(shares) > 1 else 0.0)
    return coords * scale[:, None], comps, explained


def silhouette(points: NDArray[np.float64], labels: NDArray[np.int64]) -> float:
    """Mean silhouette (Euclidean); a member alone in its cluster scores 0, as in Polis."""
    labels = np.asarray(labels)
    ids = np.unique(labels)
    if len(ids) < 2:
        return 0.0
    dist = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    scores = np.zeros(len(points))
    members = {g: labels == g for g in ids}
    for i in range(len(points)):
        own = members[labels[i]].copy()
        own[i] = False
        if not own.any():
            continue
        a = dist[i, own].mean()
        b = min(dist[i, members[g]].mean() for g in ids if g != labels[i])
        top = max(a, b)
        scores[i] = (b - a) / top if top > 0 else 0.0
    return float(scores.mean())


def _kmeans(
    points: NDArray[np.float64],
    k: int,
    weights: NDArray[np.float64] | None,
    starts: int,
    seed: int,
    iterations: int = 300,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, n_init=starts, random_state=seed, max_iter=iterations)
    model.fit(points, sample_weight=weights)
    return model.labels_.astype(np.int64), model.cluster_centers_


def cluster(
    points: NDArray[np.float64], options: Options = Options()
) -> tuple[NDArray[np.int64], int, dict[int, float]]:
    """Polis's two-level clustering of the projected participants: base clusters, then groups
    of base clusters with ``k`` chosen by silhouette. Returns each point's group, ``k`` and the
    silhouette of every ``k`` tried."""
    n = len(points)
    distinct = np.unique(points, axis=0)
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0, {}
    if len(distinct) < 2:
        return np.zeros(n, dtype=np.int64), 1, {}
    base_k = min(options.base_k, len(distinct))
    base_labels, base_centres = _kmeans(
        points, base_k, None, options.base_starts, options.seed, options.base_iterations
    )
    used = np.unique(base_labels)
    remap = np.full(base_k, -1)
    remap[used] = np.arange(len(used))
    base_labels = remap[base_labels]
    base_centres = base_centres[used]
    weights = np.bincount(base_labels, minlength=len(used)).astype(np.float64)
    max_k = min(options.max_k, 2 + len(used) // 12, len(used))
    silhouettes: dict[int, float] = {}
    best: tuple[float, int, NDArray[np.int64]] | None = None
    for k in range(2, max_k + 1):
        labels, _ = _kmeans(
            base_centres,
            k,
            weights,
            options.group_starts,
            options.seed,
            options.group_iterations,
        )
        if len(np.unique(labels)) < 2:
            continue
        score = silhouette(base_centres, labels)
        silhouettes[k] = score
        # Polis takes ``(apply max-key silhouettes ks)``, and Clojure's max-key returns the last
        # of equal maxima: on a tie the larger k wins (conversation.clj ``:group-k-smoother``).
        if best is None or score >= best[0]:
            best = (score, k, labels)
    if best is None:
        return np.zeros(n, dtype=np.int64), 1, silhouettes
    return best[2][base_labels], best[1], silhouettes


def _ordered(labels: NDArray[np.int64]) -> NDArray[np.int64]:
    """Renumber groups largest first (ties: the one with the earliest member first)."""
    ids = np.unique(labels)
    first = {g: int(np.flatnonzero(labels == g)[0]) for g in ids}
    order = sorted(ids, key=lambda g: (-int((labels == g).sum()), first[g]))
    mapping = {g: i for i, g in enumerate(order)}
    return np.array([mapping[g] for g in labels], dtype=np.int64)


def prop_test(
    successes: NDArray[np.float64] | float, trials: NDArray[np.float64] | float
) -> NDArray[np.float64]:
    """Polis's one-proportion z statistic with a pseudo-count: is the share above one half?"""
    s = np.asarray(successes, dtype=float) + 1
    n = np.asarray(trials, dtype=float) + 1
    return np.asarray(2 * np.sqrt(n) * (s / n - 0.5))


def two_prop_test(
    succ_in: NDArray[np.float64] | float,
    succ_out: NDArray[np.float64] | float,
    n_in: NDArray[np.float64] | float,
    n_out: NDArray[np.float64] | float,
) -> NDArray[np.float64]:
    """Polis's two-proportion z statistic with pseudo-counts: is the share in higher than out?"""
    s1 = np.asarray(succ_in, dtype=float) + 1
    s2 = np.asarray(succ_out, dtype=float) + 1
    n1 = np.asarray(n_in, dtype=float) + 1
    n2 = np.asarray(n_out, dtype=float) + 1
    p1, p2 = s1 / n1, s2 / n2
    pooled = (s1 + s2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (p1 - p2) / np.sqrt(np.where(var > 0, var, 1)), 0.0)
    return np.asarray(z)


def group_counts(
    votes: Votes, labels: NDArray[np.int64], k: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(agrees, disagrees, seen) per group × statement; participants labelled −1 are left out."""
    _n, m = votes.shape
    member = labels[votes.rows]
    keep = member >= 0
    g, c, v = member[keep], votes.cols[keep], votes.values[keep]
    size = k * m
    flat = g * m + c
    agree = np.bincount(flat[v == AGREE], minlength=size).reshape(k, m).astype(float)
    disagree = np.bincount(flat[v == DISAGREE], minlength=size).reshape(k, m).astype(float)
    seen = np.bincount(flat, minlength=size).reshape(k, m).astype(float)
    return agree, disagree, seen


def statement_stats(
    agree: NDArray[np.float64], disagree: NDArray[np.float64], seen: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """Polis's ``conv-repness`` statistics for every group × statement: each group against the
    sum of the others."""
    rest_a = agree.sum(0)[None, :] - agree
    rest_d = disagree.sum(0)[None, :] - disagree
    rest_s = seen.sum(0)[None, :] - seen
    pa = (agree + 1) / (seen + 2)
    pd = (disagree + 1) / (seen + 2)
    return {
        "na": agree,
        "nd": disagree,
        "ns": seen,
        "pa": pa,
        "pd": pd,
        "pat": prop_test(agree, seen),
        "pdt": prop_test(disagree, seen),
        "ra": pa / ((rest_a + 1) / (rest_s + 2)),
        "rd": pd / ((rest_d + 1) / (rest_s + 2)),
        "rat": two_prop_test(agree, rest_a, seen, rest_s),
        "rdt": two_prop_test(disagree, rest_d, seen, rest_s),
    }


def _finalise(
    stats: dict[str, NDArray[np.float64]], g: int, j: int, statement: str, best_agree: bool = False
) -> Representative:
    agree_side = stats["rat"][g, j] > stats["rdt"][g, j]
    if best_agree:
        agree_side = True
    key = "a" if agree_side else "d"
    return Representative(
        statement=statement,
        direction="agree" if agree_side else "disagree",
        successes=int(stats[f"n{key}"][g, j]),
        seen=int(stats["ns"][g, j]),
        probability=float(stats[f"p{key}"][g, j]),
        probability_test=float(stats[f"p{key}t"][g, j]),
        ratio=float(stats[f"r{key}"][g, j]),
        ratio_test=float(stats[f"r{key}t"][g, j]),
        best_agree=best_agree,
    )


def representative_statements(
    stats: dict[str, NDArray[np.float64]],
    statements: Sequence[str],
    excluded: NDArray[np.bool_],
    limit: int = 5,
) -> list[tuple[Representative, ...]]:
    """Polis's ``select-rep-comments`` for each group."""
    k, m = stats["na"].shape
    out: list[tuple[Representative, ...]] = []
    for g in range(k):
        sufficient: list[Representative] = []
        best: Representative | None = None
        best_agree_j: int | None = None
        for j in range(m):
            if excluded[j]:
                continue
            rat, rdt = stats["rat"][g, j], stats["rdt"][g, j]
            pat, pdt = stats["pat"][g, j], stats["pdt"][g, j]
            if (rat > Z_90 and pat > Z_90) or (rdt > Z_90 and pdt > Z_90):
                sufficient.append(_finalise(stats, g, j, statements[j]))
            if not sufficient and (best is None or max(rat, rdt) > best.ratio_test):
                best = _finalise(stats, g, j, statements[j])
            if _beats_best_agree(stats, g, j, best_agree_j):
                best_agree_j = j
        head: list[Representative] = []
        if best_agree_j is not None:
            head = [_finalise(stats, g, best_agree_j, statements[best_agree_j], best_agree=True)]
        elif best is not None:
            head = [best]
        if not sufficient:
            out.append(tuple(head))
            continue
        chosen_id = head[0].statement if head and head[0].best_agree else None
        ranked = sorted(
            (r for r in sufficient if r.statement != chosen_id), key=lambda r: -r.metric
        )
        if chosen_id is not None:
            ranked = head + ranked
        ranked = ranked[:limit]
        ranked = [r for r in ranked if r.direction == "agree"] + [
            r for r in ranked if r.direction == "disagree"
        ]
        out.append(tuple(ranked))
    return out


def _beats_best_agree(
    stats: dict[str, NDArray[np.float64]], g: int, j: int, current: int | None
) -> bool:
    na, nd = stats["na"][g, j], stats["nd"][g, j]
    ra, rat, pa, pat = (stats[key][g, j] for key in ("ra", "rat", "pa", "pat"))
    if na == 0 and nd == 0:
        return False
    if current is not None and stats["ra"][g, current] > 1.0:
        best = (
            stats["ra"][g, current]
            * stats["rat"][g, current]
            * stats["pa"][g, current]
            * stats["pat"][g, current]
        )
        return bool(ra * rat * pa * pat > best)
    if current is not None:
        return bool(pa * pat > stats["pa"][g, current] * stats["pat"][g, current])
    return bool(pat > Z_90 or (ra > 1.0 and pa > 0.5))


def consensus_statements(
    agree: NDArray[np.float64],
    disagree: NDArray[np.float64],
    seen: NDArray[np.float64],
    statements: Sequence[str],
    excluded: NDArray[np.bool_],
    limit: int = 5,
) -> tuple[tuple[Consensus, ...], dict[str, Consensus]]:
    """Group-informed consensus: the product over groups of each group's smoothed agree (and
    disagree) probability. Selected: statements every group more likely agrees with than not."""
    pa = (agree + 1) / (seen + 2)
    pd = (disagree + 1) / (seen + 2)
    gac = pa.prod(axis=0)
    gdc = pd.prod(axis=0)
    every = {
        s: Consensus(s, float(gac[j]), float(gdc[j]), tuple(float(x) for x in pa[:, j]))
        for j, s in enumerate(statements)
    }
    voted = seen.sum(axis=0) > 0
    ok = (~excluded) & voted & np.all(pa > 0.5, axis=0)
    order = sorted((int(j) for j in np.flatnonzero(ok)), key=lambda j: (-gac[j], j))
    return tuple(every[statements[j]] for j in order[:limit]), every


def analyze(
    votes: Votes,
    *,
    moderated_out: Collection[str] = (),
    options: Options = Options(),
) -> Analysis:
    """Opinion groups, representative statements and consensus, as Polis finds them."""
    n, m = votes.shape
    moderated = np.array([s in set(moderated_out) for s in votes.statements], dtype=bool)
    counts = votes.counts()
    clustered = clustered_participants(counts, voted_statements(votes), options)
    if n == 0 or m == 0:
        return Analysis(
            participants=votes.participants,
            projection=np.zeros((n, 2)),
            clustered=clustered,
            labels=np.full(n, -1, dtype=np.int64),
            groups=(),
            k=0,
            silhouettes={},
            components=np.zeros((2, m)),
            explained=(0.0, 0.0),
            consensus=(),
        )
    projection, components, explained = project(votes, moderated, options)
    inside = np.flatnonzero(clustered)
    group_labels, k, silhouettes = cluster(projection[inside], options)
    labels = np.full(n, -1, dtype=np.int64)
    if len(inside):
        labels[inside] = _ordered(group_labels)
        k = int(labels[inside].max()) + 1
    agree, disagree, seen = group_counts(votes, labels, max(k, 1))
    stats = statement_stats(agree, disagree, seen)
    reps = (
        representative_statements(stats, votes.statements, moderated, options.max_representative)
        if k > 1
        else [() for _ in range(k)]
    )
    groups = tuple(
        Group(
            id=g,
            members=tuple(votes.participants[i] for i in np.flatnonzero(labels == g)),
            center=(
                float(projection[labels == g, 0].mean()),
                float(projection[labels == g, 1].mean()),
            ),
            representative=reps[g],
        )
        for g in range(k)
    )
    consensus, every = consensus_statements(
        agree[: max(k, 1)],
        disagree[: max(k, 1)],
        seen[: max(k, 1)],
        votes.statements,
        moderated,
        options.max_consensus,
    )
    return Analysis(
        participants=votes.participants,
        projection=projection,
        clustered=clustered,
        labels=labels,
        groups=groups,
        k=k,
        silhouettes=silhouettes,
        components=components,
        explained=explained,
        consensus=consensus,
        group_consensus=every,
    )


# --- Polis's export format ---------------------------------------------------------------------

META_COLUMNS = ("participant", "xid", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree")
_VOTE_TEXT = {"1": AGREE, "-1": DISAGREE, "0": PASS, "1.0": AGREE, "-1.0": DISAGREE, "0.0": PASS}


class PolisFormatError(ValueError):
    """A Polis export that cannot be read; ``line`` is 1-based (0 when not one line's fault)."""

    def __init__(self, message: str, line: int = 0) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(frozen=True)
class PolisExport:
    votes: Votes
    group_ids: dict[str, int]  # Polis's own group of each participant who has one


def read_participants_votes(lines: Iterable[str]) -> PolisExport:
    """Read a Polis ``participants-votes.csv`` (the text's lines): a ``participant`` column, the
    optional ``xid``, ``group-id``, ``n-comments``, ``n-votes``, ``n-agree``, ``n-disagree``
    columns, then one column per comment id holding 1, −1, 0 or nothing."""
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise PolisFormatError("the file is empty; expected a header row", 1) from None
    except csv.Error as exc:
        raise PolisFormatError(f"not CSV: {exc}", 1) from None
    header = [h.strip() for h in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if "participant" not in header:
        raise PolisFormatError(
            "no 'participant' column: this is not a Polis participants-votes.csv export", 1
        )
    statement_cols = [i for i, h in enumerate(header) if h not in META_COLUMNS]
    if not statement_cols:
        raise PolisFormatError("no comment columns after the participant columns", 1)
    last_meta = max(i for i, h in enumerate(header) if h in META_COLUMNS)
    if statement_cols[0] < last_meta:
        raise PolisFormatError(
            f"column {header[statement_cols[0]]!r} comes before the participant columns end", 1
        )
    names = [header[i] for i in statement_cols]
    empty = [i + 1 for i in statement_cols if not header[i]]
    if empty:
        raise PolisFormatError(f"column {empty[0]} has no comment id", 1)
    seen_names: set[str] = set()
    for name in names:
        if name in seen_names:
            raise PolisFormatError(f"comment {name!r} appears twice in the header", 1)
        seen_names.add(name)
    p_col = header.index("participant")
    g_col = header.index("group-id") if "group-id" in header else None
    participants: list[str] = []
    index: dict[str, int] = {}
    groups: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    values: list[int] = []
    line = 1
    try:
        for record in reader:
            line = reader.line_num
            if not record or all(not x.strip() for x in record):
                continue
            if len(record) != len(header):
                raise PolisFormatError(
                    f"{len(record)} fields where the header has {len(header)}", line
                )
            pid = record[p_col].strip()
            if not pid:
                raise PolisFormatError("the participant id is empty", line)
            if pid in index:
                raise PolisFormatError(f"participant {pid!r} appears twice", line)
            row = len(participants)
            index[pid] = row
            participants.append(pid)
            if g_col is not None and record[g_col].strip():
                try:
                    groups[pid] = int(record[g_col])
                except ValueError:
                    raise PolisFormatError(
                        f"group-id {record[g_col]!r} is not a whole number", line
                    ) from None
            for j, col in enumerate(statement_cols):
                cell = record[col].strip()
                if not cell:
                    continue
                vote = _VOTE_TEXT.get(cell)
                if vote is None:
                    raise PolisFormatError(
                        f"comment {names[j]!r}: {cell!r} is not a vote (1 agree, -1 disagree, "
                        "0 pass, empty not seen)",
                        line,
                    )
                rows.append(row)
                cols.append(j)
                values.append(vote)
    except csv.Error as exc:
        raise PolisFormatError(f"not CSV: {exc}", line) from None
    if not participants:
        raise PolisFormatError("the file has a header but no participants", 1)
    votes = Votes.from_arrays(participants, names, rows, cols, values)
    return PolisExport(votes=votes, group_ids=groups)


def read_moderation(lines: Iterable[str]) -> frozenset[str]:
    """The comment ids a Polis ``comments.csv`` marks moderated out (``moderated`` = −1)."""
    reader = csv.DictReader(lines)
    fields = [f.strip() for f in (reader.fieldnames or [])]
    if "comment-id" not in fields or "moderated" not in fields:
        raise PolisFormatError(
            "no 'comment-id' and 'moderated' columns: this is not a Polis comments.csv export", 1
        )
    out: set[str] = set()
    try:
        for record in reader:
            row = {k.strip(): (v or "").strip() for k, v in record.items() if k is not None}
            if row.get("moderated") in ("-1", "-1.0"):
                out.add(row["comment-id"])
    except csv.Error as exc:
        raise PolisFormatError(f"not CSV: {exc}", reader.line_num) from None
    return frozenset(out)


def summary(analysis: Analysis) -> dict[str, object]:
    """The analysis as the CLI prints it: ``{"groups": {participant: group}, "consensus":
    [statement ids], "representative": {group: [statement ids]}}``."""
    return {
        "groups": analysis.group_of(),
        "consensus": [c.statement for c in analysis.consensus],
        "representative": {
            str(g.id): [r.statement for r in g.representative] for g in analysis.groups
        },
    }
