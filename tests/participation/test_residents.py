"""Resident accounts and what "verified" means: a phone confirmed with a one-time code, or an
identity checked at a counter; one phone number verifies one account."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from tests.conftest import City
from tests.participation.conftest import make_resident
from urbangov.participation import actions
from urbangov.participation.models import Resident, VerificationCode, VerificationMethod
from urbangov.privacy.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_code_is_sent_to_the_log_and_verifies(city: City, caplog: pytest.LogCaptureFixture) -> None:
    resident = make_resident("wang", verified=False, phone="13812345678")
    assert not resident.is_verified
    with (
        caplog.at_level(logging.WARNING, logger="urbangov.sms"),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        code = actions.send_verification_code(actor=resident.user, resident=resident)
    assert code in caplog.text and "13812345678" not in caplog.text  # the number is masked
    actions.verify_phone(actor=resident.user, resident=resident, code=code)
    resident.refresh_from_db()
    assert resident.is_verified and resident.verification == VerificationMethod.PHONE_CODE
    assert AuditEvent.objects.filter(
        action="participation.resident.verify", object_id=str(resident.pk)
    ).exists()
    # The phone is stored encrypted and the code only as a hash.
    with connection.cursor() as cur:
        cur.execute("SELECT phone FROM participation_resident WHERE id = %s", [resident.pk])
        assert "13812345678" not in cur.fetchone()[0]
    assert not VerificationCode.objects.filter(code_hash=code).exists()


def test_wrong_codes_count_and_run_out(city: City) -> None:
    resident = make_resident("li", verified=False)
    code = actions.send_verification_code(actor=resident.user, resident=resident)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(ValidationError, match="not right"):
            actions.verify_phone(actor=resident.user, resident=resident, code=wrong)
    with pytest.raises(ValidationError, match="Too many"):
        actions.verify_phone(actor=resident.user, resident=resident, code=code)
    resident.refresh_from_db()
    assert not resident.is_verified


def test_expired_code_is_refused(city: City) -> None:
    resident = make_resident("zhao", verified=False)
    code = actions.send_verification_code(actor=resident.user, resident=resident)
    VerificationCode.objects.filter(resident=resident).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ValidationError, match="expired"):
        actions.verify_phone(actor=resident.user, resident=resident, code=code)


def test_codes_are_not_sent_twice_a_minute(city: City) -> None:
    resident = make_resident("qian", verified=False)
    actions.send_verification_code(actor=resident.user, resident=resident)
    with pytest.raises(actions.Conflict, match="minute"):
        actions.send_verification_code(actor=resident.user, resident=resident)


def test_one_phone_verifies_one_account(city: City) -> None:
    make_resident("first", phone="13700000001")
    second = make_resident("second", verified=False, phone="137-0000-0001")
    code = actions.send_verification_code(actor=second.user, resident=second)
    with pytest.raises(actions.Conflict, match="already verifies another account"):
        actions.verify_phone(actor=second.user, resident=second, code=code)
    second.refresh_from_db()
    assert not second.is_verified
    assert Resident.objects.filter(verified_at__isnull=False).count() == 1


def test_counter_staff_verify_in_person(city: City) -> None:
    resident = make_resident("sun", verified=False)
    actions.verify_at_counter(actor=city.user("operator"), resident=resident, document="居民身份证")
    resident.refresh_from_db()
    assert resident.verification == VerificationMethod.COUNTER
    assert resident.verified_by == city.user("operator")
    with pytest.raises(actions.Conflict):
        actions.verify_at_counter(
            actor=city.user("operator"), resident=resident, document="居民身份证"
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "12"), ("phone", "call me"), ("display_name", ""), ("password", "123")],
)
def test_bad_registration_is_refused_and_stores_nothing(city: City, field: str, value: str) -> None:
    data = {
        "username": "newbie",
        "password": "correct horse battery staple 42",
        "display_name": "新人",
        "phone": "13811112222",
    }
    data[field] = value
    before = Resident.objects.count()
    with pytest.raises(ValidationError) as info:
        actions.register_resident(actor=None, **data)
    assert field in info.value.message_dict
    assert Resident.objects.count() == before
