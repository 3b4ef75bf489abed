"""Worker heartbeats: every worker writes a Redis key of its own every HEARTBEAT_SECONDS, with a
time to live, so a worker that died disappears by itself. /healthz and /admin/tugas read them.

Keys live under `apoa:jobs:<queue>:`, so two test runs (two queue names) sharing one Redis never
see each other's workers.
"""
import json
import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from redis.exceptions import RedisError

log = logging.getLogger("apoa.jobs")

HEARTBEAT_SECONDS = 10
STALE_AFTER_SECONDS = 60      # /healthz: a heartbeat older than this means no worker is working
KEY_TTL_SECONDS = 300         # a dead worker stays listed (as stale) for five minutes


@dataclass(frozen=True)
class WorkerBeat:
    name: str
    host: str
    pid: int
    at: datetime

    def age(self, now):
        return (now - self.at).total_seconds()

    def fresh(self, now):
        return self.age(now) < STALE_AFTER_SECONDS


def prefix(queue_name):
    return f"apoa:jobs:{queue_name}:"


def _key(queue_name, worker_name):
    return f"{prefix(queue_name)}heartbeat:{worker_name}"


def beat(connection, queue_name, worker_name, at=None):
    """Record that `worker_name` is alive at `at` (now by default)."""
    at = at or datetime.now(timezone.utc)
    value = json.dumps({"name": worker_name, "host": socket.gethostname(), "pid": os.getpid(),
                        "at": at.timestamp()})
    connection.set(_key(queue_name, worker_name), value, ex=KEY_TTL_SECONDS)


def forget(connection, queue_name, worker_name):
    connection.delete(_key(queue_name, worker_name))


def workers(connection, queue_name):
    """The workers of the queue seen in the last KEY_TTL_SECONDS, newest heartbeat first."""
    pattern = _glob_escape(_key(queue_name, "")) + "*"
    keys = list(connection.scan_iter(match=pattern, count=200))
    beats = [_parse(raw) for raw in connection.mget(keys)] if keys else []
    return sorted((b for b in beats if b is not None), key=lambda b: b.at, reverse=True)


def newest(connection, queue_name):
    found = workers(connection, queue_name)
    return found[0] if found else None


def _parse(raw):
    if raw is None:
        return None
    data = json.loads(raw)
    return WorkerBeat(name=data["name"], host=data["host"], pid=data["pid"],
                      at=datetime.fromtimestamp(data["at"], timezone.utc))


def _glob_escape(text):
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class Heartbeat(threading.Thread):
    """Beats for a worker from a thread of its own, so a long job does not look like a dead
    worker; stopped (and the key removed) when the worker stops."""

    def __init__(self, connection, queue_name, worker_name):
        super().__init__(name="apoa-heartbeat", daemon=True)
        self.connection, self.queue_name, self.worker_name = connection, queue_name, worker_name
        self._stopping = threading.Event()

    def run(self):
        while not self._stopping.is_set():
            try:
                beat(self.connection, self.queue_name, self.worker_name)
            except RedisError as error:
                # Logged by type only: a connection error's text names the server.
                log.warning("heartbeat not written: %s", type(error).__name__)
            self._stopping.wait(HEARTBEAT_SECONDS)

    def stop(self):
        self._stopping.set()
        self.join(timeout=5)
        try:
            forget(self.connection, self.queue_name, self.worker_name)
        except RedisError:
            pass  # the key expires by itself
