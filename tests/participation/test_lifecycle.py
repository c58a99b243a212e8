"""A topic from its opening to its follow-up: phases, petitions and other origins, the city's
answers, results with weighted progress, notifications to followers, ratings and lessons."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase, override_settings
from django.utils import timezone

from tests.conftest import City
from tests.participation.conftest import make_resident, move
from urbangov.participation import actions, queries, signals
from urbangov.participation.models import (
    Notification,
    NotificationKind,
    Origin,
    Petition,
    PetitionStatus,
    Phase,
    ResultStatus,
    Topic,
)
from urbangov.privacy.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_opening_a_topic_records_it_and_tells_other_apps(city: City) -> None:
    seen: list[Topic] = []

    def receiver(sender: object, topic: Topic, **kw: object) -> None:
        seen.append(topic)

    signals.topic_opened.connect(receiver)
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            topic = actions.open_topic(
                actor=city.user("supervisor"),
                title="积水点治理",
                summary="连续三周同一路口积水投诉",
                area=city.d1,
                unit=city.water_dept,
                origin=Origin.HOTSPOT,
                source_type="hotspot",
                source_ref="HS-42",
            )
    finally:
        signals.topic_opened.disconnect(receiver)
    assert seen == [topic]
    assert topic.phase == Phase.DELIBERATION and topic.phases() == [p.value for p in Phase]
    assert list(queries.topics_for_source("hotspot", "HS-42")) == [topic]
    event = AuditEvent.objects.get(action="participation.topic.open", object_id=str(topic.pk))
    assert event.data["source"] == ["hotspot", "HS-42"]


def test_a_hotspot_topic_must_name_its_source(city: City) -> None:
    with pytest.raises(ValidationError, match="hot-spot or alert"):
        actions.open_topic(
            actor=None, title="t", summary="s", area=city.d1, unit=None, origin=Origin.ALERT
        )


def test_phases_move_forward_through_the_plan_only(city: City) -> None:
    topic = actions.open_topic(
        actor=city.user("handler_d1"),
        title="t",
        summary="s",
        area=city.d1,
        unit=city.office_d1,
        plan=[
            {"phase": "deliberation", "ends": "2030-01-31"},
            {"phase": "decision"},
            {"phase": "feedback"},
        ],
    )
    assert topic.phases() == ["deliberation", "decision", "feedback"]
    with pytest.raises(actions.Conflict, match="not in this topic's plan"):
        actions.change_phase(actor=None, topic=topic, to_phase=Phase.IMPLEMENTATION)
    actions.change_phase(actor=None, topic=topic, to_phase=Phase.DECISION, note="意见征集结束")
    with pytest.raises(actions.Conflict, match="forward only"):
        actions.change_phase(actor=None, topic=topic, to_phase=Phase.DELIBERATION)
    assert [c.to_phase for c in topic.phase_changes.all()] == ["deliberation", "decision"]


@pytest.mark.parametrize(
    "plan",
    [
        [{"phase": "decision"}],
        [{"phase": "deliberation"}, {"phase": "deliberation"}],
        [{"phase": "voting"}],
        [{"phase": "deliberation", "starts": "2030-02-01", "ends": "2030-01-01"}],
    ],
)
def test_bad_plans_are_refused(city: City, plan: list[dict[str, str]]) -> None:
    before = Topic.objects.count()
    with pytest.raises(ValidationError):
        actions.open_topic(actor=None, title="t", summary="s", area=city.d1, unit=None, plan=plan)
    assert Topic.objects.count() == before


@override_settings(URBANGOV={"PETITION_THRESHOLD": 3, "PETITION_DAYS": 30, "CITY_NAME": "x"})
def test_a_petition_at_its_threshold_opens_a_topic_once(city: City) -> None:
    people = [make_resident(f"p{i}") for i in range(4)]
    petition = actions.start_petition(
        actor=people[0].user, title="增设公交站", text="学校门口缺公交站", area=city.grid_d1.parent
    )
    assert petition.threshold == 3
    actions.sign_petition(actor=people[1].user, petition=petition)
    with pytest.raises(actions.Conflict, match="already supported"):
        actions.sign_petition(actor=people[1].user, petition=petition)
    actions.sign_petition(actor=people[2].user, petition=petition)
    petition.refresh_from_db()
    assert petition.status == PetitionStatus.TOPIC
    topic = Topic.objects.get(petition=petition)
    assert topic.origin == Origin.PETITION and topic.source_ref == str(petition.pk)
    # The office that answers for the community's district organises it.
    assert topic.unit == city.office_d1
    with pytest.raises(actions.Conflict, match="no longer collects"):
        actions.sign_petition(actor=people[3].user, petition=petition)
    assert Topic.objects.filter(petition=petition).count() == 1


def test_unverified_residents_cannot_petition(city: City) -> None:
    someone = make_resident("nov", verified=False)
    with pytest.raises(actions.NotAllowed, match="not verified"):
        actions.start_petition(actor=someone.user, title="t", text="x", area=city.d1)
    assert not Petition.objects.exists()


def test_answers_results_progress_and_notifications(city: City, topic: Topic) -> None:
    author, follower = make_resident("author"), make_resident("follower")
    actions.follow_topic(actor=follower.user, topic=topic)
    proposal = actions.submit_proposal(
        actor=author.user, topic=topic, title="建口袋公园", text="保留大树"
    )
    with pytest.raises(actions.Conflict, match="decision"):
        actions.respond_to_proposal(actor=None, proposal=proposal, verdict="accepted", reasons="好")
    move(topic, city, Phase.DECISION)
    actions.respond_to_proposal(
        actor=city.user("handler_d1"), proposal=proposal, verdict="accepted", reasons="纳入年度计划"
    )
    with pytest.raises(actions.Conflict, match="already been answered"):
        actions.respond_to_proposal(actor=None, proposal=proposal, verdict="rejected", reasons="x")
    parent = topic.results.get()
    assert parent.unit == city.office_d1 and parent.proposal == proposal
    # Parts with weights 3 and 1: parent progress = (3·40 + 1·100) / 4 = 55.
    design = actions.add_result(
        actor=None, topic=topic, title="设计", unit=city.office_d1, parent=parent, weight=3
    )
    build = actions.add_result(
        actor=None, topic=topic, title="施工", unit=city.water_dept, parent=parent, weight=1
    )
    today = timezone.localdate()
    actions.post_result_update(actor=None, result=design, on=today, text="方案公示", progress=40)
    actions.post_result_update(actor=None, result=build, on=today, text="完工", progress=100)
    parent.refresh_from_db()
    assert parent.current_progress() == pytest.approx(55.0)
    assert queries.topic_progress(topic) == pytest.approx(55.0)
    build.refresh_from_db()
    assert build.status == ResultStatus.DONE
    with pytest.raises(ValidationError, match="comes from its parts"):
        actions.post_result_update(actor=None, result=parent, on=today, text="x", progress=10)
    with pytest.raises(ValidationError, match="has happened"):
        actions.post_result_update(
            actor=None, result=design, on=today + timedelta(days=1), text="x"
        )
    kinds = list(
        Notification.objects.filter(user=follower.user)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == [
        NotificationKind.PHASE,
        NotificationKind.RESPONSE,
        NotificationKind.PROGRESS,
        NotificationKind.PROGRESS,
    ]
    assert not Notification.objects.filter(user=author.user).exists()  # only followers
    assert actions.mark_notifications_read(actor=follower.user) == 4


def test_milestones(city: City, topic: Topic) -> None:
    result = actions.add_result(actor=None, topic=topic, title="施工", unit=city.office_d1)
    milestone = actions.add_milestone(
        actor=None, result=result, title="开工", due_on=date(2030, 1, 1)
    )
    actions.reach_milestone(actor=None, milestone=milestone, done_on=timezone.localdate())
    with pytest.raises(actions.Conflict):
        actions.reach_milestone(actor=None, milestone=milestone, done_on=timezone.localdate())


def test_rating_only_in_evaluation_and_once(city: City, topic: Topic) -> None:
    rater = make_resident("rater")
    with pytest.raises(actions.Conflict, match="evaluation"):
        actions.rate_outcome(actor=rater.user, topic=topic, score=4)
    move(topic, city, Phase.DECISION, Phase.IMPLEMENTATION, Phase.EVALUATION)
    with pytest.raises(ValidationError):
        actions.rate_outcome(actor=rater.user, topic=topic, score=6)
    actions.rate_outcome(actor=rater.user, topic=topic, score=4, comment="不错")
    with pytest.raises(actions.Conflict, match="already rated"):
        actions.rate_outcome(actor=rater.user, topic=topic, score=1)
    assert queries.rating_summary(topic)["mean"] == 4


def test_feedback_publishes_lessons_and_opens_a_follow_up(city: City, topic: Topic) -> None:
    follower = make_resident("f")
    actions.follow_topic(actor=follower.user, topic=topic)
    with pytest.raises(actions.Conflict):
        actions.publish_lessons(actor=None, topic=topic, lessons="x")
    move(topic, city, Phase.DECISION, Phase.IMPLEMENTATION, Phase.EVALUATION, Phase.FEEDBACK)
    actions.publish_lessons(actor=None, topic=topic, lessons="停车需求被低估")
    new = actions.open_follow_up(
        actor=city.user("handler_d1"), topic=topic, title="社区停车", summary="再议停车"
    )
    assert new.previous == topic and new.origin == Origin.FOLLOW_UP and new.area == topic.area
    assert Notification.objects.filter(user=follower.user, kind=NotificationKind.FOLLOW_UP).exists()
