"""Bias audits: against fairlearn's MetricFrame, a hand calculation, ProPublica's COMPAS
figures, and the ``urbangov audit run`` command's contract and its refusals."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from urbangov.analytics import fairness

# The shared data folder sits beside the repository; /work/shared where the clone is elsewhere.
COMPAS = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[3] / "shared" / "data" / "compas",
            Path("/work/shared/data/compas"),
        )
        if p.is_dir()
    ),
    Path("/work/shared/data/compas"),
)
TWO_YEARS = COMPAS / "compas-scores-two-years.csv"
needs_compas = pytest.mark.skipif(not TWO_YEARS.exists(), reason="COMPAS data not present")


def compas_frame():  # type: ignore[no-untyped-def]
    """ProPublica's filters from their analysis notebook."""
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(TWO_YEARS)
    df = df[
        (df.days_b_screening_arrest <= 30)
        & (df.days_b_screening_arrest >= -30)
        & (df.is_recid != -1)
        & (df.c_charge_degree != "O")
        & (df.score_text != "N/A")
        & df.score_text.notna()
    ]
    return df


# --- kernels against hand calculations ------------------------------------------------------


def test_confusion_by_group_by_hand() -> None:
    groups = ["a", "a", "a", "a", "b", "b", "b", "b", "b"]
    y = [1, 1, 0, 0, 1, 0, 0, 0, 1]
    p = [1, 0, 1, 0, 1, 1, 1, 0, 0]
    a = fairness.audit(groups, y, p, reference="a")
    ga, gb = a.groups["a"], a.groups["b"]
    assert (ga.tp, ga.fn, ga.fp, ga.tn) == (1, 1, 1, 1)
    assert (gb.tp, gb.fn, gb.fp, gb.tn) == (1, 1, 2, 1)
    assert gb.selection_rate.value == pytest.approx(3 / 5)
    assert gb.fpr.value == pytest.approx(2 / 3)
    assert gb.fnr.value == pytest.approx(1 / 2)
    assert gb.ppv.value == pytest.approx(1 / 3)
    fpr = next(d for d in a.disparities if d.group == "b" and d.metric == "fpr")
    assert fpr.difference == pytest.approx(2 / 3 - 1 / 2)
    assert fpr.ratio == pytest.approx((2 / 3) / (1 / 2))


def test_wilson_against_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 → 0.2553 to 0.3662.
    low, high = fairness.wilson(np.array([81]), np.array([263]))
    assert low[0] == pytest.approx(0.2553, abs=5e-5)
    assert high[0] == pytest.approx(0.3662, abs=5e-5)


def test_holm_by_hand() -> None:
    # p = (0.01, 0.04, 0.03, 0.005): sorted 0.005, 0.01, 0.03, 0.04 × 4, 3, 2, 1
    # = 0.02, 0.03, 0.06, 0.04 → cumulative max 0.02, 0.03, 0.06, 0.06.
    got = fairness.holm([0.01, 0.04, 0.03, 0.005])
    assert got.tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_two_proportion_test_matches_scipy_chi2() -> None:
    from scipy.stats import chi2_contingency

    table = np.array([[30, 70], [50, 50]])
    _, p, _, _ = chi2_contingency(table, correction=False)
    assert fairness.two_proportion_p(30, 100, 50, 100) == pytest.approx(p, rel=1e-12)


def test_intersectional_groups_match_a_naive_loop() -> None:
    rng = np.random.default_rng(5)
    n = 5000
    cols = {"a": rng.integers(0, 3, n), "b": rng.choice(["x", "y"], n), "c": rng.integers(0, 2, n)}
    y = rng.integers(0, 2, n)
    p = rng.integers(0, 2, n)
    got = fairness.audit(cols, y, p)
    for key, m in got.groups.items():
        a, b, c = key.split("|")
        mask = (cols["a"] == int(a)) & (cols["b"] == b) & (cols["c"] == int(c))
        assert m.n == int(mask.sum())
        assert m.fp == int(((p == 1) & (y == 0) & mask).sum())
        assert m.fn == int(((p == 0) & (y == 1) & mask).sum())
    assert sum(m.n for m in got.groups.values()) == n


def test_mean_outcome_time() -> None:
    a = fairness.audit(
        ["a", "a", "b", "b"], [1, 0, 1, 0], [1, 1, 0, 0], outcome_time=[2.0, 4.0, 10.0, np.nan]
    )
    assert a.groups["a"].mean_outcome_time == pytest.approx(3.0)
    assert a.groups["b"].mean_outcome_time == pytest.approx(10.0)


def test_focus_chooses_the_error_that_matters() -> None:
    # Group b is wrongly flagged far more often (FPR) but misses no more often (FNR).
    rng = np.random.default_rng(1)
    n = 4000
    g = np.repeat(["a", "b"], n)
    y = rng.integers(0, 2, 2 * n)
    flag_rate = np.where(g == "a", 0.1, 0.4)
    p = np.where(y == 1, rng.random(2 * n) < 0.8, rng.random(2 * n) < flag_rate).astype(int)
    punitive = fairness.audit(g, y, p, reference="a", focus="punitive")
    assistive = fairness.audit(g, y, p, reference="a", focus="assistive")
    assert [(f.group, f.metric) for f in punitive.findings] == [("b", "fpr")]
    assert assistive.findings == []


