"""What the benchmarks share: the scale option, their databases, the app under gunicorn, CPU
accounting, percentiles, the server's durability settings and how a run ends.

Every benchmark takes `--scale full` (the default: the recorded figures) or `--scale smoke` (a tiny
run against the database `apoa_bench_smoke`, for `make bench-smoke`: it proves that the benchmark
still works, its figures mean nothing). A scale only sets the defaults of the size options; an
option given on the command line wins.

A run ends with its table and, as the last line, one JSON object. It exits non-zero when the run
shows that something is broken (wrong answers, errors, a benchmark that no longer mirrors the
product), never because a target was missed.
"""
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SMOKE_DATABASE = "apoa_bench_smoke"
BENCH_PASSWORD = "apoa-bench-maps-2026"  # of the benchmarks' staff users (public, like the demo's)
DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")
# Set by bench/smoke.py for the benchmarks it runs: this database was just made, migrated and given
# the regions, so ensure_database() need not ask flask again (about 10 s per benchmark).
PREPARED_VARIABLE = "APOA_BENCH_PREPARED_DATABASE"


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100) of `values`; NaN when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, -(-q * len(ordered) // 100) - 1)]


# --- the scale option and the end of a run ----------------------------------------------------

def parse_scaled(parser, presets, argv=None):
    """Parse the command line with `--scale NAME`: the preset's values become the defaults of the
    other options, so an option given explicitly wins over the scale."""
    parser.add_argument("--scale", choices=sorted(presets), default="full",
                        help="size preset: " + "; ".join(f"{name}: {describe(values)}"
                                                         for name, values in presets.items()))
    scale = parser.parse_known_args(argv)[0].scale
    parser.set_defaults(**presets[scale])
    return parser.parse_args(argv)


def describe(values):
    return ", ".join(f"--{key.replace('_', '-')} {value}" for key, value in values.items()
                     if value is not None)


def officer_email(office_code):
    """The benchmarks' officer of an office."""
    return f"petugas.{office_code.lower()}@bench.apoa.id"


def require_environment(benchmark, names=("APOA_DATABASE_URL", "APOA_REDIS_URL")):
    for name in names:
        if not os.environ.get(name):
            sys.exit(f"{benchmark}: {name} is not set; first eval \"$(scripts/dev.sh services apoa)\"")


def finish(benchmark, figures, print_report, broken):
    """Print the table and the JSON line (with `broken`, the checks that failed); then exit
    non-zero if any failed."""
    figures["broken"] = broken
    print_report(figures)
    if broken:
        print(f"BROKEN: {'; '.join(broken)}\n")
    print(json.dumps(figures, separators=(",", ":"), default=str), flush=True)
    if broken:
        sys.exit(f"{benchmark}: the run shows a broken benchmark or product: {'; '.join(broken)}")


# --- the benchmark databases ------------------------------------------------------------------

def bench_url(dev_url, name):
    """The URL of database `name` on the server of `dev_url`."""
    parts = urllib.parse.urlsplit(dev_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def database_name(db_url):
    return urllib.parse.urlsplit(db_url).path.lstrip("/")


def app_environ(db_url, redis_url):
    """The app's settings for a benchmark database. Its jobs go to a queue of their own, never to
    the one a development worker takes (the reports they name are not in its database)."""
    env = dict(os.environ)
    env.update(APOA_ENV="development", APOA_DATABASE_URL=db_url, APOA_MIN_FILL_SECONDS="0",
               APOA_RATELIMIT_ENABLED="true", APOA_LOG_LEVEL="WARNING",
               APOA_JOBS_QUEUE=f"apoa-bench-{database_name(db_url)}")
    if redis_url:
        env["APOA_REDIS_URL"] = redis_url
    return env


def ensure_database(db_url, fresh=False):
    """Create the benchmark database (`fresh`: drop it first), migrate it and import the regions
    (quick when already done)."""
    import psycopg2

    name = database_name(db_url)
    if not fresh and os.environ.get(PREPARED_VARIABLE) == name:
        return
    admin = psycopg2.connect(bench_url(db_url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        if fresh:
            log(f"dropping database {name}")
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            log(f"creating database {name}")
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    env = app_environ(db_url, os.environ.get("APOA_REDIS_URL"))
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "apoa"]
    for step in (["db", "upgrade"], ["regions", "import", "--skip-unchanged"]):
        done = subprocess.run(flask + step, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"bench: `flask {' '.join(step)}` failed on {name}:\n{done.stderr[-2000:]}")


def durability(conn):
    """fsync, synchronous_commit and full_page_writes as a session of this database sees them (a
    per-database setting counts), and whether they keep every commit."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in DURABILITY_SETTINGS))
        values = dict(zip(DURABILITY_SETTINGS, cursor.fetchone()))
    conn.rollback()
    durable = (values["fsync"] == "on" and values["full_page_writes"] == "on"
               and values["synchronous_commit"] != "off")
    return values | {"durable": durable}


def durability_values(settings):
    return ", ".join(f"{name}={settings[name]}" for name in DURABILITY_SETTINGS)


def durability_line(settings):
    return f"server settings: {durability_values(settings)}" + (
        "" if settings["durable"] else "  -- NOT DURABLE: not comparable with durable runs")


def discard_jobs(redis_url, db_url):
    """Empty the benchmark database's job queue: no worker takes it, and its jobs name reports
    that only the benchmark database holds."""
    if not redis_url:
        return 0
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(redis_url)
    queue = Queue(app_environ(db_url, redis_url)["APOA_JOBS_QUEUE"], connection=connection)
    count = queue.count
    queue.empty()
    connection.close()
    return count


# --- the app under gunicorn -------------------------------------------------------------------

def bench_app():
    """The WSGI app gunicorn serves for the benchmarks: the real app, prepared as apoa/wsgi.py
    prepares it for gunicorn (ready_to_serve), with rate limits exempted
    (every client is 127.0.0.1); the limiter stays configured with Redis, so the submit view's
    check that the rate-limit store is reachable still runs."""
    from apoa import create_app, ready_to_serve

    return ready_to_serve(exempt_from_limits(create_app()))


def exempt_from_limits(app):
    """`app` with every request exempted from the rate limits: Flask-Limiter's own (its request
    filter) and the budgets the views count (apoa/reports/abuse.py); the store is still asked
    whether it answers, as the report form does for every submission."""
    from apoa.extensions import limiter

    limiter.request_filter(lambda: True)
    app.config["EXEMPT_ALL_BUDGETS"] = True
    return app


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_name(c):
    threads = f"x{c['threads']}t" if c["worker_class"] == "gthread" else ""
    return f"{c['worker_class']} {c['workers']}w{threads}"


class Gunicorn:
    """bench_app() under gunicorn on a free port, in a session of its own (stopped as a group)."""

    def __init__(self, config, env, workdir):
        self.config, self.env, self.port = config, env, free_port()
        self.log_path = Path(workdir) / f"gunicorn-{self.port}.log"
        self.process = None

    def start(self):
        c = self.config
        command = [str(ROOT / ".venv/bin/gunicorn"), "-k", c["worker_class"], "-w", str(c["workers"]),
                   "--threads", str(c["threads"]), "-b", f"127.0.0.1:{self.port}", "--keep-alive", "30",
                   "--chdir", str(ROOT), "--pythonpath", str(ROOT / "bench"),
                   "--error-logfile", str(self.log_path), "--log-level", "warning", "_common:bench_app()"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_serving()

    def _wait_serving(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log_tail()}")
            if self._serving():
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s:\n{self.log_tail()}")

    def _serving(self):
        """/healthz says the database and Redis answer. No job worker runs for a benchmark, so
        a 503 that names only the worker counts as serving."""
        import http.client

        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            status, body = response.status, response.read()
            conn.close()
        except OSError:
            return False
        return status == 200 or (status == 503 and json.loads(body).get("failing") == ["worker"])

    def log_tail(self):
        try:
            return self.log_path.read_text()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass


# --- CPU accounting ---------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def proc_table():
    """{pid: (ppid, cpu seconds)} of every process."""
    table = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        table[int(stat.split("/")[2])] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    return table


def tree(table, root):
    """{pid: cpu seconds} of `root` and all its descendants."""
    if root not in table:
        return {}
    children = defaultdict(list)
    for pid, (ppid, _cpu) in table.items():
        children[ppid].append(pid)
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        found[pid] = table[pid][1]
        stack.extend(children[pid])
    return found


def tree_cpu(table, root):
    return sum(tree(table, root).values())


def machine_busy():
    """CPU seconds the whole machine has been busy (everything but idle and iowait)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK


def cpu_snapshot(gunicorn_pid, postmaster_pid, session_pids):
    """CPU seconds so far of gunicorn (master and workers), of the benchmark database's sessions,
    of the rest of PostgreSQL (other databases, background processes), of this process, and of
    the whole machine."""
    table = proc_table()
    own = os.times()
    return {"gunicorn": tree_cpu(table, gunicorn_pid),
            "sessions": {pid: table[pid][1] for pid in session_pids if pid in table},
            "postgresql": tree(table, postmaster_pid), "load generator": own.user + own.system,
            "machine": machine_busy()}


def cpu_per_request(before, after, requests, seconds):
    """CPU ms per request by consumer during the measured window, the cores busy, and the cores
    taken by work outside the benchmark."""
    # Per process, so that a backend ending in the window does not count against the others.
    sessions = sum(cpu - before["sessions"].get(pid, 0.0) for pid, cpu in after["sessions"].items())
    server = sum(cpu - before["postgresql"].get(pid, 0.0) for pid, cpu in after["postgresql"].items())
    delta = {"gunicorn": after["gunicorn"] - before["gunicorn"], "postgresql (apoa_bench sessions)": sessions,
             "postgresql (other sessions, background)": server - sessions,
             "load generator": after["load generator"] - before["load generator"]}
    delta["other processes"] = after["machine"] - before["machine"] - sum(delta.values())
    per = {k: round(v * 1000 / max(requests, 1), 3) for k, v in delta.items()}
    others = delta["other processes"] + delta["postgresql (other sessions, background)"]
    return per, round((after["machine"] - before["machine"]) / seconds, 2), round(max(others, 0.0) / seconds, 2)


def session_pids(conn):
    """Backend pids of the other sessions on `conn`'s database."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                       " AND pid <> pg_backend_pid()")
        return [row[0] for row in cursor.fetchall()]


def postmaster_pid_of(db_url):
    import psycopg2

    with psycopg2.connect(db_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT current_setting('data_directory')")
        directory = cursor.fetchone()[0]
    conn.close()
    return postmaster_pid(directory)


def postmaster_pid(data_directory):
    """The server's pid from its pid file; -1 when it cannot be read (another user's cluster)."""
    try:
        return int(Path(data_directory, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return -1
