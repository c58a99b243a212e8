#!/usr/bin/env python3
"""Intake benchmark: residents' cases posted through the REST API to gunicorn + PostgreSQL.

    .venv/bin/python bench/intake.py [--count 20000] [--concurrency 32] [--workers 3]
                                     [--database-url URL | --sqlite] [--profile] [--selftest]

What it does, in order:

1. makes a fresh bench database (PostgreSQL: drops and creates ``urbangov_bench`` — or the
   database named in ``--database-url``/``DATABASE_URL`` — on the server; ``--sqlite``: a new
   file in a temporary folder), migrates it, and seeds a small city (100 grid cells with
   polygons, so each case is located) and a few categories;
2. starts gunicorn on ``urbangov.wsgi`` on a free loopback port, with the public create
   rate limit switched off for this server only (``URBANGOV_PUBLIC_SUBMIT_RATE=0/m``: the
   limit is per client address and every request here comes from 127.0.0.1);
3. runs the load generator as a SEPARATE process: asyncio, raw HTTP/1.1 over keep-alive
   connections (reconnecting when the server closes them), ``--concurrency`` connections,
   ``--count`` cases, each ``POST /api/v1/cases`` with its own ``Idempotency-Key``; a request
   whose connection drops is retried with the same key, as a real client would;
4. checks the database afterwards: every acknowledged case is there exactly once, under its
   key and with the tracking code the client was given, with its timeline event and its
   audit event;
5. prints throughput, latency percentiles, errors, CPU used by the server, the generator
   and PostgreSQL, and as the LAST line one JSON object with all figures.

``--selftest`` first measures the generator alone against a trivial asyncio server, to show
what it costs per request. ``--profile`` runs each gunicorn worker under cProfile and prints
where the time goes. Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/urbangov_bench"
CATEGORIES = ["water.leak", "noise", "road", "waste", "lighting"]
# The seeded city: a box split into 4 districts of 25 grid cells each.
X0, Y0, X1, Y1 = 121.30, 31.20, 121.50, 31.30


# --- the load generator (runs in its own process) ----------------------------------------


def _request(host: str, port: int, key: str, n: int) -> bytes:
    rnd = random.Random(n)
    body = json.dumps(
        {
            "text": f"楼下第{n}号路灯不亮，晚上很危险，请尽快修理。 Streetlight out near number {n}.",
            "category": CATEGORIES[n % len(CATEGORIES)],
            "channel": "app",
            "lat": round(rnd.uniform(Y0 + 0.001, Y1 - 0.001), 6),
            "lon": round(rnd.uniform(X0 + 0.001, X1 - 0.001), 6),
            "address": f"幸福路{n % 500}号",
            "contact_phone": f"138{n % 100000000:08d}",
        },
        ensure_ascii=False,
    ).encode()
    head = (
        f"POST /api/v1/cases HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nAccept: application/json\r\n"
        f"Idempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return status, headers, body


async def _load(
    host: str, port: int, count: int, concurrency: int, run_id: str, timeout: float
) -> dict[str, Any]:
    numbers = iter(range(count))
    latencies: list[float] = []
    acked: list[tuple[str, str, int, bool]] = []
    errors: dict[str, int] = {}
    retries = 0
    connects = 0

    async def client() -> None:
        nonlocal retries, connects
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        for n in numbers:
            key = f"{run_id}-{n}"
            request = _request(host, port, key, n)
            started = time.perf_counter()
            for attempt in range(4):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, port)
                        connects += 1
                    assert reader is not None
                    writer.write(request)
                    status, headers, body = await asyncio.wait_for(_read_response(reader), timeout)
                except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, OSError) as exc:
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    # A kept-alive connection the server had closed: send again, same key.
                    if attempt < 3:
                        retries += 1
                        continue
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    break
                if headers.get("connection", "").lower() == "close" and writer is not None:
                    writer.close()
                    reader = writer = None
                if status in (200, 201):
                    doc = json.loads(body)
                    latencies.append(time.perf_counter() - started)
                    acked.append((key, doc["tracking_code"], doc["id"], doc["created"]))
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                    if len(errors) < 5 and errors[str(status)] == 1:
                        print(f"load: HTTP {status}: {body[:300]!r}", file=sys.stderr)
                break
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "cpu_s": time.process_time() - cpu0,
        "latencies": latencies,
        "acked": acked,
        "errors": errors,
        "retries": retries,
        "connects": connects,
    }


def load_main(args: argparse.Namespace) -> None:
    result = asyncio.run(
        _load(args.host, args.port, args.count, args.concurrency, args.run_id, args.timeout)
    )
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")


async def _trivial_server(port: int, ready: Any) -> None:
    body = json.dumps({"id": 1, "tracking_code": "AAAAA-BBBBB", "created": True}).encode()
    reply = (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                writer.write(reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    ready.set()
    async with server:
        await server.serve_forever()


def trivial_main(args: argparse.Namespace) -> None:
    class Ready:
        def set(self) -> None:
            print("ready", flush=True)

    asyncio.run(_trivial_server(args.port, Ready()))


# --- the conductor -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes (and their reaped children) from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime are fields 14-17 (1-based); fields[0] is field 3.
        total += sum(int(v) for v in fields[11:15]) / tick
    return total


class CpuWatch:
    """CPU seconds used by the processes whose command line holds ``word`` (PostgreSQL's
    backends for one database), sampled every half second, so that a backend that exits
    during the run (Django closes connections after CONN_MAX_AGE) still counts."""

    def __init__(self, word: str) -> None:
        self.word = word
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop = threading.Event()
        self.sample(initial=True)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self, initial: bool = False) -> None:
        for pid in processes_named(self.word):
            used = cpu_seconds([pid])
            self.first.setdefault(pid, used if initial else 0.0)
            self.last[pid] = used

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.sample()

    def used(self) -> float:
        self.stop.set()
        self.thread.join()
        self.sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                kids.append(int(entry.name))
    return kids


def processes_named(word: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if word in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


SEED = r"""
import django
django.setup()
from django.db import transaction
from urbangov.org.actions import create_category
from urbangov.org.models import Area, Level, Unit, UnitKind

