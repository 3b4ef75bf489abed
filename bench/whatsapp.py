"""Benchmark: the WhatsApp webhook's acknowledgements and the bot's reply time under load (issue 12).

What is measured, in one run:

* acknowledgements: POST /whatsapp/webhook served by gunicorn (the benchmarks' app, as bench/submit.py
  serves it), driven by N concurrent HTTP/1.1 keep-alive clients, each POSTing signed deliveries
  shaped as Meta sends them (apoa/whatsapp/meta.py): one text message "halo" with a new message id
  each time, X-Hub-Signature-256 made with the app secret. Deliveries acknowledged per second and
  p50/p95/p99 of the 200 "EVENT_RECEIVED" answer; any other answer is an error. **No job worker
  runs during this phase**, so the rate is the webhook's own (signature check, one RQ enqueue to
  Redis); the jobs it queued are then thrown away. A few gunicorn configurations are screened
  briefly first; the best one serves the whole run;
* beside it, on the same server: the web form's submission (POST /lapor), driven for a short time
  by bench/submit.py's own load (`submit.load`: same clients, CSRF on): requests/s and p99;
* the reply: the local fake of the Graph API (apoa.whatsapp.fake_graph) and K job workers
  (`flask --app apoa jobs worker`: RQ SimpleWorker, one job at a time each) are started. First a
  backlog: B deliveries sent as fast as the clients go, and the time until the fake has recorded
  the last reply gives the workers' maximum throughput (replies/s). Then deliveries at a steady
  paced rate R (default: --rate-share of that maximum, meant to be a rate the workers sustain; the
  run says whether they did: a queue that grows shows as replies slowing down over the run) for a
  while. Each delivery comes from a number of its own (62811000000 + i), so no two wait on one
  conversation's row lock, none comes near the per-number message limits, and each reply is known
  by its recipient. For each delivery: the time
  from the start of its POST to the moment the fake recorded the first message of the bot's reply
  to that number (the fake's own "at" timestamp; the fake is polled every 20 ms); p50/p95/p99, and
  how many replies never came within --reply-timeout. The pipeline behind one delivery is two jobs:
  handle_delivery (dedupe, lock the conversation, conversation.respond, queue the reply rows) and
  send_batch (POST to the Graph API). Split from the database: the wait for a worker (POST to
  wa_inbound.received_at, the start of the handling job's transaction) and the rest (handling,
  commit, the send job's wait and its POST to the fake).

CPU milliseconds per delivery of gunicorn, the workers, the fake, Redis (the redis-server on
APOA_REDIS_URL's port), the benchmark database's PostgreSQL sessions, this load generator and
everything else ("other": work outside the run, which disturbs it) are taken from /proc for the
measured windows.

The database is the submission benchmark's `apoa_bench` (`apoa_bench_smoke` at smoke scale), made
by _common.ensure_database; the jobs go to a queue of this benchmark's own (apoa-bench-whatsapp-DB),
emptied at the start and the end. The WhatsApp settings are development's stand-ins
(apoa.config.DEV_WHATSAPP), shared by the app, the workers, the fake and the deliveries' signatures.

Run: .venv/bin/python bench/whatsapp.py [--scale full|smoke] [--clients 32] [--workers 2] [--rate R]
with APOA_DATABASE_URL and APOA_REDIS_URL set (eval "$(scripts/dev.sh services apoa)"). Prints a table,
then as its last line one JSON object with the figures and the ratios against the targets (>= 500
deliveries/s acknowledged, reply p95 <= 1 s) and against the web form. Exits non-zero when a
delivery is not acknowledged, a reply never comes or a form submission fails; never because a
target is missed. Every process it starts is stopped at the end, on Ctrl-C or SIGTERM too.
"""
import argparse
import asyncio
import ctypes
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
import urllib.parse
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import _common
import submit
from _common import (ROOT, SMOKE_DATABASE, Gunicorn, app_environ, bench_url, config_name, database_name, durability,
                     durability_line, ensure_database, finish, free_port, machine_busy, parse_scaled, percentile,
                     postmaster_pid, proc_table, require_environment, session_pids, tree, tree_cpu)

