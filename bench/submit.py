"""Benchmark: the report submission path under 32 concurrent clients (issue 3).

What is measured, in one run:

* the app: POST /lapor (CSRF check, form validation, region lookup, report + event + audit insert,
  commit, 303 to the receipt) served by gunicorn, driven by 32 concurrent HTTP/1.1 keep-alive
  clients; requests per second and p50/p95/p99 latency. Each client first GETs /lapor once for its
  session cookie, CSRF token and signed form stamp (CSRF stays on), then POSTs valid forms with a
  new `submission_key` each time and a point drawn inside a few kabupaten. Any answer other than
  303 to a receipt is an error. A few gunicorn configurations (worker class, workers, threads) are
  screened briefly first; the best one is measured;
* the ceiling: pgbench running the same SQL in one transaction per submission (the statements the
  app sends, in its order and protocol: simple queries, the connection checkout's ping when the app
  pings, and since issue 16 the one submission statement of apoa/reports/services.py — region
  lookup, report, first event, audit entry, notifications as data-modifying CTEs — as EXECUTE of
  the product's own PREPARE, once per connection), with 32 clients, after the HTTP load (not at
  the same time); transactions per second and latency;
* the audit chainer: every entry the two runs left unchained is then chained by
  `apoa.audit.chain.chain_pending` (as the job worker does every minute); entries per second;
* ratio = app requests/s / pgbench transactions/s;
* where the time goes: CPU milliseconds per request of gunicorn, PostgreSQL, the load generator
  and everything else on the machine during the measured run; how many sessions waited on an
  advisory lock (writers take none since the chainer: expected 0); the phases of one submission
  timed in-process (checkout ping, rate-limit checks, form, the statement and its round trip,
  commit) and a profile of the app's CPU time by package.

The benchmark uses its own database `apoa_bench` on the development PostgreSQL (created, migrated,
filled with regions and three offices on the first run, kept for later runs), because the audit log
is append-only: reports made by a benchmark could never be removed from the development database.
Its jobs (if a submission queues any) go to a queue of its own and are discarded at the end.

Durability: the figures are only comparable when PostgreSQL keeps every commit (fsync,
synchronous_commit and full_page_writes on, as `make run`'s cluster does). The run prints the
three settings as its database sees them; at full scale it refuses to run without them unless
--allow-non-durable is given, and then marks the output NOT DURABLE.

Rate limits: all clients come from 127.0.0.1 with one device cookie each, so the form's limits
(10 reports an hour per device) would refuse nearly every request. The benchmark app exempts every
request (`_common.exempt_from_limits`: Flask-Limiter's `request_filter` and the budgets the views
count); the limiter stays configured with Redis, so the submit view's check that the rate-limit
store is reachable (a Redis PING per submission) still runs. (APOA_RATELIMIT_ENABLED=false
cannot be used: with the limiter disabled, `limiter.storage` fails its assertion, the check fails
closed and every submission is answered 503.)

Run: .venv/bin/python bench/submit.py [--scale full|smoke] [--duration 20] [--configs sync:2,...]
with APOA_DATABASE_URL and APOA_REDIS_URL set (eval "$(scripts/dev.sh services apoa)"); the
benchmark database is APOA_DATABASE_URL's server with the name given by --database. `--scale smoke`
(make bench-smoke) runs a few seconds against apoa_bench_smoke. Prints a table, then as its last
line one JSON object with the figures; exits non-zero when a submission fails or the pgbench script
no longer sends the app's statements.
"""
import argparse
import asyncio
import cProfile
import glob
import os
import platform
import pstats
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _common import (BENCH_PASSWORD, PG_BIN, ROOT, SMOKE_DATABASE, Gunicorn, app_environ, bench_url, config_name,
                     cpu_per_request, cpu_snapshot, discard_jobs, durability, durability_line, durability_values,
                     ensure_database, exempt_from_limits, finish, log, machine_busy, officer_email, parse_scaled,
                     percentile, postmaster_pid, postmaster_pid_of, proc_table, require_environment, session_pids,
                     tree, tree_cpu)

# Issue 16: >= 400 req/s and p99 <= 100 ms at 32 clients, durable commits (issue 3 asked 900).
TARGETS = {"req_per_s": 400, "p99_ms": 100, "ratio": 0.15}
SCALES = {
    "full": {"clients": 32, "warmup": 3.0, "duration": 20.0,
             "configs": "sync:2,sync:4,gthread:2x4,gthread:3x4,gthread:4x4", "screen_duration": 6.0,
             "pgbench_duration": 20, "pgbench_few_clients": 2, "points": 1000, "breakdown": 300,
             "database": "apoa_bench"},
    "smoke": {"clients": 8, "warmup": 1.0, "duration": 3.0, "configs": "sync:2,gthread:2x4", "screen_duration": 1.0,
              "pgbench_duration": 3, "pgbench_few_clients": 0, "points": 200, "breakdown": 30,
              "database": SMOKE_DATABASE},
}

# Points are drawn in these kabupaten/kota: three with an office, two cities without one.
KABUPATEN = ("32.15", "18.08", "61.04", "32.73", "31.71")
DESCRIPTION = "[bench] Beberapa pekerja asing terlihat di lokasi proyek pada malam hari."
WIB_MINUTES = 7 * 60


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int)
    parser.add_argument("--warmup", type=float, help="seconds before measuring")
    parser.add_argument("--duration", type=float, help="measured seconds")
    parser.add_argument("--configs", help="gunicorn configurations to screen: CLASS:WORKERS[xTHREADS], comma-separated")
    parser.add_argument("--screen-duration", type=float,
                        help="measured seconds per screened configuration (0 = measure the first only)")
    parser.add_argument("--pgbench-duration", type=int)
    parser.add_argument("--pgbench-few-clients", type=int,
                        help="also run pgbench for 5 s with this many clients, for comparison (0 = not)")
    parser.add_argument("--points", type=int, help="distinct points used")
    parser.add_argument("--breakdown", type=int, help="submissions timed in-process for the phase breakdown")
    parser.add_argument("--database", help="benchmark database name")
    parser.add_argument("--allow-non-durable", action="store_true",
                        help="run on a server without fsync/synchronous_commit/full_page_writes (marked in the output)")
    parser.add_argument("--seed", type=int, default=42)
    args = parse_scaled(parser, SCALES)
    args.configs = [parse_config(c) for c in args.configs.split(",") if c.strip()]
    if args.clients < 1 or args.duration <= 0 or not args.configs:
        parser.error("--clients, --duration and --configs must be positive / non-empty")
    return args


