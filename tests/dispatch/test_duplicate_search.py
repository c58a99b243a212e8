"""The duplicate search reads the open cases near a new one through an index on a coarse cell
of the point (cases migration 0003): the cells it asks for must hold every point of its box,
as the database itself computes the cell, on SQLite and on PostgreSQL alike (one rounds the
float to an integer, the other cuts it); and the database must use that index. The texts'
vectors are kept in a cache between searches: what comes out of it is what the model makes."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest
import redis
from django.core.cache import caches
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from urbangov.algorithms.models import AlgorithmVersion
from urbangov.cases.models import Case, Channel, Status
from urbangov.dispatch import classifier, engine

pytestmark = pytest.mark.django_db


def points() -> list[tuple[float, float]]:
    """Points on and beside cell edges (every 0.0025 degree: the edges and the halves, where
    rounding ties), in all four quarters of the globe and at zero, and some at random."""
    rnd = random.Random(3)
    out = []
    for lat0, lon0 in ((31.2, 121.4), (-23.55, -46.63), (0.0, 0.0), (59.93, -0.005)):
        for i in range(-4, 5):
            for j in range(-4, 5):
                out.append((lat0 + i * 0.0025, lon0 + j * 0.0025))
        out += [
            (lat0 + rnd.uniform(-0.01, 0.01), lon0 + rnd.uniform(-0.01, 0.01)) for _ in range(40)
        ]
    return out


def test_the_cells_of_a_box_hold_every_point_in_it_as_the_database_computes_them() -> None:
    now = timezone.now()
    Case.objects.bulk_create(
        Case(channel=Channel.WEB, title="", text="t", lat=lat, lon=lon, created_at=now)
        for lat, lon in points()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT c.lat, c.lon, {engine.CELL_SQL} FROM cases_case c")  # noqa: S608
        stored = cursor.fetchall()
    assert len(stored) == len(points())
    rnd = random.Random(5)
    checked = 0
    for _ in range(3000):
        lat, lon, _cell = rnd.choice(stored)
        if rnd.random() < 0.5:
            # The box's edges on stored points exactly, as BETWEEN includes them.
            other = rnd.choice(stored)
            south, north = sorted((lat, other[0]))
            west, east = sorted((lon, other[1]))
        else:
            half = rnd.uniform(0, 0.008)
            south, north, west, east = lat - half, lat + half, lon - half, lon + half
        cells = engine.place_cells(south, north, west, east)
        if cells is None:
            # Too many cells (a box n hundredths wide spans at most n + 2): read by time.
            spans = ((north - south) * 100 + 2) * ((east - west) * 100 + 2)
            assert spans > engine.MAX_CELLS
            continue
        inside = [c for a, o, c in stored if south <= a <= north and west <= o <= east]
        assert set(inside) <= set(cells), (south, north, west, east)
        checked += len(inside)
    assert checked > 3000
    # A box wider than the cells' limit is read by time instead.
    assert engine.place_cells(31.0, 31.5, 121.0, 121.5) is None


def test_the_duplicate_search_reads_through_the_cells_index() -> None:
    # Three days of cases over a city, and the statistics a running database keeps.
    rnd = random.Random(9)
    now = timezone.now()
    Case.objects.bulk_create(
        Case(
            channel=Channel.WEB,
            title="",
            text="t",
            lat=rnd.uniform(31.2, 31.3),
            lon=rnd.uniform(121.3, 121.5),
            status=Status.DISPATCHED,
            created_at=now - timedelta(hours=rnd.uniform(0, 72)),
        )
        for _ in range(3000)
    )
    # A point near a corner of four cells (by either database's edges): the most it asks for.
    case = Case(
        pk=10**9,
        channel=Channel.WEB,
        title="",
        text="t",
        lat=31.2502,
        lon=121.4502,
        created_at=now,
        status=Status.SUBMITTED,
    )
    query = engine.candidates_query(case, None)
    assert query is not None
    sql, params = query
    assert engine.CELL_SQL in sql
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
        cursor.execute(f"{explain} {sql}", params)
        plan = "\n".join(str(row) for row in cursor.fetchall())
    assert "cases_case_place_cell_idx" in plan, plan
    if connection.vendor == "postgresql":
        # Never kept prepared (db.cursor is for statements whose plan does not depend on their
        # values; a plan for any values would read these three days by time): run more times
        # than it takes psycopg to prepare a statement, it is not among the prepared ones.
        for _ in range(8):
            engine.find_duplicate(case, None, None)
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [row[0] for row in cursor.fetchall()]
        assert not any(engine.CELL_SQL in statement for statement in prepared), prepared


def test_a_case_across_a_cells_edge_is_found_as_a_duplicate() -> None:
    # Pairs of reports 50 m apart on either side of a line where one database's cells meet
    # (PostgreSQL's lie at the half hundredths of a degree, where it rounds; SQLite's at the
    # hundredths, where it cuts): the search must still see the first from the second.
    now = timezone.now()
    crossed = []
    for edge, lon in ((31.205, 121.45), (31.21, 121.47)):
        first = Case.objects.create(
            channel=Channel.WEB,
            title="",
            text="幸福路12号楼下水管漏水，水流了一地",
            lat=edge - 0.00022,
            lon=lon,
            status=Status.DISPATCHED,
            created_at=now - timedelta(hours=1),
        )
        second = Case.objects.create(
            channel=Channel.WEB,
            title="",
            text="幸福路12号楼下的水管漏水，水流了一地！",
            lat=edge + 0.00022,
            lon=lon,
            created_at=now,
        )
        found = engine.find_duplicate(second, None, None)
        assert found is not None and found.case_id == first.pk
        assert found.distance_m is not None and 40 < found.distance_m < 60
        assert found.hours == pytest.approx(1.0)  # the first came in an hour before
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {engine.CELL_SQL} FROM cases_case c WHERE c.id IN (%s, %s)",  # noqa: S608
                [first.pk, second.pk],
            )
            if len({row[0] for row in cursor.fetchall()}) == 2:
                crossed.append(edge)
    # The pairs do straddle this database's edge: one of them lies in two cells.
    assert crossed == [31.205 if connection.vendor == "postgresql" else 31.21]


def test_kept_vectors_are_the_models_own_and_are_read_back(
    model_in_service: AlgorithmVersion,
) -> None:
    loaded = classifier.current()
    assert loaded is not None and loaded.version == model_in_service
    titles = ["漏水", "", "", "gas", "漏水", ""]
    texts = [
        "幸福路12号楼下水管漏水，水流了一地",
        "晚上广场舞噪音太大影响休息\xa0…",  # one that takes NFKC's full pass
        "",
        "the gas meter reading is wrong",
        "幸福路12号楼下水管漏水，水流了一地",  # the same title and text again: one key
        "幸福路12号楼下水管漏水，水流了一地",  # the same text without the title: another
    ]
    direct = loaded.model.similarity_vectors(titles, texts)
    cache = caches[engine.VECTOR_CACHE]
    cold = engine.similarity_vectors(loaded, titles, texts)
    warm = engine.similarity_vectors(loaded, titles, texts)
    for got in (cold, warm):
        assert got.shape == direct.shape
        assert (got != direct).nnz == 0  # exactly: a duplicate's threshold must not move
    # Each kept, under the model's artefact.
    keys = [engine.vector_key(model_in_service, t, x) for t, x in zip(titles, texts, strict=True)]
    assert len(cache.get_many(keys)) == 5
    # The row the assessment made with its prediction stands for the first text, and is kept.
    cache.clear()
    parts = loaded.model.parts(titles[:1], texts[:1])
    own = loaded.model.similarity_vectors(titles[:1], texts[:1], parts=parts)
    assert (own != direct[0]).nnz == 0
    given = engine.similarity_vectors(loaded, titles[:2], texts[:2], first=own[0])
    assert (given != direct[:2]).nnz == 0 and cache.get(keys[0]) is not None
    # What is kept is what is read: a vector put in place of one text's is the one used.
    cache.set(keys[3], cache.get(keys[0]))
    swapped = engine.similarity_vectors(loaded, [titles[3], titles[0]], [texts[3], texts[0]])
    assert (swapped[0] @ swapped[1].T)[0, 0] == pytest.approx(1.0)
    assert (direct[3] @ direct[0].T)[0, 0] < 0.2
    # An entry in any other form (cut short, or an older release's pair of arrays) is made
    # again and replaced.
    cache.set(keys[1], b"\x00" * 13)
    cache.set(keys[2], (direct[2].indices, direct[2].data))
    again = engine.similarity_vectors(loaded, titles[:3], texts[:3])
    assert (again != direct[:3]).nnz == 0
    for key in keys[1:3]:
        assert isinstance(cache.get(key), bytes)
        assert engine.unpack_vector(cache.get(key)) is not None


def test_a_kept_vector_reads_back_as_it_was_packed() -> None:
    rnd = np.random.default_rng(4)
    for n in (0, 1, 7, 500):
        columns = np.sort(rnd.choice(400_000, size=n, replace=False)).astype(np.int32)
        data = rnd.random(n)
        got = engine.unpack_vector(engine.pack_vector(columns, data))
        assert got is not None
        assert got[0].dtype == np.int32 and got[1].dtype == np.float64
        assert np.array_equal(got[0], columns) and np.array_equal(got[1], data)
    assert engine.unpack_vector(engine.pack_vector(columns, data)[:-1]) is None
    assert engine.unpack_vector("not bytes") is None


def test_an_unreachable_vector_cache_leaves_the_search_working(
    model_in_service: AlgorithmVersion, caplog: pytest.LogCaptureFixture
) -> None:
    # A Redis nobody listens on (port 9 is discard's, closed here): a real backend failing.
    unreachable = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        engine.VECTOR_CACHE: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        },
    }
    loaded = classifier.current()
    assert loaded is not None
    titles, texts = ["", ""], ["幸福路12号楼下水管漏水", "幸福路12号楼下的水管漏水！"]
    with override_settings(CACHES=unreachable):
        with pytest.raises(redis.exceptions.ConnectionError):
            caches[engine.VECTOR_CACHE].get("anything")
        got = engine.similarity_vectors(loaded, titles, texts)
    assert (got != loaded.model.similarity_vectors(titles, texts)).nnz == 0
    assert "the vector cache cannot be read" in caplog.text
    assert "the vector cache cannot be written" in caplog.text