TARGETS = {"deliveries_per_s": 500, "reply_p95_ms": 1000}
SCALES = {
    "full": {"clients": 32, "warmup": 2.0, "duration": 20.0, "configs": "sync:2,gthread:3x4", "screen_duration": 5.0,
             "form_duration": 10.0, "workers": 2, "backlog": 400, "rate": 0.0, "rate_share": 0.5,
             "reply_duration": 30.0, "reply_timeout": 30.0, "database": "apoa_bench"},
    "smoke": {"clients": 8, "warmup": 0.5, "duration": 3.0, "configs": "sync:2", "screen_duration": 0.0,
              "form_duration": 2.0, "workers": 2, "backlog": 20, "rate": 0.0, "rate_share": 0.5,
              "reply_duration": 3.0, "reply_timeout": 20.0, "database": SMOKE_DATABASE},
}
SENDER_BASE = 62811000000  # + i: one number per simulated resident
TEXT = "halo"  # answered with the main menu
ACK_BODY = b"EVENT_RECEIVED"
POLL_INTERVAL = 0.02  # seconds between two looks at what the fake has recorded
# The workers kept up with a paced rate when the median reply of the last third of the deliveries
# is at most this much slower than the first third's: a growing queue shows as a growing wait.
KEPT_UP_DRIFT_MS = 250
FORM_POINTS = 200
STARTED = time.perf_counter()
NETWORK_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


def log(message):
    """_common.log with the seconds since the start: where a run spends its time."""
    _common.log(f"{time.perf_counter() - STARTED:6.1f} s  {message}")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, help="concurrent keep-alive HTTP clients")
    parser.add_argument("--warmup", type=float, help="seconds of acknowledgements before measuring")
    parser.add_argument("--duration", type=float, help="measured seconds of acknowledgements")
    parser.add_argument("--configs", help="gunicorn configurations to screen: CLASS:WORKERS[xTHREADS], comma-separated")
    parser.add_argument("--screen-duration", type=float,
                        help="measured seconds per screened configuration (0 = use the first only)")
    parser.add_argument("--form-duration", type=float, help="measured seconds of web form submissions")
    parser.add_argument("--workers", type=int, help="job workers during the reply phases")
    parser.add_argument("--backlog", type=int, help="deliveries sent at once to measure the workers' throughput")
    parser.add_argument("--rate", type=float, help="paced deliveries/s for the reply latency (0 = rate-share of the"
                                                    " measured throughput)")
    parser.add_argument("--rate-share", type=float, help="share of the measured throughput used when --rate is 0")
    parser.add_argument("--reply-duration", type=float, help="seconds of paced deliveries")
    parser.add_argument("--reply-timeout", type=float, help="seconds after the last delivery to wait for replies")
    parser.add_argument("--database", help="benchmark database name")
    parser.add_argument("--seed", type=int, default=42)
    args = parse_scaled(parser, SCALES)
    args.configs = [submit.parse_config(c) for c in args.configs.split(",") if c.strip()]
    if min(args.clients, args.workers, args.backlog) < 1 or args.duration <= 0 or not args.configs:
        parser.error("--clients, --workers, --backlog, --duration and --configs must be positive / non-empty")
    if args.reply_duration <= 0 or args.rate < 0 or not 0 < args.rate_share <= 1:
        parser.error("--reply-duration must be positive, --rate >= 0 and --rate-share in (0, 1]")
    return args


# --- the processes of a run ------------------------------------------------------------------

def die_with_parent():
    """In a child before exec: get SIGTERM when this benchmark dies, even by SIGKILL (a timeout in
    bench/smoke.py), so that no worker or fake outlives it."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_process(command, env, log_path):
    with open(log_path, "ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=die_with_parent)


def stop_processes(processes, grace=15):
    """SIGTERM to each process's group, once (an RQ worker finishes its job and takes its scheduler
    with it; a second signal would stop it mid-job), then SIGKILL to what still runs after `grace`
    seconds."""
    running = [p for p in processes if p is not None and p.poll() is None]
    for process in running:
        signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in running:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            signal_group(process, signal.SIGKILL)
            process.wait()


def signal_group(process, signum):
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def log_tail(path):
    try:
        return Path(path).read_text()[-3000:]
    except OSError:
        return ""


class FakeGraph:
    """apoa.whatsapp.fake_graph on a free port, recording into a folder of this run."""

    def __init__(self, env, workdir):
        self.env, self.port = env, free_port()
        self.data = Path(workdir) / "fake-graph"
        self.log_path = Path(workdir) / "fake-graph.log"
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        command = [sys.executable, "-m", "apoa.whatsapp.fake_graph", "--host", "127.0.0.1", "--port", str(self.port),
                   "--data", str(self.data), "--token", self.env["APOA_WHATSAPP_TOKEN"],
                   "--phone-number-id", self.env["APOA_WHATSAPP_PHONE_NUMBER_ID"]]
        self.process = start_process(command, self.env, self.log_path)
        wait_until(lambda: http_status(self.port, "/_fake/health") == 200, [self.process], 30,
                   "the fake Graph API did not answer", self.log_path)

    def stop(self):
        stop_processes([self.process])


class Workers:
    """K `flask --app apoa jobs worker` processes on the benchmark's queue."""

    def __init__(self, count, env, workdir):
        self.count, self.env, self.workdir = count, env, Path(workdir)
        self.processes = []
        self.log_path = self.workdir / "workers.log"

    def start(self):
        command = [str(ROOT / ".venv/bin/flask"), "--app", "apoa", "jobs", "worker"]
        for _ in range(self.count):
            self.processes.append(start_process(command, self.env, self.log_path))
        wait_until(lambda: self.registered() >= self.count, self.processes, 60, "the job workers did not start",
                   self.log_path)

    def registered(self):
        """How many of these workers RQ knows on the queue (a killed run's workers stay registered
        for a while, so they are told apart by pid)."""
        from redis import Redis
        from rq import Queue, Worker

        with Redis.from_url(self.env["APOA_REDIS_URL"]) as connection:
            queue = Queue(self.env["APOA_JOBS_QUEUE"], connection=connection)
            return sum(1 for worker in Worker.all(connection=connection, queue=queue) if worker.pid in self.pids)

    @property
    def pids(self):
        return [p.pid for p in self.processes]

    def stop(self):
        stop_processes(self.processes)


