"""Putting jobs on the queue once the database transaction that asked for them has committed.

A request that stores a report and asks for a notification must not let a worker look for the
report before it is visible, and a request that fails must ask for nothing. So `enqueue()` keeps
each call on the SQLAlchemy session until the session's transaction commits (the
`after_commit` event) and drops it on rollback; a call made inside a savepoint
(`begin_nested()`) is dropped when that savepoint rolls back and waits for the outer commit
when it is released.

A session bound to a Connection has joined a transaction somebody else owns (the test suite's
rolled-back transaction, tests/conftest.py): its commits are savepoints and nothing is durable,
so its committed calls are held, not sent, and `pending()` / `run_pending()` show and run them.
"""
import importlib
import json
import logging
import weakref
from dataclasses import dataclass, field

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.serializers import JSONSerializer
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from apoa.extensions import db

log = logging.getLogger("apoa.jobs")

RUNNER = "apoa.jobs.runner.run"
WAITING = "apoa.jobs.waiting"
JOB_TIMEOUT = 600                    # seconds; the daily digest is the longest job
FAILED_KEPT = 90 * 24 * 3600         # seconds a finally failed job (and its input) stays retryable
MAX_PENDING_ROUNDS = 20
EXTENSION = "apoa.jobs"


@dataclass(frozen=True)
class QueuedCall:
    """One call of a job function by its dotted path, with JSON-able arguments (ids, not rows)."""
    path: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


def init_app(app):
    """One Redis client per app (None without APOA_REDIS_URL: jobs are then logged and dropped)."""
    url = app.config["REDIS_URL"]
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10) if url else None
    if client is None:
        log.warning("APOA_REDIS_URL is not set: background jobs are dropped")
    app.extensions[EXTENSION] = client


def redis_client(app=None):
    return (app or current_app).extensions[EXTENSION]


def job_queue(app=None):
    """The RQ queue of this app (APOA_JOBS_QUEUE), or None without Redis."""
    app = app or current_app
    client = redis_client(app)
    if client is None:
        return None
    return Queue(app.config["JOBS_QUEUE"], connection=client, serializer=JSONSerializer)


def enqueue(func, *args, **kwargs):
    """Run `func(*args, **kwargs)` in a worker once the current transaction commits.

    `func` is a dotted path ("apoa.notifications.jobs.send_pending_emails") or a module-level
    function; the arguments must be JSON-able (pass ids, never rows or contact details). Outside
    any transaction the job is queued at once. Returns the QueuedCall.
    """
    call = QueuedCall(dotted_path(func), tuple(args), dict(kwargs))
    _check_json(call)
    session = db.session()
    if session.in_transaction():
        session.info.setdefault(WAITING, []).append((session.get_nested_transaction(), call))
    else:
        _dispatch(session, [call])
    return call


def enqueue_now(func, *args, **kwargs):
    """Put a call on the queue at once, whatever the transaction, and say whether the queue took
    it: for work whose input is in no database yet (a webhook's delivery), where the caller must
    answer an error, and be asked again, rather than lose it."""
    call = QueuedCall(dotted_path(func), tuple(args), dict(kwargs))
    _check_json(call)
    session = db.session()
    if isinstance(session.bind, Connection):
        _held.setdefault(session.bind, []).append(call)
        return True
    queue = job_queue()
    if queue is None:
        log.error("job %s not queued: no Redis", call.path)
        return False
    try:
        put(queue, call, current_app.config["JOBS_RETRY_INTERVALS"])
    except RedisError as error:
        log.error("job %s not queued: %s", call.path, type(error).__name__)
        return False
    return True


def dotted_path(func):
    if isinstance(func, str):
        return func
    if "." in func.__qualname__:
        raise ValueError(f"a job must be a module-level function, not {func.__qualname__}")
    return f"{func.__module__}.{func.__qualname__}"


def resolve(path):
    """The function a dotted path names; ImportError or AttributeError when there is none."""
    module, _dot, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _check_json(call):
    try:
        json.dumps([call.args, call.kwargs])
    except (TypeError, ValueError) as error:
        raise TypeError(f"the arguments of job {call.path} must be JSON-able: {error}") from None


def send(calls, app=None):
    """Put `calls` on the queue now. A call Redis refuses is logged and dropped: its data is
    already committed, and the periodic sweeps pick up what it would have done."""
    queue = job_queue(app)
    config = (app or current_app).config
    for call in calls:
        if queue is None:
            log.warning("job %s dropped: no Redis", call.path)
            continue
        try:
            put(queue, call, config["JOBS_RETRY_INTERVALS"])
        except RedisError as error:
            log.error("job %s not queued: %s", call.path, type(error).__name__)


def put(queue, call, intervals):
    """Put one call on `queue` now, with retries after `intervals` seconds; returns the RQ job."""
    retry = Retry(max=len(intervals), interval=list(intervals)) if intervals else None
    return queue.enqueue_call(RUNNER, args=(call.path, *call.args), kwargs=call.kwargs, retry=retry,
                              timeout=JOB_TIMEOUT, failure_ttl=FAILED_KEPT, description=call.path)


# --- the session's transaction decides -------------------------------------------------------

def _after_commit(session):
    if session.in_nested_transaction():
        return  # a savepoint was released: the outer transaction still decides
    calls = [call for _savepoint, call in session.info.pop(WAITING, ())]
    if calls:
        _dispatch(session, calls)


def _dispatch(session, calls):
    # A session bound to a Connection is inside a transaction somebody else owns (the tests).
    if isinstance(session.bind, Connection):
        _held.setdefault(session.bind, []).extend(calls)
    else:
        send(calls)


def _after_soft_rollback(session, previous_transaction):
    waiting = session.info.get(WAITING)
    if waiting and previous_transaction.nested:
        session.info[WAITING] = [(savepoint, call) for savepoint, call in waiting
                                 if not _inside(savepoint, previous_transaction)]


def _after_transaction_end(session, transaction):
    # The outermost transaction ended: what did not go with a commit never will.
    if transaction.parent is None:
        session.info.pop(WAITING, None)


def _inside(savepoint, transaction):
    while savepoint is not None:
        if savepoint is transaction:
            return True
        savepoint = savepoint.parent
    return False


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", _after_soft_rollback)
event.listen(Session, "after_transaction_end", _after_transaction_end)


# --- held calls of sessions inside someone else's transaction (the test suite) ----------------

# Keyed by the Connection the sessions are bound to, so the requests a test makes (each with a
# session of its own on that connection) and the test itself see the same calls; the entry goes
# with the connection at the end of the test.
_held = weakref.WeakKeyDictionary()


def pending():
    """The calls committed in the current outer test transaction, not sent to Redis: a list of
    QueuedCall, oldest first. Always empty for an ordinary session (its calls went to Redis)."""
    bind = db.session.bind
    return list(_held.get(bind, ())) if isinstance(bind, Connection) else []


def run_pending():
    """Run the held calls here, in the current session, one commit (a savepoint) after each, as
    the worker would; calls they enqueue run too. Returns how many ran."""
    bind = db.session.bind
    ran = 0
    for _round in range(MAX_PENDING_ROUNDS):
        calls = _held.pop(bind, []) if isinstance(bind, Connection) else []
        if not calls:
            return ran
        for call in calls:
            resolve(call.path)(*call.args, **call.kwargs)
            db.session.commit()
            ran += 1
    raise RuntimeError(f"jobs were still enqueuing jobs after {MAX_PENDING_ROUNDS} rounds")
