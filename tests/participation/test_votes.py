"""Online deliberation: one verified resident, one support and one vote per statement — also
under concurrent requests; votes outside the phase and by unverified accounts refused; threaded
comments whose moderation reasons are public; statements moderated out of the analysis."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from tests.conftest import City
from tests.participation.conftest import make_resident, move
from urbangov.participation import actions, queries
from urbangov.participation.models import (
    Comment,
    Phase,
    Source,
    Statement,
    StatementVote,
    Support,
    Topic,
    Visibility,
)
from urbangov.privacy.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_one_resident_one_support(city: City, topic: Topic) -> None:
    author, fan = make_resident("a"), make_resident("b")
    proposal = actions.submit_proposal(actor=author.user, topic=topic, title="种树", text="多种树")
    actions.support_proposal(actor=fan.user, proposal=proposal)
    audits = AuditEvent.objects.count()
    with pytest.raises(actions.Conflict, match="counts once"):
        actions.support_proposal(actor=fan.user, proposal=proposal)
    assert Support.objects.filter(proposal=proposal).count() == 1
    assert AuditEvent.objects.count() == audits
    assert queries.proposal_tallies(topic)[0].total == 1


def test_unverified_and_staff_accounts_cannot_vote(city: City, topic: Topic) -> None:
    author = make_resident("a")
    proposal = actions.submit_proposal(actor=author.user, topic=topic, title="t", text="x")
    statement = actions.add_statement(actor=author.user, topic=topic, text="应该保留大树")
    unverified = make_resident("u", verified=False)
    for account in (unverified.user, city.user("operator")):
        with pytest.raises(actions.NotAllowed):
            actions.support_proposal(actor=account, proposal=proposal)
        with pytest.raises(actions.NotAllowed):
            actions.vote(actor=account, statement=statement, value=1)
    with pytest.raises(actions.NotAllowed, match="Sign in"):
        actions.vote(actor=None, statement=statement, value=1)
    assert not Support.objects.exists() and not StatementVote.objects.exists()


def test_votes_outside_the_deliberation_phase_are_refused(city: City, topic: Topic) -> None:
    voter = make_resident("v")
    statement = actions.add_statement(actor=voter.user, topic=topic, text="停车位不够")
    proposal = actions.submit_proposal(actor=voter.user, topic=topic, title="t", text="x")
    move(topic, city, Phase.DECISION)
    with pytest.raises(actions.Conflict, match="deliberation phase"):
        actions.vote(actor=voter.user, statement=statement, value=-1)
    with pytest.raises(actions.Conflict):
        actions.support_proposal(actor=voter.user, proposal=proposal)
    with pytest.raises(actions.Conflict):
        actions.submit_proposal(actor=voter.user, topic=topic, title="t2", text="x")
    assert not StatementVote.objects.exists()


def test_a_changed_mind_replaces_the_vote(city: City, topic: Topic) -> None:
    voter = make_resident("v")
    statement = actions.add_statement(actor=voter.user, topic=topic, text="停车位不够")
    actions.vote(actor=voter.user, statement=statement, value="agree")
    actions.vote(actor=voter.user, statement=statement, value=-1)
    assert list(StatementVote.objects.values_list("value", flat=True)) == [-1]
    with pytest.raises(Exception, match="agree \\(1\\), disagree"):
        actions.vote(actor=voter.user, statement=statement, value="maybe")


def race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``n`` threads at once; each returns its outcome (or exception)."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "in-memory SQLite (the default test database) locks whole tables across threads "
            "instead of waiting; run with TEST_DATABASE_NAME=<file> or on PostgreSQL"
        )
    barrier = threading.Barrier(n)
    outcomes: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = work(i)
        except Exception as exc:
            outcomes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_concurrent_supports_by_one_resident_count_once(city: City) -> None:
    topic = actions.open_topic(
        actor=None, title="t", summary="s", area=city.d1, unit=city.office_d1
    )
    fan = make_resident("fan")
    proposal = actions.submit_proposal(actor=fan.user, topic=topic, title="t", text="x")
    outcomes = race(6, lambda i: actions.support_proposal(actor=fan.user, proposal=proposal))
    assert sum(isinstance(o, Support) for o in outcomes) == 1
    assert all(isinstance(o, Support | actions.Conflict) for o in outcomes), outcomes
    assert Support.objects.filter(proposal=proposal).count() == 1
    assert AuditEvent.objects.filter(action="participation.proposal.support").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_by_one_resident_leave_one_vote(city: City) -> None:
    topic = actions.open_topic(
        actor=None, title="t", summary="s", area=city.d1, unit=city.office_d1
    )
    voter = make_resident("voter")
    statement = actions.add_statement(actor=voter.user, topic=topic, text="同意")
    values = [1, -1, 0, 1, -1, 0]
    outcomes = race(
        6, lambda i: actions.vote(actor=voter.user, statement=statement, value=values[i])
    )
    assert all(isinstance(o, StatementVote) for o in outcomes), outcomes
    assert StatementVote.objects.filter(statement=statement).count() == 1
    assert connection.vendor in ("sqlite", "postgresql")


def test_threaded_comments_and_public_moderation(city: City, topic: Topic) -> None:
    a, b = make_resident("a"), make_resident("b")
    root = actions.post_comment(actor=a.user, topic=topic, text="我支持改造")
    reply = actions.post_comment(actor=b.user, topic=topic, text="停车怎么办？", parent=root)
    staff = actions.post_comment(
        actor=city.user("handler_d1"), topic=topic, text="我们会评估", parent=reply
    )
    assert staff.author_name == city.office_d1.name  # staff speak as their unit
    actions.moderate_comment(actor=city.user("handler_d1"), comment=reply, reason="含有人身攻击")
    thread = queries.comment_thread(topic)
    assert [(row["comment"].pk, row["depth"]) for row in thread] == [
        (root.pk, 0),
        (reply.pk, 1),
        (staff.pk, 2),
    ]
    hidden = Comment.objects.get(pk=reply.pk)
    assert hidden.visibility == Visibility.HIDDEN and hidden.moderation_reason == "含有人身攻击"
    with pytest.raises(actions.Conflict):
        actions.moderate_comment(actor=None, comment=reply, reason="again")
    other = actions.open_topic(actor=None, title="o", summary="o", area=city.d2, unit=None)
    with pytest.raises(Exception, match="same topic"):
        actions.post_comment(actor=a.user, topic=other, text="x", parent=root)


def test_moderated_statements_leave_the_analysis(city: City, topic: Topic) -> None:
    voters = [make_resident(f"v{i}") for i in range(16)]
    statements = [
        actions.add_statement(
            actor=city.user("handler_d1"), topic=topic, text=f"观点{j}", seed=True
        )
        for j in range(8)
    ]
    for i, v in enumerate(voters):
        for j, s in enumerate(statements):
            actions.vote(actor=v.user, statement=s, value=1 if (i < 8) == (j % 2 == 0) else -1)
    analysis, data = queries.opinion_for(topic)
    assert analysis.k == 2 and int(analysis.clustered.sum()) == 16
    actions.moderate_statement(actor=None, statement=statements[0], reason="重复")
    analysis, data = queries.opinion_for(topic)
    assert data.moderated_out == {str(statements[0].pk)}
    assert analysis.components[0][0] == 0 and analysis.components[1][0] == 0
    with pytest.raises(actions.Conflict, match="moderated out"):
        actions.vote(
            actor=voters[0].user, statement=Statement.objects.get(pk=statements[0].pk), value=1
        )


def test_assisted_participation_needs_consent_and_counts_once(city: City, topic: Topic) -> None:
    statement = actions.add_statement(
        actor=city.user("handler_d1"), topic=topic, text="增加座椅", seed=True
    )
    proposal = actions.submit_proposal(
        actor=make_resident("a").user, topic=topic, title="座椅", text="x"
    )
    with pytest.raises(Exception, match="consent_text"):
        actions.register_assisted_person(
            actor=city.user("operator"), name="张奶奶", phone="", consent_text=""
        )
    person = actions.register_assisted_person(
        actor=city.user("operator"),
        name="张奶奶",
        phone="13600000000",
        consent_text="同意由工作人员代为表达意见",
    )
    assert (
        actions.register_assisted_person(
            actor=city.user("operator"), name="张奶奶", phone="136 0000 0000", consent_text="同意"
        )
        == person
    )
    actions.vote_for_assisted(
        actor=city.user("operator"), statement=statement, person=person, value=1
    )
    actions.vote_for_assisted(
        actor=city.user("operator"), statement=statement, person=person, value=0
    )
    assert StatementVote.objects.get().source == Source.ASSISTED
    actions.support_for_assisted(actor=city.user("operator"), proposal=proposal, person=person)
    with pytest.raises(actions.Conflict):
        actions.support_for_assisted(actor=city.user("operator"), proposal=proposal, person=person)
    tally = queries.proposal_tallies(topic)[0]
    assert (tally.online, tally.assisted, tally.total) == (0, 1, 1)
    # Someone with a verified account of their own takes part through it.
    make_resident("own", phone="13500000000")
    with pytest.raises(actions.Conflict, match="verified resident account"):
        actions.register_assisted_person(
            actor=city.user("operator"), name="李", phone="13500000000", consent_text="同意"
        )