def wait_until(ready, processes, timeout, failure, log_path):
    """Wait for `ready()`; fail at once if one of `processes` exits, or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"{failure}: a process exited:\n{log_tail(log_path)}")
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{failure} within {timeout} s:\n{log_tail(log_path)}")


def http_status(port, path):
    import http.client

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


class JobQueue:
    """The benchmark's RQ queue: emptied, and its failed and retrying jobs counted."""

    def __init__(self, redis_url, name):
        from redis import Redis
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.connection = Redis.from_url(redis_url)
        self.queue = Queue(name, connection=self.connection, serializer=JSONSerializer)  # as apoa.jobs queues

    def registries(self):
        q = self.queue
        return {"failed": q.failed_job_registry, "waiting to retry": q.scheduled_job_registry,
                "started": q.started_job_registry, "finished": q.finished_job_registry,
                "deferred": q.deferred_job_registry}

    def counts(self):
        return {"queued": self.queue.count, **{k: r.count for k, r in self.registries().items()}}

    def empty(self):
        """Throw every job of the queue away; returns how many were waiting."""
        waiting = self.queue.count
        self.queue.empty()
        for registry in self.registries().values():
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)
        return waiting

    def close(self):
        self.connection.close()


# --- HTTP: deliveries and the fake's record ---------------------------------------------------

class Signer:
    """Signed webhook deliveries of one text message, as Meta sends them."""

    def __init__(self, port, env):
        from apoa.whatsapp import meta

        self.meta, self.port = meta, port
        self.secret, self.phone_number_id = env["APOA_WHATSAPP_APP_SECRET"], env["APOA_WHATSAPP_PHONE_NUMBER_ID"]

    def request(self, sender):
        """(message id, the raw HTTP request)."""
        meta, sender = self.meta, str(sender)
        message = meta.text_message(sender, TEXT)
        raw = meta.encode(meta.delivery(self.phone_number_id, [message], sender=sender))
        head = (f"POST /whatsapp/webhook HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Content-Type: application/json\r\n{meta.SIGNATURE_HEADER}: {meta.signature(raw, self.secret)}\r\n"
                f"Content-Length: {len(raw)}\r\n\r\n")
        return message["id"], head.encode() + raw


class Connection:
    """One keep-alive connection, opened again when the server closes it (gunicorn's sync workers
    close after every answer)."""

    def __init__(self, port):
        self.port, self.reader, self.writer = port, None, None

    async def exchange(self, request):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            self.writer.write(request)
            status, headers, body, close = await submit.read_response(self.reader)
        except NETWORK_ERRORS:
            self.close()
            raise
        if close:
            self.close()
        return status, headers, body

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def deliver(connection, signer, sender, errors):
    """POST one delivery; (message id, whether it was acknowledged)."""
    message_id, request = signer.request(sender)
    try:
        status, _headers, body = await connection.exchange(request)
    except NETWORK_ERRORS as error:
        errors[type(error).__name__] += 1
        return message_id, False
    ok = status == 200 and body == ACK_BODY
    if not ok:
        errors[f"HTTP {status}"] += 1
    return message_id, ok


class ReplyWatch:
    """The first message the fake recorded to each number, read from GET /_fake/sent?after=SEQ."""

    def __init__(self, port):
        self.port, self.after = port, 0
        self.first_at, self.messages = {}, 0

    async def poll(self):
        import json

        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(f"GET /_fake/sent?after={self.after} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Connection: close\r\n\r\n".encode())
            status, _headers, body, _close = await submit.read_response(reader)
        finally:
            writer.close()
        if status != 200:
            raise RuntimeError(f"the fake Graph API answered {status} to GET /_fake/sent")
        for message in json.loads(body)["messages"]:
            self.after = max(self.after, message["seq"])
            self.messages += 1
            self.first_at.setdefault(message["to"], datetime.fromisoformat(message["at"]).timestamp())

    async def watch(self, stop):
        while not stop.is_set():
            await self.poll()
            try:
                await asyncio.wait_for(stop.wait(), POLL_INTERVAL)
            except asyncio.TimeoutError:
                pass

    async def wait_for(self, numbers, deadline):
        while time.time() < deadline and not numbers <= self.first_at.keys():
            await asyncio.sleep(POLL_INTERVAL)


