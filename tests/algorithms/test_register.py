"""The register: fields changed through the action (on the audit log), the public page of
production algorithms in the reader's language, and the JSON export (page and command)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.conftest import City
from urbangov.algorithms import actions, queries
from urbangov.algorithms.models import Algorithm, AlgorithmType, Phase
from urbangov.privacy.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PLAIN = {
    "en": {"summary": "Reads your request and picks the unit", "effect": "Where it goes"},
    "zh-hans": {"summary": "读懂诉求并选择承办单位", "effect": "决定诉求交给谁"},
    "zh-hant": {"summary": "讀懂訴求並選擇承辦單位", "effect": "決定訴求交給誰"},
}


def registered(city: City, code: str = "dispatch", phase: str = Phase.PRODUCTION) -> Algorithm:
    a = actions.ensure_algorithm(actor=None, code=code, name="智能派单")
    a = actions.update_register(
        actor=city.users["algorithm_officer"],  # type: ignore[arg-type]
        algorithm=a,
        purpose="把诉求派给承办单位",
        owner=city.dispatch_centre,
        responsible_person="王主任",
        supplier="",
        algorithm_type=AlgorithmType.STATISTICAL,
        decisions_made="Category and handling unit of each case",
        effect_on_residents="Decides which unit handles your case",
        data_sources="Case text, location",
        personal_data=True,
        human_oversight="Operators review every case below the threshold",
        how_to_appeal="Appeal from the case's tracking page",
        service_provider="某市12345热线中心",
        service_form="网站、APP、热线",
        application_domain="政务服务",
        filing_type="scheduling",
        self_assessment="见影响评估",
        public_notice="本市使用算法为诉求派单",
        plain_language=PLAIN,
    )
    if phase != a.phase:
        # Straight to the phase for page tests (the safeguards are tested in test_impact).
        Algorithm.objects.filter(pk=a.pk).update(phase=phase)
        a.refresh_from_db()
    return a


def test_register_update_is_audited_and_lists_what_changed(city: City) -> None:
    a = registered(city, phase=Phase.IDEA)
    event = AuditEvent.objects.filter(action="algorithms.register.update").latest("id")
    assert "responsible_person" in event.data["changed"] and event.data["algorithm"] == "dispatch"
    assert a.responsible_person == "王主任" and a.filing_type == "scheduling"
    # Nothing changed: no event.
    before = AuditEvent.objects.count()
    actions.update_register(actor=None, algorithm=a, responsible_person="王主任")
    assert AuditEvent.objects.count() == before


def test_register_refuses_unknown_fields_and_bad_values(city: City) -> None:
    a = registered(city, phase=Phase.IDEA)
    with pytest.raises(ValidationError, match="Not a register field"):
        actions.update_register(actor=None, algorithm=a, phase=Phase.PRODUCTION)
    with pytest.raises(ValidationError):
        actions.update_register(actor=None, algorithm=a, algorithm_type="magic")
    with pytest.raises(ValidationError):
        actions.update_register(actor=None, algorithm=a, plain_language={"fr": {"summary": "x"}})
    a.refresh_from_db()
    assert a.algorithm_type == AlgorithmType.STATISTICAL and a.phase == Phase.IDEA


@pytest.mark.parametrize(
    ("language", "summary"),
    [("en", PLAIN["en"]["summary"]), ("zh-hans", PLAIN["zh-hans"]["summary"]),
     ("zh-hant", PLAIN["zh-hant"]["summary"])],
)  # fmt: skip
def test_public_page_lists_production_algorithms_in_the_readers_language(
    city: City, language: str, summary: str
) -> None:
    registered(city)
    registered(city, code="pilot-thing", phase=Phase.PILOT)
    client = Client()
    client.cookies["django_language"] = language
    page = client.get(reverse("algorithms:register"))
    assert page.status_code == 200
    html = page.content.decode()
    assert summary in html
    assert "智能派单" in html and "pilot-thing" not in html
    # No script needed: plain HTML, and the page is laid out for phones by the base template.
    assert "<script" not in html.split("<main", 1)[-1].split("</main>")[0]
    assert 'name="viewport"' in html
    detail = client.get(reverse("algorithms:register_detail", args=["dispatch"]))
    assert detail.status_code == 200 and "王主任" in detail.content.decode()
    assert (
        client.get(reverse("algorithms:register_detail", args=["pilot-thing"])).status_code == 404
    )


def test_json_export_page_and_command(city: City) -> None:
    registered(city)
    registered(city, code="pilot-thing", phase=Phase.PILOT)
    data = Client().get(reverse("algorithms:register_json")).json()
    assert [a["code"] for a in data["algorithms"]] == ["dispatch"]
    entry = data["algorithms"][0]
    assert entry["filing"]["service_provider"] == "某市12345热线中心"
    assert entry["filing"]["algorithm_type"] == "scheduling"
    assert entry["owner_unit"] == city.dispatch_centre.name
    assert entry["personal_data"] is True and entry["impact_level"] is None
    assert entry["plain_language"]["zh-hant"]["summary"] == PLAIN["zh-hant"]["summary"]
    out = StringIO()
    call_command("algorithms", "export", "--all", stdout=out)
    every = json.loads(out.getvalue().strip().splitlines()[-1])
    assert sorted(a["code"] for a in every["algorithms"]) == ["dispatch", "pilot-thing"]
    assert queries.register_export()["algorithms"][0] == {
        **entry,
        "updated_at": entry["updated_at"],
    }


def test_admin_edits_go_through_the_action(city: City) -> None:
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", password="x-long-password-1")
    admin_client = Client()
    admin_client.force_login(root)
    a = registered(city, phase=Phase.IDEA)
    url = reverse("admin:algorithms_algorithm_change", args=[a.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(
        {
            "responsible_person": "李科长",
            "owner": a.owner_id,
            "plain_language": json.dumps(PLAIN),
            "personal_data": "on",
        }
    )
    data.pop("sensitive_data", None)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    a.refresh_from_db()
    assert a.responsible_person == "李科长"
    event = AuditEvent.objects.filter(action="algorithms.register.update").latest("id")
    assert event.data["changed"] == ["responsible_person"]
