"""The auditors' page: who saw whose data, when and why; auditors and administrators only,
every search itself on the log."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, City, make_case
from urbangov.privacy.actions import record, seal_audit_log
from urbangov.privacy.crypto import keyed_hash
from urbangov.privacy.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

URL = "/privacy/audit/"


def _client(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.fixture
def reads(city: City) -> dict[str, object]:
    ours = make_case(city, contact_phone="13812345678")
    other = make_case(city, contact_phone="13700000000")
    for case, who in ((ours, "handler"), (other, "operator")):
        record(
            actor=city.user(who),
            action="case.contact.read",
            obj=case,
            purpose="handling this case",
            data={"fields": ["contact_phone"]},
        )
    seal_audit_log()
    return {"ours": ours, "other": other}


def test_only_auditors_and_administrators_see_it(city: City) -> None:
    assert reverse("privacy:audit_log") == URL
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    for who in ("handler", "operator", "supervisor", "analyst", "outsider", "nobody"):
        assert _client(who).get(URL).status_code == 404, who
    for who in ("auditor", "admin"):
        page = _client(who).get(URL)
        assert page.status_code == 200 and "urbangov auditlog verify" in page.text


def test_who_saw_whose_data_when_and_why(city: City, reads: dict[str, object]) -> None:
    client = _client("auditor")
    page = client.get(URL, {"contact": "138-1234-5678", "reads_only": "on", "search": "1"})
    assert page.status_code == 200
    ours = reads["ours"]
    assert f"cases.case #{ours.pk}" in page.text  # type: ignore[attr-defined]
    assert "handler" in page.text and "handling this case" in page.text
    assert f"cases.case #{reads['other'].pk}" not in page.text  # type: ignore[attr-defined]
    assert "case.submit" not in page.text  # reads only
    # Sealed events show their place in the chain.
    seq = AuditEvent.objects.get(action="case.contact.read", actor_label="handler").seal.seq
    assert f"<td>{seq}</td>" in page.text
    # The search is on the log, the phone number only as its keyed hash.
    search = AuditEvent.objects.filter(action="privacy.audit.search").latest("id")
    assert search.actor_label == "auditor"
    assert search.data["contact"] == keyed_hash("13812345678")
    assert "13812345678" not in str(search.data) and "138-1234-5678" not in str(search.data)


def test_filters_by_actor_action_and_dates(city: City, reads: dict[str, object]) -> None:
    client = _client("admin")
    total = AuditEvent.objects.count()
    everything = client.get(URL, {"search": "1"})
    assert everything.text.count('<td><span class="code small">') == total
    assert "privacy.audit.search" not in everything.text  # the search is logged after it reads
    page = client.get(URL, {"actor": "operator", "action": "case.contact", "search": "1"})
    assert f"cases.case #{reads['other'].pk}" in page.text  # type: ignore[attr-defined]
    assert f"cases.case #{reads['ours'].pk}" not in page.text  # type: ignore[attr-defined]
    future = client.get(URL, {"since": "2999-01-01", "search": "1"})
    assert "case.contact.read" not in future.text
    bad = client.get(URL, {"since": "2026-02-30", "until": "yesterday", "search": "1"})
    assert bad.status_code == 200 and "error-summary" in bad.text
    backwards = client.get(URL, {"since": "2026-03-02", "until": "2026-03-01", "search": "1"})
    assert (
        "The end date is before the start date." in backwards.text or "结束日期" in backwards.text
    )


def test_agreements_and_exports_page(city: City) -> None:
    assert _client("auditor").get("/privacy/sharing/").status_code == 200
    assert _client("handler").get("/privacy/sharing/").status_code == 404


def test_nav_shows_the_audit_log_to_auditors_only(city: City) -> None:
    assert URL in _client("auditor").get("/").text
    assert URL not in _client("handler").get("/").text