# --- phase 1: acknowledgements ----------------------------------------------------------------

def acknowledgements(port, signer, clients, warmup, duration, on_start=None, on_end=None):
    """N clients POSTing deliveries back to back; the figures of the measured window."""
    results, errors = [], Counter()

    async def client(number, stop_at):
        connection, sender, clock = Connection(port), SENDER_BASE + number, time.perf_counter
        while clock() < stop_at:
            start = clock()
            _id, ok = await deliver(connection, signer, sender, errors)
            results.append((start, clock(), ok))
        connection.close()

    async def main():
        loop, begin = asyncio.get_running_loop(), time.perf_counter()
        if on_start:
            loop.call_later(warmup, on_start)
        if on_end:
            loop.call_later(warmup + duration, on_end)
        await asyncio.gather(*(client(i, begin + warmup + duration) for i in range(clients)))
        return begin + warmup, begin + warmup + duration

    window_start, window_end = asyncio.run(main())
    return window_figures(results, window_start, window_end, errors)


def window_figures(results, window_start, window_end, errors):
    measured = [r for r in results if window_start <= r[1] <= window_end]  # answered in the window
    latencies = sorted((end - start) * 1000 for start, end, _ok in measured)
    failed = sum(1 for r in results if not r[2])  # the warm-up's failures count too
    seconds = window_end - window_start
    return {"deliveries": len(measured), "sent": len(results), "errors": failed, "error_kinds": dict(errors),
            "seconds": round(seconds, 2),
            "acked_per_s": round(sum(1 for r in measured if r[2]) / seconds, 1),
            **latency_figures(latencies)}


def latency_figures(latencies, suffix="_ms"):
    return {**{f"p{q}{suffix}": round(percentile(latencies, q), 1) if latencies else None for q in (50, 95, 99)},
            f"max{suffix}": round(max(latencies), 1) if latencies else None}


def screen(args, env, workdir, signer_for):
    """Short runs of each gunicorn configuration; (their figures, the best one's settings)."""
    screening = []
    configs = args.configs if args.screen_duration > 0 else args.configs[:1]
    for config in configs if len(configs) > 1 else []:
        log(f"screening {config_name(config)} for {args.screen_duration:g} s")
        server = Gunicorn(config, env, workdir)
        try:
            server.start()
            figures = acknowledgements(server.port, signer_for(server.port), args.clients,
                                       min(args.warmup, 2.0), args.screen_duration)
        finally:
            server.stop()
        screening.append({"name": config_name(config), **config, "acked_per_s": figures["acked_per_s"],
                          "p99_ms": figures["p99_ms"], "errors": figures["errors"]})
    clean = [s for s in screening if s["errors"] == 0] or screening
    best = max(clean, key=lambda s: s["acked_per_s"]) if clean else configs[0]
    return screening, {k: best[k] for k in ("worker_class", "workers", "threads")}


# --- phase 2: the bot's replies ---------------------------------------------------------------

def replies(port, signer, watch, senders, clients, rate, timeout, on_start=None, on_end=None):
    """POST one delivery from each of `senders`, as fast as the clients go (`rate` 0) or paced at
    `rate` per second, and wait up to `timeout` seconds after the last for `watch` to see the
    replies. Returns {sender: {"id", "posted", "late", "ok", "reply_at"}}, the errors and how many
    messages the fake recorded meanwhile."""
    sent, errors = {}, Counter()

    async def client(slots, begin):
        connection = Connection(port)
        for index, sender in slots:  # one iterator shared by all clients: each slot is taken once
            late = 0.0
            if rate:
                late = time.perf_counter() - (begin + index / rate)
                if late < 0:
                    await asyncio.sleep(-late)
                    late = 0.0
            posted = time.time()
            message_id, ok = await deliver(connection, signer, sender, errors)
            sent[str(sender)] = {"id": message_id, "posted": posted, "late": late, "ok": ok}
        connection.close()

    async def main():
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch.watch(stop))
        slots, begin = iter(enumerate(senders)), time.perf_counter()
        if on_start:
            on_start()
        try:
            await asyncio.gather(*(client(slots, begin) for _ in range(clients)))
            numbers = {number for number, d in sent.items() if d["ok"]}
            await watch.wait_for(numbers, time.time() + timeout)
            if on_end:
                on_end()
        finally:
            stop.set()
            await watcher

    watch.messages = 0
    asyncio.run(main())
    for number, d in sent.items():
        d["reply_at"] = watch.first_at.get(number)
    return sent, errors, watch.messages


