"""`urbangov pii scan` and `urbangov pii redact` end to end: lines on stdin, answers on stdout,
bad input refused with exit status 2 and a line saying what is wrong."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

URBANGOV = [sys.executable, "-m", "urbangov.cli"]


def _run(args: list[str], data: bytes, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.update(SECRET_KEY="pii-test-key", URBANGOV_DATA_DIR=str(tmp_path), LANG="C", LC_ALL="C")
    return subprocess.run(URBANGOV + args, input=data, env=env, capture_output=True, timeout=120)


LINES = [
    "请联系张伟，电话13812345678",
    "",
    "😀身份证号11010519491231002X，住朝阳区建国路88号3栋2单元501室",
    "My name is John Smith, call (312) 555-0147 or email john.smith@example.com.",
    "今天天气晴朗，订单号202403150012345678。",
]


def test_scan_prints_one_json_object_per_line(tmp_path: Path) -> None:
    done = _run(["pii", "scan"], ("\n".join(LINES) + "\n").encode(), tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    out = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert len(out) == len(LINES)
    assert out[0] == {
        "spans": [
            {"start": 3, "end": 5, "type": "PERSON"},
            {"start": 8, "end": 19, "type": "PHONE"},
        ]
    }
    assert out[1] == {"spans": []}
    # Offsets are code points: the emoji is one (it would be two in UTF-16, four in UTF-8).
    third = LINES[2]
    got = [(s["type"], third[s["start"] : s["end"]]) for s in out[2]["spans"]]
    assert got == [
        ("ID_NUMBER", "11010519491231002X"),
        ("ADDRESS", "朝阳区建国路88号3栋2单元501室"),
    ]
    assert out[2]["spans"][0]["start"] == 5
    fourth = LINES[3]
    got = [(s["type"], fourth[s["start"] : s["end"]]) for s in out[3]["spans"]]
    assert got == [
        ("PERSON", "John Smith"),
        ("PHONE", "(312) 555-0147"),
        ("EMAIL", "john.smith@example.com"),
    ]
    assert out[4] == {"spans": []}  # an order number and a date are not personal data
    assert set(out[0]["spans"][0]) == {"start", "end", "type"}


def test_redact_prints_the_masked_lines(tmp_path: Path) -> None:
    done = _run(["pii", "redact"], ("\r\n".join(LINES) + "\r\n").encode(), tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode("utf-8").splitlines() == [
        "请联系张*，电话138****5678",
        "",
        "😀身份证号110***********002X，住[地址]",
        "My name is J*********, call (312) ***-0147 or email j***@example.com.",
        "今天天气晴朗，订单号202403150012345678。",
    ]


def test_types_and_keep(tmp_path: Path) -> None:
    line = "请联系张伟，电话13812345678\n".encode()
    scan = _run(["pii", "scan", "--types", "phone"], line, tmp_path)
    assert json.loads(scan.stdout) == {"spans": [{"start": 8, "end": 19, "type": "PHONE"}]}
    redact = _run(["pii", "redact", "--keep", "PHONE"], line, tmp_path)
    assert redact.stdout.decode("utf-8").strip() == "请联系张*，电话13812345678"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"fine line\n\xff\xfe\x00\x01 binary\n", b"Line 2 has a NUL byte"),
        (
            b"\xe5\xbc\xa0\xe4\xbc\x9f ok\n\xe5\xbc bad utf-8\n",
            b"Line 2 is not UTF-8 text (byte 1)",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"Line 1 is not UTF-8 text"),
    ],
)
def test_binary_or_invalid_input_is_refused_clearly(
    data: bytes, message: bytes, tmp_path: Path
) -> None:
    done = _run(["pii", "scan"], data, tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert b"Traceback" not in done.stderr
    redact = _run(["pii", "redact"], data, tmp_path)
    assert redact.returncode == 2 and b"Traceback" not in redact.stderr


def test_lines_before_a_bad_one_are_answered(tmp_path: Path) -> None:
    done = _run(["pii", "scan"], "电话13812345678\n".encode() + b"\xff\n", tmp_path)
    assert done.returncode == 2
    assert json.loads(done.stdout.splitlines()[0])["spans"][0]["type"] == "PHONE"


def test_unknown_type_is_refused(tmp_path: Path) -> None:
    done = _run(["pii", "scan", "--types", "PHONE,SHOE_SIZE"], b"x\n", tmp_path)
    assert done.returncode == 2
    assert b"Unknown type SHOE_SIZE" in done.stderr and b"Traceback" not in done.stderr


def test_in_process_with_a_byte_stream() -> None:
    out = io.StringIO()
    call_command("pii", "redact", stdin=io.BytesIO("车牌京A12345\n".encode()), stdout=out)
    assert out.getvalue() == "车牌京A*****\n"
    with pytest.raises(CommandError) as refused:
        call_command("pii", "scan", stdin=io.BytesIO(b"\xc3\x28\n"), stdout=io.StringIO())
    assert refused.value.returncode == 2
