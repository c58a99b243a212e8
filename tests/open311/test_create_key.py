"""`urbangov open311 create-key | list-keys | revoke-key`: a key printed once, stored as a hash,
working at once, and clear exit codes for bad usage."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.open311.conftest import Endpoint
from urbangov.cases.models import Case
from urbangov.open311.models import ApiKey
from urbangov.privacy.models import AuditEvent

URBANGOV = str(Path(sys.executable).with_name("urbangov"))


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("open311", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_create_key_prints_a_key_that_works(endpoint: Endpoint) -> None:
    out, err = _run("create-key", "district-app")
    key = out.strip()
    assert key.startswith("o311_") and len(key) > 40 and "\n" not in key
    assert "only this once" in err and key not in err
    stored = ApiKey.objects.get(name="district-app")
    # Only the hash is kept: SHA-256 of the key, computed here independently.
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {stored.name, stored.prefix, stored.key_hash}
    assert AuditEvent.objects.filter(action="open311.key.create", object_id=str(stored.pk)).exists()

    response = endpoint.post(params=endpoint.leak(api_key=key))
    assert response.status_code == 200, response.text
    assert Case.objects.get().open311.api_key == stored


@pytest.mark.django_db(transaction=True)
def test_list_and_revoke(endpoint: Endpoint) -> None:
    out, _ = _run("create-key", "kiosk")
    key = out.strip()
    listing, _ = _run("list-keys")
    assert "kiosk" in listing and "street-app" in listing and key not in listing
    assert key[:12] in listing

    revoked, _ = _run("revoke-key", "kiosk")
    assert "revoked" in revoked
    assert endpoint.post(params=endpoint.leak(api_key=key)).status_code == 403
    assert "revoked" in _run("list-keys")[0]
    assert not Case.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create-key", "   "), "1 to 100 characters"),
        (("create-key", "x" * 101), "1 to 100 characters"),
        (("revoke-key", "nobody-has-this"), "no Open311 API key named 'nobody-has-this'"),
    ],
)
def test_bad_names_exit_1_with_a_message(args: tuple[str, ...], message: str) -> None:
    before = ApiKey.objects.count()
    with pytest.raises(CommandError) as info:
        _run(*args)
    assert info.value.returncode == 1 and message in str(info.value)
    assert ApiKey.objects.count() == before


@pytest.mark.django_db
def test_a_name_is_taken_once_and_a_key_revoked_once() -> None:
    _run("create-key", "app")
    with pytest.raises(CommandError) as info:
        _run("create-key", "app")
    assert info.value.returncode == 1 and "already exists" in str(info.value)
    assert ApiKey.objects.count() == 1
    _run("revoke-key", "app")
    with pytest.raises(CommandError) as info:
        _run("revoke-key", "app")
    assert "already revoked" in str(info.value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["open311"], "VERB"),
        (["open311", "create-key"], "name"),
        (["open311", "make-key", "x"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2_from_the_command_line(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    env = {**os.environ, "DEBUG": "1", "URBANGOV_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([URBANGOV, *argv], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and "usage:" in result.stderr


def test_create_key_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "DEBUG": "1", "URBANGOV_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    subprocess.run([URBANGOV, "migrate", "-v", "0"], check=True, env=env, timeout=300)
    result = subprocess.run(
        [URBANGOV, "open311", "create-key", "bus-stop-app"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("o311_")
    again = subprocess.run(
        [URBANGOV, "open311", "create-key", "bus-stop-app"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    # Management commands speak the city's language (Simplified Chinese by default).
    assert again.returncode == 1 and "bus-stop-app" in again.stderr
