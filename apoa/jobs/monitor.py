"""What the queue looks like (for /admin/tugas and `flask jobs status`), and the two things an
administrator may do to a failed job: run it again, or delete it. Both are audited.

A failed job is shown by its function, when it failed, the last line of its exception and a
summary of its input: numbers (ids) as they are, anything else by kind and size only, so that no
contact detail ever reaches the page. E-mail addresses and long numbers in the exception's text
are masked for the same reason.
"""
import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from apoa.audit.services import record
from apoa.errors import ApoaError
from apoa.jobs import heartbeats, scheduler
from apoa.jobs.queueing import job_queue
from apoa.jobs.schedule import SCHEDULE

FAILED_SHOWN = 50
JOB_ID = re.compile(r"[0-9a-f-]{1,64}")
MASKS = ((re.compile(r"\S+@\S+"), "[…]"),                # e-mail addresses, URLs with credentials
         (re.compile(r"\+?\d[\d .-]{6,}\d"), "[…]"),       # phone numbers and other long numbers
         (re.compile(r"-?\d{1,3}\.\d{4,}"), "[…]"))        # coordinates


class QueueUnavailable(ApoaError):
    status = 503
    default_message = _l("The job queue cannot be reached right now. Try again in a moment.")


@dataclass(frozen=True)
class FailedJob:
    id: str
    function: str
    failed_at: datetime | None
    error: str
    inputs: list


@dataclass(frozen=True)
class ScheduledEntry:
    entry: object
    next_run: datetime | None


@dataclass(frozen=True)
class Overview:
    queue: str
    waiting: int
    scheduled: int
    running: int
    failed_count: int
    workers: list
    scheduler: dict | None
    schedule: list
    failed: list


def overview():
    """The queue, its workers, the scheduler and the newest failed jobs; QueueUnavailable when
    Redis cannot be reached."""
    queue = job_queue()
    if queue is None:
        raise QueueUnavailable()
    try:
        return _overview(queue)
    except RedisError:
        raise QueueUnavailable() from None


def _overview(queue):
    connection = queue.connection
    failed = FailedJobRegistry(queue=queue)
    return Overview(
        queue=queue.name, waiting=queue.count,
        scheduled=ScheduledJobRegistry(queue=queue).count,
        running=StartedJobRegistry(queue=queue).count, failed_count=failed.count,
        workers=heartbeats.workers(connection, queue.name),
        scheduler=scheduler.leader(connection, queue.name),
        schedule=_schedule(connection, queue.name),
        failed=failed_jobs(failed))


def _schedule(connection, queue_name):
    recorded = connection.hgetall(scheduler.keys(queue_name)["next"])
    runs = {name.decode(): datetime.fromisoformat(at.decode()) for name, at in recorded.items()}
    return [ScheduledEntry(entry, runs.get(entry.name)) for entry in SCHEDULE]


def failed_jobs(registry, limit=FAILED_SHOWN):
    """The newest `limit` failed jobs of the registry, as FailedJob."""
    ids = registry.get_job_ids(0, limit - 1, desc=True)
    jobs = Job.fetch_many(ids, connection=registry.connection, serializer=registry.serializer)
    return [_failed(job) for job in jobs if job is not None]


def _failed(job):
    path, *args = job.args or ["?"]
    result = job.latest_result()
    return FailedJob(id=job.id, function=str(path), failed_at=job.ended_at,
                     error=last_line(result.exc_string if result else ""),
                     inputs=[describe_input(a) for a in args]
                     + [f"{key}={describe_input(v)}" for key, v in sorted(job.kwargs.items())])


def last_line(traceback_text):
    """The exception's own line (the last of a traceback), with addresses and numbers masked."""
    lines = [line.strip() for line in (traceback_text or "").splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    for pattern, mask in MASKS:
        line = pattern.sub(mask, line)
    return line


def describe_input(value):
    """An argument as the page may show it: an id as it is, anything else by kind and size."""
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return ngettext("%(num)d item", "%(num)d items", len(value))
    return _("text")


def retry_failed(job_id, actor):
    """Put a failed job back on the queue, as it was; audited. Returns its function's path, or
    None when the job is no longer among the failed ones."""
    registry, job = _failed_job(job_id)
    if job is None:
        return None
    path = job.args[0] if job.args else "?"
    record("jobs.retry", f"job:{job.id}", {"function": path}, actor=actor)
    _on_redis(lambda: registry.requeue(job))
    return path


def delete_failed(job_id, actor):
    """Delete a failed job and its input for good; audited. Returns its function's path, or None
    when the job is no longer among the failed ones."""
    registry, job = _failed_job(job_id)
    if job is None:
        return None
    path = job.args[0] if job.args else "?"
    record("jobs.delete", f"job:{job.id}", {"function": path}, actor=actor)
    _on_redis(lambda: registry.remove(job, delete_job=True))
    return path


def _failed_job(job_id):
    """(registry, job) for a job id in the failed registry, or (registry, None)."""
    queue = job_queue()
    if queue is None or not JOB_ID.fullmatch(job_id or ""):
        return None, None
    registry = FailedJobRegistry(queue=queue)
    if job_id not in registry:
        return registry, None
    try:
        job = Job.fetch(job_id, connection=registry.connection, serializer=registry.serializer)
    except NoSuchJobError:
        return registry, None
    return registry, job


def _on_redis(operation):
    try:
        operation()
    except (RedisError, InvalidJobOperation):
        # Raised through the error handler, which rolls the audit entry back with it.
        raise QueueUnavailable() from None
