"""``urbangov api-token create | list | revoke``: issuing and revoking the API's bearer tokens."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation

from tests.conftest import City
from urbangov.org.models import ApiToken, hash_token
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def fails(*args: str) -> CommandError:
    with pytest.raises(CommandError) as info, translation.override("en"):
        call_command("api_token", *args, stdout=io.StringIO(), stderr=io.StringIO())
    return info.value


def cases_as(key: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/cases").status_code


def test_create_prints_the_key_once_and_it_works(city: City) -> None:
    out, err = run("create", "operator", "hotline integration")
    key = out.strip()
    assert key.startswith("ugt_") and "\n" not in key
    assert "shown only this once" in err and "operator" in err
    token = ApiToken.objects.get(name="hotline integration")
    assert token.user == city.user("operator") and token.key_hash == hash_token(key)
    assert cases_as(key) == 200
    assert AuditEvent.objects.filter(
        action="org.api_token.create", object_id=str(token.pk)
    ).exists()
    # The key is never shown again.
    listing, _ = run("list")
    assert key not in listing and "hotline integration" in listing and "active" in listing


def test_create_warns_when_the_user_holds_no_staff_role(city: City) -> None:
    out, err = run("create", "nobody", "script")
    assert "no role" in err
    assert cases_as(out.strip()) == 403


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("create", "ghost", "x"), "no user named 'ghost'"),
        (("create", "operator", "   "), "name"),
        (("create", "operator", "n" * 101), "at most 100"),
        (("revoke", "999"), "no API token with id 999"),
    ],
)
def test_bad_input_exits_1_with_a_clear_line_and_changes_nothing(
    city: City, args: tuple[str, ...], words: str
) -> None:
    before = (ApiToken.objects.count(), AuditEvent.objects.count())
    error = fails(*args)
    assert error.returncode == 1 and words in str(error)
    assert (ApiToken.objects.count(), AuditEvent.objects.count()) == before


def test_inactive_users_get_no_token(city: City) -> None:
    user = city.user("operator")
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    error = fails("create", "operator", "x")
    assert error.returncode == 1 and "not active" in str(error)
    assert not ApiToken.objects.exists()


def test_revoke_stops_the_token_and_is_safe_to_repeat(city: City) -> None:
    key = run("create", "operator", "old")[0].strip()
    token = ApiToken.objects.get(name="old")
    out, _ = run("revoke", str(token.pk))
    assert f"revoked API token {token.pk}" in out
    token.refresh_from_db()
    assert token.revoked
    assert cases_as(key) == 401
    assert AuditEvent.objects.filter(action="org.api_token.revoke").count() == 1
    out, _ = run("revoke", str(token.pk))
    assert "already revoked" in out
    assert AuditEvent.objects.filter(action="org.api_token.revoke").count() == 1
    listing, _ = run("list", "--user", "operator")
    assert "revoked" in listing


def test_list_for_one_user(city: City) -> None:
    run("create", "operator", "a")
    run("create", "handler", "b")
    listing, _ = run("list", "--user", "handler")
    assert "\tb\t" in listing and "\ta\t" not in listing
    assert fails("list", "--user", "ghost").returncode == 1


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG"}}
    env.update(URBANGOV_DATA_DIR=str(data_dir), SECRET_KEY="cli-test-key")
    return env


def test_the_console_command_exits_non_zero_with_a_line_saying_why(tmp_path: Path) -> None:
    urbangov = [sys.executable, "-m", "urbangov.cli"]
    env = _env(tmp_path)
    # argparse refuses a non-number before touching any database.
    done = subprocess.run(
        [*urbangov, "api-token", "revoke", "abc"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "invalid int value: 'abc'" in done.stderr
    migrated = subprocess.run(
        [*urbangov, "migrate", "--noinput"], env=env, capture_output=True, text=True, timeout=300
    )
    assert migrated.returncode == 0, migrated.stderr
    done = subprocess.run(
        [*urbangov, "api-token", "create", "ghost", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # The line names the unknown user in whatever language the city runs in.
    assert done.returncode == 1
    assert "'ghost'" in done.stderr and done.stdout == ""
