"""The chainer: links committed audit entries into the hash chain, in batches, one at a time.

Requests write their entries unchained and never lock anything (apoa.audit.services.record). Their
numbers (`seq`) are taken at the insert, but transactions commit in another order, so a gap in the
numbers may be filled later by a transaction still running. The chainer therefore does not follow
`seq`: it chains whatever is committed and unchained when it looks, in `seq` order within the
batch, and gives each entry the next place of its own (`chain_pos`). An entry committed after a
later-numbered one is simply chained on a later run; none is skipped or waited for.

Two chainers at once (the job and `flask audit chain`, or two workers) take turns: each batch
runs under a transaction-level advisory lock that only chainers take, and reads the head of the
chain once it holds it. Writers never take it.
"""
import logging

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT, CHAR

from apoa.audit.models import GENESIS_HASH, AuditEntry
from apoa.audit.services import HASHED_COLUMNS, entry_hash
from apoa.extensions import db

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key of the chainer ("APOACHAI" in ASCII); any constant other code does
# not use would do.
CHAIN_LOCK_KEY = 0x41504F4143484149
BATCH_SIZE = 5000

_CONTENT = [getattr(AuditEntry, name) for name in HASHED_COLUMNS if name != "prev_hash"]

# One statement seals a whole batch; the append-only trigger lets exactly this change through
# (NULL position and hashes set, content untouched), and `chain_pos IS NULL` makes sure no entry
# is sealed twice.
_SEAL = text(
    "UPDATE audit_log AS entry SET chain_pos = sealed.chain_pos, prev_hash = sealed.prev_hash,"
    " hash = sealed.hash"
    " FROM unnest(:seqs, :positions, :prev_hashes, :hashes)"
    " AS sealed(seq, chain_pos, prev_hash, hash)"
    " WHERE entry.seq = sealed.seq AND entry.chain_pos IS NULL"
).bindparams(bindparam("seqs", type_=ARRAY(BIGINT)), bindparam("positions", type_=ARRAY(BIGINT)),
             bindparam("prev_hashes", type_=ARRAY(CHAR(64))),
             bindparam("hashes", type_=ARRAY(CHAR(64))))


def chain_pending(batch_size=BATCH_SIZE):
    """Job: chain every entry committed and unchained when it runs, committing batch by batch.
    Returns how many it chained."""
    total = 0
    while True:
        chained = chain_batch(batch_size)
        db.session.commit()
        total += chained
        if chained < batch_size:
            break
    if total:
        log.info("audit: chained %d entries", total)
    return total


def chain_batch(batch_size=BATCH_SIZE):
    """Seal up to `batch_size` unchained entries after the current head; flushes, never commits
    (the lock is held until the caller's transaction ends). Returns how many it sealed."""
    # Taken alone and first: in READ COMMITTED every later statement sees what the previous
    # chainer committed before letting go of the lock.
    db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    entries = db.session.execute(
        select(*_CONTENT).where(AuditEntry.chain_pos.is_(None))
        .order_by(AuditEntry.seq).limit(batch_size)).all()
    if not entries:
        return 0
    position, prev_hash = _head()
    sealed = {"seqs": [], "positions": [], "prev_hashes": [], "hashes": []}
    for entry in entries:
        position += 1
        own_hash = entry_hash({**entry._mapping, "prev_hash": prev_hash})
        for key, value in zip(sealed, (entry.seq, position, prev_hash, own_hash)):
            sealed[key].append(value)
        prev_hash = own_hash
    updated = db.session.execute(_SEAL, sealed).rowcount
    if updated != len(entries):
        # Only a chainer not holding the lock could have sealed them meanwhile.
        raise RuntimeError(f"audit: sealed {updated} of {len(entries)} entries; rolled back")
    _expire_seals_in_session()
    return len(entries)


def _expire_seals_in_session():
    """Entries recorded in this very session learn their position and hashes when next read."""
    for instance in list(db.session.identity_map.values()):
        if isinstance(instance, AuditEntry):
            db.session.expire(instance, ["chain_pos", "prev_hash", "hash"])


def _head():
    """(chain_pos, hash) of the last chained entry, or (0, the genesis hash) for an empty chain."""
    head = db.session.execute(
        select(AuditEntry.chain_pos, AuditEntry.hash).where(AuditEntry.chain_pos.is_not(None))
        .order_by(AuditEntry.chain_pos.desc()).limit(1)).first()
    return (head.chain_pos, head.hash) if head else (0, GENESIS_HASH)
