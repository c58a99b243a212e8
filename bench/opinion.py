"""Opinion analysis: agreement with Polis's own groups on its open data, and speed.

    .venv/bin/python bench/opinion.py [--data DIR] [--seeds N] [--participants N]
        [--statements N] [--density F] [--no-peer]

1. For every conversation under ``--data`` (default ``../shared/data/polis_open_data``) that has
   a ``participants-votes.csv``: the adjusted Rand index of our groups against the export's
   ``group-id`` column, over the participants both clustered. Four methods side by side:
   - ``ours``: :func:`urbangov.analytics.opinion.analyze`, with the statements
     ``comments.csv`` marks moderated out (what the platform does: it knows its moderation);
   - ``ours_no_moderation``: the same without ``comments.csv`` (what ``urbangov deliberation
     analyze --votes FILE`` does without ``--comments``);
   - ``baseline``: plain PCA of the mean-imputed matrix and k-means with k from 2 to 5 by
     silhouette, over the same participants;
   - ``red_dwarf``: the peer library red-dwarf (a Python reimplementation of Polis's math),
     with the same moderation, when it is installed (``pip install -e .[bench]``).
   Our method's answer depends on the seed of its k-means starts; the median over seeds
   0..N-1 is printed too, so that no seed is picked to suit the files.
2. Speed: a synthetic conversation of 20,000 participants × 2,000 statements with 5 % of the
   cells voted and three planted opinion groups; the time of one analysis (goal: under 10 s on
   two cores), and of red-dwarf on the same votes.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from urbangov.analytics import opinion

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "polis_open_data"


def ari(a: list[int], b: list[int]) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def against_polis(groups: dict[str, int], polis: dict[str, int]) -> tuple[float, int]:
    common = [p for p in groups if p in polis]
    if len(common) < 2:
        return float("nan"), len(common)
    return ari([polis[p] for p in common], [groups[p] for p in common]), len(common)


def baseline_groups(votes: opinion.Votes) -> dict[str, int]:
    """Plain PCA of the mean-imputed matrix, k-means with k in 2..5 chosen by silhouette, over
    the participants Polis would cluster (at least 7 votes)."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score

    n, m = votes.shape
    dense = np.full((n, m), np.nan)
    dense[votes.rows, votes.cols] = votes.values
    means = np.nan_to_num(np.nanmean(dense, axis=0))
    filled = np.where(np.isnan(dense), means, dense)
    points = PCA(n_components=2, random_state=0).fit_transform(filled)
    chosen = opinion.clustered_participants(
        votes.counts(), opinion.voted_statements(votes), opinion.Options()
    )
    inside = points[chosen]
    best: tuple[float, np.ndarray] | None = None
    for k in range(2, 6):
        if k >= len(inside):
            break
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(inside)
        score = float(silhouette_score(inside, labels))
        if best is None or score > best[0]:
            best = (score, labels)
    assert best is not None
    ids = [p for p, c in zip(votes.participants, chosen, strict=True) if c]
    return {p: int(g) for p, g in zip(ids, best[1], strict=True)}


def red_dwarf_groups(votes: opinion.Votes, moderated: frozenset[str]) -> dict[str, int] | None:
    try:
        from reddwarf.implementations.polis import run_pipeline
    except ImportError:
        return None
    records = [
        {
            "participant_id": int(votes.participants[r]),
            "statement_id": int(votes.statements[c]),
            "vote": int(v),
            "modified": 0,
        }
        for r, c, v in zip(votes.rows, votes.cols, votes.values, strict=True)
    ]
    result = run_pipeline(
        votes=records,
        mod_out_statement_ids=[int(s) for s in moderated],
        random_state=0,
    )
    frame = result.participants_df
    clustered = frame[frame["to_cluster"]]
    return {str(pid): int(g) for pid, g in clustered["cluster_id"].items()}