def reply_figures(sent, errors, messages):
    """Latency from POST to the fake's record of the reply, and what never came."""
    acked = [d for d in sent.values() if d["ok"]]
    answered = [d for d in acked if d["reply_at"] is not None]
    latencies = sorted((d["reply_at"] - d["posted"]) * 1000 for d in answered)
    first = min((d["posted"] for d in sent.values()), default=0.0)
    last_reply = max((d["reply_at"] for d in answered), default=first)
    span = max(last_reply - first, 1e-9)
    return {"deliveries": len(sent), "not_acked": len(sent) - len(acked), "error_kinds": dict(errors),
            "replied": len(answered), "missing_replies": len(acked) - len(answered),
            "reply_messages": messages, "seconds": round(span, 2), "replies_per_s": round(len(answered) / span, 1),
            **latency_figures(latencies),
            "schedule_late_p99_ms": round(percentile(sorted(d["late"] * 1000 for d in sent.values()), 99), 1)
            if sent else None, **drift(answered)}


def drift(answered):
    """Median reply time of the first and the last third of the deliveries (in the order sent), and
    whether the workers kept up (no queue building up over the run)."""
    ordered = sorted(answered, key=lambda d: d["posted"])
    third = len(ordered) // 3
    if third < 1:
        return {"first_third_p50_ms": None, "last_third_p50_ms": None, "kept_up": None}
    first, last = ([(d["reply_at"] - d["posted"]) * 1000 for d in part] for part in (ordered[:third], ordered[-third:]))
    first_p50, last_p50 = percentile(first, 50), percentile(last, 50)
    return {"first_third_p50_ms": round(first_p50, 1), "last_third_p50_ms": round(last_p50, 1),
            "kept_up": last_p50 - first_p50 <= KEPT_UP_DRIFT_MS}


def reply_split(db_url, sent):
    """Medians and p95s (ms) of the two parts of a reply's time: POST to the start of the handling
    job's transaction (wa_inbound.received_at), and from there to the fake's record."""
    import psycopg2

    by_id = {d["id"]: d for d in sent.values() if d["reply_at"] is not None}
    if not by_id:
        return None
    with psycopg2.connect(db_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT message_id, extract(epoch FROM received_at) FROM wa_inbound"
                       " WHERE message_id = ANY(%s)", (list(by_id),))
        rows = cursor.fetchall()
    conn.close()
    waits = sorted((float(at) - by_id[mid]["posted"]) * 1000 for mid, at in rows)
    rest = sorted((by_id[mid]["reply_at"] - float(at)) * 1000 for mid, at in rows)
    return {"handled": len(rows),
            "wait_for_worker": {"p50_ms": round(percentile(waits, 50), 1), "p95_ms": round(percentile(waits, 95), 1)},
            "handling_and_sending": {"p50_ms": round(percentile(rest, 50), 1),
                                     "p95_ms": round(percentile(rest, 95), 1)}} if rows else None


# --- CPU accounting ---------------------------------------------------------------------------

class CpuMeter:
    """CPU seconds of the run's processes (each with its children) between two snapshots."""

    def __init__(self, groups, pg_pid, probe):
        self.groups, self.pg_pid, self.probe = groups, pg_pid, probe  # groups: {name: callable giving pids}
        self.before = self.after = None
        self.started = self.ended = 0.0

    def snapshot(self):
        table, own = proc_table(), os.times()
        snap = {name: sum(tree_cpu(table, pid) for pid in pids()) for name, pids in self.groups.items()}
        sessions = session_pids(self.probe)
        snap["sessions"] = {pid: table[pid][1] for pid in sessions if pid in table}
        snap["postgresql"] = tree(table, self.pg_pid)
        snap["load generator"] = own.user + own.system
        snap["machine"] = machine_busy()
        return snap

    def start(self):
        self.before, self.started = self.snapshot(), time.perf_counter()

    def end(self):
        self.after, self.ended = self.snapshot(), time.perf_counter()

    def per_delivery(self, count):
        """CPU ms per delivery by consumer, the cores busy and the cores taken by other work."""
        if self.before is None or self.after is None:
            return None
        before, after = self.before, self.after
        delta = {name: after[name] - before[name] for name in (*self.groups, "load generator")}
        delta["postgresql (benchmark sessions)"] = sum(
            cpu - before["sessions"].get(pid, 0.0) for pid, cpu in after["sessions"].items())
        server = sum(cpu - before["postgresql"].get(pid, 0.0) for pid, cpu in after["postgresql"].items())
        machine, seconds = after["machine"] - before["machine"], max(self.ended - self.started, 1e-9)
        others = machine - sum(delta.values())
        delta["other (other PostgreSQL, other work)"] = others
        return {"ms_per_delivery": {k: round(v * 1000 / max(count, 1), 3) for k, v in delta.items()},
                "cores_busy": round(machine / seconds, 2),
                # Work on the machine outside this run, which slows it: a disturbed run shows here.
                "other_cores": round(max(others, 0.0) / seconds, 2),
                "other_postgresql_cores": round(max(server - delta["postgresql (benchmark sessions)"], 0) / seconds, 2)}


