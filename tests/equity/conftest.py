"""One small Demo City for the equity tests of a module, built once inside a transaction that
every test's own transaction nests in (as Django's setUpTestData does), rolled back at the end."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import translation

from urbangov.org import geo
from urbangov.org.models import Membership, Role, Unit

SEED = 7
CASES = 1500
TODAY = "2025-06-01"
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(scope="module")
def demo_city(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(PASSWORD_HASHERS=FAST_HASHER), translation.override("en"):
                call_command(
                    "demo",
                    "--no-serve",
                    "--cases",
                    str(CASES),
                    "--seed",
                    str(SEED),
                    "--today",
                    TODAY,
                    stdout=StringIO(),
                )
                users = _personas()
            yield users
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            geo.invalidate()


def _personas() -> dict[str, Any]:
    """Staff of the demo's dispatch centre (which answers for the whole city), by role, and a
    handler of a street office: who may and who may not see the equity pages."""
    User = get_user_model()
    centre = Unit.objects.get(kind="dispatch")
    office = Unit.objects.filter(kind="street_office").order_by("code").first()
    assert office is not None
    plan = [
        ("eq_analyst", centre, Role.ANALYST),
        ("eq_supervisor", centre, Role.SUPERVISOR),
        ("eq_admin", centre, Role.ADMIN),
        ("eq_operator", centre, Role.OPERATOR),
        ("eq_handler", office, Role.HANDLER),
        ("eq_auditor", centre, Role.AUDITOR),
    ]
    users: dict[str, Any] = {}
    for username, unit, role in plan:
        user = User.objects.create_user(username=username, password=PASSWORD)
        Membership.objects.create(user=user, unit=unit, role=role)
        users[role.value if role != Role.ADMIN else "admin"] = user
    users["nobody"] = User.objects.create_user(username="eq_nobody", password=PASSWORD)
    return users