def parse_config(text):
    match = re.fullmatch(r"\s*(sync|gthread):(\d+)(?:x(\d+))?\s*", text)
    if not match:
        raise SystemExit(f"submit: bad --configs entry {text!r} (want e.g. sync:2 or gthread:2x4)")
    kind, workers, threads = match.group(1), int(match.group(2)), int(match.group(3) or 1)
    return {"worker_class": kind, "workers": workers, "threads": threads if kind == "gthread" else 1}


def prepare_data(app, count, seed):
    """Offices and officers; `count` points inside KABUPATEN; category ids and data sizes."""
    from sqlalchemy import text

    from apoa.extensions import db

    with app.app_context():
        ensure_offices_and_officers()
        points = points_in_kabupaten(count, seed)
        categories = db.session.scalars(text("SELECT id FROM category WHERE active ORDER BY position")).all()
        sizes = db.session.execute(text(
            "SELECT (SELECT count(*) FROM report), (SELECT count(*) FROM audit_log),"
            " current_setting('server_version'), postgis_lib_version(), current_setting('data_directory')")).one()
        db.session.rollback()
    return points, categories, {"reports_before": sizes[0], "audit_entries_before": sizes[1],
                                "postgresql": sizes[2].split()[0], "postgis": sizes[3]}, sizes[4]


def ensure_offices_and_officers():
    """The demo's offices, so these kabupaten get an office as in `make run`, and an officer in
    each Kantor: a new report there notifies its screeners, as in any real office."""
    from apoa.auth.services import create_user, find_user_by_email
    from apoa.demo.seed import OFFICES
    from apoa.extensions import db
    from apoa.regions.offices import create_office, find_office, set_jurisdiction

    for code, name, kind, parent, kabupaten in OFFICES:
        if find_office(code) is None:
            create_office(code, name, kind, parent)
        if kabupaten:
            set_jurisdiction(code, kabupaten)
            if find_user_by_email(officer_email(code)) is None:
                create_user(officer_email(code), f"Petugas {name}", BENCH_PASSWORD, "officer", code)
    db.session.commit()


def points_in_kabupaten(count, seed):
    """`count` points spread over KABUPATEN, shuffled; the first lies in KABUPATEN[0] (it has an
    office), so the statements captured for it are those of a report that notifies officers."""
    from sqlalchemy import text

    from apoa.extensions import db

    per_kab = -(-count // len(KABUPATEN)) + 10  # ST_GeneratePoints may return a few less
    rows = db.session.execute(text("""
        SELECT ST_X(d.geom), ST_Y(d.geom)
        FROM unnest(CAST(:codes AS text[])) WITH ORDINALITY AS k(kode, i)
        JOIN region r ON r.kode = k.kode AND r.level = 'kabupaten_kota'
        CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(r.geom, :n, :seed + k.i::int)) d
        ORDER BY k.i, d.path"""), {"codes": list(KABUPATEN), "n": per_kab, "seed": seed}).all()
    if len(rows) < count:
        sys.exit("submit: the kabupaten for the points are missing; is the region import complete?")
    points = [(round(r[0], 6), round(r[1], 6)) for r in rows]
    first, rest = points[0], points[1:]
    random.Random(seed).shuffle(rest)
    return [first, *rest][:count]


class SessionSampler(threading.Thread):
    """Samples pg_stat_activity of the benchmark database: sessions active, waiting on an
    advisory lock (only the audit chainer takes one), idle in transaction."""

    def __init__(self, db_url, interval=0.1):
        super().__init__(daemon=True)
        self.db_url, self.interval = db_url, interval
        self.samples, self.recording = [], False
        self.done = threading.Event()

    def run(self):
        import psycopg2

        conn = psycopg2.connect(self.db_url)
        conn.autocommit = True
        with conn.cursor() as cursor:
            while not self.done.wait(self.interval):
                if not self.recording:
                    continue
                cursor.execute("""
                    SELECT count(*) FILTER (WHERE state = 'active'),
                           count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'),
                           count(*) FILTER (WHERE state LIKE 'idle in transaction%')
                    FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()""")
                self.samples.append(cursor.fetchone())
        conn.close()

    def summary(self):
        n = max(len(self.samples), 1)
        return {"samples": len(self.samples),
                "active_avg": round(sum(s[0] for s in self.samples) / n, 2),
                "waiting_advisory_lock_avg": round(sum(s[1] for s in self.samples) / n, 2),
                "idle_in_transaction_avg": round(sum(s[2] for s in self.samples) / n, 2)}


# --- the HTTP load ---------------------------------------------------------------------------

class HttpError(Exception):
    pass


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = defaultdict(list)
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()].append(value.strip())
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"][0]))
    elif headers.get("transfer-encoding", [""])[0].lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        body = await reader.read()
    close = any(v.lower() == "close" for v in headers.get("connection", []))
    return status, headers, body, close