# --- the run ----------------------------------------------------------------------------------

def redis_pid(redis_url):
    """The pid of the redis-server behind `redis_url` (found by its port), or -1."""
    port = f":{urllib.parse.urlsplit(redis_url).port or 6379}".encode()
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = path.read_bytes()
        except OSError:
            continue
        if command.startswith(b"redis-server") and port in command:
            return int(path.parent.name)
    return -1


def bench_environ(db_url, redis_url, graph_url=""):
    """The app's settings for the gunicorn, the workers and the fake: the benchmarks' (_common), a
    queue of this benchmark's own, development's WhatsApp stand-ins, the fake's URL."""
    from apoa.config import DEV_WHATSAPP

    env = app_environ(db_url, redis_url)
    env.update(DEV_WHATSAPP)
    env.update(APOA_JOBS_QUEUE=f"apoa-bench-whatsapp-{database_name(db_url)}", APOA_WHATSAPP_GRAPH_URL=graph_url)
    return env


def form_submissions(args, env, port):
    """bench/submit.py's load on POST /lapor against the same server, for a short time."""
    from apoa import create_app

    app = create_app(environ=env)
    points, categories, sizes, data_directory = submit.prepare_data(app, FORM_POINTS, args.seed)
    options = types.SimpleNamespace(clients=args.clients, warmup=min(args.warmup, 2.0))
    log(f"web form: {args.clients} clients, {args.form_duration:g} s on the same server")
    return submit.load(port, options, points, categories, args.form_duration), sizes, data_directory


def run(args, workdir):
    import psycopg2

    db_url = bench_url(os.environ["APOA_DATABASE_URL"], args.database)
    redis_url = os.environ["APOA_REDIS_URL"]
    log(f"preparing database {args.database}")
    ensure_database(db_url)
    env = bench_environ(db_url, redis_url)
    jobs = JobQueue(redis_url, env["APOA_JOBS_QUEUE"])
    probe = psycopg2.connect(db_url)
    probe.autocommit = True
    settings = durability(probe)
    log(durability_line(settings))
    try:
        jobs.empty()
        screening, best = screen(args, env, workdir, lambda port: Signer(port, env))
        server = Gunicorn(best, env, workdir)
        try:
            server.start()
            result = measure(args, env, workdir, server, jobs, probe, db_url)
        finally:
            server.stop()
    finally:
        log(f"discarded the benchmark queue: {jobs.counts()}")
        jobs.empty()
        jobs.close()
        probe.close()
    return result | {"screening": screening, "gunicorn": best | {"name": config_name(best)}, "durability": settings}


def measure(args, env, workdir, server, jobs, probe, db_url):
    signer = Signer(server.port, env)
    form, sizes, data_directory = form_submissions(args, env, server.port)
    pg_pid = postmaster_pid(data_directory)
    redis = redis_pid(env["APOA_REDIS_URL"])
    meter = CpuMeter({"gunicorn": lambda: [server.process.pid], "Redis": lambda: [redis]}, pg_pid, probe)
    log(f"acknowledgements (no job worker running): {args.clients} clients, {args.warmup:g} s warm-up,"
        f" {args.duration:g} s measured")
    ack = acknowledgements(server.port, signer, args.clients, args.warmup, args.duration, meter.start, meter.end)
    ack["cpu"] = meter.per_delivery(ack["deliveries"])
    log(f"discarding the {jobs.empty()} deliveries and form jobs queued meanwhile")
    reply = measure_replies(args, env, workdir, server, jobs, probe, pg_pid, db_url)
    return {"acknowledgements": ack, "form": form, "sizes": sizes, **reply}


def measure_replies(args, env, workdir, server, jobs, probe, pg_pid, db_url):
    fake = FakeGraph(env, workdir)
    workers = None
    try:
        log(f"starting the fake Graph API and {args.workers} job workers")
        fake.start()
        workers = Workers(args.workers, bench_environ(db_url, env["APOA_REDIS_URL"], fake.url), workdir)
        workers.start()
        groups = {"gunicorn": lambda: [server.process.pid], "job workers": lambda: workers.pids,
                  "fake Graph API": lambda: [fake.process.pid], "Redis": lambda: [redis_pid(env["APOA_REDIS_URL"])]}
        signer, watch = Signer(server.port, env), ReplyWatch(fake.port)
        senders = iter(range(SENDER_BASE, SENDER_BASE + 10**7))
        backlog = reply_phase(args, signer, watch, [next(senders) for _ in range(args.backlog)], 0,
                              CpuMeter(groups, pg_pid, probe), "backlog")
        rate = args.rate or max(1.0, round(args.rate_share * backlog["replies_per_s"], 1))
        count = max(1, round(rate * args.reply_duration))
        paced = reply_phase(args, signer, watch, [next(senders) for _ in range(count)], rate,
                            CpuMeter(groups, pg_pid, probe), "paced", db_url)
        paced["rate"] = rate
        if backlog["missing_replies"] or paced["missing_replies"]:
            log(f"replies are missing; the end of the job workers' log:\n{log_tail(workers.log_path)}")
        return {"backlog": backlog, "paced": paced, "workers": args.workers, "jobs_at_end": jobs.counts()}
    finally:
        if workers is not None:
            workers.stop()
        fake.stop()