X0, Y0, X1, Y1 = __BOX__
def box(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}

with transaction.atomic():
    city = Area.objects.create(code="C", name="Bench City", level=Level.CITY, geometry=box(X0, Y0, X1, Y1))
    w = (X1 - X0) / 4
    for d in range(4):
        x = X0 + d * w
        district = Area.objects.create(code=f"D{d}", name=f"District {d}", level=Level.DISTRICT, parent=city, geometry=box(x, Y0, x + w, Y1))
        street = Area.objects.create(code=f"D{d}S", name=f"Street {d}", level=Level.STREET, parent=district, geometry=box(x, Y0, x + w, Y1))
        community = Area.objects.create(code=f"D{d}SC", name=f"Community {d}", level=Level.COMMUNITY, parent=street, geometry=box(x, Y0, x + w, Y1))
        gx, gy = w / 5, (Y1 - Y0) / 5
        for i in range(5):
            for j in range(5):
                Area.objects.create(code=f"D{d}SCG{i}{j}", name=f"Grid {d}-{i}{j}", level=Level.GRID, parent=community,
                                    geometry=box(x + i * gx, Y0 + j * gy, x + (i + 1) * gx, Y0 + (j + 1) * gy))
    for code in __CATEGORIES__:
        create_category(actor=None, code=code, name=code, name_en=code)
    Unit.objects.create(code="12345", name="Hotline", kind=UnitKind.DISPATCH_CENTRE).areas.add(city)
