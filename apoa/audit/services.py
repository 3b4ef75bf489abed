"""Writing and checking the hash-chained audit log.

Writing and chaining are two steps. `record()` appends an entry to the caller's transaction, so
nothing is acknowledged without its entry, and takes no lock: audited requests never wait for one
another. The chainer (apoa/audit/chain.py, a job every minute and `flask audit chain`) then seals
committed entries in batches, one chainer at a time: it gives each the next place in the chain
(`chain_pos`, in the order entries became visible to it, which is commit order rather than `seq`
order, so an entry committed late is chained late and never skipped), `prev_hash`, the hash of the
entry before it there (64 zeros for the first), and `hash`, sha256 over a canonical JSON of its
other columns: seq, at, actor_id, action, object, detail and prev_hash.

Editing a chained entry breaks its own hash; deleting, inserting or moving one breaks the link of
the entry after it. `verify()` walks the chain in `chain_pos` order and finds both; entries not
chained yet are counted apart, and those waiting longer than the chainer ever should are a
warning that it is not running.

What the chain cannot show on its own: someone able to rewrite the table and recompute every hash
after the change, or someone removing the newest entries (chained or not yet). `flask audit
verify` prints the head hash so that it can be written down elsewhere (a ticket, a signed mail)
and compared later.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from apoa.audit.models import GENESIS_HASH, AuditEntry
from apoa.extensions import db

HASHED_COLUMNS = ("seq", "at", "actor_id", "action", "object", "detail", "prev_hash")

# The chainer runs every minute: an entry waiting much longer means it is not running.
STALE_AFTER = timedelta(minutes=10)


def record(action, object=None, detail=None, actor=None):
    """Append one entry to the audit log and return it; flushes, never commits.

    `object` names what was acted on ("report:42"); `detail` is a JSON-able dict that must hold no
    contact details, exact coordinates or other personal data (the log can never be cleaned).

    The entry is one INSERT in the caller's transaction, with no lock and no hash: it is chained
    after the commit (see the module's docstring), and readable by everyone as soon as the
    transaction commits. `at` is the database's clock at the insert (one clock for all app
    servers). A rolled-back transaction leaves a gap in the numbers, which is not an error.
    """
    entry = AuditEntry(at=func.clock_timestamp(), actor_id=getattr(actor, "id", None),
                       action=action, object=object, detail=detail)
    db.session.add(entry)
    db.session.flush()
    return entry


def entry_hash(fields):
    """sha256 (hex) of the canonical JSON of an entry's HASHED_COLUMNS."""
    payload = {name: fields[name] for name in HASHED_COLUMNS}
    payload["at"] = canonical_time(payload["at"])
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def canonical_time(moment):
    """UTC, always with microseconds (PostgreSQL's precision), whatever the session's time zone."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class ChainCheck:
    """The result of verify(): how many chained entries were found good, the first bad one if any,
    and the entries not chained yet (how many, the oldest one's time, how many waited too long)."""

    entries: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None
    unchained: int = 0
    oldest_unchained_at: datetime | None = None
    stale: int = 0

    @property
    def intact(self):
        return self.broken_seq is None


def verify(batch_size=1000, stale_after=STALE_AFTER):
    """Walk the chain in chain order; stop at the first entry whose hash or link is wrong. Then
    count the entries waiting for the chainer, and those recorded more than `stale_after` ago."""
    previous_hash, previous_seq, count = GENESIS_HASH, None, 0
    for row in _chained_in_order(batch_size):
        reason = _problem(row, previous_hash, previous_seq)
        if reason:
            return ChainCheck(count, previous_hash, row.seq, reason, *chain_backlog(stale_after))
        previous_hash, previous_seq, count = row.hash, row.seq, count + 1
    return ChainCheck(count, previous_hash, None, None, *chain_backlog(stale_after))


def _problem(row, previous_hash, previous_seq):
    if entry_hash(row._mapping) != row.hash:
        return "its content does not match its hash (the entry was edited or forged)"
    if row.prev_hash != previous_hash:
        before = f"entry {previous_seq}" if previous_seq is not None else "the start of the chain"
        return (f"it links to {row.prev_hash[:12]}… but {before} has hash {previous_hash[:12]}… "
                "(an entry was deleted, inserted or moved before it)")
    return None


def _chained_in_order(batch_size):
    """Every chained entry, first to last, a batch at a time (keyset pages: memory stays flat)."""
    columns = [getattr(AuditEntry, name) for name in (*HASHED_COLUMNS, "hash", "chain_pos")]
    after = None
    while True:
        query = (select(*columns).where(AuditEntry.chain_pos.is_not(None))
                 .order_by(AuditEntry.chain_pos).limit(batch_size))
        if after is not None:
            query = query.where(AuditEntry.chain_pos > after)
        rows = db.session.execute(query).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].chain_pos


def chain_backlog(stale_after=STALE_AFTER):
    """(count, oldest `at`, count older than `stale_after`) of the entries not chained yet, by the
    database's clock (the one that stamped them). Cheap: a partial index holds only these."""
    stale_before = func.clock_timestamp() - stale_after
    row = db.session.execute(
        select(func.count(), func.min(AuditEntry.at),
               func.count().filter(AuditEntry.at < stale_before))
        .where(AuditEntry.chain_pos.is_(None))).one()
    return tuple(row)


def record_independently(action, object=None, detail=None, actor=None):
    """Append one entry in a transaction of its own and commit it now; returns the entry.

    For acts whose request is about to fail: a refused access answers 404, and every error response
    rolls the request's transaction back, which would take an entry written by `record()` with it.
    So the session's uncommitted work is rolled back *first* (the caller is giving up on the request
    anyway: call this only when nothing done so far in the request is to be kept), then the entry
    is written and committed alone, on the request's own connection.

    Why not a second connection: under a flood of refused requests every request would need two
    pooled connections at once, which can drain the pool.
    """
    db.session.rollback()
    entry = record(action, object, detail, actor=actor)
    db.session.commit()
    return entry
