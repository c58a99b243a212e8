"""Offline and hybrid meetings: schedule, registrations, attendance, minutes, and results
counted into the topic with their source marked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.conftest import City
from tests.participation.conftest import make_resident
from urbangov.participation import actions, queries
from urbangov.participation.models import Meeting, MeetingResult, MeetingStatus, Notification, Topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def hybrid(
    topic: Topic,
    city: City,
    *,
    starts_in: timedelta = timedelta(days=3),
    capacity: int | None = None,
) -> Meeting:
    start = timezone.now() + starts_in
    return actions.schedule_meeting(
        actor=city.user("handler_d1"),
        topic=topic,
        title="居民议事会",
        kind="hybrid",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="东区一社区活动室",
        online_url="https://meet.example.org/room-1",
        agenda="1. 方案介绍\n2. 讨论\n3. 举手表决",
        capacity=capacity,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "hybrid", "online_url": ""}, "online_url"),
        ({"kind": "offline", "place": ""}, "place"),
        ({"kind": "teleport"}, "kind"),
        ({"ends_at": "before"}, "ends_at"),
        ({"online_url": "javascript:alert(1)", "kind": "online"}, "online_url"),
    ],
)
def test_bad_meetings_are_refused(
    city: City, topic: Topic, changes: dict[str, str], field: str
) -> None:
    start = timezone.now() + timedelta(days=1)
    data = {
        "title": "会",
        "kind": "offline",
        "starts_at": start,
        "ends_at": start + timedelta(hours=1),
        "place": "活动室",
        "online_url": "",
    }
    data.update(changes)
    if data["ends_at"] == "before":
        data["ends_at"] = start - timedelta(hours=1)
    with pytest.raises(ValidationError) as info:
        actions.schedule_meeting(actor=None, topic=topic, **data)  # type: ignore[arg-type]
    assert field in info.value.message_dict
    assert not Meeting.objects.exists()


def test_registration_capacity_and_followers_told(city: City, topic: Topic) -> None:
    follower = make_resident("f")
    actions.follow_topic(actor=follower.user, topic=topic)
    meeting = hybrid(topic, city, capacity=1)
    assert Notification.objects.filter(user=follower.user, kind="meeting").exists()
    actions.register_for_meeting(actor=follower.user, meeting=meeting, needs="轮椅通道")
    with pytest.raises(actions.Conflict, match="full"):
        actions.register_for_meeting(actor=make_resident("late").user, meeting=meeting)


def test_attendance_minutes_and_results_count_into_the_topic(city: City, topic: Topic) -> None:
    a, b = make_resident("a"), make_resident("b")
    proposal = actions.submit_proposal(actor=a.user, topic=topic, title="建口袋公园", text="x")
    actions.support_proposal(actor=b.user, proposal=proposal)
    statement = actions.add_statement(actor=a.user, topic=topic, text="应保留停车位")
    meeting = hybrid(topic, city)
    actions.register_for_meeting(actor=a.user, meeting=meeting)
    actions.register_for_meeting(actor=b.user, meeting=meeting)
    with pytest.raises(actions.Conflict, match="started"):
        actions.record_minutes(actor=None, meeting=meeting, minutes="x")
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - timedelta(hours=1))
    meeting.refresh_from_db()
    with pytest.raises(ValidationError):
        actions.record_attendance(actor=None, meeting=meeting, present=[a.user.pk], total=0)
    actions.record_attendance(actor=None, meeting=meeting, present=[a.user.pk], total=30)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD and meeting.attendance == 30
    assert list(meeting.registrations.order_by("user_id").values_list("attended", flat=True)) == [
        True,
        False,
    ]
    actions.record_minutes(actor=None, meeting=meeting, minutes="到会30人，多数赞成建设口袋公园。")
    actions.record_meeting_result(
        actor=None,
        meeting=meeting,
        method="hands",
        proposal=proposal,
        in_favour=21,
        against=6,
        abstain=3,
    )
    actions.record_meeting_result(
        actor=None,
        meeting=meeting,
        method="ballots",
        statement=statement,
        in_favour=10,
        against=15,
        abstain=5,
    )
    actions.record_meeting_result(
        actor=None, meeting=meeting, method="views", note="老人希望增加座椅"
    )
    with pytest.raises(ValidationError, match="More votes than people present"):
        actions.record_meeting_result(
            actor=None, meeting=meeting, method="hands", proposal=proposal, in_favour=31
        )
    with pytest.raises(ValidationError):
        actions.record_meeting_result(actor=None, meeting=meeting, method="hands", in_favour=1)
    tally = queries.proposal_tallies(topic)[0]
    assert (tally.online, tally.meeting_for, tally.meeting_against, tally.total) == (1, 21, 6, 22)
    s = queries.statement_tallies(topic)[0]
    assert (s.meeting_agree, s.meeting_disagree, s.meeting_pass) == (10, 15, 5)
    assert MeetingResult.objects.count() == 3


def test_cancelled_meetings_take_nothing(city: City, topic: Topic) -> None:
    meeting = hybrid(topic, city)
    actions.cancel_meeting(actor=None, meeting=meeting, reason="台风停课")
    with pytest.raises(actions.Conflict):
        actions.register_for_meeting(actor=make_resident("x").user, meeting=meeting)
    with pytest.raises(actions.Conflict):
        actions.cancel_meeting(actor=None, meeting=meeting, reason="again")