def test_no_finding_for_a_small_insignificant_gap() -> None:
    # Ratio 0.5 but on 4 people: not significant after correction.
    g = ["a"] * 100 + ["b"] * 4
    y = [0] * 104
    p = [1] * 40 + [0] * 60 + [1, 0, 0, 0]
    a = fairness.audit(g, y, p, reference="a", focus="selection")
    assert a.findings == []
    d = next(d for d in a.disparities if d.metric == "selection_rate")
    assert d.ratio == pytest.approx(0.25 / 0.4)


@pytest.mark.parametrize(
    ("groups", "labels", "preds", "reference", "message"),
    [
        (["a", "a"], [0, 1], [0, 1], None, "single value"),
        (["a", "b"], [0, 2], [0, 1], None, "not binary"),
        (["a", "b"], ["0", ""], [0, 1], None, "missing"),
        (["a", ""], [0, 1], [0, 1], None, "missing"),
        (["a", "b"], [0, 1], [0, 1], "c", "does not occur"),
        (["a", "b"], [0, 1], [0, 1, 1], None, "different lengths"),
        ([np.nan, 1.0], [0, 1], [0, 1], None, "missing"),
    ],
)
def test_bad_input_is_refused_clearly(groups, labels, preds, reference, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(fairness.AuditError, match=message):
        fairness.audit(groups, labels, preds, reference=reference)


# --- against fairlearn ----------------------------------------------------------------------


def _metric_frame(y, p, sensitive):  # type: ignore[no-untyped-def]
    fm = pytest.importorskip("fairlearn.metrics")
    from sklearn.metrics import precision_score

    return fm.MetricFrame(
        metrics={
            "selection_rate": fm.selection_rate,
            "tpr": fm.true_positive_rate,
            "fpr": fm.false_positive_rate,
            "fnr": fm.false_negative_rate,
            "ppv": partial(precision_score, zero_division=np.nan),
            "n": fm.count,
        },
        y_true=y,
        y_pred=p,
        sensitive_features=sensitive,
    )


@needs_compas
def test_compas_matches_fairlearn_metricframe_to_1e_9() -> None:
    df = compas_frame()
    assert len(df) == 6172  # ProPublica's notebook: 6,172 rows after the filters
    pred = df.score_text.isin(["Medium", "High"]).astype(int).to_numpy()
    ours = fairness.audit(df.race.to_numpy(object), df.two_year_recid.to_numpy(), pred)
    theirs = _metric_frame(df.two_year_recid.to_numpy(), pred, df.race.to_numpy()).by_group
    assert set(ours.groups) == set(theirs.index)
    for g, m in ours.groups.items():
        assert m.n == theirs.loc[g, "n"]
        for metric in fairness.METRICS:
            assert math.isclose(m.rate(metric).value, theirs.loc[g, metric], abs_tol=1e-9), (
                g,
                metric,
            )
    # MetricFrame's differences against the reference group, too.
    ref = "African-American"
    assert ours.reference == ref  # the largest group by default
    for d in ours.disparities:
        expected = theirs.loc[d.group, d.metric] - theirs.loc[ref, d.metric]
        assert math.isclose(d.difference, expected, abs_tol=1e-9)


def test_random_intersections_match_fairlearn_to_1e_9() -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(11)
    n = 20_000
    sf = pd.DataFrame(
        {"a": rng.integers(0, 4, n), "b": rng.integers(0, 3, n), "c": rng.integers(0, 2, n)}
    )
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < 0.3 + 0.1 * sf.a.to_numpy()).astype(int)
    ours = fairness.audit({c: sf[c].to_numpy() for c in sf.columns}, y, p)
    theirs = _metric_frame(y, p, sf).by_group
    for key, row in theirs.iterrows():
        m = ours.groups["|".join(str(k) for k in key)]
        assert m.n == row["n"]
        for metric in fairness.METRICS:
            assert math.isclose(m.rate(metric).value, row[metric], abs_tol=1e-9)


@needs_compas
def test_compas_shows_the_disparity_propublica_reported() -> None:
    """ProPublica ("How we analyzed the COMPAS recidivism algorithm", 2016): Black defendants'
    false-positive rate 44.9 % against 23.5 % for White, false-negative rate 28.0 % against
    47.7 %. Those figures come from their Cox-parsed file; on the two-year file with the same
    filters the rates are 42.3 % / 22.0 % and 28.5 % / 49.6 %: the same ~2× disparity."""
    df = compas_frame()
    pred = df.score_text.isin(["Medium", "High"]).astype(int).to_numpy()
    a = fairness.audit(
        df.race.to_numpy(object),
        df.two_year_recid.to_numpy(),
        pred,
        reference="Caucasian",
        focus="punitive",
    )
    black, white = a.groups["African-American"], a.groups["Caucasian"]
    assert black.fpr.value == pytest.approx(0.449, abs=0.03)
    assert white.fpr.value == pytest.approx(0.235, abs=0.03)
    assert black.fnr.value == pytest.approx(0.280, abs=0.03)
    assert white.fnr.value == pytest.approx(0.477, abs=0.03)
    assert 1.7 < black.fpr.value / white.fpr.value < 2.2
    assert 1.5 < white.fnr.value / black.fnr.value < 2.0
    # The intervals do not overlap, and the finding is made.
    assert black.fpr.low > white.fpr.high
    found = {(f.group, f.metric) for f in a.findings}
    assert ("African-American", "fpr") in found
    assert all(f.metric == "fpr" for f in a.findings)


