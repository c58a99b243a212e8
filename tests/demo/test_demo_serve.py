"""``urbangov demo`` as a user runs it: a fresh data folder, one command, a live server with
its background worker, and both gone after Ctrl+C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

URBANGOV = Path(sys.executable).parent / "urbangov"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"demo exited early:\n{log.read_text(errors='replace')}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"demo did not serve {url} in {seconds} s:\n{log.read_text(errors='replace')}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_serves_with_a_worker_and_stops_both(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        # a user's plain environment: SQLite in the data folder, the real task worker
        if k
        not in {
            "DATABASE_URL",
            "SECRET_KEY",
            "SECRET_KEY_FILE",
            "URBANGOV_TASK_BACKEND",
            "URBANGOV_HTTPS",
            "DJANGO_SETTINGS_MODULE",
        }
    }
    env["URBANGOV_DATA_DIR"] = str(tmp_path / "data")
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(URBANGOV), "demo", "--cases", "300", "--seed", "9", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/", proc, log, 240)
        output = log.read_text(errors="replace")
        # the demo made its own secret key in the data folder
        assert (tmp_path / "data" / "demo-secret-key").exists()
        assert (tmp_path / "data" / "urbangov.sqlite3").exists()
        password = re.search(r"^\s+operator\s+(\S+)", output, re.MULTILINE)
        assert password, output
        worker_pid = int(
            re.findall(
                r"\b(\d{2,})\b", next(line for line in output.splitlines() if "pid" in line)
            )[0]
        )
        assert alive(worker_pid)

        session = requests.Session()
        login = session.get(base + "/accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
        assert token
        response = session.post(
            base + "/accounts/login/",
            data={
                "username": "operator",
                "password": password.group(1),
                "csrfmiddlewaretoken": token.group(1),
            },
            headers={"Referer": base + "/accounts/login/"},
            timeout=30,
        )
        assert response.status_code == 200 and response.url.endswith("/cases/workbench/")
        assert "/cases/" in response.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("demo did not stop on Ctrl+C")
    deadline = time.monotonic() + 20
    while alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(worker_pid), "the background worker outlived the demo"
