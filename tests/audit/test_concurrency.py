"""Writers and chainers on their own connections at once, committing for real: a writer never waits
for another writer (nor for the chainer), entries are chained in the order they became visible,
an entry committed after a later-numbered one is still chained, and two chainers never fork the
chain. Everything these tests commit is chained before they end, so the chain stays intact for
later tests."""
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from apoa.audit.chain import chain_batch, chain_pending
from apoa.audit.models import AuditEntry
from apoa.audit.services import record, verify
from apoa.extensions import db

pytestmark = pytest.mark.no_db_transaction


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url, pool_size=20, max_overflow=0)
    yield engine
    engine.dispose()


@contextmanager
def acting_in(session):
    """record(), chain_pending() and verify() work on `session` meanwhile (they use db.session)."""
    original = db.session
    db.session = session
    try:
        yield session
    finally:
        db.session = original


def impatient(session, timeout="2s"):
    """Any lock wait longer than `timeout` fails instead of hanging the test."""
    session.execute(text(f"SET LOCAL lock_timeout = '{timeout}'"))


def positions(session, *entries):
    seqs = [entry.seq for entry in entries]
    found = dict(session.execute(select(AuditEntry.seq, AuditEntry.chain_pos).where(AuditEntry.seq.in_(seqs))).all())
    return [found.get(seq) for seq in seqs]


def test_a_writer_commits_while_another_holds_an_uncommitted_entry(engine):
    with Session(engine) as slow, Session(engine) as quick, Session(engine) as chainer:
        with acting_in(slow):
            held = record("test.concurrent", "writer:slow")  # flushed; its transaction stays open
        with acting_in(quick):
            impatient(quick)
            started = time.perf_counter()
            done = record("test.concurrent", "writer:quick")
            quick.commit()
            elapsed = time.perf_counter() - started
        assert elapsed < 1.0
        assert held.seq < done.seq

        with acting_in(chainer):
            chain_pending()
            # Only what is committed is chained: the later-numbered entry first.
            assert positions(chainer, held, done)[0] is None
            assert verify().intact
            chainer.commit()
        with acting_in(slow):
            slow.commit()
        with acting_in(chainer):
            chain_pending()
            held_at, done_at = positions(chainer, held, done)
            assert held_at > done_at
            result = verify()
            assert result.intact, result.reason
            assert result.unchained == 0
            chainer.commit()


def test_chainers_take_turns_and_writers_never_wait_for_them(engine):
    with Session(engine) as first, Session(engine) as second, Session(engine) as writer:
        with acting_in(first):
            chain_batch()  # holds the chainer's lock until its transaction ends
        with acting_in(second):
            impatient(second, "300ms")
            with pytest.raises(OperationalError, match="lock timeout"):
                chain_batch()
            second.rollback()
        with acting_in(writer):
            impatient(writer)
            entry = record("test.concurrent", "writer:beside-chainer")
            writer.commit()
        first.commit()
        with acting_in(second):
            chain_pending()
            assert positions(second, entry)[0] is not None
            second.commit()


WRITERS = 8
ENTRIES_EACH = 25


@pytest.mark.slow
def test_many_writers_and_two_chainers_at_once_keep_one_intact_chain(engine, harness):
    with harness.app_context():
        chain_pending()
        before = verify()
        db.session.remove()
    errors = run_together(engine)
    with Session(engine) as session, acting_in(session):
        chain_pending()
        result = verify()
        new_positions = session.scalars(
            select(AuditEntry.chain_pos).where(AuditEntry.chain_pos > before_head_position(session, before))
            .order_by(AuditEntry.chain_pos)).all()
        unchained = session.scalar(select(func.count()).where(AuditEntry.chain_pos.is_(None)))
    assert errors == []
    assert result.intact, result.reason
    assert result.entries == before.entries + WRITERS * ENTRIES_EACH
    assert unchained == 0
    # No place was taken twice or skipped: each batch continued from the other chainer's head.
    assert new_positions == list(range(new_positions[0], new_positions[0] + WRITERS * ENTRIES_EACH))


def before_head_position(session, before):
    return session.scalar(select(AuditEntry.chain_pos).where(AuditEntry.hash == before.head_hash)) or 0


def run_together(engine):
    """WRITERS threads committing entry after entry while two chainers chain in a loop; a session
    per thread on `engine`, as conftest swaps one in per test."""
    original = db.session
    db.session = scoped_session(sessionmaker(bind=engine), scopefunc=threading.get_ident)
    start, writing, errors = threading.Barrier(WRITERS + 2), threading.Event(), []
    writing.set()

    def write(writer):
        try:
            start.wait()
            for n in range(ENTRIES_EACH):
                record("test.concurrent", f"writer:{writer}", {"n": n})
                db.session.commit()
        except Exception as error:  # noqa: BLE001  (reported by the test, not lost in a thread)
            errors.append(error)
        finally:
            db.session.remove()

    def chain():
        try:
            start.wait()
            while writing.is_set():
                chain_pending(batch_size=7)
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            db.session.remove()

    writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    chainers = [threading.Thread(target=chain) for _ in range(2)]
    try:
        for thread in writers + chainers:
            thread.start()
        for thread in writers:
            thread.join()
        writing.clear()
        for thread in chainers:
            thread.join()
    finally:
        db.session = original
    return errors