def reply_phase(args, signer, watch, senders, rate, meter, name, db_url=None):
    how = f"paced at {rate:g}/s" if rate else "as fast as the clients go"
    log(f"replies, {name}: {len(senders)} deliveries {how}; waiting up to {args.reply_timeout:g} s for the replies")
    sent, errors, messages = replies(signer.port, signer, watch, senders, args.clients, rate, args.reply_timeout,
                                     meter.start, meter.end)
    figures = reply_figures(sent, errors, messages)
    figures["cpu"] = meter.per_delivery(figures["deliveries"])
    if db_url:
        figures["split"] = reply_split(db_url, sent)
    return figures


# --- report -----------------------------------------------------------------------------------

def build_result(args, r):
    ack, form, paced, backlog = r["acknowledgements"], r["form"], r["paced"], r["backlog"]
    ratio = lambda a, b: round(a / b, 3) if a is not None and b else None  # noqa: E731
    f = {"benchmark": "whatsapp", "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "scale": args.scale, "database": args.database, "clients": args.clients, "gunicorn": r["gunicorn"],
         "deliveries_per_s": ack["acked_per_s"], "ack_p50_ms": ack["p50_ms"], "ack_p95_ms": ack["p95_ms"],
         "ack_p99_ms": ack["p99_ms"], "ack_errors": ack["errors"],
         "form_req_per_s": form["ok_per_s"], "form_p99_ms": form["p99_ms"], "form_errors": form["errors"],
         "workers": r["workers"], "worker_throughput_per_s": backlog["replies_per_s"],
         "paced_rate_per_s": paced["rate"],
         "reply_p50_ms": paced["p50_ms"], "reply_p95_ms": paced["p95_ms"], "reply_p99_ms": paced["p99_ms"],
         "workers_kept_up": paced["kept_up"], "missing_replies": paced["missing_replies"] + backlog["missing_replies"]}
    f["ratios"] = {"deliveries_vs_target": ratio(f["deliveries_per_s"], TARGETS["deliveries_per_s"]),
                   "reply_p95_vs_target": ratio(f["reply_p95_ms"], TARGETS["reply_p95_ms"]),
                   "deliveries_vs_form": ratio(f["deliveries_per_s"], f["form_req_per_s"])}
    f["met"] = {"deliveries_per_s": f["deliveries_per_s"] >= TARGETS["deliveries_per_s"],
                "reply_p95_ms": f["reply_p95_ms"] is not None and f["reply_p95_ms"] <= TARGETS["reply_p95_ms"]}
    env = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
           "loadavg_at_end": open("/proc/loadavg").read().split()[:3], **r["sizes"], "durability": r["durability"]}
    return f | {"targets": TARGETS, "screening": r["screening"], "acknowledgements": ack, "form": form,
                "backlog": backlog, "paced": paced, "jobs_at_end": r["jobs_at_end"], "environment": env,
                "reply_time": "from the start of the delivery's POST to the fake Graph API's record ('at') of the"
                              " first message of the reply"}


