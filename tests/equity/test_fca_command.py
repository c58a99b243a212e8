"""``urbangov equity fca`` on any data: its JSON, its agreement with the analytics and with
PySAL access on the Chicago tracts, and its answers to bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from tests.analytics.test_accessibility import chicago_data
from urbangov.analytics import accessibility, inequality

pytestmark = pytest.mark.usefixtures("english")


def write(path: Path, header: str, rows: list[str]) -> str:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def fca(*args: str, stderr: StringIO | None = None) -> dict:  # type: ignore[type-arg]
    out = StringIO()
    call_command("equity", "fca", *args, stdout=out, stderr=stderr or StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.fixture
def small(tmp_path: Path) -> tuple[str, str]:
    demand = write(
        tmp_path / "demand.csv",
        "id,x,y,population",
        ["A,0,0,100", "B,10,0,300", "C,50,50,10"],
    )
    supply = write(tmp_path / "supply.csv", "id,x,y,capacity", ["X,2,0,10", "Y,12,0,20"])
    return demand, supply


def test_two_step_by_hand(small: tuple[str, str]) -> None:
    demand, supply = small
    err = StringIO()
    body = fca("--demand", demand, "--supply", supply, "--threshold", "9", stderr=err)
    # The contract: exactly these two keys on the last line.
    assert list(body) == ["access", "gini"]
    # As in tests/analytics: A = 10/400, B = 10/400 + 20/300; C reaches nothing.
    assert body["access"] == {
        "A": pytest.approx(0.025),
        "B": pytest.approx(0.025 + 20 / 300),
        "C": 0.0,
    }
    values = np.array([0.025, 0.025 + 20 / 300, 0.0])
    assert body["gini"] == pytest.approx(inequality.gini(values, [100, 300, 10]))
    # What was computed, and who has nothing in reach, is said on stderr.
    assert "2sfca" in err.getvalue() and "1 demand point(s) with nothing in reach" in err.getvalue()


@pytest.mark.parametrize(
    ("flags", "method", "decay"),
    [
        (["--method", "e2sfca"], "e2sfca", "step"),
        (["--decay", "gaussian"], "e2sfca", "gaussian"),
        (["--method", "e2sfca", "--decay", "gaussian", "--sigma", "4"], "e2sfca", "gaussian"),
        (["--method", "gravity", "--beta", "2"], "gravity", None),
    ],
)
def test_methods_match_the_analytics(
    small: tuple[str, str], flags: list[str], method: str, decay: str | None
) -> None:
    demand, supply = small
    err = StringIO()
    body = fca("--demand", demand, "--supply", supply, "--threshold", "9", *flags, stderr=err)
    reach = accessibility.reach_from_points([[0, 0], [10, 0], [50, 50]], [[2, 0], [12, 0]], 9)
    sigma = 4.0 if "--sigma" in flags else None
    expected = accessibility.accessibility(
        [100, 300, 10],
        [10, 20],
        reach,
        method=method,
        decay=decay or "step",  # type: ignore[arg-type]
        sigma=sigma,
        beta=2.0 if method == "gravity" else 1.0,
    ).access
    assert [body["access"][k] for k in "ABC"] == pytest.approx(expected.tolist(), rel=1e-12)
    assert list(body) == ["access", "gini"]
    assert err.getvalue().startswith(method if decay is None else f"{method} ({decay})")


def test_haversine_takes_longitude_and_latitude(tmp_path: Path) -> None:
    demand = write(
        tmp_path / "d.csv", "id,x,y,population", ["near,121.400,31.200,50", "far,121.600,31.200,50"]
    )
    supply = write(tmp_path / "s.csv", "id,x,y,capacity", ["clinic,121.405,31.200,5"])
    body = fca(
        "--demand", demand, "--supply", supply, "--threshold", "1000", "--metric", "haversine"
    )
    # 0.005° of longitude at 31.2° N is about 476 m: in reach; 0.195° is about 18.6 km: not.
    assert body["access"] == {"near": pytest.approx(0.1), "far": 0.0}


def test_chicago_through_the_command_matches_pysal_access(tmp_path: Path) -> None:
    import pandas as pd
    from access import Access
    from scipy.spatial.distance import cdist

    df = chicago_data()
    d = df.rename(
        columns={"geoid": "id", "x_epsg2790": "x", "y_epsg2790": "y", "pop": "population"}
    )
    d[["id", "x", "y", "population"]].to_csv(tmp_path / "demand.csv", index=False)
    s = df.rename(columns={"geoid": "id", "x_epsg2790": "x", "y_epsg2790": "y", "doc": "capacity"})
    s[["id", "x", "y", "capacity"]].to_csv(tmp_path / "supply.csv", index=False)
    body = fca(
        "--demand",
        str(tmp_path / "demand.csv"),
        "--supply",
        str(tmp_path / "supply.csv"),
        "--threshold",
        "20000",
    )
    xy = df[["x_epsg2790", "y_epsg2790"]].to_numpy()
    cost = cdist(xy, xy)
    i, j = np.nonzero(cost <= 20000)
    peer = Access(
        demand_df=df[["geoid", "pop"]],
        demand_index="geoid",
        demand_value="pop",
        supply_df=df[["geoid", "doc"]],
        supply_index="geoid",
        supply_value="doc",
        cost_df=pd.DataFrame(
            {"o": df.geoid.to_numpy()[i], "d": df.geoid.to_numpy()[j], "c": cost[i, j]}
        ),
        cost_origin="o",
        cost_dest="d",
        cost_name="c",
    )
    ref = peer.two_stage_fca(name="x", max_cost=20000)["x_doc"]
    ours = pd.Series(body["access"]).reindex(ref.index)
    assert len(body["access"]) == 1930
    assert np.allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-9, atol=0)


@pytest.mark.parametrize(
    ("demand_rows", "supply_rows", "flags", "message"),
    [
        (["A,0,0,-5"], ["X,0,0,1"], [], "population must not be negative"),
        (["A,0,0,5"], ["X,0,0,-1"], [], "capacity must not be negative"),
        (["A,,0,5"], ["X,0,0,1"], [], "missing coordinates"),
        (["A,0,0,5", "A,1,1,5"], ["X,0,0,1"], [], "appears twice"),
        (["A,0,0,5"], ["X,0,0,1"], ["--method", "2sfca", "--decay", "step"], "--decay applies"),
        (["A,500,0,5"], ["X,0,0,1"], ["--metric", "haversine"], "longitude"),
        (["A,0,0,5"], ["X,0,0,1"], ["--sigma", "-1", "--decay", "gaussian"], "--sigma"),
    ],
)
def test_bad_input_names_the_problem(
    tmp_path: Path, demand_rows: list[str], supply_rows: list[str], flags: list[str], message: str
) -> None:
    demand = write(tmp_path / "d.csv", "id,x,y,population", demand_rows)
    supply = write(tmp_path / "s.csv", "id,x,y,capacity", supply_rows)
    with pytest.raises(CommandError, match=message):
        fca("--demand", demand, "--supply", supply, "--threshold", "10", *flags)


def test_wrong_columns_and_missing_files(tmp_path: Path) -> None:
    demand = write(tmp_path / "d.csv", "id,lon,lat,population", ["A,0,0,5"])
    supply = write(tmp_path / "s.csv", "id,x,y,capacity", ["X,0,0,1"])
    with pytest.raises(CommandError, match="lacks the column"):
        fca("--demand", demand, "--supply", supply, "--threshold", "10")
    with pytest.raises(CommandError, match=r"nope\.csv: no such file"):
        fca("--demand", str(tmp_path / "nope.csv"), "--supply", supply, "--threshold", "10")
    with pytest.raises(CommandError, match="positive"):
        fca("--demand", supply, "--supply", supply, "--threshold", "0")


def test_the_real_command_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    demand = write(tmp_path / "d.csv", "id,x,y,population", ["A,0,0,-1"])
    supply = write(tmp_path / "s.csv", "id,x,y,capacity", ["X,0,0,1"])
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SECRET_KEY="cli-test", URBANGOV_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "urbangov.cli",
            "equity",
            "fca",
            "--demand",
            demand,
            "--supply",
            supply,
            "--threshold",
            "5",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "line 2" in done.stderr and "population must not be negative" in done.stderr
    ok = write(tmp_path / "ok.csv", "id,x,y,population", ["A,0,0,1"])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "urbangov.cli",
            "equity",
            "fca",
            "--demand",
            ok,
            "--supply",
            supply,
            "--threshold",
            "5",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["access"] == {"A": 1.0}