def conversations(data: Path, seeds: int, peer: bool) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for folder in sorted(p for p in data.iterdir() if (p / "participants-votes.csv").exists()):
        with open(folder / "participants-votes.csv", encoding="utf-8", newline="") as fh:
            export = opinion.read_participants_votes(fh)
        moderated: frozenset[str] = frozenset()
        if (folder / "comments.csv").exists():
            with open(folder / "comments.csv", encoding="utf-8", newline="") as fh:
                moderated = opinion.read_moderation(fh)
        started = time.perf_counter()
        ours = opinion.analyze(export.votes, moderated_out=moderated)
        seconds = time.perf_counter() - started
        ours_ari, n = against_polis(ours.group_of(), export.group_ids)
        bare = opinion.analyze(export.votes)
        row: dict[str, Any] = {
            "participants": export.votes.shape[0],
            "statements": export.votes.shape[1],
            "compared": n,
            "polis_k": len(set(export.group_ids.values())),
            "k": ours.k,
            "ours": round(ours_ari, 3),
            "ours_no_moderation": round(against_polis(bare.group_of(), export.group_ids)[0], 3),
            "baseline": round(against_polis(baseline_groups(export.votes), export.group_ids)[0], 3),
            "seconds": round(seconds, 3),
        }
        by_seed = [ours_ari]
        for seed in range(1, seeds):
            again = opinion.analyze(
                export.votes, moderated_out=moderated, options=opinion.Options(seed=seed)
            )
            by_seed.append(against_polis(again.group_of(), export.group_ids)[0])
        row["ours_by_seed"] = [round(x, 3) for x in by_seed]
        if peer:
            peer_groups = red_dwarf_groups(export.votes, moderated)
            if peer_groups is not None:
                row["red_dwarf"] = round(against_polis(peer_groups, export.group_ids)[0], 3)
        rows[folder.name] = row
        print(f"{folder.name[:44]:44} " + " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return rows


def synthetic(n: int, m: int, density: float, seed: int = 7) -> opinion.Votes:
    """``n`` participants in three planted opinion groups voting on ``density`` of ``m``
    statements; each group agrees with a statement with its own probability."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, size=n)
    lean = rng.uniform(0.1, 0.9, size=(3, m))
    per_person = rng.binomial(m, density, size=n).clip(1, m)
    rows = np.repeat(np.arange(n), per_person)
    cols = np.concatenate([rng.choice(m, size=c, replace=False) for c in per_person])
    p_agree = lean[group[rows], cols]
    draw = rng.random(len(rows))
    values = np.where(draw < p_agree * 0.85, 1, np.where(draw < 0.85, -1, 0))
    return opinion.Votes.from_arrays(
        [str(i) for i in range(n)], [str(j) for j in range(m)], rows, cols, values
    )


def speed(n: int, m: int, density: float, peer: bool) -> dict[str, Any]:
    started = time.perf_counter()
    votes = synthetic(n, m, density)
    built = time.perf_counter() - started
    started = time.perf_counter()
    result = opinion.analyze(votes)
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {
        "participants": n,
        "statements": m,
        "votes": len(votes.rows),
        "build_seconds": round(built, 2),
        "seconds": round(seconds, 2),
        "k": result.k,
    }
    print(
        f"speed: {n:,} × {m:,}, {len(votes.rows):,} votes: {seconds:.2f} s, k={result.k}",
        flush=True,
    )
    if peer:
        try:
            import reddwarf  # noqa: F401
        except ImportError:
            return out
        started = time.perf_counter()
        red_dwarf_groups(votes, frozenset())
        peer_seconds = time.perf_counter() - started
        out["red_dwarf_seconds"] = round(peer_seconds, 2)
        out["speedup_vs_red_dwarf"] = round(peer_seconds / seconds, 1)
        print(f"speed: red-dwarf {peer_seconds:.2f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--participants", type=int, default=20_000)
    parser.add_argument("--statements", type=int, default=2_000)
    parser.add_argument("--density", type=float, default=0.05)
    parser.add_argument("--no-peer", action="store_true", help="skip red-dwarf")
    options = parser.parse_args()
    figures: dict[str, Any] = {"cpus": os.cpu_count()}
    if options.data.exists():
        rows = conversations(options.data, options.seeds, not options.no_peer)
        figures["conversations"] = rows
        for key in ("ours", "ours_no_moderation", "baseline", "red_dwarf"):
            values = [r[key] for r in rows.values() if key in r]
            if values:
                figures[f"median_{key}"] = round(statistics.median(values), 3)
        per_seed = [
            statistics.median(r["ours_by_seed"][s] for r in rows.values())
            for s in range(options.seeds)
        ]
        figures["median_ours_per_seed"] = [round(x, 3) for x in per_seed]
        figures["median_ours_over_seeds"] = round(statistics.median(per_seed), 3)
    else:
        print(f"no data at {options.data}; skipping the agreement part", flush=True)
    figures["speed"] = speed(
        options.participants, options.statements, options.density, not options.no_peer
    )
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
