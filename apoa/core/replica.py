"""Reads of maps, summaries and exports from a streaming replica (APOA_REPLICA_DATABASE_URL).

Without the setting nothing here does anything: every query goes to the primary, as before.

With it, the views marked `@reads_from_replica` (the officers' and the regional map, the
dashboard, the exports, the monthly report, the supervision map) read through the replica, and
everything else stays on the primary. The choice is made by the session itself
(`RoutingSession.get_bind`, the pattern of SQLAlchemy's "custom vertical partitioning"): within a
marked view a read goes to the replica, while whatever writes still goes to the primary — the ORM's
flushes (an export's or a PDF's audit entry), Core INSERT/UPDATE/DELETE, SELECT ... FOR UPDATE,
and a text() statement that looks like a write. The replica's sessions are read-only besides
(`default_transaction_read_only`), so a write that slipped through fails loudly instead of
landing on the wrong server.

Read-your-own-writes: when a signed-in user's transaction that changed something commits, the
primary's WAL position after the commit (pg_current_wal_lsn()) is kept in Redis under the user's
id (the highest one, for an hour). A marked view of that user first asks the replica whether it
has replayed that far (pg_last_wal_replay_lsn()); if not, the whole request reads from the
primary. So an officer never sees a report in an older state than the one they just set, from
any device, while everyone else is served by the replica. An audit entry alone (every export
writes one) does not count: nobody reads it back on a replica page. If Redis cannot be asked, a
signed-in user's read goes to the primary.

A replica that cannot be reached (connect timeout REPLICA_CONNECT_TIMEOUT seconds) is left alone
for DOWN_SECONDS in this process: reads go to the primary, with a warning in the log naming the
replica's host and port (never the URL, which may hold a password).
"""
import functools
import logging
import re
import threading
import time

from flask import current_app, g, has_request_context
from flask_login import current_user
from flask_sqlalchemy.session import Session
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import TextClause

log = logging.getLogger("apoa.replica")

EXTENSION = "apoa.replica"
REPLICA_CONNECT_TIMEOUT = 2      # seconds; libpq's smallest useful value
DOWN_SECONDS = 5                 # a replica found unreachable is not tried again for this long
WRITTEN_LSN_SECONDS = 3600       # how long a user's last write position is kept
LSN_KEY = "apoa:replica:lsn:{}"
# Keeps the highest position: two requests of one user may commit in either order.
_KEEP_HIGHEST = """
local kept = redis.call('GET', KEYS[1])
if not kept or tonumber(kept) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""
# text() statements that change something (or lock, or use a sequence): they go to the primary.
_WRITING_TEXT = re.compile(
    r"\b(insert|update|delete|merge|truncate|create|drop|alter|refresh|lock|nextval|setval|"
    r"pg_advisory\w*|pg_notify|vacuum|analyze|cluster|reindex|grant|revoke|comment)\b",
    re.IGNORECASE)
_REPLAYED = text("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")
_UNDECIDED = object()
_WROTE = "apoa_replica_wrote"


class Replica:
    """The replica's engine and whether this process found it down lately."""

    def __init__(self, url):
        # No pre-ping: `replayed()` asks the replica once per request anyway, and that question
        # is the ping.
        self.engine = create_engine(
            url,
            connect_args={"connect_timeout": REPLICA_CONNECT_TIMEOUT,
                          # A replica that stops answering mid-connection (a network cut rather
                          # than a stopped server) fails within seconds too, not TCP's minutes.
                          "tcp_user_timeout": REPLICA_CONNECT_TIMEOUT * 1000,
                          "options": "-c default_transaction_read_only=on",
                          "application_name": "apoa-replica-reads"})
        self.where = f"{self.engine.url.host}:{self.engine.url.port or 5432}"
        self._down_until = 0.0
        self._lock = threading.Lock()

    def is_down(self):
        return time.monotonic() < self._down_until

    def replayed(self):
        """(reachable, the WAL position the replica has replayed: an int, or None when it is not
        in recovery). One round trip on a pooled connection, which the request then reads on."""
        for attempt in (1, 2):
            try:
                with self.engine.connect() as connection:
                    return True, connection.execute(_REPLAYED).scalar()
            except DBAPIError as error:
                if error.connection_invalidated and attempt == 1:
                    continue   # a pooled connection the replica had closed (it restarted)
                self.mark_down(error)
                break
        return False, None

    def mark_down(self, error):
        with self._lock:
            already = self.is_down()
            self._down_until = time.monotonic() + DOWN_SECONDS
        if not already:
            # The error's class only: its text may quote the connection string.
            log.warning("read replica %s unreachable (%s): reads go to the primary for %d s",
                        self.where, type(getattr(error, "orig", error)).__name__, DOWN_SECONDS)


