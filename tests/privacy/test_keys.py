"""Encryption at rest: rotating the keys by command, lookup by keyed hash, and garbage keys
refused plainly with nothing changed."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from tests.conftest import City, make_case
from urbangov.cases.models import Case
from urbangov.privacy import crypto
from urbangov.privacy.models import AuditEvent
from urbangov.privacy.queries import AuditQuery, search_audit

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _raw(case: Case) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_name, contact_phone FROM cases_case WHERE id = %s", [case.pk]
        )
        return cursor.fetchone()


def _opens(key: str, token: str) -> bool:
    try:
        Fernet(key.encode()).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def test_rotation_reencrypts_everything_under_the_new_key(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("URBANGOV_ENCRYPTION_KEYS", OLD)
    cases = [
        make_case(city, contact_name=f"李{i}", contact_phone=f"1390000000{i}") for i in range(3)
    ]
    assert all(_opens(OLD, t) for c in cases for t in _raw(c))

    monkeypatch.setenv("URBANGOV_ENCRYPTION_KEYS", f"{NEW},{OLD}")
    out = io.StringIO()
    call_command("keys", "status", stdout=out)
    usage = json.loads(out.getvalue())["columns"]
    assert usage["cases_case.contact_phone"] == [0, 3, 0]

    out = io.StringIO()
    call_command("keys", "rotate", stdout=out)
    report = json.loads(out.getvalue())
    assert report["reencrypted"]["cases_case.contact_name"] == 3
    assert report["reencrypted"]["cases_case.contact_phone"] == 3
    assert report["key"] == hashlib.sha256(NEW.encode()).hexdigest()[:16]
    for case in cases:
        assert all(_opens(NEW, t) and not _opens(OLD, t) for t in _raw(case))

    # The old key can go: everything still reads.
    monkeypatch.setenv("URBANGOV_ENCRYPTION_KEYS", NEW)
    assert [Case.objects.get(pk=c.pk).contact_name for c in cases] == ["李0", "李1", "李2"]
    # Rotating again rewrites nothing; the rotation is on the log, without key material.
    out = io.StringIO()
    call_command("keys", "rotate", stdout=out)
    assert json.loads(out.getvalue())["reencrypted"]["cases_case.contact_phone"] == 0
    events = AuditEvent.objects.filter(action="privacy.keys.rotate")
    assert events.count() == 2 and NEW not in json.dumps(events.first().data)  # type: ignore[union-attr]


def test_garbage_keys_are_refused_and_nothing_changes(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("URBANGOV_ENCRYPTION_KEYS", OLD)
    case = make_case(city)
    before = _raw(case)
    monkeypatch.setenv("URBANGOV_ENCRYPTION_KEYS", f"not-a-key,{OLD}")
    for verb in ("rotate", "status"):
        with pytest.raises(CommandError) as info:
            call_command("keys", verb)
        assert info.value.returncode == 2
        assert "key 1 of 2 is not a Fernet key" in str(info.value)
        assert "not-a-key" not in str(info.value)  # a key is never printed
    assert _raw(case) == before
    refusal = AuditEvent.objects.get(action="privacy.keys.rotate.refused")
    assert "key 1 of 2" in refusal.data["reason"]
    # The system checks stop the server and every other command the same way.
    from urbangov.privacy.checks import encryption_keys

    assert [e.id for e in encryption_keys()] == ["urbangov.E001"]


def test_values_no_key_opens_are_refused_before_anything_is_written(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("URBANGOV_ENCRYPTION_KEYS", OLD)
    first = make_case(city)
    monkeypatch.setenv("URBANGOV_ENCRYPTION_KEYS", NEW)
    second = make_case(city, contact_phone="13700000000")
    before = (_raw(first), _raw(second))
    with pytest.raises(CommandError) as info:
        call_command("keys", "rotate")
    assert info.value.returncode == 2 and "cases_case.contact_phone: 1" in str(info.value)
    assert (_raw(first), _raw(second)) == before
    with pytest.raises(CommandError) as info:
        call_command("keys", "status", stdout=io.StringIO())
    assert info.value.returncode == 1


def test_generate_prints_a_working_key() -> None:
    out = io.StringIO()
    call_command("keys", "generate", stdout=out)
    key = out.getvalue().strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"


def test_lookup_by_keyed_hash_and_rehash_after_a_new_lookup_key(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(city, contact_phone="138 0013-8000")
    call_command("auditlog", "seal", stdout=io.StringIO())
    # The auditors find the events about this resident by any way of writing the number …
    for written in ("13800138000", "138-0013-8000", "１３８００１３８０００"):
        found = search_audit(AuditQuery(contact=written))
        assert {e.object_id for e in found} == {str(case.pk)}
    assert not search_audit(AuditQuery(contact="13900000000")).exists()
    # … and after a new lookup key, once rotated, still do.
    monkeypatch.setenv("URBANGOV_LOOKUP_KEY", "a-new-lookup-key")
    assert not search_audit(AuditQuery(contact="13800138000")).exists()
    out = io.StringIO()
    call_command("keys", "rotate", stdout=out)
    assert json.loads(out.getvalue())["rehashed"] == {"cases_case.contact_lookup": 1}
    assert search_audit(AuditQuery(contact="13800138000")).exists()
    assert Case.objects.get(pk=case.pk).contact_lookup == crypto.keyed_hash("13800138000")