# --- the command ----------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.setdefault("SECRET_KEY", "fairness-test")
    return subprocess.run(
        [sys.executable, "-m", "urbangov.cli", "audit", "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_compas
def test_cli_on_compas_prints_the_contract() -> None:
    done = _cli(
        "--csv", str(TWO_YEARS), "--group", "race", "--label", "two_year_recid",
        "--prediction", "score_text", "--positive", "Medium", "--positive", "High",
        "--reference", "Caucasian",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(out) == ["groups", "reference", "disparities", "findings"]
    assert out["reference"] == "Caucasian"
    assert set(out["groups"]["Caucasian"]) == {"n", "selection_rate", "tpr", "fpr", "fnr", "ppv"}
    # Unfiltered file: 7,214 rows in all.
    assert sum(g["n"] for g in out["groups"].values()) == 7214
    black = out["disparities"]["African-American"]["fpr"]
    assert black["ratio"] > 1.7
    assert black["ci"][0] < black["value"] < black["ci"][1]
    assert any(f["group"] == "African-American" for f in out["findings"])


def test_cli_refuses_bad_input(tmp_path: Path) -> None:
    one_group = tmp_path / "one.csv"
    one_group.write_text("g,y,p\na,1,1\na,0,1\n")
    done = _cli("--csv", str(one_group), "--group", "g", "--label", "y", "--prediction", "p")
    assert done.returncode == 2
    assert "single value" in done.stderr

    not_binary = tmp_path / "nb.csv"
    not_binary.write_text("g,y,p\na,1,1\nb,3,1\n")
    done = _cli("--csv", str(not_binary), "--group", "g", "--label", "y", "--prediction", "p")
    assert done.returncode == 2
    assert "not binary" in done.stderr

    missing = tmp_path / "m.csv"
    missing.write_text("g,y,p\na,1,1\n,0,1\nb,1,0\n")
    done = _cli("--csv", str(missing), "--group", "g", "--label", "y", "--prediction", "p")
    assert done.returncode == 2
    assert "missing value" in done.stderr and "line 3" in done.stderr

    fine = tmp_path / "ok.csv"
    fine.write_text("g,y,p\na,1,1\nb,0,1\n")
    done = _cli(
        "--csv", str(fine), "--group", "g", "--label", "y", "--prediction", "p",
        "--reference", "zzz",
    )  # fmt: skip
    assert done.returncode == 2
    assert "'zzz' does not occur" in done.stderr
    assert done.stdout == ""

    done = _cli("--csv", str(fine), "--group", "nope", "--label", "y", "--prediction", "p")
    assert done.returncode == 2
    assert "no column(s) nope" in done.stderr


def test_cli_several_group_columns_and_outcome_time(tmp_path: Path) -> None:
    rows = ["district,channel,y,p,hours"]
    for i in range(40):
        rows.append(
            f"{'D1' if i % 2 else 'D2'},{'phone' if i % 4 < 2 else 'web'},{i % 3 % 2},{i % 5 % 2},{i}"
        )
    data = tmp_path / "d.csv"
    data.write_text("\n".join(rows) + "\n")
    done = _cli(
        "--csv", str(data), "--group", "district", "--group", "channel", "--label", "y",
        "--prediction", "p", "--time", "hours",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(out["groups"]) == {"D1|phone", "D1|web", "D2|phone", "D2|web"}
    # D1|phone: odd i with i % 4 < 2 → i = 1, 5, 9, …, 37: mean 19.
    assert out["disparities"]["D1|phone"]["mean_outcome_time"]["value"] == pytest.approx(19.0)
    assert sum(g["n"] for g in out["groups"].values()) == 40


def test_cli_reads_a_gbk_export(tmp_path: Path) -> None:
    """Group names in Chinese, as Chinese Excel writes them (GBK): read as such."""
    rows = ["街道,结果,预测"] + [
        f"{'东街' if i % 2 else '西街'},{i % 3 % 2},{i % 5 % 2}" for i in range(40)
    ]
    data = tmp_path / "gbk.csv"
    data.write_bytes(("\r\n".join(rows) + "\r\n").encode("gbk"))
    done = _cli("--csv", str(data), "--group", "街道", "--label", "结果", "--prediction", "预测")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert {g: v["n"] for g, v in out["groups"].items()} == {"东街": 20, "西街": 20}