def init_app(app):
    """The replica of APOA_REPLICA_DATABASE_URL, if any, and the write tracking for it."""
    url = app.config.get("REPLICA_DATABASE_URI")
    app.extensions[EXTENSION] = Replica(url) if url else None


def replica(app=None):
    """The app's Replica, or None when APOA_REPLICA_DATABASE_URL is unset."""
    return (app or current_app).extensions.get(EXTENSION)


def reads_from_replica(view):
    """Mark a view whose reads may come from the replica (writes still go to the primary).

    The signed-in user is loaded first, from the primary: whether they may see the page is never
    decided on a replica's older copy of their account."""
    @functools.wraps(view)
    def routed(*args, **kwargs):
        if replica() is not None:
            current_user._get_current_object()
            g.apoa_replica = _UNDECIDED
        return view(*args, **kwargs)
    return routed


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, sending the reads of a `@reads_from_replica` view to the
    replica (see the module's docstring)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and not self._flushing and not _writes(clause):
            engine = _replica_for_request()
            if engine is not None:
                return engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _writes(clause):
    if clause is None:
        return False
    if isinstance(clause, UpdateBase):
        return True
    if getattr(clause, "_for_update_arg", None) is not None:
        return True
    return isinstance(clause, TextClause) and _WRITING_TEXT.search(clause.text) is not None


def _replica_for_request():
    """The replica's engine when this request reads from it, else None (decided once)."""
    if not has_request_context():
        return None
    choice = g.get("apoa_replica")
    if choice is _UNDECIDED:
        choice = g.apoa_replica = _choose() or False
    return choice or None


def _choose():
    state = replica()
    if state is None or state.is_down():
        return None
    needed = _written_position()
    if needed is False:
        return None
    reachable, replayed = state.replayed()
    if not reachable:
        return None
    # NULL: the server is not in recovery (a promoted replica), so it has everything.
    if needed is not None and replayed is not None and replayed < needed:
        log.debug("replica behind user %s's last write: reading from the primary", _user_key())
        return None
    return state.engine


def _user_key():
    """The signed-in user's id, without loading anything (None for anyone else)."""
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.get_id()).partition(":")[0]
    return None


def _redis():
    from apoa.jobs.queueing import redis_client

    return redis_client()


def _written_position():
    """The WAL position of the signed-in user's last write (an int), None when there is nothing
    to wait for, or False when it cannot be known (Redis unreachable)."""
    user = _user_key()
    if user is None:
        return None
    client = _redis()
    if client is None:
        return False
    try:
        kept = client.get(LSN_KEY.format(user))
    except Exception as error:  # noqa: BLE001 - any Redis failure: read from the primary
        log.warning("cannot read the last write position from Redis (%s): reading from the "
                    "primary", type(error).__name__)
        return False
    return int(kept) if kept is not None else None


# --- remembering what a user wrote ---------------------------------------------------------------

@event.listens_for(RoutingSession, "after_flush")
def _note_flush(session, _context):
    from apoa.audit.models import AuditEntry

    if session.dirty or session.deleted or any(
            not isinstance(instance, AuditEntry) for instance in session.new):
        session.info[_WROTE] = True


@event.listens_for(RoutingSession, "do_orm_execute")
def _note_statement(state):
    if state.is_insert or state.is_update or state.is_delete or _writes(state.statement):
        state.session.info[_WROTE] = True


@event.listens_for(RoutingSession, "after_rollback")
def _forget(session):
    session.info.pop(_WROTE, None)


@event.listens_for(RoutingSession, "after_commit")
def _remember_position(session):
    """After a signed-in user's writing transaction: keep the primary's WAL position for them."""
    if not session.info.pop(_WROTE, False) or not has_request_context():
        return
    if replica() is None:
        return
    user = _user_key()
    client = _redis()
    if user is None or client is None:
        return
    try:
        # The session's transaction is over (it cannot run SQL now): a pooled connection of its own,
        # to the primary.
        from apoa.extensions import db

        with db.engine.connect() as connection:
            position = connection.execute(
                text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar()
        client.eval(_KEEP_HIGHEST, 1, LSN_KEY.format(user), int(position), WRITTEN_LSN_SECONDS)
    except Exception as error:  # noqa: BLE001 - the write is committed; reads may lag then
        log.warning("could not keep user %s's write position (%s): their next map or summary may "
                    "lag behind it", user, type(error).__name__)
