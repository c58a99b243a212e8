"""The case lifecycle: every transition through its action, the table enforced, the
timeline and the audit log written, deadlines set at dispatch, overdue as a query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.conftest import City, make_case
from urbangov.cases import actions
from urbangov.cases.actions import Submission, TransitionError, submit_case
from urbangov.cases.models import Case, CaseEvent, Channel, Rating, Status
from urbangov.cases.transitions import TRANSITIONS
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_submitted_case_is_located_encrypted_and_queued(city: City) -> None:
    case = make_case(city)
    case.refresh_from_db()
    # The immediate task backend runs triage at commit: the case waits for an operator.
    assert case.status == Status.AWAITING_DISPATCH
    assert case.area == city.grid_d1
    assert len(case.tracking_code) == 11 and case.tracking_code[5] == "-"
    assert [e.kind for e in case.events.all()] == ["submit", "triage"]
    # Contact is stored encrypted: the raw column holds no phone number.
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT contact_phone, contact_name FROM cases_case WHERE id = %s", [case.pk])
        raw_phone, raw_name = cur.fetchone()
    assert "13800138000" not in raw_phone and "张三" not in raw_name
    assert case.contact_phone == "13800138000"
    assert AuditEvent.objects.filter(action="case.submit", object_id=str(case.pk)).count() == 1


def test_full_happy_path_sets_deadlines_from_category(city: City) -> None:
    case = make_case(city)
    op, handler = city.user("operator"), city.user("handler")
    before = timezone.now()
    actions.dispatch_case(case, actor=op, unit=city.water_dept)
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.unit == city.water_dept
    # water.leak is a utilities matter: 24 hours to resolve, 4 to respond.
    assert timedelta(hours=24) <= case.resolve_due - before < timedelta(hours=24, seconds=5)
    assert timedelta(hours=4) <= case.response_due - before < timedelta(hours=4, seconds=5)
    actions.accept_case(case, actor=handler)
    actions.resolve_case(case, actor=handler, resolution="已派人修复水管")
    fb = actions.rate_case(case, actor=None, rating=Rating.SATISFIED, comment="很快")
    case.refresh_from_db()
    assert case.status == Status.CLOSED and fb.round == 0
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == ["submit", "triage", "dispatch", "accept", "resolve", "rate", "close"]
    audited = list(
        AuditEvent.objects.filter(object_id=str(case.pk), object_type="cases.case")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert audited == [f"case.{k}" for k in kinds]


def test_illegal_transition_refused_and_changes_nothing(city: City) -> None:
    case = make_case(city)
    events = CaseEvent.objects.count()
    audits = AuditEvent.objects.count()
    with pytest.raises(TransitionError) as info:
        actions.resolve_case(case, actor=city.user("handler"), resolution="done")
    assert "awaiting dispatch" in str(info.value) or "待派单" in str(info.value)
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH and case.resolved_at is None
    assert CaseEvent.objects.count() == events and AuditEvent.objects.count() == audits


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_transition_table_refuses_every_state_outside_its_sources(city: City, name: str) -> None:
    t = TRANSITIONS[name]
    outside = [s for s in Status.values if s not in t.sources]
    assert outside, name
    for status in outside:
        case = make_case(city)
        Case.objects.filter(pk=case.pk).update(status=status)
        case.refresh_from_db()
        with pytest.raises(TransitionError):
            actions._apply(case, name, actor=None)
        case.refresh_from_db()
        assert case.status == status


def test_send_back_returns_to_queue_and_clears_clock(city: City) -> None:
    case = make_case(city)
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.office_d1)
    with pytest.raises(ValidationError):
        actions.send_back_case(case, actor=city.user("handler_d1"), reason="  ")
    actions.send_back_case(case, actor=city.user("handler_d1"), reason="应由水务局处理")
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    assert case.unit is None and case.resolve_due is None
    assert case.events.get(kind="send_back").note == "应由水务局处理"


def test_extension_granted_moves_deadline_refused_does_not(city: City) -> None:
    case = make_case(city)
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    actions.accept_case(case, actor=city.user("handler"))
    case.refresh_from_db()
    due = case.resolve_due
    actions.request_extension(case, actor=city.user("handler"), hours=48, reason="需更换主管道")
    with pytest.raises(ValidationError):
        actions.request_extension(case, actor=city.user("handler"), hours=24, reason="again")
    actions.grant_extension(case, actor=city.user("supervisor"), note="同意")
    case.refresh_from_db()
    assert case.resolve_due == due + timedelta(hours=48)
    actions.request_extension(case, actor=city.user("handler"), hours=24, reason="材料未到")
    actions.refuse_extension(case, actor=city.user("supervisor"), note="请按期办结")
    case.refresh_from_db()
    assert case.resolve_due == due + timedelta(hours=48)
    assert list(case.extensions.order_by("id").values_list("status", flat=True)) == [
        "granted",
        "refused",
    ]


def test_dissatisfied_resident_reopens_within_window_only(city: City, settings) -> None:
    case = make_case(city)
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    actions.accept_case(case, actor=city.user("handler"))
    actions.resolve_case(case, actor=city.user("handler"), resolution="已处理")
    with pytest.raises(ValidationError):
        actions.reopen_case(case, actor=None, reason="not rated yet")
    actions.rate_case(case, actor=None, rating=Rating.DISSATISFIED, comment="还在漏")
    with pytest.raises(ValidationError):
        actions.rate_case(case, actor=None, rating=Rating.SATISFIED)
    actions.reopen_case(case, actor=None, reason="还在漏水")
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH and case.reopen_count == 1
    # Second round, now outside the window.
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    actions.accept_case(case, actor=city.user("handler"))
    actions.resolve_case(case, actor=city.user("handler"), resolution="已更换")
    actions.rate_case(case, actor=None, rating=Rating.DISSATISFIED)
    Case.objects.filter(pk=case.pk).update(
        resolved_at=timezone.now() - timedelta(days=settings.URBANGOV["REOPEN_WINDOW_DAYS"] + 1)
    )
    with pytest.raises(ValidationError):
        actions.reopen_case(case, actor=None)
    assert actions.close_expired() == 1
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_merge_and_reject(city: City) -> None:
    first, dup, junk = make_case(city), make_case(city), make_case(city, text="帮我查一下彩票")
    with pytest.raises(ValidationError):
        actions.merge_case(first, actor=city.user("operator"), into=first)
    actions.merge_case(dup, actor=city.user("operator"), into=first)
    with pytest.raises(ValidationError):
        actions.reject_case(junk, actor=city.user("operator"), reason="")
    actions.reject_case(junk, actor=city.user("operator"), reason="不属于政府职能")
    dup.refresh_from_db()
    junk.refresh_from_db()
    assert dup.status == Status.MERGED and dup.merged_into == first
    assert junk.status == Status.REJECTED and junk.reject_reason == "不属于政府职能"
    with pytest.raises(ValidationError):
        actions.merge_case(make_case(city), actor=city.user("operator"), into=dup)


def test_overdue_is_a_query(city: City) -> None:
    a, b = make_case(city), make_case(city)
    for c in (a, b):
        actions.dispatch_case(c, actor=city.user("operator"), unit=city.water_dept)
    a.refresh_from_db()
    now = timezone.now()
    assert not Case.objects.overdue(now).exists()
    later = a.resolve_due + timedelta(minutes=1)
    assert set(Case.objects.overdue(later)) == {a, b}
    assert a.is_overdue(later) and not a.is_overdue(now)
    actions.accept_case(b, actor=city.user("handler"))
    actions.resolve_case(b, actor=city.user("handler"), resolution="ok")
    assert set(Case.objects.overdue(later)) == {a}


def test_idempotency_key_makes_one_case(city: City) -> None:
    sub = Submission(channel=Channel.APP, title="t", text="路灯不亮", idempotency_key="abc-123")
    first = submit_case(actor=None, submission=sub)
    again = submit_case(actor=None, submission=sub)
    assert first.created and not again.created
    assert first.case.pk == again.case.pk
    assert Case.objects.filter(idempotency_key="abc-123").count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"lat": 40.7, "lon": -74.0}, "location"),
        ({"lat": 31.25, "lon": None}, "location"),
        ({"lat": 95.0, "lon": 121.4}, "location"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_bad_submissions_are_refused_and_store_nothing(city: City, changes, field) -> None:
    base = {"channel": Channel.WEB, "title": "t", "text": "路灯不亮"}
    before = Case.objects.count()
    with pytest.raises(ValidationError) as info:
        submit_case(actor=None, submission=Submission(**{**base, **changes}))
    assert field in info.value.message_dict
    assert Case.objects.count() == before


def test_attachment_type_is_sniffed_not_trusted(city: City) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    fake = b"MZ\x90\x00 this is an executable"
    ok = submit_case(
        actor=None,
        submission=Submission(
            channel=Channel.WEB,
            title="t",
            text="井盖丢失",
            attachments=[actions.Upload("photo.png", png)],
        ),
    ).case
    att = ok.attachments.get()
    assert att.content_type == "image/png" and att.size == len(png)
    assert att.file.name.endswith(".png") and "photo" not in att.file.name
    with pytest.raises(ValidationError) as info:
        submit_case(
            actor=None,
            submission=Submission(
                channel=Channel.WEB,
                title="t",
                text="井盖丢失",
                attachments=[actions.Upload("photo.jpg", fake)],
            ),
        )
    assert "attachments" in info.value.message_dict


def test_perform_resolves_codes_and_names_missing_fields(city: City) -> None:
    case = make_case(city)
    op = city.user("operator")
    with pytest.raises(ValidationError) as info:
        actions.perform("dispatch", case, actor=op, data={})
    assert "unit" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        actions.perform("dispatch", case, actor=op, data={"unit": "NOPE"})
    assert "unit" in info.value.message_dict
    actions.perform("dispatch", case, actor=op, data={"unit": "WATER", "urgency": "emergency"})
    case.refresh_from_db()
    assert case.unit == city.water_dept and case.urgency == "emergency"
    # An emergency gets the 2-hour class whatever the category's default.
    assert case.resolve_due - case.dispatched_at == timedelta(hours=2)
    with pytest.raises(ValidationError) as info:
        actions.perform("request_extension", case, actor=op, data={"hours": "x", "reason": "r"})
    assert "hours" in info.value.message_dict


def test_idempotency_key_reused_for_another_request_is_refused(city: City) -> None:
    sub = Submission(channel=Channel.APP, title="t", text="路灯不亮", idempotency_key="same-key")
    first = submit_case(actor=None, submission=sub).case
    other = Submission(
        channel=Channel.APP, title="t", text="垃圾没人收", idempotency_key="same-key"
    )
    with pytest.raises(ValidationError) as info:
        submit_case(actor=None, submission=other)
    assert "idempotency_key" in info.value.message_dict
    assert first.tracking_code not in str(info.value)
    assert Case.objects.filter(idempotency_key="same-key").count() == 1


def test_merge_target_outside_the_operators_scope_reads_as_unknown(city: City) -> None:
    from urbangov.org.models import Membership, Role

    # An operator of the D1 street office sees only D1's cases.
    Membership.objects.create(user=city.user("handler_d1"), unit=city.office_d1, role=Role.OPERATOR)
    mine, theirs = make_case(city, where="d1"), make_case(city, where="d2")
    with pytest.raises(ValidationError) as info:
        actions.perform(
            "merge", mine, actor=city.user("handler_d1"), data={"into": theirs.tracking_code}
        )
    assert "into" in info.value.message_dict
    mine.refresh_from_db()
    assert mine.status == Status.AWAITING_DISPATCH


def _accepted(city: City, unit=None) -> Case:
    case = make_case(city)
    actions.dispatch_case(case, actor=city.user("operator"), unit=unit or city.water_dept)
    actions.accept_case(case, actor=city.user("handler"))
    case.refresh_from_db()
    return case


def test_pending_extension_is_withdrawn_when_the_case_leaves_the_unit(city: City) -> None:
    from urbangov.cases.models import ExtensionStatus
    from urbangov.cases.queries import queue_for

    case = _accepted(city)
    actions.request_extension(case, actor=city.user("handler"), hours=240, reason="等材料")
    actions.send_back_case(case, actor=city.user("handler"), reason="不归我们管")
    assert case.extensions.get().status == ExtensionStatus.WITHDRAWN
    # The next unit asks for its own time, and a grant adds only that.
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.office_d1)
    actions.accept_case(case, actor=city.user("handler_d1"))
    case.refresh_from_db()
    due = case.resolve_due
    actions.request_extension(case, actor=city.user("handler_d1"), hours=24, reason="需协调")
    actions.grant_extension(case, actor=city.user("supervisor"))
    case.refresh_from_db()
    assert case.resolve_due == due + timedelta(hours=24)
    # A resolved case with a request still pending leaves the overseers' queues.
    actions.request_extension(case, actor=city.user("handler_d1"), hours=24, reason="再延")
    actions.resolve_case(case, actor=city.user("handler_d1"), resolution="已处理")
    assert case.extensions.filter(status=ExtensionStatus.PENDING).count() == 0
    for who in ("operator", "supervisor"):
        assert case not in queue_for(city.user(who))


def test_a_decided_extension_cannot_be_decided_again(city: City) -> None:
    case = _accepted(city)
    actions.request_extension(case, actor=city.user("handler"), hours=48, reason="r")
    stale = Case.objects.get(pk=case.pk)
    actions.grant_extension(case, actor=city.user("supervisor"))
    with pytest.raises(ValidationError):
        actions.refuse_extension(stale, actor=city.user("operator"), note="no")
    case.refresh_from_db()
    assert list(case.extensions.values_list("status", flat=True)) == ["granted"]
    assert list(case.events.filter(kind__endswith="_extension").values_list("kind", flat=True)) == [
        "request_extension",
        "grant_extension",
    ]


def test_two_cases_cannot_be_merged_into_each_other(city: City) -> None:
    a, b = make_case(city), make_case(city)
    stale_a = Case.objects.get(pk=a.pk)  # what the second operator's page still shows
    actions.merge_case(a, actor=city.user("operator"), into=b)
    with pytest.raises(ValidationError):
        actions.merge_case(b, actor=city.user("operator"), into=stale_a)
    b.refresh_from_db()
    assert b.status == Status.AWAITING_DISPATCH and b.merged_into is None


def test_redispatch_with_a_corrected_category_takes_its_class(city: City) -> None:
    case = make_case(city, category=city.noise)
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.office_d1)
    actions.send_back_case(case, actor=city.user("handler_d1"), reason="是燃气泄漏")
    actions.dispatch_case(
        case, actor=city.user("operator"), unit=city.water_dept, category=city.gas
    )
    case.refresh_from_db()
    assert case.urgency == "emergency"
    assert case.resolve_due - case.dispatched_at == timedelta(hours=2)


@pytest.mark.parametrize("bad", ["a\x00b", "bad \ud800 text", "bell\x07"])
def test_unstorable_characters_are_refused_everywhere(city: City, bad: str) -> None:
    before = (Case.objects.count(), CaseEvent.objects.count())
    with pytest.raises(ValidationError) as info:
        submit_case(actor=None, submission=Submission(channel=Channel.WEB, title="t", text=bad))
    assert "text" in info.value.message_dict
    for field, sub in (
        (
            "attributes",
            Submission(channel=Channel.WEB, title="t", text="ok", attributes={"x": bad}),
        ),
        ("contact_name", Submission(channel=Channel.WEB, title="t", text="ok", contact_name=bad)),
    ):
        with pytest.raises(ValidationError) as info:
            submit_case(actor=None, submission=sub)
        assert field in info.value.message_dict
    assert (Case.objects.count(), CaseEvent.objects.count()) == before
    case = make_case(city)
    with pytest.raises(ValidationError):
        actions.perform("reject", case, actor=city.user("operator"), data={"reason": bad})
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH


def test_notes_and_reasons_are_bounded(city: City) -> None:
    case = _accepted(city)
    with pytest.raises(ValidationError) as info:
        actions.send_back_case(case, actor=city.user("handler"), reason="长" * 2001)
    assert "reason" in info.value.message_dict
    actions.resolve_case(case, actor=city.user("handler"), resolution="已处理")
    actions.rate_case(case, actor=None, rating=Rating.DISSATISFIED)
    with pytest.raises(ValidationError):
        actions.reopen_case(case, actor=None, reason="x" * 3_000_000)
    case.refresh_from_db()
    assert case.status == Status.RESOLVED
    too_many = {f"q{i}": "a" for i in range(60)}
    with pytest.raises(ValidationError) as info:
        submit_case(
            actor=None,
            submission=Submission(channel=Channel.WEB, title="t", text="ok", attributes=too_many),
        )
    assert "attributes" in info.value.message_dict
