"""``urbangov deliberation analyze --votes FILE``: the JSON last line for a Polis export, and a
clear line with exit status 2 for files that are not one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

URBANGOV = str(Path(sys.executable).with_name("urbangov"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBUG": "1"}
    return subprocess.run(
        [URBANGOV, "deliberation", *args], capture_output=True, text=True, env=env, timeout=120
    )


def polis_csv(path: Path) -> None:
    """Two camps of 20 on statements 0–5 and a statement 6 everyone agrees with."""
    rng = np.random.default_rng(4)
    lines = [
        "participant,group-id,n-comments,n-votes,n-agree,n-disagree,"
        + ",".join(str(j) for j in range(7))
    ]
    for i in range(40):
        camp = i < 20
        votes = [(1 if (j < 3) == camp else -1) if rng.random() < 0.92 else 0 for j in range(6)] + [
            1
        ]
        lines.append(
            f"{100 + i},{int(not camp)},0,7,{votes.count(1)},{votes.count(-1)},"
            + ",".join(map(str, votes))
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_analyze_prints_groups_consensus_and_representatives(tmp_path: Path) -> None:
    votes = tmp_path / "participants-votes.csv"
    polis_csv(votes)
    done = run("analyze", "--votes", str(votes))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) == {"groups", "consensus", "representative"}
    groups = result["groups"]
    assert len(groups) == 40 and set(groups.values()) == {0, 1}
    assert len({groups[str(100 + i)] for i in range(20)}) == 1
    assert groups["100"] != groups["120"]
    assert result["consensus"][0] == 6
    assert set(result["representative"]) == {"0", "1"}
    assert all(isinstance(c, int) for ids in result["representative"].values() for c in ids)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("voter,a\n1,1\n", ":1: no 'participant' column"),
        ("participant,0,1\n1,1,2\n", ":2: comment '1': '2' is not a vote"),
        (b"\xff\xfe\x00participant", "not UTF-8"),
    ],
)
def test_malformed_files_exit_2_with_a_clear_line(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    bad = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    done = run("analyze", "--votes", str(bad))
    assert done.returncode == 2
    assert expected in done.stderr and str(bad) in done.stderr


def test_missing_file(tmp_path: Path) -> None:
    done = run("analyze", "--votes", str(tmp_path / "nope.csv"))
    assert done.returncode == 2 and "no such file" in done.stderr
