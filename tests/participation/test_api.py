"""The deliberation hall's REST API: a resident's whole path over real HTTP, staff endpoints
refused to outsiders with 404, refusals as 403 / 409 / 400 / 422 that change nothing, and the
anonymised open-data export in Polis's format, read back by our own Polis reader."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
import requests
from django.test import Client

from tests.conftest import City
from tests.participation.conftest import api_key, make_resident, move
from urbangov.analytics import opinion
from urbangov.participation import actions
from urbangov.participation.models import Phase, StatementVote, Support, Topic

pytestmark = pytest.mark.django_db
BASE = "/api/v1/participation"


def client(user: Any = None) -> Client:
    headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
    if user is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {api_key(user)}"
    return Client(**headers)


def post(c: Client, url: str, data: Any = None) -> Any:
    return c.post(url, data=json.dumps(data or {}), content_type="application/json")


@pytest.mark.django_db(transaction=True)
def test_a_resident_over_real_http(city: City, live_server: Any) -> None:
    base = f"{live_server.url}{BASE}"
    topic = actions.open_topic(
        actor=city.user("handler_d1"),
        title="口袋公园",
        summary="改造",
        area=city.d1,
        unit=city.office_d1,
    )
    statement = actions.add_statement(
        actor=city.user("handler_d1"), topic=topic, text="应保留大树", seed=True
    )
    r = requests.post(
        f"{base}/residents",
        json={
            "username": "http1",
            "password": "correct horse battery staple 42",
            "display_name": "小王",
            "phone": "13811110000",
        },
        timeout=10,
    )
    assert r.status_code == 201, r.text
    from urbangov.participation.models import Resident

    resident = Resident.objects.get(pk=r.json()["id"])
    headers = {"Authorization": f"Bearer {api_key(resident.user)}", "Accept-Language": "en"}
    refused = requests.post(
        f"{base}/statements/{statement.pk}/vote", json={"value": 1}, headers=headers, timeout=10
    )
    assert refused.status_code == 403 and "not verified" in refused.json()["detail"]
    code = actions.send_verification_code(actor=resident.user, resident=resident)
    assert (
        requests.post(
            f"{base}/residents/me/verify", json={"code": code}, headers=headers, timeout=10
        ).status_code
        == 200
    )
    assert (
        requests.post(
            f"{base}/statements/{statement.pk}/vote",
            json={"value": "agree"},
            headers=headers,
            timeout=10,
        ).status_code
        == 200
    )
    created = requests.post(
        f"{base}/topics/{topic.pk}/proposals",
        json={"title": "加座椅", "text": "给老人"},
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201
    pid = created.json()["id"]
    assert (
        requests.post(f"{base}/proposals/{pid}/support", headers=headers, timeout=10).status_code
        == 201
    )
    again = requests.post(f"{base}/proposals/{pid}/support", headers=headers, timeout=10)
    assert again.status_code == 409 and "once" in again.json()["detail"]
    detail = requests.get(f"{base}/topics/{topic.pk}", timeout=10).json()
    assert detail["proposals"][0]["supports"] == {
        "online": 1,
        "assisted": 0,
        "meetings": 0,
        "total": 1,
    }
    assert detail["statements"][0]["votes"] == {"agree": 1, "disagree": 0, "pass": 0}
    assert Support.objects.count() == 1 and StatementVote.objects.count() == 1


def test_staff_endpoints_answer_404_to_outsiders(city: City, topic: Topic) -> None:
    outsider = client(city.user("outsider"))
    assert (
        post(outsider, f"{BASE}/topics/{topic.pk}/phase", {"phase": "decision"}).status_code == 404
    )
    assert post(outsider, f"{BASE}/topics/999/phase", {"phase": "decision"}).status_code == 404
    assert (
        post(
            outsider,
            f"{BASE}/topics/{topic.pk}/meetings",
            {
                "title": "x",
                "kind": "online",
                "starts_at": "2030-01-01T10:00:00+08:00",
                "ends_at": "2030-01-01T11:00:00+08:00",
                "online_url": "https://x.org",
            },
        ).status_code
        == 404
    )
    topic.refresh_from_db()
    assert topic.phase == Phase.DELIBERATION
    organiser = client(city.user("handler_d1"))
    r = post(organiser, f"{BASE}/topics/{topic.pk}/phase", {"phase": "decision"})
    assert r.status_code == 200 and r.json()["phase"] == "decision"
    assert (
        post(organiser, f"{BASE}/topics/{topic.pk}/phase", {"phase": "deliberation"}).status_code
        == 409
    )
    # A unit's staff open topics for their own unit only.
    r = post(
        outsider, f"{BASE}/topics", {"title": "t", "summary": "s", "area": "D1", "unit": "D1S1"}
    )
    assert r.status_code == 403


def test_bad_input_is_refused_and_changes_nothing(city: City, topic: Topic) -> None:
    resident = make_resident("api")
    c = client(resident.user)
    statement = actions.add_statement(actor=resident.user, topic=topic, text="观点")
    assert post(c, f"{BASE}/statements/{statement.pk}/vote", {"value": 5}).status_code == 400
    assert post(c, f"{BASE}/statements/{statement.pk}/vote", {"vote": 1}).status_code == 422
    assert post(c, f"{BASE}/statements/999/vote", {"value": 1}).status_code == 404
    assert (
        client()
        .post(f"{BASE}/statements/{statement.pk}/vote", data="{}", content_type="application/json")
        .status_code
        == 401
    )
    assert (
        post(c, f"{BASE}/topics/{topic.pk}/proposals", {"title": "", "text": "x"}).status_code
        == 400
    )
    assert (
        c.post(
            f"{BASE}/topics/{topic.pk}/proposals", data=b"{oops", content_type="application/json"
        ).status_code
        == 400
    )
    staff = client(city.user("handler_d1"))
    r = post(
        staff, f"{BASE}/topics", {"title": "t", "summary": "s", "area": "NOPE", "unit": "D1S1"}
    )
    assert r.status_code == 400 and "NOPE" in r.json()["detail"]
    assert not StatementVote.objects.exists() and Topic.objects.count() == 1


def test_opinion_endpoint_and_anonymised_export(city: City, topic: Topic) -> None:
    voters = [make_resident(f"voter{i}") for i in range(16)]
    statements = [
        actions.add_statement(
            actor=city.user("handler_d1"), topic=topic, text=f"观点{j}", seed=True
        )
        for j in range(8)
    ]
    for i, v in enumerate(voters):
        for j, s in enumerate(statements):
            actions.vote(actor=v.user, statement=s, value=1 if (i < 10) == (j < 4) else -1)
    result = client().get(f"{BASE}/topics/{topic.pk}/opinion").json()
    assert result["k"] == 2 and sorted(g["size"] for g in result["groups"]) == [6, 10]
    archive = client().get(f"{BASE}/topics/{topic.pk}/export.zip")
    assert archive.status_code == 200 and archive["Content-Type"] == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(archive.content))
    names = {n.split("/", 1)[1] for n in files.namelist()}
    assert {
        "summary.csv",
        "comments.csv",
        "votes.csv",
        "participants-votes.csv",
        "proposals.csv",
    } <= names
    everything = b"".join(files.read(n) for n in files.namelist()).decode()
    for v in voters:
        assert v.user.username not in everything and v.display_name not in everything
    pv = files.read(f"topic-{topic.pk}/participants-votes.csv").decode()
    export = opinion.read_participants_votes(io.StringIO(pv))
    assert export.votes.shape == (16, 8) and len(export.votes.rows) == 128
    # Ids are drawn for the export (voters and statement authors share one shuffled numbering),
    # and the groups come with them.
    assert set(export.votes.participants) < {str(i) for i in range(17)}
    assert sorted(list(export.group_ids.values()).count(g) for g in (0, 1)) == [6, 10]
    again = zipfile.ZipFile(
        io.BytesIO(client().get(f"{BASE}/topics/{topic.pk}/export.zip").content)
    )
    first_rows = pv.splitlines()[1:]
    second_rows = again.read(f"topic-{topic.pk}/participants-votes.csv").decode().splitlines()[1:]
    assert sorted(r.split(",", 1)[1] for r in first_rows) == sorted(
        r.split(",", 1)[1] for r in second_rows
    )
    topics = client().get(f"{BASE}/topics.csv")
    assert topics.status_code == 200 and topic.title in topics.content.decode()


def test_follow_notifications_and_ratings(city: City, topic: Topic) -> None:
    resident = make_resident("f")
    c = client(resident.user)
    assert post(c, f"{BASE}/topics/{topic.pk}/follow").status_code == 200
    move(topic, city, Phase.DECISION, Phase.IMPLEMENTATION, Phase.EVALUATION)
    notices = c.get(f"{BASE}/notifications?unread=true").json()
    assert [n["data"]["phase"] for n in notices] == ["evaluation", "implementation", "decision"]
    assert post(c, f"{BASE}/topics/{topic.pk}/ratings", {"score": 5}).status_code == 201
    assert post(c, f"{BASE}/topics/{topic.pk}/ratings", {"score": 4}).status_code == 409
    assert post(c, f"{BASE}/notifications/read").status_code == 200
    assert c.get(f"{BASE}/notifications?unread=true").json() == []