class Client:
    """One simulated resident: a keep-alive connection, a session and a loop of submissions."""

    FIELD = r'name="{}"[^>]*value="([^"]*)"'

    def __init__(self, number, port, points, categories, results):
        self.number, self.port, self.points, self.categories = number, port, points, categories
        self.results = results  # list of (start, end, ok) shared by all clients
        self.reader = self.writer = None
        self.rng = random.Random(number)
        self.errors = Counter()

    async def connect(self):
        if self.writer is not None:
            self.writer.close()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def exchange(self, request):
        if self.writer is None:
            await self.connect()
        self.writer.write(request)
        status, headers, body, close = await read_response(self.reader)
        if close:
            self.writer.close()
            self.writer = None
        return status, headers, body

    async def open_form(self):
        status, headers, body = await self.exchange(
            f"GET /lapor HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode())
        html = body.decode()
        if status != 200:
            raise HttpError(f"GET /lapor answered {status}")
        cookies = "; ".join(c.split(";", 1)[0] for c in headers.get("set-cookie", []))
        values = {name: re.search(self.FIELD.format(name), html).group(1) for name in ("csrf_token", "started_at")}
        observed = (datetime.now(timezone(timedelta(minutes=WIB_MINUTES))) - timedelta(hours=1))
        self.fixed = urllib.parse.urlencode({
            "csrf_token": values["csrf_token"], "started_at": values["started_at"], "utc_offset": str(WIB_MINUTES),
            "accuracy_m": "25", "website": "", "description": DESCRIPTION, "people_count": "2",
            "nationality": "", "observed_at": observed.strftime("%Y-%m-%dT%H:%M"), "address": "",
            "reporter": "anonymous", "consent": "y"})
        self.head = (f"POST /lapor HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nCookie: {cookies}\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ")

    def submission(self):
        lon, lat = self.points[self.rng.randrange(len(self.points))]
        body = (f"{self.fixed}&category={self.rng.choice(self.categories)}"
                f"&place_kind={self.rng.choice(('residence', 'lodging'))}"
                f"&submission_key={uuid.uuid4()}&latitude={lat}&longitude={lon}").encode()
        return f"{self.head}{len(body)}\r\n\r\n".encode() + body

    async def run(self, stop_at):
        await self.open_form()
        clock = time.perf_counter
        while clock() < stop_at:
            request = self.submission()
            start = clock()
            try:
                status, headers, _body = await self.exchange(request)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
                self.results.append((start, clock(), False))
                self.errors[type(error).__name__] += 1
                self.writer = None
                continue
            ok = status == 303 and headers.get("location", [""])[0].startswith("/lapor/tanda-terima/")
            self.results.append((start, clock(), ok))
            if not ok:
                self.errors[f"HTTP {status}"] += 1
        if self.writer is not None:
            self.writer.close()


async def drive(port, clients, points, categories, warmup, duration):
    results = []
    workers = [Client(i, port, points, categories, results) for i in range(clients)]
    begin = time.perf_counter()
    stop_at = begin + warmup + duration
    outcomes = await asyncio.gather(*(w.run(stop_at) for w in workers), return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed: {failures[0]!r}")
    errors = sum((w.errors for w in workers), Counter())
    return results, begin + warmup, stop_at, errors


def load(port, args, points, categories, duration, on_measure_start=None, on_measure_end=None, warmup=None):
    """Run the clients; returns the figures of the measured window."""
    marks = {}
    warmup = args.warmup if warmup is None else warmup

    def mark(name, callback):
        marks[name] = time.perf_counter()
        if callback:
            callback()

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(warmup, mark, "start", on_measure_start)
        loop.call_later(warmup + duration, mark, "end", on_measure_end)
        return await drive(port, args.clients, points, categories, warmup, duration)

    results, window_start, window_end, errors = asyncio.run(main())
    measured = [r for r in results if window_start <= r[1] <= window_end]  # answered in the window
    latencies = sorted((end - start) * 1000 for start, end, ok in measured)
    failed = sum(1 for r in measured if not r[2])
    return {"requests": len(measured), "errors": failed, "error_kinds": dict(errors),
            "seconds": round(window_end - window_start, 2),
            "req_per_s": round(len(measured) / (window_end - window_start), 1),
            "ok_per_s": round((len(measured) - failed) / (window_end - window_start), 1),
            **{f"p{q}_ms": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
            "max_ms": round(latencies[-1], 2) if latencies else None}


# --- pgbench: the same SQL -------------------------------------------------------------------

def bisect_case(values, var="k", low=0, high=None):
    """A pgbench expression giving values[:var] by binary search: about log2(n) comparisons."""
    high = len(values) if high is None else high
    if high - low == 1:
        return repr(values[low])
    mid = (low + high) // 2
    return (f"(case when :{var} < {mid} then {bisect_case(values, var, low, mid)}"
            f" else {bisect_case(values, var, mid, high)} end)")


def pgbench_script(points, categories, pre_ping=True):
    """One submission's SQL, in the app's order (see captured_statements for the check): the
    connection checkout's ping, then the one submission statement (apoa.reports.services), PREPAREd
    once per connection as the app does, with the product's own PREPARE text; then COMMIT. (The
    form's category list comes from a per-process cache, the resend check only runs when a form is
    refused: neither sends anything on this path.)"""
    from apoa.auth.permissions import Permission, roles_with
    from apoa.reports import services

    key = "md5(':client_id :r1 :r2')::uuid"
    roles = "ARRAY[" + ", ".join(f"'{role}'" for role in roles_with(Permission.screen)) + "]"
    values = {
        "lon": ":lon", "lat": ":lat", "code": "upper(substr(md5(':r2 :r1 :client_id'), 1, 14))", "key": key,
        "category": ":category", "description": f"'{DESCRIPTION}'", "people": "2", "nationality": "NULL",
        "place_kind": "'residence'", "observed_at": "now() - interval '1 hour'", "accuracy": "25.0",
        "address": "NULL", "channel": "'web'", "actor": "NULL", "contact": "NULL", "created_at": "now()",
        "due_at": "now() + interval '1 day'", "photos": "0", "roles": roles,
    }
    arguments = ", ".join(values[name] for name, _type in services._SUBMIT_PARAMETERS)
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return "\n".join([
        f"\\set k random(0, {len(points) - 1})",
        f"\\set lon {bisect_case(lons)}",
        f"\\set lat {bisect_case(lats)}",
        "\\set r1 random(0, 2147483647)",
        "\\set r2 random(0, 2147483647)",
        f"\\set c random(0, {len(categories) - 1})",
        f"\\set category {bisect_case(list(categories), 'c')}",
        # The app prepares the statement once per connection (apoa.core.prepared.prepare_once).
        "\\if :prep = 0",
        services._PREPARE_SUBMIT.strip() + ";",
        "\\set prep 1",
        "\\endif",
        "BEGIN;",
        *(["SELECT 1;"] if pre_ping else []),  # pool_pre_ping when the request checks out its connection
        f"EXECUTE {services._SUBMIT_NAME}({arguments});",
        "COMMIT;",
        "",
    ])


def statement_kind(sql):
    """A statement's shape, for comparing the app's with the script's: its first words, with
    literals, numbers and pgbench variables replaced by ?."""
    sql = re.sub(r"--[^\n]*", "", sql)
    sql = re.sub(r"'[^']*'", "?", sql)
    sql = re.sub(r":[a-z_]\w*", "?", sql)
    sql = re.sub(r"%\(\w+\)s|%s", "?", sql)  # the driver's placeholders, as the app's statements are recorded
    sql = re.sub(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?", "?", sql)
    return " ".join(re.sub(r"\s+", " ", sql).strip().lower().split(" ")[:3]).rstrip(";")


def statement_shape(sql):
    """statement_kind, and for an INSERT its column list: a column the app now writes and the
    script does not shows as a difference."""
    kind = statement_kind(sql)
    columns = re.match(r"\s*insert\s+into\s+\w+\s*\(([^)]*)\)", sql, re.IGNORECASE)
    if columns:
        kind += " (" + ", ".join(c.strip().lower() for c in columns.group(1).split(",")) + ")"
    return kind


SKIPPED = ("prepare", "begin", "commit", "rollback")


def script_kinds(script):
    """The kinds of the SQL commands of a pgbench script (meta-commands, PREPARE, BEGIN, COMMIT left out)."""
    commands, current = [], []
    for line in script.splitlines():
        if line.startswith("\\"):
            continue
        current.append(line)
        if line.rstrip().endswith((";", "\\gset")):
            commands.append("\n".join(current).replace("\\gset", ""))
            current = []
    return [statement_shape(c) for c in commands if not c.lstrip().lower().startswith(SKIPPED)]


def captured_statements(db_url, redis_url, point, category):
    """The statements the app sends for one submission (through the test client), by kind."""
    import psycopg2.extensions

    from apoa import create_app
    from apoa.extensions import db

    sent = []

    class RecordingCursor(psycopg2.extensions.cursor):
        def execute(self, query, vars=None):
            sent.append(query if isinstance(query, str) else query.decode())
            return super().execute(query, vars)

    class RecordingConnection(psycopg2.extensions.connection):
        def cursor(self, *args, **kwargs):
            kwargs.setdefault("cursor_factory", RecordingCursor)
            return super().cursor(*args, **kwargs)

    options = app_engine_options(db_url, redis_url)
    app = create_app(config={"SQLALCHEMY_ENGINE_OPTIONS": {
        **options, "connect_args": {"connection_factory": RecordingConnection}}},
        environ=app_environ(db_url, redis_url))
    exempt_from_limits(app)
    client = app.test_client()
    form = submission_form(client, point, category)
    client.get("/healthz")  # the pool's connection exists: what follows is one request's share
    sent.clear()
    response = client.post("/lapor", data=form)
    with app.app_context():
        db.engine.dispose()
    if response.status_code != 303:
        raise RuntimeError(f"a submission through the test client answered {response.status_code}")
    return [statement_shape(s) for s in sent if not s.lstrip().lower().startswith(SKIPPED)]


def app_engine_options(db_url, redis_url):
    """The engine options the app runs with (apoa/config.py), e.g. whether it pings on checkout."""
    from apoa import create_app

    return dict(create_app(environ=app_environ(db_url, redis_url)).config["SQLALCHEMY_ENGINE_OPTIONS"])


def submission_form(client, point, category):
    html = client.get("/lapor").get_data(as_text=True)
    value = lambda name: re.search(Client.FIELD.format(name), html).group(1)  # noqa: E731
    observed = datetime.now(timezone(timedelta(minutes=WIB_MINUTES))) - timedelta(hours=1)
    return {"csrf_token": value("csrf_token"), "started_at": value("started_at"),
            "submission_key": str(uuid.uuid4()), "category": str(category), "description": DESCRIPTION,
            "people_count": "2", "nationality": "", "place_kind": "residence",
            "observed_at": observed.strftime("%Y-%m-%dT%H:%M"), "utc_offset": str(WIB_MINUTES),
            "latitude": str(point[1]), "longitude": str(point[0]), "accuracy_m": "25", "address": "",
            "reporter": "anonymous", "consent": "y", "website": ""}


def run_pgbench(db_url, script, clients, seconds, workdir, pg_pid, probe):
    """Run pgbench; its figures, and the CPU PostgreSQL and pgbench used per transaction (the
    server's processes are sampled while they run: pgbench's sessions end with it)."""
    path = Path(workdir) / "submit.sql"
    path.write_text(script)
    prefix = Path(workdir) / f"pgbench_log_{clients}"
    command = [str(PG_BIN / "pgbench"), "-n", "-M", "simple", "-D", "prep=0", "-c", str(clients), "-j", "2",
               "-T", str(seconds), "-r", "-l", "--log-prefix", str(prefix), "-f", str(path), db_url]
    start_pg, start_own, start_machine = tree(proc_table(), pg_pid), os.times(), machine_busy()
    last, bench_pids = dict(start_pg), set()
    out_path, err_path = Path(workdir) / "pgbench.out", Path(workdir) / "pgbench.err"
    with open(out_path, "w") as out_file, open(err_path, "w") as err_file:
        process = subprocess.Popen(command, stdout=out_file, stderr=err_file)
        while process.poll() is None:
            last.update(tree(proc_table(), pg_pid))
            bench_pids.update(session_pids(probe))
            time.sleep(0.25)
    end_own, machine = os.times(), machine_busy() - start_machine
    out, err = out_path.read_text(), err_path.read_text()
    if process.returncode != 0:
        raise RuntimeError(f"pgbench failed ({process.returncode}):\n{err[-3000:]}\n{out[-2000:]}")
    pg_cpu = sum(cpu - start_pg.get(pid, 0.0) for pid, cpu in last.items() if pid in bench_pids)
    pgbench_cpu = (end_own.children_user + end_own.children_system
                   - start_own.children_user - start_own.children_system)
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    failed = int((re.search(r"number of failed transactions: (\d+)", out) or [0, 0])[1])
    latencies = []
    for log_file in glob.glob(f"{prefix}.*"):
        with open(log_file) as f:
            latencies.extend(int(line.split()[2]) / 1000 for line in f)
    latencies.sort()
    per_statement = []
    in_table = False
    for line in out.splitlines():
        if "statement latencies in milliseconds" in line:
            in_table = True
            continue
        match = re.match(r"\s+([\d.]+)\s+(\d+)\s+(.*)", line) if in_table else None
        if match and not match.group(3).startswith("\\"):
            per_statement.append((float(match.group(1)), statement_kind(match.group(3))))
    n = max(len(latencies), 1)
    return {"clients": clients, "tps": round(tps, 1), "transactions": len(latencies), "failed": failed,
            "cpu_ms_per_transaction": {"postgresql": round(pg_cpu * 1000 / n, 3),
                                       "pgbench": round(pgbench_cpu * 1000 / n, 3),
                                       "cores_busy": round(machine / seconds, 2)},
            # Cores used by everything else (other databases' sessions included) meanwhile.
            "other_cores": round(max(machine - pg_cpu - pgbench_cpu, 0.0) / seconds, 2),
            **{f"p{q}_ms": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
            "avg_ms": round(sum(latencies) / max(len(latencies), 1), 2),
            "slowest_statements": [{"ms": ms, "statement": kind} for ms, kind in
                                   sorted(per_statement, reverse=True)[:4]]}


# --- where the time goes, in-process ---------------------------------------------------------

PHASES = (
    # (label, module, attribute, depth)
    ("rate-limit store check (Redis PING)", "apoa.reports.public_views", "rate_limit_store_available", 1),
    ("rate-limit budget check", "apoa.reports.public_views", "refuse_when_exhausted", 1),
    ("category list (per-process cache)", "apoa.reports.public_views", "category_choices", 1),
    ("form construction (ReportForm)", "apoa.reports.forms", "ReportForm.__init__", 1),
    ("form validation", "apoa.reports.forms", "ReportForm.validate", 1),
    ("fill-time stamp check", "apoa.reports.public_views", "filled_too_fast", 1),
    ("submit_report", "apoa.reports.public_views", "submit_report", 1),
    # The request's first database use checks its connection out of the pool: with the category
    # list cached, that is the submission's.
    ("connection checkout ping (pool_pre_ping)", "sqlalchemy.dialects.postgresql._psycopg_common",
     "_PGDialect_common_psycopg.do_ping", 2),
    ("the one statement (Session.execute)", "sqlalchemy.orm.session", "Session.execute", 2),
    ("of which the round trip (cursor.execute)", "sqlalchemy.engine.default", "DefaultDialect.do_execute", 3),
    ("commit", "sqlalchemy.orm.session", "Session.commit", 1),
)
# Phases that may rightly time nothing (the app's engine options decide whether it pings).
OPTIONAL_PHASES = {"connection checkout ping (pool_pre_ping)"}
# Phases the parent's time is split into; what they leave is shown as the parent's rest.
RESTS = {
    "submit_report": "rest of submit_report (checkout, tracking code, due date, parameters, log)",
    "the one statement (Session.execute)": "rest: SQLAlchemy (compile, bind, ORM load of the report)",
}


def timed_breakdown(db_url, redis_url, points, categories, count):
    """Run `count` submissions through the test client, one at a time, with each phase timed;
    then profile as many again and sum the app's CPU time by package."""
    import importlib

    from apoa import create_app
    from apoa.extensions import db

    app = exempt_from_limits(create_app(environ=app_environ(db_url, redis_url)))
    totals, originals, marks = defaultdict(int), [], {}

    def wrap(label, owner, name):
        original = getattr(owner, name)
        originals.append((owner, name, original))

        def timed(*args, **kwargs):
            start = time.perf_counter_ns()
            try:
                return original(*args, **kwargs)
            finally:
                end = time.perf_counter_ns()
                totals[label] += end - start
                marks[label] = (start, end)
        setattr(owner, name, timed)

    client = app.test_client()
    base = submission_form(client, points[0], categories[0])
    forms = [base | {"submission_key": str(uuid.uuid4()), "category": str(categories[i % len(categories)]),
                     "longitude": str(points[i % len(points)][0]), "latitude": str(points[i % len(points)][1])}
             for i in range(2 * count + 20)]
    for form in forms[:20]:  # warm-up: connections, prepared lookup, caches
        client.post("/lapor", data=form)
    for label, module, attribute, _depth in PHASES:
        owner = importlib.import_module(module)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        wrap(label, owner, name)
    statuses = Counter()
    cpu_start, machine_start, wall_start = time.process_time(), machine_busy(), time.perf_counter()
    pg_pid = postmaster_pid_of(db_url)
    pg_start = tree_cpu(proc_table(), pg_pid)
    try:
        for form in forms[20:20 + count]:
            start = time.perf_counter_ns()
            statuses[client.post("/lapor", data=form).status_code] += 1
            totals["request (test client)"] += time.perf_counter_ns() - start
    finally:
        own = time.process_time() - cpu_start
        cpu_ms = own * 1000 / count
        others = (machine_busy() - machine_start - own - (tree_cpu(proc_table(), pg_pid) - pg_start))
        other_cores = round(max(others, 0.0) / (time.perf_counter() - wall_start), 2)
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)
    profile = cProfile.Profile()
    profile.enable()
    for form in forms[20 + count:]:
        client.post("/lapor", data=form)
    profile.disable()
    with app.app_context():
        db.engine.dispose()
    return {"submissions": count, "statuses": dict(statuses), "phases": phase_table(totals, count),
            # A phase the submission path no longer calls times nothing: the table is out of date.
            "uncalled_phases": [label for label, *_rest in PHASES
                                if label not in marks and label not in OPTIONAL_PHASES],
            "cpu_ms_per_request": round(cpu_ms, 3), "other_cores": other_cores,
            "profile": profile_by_area(profile)}


def phase_table(totals, count):
    """Mean ms per submission of each phase, and what the timed parts of a phase leave over."""
    timed = [{"phase": "request (test client)", "depth": 0,
              "ms": round(totals["request (test client)"] / count / 1e6, 3)}]
    timed += [{"phase": label, "depth": depth, "ms": round(totals[label] / count / 1e6, 3)}
              for label, _m, _a, depth in PHASES]
    phases = []
    for i, phase in enumerate(timed):
        phases.append(phase)
        children = []
        for later in timed[i + 1:]:
            if later["depth"] <= phase["depth"]:
                break
            if later["depth"] == phase["depth"] + 1:
                children.append(later)
        rest = RESTS.get(phase["phase"])
        if rest and children:
            last = i + 1
            while last < len(timed) and timed[last]["depth"] > phase["depth"]:
                last += 1
            # inserted after the phase's last descendant
            phase["_rest"] = (timed[last - 1]["phase"], {"phase": rest, "depth": phase["depth"] + 1,
                                                         "ms": round(phase["ms"] - sum(c["ms"] for c in children), 3)})
    ordered = []
    pending = {}
    for phase in phases:
        if "_rest" in phase:
            after, row = phase.pop("_rest")
            pending.setdefault(after, []).insert(0, row)
        ordered.append(phase)
        ordered.extend(pending.pop(phase["phase"], []))
    ordered.append({"phase": "rest: Flask, CSRF, session cookie, redirect, test client", "depth": 1,
                    "ms": round(timed[0]["ms"] - sum(p["ms"] for p in timed if p["depth"] == 1), 3)})
    return ordered


def profile_by_area(profile):
    """Share of the profiled time (tottime) by package, and the functions costing most."""
    stats = pstats.Stats(profile).stats
    areas, functions = Counter(), Counter()
    for (filename, line, name), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        areas[area_of(filename, name)] += tottime
        functions[f"{short_path(filename)}:{line}({name})"] += tottime
    total = sum(areas.values()) or 1
    return {"areas": [{"area": a, "share": round(t / total, 3)} for a, t in areas.most_common(10)],
            "top_functions": [{"function": f, "share": round(t / total, 3)} for f, t in functions.most_common(8)]}


def area_of(filename, name):
    if filename == "~":
        if "psycopg2" in name or "cursor" in name or "connection" in name:
            return "psycopg2 (waiting for PostgreSQL)"
        if "socket" in name or "recv" in name or "send" in name:
            return "sockets (Redis)"
        return "builtins"
    match = re.search(r"site-packages/([A-Za-z0-9_]+)", filename)
    if match:
        return match.group(1)
    match = re.search(r"/(apoa)/(\w+)", filename)
    if match:
        return f"apoa.{match.group(2)}"
    return "python stdlib"


def short_path(filename):
    return re.sub(r".*/(site-packages|lib/python3\.\d+)/", "", filename).replace(str(ROOT) + "/", "")


# --- report ----------------------------------------------------------------------------------

def build_result(args, env, best, screening, final, pgbench, statements, cpu, sessions, breakdown, chainer):
    ratio = round(final["ok_per_s"] / pgbench["tps"], 3) if pgbench["tps"] else None
    f = {"benchmark": "submit", "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "scale": args.scale, "database": args.database, "durable": env["durability"]["durable"],
         "clients": args.clients, "warmup_s": args.warmup, "duration_s": args.duration,
         "gunicorn": best | {"name": config_name(best)},
         "req_per_s": final["ok_per_s"], "p50_ms": final["p50_ms"], "p95_ms": final["p95_ms"],
         "p99_ms": final["p99_ms"], "max_ms": final["max_ms"], "requests": final["requests"],
         "errors": final["errors"], "error_kinds": final["error_kinds"],
         "pgbench_tps": pgbench["tps"], "pgbench_p50_ms": pgbench["p50_ms"], "pgbench_p99_ms": pgbench["p99_ms"],
         "pgbench_avg_ms": pgbench["avg_ms"], "pgbench_failed": pgbench["failed"], "ratio": ratio}
    cpu_ms = sum(v for k, v in cpu["per_request"].items() if k in ("gunicorn", "postgresql (apoa_bench sessions)"))
    f["bounds"] = {  # what this machine allows, from the measured costs
        "cpu_bound_req_per_s": round(env["cpus"] * 1000 / cpu_ms) if cpu_ms else None,
        "audit_chainer_entries_per_s": chainer["per_s"]}
    f["met"] = {"req_per_s": f["req_per_s"] >= TARGETS["req_per_s"], "p99_ms": f["p99_ms"] <= TARGETS["p99_ms"],
                "ratio": (ratio or 0) >= TARGETS["ratio"], "no_errors": f["errors"] == 0}
    return f | {"targets": TARGETS, "screening": screening, "same_sql": statements,
                "cpu_ms_per_request": cpu["per_request"], "cores_busy": cpu["cores_busy"],
                # Cores taken by processes outside this benchmark (other work on the machine): a
                # disturbed run shows here.
                "other_cores": {"http": cpu["other_cores"], "pgbench": pgbench["other_cores"],
                                "breakdown": breakdown["other_cores"]},
                "db_sessions": sessions, "pgbench_slowest_statements": pgbench["slowest_statements"],
                "pgbench_cpu_ms_per_transaction": pgbench["cpu_ms_per_transaction"],
                "pgbench_few_clients": pgbench["few_clients"],
                "breakdown": breakdown, "audit_chainer": chainer,
                "rate_limits": "exempted with Flask-Limiter request_filter (all clients are 127.0.0.1);"
                               " the Redis availability check still runs", "environment": env}


def print_report(f):
    env, met = f["environment"], {k: "yes" if v else "NO" for k, v in f["met"].items()}
    print(f"\nReport submission ({f['scale']} scale, database {f['database']}) - {f['date']}, {env['cpus']} cpus, "
          f"PostgreSQL {env['postgresql']}, "
          f"PostGIS {env['postgis']}, gunicorn {f['gunicorn']['name']}, {f['clients']} clients, "
          f"{f['duration_s']:g} s measured after {f['warmup_s']:g} s warm-up")
    print(durability_line(env["durability"]))
    print("rate limits: exempted for the benchmark (all clients are 127.0.0.1); the Redis availability"
          " check still runs")
    print("screening (short runs):  " + ";  ".join(
        f"{s['name']}: {s['req_per_s']} req/s, p99 {s['p99_ms']} ms, {s['errors']} errors" for s in f["screening"]))
    rows = [("", "app (HTTP, gunicorn)", "pgbench (same SQL)", "target", "met"),
            ("requests or transactions/s", f"{f['req_per_s']:,}", f"{f['pgbench_tps']:,}",
             f">= {TARGETS['req_per_s']}/s", met["req_per_s"]),
            ("latency p50 ms", f"{f['p50_ms']}", f"{f['pgbench_p50_ms']}", "", ""),
            ("latency p95 ms", f"{f['p95_ms']}", "", "", ""),
            ("latency p99 ms", f"{f['p99_ms']}", f"{f['pgbench_p99_ms']}", f"<= {TARGETS['p99_ms']} ms", met["p99_ms"]),
            ("app / pgbench", f"{f['ratio']}", "", f">= {TARGETS['ratio']}", met["ratio"]),
            ("errors (non-303)", f"{f['errors']} of {f['requests']:,}", f"{f['pgbench_failed']}", "0",
             met["no_errors"])]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
    oc = f["other_cores"]
    print(f"cores used by other work on the machine meanwhile: {oc['http']} (HTTP run), {oc['pgbench']} (pgbench),"
          f" {oc['breakdown']} (in-process breakdown)" + (
              "  -- DISTURBED: figures are lower than on an idle machine" if max(oc.values()) > 0.15 else ""))
    same = f["same_sql"]
    print(f"same SQL: the app sent {len(same['app'])} statements per submission, the pgbench script has "
          f"{len(same['pgbench'])}; same kinds in the same order: {same['match']}")
    print(f"where the time goes (CPU ms per request during the measured run, {f['cores_busy']} of "
          f"{env['cpus']} cores busy): " + ", ".join(f"{k} {v}" for k, v in f["cpu_ms_per_request"].items()))
    print(f"bounds from these costs: {f['bounds']['cpu_bound_req_per_s']} req/s if gunicorn and its database"
          f" sessions had all {env['cpus']} cores; the audit chainer linked {f['audit_chainer']['entries']:,} entries"
          f" in {f['audit_chainer']['seconds']} s ({f['bounds']['audit_chainer_entries_per_s']:,} entries/s)")
    s = f["db_sessions"]
    print(f"database sessions (avg of {s['samples']} samples): {s['active_avg']} active, of which "
          f"{s['waiting_advisory_lock_avg']} waiting for an advisory lock; {s['idle_in_transaction_avg']} idle in"
          " transaction")
    print("pgbench slowest statements (avg ms): " + "; ".join(
        f"{x['statement']} {x['ms']}" for x in f["pgbench_slowest_statements"]))
    print("pgbench CPU ms per transaction: " + ", ".join(
        f"{k} {v}" for k, v in f["pgbench_cpu_ms_per_transaction"].items()))
    if f["pgbench_few_clients"]:
        few = f["pgbench_few_clients"]
        print(f"pgbench with {few['clients']} clients (5 s, for comparison): {few['tps']} tps, p50 {few['p50_ms']} ms,"
              f" p99 {few['p99_ms']} ms")
    b = f["breakdown"]
    print(f"one submission in-process (mean of {b['submissions']}, one at a time, statuses {b['statuses']}):")
    for phase in b["phases"]:
        print(f"  {'  ' * phase['depth']}{phase['phase']:<{44 - 2 * phase['depth']}} {phase['ms']:7.3f} ms")
    print(f"  CPU of the app process per submission: {b['cpu_ms_per_request']} ms")
    print("  app CPU by package (cProfile tottime share): " + ", ".join(
        f"{a['area']} {a['share']:.0%}" for a in b["profile"]["areas"][:8]))
    print("  costliest functions: " + ", ".join(
        f"{x['function']} {x['share']:.0%}" for x in b["profile"]["top_functions"][:5]) + "\n")


# --- main ------------------------------------------------------------------------------------

def run(args, workdir):
    dev_url, redis_url = os.environ["APOA_DATABASE_URL"], os.environ["APOA_REDIS_URL"]
    db_url = bench_url(dev_url, args.database)
    log(f"preparing database {args.database}")
    ensure_database(db_url)
    settings = check_durability(args, db_url)
    from apoa import create_app

    env_vars = app_environ(db_url, redis_url)
    app = create_app(environ=env_vars)
    points, categories, sizes, data_directory = prepare_data(app, args.points, args.seed)
    env = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
           "loadavg_at_start": open("/proc/loadavg").read().split()[:3], **sizes, "durability": settings}
    pg_pid = postmaster_pid(data_directory)
    try:
        screening, best = screen(args, env_vars, workdir, points, categories)
        log(f"measuring {config_name(best)}: {args.warmup:g} s warm-up, {args.duration:g} s measured")
        final, cpu, sessions = measure_http(args, best, env_vars, workdir, points, categories, db_url, pg_pid)
        statements, pgbench = same_sql_on_pgbench(args, db_url, redis_url, points, categories, workdir, pg_pid)
        chainer = chain_backlog(app)
        log(f"timing the phases of {args.breakdown} submissions in-process")
        breakdown = timed_breakdown(db_url, redis_url, points, categories, args.breakdown)
    finally:
        log(f"discarded {discard_jobs(redis_url, db_url)} queued jobs of {args.database}")
    return build_result(args, env, best, screening, final, pgbench, statements, cpu, sessions, breakdown, chainer)


def chain_backlog(app):
    """Chain what the HTTP and pgbench runs left unchained, as the job does; entries per second."""
    from sqlalchemy import func, select

    from apoa.audit.chain import chain_pending
    from apoa.audit.models import AuditEntry
    from apoa.extensions import db

    with app.app_context():
        waiting = db.session.scalar(select(func.count()).where(AuditEntry.chain_pos.is_(None)))
        log(f"chaining the {waiting} audit entries the runs left unchained")
        start = time.perf_counter()
        chained = chain_pending()
        seconds = time.perf_counter() - start
        db.session.remove()
    return {"entries": chained, "seconds": round(seconds, 3), "per_s": round(chained / seconds) if seconds else None}


def check_durability(args, db_url):
    """The server's durability settings; at full scale, stop unless they keep every commit (or
    --allow-non-durable says to go on, marked)."""
    import psycopg2

    conn = psycopg2.connect(db_url)
    settings = durability(conn)
    conn.close()
    log(durability_line(settings))
    if not settings["durable"] and args.scale == "full" and not args.allow_non_durable:
        sys.exit(f"submit: PostgreSQL does not keep every commit ({durability_values(settings)}), so the"
                 " figures would not compare with the recorded ones. Restart it durable (make setup does"
                 " for the private cluster) or pass --allow-non-durable to measure anyway, marked.")
    return settings


def screen(args, env_vars, workdir, points, categories):
    """Short runs of each gunicorn configuration; (their figures, the best one's settings)."""
    screening = []
    configs = args.configs if args.screen_duration > 0 else args.configs[:1]
    for config in configs if len(configs) > 1 else []:
        log(f"screening {config_name(config)} for {args.screen_duration:g} s")
        server = Gunicorn(config, env_vars, workdir)
        try:
            server.start()
            figures = load(server.port, args, points, categories, args.screen_duration,
                           warmup=min(args.warmup, 2.0))
        finally:
            server.stop()
        screening.append({"name": config_name(config), **config, "req_per_s": figures["ok_per_s"],
                          "p99_ms": figures["p99_ms"], "errors": figures["errors"]})
    clean = [s for s in screening if s["errors"] == 0] or screening
    best = max(clean, key=lambda s: s["req_per_s"]) if clean else {**configs[0]}
    return screening, {k: best[k] for k in ("worker_class", "workers", "threads")}


def measure_http(args, best, env_vars, workdir, points, categories, db_url, pg_pid):
    """The measured HTTP run: its figures, the CPU per request and the sessions sampled."""
    import psycopg2

    probe = psycopg2.connect(db_url)
    probe.autocommit = True
    sampler = SessionSampler(db_url)
    sampler.start()
    server = Gunicorn(best, env_vars, workdir)
    cpu = {}
    try:
        server.start()

        def start_measure():
            cpu["before"] = cpu_snapshot(server.process.pid, pg_pid, session_pids(probe))
            sampler.recording = True

        def end_measure():
            cpu["after"] = cpu_snapshot(server.process.pid, pg_pid, session_pids(probe))
            sampler.recording = False

        final = load(server.port, args, points, categories, args.duration, start_measure, end_measure)
    finally:
        server.stop()
        sampler.done.set()
        probe.close()
    per_request, cores_busy, other_cores = cpu_per_request(cpu["before"], cpu["after"], final["requests"],
                                                           final["seconds"])
    return final, {"per_request": per_request, "cores_busy": cores_busy, "other_cores": other_cores}, sampler.summary()


def same_sql_on_pgbench(args, db_url, redis_url, points, categories, workdir, pg_pid):
    """Whether the pgbench script sends the app's statements, and pgbench's figures."""
    import psycopg2

    log("checking that the pgbench script sends the app's statements")
    pre_ping = bool(app_engine_options(db_url, redis_url).get("pool_pre_ping"))
    script = pgbench_script(points, categories, pre_ping=pre_ping)
    app_kinds = captured_statements(db_url, redis_url, points[0], categories[0])
    pgbench_kinds = script_kinds(script)
    statements = {"app": app_kinds, "pgbench": pgbench_kinds, "match": app_kinds == pgbench_kinds}
    if not statements["match"]:
        log(f"WARNING: statements differ\n  app:     {app_kinds}\n  pgbench: {pgbench_kinds}")
    probe = psycopg2.connect(db_url)
    probe.autocommit = True
    try:
        log(f"pgbench: {args.clients} clients, {args.pgbench_duration} s")
        pgbench = run_pgbench(db_url, script, args.clients, args.pgbench_duration, workdir, pg_pid, probe)
        few = None
        if args.pgbench_few_clients:
            log(f"pgbench for comparison: {args.pgbench_few_clients} clients, 5 s")
            few = run_pgbench(db_url, script, args.pgbench_few_clients, 5, workdir, pg_pid, probe)
    finally:
        probe.close()
    pgbench["few_clients"] = few and {k: few[k] for k in ("clients", "tps", "p50_ms", "p99_ms", "other_cores")}
    return statements, pgbench


def broken_checks(f):
    """What in this run shows the benchmark or the product broken (targets aside)."""
    broken = []
    if not f["requests"]:
        broken.append("no submission was answered in the measured window")
    failed = f["errors"] + sum(s["errors"] for s in f["screening"])
    if failed:
        broken.append(f"{failed} submissions were not answered 303 to a receipt: {f['error_kinds']}")
    if not f["same_sql"]["match"]:
        broken.append("the pgbench script no longer sends the app's statements (see same_sql)")
    if f["pgbench_failed"]:
        broken.append(f"{f['pgbench_failed']} pgbench transactions failed")
    statuses = f["breakdown"]["statuses"]
    if set(statuses) != {303}:
        broken.append(f"in-process submissions answered {statuses}, not only 303")
    if f["breakdown"]["uncalled_phases"]:
        broken.append(f"the submission path no longer calls {f['breakdown']['uncalled_phases']} (see PHASES)")
    return broken


def main():
    args = parse_args()
    require_environment("submit")
    sys.path.insert(0, str(ROOT))
    workdir = tempfile.mkdtemp(prefix="apoa-bench-submit-")
    try:
        figures = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    finish("submit", figures, print_report, broken_checks(figures))


if __name__ == "__main__":
    main()
