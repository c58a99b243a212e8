"""Data-sharing agreements and the exports made under them: only the agreement's fields,
areas and period leave, free text redacted; every export is logged with the SHA-256 of the
bytes that left; without an agreement, or under one not in force, nothing leaves and the
refusal is on the log."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.conftest import City, make_case
from urbangov.privacy.actions import (
    AgreementTerms,
    Refused,
    approve_agreement,
    create_agreement,
    export_data,
    revoke_agreement,
)
from urbangov.privacy.models import AuditEvent, DataExport, SharingAgreement

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

TEXT = "我叫王小明，电话13912345678，住在幸福路12号3栋502室，楼道灯坏了"


def _terms(**kw: Any) -> AgreementTerms:
    now = timezone.now()
    values: dict[str, Any] = {
        "recipient": "市统计局",
        "legal_basis": "《数据安全法》第三十八条；市政府数据共享管理办法",
        "purpose": "季度民生诉求统计分析",
        "dataset": "cases",
        "fields": ["id", "category", "area", "created_at", "text"],
        "areas": ["D1"],
        "valid_from": now - timedelta(days=1),
        "valid_until": now + timedelta(days=30),
    }
    values.update(kw)
    return AgreementTerms(**values)


@pytest.fixture
def second_admin(city: City) -> Any:
    from django.contrib.auth import get_user_model

    from urbangov.org.models import Membership, Role

    user = get_user_model().objects.create_user(username="admin2", password="x")
    Membership.objects.create(user=user, unit=city.dispatch_centre, role=Role.ADMIN)
    return user


@pytest.fixture
def approved(city: City, second_admin: Any) -> SharingAgreement:
    agreement = create_agreement(actor=city.user("admin"), terms=_terms())
    return approve_agreement(actor=second_admin, agreement_id=agreement.pk)


def test_export_takes_only_the_agreed_fields_and_areas(
    city: City, approved: SharingAgreement
) -> None:
    d1 = make_case(city, where="d1", text=TEXT)
    make_case(city, where="d2")  # another district: not covered
    result = export_data(actor=city.user("admin"), agreement_id=approved.pk, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(result.content.decode("utf-8-sig"))))
    assert [list(r) for r in rows] == [["id", "category", "area", "created_at", "text"]]
    assert rows[0]["id"] == str(d1.pk)
    # Free text leaves redacted by the PII kernel: no name, phone or address in the clear.
    for secret in ("王小明", "13912345678", "幸福路12号3栋502室"):
        assert secret not in rows[0]["text"]
    assert "楼道灯坏了" in rows[0]["text"] and "139****5678" in rows[0]["text"]
    for forbidden in ("张三", "13800138000", "contact", d1.tracking_code):
        assert forbidden not in result.content.decode("utf-8-sig")


def test_every_export_is_logged_with_the_digest_of_what_left(
    city: City, approved: SharingAgreement
) -> None:
    make_case(city, where="d1")
    result = export_data(actor=city.user("admin"), agreement_id=approved.pk, fmt="json")
    digest = hashlib.sha256(result.content).hexdigest()
    export = DataExport.objects.get()
    assert export.digest == digest and export.rows == 1 and export.size == len(result.content)
    assert export.fields == approved.fields and export.actor_label == "admin"
    event = AuditEvent.objects.get(action="privacy.export")
    assert event.data["sha256"] == digest and event.data["agreement"] == approved.pk
    assert event.purpose == approved.purpose
    body = json.loads(result.content)
    assert body["columns"] == approved.fields and len(body["rows"]) == 1


def test_parquet_export(city: City, approved: SharingAgreement) -> None:
    case = make_case(city, where="d1")
    result = export_data(actor=city.user("admin"), agreement_id=approved.pk, fmt="parquet")
    frame = pl.read_parquet(io.BytesIO(result.content))
    assert frame.columns == approved.fields
    assert frame["id"].to_list() == [case.pk] and frame["area"].to_list() == ["D1S1C1G1"]


def test_the_period_of_the_data_bounds_the_rows(city: City, second_admin: Any) -> None:
    make_case(city, where="d1")
    agreement = create_agreement(
        actor=city.user("admin"),
        terms=_terms(data_until=timezone.now() - timedelta(days=1), areas=["C"]),
    )
    approve_agreement(actor=second_admin, agreement_id=agreement.pk)
    result = export_data(actor=city.user("admin"), agreement_id=agreement.pk, fmt="json")
    assert json.loads(result.content)["rows"] == []


def _refused(city: City, agreement_id: int | None, reason: str) -> None:
    before = (
        DataExport.objects.count(),
        AuditEvent.objects.filter(action="privacy.export").count(),
    )
    with pytest.raises(Refused, match=reason):
        export_data(actor=city.user("admin"), agreement_id=agreement_id, fmt="csv")
    after = (DataExport.objects.count(), AuditEvent.objects.filter(action="privacy.export").count())
    assert after == before
    refusal = AuditEvent.objects.filter(action="privacy.export.refused").latest("id")
    assert reason.split(" ")[0].lower() in refusal.data["reason"].lower()


def test_no_agreement_no_export(city: City) -> None:
    make_case(city, where="d1")
    _refused(city, None, "data-sharing agreement")
    _refused(city, 9999, "No agreement")


def test_draft_expired_and_revoked_agreements_refuse_at_once(city: City, second_admin: Any) -> None:
    make_case(city, where="d1")
    draft = create_agreement(actor=city.user("admin"), terms=_terms())
    _refused(city, draft.pk, "not been approved")
    approve_agreement(actor=second_admin, agreement_id=draft.pk)
    export_data(actor=city.user("admin"), agreement_id=draft.pk, fmt="csv")
    later = timezone.now() + timedelta(days=31)
    with pytest.raises(Refused, match="expired"):
        export_data(actor=city.user("admin"), agreement_id=draft.pk, fmt="csv", now=later)
    revoke_agreement(actor=second_admin, agreement_id=draft.pk, reason="recipient breached terms")
    _refused(city, draft.pk, "revoked")
    assert AuditEvent.objects.filter(action="privacy.agreement.revoke").count() == 1


def test_four_eyes(city: City) -> None:
    agreement = create_agreement(actor=city.user("admin"), terms=_terms())
    with pytest.raises(Refused, match="another administrator"):
        approve_agreement(actor=city.user("admin"), agreement_id=agreement.pk)
    agreement.refresh_from_db()
    assert agreement.status == "draft"


def test_an_agreement_naming_unknown_fields_or_areas_is_refused_clearly(city: City) -> None:
    with pytest.raises(ValidationError) as info:
        create_agreement(
            actor=city.user("admin"),
            terms=_terms(fields=["id", "national_id", "tracking_code"], areas=["D1", "ZZ9"]),
        )
    errors = info.value.message_dict
    assert "national_id, tracking_code" in errors["fields"][0]
    assert "contact_phone" in errors["fields"][0]  # the known fields are listed
    assert "ZZ9" in errors["areas"][0]
    assert not SharingAgreement.objects.exists()
    assert AuditEvent.objects.filter(action="privacy.agreement.create.refused").count() == 1
    with pytest.raises(ValidationError) as info:
        now = timezone.now()
        create_agreement(
            actor=city.user("admin"),
            terms=_terms(dataset="nope", valid_from=now, valid_until=now - timedelta(days=1)),
        )
    assert set(info.value.message_dict) == {"dataset", "valid_until"}


def test_an_agreement_whose_field_vanished_refuses_to_export(
    city: City, approved: SharingAgreement
) -> None:
    SharingAgreement.objects.filter(pk=approved.pk).update(fields=["id", "shoe_size"])
    _refused(city, approved.pk, "names fields that do not exist")


def test_commands_end_to_end(city: City, second_admin: Any, tmp_path: Path) -> None:
    make_case(city, where="d1")
    out = io.StringIO()
    call_command(
        "agreement",
        "create",
        "--recipient=某大学城市研究院",
        "--legal-basis=合作研究协议（2026）",
        "--purpose=诉求响应时效研究",
        "--fields=id,category,created_at,closed_at",
        "--areas=C",
        "--valid-from=2020-01-01",
        "--valid-until=2099-01-01",
        "--user=admin",
        stdout=out,
    )
    agreement = SharingAgreement.objects.get()
    call_command("agreement", "approve", str(agreement.pk), "--user=admin2", stdout=out)
    target = tmp_path / "cases.csv"
    call_command(
        "export",
        f"--agreement={agreement.pk}",
        "--format=csv",
        f"--output={target}",
        "--user=admin",
        stdout=out,
    )
    summary = json.loads(out.getvalue().splitlines()[-1])
    assert summary["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert summary["rows"] == 1

    # Without an agreement, for someone who may not export, over an existing file: refused.
    for args, message in (
        (["--format=csv", f"--output={tmp_path / 'x.csv'}", "--user=admin"], "agreement"),
        (
            [f"--agreement={agreement.pk}", f"--output={tmp_path / 'y.csv'}", "--user=analyst"],
            "may not",
        ),
        ([f"--agreement={agreement.pk}", f"--output={target}", "--user=admin"], "exists"),
        (
            [f"--agreement={agreement.pk}", f"--output={tmp_path / 'z.csv'}", "--user=ghost"],
            "No active",
        ),
    ):
        with pytest.raises(CommandError) as info:
            call_command("export", *args)
        assert info.value.returncode == 2 and message in str(info.value)
    assert not (tmp_path / "x.csv").exists() and DataExport.objects.count() == 1
    with pytest.raises(CommandError) as info:
        call_command(
            "agreement",
            "create",
            "--recipient=x",
            "--legal-basis=y",
            "--purpose=z",
            "--fields=id,ssn",
            "--areas=C",
            "--valid-from=2020-01-01",
            "--valid-until=someday",
            "--user=admin",
        )
    assert info.value.returncode == 2 and "--valid-until" in str(info.value)
    call_command("agreement", "revoke", str(agreement.pk), "--reason=ended", "--user=admin2")
    listing = io.StringIO()
    call_command("agreement", "list", stdout=listing)
    assert json.loads(listing.getvalue().splitlines()[0])["state"] == "revoked"
