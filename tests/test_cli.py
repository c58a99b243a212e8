"""The `urbangov` command end to end, in fresh processes with their own data folder."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

URBANGOV = [sys.executable, "-m", "urbangov.cli"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}}
    env.update(URBANGOV_DATA_DIR=str(data_dir), SECRET_KEY="cli-test-key", **extra)
    return env


def _run(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(URBANGOV + args, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("cli")
    done = _run(["migrate", "--noinput"], _env(data_dir))
    assert done.returncode == 0, done.stderr
    return data_dir


def test_refuses_to_start_without_secret_key_when_debug_is_off(tmp_path: Path) -> None:
    env = _env(tmp_path)
    del env["SECRET_KEY"]
    done = _run(["check"], env)
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr
    # One line that says what is wrong, not a traceback.
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("urbangov: ")
    env["DEBUG"] = "1"
    assert _run(["check"], env).returncode == 0


def test_file_verbs_run_without_the_city_configuration(tmp_path: Path) -> None:
    """Analysing a file needs no secret key: an analyst runs it anywhere."""
    env = _env(tmp_path)
    del env["SECRET_KEY"]
    done = subprocess.run(
        [*URBANGOV, "pii", "redact"],
        env=env,
        input="请联系13812345678\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "13812345678" not in done.stdout and "138" in done.stdout
    # The key is made for the process only: nothing is written.
    assert not (tmp_path / "demo-secret-key").exists()


def test_secret_key_from_file(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("from-a-file\n")
    env = _env(tmp_path, SECRET_KEY_FILE=str(key))
    del env["SECRET_KEY"]
    done = _run(
        ["shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"], env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "from-a-file"


def test_sqlite_in_data_dir_with_wal(migrated: Path) -> None:
    db = migrated / "urbangov.sqlite3"
    assert db.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_auditlog_verify_exit_codes(migrated: Path) -> None:
    env = _env(migrated)
    made = _run(
        [
            "shell",
            "-c",
            "from urbangov.privacy.actions import record\n"
            "for i in range(5): record(actor=None, action='cli.test', data={'i': i})",
        ],
        env,
    )
    assert made.returncode == 0, made.stderr
    sealed = _run(["auditlog", "seal"], env)
    assert sealed.returncode == 0 and "sealed 5 events" in sealed.stdout
    ok = _run(["auditlog", "verify"], env)
    assert ok.returncode == 0 and "intact: 5 sealed events" in ok.stdout
    with sqlite3.connect(migrated / "urbangov.sqlite3") as conn:
        victim = conn.execute(
            "SELECT id FROM privacy_auditevent ORDER BY id LIMIT 1 OFFSET 2"
        ).fetchone()[0]
        tamper = "UPDATE privacy_auditevent SET actor_label = 'mallory' WHERE id = ?"
        # The append-only guard refuses the edit; someone who can change the schema drops it
        # first, and the chain still finds the edit.
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(tamper, (victim,))
        conn.execute("DROP TRIGGER privacy_auditevent_no_update")
        conn.execute(tamper, (victim,))
    bad = _run(["auditlog", "verify"], env)
    assert bad.returncode == 1
    assert f"event {victim}" in bad.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_pages_and_static_files(migrated: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [*URBANGOV, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=_env(migrated),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    body = page.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        assert "urbangov" in body and 'lang="zh-hans"' in body
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/static/css/urbangov.css", timeout=5
        ) as css:
            assert css.status == 200 and b"body.elder" in css.read()
    finally:
        proc.terminate()
        proc.wait(20)


def test_worker_runs_queued_tasks_and_seals_the_log(migrated: Path) -> None:
    env = _env(migrated, URBANGOV_SEAL_INTERVAL="0.5")
    # The worker is the database backend's; submit with that backend so the task is queued.
    env.pop("URBANGOV_TASK_BACKEND", None)
    made = _run(
        [
            "shell",
            "-c",
            "from django.db import transaction\n"
            "from urbangov.cases.actions import submit_case, Submission\n"
            "r = submit_case(actor=None, submission=Submission(channel='web', title='t', text='路灯坏了'))\n"
            "print(r.case.pk)",
        ],
        env,
    )
    assert made.returncode == 0, made.stderr
    case_id = int(made.stdout.strip().splitlines()[-1])
    proc = subprocess.Popen(
        [*URBANGOV, "worker", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        db = migrated / "urbangov.sqlite3"
        status, unsealed = None, None
        while time.monotonic() < deadline:
            with sqlite3.connect(db) as conn:
                status = conn.execute(
                    "SELECT status FROM cases_case WHERE id = ?", (case_id,)
                ).fetchone()[0]
                unsealed = conn.execute(
                    "SELECT COUNT(*) FROM privacy_auditevent e LEFT JOIN privacy_auditseal s "
                    "ON s.event_id = e.id WHERE s.seq IS NULL"
                ).fetchone()[0]
            if status == "awaiting_dispatch" and unsealed == 0:
                break
            time.sleep(0.3)
        assert status == "awaiting_dispatch"
        assert unsealed == 0
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.parametrize(
    "environ, language",
    [
        ({"LANG": "zh_TW.UTF-8"}, "zh-hant"),
        ({"LANG": "zh_HK.UTF-8"}, "zh-hant"),
        ({"LANG": "zh_CN.UTF-8"}, "zh-hans"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, None),
        ({}, None),
        # LC_ALL wins over LANG, as it does for every other tool.
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "C"}, "zh-hans"),
    ],
)
def test_the_command_speaks_the_operators_locale(
    environ: dict[str, str], language: str | None
) -> None:
    from urbangov.cli import locale_language

    assert locale_language(environ) == language
