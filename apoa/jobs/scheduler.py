"""The scheduler behind `flask --app apoa jobs scheduler`: puts the entries of schedule.py on the
queue when they are due.

Any number may run (one per machine is fine); a Redis lock with a time to live makes one of them
the leader, and only the leader queues anything. When it stops or dies its lock expires and
another takes over where it left: the next run of every entry is kept in Redis, not in the
process. RQ's own cron scheduler was not used because it has no such lock (two would queue every
job twice), reads daily times in the machine's time zone rather than WIB, and would queue the
functions themselves, bypassing our runner (one commit per job) and its retries.
"""
import json
import logging
import os
import socket
import uuid
from datetime import datetime, timezone

from redis.exceptions import LockError, RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from apoa.jobs.heartbeats import prefix
from apoa.jobs.queueing import QueuedCall, job_queue, put, redis_client, resolve
from apoa.jobs.schedule import SCHEDULE

log = logging.getLogger("apoa.jobs")

LOCK_SECONDS = 30
TICK_SECONDS = 5
# A periodic job still in one of these states is not queued again: a stopped worker must not come
# back to a pile of identical sweeps.
WAITING_STATES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def keys(queue_name):
    base = prefix(queue_name)
    return {"lock": base + "scheduler:lock", "leader": base + "scheduler:leader",
            "next": base + "schedule:next", "job": base + "schedule:job"}


class Scheduler:
    """One scheduler process; `tick(now)` is one round, `run(stop)` the loop."""

    def __init__(self, app, entries=SCHEDULE):
        self.app = app
        self.entries = entries
        self.connection = redis_client(app)
        self.queue = job_queue(app)
        self.keys = keys(self.queue.name)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._lock = self.connection.lock(self.keys["lock"], timeout=LOCK_SECONDS,
                                          thread_local=False)

    def tick(self, now):
        """Take or keep the lead, and queue each due entry. Returns the paths queued (none when
        another scheduler leads)."""
        if not self._lead():
            return []
        leader = json.dumps({"name": self.name, "at": now.timestamp()})
        self.connection.set(self.keys["leader"], leader, ex=LOCK_SECONDS * 2)
        return [entry.path for entry in self.entries if self._run_if_due(entry, now)]

    def run(self, stop):
        """Tick every TICK_SECONDS until the `stop` event is set, then give up the lead."""
        log.info("scheduler %s on queue %s", self.name, self.queue.name)
        while not stop.is_set():
            try:
                self.tick(datetime.now(timezone.utc))
            except RedisError as error:
                log.warning("scheduler round failed: %s", type(error).__name__)
            stop.wait(TICK_SECONDS)
        self.release()

    def release(self):
        try:
            if self._lock.owned():
                self._lock.release()
        except (LockError, RedisError):
            pass  # the lock expires by itself

    def _lead(self):
        try:
            if self._lock.owned():
                return bool(self._lock.reacquire())
            return bool(self._lock.acquire(blocking=False))
        except LockError:
            return False

    def _run_if_due(self, entry, now):
        if self._next_run(entry, now) > now:
            return False
        self._set_next_run(entry, entry.next_after(now))
        return self._queue(entry)

    def _next_run(self, entry, now):
        """When `entry` runs next, as recorded; an entry never seen gets its first run recorded."""
        raw = self.connection.hget(self.keys["next"], entry.name)
        if raw:
            return datetime.fromisoformat(raw.decode())
        return self._set_next_run(entry, entry.first_run(now))

    def _set_next_run(self, entry, moment):
        self.connection.hset(self.keys["next"], entry.name, moment.isoformat())
        return moment

    def _queue(self, entry):
        try:
            resolve(entry.path)
        except (ImportError, AttributeError) as error:
            log.error("scheduled job %s skipped: its function cannot be imported (%s)",
                      entry.path, error)
            return False
        if self._still_waiting(entry):
            log.info("scheduled job %s not queued: the previous one is still waiting", entry.path)
            return False
        job = put(self.queue, QueuedCall(entry.path), self.app.config["JOBS_RETRY_INTERVALS"])
        self.connection.hset(self.keys["job"], entry.name, job.id)
        return True

    def _still_waiting(self, entry):
        job_id = self.connection.hget(self.keys["job"], entry.name)
        if job_id is None:
            return False
        try:
            job = Job.fetch(job_id.decode(), connection=self.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            return False
        return job.get_status() in WAITING_STATES


def leader(connection, queue_name):
    """{"name", "at"} of the scheduler that led last (within two lock periods), or None."""
    raw = connection.get(keys(queue_name)["leader"])
    if raw is None:
        return None
    data = json.loads(raw)
    return {"name": data["name"], "at": datetime.fromtimestamp(data["at"], timezone.utc)}
