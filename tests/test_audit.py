"""The audit log: a hash chain that shows edited, deleted and inserted entries, that the app's own
database connection cannot change, and that never forks under concurrent writers."""
import threading

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import scoped_session, sessionmaker

from apoa.audit.models import GENESIS_HASH, AuditEntry
from apoa.audit.services import entry_hash, record, verify
from apoa.extensions import db


def record_three(actor=None):
    return [record("test.step", f"report:{n}", {"n": n, "note": "ülke"}, actor=actor)
            for n in (1, 2, 3)]


def without_append_only_trigger(session):
    """Lets a test play the intruder; the ALTER is undone with the test's transaction."""
    session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))


def test_recorded_entries_form_an_intact_chain(db_session, make):
    before = verify()
    user = make.user()
    first, second, third = record_three(actor=user)
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert first.actor_id == user.id and first.object == "report:1"
    result = verify()
    assert result.intact, result.reason
    assert result.entries == before.entries + 3
    assert result.head_hash == third.hash


def test_the_first_entry_links_to_the_genesis_hash(db_session):
    db_session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
    db_session.execute(text("TRUNCATE audit_log"))
    entry = record("test.first")
    assert entry.prev_hash == GENESIS_HASH
    assert verify().intact and verify().entries == 1


def test_the_stored_entry_hashes_to_what_was_recorded(db_session):
    entry = record("test.roundtrip", "report:7", {"reason": "a", "nested": {"b": [1, 2.5, None]}})
    db_session.expire_all()
    row = db_session.execute(select(AuditEntry).where(AuditEntry.seq == entry.seq)).scalar_one()
    fields = {name: getattr(row, name) for name in ("seq", "at", "actor_id", "action", "object",
                                                     "detail", "prev_hash")}
    assert entry_hash(fields) == row.hash


def test_the_chain_verifies_whatever_the_sessions_time_zone(db_session):
    record_three()
    db_session.execute(text("SET LOCAL TIME ZONE 'Asia/Jayapura'"))
    assert verify().intact


def test_an_entry_without_detail_stores_sql_null(db_session):
    entry = record("test.bare")
    assert db_session.scalar(text("SELECT detail IS NULL FROM audit_log WHERE seq = :seq"), {"seq": entry.seq})


def test_verify_finds_an_edited_entry(db_session):
    _first, second, _third = record_three()
    without_append_only_trigger(db_session)
    db_session.execute(text("""UPDATE audit_log SET detail = '{"n": 99}' WHERE seq = :seq"""),
                       {"seq": second.seq})
    result = verify()
    assert not result.intact
    assert result.broken_seq == second.seq
    assert "edited" in result.reason


def test_verify_finds_a_deleted_entry(db_session):
    _first, second, third = record_three()
    without_append_only_trigger(db_session)
    db_session.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": second.seq})
    result = verify()
    assert result.broken_seq == third.seq
    assert "deleted" in result.reason


def test_verify_finds_a_forged_entry_inserted_into_a_gap(db_session):
    """A rolled-back writer leaves a gap in the numbers; a forger filling it is still found."""
    first = record("test.step")
    gap = db_session.execute(text("SELECT nextval(pg_get_serial_sequence('audit_log', 'seq'))")).scalar()
    second = record("test.step")
    forged = {"seq": gap, "at": first.at, "actor_id": None, "action": "test.forged", "object": None,
              "detail": None, "prev_hash": "f" * 64}
    db_session.add(AuditEntry(**forged, hash=entry_hash(forged)))
    db_session.flush()
    result = verify()
    assert result.broken_seq == gap
    assert second.prev_hash == first.hash


def test_verify_finds_a_forged_entry_appended_at_the_end(db_session):
    last = record("test.step")
    db_session.add(AuditEntry(seq=last.seq + 1, at=last.at, action="test.forged", prev_hash=last.hash,
                              hash="a" * 64))
    db_session.flush()
    assert verify().broken_seq == last.seq + 1


def test_a_fork_is_refused_by_the_database(db_session):
    last = record("test.step")
    fork = AuditEntry(at=last.at, action="test.fork", prev_hash=last.prev_hash, hash="b" * 64)
    with pytest.raises(DBAPIError, match="uq_audit_log_prev_hash"):
        with db_session.begin_nested():
            db_session.add(fork)
            db_session.flush()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET action = 'changed' WHERE seq = :seq",
    "DELETE FROM audit_log WHERE seq = :seq",
    "TRUNCATE audit_log",
])
def test_the_apps_connection_cannot_change_or_remove_entries(db_session, statement):
    entry = record("test.step")
    with pytest.raises(DBAPIError, match="audit_log is append-only"):
        with db_session.begin_nested():
            db_session.execute(text(statement), {"seq": entry.seq})
    assert db_session.scalar(select(AuditEntry.action).where(AuditEntry.seq == entry.seq)) == "test.step"


def test_deleting_a_user_who_acted_is_refused_rather_than_rewriting_history(db_session, make):
    user = make.user()
    record("test.step", actor=user)
    with pytest.raises(DBAPIError, match="fk_audit_log_actor_id_user_account"):
        with db_session.begin_nested():
            db_session.execute(text("DELETE FROM user_account WHERE id = :id"), {"id": user.id})


def test_cli_verify_says_intact(runner, db_session):
    record_three()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"audit chain intact: {verify().entries} entries" in result.output


def test_cli_verify_names_the_first_broken_entry(runner, db_session):
    first, _second, _third = record_three()
    without_append_only_trigger(db_session)
    db_session.execute(text("UPDATE audit_log SET action = 'x' WHERE seq = :seq"), {"seq": first.seq})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit chain broken at entry {first.seq}:" in result.output


WRITERS = 16
ENTRIES_EACH = 20


@pytest.mark.no_db_transaction
@pytest.mark.slow
def test_concurrent_writers_never_fork_the_chain(harness, database_url):
    """16 writers, each on its own connection, committing every entry. The rows stay: they are
    appended and committed like production entries, so the chain stays intact for later tests."""
    engine = create_engine(database_url, pool_size=WRITERS, max_overflow=0)
    with harness.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEntry))
        errors = run_writers(engine)
        db.session.remove()
        result = verify()
        prev_hashes = db.session.scalars(select(AuditEntry.prev_hash)).all()
        db.session.remove()
    engine.dispose()
    assert errors == []
    assert result.intact, result.reason
    assert result.entries == before + WRITERS * ENTRIES_EACH
    assert len(prev_hashes) == len(set(prev_hashes))


def run_writers(engine):
    """Swap in a session per thread on `engine` (as conftest does per test) and start together."""
    original = db.session
    db.session = scoped_session(sessionmaker(bind=engine), scopefunc=threading.get_ident)
    start, errors = threading.Barrier(WRITERS), []

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

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        db.session = original
    return errors