def print_report(f):
    env, ack, backlog, paced = f["environment"], f["acknowledgements"], f["backlog"], f["paced"]
    met = {k: "yes" if v else "NO" for k, v in f["met"].items()}
    print(f"\nWhatsApp webhook and replies ({f['scale']} scale, database {f['database']}) - {f['date']}, "
          f"{env['cpus']} cpus, load average {' '.join(env['loadavg_at_end'])} at the end, gunicorn "
          f"{f['gunicorn']['name']}, {f['clients']} clients, {f['workers']} job workers")
    print(durability_line(env["durability"]))
    if f["screening"]:
        print("screening (short runs):  " + ";  ".join(
            f"{s['name']}: {s['acked_per_s']} deliveries/s, p99 {s['p99_ms']} ms, {s['errors']} errors"
            for s in f["screening"]))
    rows = [("", "figure", "target", "met"),
            ("webhook: deliveries acknowledged/s (no worker running)", f"{f['deliveries_per_s']:,}",
             f">= {TARGETS['deliveries_per_s']}/s", met["deliveries_per_s"]),
            ("webhook: answer p50 / p95 / p99 ms", f"{ack['p50_ms']} / {ack['p95_ms']} / {ack['p99_ms']}", "", ""),
            ("webhook: errors (not 200 EVENT_RECEIVED)", f"{ack['errors']} of {ack['sent']:,} (warm-up too)", "0", ""),
            ("web form (same server): submissions/s", f"{f['form_req_per_s']:,}", "", ""),
            ("web form: p99 ms, errors", f"{f['form_p99_ms']}, {f['form_errors']}", "", ""),
            ("deliveries/s / form submissions/s", f"{f['ratios']['deliveries_vs_form']}", "", ""),
            (f"workers' throughput (backlog of {backlog['deliveries']}): replies/s", f"{backlog['replies_per_s']}",
             "", ""),
            (f"reply p50 / p95 / p99 ms at {paced['rate']:g} deliveries/s",
             f"{paced['p50_ms']} / {paced['p95_ms']} / {paced['p99_ms']}", f"p95 <= {TARGETS['reply_p95_ms']} ms",
             met["reply_p95_ms"]),
            ("replies missing (backlog, paced)", f"{backlog['missing_replies']}, {paced['missing_replies']}", "0", "")]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
    print("ratios: deliveries/s / 500 = {deliveries_vs_target}, reply p95 / 1 s = {reply_p95_vs_target}, deliveries/s"
          " / form submissions/s = {deliveries_vs_form}".format(**f["ratios"]))
    print(f"reply time: {f['reply_time']}")
    print(f"backlog: reply p50 {backlog['p50_ms']} ms, p99 {backlog['p99_ms']} ms; paced: {paced['deliveries']}"
          f" deliveries, sends late by p99 {paced['schedule_late_p99_ms']} ms, {paced['reply_messages']} reply"
          f" messages recorded")
    kept_up = {True: "yes", False: "NO: the queue grew, so the reply times grew over the run", None: "unknown"}
    print(f"the workers kept up with {paced['rate']:g} deliveries/s: {kept_up[paced['kept_up']]} (median reply"
          f" {paced['first_third_p50_ms']} ms in the first third of the deliveries, {paced['last_third_p50_ms']} ms"
          " in the last)")
    if paced.get("split"):
        s = paced["split"]
        print(f"paced reply split ({s['handled']} handled): waiting for a worker p50 {s['wait_for_worker']['p50_ms']}"
              f" ms, p95 {s['wait_for_worker']['p95_ms']} ms; handling + send job + Graph POST p50"
              f" {s['handling_and_sending']['p50_ms']} ms, p95 {s['handling_and_sending']['p95_ms']} ms")
    for name, phase in (("acknowledgements", ack), ("backlog", backlog), ("paced", paced)):
        cpu = phase.get("cpu")
        if cpu:
            print(f"CPU ms per delivery, {name} ({cpu['cores_busy']} of {env['cpus']} cores busy, {cpu['other_cores']}"
                  f" by other work): " + ", ".join(f"{k} {v}" for k, v in cpu["ms_per_delivery"].items()))
    print(f"jobs left at the end (discarded): {f['jobs_at_end']}\n")


def broken_checks(f):
    """What in this run shows the benchmark or the product broken (targets aside)."""
    broken = []
    ack = f["acknowledgements"]
    if not ack["deliveries"]:
        broken.append("no delivery was acknowledged in the measured window")
    failed = ack["errors"] + sum(s["errors"] for s in f["screening"])
    failed += f["backlog"]["not_acked"] + f["paced"]["not_acked"]
    if failed:
        kinds = Counter(ack["error_kinds"]) + Counter(f["backlog"]["error_kinds"]) + Counter(f["paced"]["error_kinds"])
        broken.append(f"{failed} deliveries were not answered 200 EVENT_RECEIVED: {dict(kinds)}")
    for name in ("backlog", "paced"):
        phase = f[name]
        if phase["missing_replies"]:
            broken.append(f"{phase['missing_replies']} of {phase['deliveries']} deliveries ({name}) got no reply within"
                          " the timeout")
    if f["form_errors"] or not f["form"]["requests"]:
        broken.append(f"web form: {f['form_errors']} submissions not answered 303 to a receipt"
                      f" ({f['form']['error_kinds']}), {f['form']['requests']} answered")
    return broken


def main():
    args = parse_args()
    require_environment("whatsapp")
    sys.path.insert(0, str(ROOT))
    # SIGTERM ends the run like Ctrl-C: every finally stops what it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("whatsapp: stopped by SIGTERM"))
    workdir = tempfile.mkdtemp(prefix="apoa-bench-whatsapp-")
    try:
        figures = build_result(args, run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    finish("whatsapp", figures, print_report, broken_checks(figures))


if __name__ == "__main__":
    main()