print("seeded")
""".replace("__BOX__", repr((X0, Y0, X1, Y1))).replace("__CATEGORIES__", repr(CATEGORIES))


def fresh_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"bench: refusing database name {name!r}")
    admin = urlunsplit(parts._replace(path="/postgres", query=""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def verify(url: str, run_id: str, acked: list[list[Any]]) -> dict[str, Any]:
    """Every acknowledged case in the database exactly once, with its event and audit row."""
    like = f"{run_id}-%"
    queries = {
        "cases": "SELECT idempotency_key, tracking_code, id FROM cases_case WHERE idempotency_key LIKE %s",
        "events": "SELECT e.case_id, count(*) FROM cases_caseevent e JOIN cases_case c ON c.id = e.case_id "
        "WHERE c.idempotency_key LIKE %s AND e.kind = 'submit' GROUP BY e.case_id",
        "audit": "SELECT a.object_id, count(*) FROM privacy_auditevent a "
        "WHERE a.action = 'case.submit' AND a.object_type = 'cases.case' GROUP BY a.object_id",
    }
    params = {"cases": (like,), "events": (like,), "audit": ()}
    if url.startswith("sqlite"):
        conn = sqlite3.connect(urlsplit(url).path)
        run = {
            k: conn.execute(q.replace("%s", "?"), params[k]).fetchall() for k, q in queries.items()
        }
        conn.close()
    else:
        import psycopg

        with psycopg.connect(urlunsplit(urlsplit(url)._replace(query=""))) as pg:
            run = {k: pg.execute(q, params[k]).fetchall() for k, q in queries.items()}
    stored: dict[str, list[tuple[str, int]]] = {}
    for key, code, pk in run["cases"]:
        stored.setdefault(key, []).append((code, pk))
    events = {int(pk): n for pk, n in run["events"]}
    audits = {int(pk): n for pk, n in run["audit"] if str(pk).isdigit()}
    lost = duplicated = mismatched = no_event = no_audit = 0
    for key, code, pk, _created in acked:
        rows = stored.get(key, [])
        if not rows:
            lost += 1
            continue
        if len(rows) > 1:
            duplicated += 1
        if rows[0] != (code, pk):
            mismatched += 1
        if events.get(pk) != 1:
            no_event += 1
        if audits.get(pk) != 1:
            no_audit += 1
    acked_keys = {a[0] for a in acked}
    return {
        "stored": len(run["cases"]),
        "lost": lost,
        "duplicated": duplicated,
        "mismatched": mismatched,
        "without_submit_event": no_event,
        "without_audit_event": no_audit,
        "stored_unacknowledged": sum(1 for k in stored if k not in acked_keys),
    }


def run_load(
    port: int, count: int, concurrency: int, run_id: str, workdir: Path, timeout: float = 30.0
) -> tuple[dict[str, Any], subprocess.Popen[bytes]]:
    out = workdir / f"load-{run_id}.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "_load",
            "--port",
            str(port),
            "--count",
            str(count),
            "--concurrency",
            str(concurrency),
            "--run-id",
            run_id,
            "--out",
            str(out),
            "--timeout",
            str(timeout),
        ],
    )
    proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"bench: the load generator failed ({proc.returncode})")
    return json.loads(out.read_text(encoding="utf-8")), proc


def selftest(count: int, concurrency: int, workdir: Path) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "_trivial", "--port", str(port)], stdout=subprocess.PIPE
    )
    assert server.stdout is not None
    server.stdout.readline()
    try:
        result, _ = run_load(port, count, concurrency, "selftest", workdir)
    finally:
        server.terminate()
        server.wait()
    rate = len(result["acked"]) / result["wall_s"]
    return {
        "requests": len(result["acked"]),
        "rate_per_s": round(rate),
        "generator_cpu_us_per_request": round(1e6 * result["cpu_s"] / max(1, len(result["acked"]))),
    }


def start_py_spy(pids: list[int], workdir: Path) -> list[subprocess.Popen[bytes]]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit(
            "bench: --profile needs py-spy (pip install py-spy), or use --profile cprofile"
        )
    procs = [
        subprocess.Popen(
            # --gil: only samples holding the GIL, so time waiting on PostgreSQL (psycopg
            # releases the GIL) is not counted as CPU.
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "250",
                "--format",
                "raw",
                "--nonblocking",
                "--gil",
                "--output",
                str(workdir / f"spy-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    time.sleep(1.0)
    return procs


# Frames whose inclusive share of the workers' CPU samples is worth reporting, by label.
PROFILE_GROUPS = {
    "create_case (the endpoint)": "create_case (urbangov/cases/api.py",
    "submit_case": "submit_case (urbangov/cases/actions.py",
    "_validate": "_validate (urbangov/cases/actions.py",
    "geo.locate_cell": "locate_cell (urbangov/org/geo.py",
    "geo.check_point": "check_point (urbangov/org/geo.py",
    "db.insert (lean INSERT)": "insert (urbangov/db.py",
    "audit record()": "record (urbangov/privacy/actions.py",
    "timeline _event()": "_event (urbangov/cases/actions.py",
    "encrypt (Fernet)": "encrypt (urbangov/privacy/crypto.py",
    "keyed_hash": "keyed_hash (urbangov/privacy/crypto.py",
    "SQL compile (Django)": "as_sql (django/db/models/sql/compiler.py",
    "psycopg execute": "execute (psycopg/cursor.py",
    "transaction commit": "commit (django/db/backends/base/base.py",
    "Django middleware": "__call__ (django/utils/deprecation.py",
    "pydantic/ninja": "run (ninja/operation.py",
    "_created (response)": "_created (urbangov/cases/api.py",
    "gunicorn handle": "handle (gunicorn/workers/sync.py",
}


def summarise_py_spy(files: list[Path], top: int = 25) -> dict[str, Any]:
    """Shares of CPU samples: inclusive for the groups above, self time for the top frames."""
    total = 0
    inclusive: dict[str, int] = dict.fromkeys(PROFILE_GROUPS, 0)
    own: dict[str, int] = {}
    # Where the endpoint's and submit_case's own time goes: their callees, by call site.
    parents = {
        "create_case": PROFILE_GROUPS["create_case (the endpoint)"],
        "submit_case": PROFILE_GROUPS["submit_case"],
    }
    callees: dict[str, dict[str, int]] = {name: {} for name in parents}
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _sep, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            total += count
            frames = stack.split(";")
            for label, needle in PROFILE_GROUPS.items():
                if any(needle in f for f in frames):
                    inclusive[label] += count
            leaf = frames[-1]
            own[leaf] = own.get(leaf, 0) + count
            for name, needle in parents.items():
                at = next((i for i, f in enumerate(frames) if needle in f), None)
                if at is not None:
                    # The frame names the caller's line: "func (file:line)" of the call site.
                    child = frames[at + 1] if at + 1 < len(frames) else "(itself)"
                    site = f"{frames[at].rsplit(':', 1)[-1].rstrip(')')} -> {child.split(' (')[0]}"
                    callees[name][site] = callees[name].get(site, 0) + count
    if not total:
        print("bench: py-spy recorded no samples", file=sys.stderr)
        return {}
    shares = {k: round(100 * v / total, 1) for k, v in inclusive.items()}
    print(f"profile: {total} CPU samples in the gunicorn workers; inclusive share of each part:")
    for label, share in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"  {share:5.1f}%  {label}")
    for name, sites in callees.items():
        print(f"profile: {name}, by line -> callee:")
        for site, count in sorted(sites.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {100 * count / total:5.1f}%  line {site}")
    print("profile: the frames that burn the most CPU themselves:")
    leaves = sorted(own.items(), key=lambda kv: -kv[1])[:top]
    for frame, count in leaves:
        print(f"  {100 * count / total:5.1f}%  {frame[:150]}")
    return {
        "samples": total,
        "inclusive_pct": shares,
        "self_pct": {f[:150]: round(100 * c / total, 1) for f, c in leaves[:12]},
        "callees_pct": {
            name: {
                k: round(100 * v / total, 1)
                for k, v in sorted(sites.items(), key=lambda kv: -kv[1])[:10]
            }
            for name, sites in callees.items()
        },
    }


def print_profile(directory: Path, top: int = 30) -> list[dict[str, Any]]:
    import pstats

    files = sorted(directory.glob("worker-*.prof"))
    if not files:
        print("bench: no profile written", file=sys.stderr)
        return []
    stats = pstats.Stats(*[str(f) for f in files])
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{Path(filename).name}:{line}({func})",
                "calls": nc,
                "tottime": tt,
                "cumtime": ct,
            }
        )
    rows.sort(key=lambda r: -r["tottime"])
    return rows[:15]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=20000, help="cases to post (default 20000)")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="connections at once (default 32)"
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per worker (default 4: gthread, which keeps connections alive; 1: sync)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_DB,
        help=f"PostgreSQL URL of the bench database, dropped and made anew (default {DEFAULT_DB})",
    )
    parser.add_argument("--sqlite", action="store_true", help="use a new SQLite file instead")
    parser.add_argument("--warmup", type=int, default=500, help="cases posted before measuring")
    parser.add_argument(
        "--profile",
        choices=["py-spy", "cprofile"],
        nargs="?",
        const="py-spy",
        help="sample the gunicorn workers with py-spy (default; pip install py-spy) or run them under cProfile",
    )
    parser.add_argument("--selftest", action="store_true", help="first measure the generator alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="urbangov-bench-"))
    figures: dict[str, Any] = {
        "bench": "intake",
        "count": args.count,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "threads": args.threads,
        "cpus": os.cpu_count(),
    }
    if args.selftest:
        figures["generator_selftest"] = selftest(args.count, args.concurrency, workdir)
        print(f"generator alone: {figures['generator_selftest']}")

    url = f"sqlite:///{workdir / 'bench.sqlite3'}" if args.sqlite else args.database_url
    figures["database"] = "sqlite" if args.sqlite else "postgresql"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "urbangov.settings",
        "SECRET_KEY": "bench-only-secret-key-not-for-production",
        "DEBUG": "0",
        "URBANGOV_HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "URBANGOV_DATA_DIR": str(workdir),
        # The create endpoint is limited per client address; every request here comes from
        # 127.0.0.1, so the limit is off for this server (and only this server).
        "URBANGOV_PUBLIC_SUBMIT_RATE": "0/m",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    figures["public_submit_rate"] = "0/m (off for the bench server only)"
    print(
        "bench: the public create rate limit is OFF for this server (URBANGOV_PUBLIC_SUBMIT_RATE=0/m): "
        "it counts per client address, and every request here comes from 127.0.0.1",
        flush=True,
    )
    (workdir / "static").mkdir()
    if not args.sqlite:
        fresh_postgres(url)
    print(f"bench: migrating a fresh {figures['database']} database", flush=True)
    subprocess.run(
        [sys.executable, "-m", "urbangov.cli", "migrate", "-v0"], env=env, check=True, cwd=ROOT
    )
    subprocess.run(
        [sys.executable, "-c", SEED], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL
    )

    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "urbangov.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--backlog",
        "2048",
        "--log-level",
        "warning",
        "--timeout",
        "60",
    ]
    if args.threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(args.threads)]
    if args.profile == "cprofile":
        (workdir / "prof").mkdir()
        env["BENCH_PROFILE_DIR"] = str(workdir / "prof")
        command += ["--config", str(ROOT / "bench" / "gunicorn_profile.py")]
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/categories", timeout=2
                ) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("bench: gunicorn did not come up")
            time.sleep(0.2)
        if args.warmup:
            run_load(port, args.warmup, args.concurrency, "warmup", workdir)
        server_pids = [server.pid, *children_of(server.pid)]
        # Only the backends serving the bench database: other clients of the same server
        # (tests, other benches) are not ours to count.
        backend = f": {urlsplit(url).username or 'postgres'} {urlsplit(url).path.lstrip('/')} "
        pg_watch = None if args.sqlite else CpuWatch(backend)
        cpu_server0 = cpu_seconds(server_pids)
        figures["loadavg_before"] = Path("/proc/loadavg").read_text().split()[0]
        run_id = f"bench{int(time.time())}"
        print(
            f"bench: posting {args.count} cases at concurrency {args.concurrency} "
            f"to {args.workers} gunicorn workers",
            flush=True,
        )
        spies = start_py_spy(children_of(server.pid), workdir) if args.profile == "py-spy" else []
        result, _load_proc = run_load(port, args.count, args.concurrency, run_id, workdir)
        cpu_server = cpu_seconds(server_pids) - cpu_server0
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(timeout=60)
        cpu_pg = pg_watch.used() if pg_watch is not None else 0.0
        figures["loadavg_after"] = Path("/proc/loadavg").read_text().split()[0]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=30)

    lat = result["latencies"]
    wall = result["wall_s"]
    ok = len(result["acked"])
    figures.update(
        {
            "acknowledged": ok,
            "created": sum(1 for a in result["acked"] if a[3]),
            "errors": result["errors"],
            "error_count": sum(result["errors"].values()),
            "retries": result["retries"],
            "connections_opened": result["connects"],
            "wall_s": round(wall, 2),
            "throughput_per_s": round(ok / wall, 1),
            "latency_ms": {
                "p50": round(1000 * percentile(lat, 0.50), 1),
                "p90": round(1000 * percentile(lat, 0.90), 1),
                "p99": round(1000 * percentile(lat, 0.99), 1),
                "max": round(1000 * max(lat), 1) if lat else None,
                "mean": round(1000 * statistics.fmean(lat), 1) if lat else None,
            },
            "cpu_s": {
                "server": round(cpu_server, 1),
                "generator": round(result["cpu_s"], 1),
                "postgres": round(cpu_pg, 1),
            },
            "cpu_ms_per_case": {
                "server": round(1000 * cpu_server / max(1, ok), 2),
                "generator": round(1000 * result["cpu_s"] / max(1, ok), 2),
                "postgres": round(1000 * cpu_pg / max(1, ok), 2),
            },
        }
    )
    figures["check"] = verify(url, run_id, result["acked"])
    figures["goal_met"] = bool(
        figures["throughput_per_s"] >= 500
        and figures["latency_ms"]["p99"] < 100
        and figures["check"]["lost"] == 0
        and figures["check"]["duplicated"] == 0
        and figures["error_count"] == 0
    )
    if args.profile == "cprofile":
        figures["profile_top"] = print_profile(workdir / "prof")
    elif args.profile == "py-spy":
        figures["profile"] = summarise_py_spy(sorted(workdir.glob("spy-*.txt")))

    print(
        f"throughput {figures['throughput_per_s']} cases/s; latency p50 {figures['latency_ms']['p50']} ms, "
        f"p99 {figures['latency_ms']['p99']} ms, max {figures['latency_ms']['max']} ms; "
        f"errors {figures['error_count']} {figures['errors'] or ''}; retries {figures['retries']}"
    )
    print(
        f"CPU per case: server {figures['cpu_ms_per_case']['server']} ms, generator "
        f"{figures['cpu_ms_per_case']['generator']} ms, postgres {figures['cpu_ms_per_case']['postgres']} ms"
    )
    c = figures["check"]
    print(
        f"check: {ok} acknowledged, {c['stored']} stored; lost {c['lost']}, duplicated {c['duplicated']}, "
        f"mismatched {c['mismatched']}, without event {c['without_submit_event']}, "
        f"without audit {c['without_audit_event']}, stored but unacknowledged {c['stored_unacknowledged']}"
    )
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("_load", "_trivial"):
        sub = argparse.ArgumentParser()
        sub.add_argument("verb")
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, required=True)
        sub.add_argument("--count", type=int, default=0)
        sub.add_argument("--concurrency", type=int, default=1)
        sub.add_argument("--run-id", default="x")
        sub.add_argument("--out", default="")
        sub.add_argument("--timeout", type=float, default=30.0)
        ns = sub.parse_args()
        load_main(ns) if ns.verb == "_load" else trivial_main(ns)
    else:
        main()
