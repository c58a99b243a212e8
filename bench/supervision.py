#!/usr/bin/env python3
"""Supervision benchmark: the overview and the evaluation table over millions of cases in
PostgreSQL, and hot-spot detection over a year of them.

    .venv/bin/python bench/supervision.py [--cases 5000000] [--years 5] [--requests 40]
                                          [--database-url URL] [--keep] [--processes 2]
                                          [--chunks-per-year 1] [--reuse]

What it does, in order:

1. makes a fresh database (default ``urbangov_bench_supervision`` on the local PostgreSQL),
   migrates it and writes the Demo City's organisation (areas with polygons and population,
   categories, units) with the demo's own writers;
2. generates ``--cases`` cases with the Demo City generator (``urbangov.demo.generator``:
   the same simulated lives, timelines, ratings, reopenings, merges and seasons), one year of
   ``cases / years`` per chunk, in ``--processes`` processes, each writing its cases, timeline
   events and ratings with PostgreSQL COPY (the demo's own loader goes through the ORM at
   about 1,300 cases/s, which would take over an hour here). Contact details are left empty
   (their encryption is intake's cost, measured by bench/intake.py); their lookup hash, which
   hot-spots use to count residents once, is written;
3. folds every case into the evaluation's items and rollups with the production code
   (``urbangov.supervision.actions.fold_all``), timed; then ``VACUUM ANALYZE`` (what
   autovacuum does after a bulk load: statistics and the visibility map);
4. requests the overview and the evaluation table as a city-wide supervisor through Django's
   test client in this process (the whole view: filters, rollup queries, template), warm-up
   first, then ``--requests`` timed requests each, and reports p50/p95/max; for comparison
   it times the naive alternative (counting the month straight from the cases table);
5. runs the hot-spot detection and early warning over the last year's cases (the code the
   worker runs, ``refresh_hotspots``), timed, reading and clustering separately, in wall
   clock and in this process's CPU seconds, with the load average before and after; compares
   our text features with scikit-learn's ``TfidfVectorizer(analyzer="char",
   ngram_range=(2, 3))`` on the first ``--sklearn-texts`` texts (0 skips it);
6. drops the database (unless ``--keep``) and prints, as its LAST line, one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/urbangov_bench_supervision"
SEED = 2026


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    return urlunsplit(parts._replace(path="/postgres")), name


def fresh_database(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- generation (runs in worker processes) ------------------------------------------------------

CASE_COLUMNS = [
    "id",
    "tracking_code",
    "channel",
    "title",
    "text",
    "reported_category_id",
    "category_id",
    "urgency",
    "lat",
    "lon",
    "address",
    "area_id",
    "contact_name",
    "contact_phone",
    "contact_lookup",
    "anonymous",
    "attributes",
    "status",
    "unit_id",
    "created_at",
    "updated_at",
    "dispatched_at",
    "response_due",
    "resolve_due",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "resolution",
    "reject_reason",
    "merged_into_id",
    "reopen_count",
    "source",
    "external_id",
]
EVENT_COLUMNS = [
    "case_id",
    "at",
    "kind",
    "from_status",
    "to_status",
    "actor_label",
    "note",
    "public",
    "data",
]
FEEDBACK_COLUMNS = ["case_id", "round", "rating", "comment", "at"]


def generate_chunk(job: dict[str, Any]) -> dict[str, Any]:
    """Generate one year of cases and COPY them into the database; returns counts."""
    import django

    django.setup()
    import psycopg
    from psycopg.types.json import Jsonb

    from urbangov.cases.models import CODE_ALPHABET
    from urbangov.cases.transitions import TRANSITIONS
    from urbangov.demo import generator
    from urbangov.privacy.crypto import keyed_hash

    started = time.monotonic()
    city = generator.build_city(SEED)
    tz = ZoneInfo(job["tz"])
    end = datetime.fromisoformat(job["end"]).astimezone(tz)
    sla = {k: (timedelta(seconds=a), timedelta(seconds=b)) for k, (a, b) in job["sla"].items()}
    areas, categories, units = job["areas"], job["categories"], job["units"]
    public = {name: t.public for name, t in TRANSITIONS.items()}
    first_char = CODE_ALPHABET[job["index"]]
    ids: dict[str, int] = {}
    next_id = job["id_base"]
    cases = events = ratings = 0
    with psycopg.connect(job["dsn"]) as conn:
        batch_cases: list[tuple[Any, ...]] = []
        batch_events: list[tuple[Any, ...]] = []
        batch_feedback: list[tuple[Any, ...]] = []

        def flush() -> None:
            with conn.cursor() as cur:
                with cur.copy(f"COPY cases_case ({', '.join(CASE_COLUMNS)}) FROM STDIN") as cp:
                    for row in batch_cases:
                        cp.write_row(row)
                with cur.copy(
                    f"COPY cases_caseevent ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
                ) as cp:
                    for row in batch_events:
                        cp.write_row(row)
                with cur.copy(
                    f"COPY cases_feedback ({', '.join(FEEDBACK_COLUMNS)}) FROM STDIN"
                ) as cp:
                    for row in batch_feedback:
                        cp.write_row(row)
            conn.commit()
            batch_cases.clear()
            batch_events.clear()
            batch_feedback.clear()

        for rec in generator.generate_cases(
            city, count=job["count"], seed=SEED + 1 + job["index"], end=end, sla=sla, days=365
        ):
            pk = next_id
            next_id += 1
            ids[rec.external_id] = pk
            lookup = keyed_hash(rec.contact_phone) if rec.contact_phone else ""
            batch_cases.append(
                (
                    pk,
                    first_char + rec.tracking_code[1:],
                    rec.channel,
                    rec.title,
                    rec.text,
                    categories.get(rec.reported_category) if rec.reported_category else None,
                    categories.get(rec.category) if rec.category else None,
                    rec.urgency,
                    rec.lat,
                    rec.lon,
                    rec.address,
                    areas[rec.area],
                    "",
                    "",
                    lookup,
                    not rec.contact_phone,
                    Jsonb({}),
                    rec.status,
                    units.get(rec.unit) if rec.unit else None,
                    rec.created_at,
                    rec.updated_at,
                    rec.dispatched_at,
                    rec.response_due,
                    rec.resolve_due,
                    rec.accepted_at,
                    rec.resolved_at,
                    rec.closed_at,
                    rec.resolution,
                    rec.reject_reason,
                    ids.get(rec.merged_into) if rec.merged_into else None,
                    rec.reopen_count,
                    "bench",
                    f"Y{job['index']}-{rec.external_id}",
                )
            )
            for e in rec.events:
                batch_events.append(
                    (
                        pk,
                        e.at,
                        e.kind,
                        e.from_status,
                        e.to_status,
                        e.actor_label,
                        e.note,
                        public.get(e.kind, True),
                        Jsonb(e.data),
                    )
                )
            for f in rec.feedback:
                batch_feedback.append((pk, f.round, f.rating, f.comment, f.at))
            cases += 1
            events += len(rec.events)
            ratings += len(rec.feedback)
            if len(batch_cases) >= 20000:
                flush()
        flush()
    return {
        "index": job["index"],
        "year": job["year"],
        "cases": cases,
        "events": events,
        "ratings": ratings,
        "seconds": round(time.monotonic() - started, 1),
    }


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5_000_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--chunks-per-year", type=int, default=1, help="generate each year in parts, in parallel"
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="skip migration and generation (a kept database)"
    )
    parser.add_argument("--sklearn-texts", type=int, default=200_000)
    args = parser.parse_args()
    if args.years < 1 or args.cases < args.years:
        parser.error("--years is at least 1 and there must be at least one case a year")
    if args.chunks_per_year < 1 or args.years * args.chunks_per_year > 29:
        parser.error("--years × --chunks-per-year is 1 to 29 (one tracking-code letter each)")

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    os.environ["DEBUG"] = "0"
    os.environ["URBANGOV_HTTPS"] = "0"
    # The bench signs its supervisor in with force_login: no second factor to enrol.
    os.environ["URBANGOV_REQUIRE_2FA"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "urbangov.settings")
    figures: dict[str, Any] = {"cases": args.cases, "years": args.years}
    total_started = time.monotonic()
    if not args.reuse:
        fresh_database(args.database_url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if not args.reuse:
        call_command("migrate", verbosity=0)
    from urbangov.demo import catalogue, generator
    from urbangov.demo.actions import _write_areas, _write_categories, _write_units, sla_table
    from urbangov.org.models import Unit

    tz = ZoneInfo(settings.TIME_ZONE)
    end = datetime(2026, 1, 1, tzinfo=tz)
    if not args.reuse:
        started = time.monotonic()
        city = generator.build_city(SEED)
        area_ids = _write_areas(city)
        category_objs = _write_categories(city)
        unit_ids = _write_units(city, area_ids, {c.code: c.pk for c in category_objs})
        sla = sla_table(c for c in category_objs if c.parent_id is not None)
        log(f"the Demo City: {len(area_ids)} areas, {len(unit_ids)} units")
        per_year = args.cases // args.years
        jobs = []
        for k in range(args.years):
            count = per_year + (args.cases - per_year * args.years if k == args.years - 1 else 0)
            # a year in --chunks-per-year parts, generated side by side (own seeds)
            parts = [count // args.chunks_per_year] * args.chunks_per_year
            parts[-1] += count - sum(parts)
            for part, part_count in enumerate(parts):
                index = k * args.chunks_per_year + part
                jobs.append(
                    {
                        "index": index,
                        "year": k,
                        "count": part_count,
                        "end": (end - timedelta(days=365 * (args.years - 1 - k))).isoformat(),
                        "tz": settings.TIME_ZONE,
                        "sla": {
                            code: (r.total_seconds(), d.total_seconds())
                            for code, (r, d) in sla.items()
                        },
                        "areas": area_ids,
                        "categories": {c.code: c.pk for c in category_objs},
                        "units": unit_ids,
                        "dsn": args.database_url,
                        "id_base": 1 + index * 10_000_000,
                    }
                )
        connection.close()
        context = multiprocessing.get_context("fork")
        with context.Pool(args.processes) as pool:
            done = []
            for result in pool.imap_unordered(generate_chunk, jobs):
                done.append(result)
                log(
                    f"year {result['year'] + 1}, part {result['index'] + 1}: "
                    f"{result['cases']} cases in {result['seconds']} s"
                )
        with connection.cursor() as cur:
            for table in ("cases_case", "cases_caseevent", "cases_feedback"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )
            cur.execute("ANALYZE")
        figures["generate_and_copy_s"] = round(time.monotonic() - started, 1)
        figures["events"] = sum(r["events"] for r in done)
        figures["ratings"] = sum(r["ratings"] for r in done)
        log(f"generated and copied in {figures['generate_and_copy_s']} s")

        from urbangov.supervision.actions import fold_all

        started = time.monotonic()
        result = fold_all(batch=50_000)
        figures["fold_s"] = round(time.monotonic() - started, 1)
        figures["items"] = result.items
        with connection.cursor() as cur:
            # What autovacuum does after a bulk load, at once: statistics, and the visibility map
            # that lets counts read an index alone.
            cur.execute("VACUUM ANALYZE")
        log(f"folded {result.cases} cases into {result.items} items in {figures['fold_s']} s")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM supervision_rollup")
        figures["rollup_rows"] = cur.fetchone()[0]
        cur.execute("SELECT pg_database_size(current_database())")
        figures["database_bytes"] = cur.fetchone()[0]

    # --- the pages --------------------------------------------------------------------------
    from django.contrib.auth import get_user_model
    from django.test import Client

    from urbangov.org.models import Membership, Role

    user, _ = get_user_model().objects.get_or_create(username="bench-supervisor")
    Membership.objects.get_or_create(
        user=user, unit=Unit.objects.get(code=catalogue.DISPATCH_CENTRE), role=Role.SUPERVISOR
    )
    client = Client()
    client.cookies["django_language"] = "zh-hans"
    client.force_login(user)
    last_month = (end - timedelta(days=1)).strftime("%Y-%m")
    year_from = (end - timedelta(days=365)).date().isoformat()
    year_to = (end - timedelta(days=1)).date().isoformat()
    pages = {
        "overview_month": f"/supervision/?month={last_month}",
        "overview_year": f"/supervision/?from={year_from}&to={year_to}",
        "performance_month": f"/supervision/performance/?month={last_month}",
        "performance_year_by_street": f"/supervision/performance/?from={year_from}&to={year_to}&level=street",
    }
    timings: dict[str, Any] = {}
    for name, url in pages.items():
        for _ in range(3):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(args.requests):
            t = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200
        timings[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "max_ms": round(max(times), 1),
            "bytes": len(response.content),
        }
        log(f"{name}: p50 {timings[name]['p50_ms']} ms, p95 {timings[name]['p95_ms']} ms")
    figures["pages"] = timings

    # the naive alternative: the month counted straight from the cases, per request
    month_start = datetime.fromisoformat(last_month + "-01").replace(tzinfo=tz)
    naive = []
    for _ in range(3):
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                """SELECT date_trunc('day', created_at AT TIME ZONE %s), category_id, count(*),
                          count(*) FILTER (WHERE accepted_at <= response_due)
                   FROM cases_case WHERE created_at >= %s AND created_at < %s
                   GROUP BY 1, 2""",
                [settings.TIME_ZONE, month_start, end],
            )
            cur.fetchall()
        naive.append((time.perf_counter() - t) * 1000)
    figures["naive_month_scan_ms"] = round(statistics.median(naive), 1)

    # --- hot-spots over the last year ------------------------------------------------------
    import numpy as np

    from urbangov.analytics import hotspots as hs
    from urbangov.supervision.actions import case_columns, detect_hotspots, refresh_hotspots

    # CPU seconds of this process (all its threads) beside the wall clock, and the load of
    # the machine: on a shared machine the wall clock also counts other people's jobs (the
    # database server's work on the read is not in this process's CPU seconds).
    load_before = os.getloadavg()
    started, cpu = time.monotonic(), time.process_time()
    columns = case_columns(end - timedelta(days=365), end)
    read_s, read_cpu = time.monotonic() - started, time.process_time() - cpu
    started, cpu = time.monotonic(), time.process_time()
    clusters = detect_hotspots(columns, now=end)
    detect_s, detect_cpu = time.monotonic() - started, time.process_time() - cpu
    figures["hotspots"] = {
        "cases": len(columns["ids"]),
        "read_s": round(read_s, 1),
        "detect_s": round(detect_s, 1),
        "total_s": round(read_s + detect_s, 1),
        "read_cpu_s": round(read_cpu, 1),
        "detect_cpu_s": round(detect_cpu, 1),
        "load_before": [round(x, 2) for x in load_before],
        "clusters": len(clusters),
        "top": [
            {"label": columns["titles"][c.representative], "place": c.place, "size": c.size}
            for c in clusters[:5]
        ],
    }
    log(f"hot-spots: {figures['hotspots']}")
    started, cpu = time.monotonic(), time.process_time()
    summary = refresh_hotspots(now=end, days=365, force=True)
    figures["hotspots"]["refresh_s"] = round(time.monotonic() - started, 1)
    figures["hotspots"]["refresh_cpu_s"] = round(time.process_time() - cpu, 1)
    figures["hotspots"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    figures["hotspots"]["alerts"] = summary.alerts

    # our features against scikit-learn's char TF-IDF on the same texts
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = columns["texts"][: args.sklearn_texts]
    if texts:  # --sklearn-texts 0 skips the comparison (an empty vocabulary is an error)
        t = time.perf_counter()
        hs.text_features([texts])
        ours = time.perf_counter() - t
        t = time.perf_counter()
        TfidfVectorizer(
            analyzer="char", ngram_range=(2, 3), sublinear_tf=True, max_df=0.02
        ).fit_transform(texts)
        peer = time.perf_counter() - t
        figures["features_vs_sklearn"] = {
            "texts": len(texts),
            "ours_s": round(ours, 2),
            "sklearn_s": round(peer, 2),
            "ratio": round(peer / ours, 1) if ours else None,
        }
    del np
    connection.close()
    if not args.keep:
        drop_database(args.database_url)
        figures["database_dropped"] = True
    figures["total_s"] = round(time.monotonic() - total_started, 1)
    figures["goal_met"] = {
        "pages_p95_under_200ms": all(v["p95_ms"] < 200 for v in timings.values()),
        "hotspots_year_under_60s": figures["hotspots"]["total_s"] < 60,
    }
    print(json.dumps(figures, ensure_ascii=False, default=str))


if __name__ == "__main__":
    # stdout line-buffered, so progress shows when the output goes to a file
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", line_buffering=True)
    main()
