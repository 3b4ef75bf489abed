"""Writing and checking the hash-chained audit log.

Every entry stores `prev_hash`, the hash of the entry before it (64 zeros for the first), and
`hash`, sha256 over a canonical JSON of all its other columns: seq, at, actor_id, action, object,
detail and prev_hash. Editing an entry breaks its own hash; deleting, inserting or reordering one
breaks the link of the entry after it. `verify()` finds both.

What the chain cannot show on its own: someone able to rewrite the table and recompute every hash
after the change, or someone removing the newest entries. `flask audit verify` prints the head
hash so that it can be written down elsewhere (a ticket, a signed mail) and compared later.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import timezone

from sqlalchemy import DateTime, select, text
from sqlalchemy.dialects.postgresql import JSONB

from apoa.audit.models import GENESIS_HASH, AuditEntry
from apoa.extensions import db

# pg_advisory_xact_lock key for audit writers ("APOAAUDI" in ASCII); any constant other code
# does not use would do.
AUDIT_LOCK_KEY = 0x41504F4141554449

HASHED_COLUMNS = ("seq", "at", "actor_id", "action", "object", "detail", "prev_hash")

# Everything the new entry's hash needs, from the database, in one round trip once the lock is
# held: the next number, the clock, the head of the chain, and `detail` as JSONB will store it.
_NEXT_ENTRY = text(
    "SELECT nextval(pg_get_serial_sequence('audit_log', 'seq')) AS seq,"
    " clock_timestamp() AS at,"
    " (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS prev_hash,"
    " CAST(:detail AS jsonb) AS detail"
).columns(at=DateTime(timezone=True), detail=JSONB)


def record(action, object=None, detail=None, actor=None):
    """Append one entry to the audit log and return it; flushes, never commits.

    `object` names what was acted on ("report:42"); `detail` is a JSON-able dict that must hold no
    contact details, exact coordinates or other personal data (the log can never be cleaned).

    Writers are serialised by a transaction-level advisory lock, held until the caller's
    transaction ends: the head of the chain is read, and the new entry linked to it, by one writer
    at a time, so the chain never forks. Record as the last step of a service and commit promptly,
    because every other audited request waits for this one meanwhile.

    The entry's number is taken from the sequence before hashing, so `seq` is covered by the hash;
    since that happens under the lock, numbers follow the chain's order. A rolled-back transaction
    leaves a gap in the numbers but not in the chain, so gaps are not errors. `at` comes from the
    database clock under the same lock (one clock for all app servers, never going backwards along
    the chain), and `detail` is normalised by PostgreSQL before hashing, so that the values hashed
    are exactly those `verify()` reads back.
    """
    db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    encoded = None if detail is None else json.dumps(detail)
    nxt = db.session.execute(_NEXT_ENTRY, {"detail": encoded}).one()
    fields = {"seq": nxt.seq, "at": nxt.at, "actor_id": getattr(actor, "id", None),
              "action": action, "object": object, "detail": nxt.detail,
              "prev_hash": nxt.prev_hash or GENESIS_HASH}
    entry = AuditEntry(**fields, hash=entry_hash(fields))
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
    """The result of verify(): how many entries were found good, and the first bad one if any."""

    entries: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def intact(self):
        return self.broken_seq is None


def verify(batch_size=1000):
    """Walk the chain in seq order; stop at the first entry whose hash or link is wrong."""
    previous_hash, previous_seq, count = GENESIS_HASH, None, 0
    for row in _entries_in_order(batch_size):
        reason = _problem(row, previous_hash, previous_seq)
        if reason:
            return ChainCheck(count, previous_hash, row.seq, reason)
        previous_hash, previous_seq, count = row.hash, row.seq, count + 1
    return ChainCheck(count, previous_hash)


def _problem(row, previous_hash, previous_seq):
    if entry_hash(row._mapping) != row.hash:
        return "its content does not match its hash (the entry was edited or forged)"
    if row.prev_hash != previous_hash:
        before = f"entry {previous_seq}" if previous_seq is not None else "the start of the chain"
        return (f"it links to {row.prev_hash[:12]}… but {before} has hash {previous_hash[:12]}… "
                "(an entry was deleted, inserted or moved before it)")
    return None


def _entries_in_order(batch_size):
    """Every entry, oldest first, a batch at a time (keyset pages: memory stays flat)."""
    columns = [getattr(AuditEntry, name) for name in (*HASHED_COLUMNS, "hash")]
    after = None
    while True:
        query = select(*columns).order_by(AuditEntry.seq).limit(batch_size)
        if after is not None:
            query = query.where(AuditEntry.seq > after)
        rows = db.session.execute(query).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def record_independently(action, object=None, detail=None, actor=None):
    """Append one entry in a transaction of its own and commit it now; returns the entry.

    For acts whose request is about to fail: a refused access answers 404, and every error response
    rolls the request's transaction back, which would take an entry written by `record()` with it.
    So the session's uncommitted work is rolled back *first* (the caller is giving up on the request
    anyway: call this only when nothing done so far in the request is to be kept), then the entry
    is written and committed alone, on the request's own connection.

    Why not a second connection: this request may already hold the audit lock (any earlier
    `record()`), which a second connection would wait for forever; and under a flood of refused
    requests every request would need two pooled connections at once, which can drain the pool.
    """
    db.session.rollback()
    entry = record(action, object, detail, actor=actor)
    db.session.commit()
    return entry
