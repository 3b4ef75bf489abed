"""The audit log: entries written at once and unchained, then sealed into a hash chain by the
chainer; the chain shows edited, deleted, moved and inserted entries, the app's own database
connection cannot change entries, and entries left unchained too long are a warning.

Writers and chainers on separate connections at once: tests/audit/test_concurrency.py."""
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from apoa.audit.chain import chain_pending
from apoa.audit.models import GENESIS_HASH, AuditEntry
from apoa.audit.services import entry_hash, record, verify


def record_three(actor=None):
    return [record("test.step", f"report:{n}", {"n": n, "note": "ülke"}, actor=actor)
            for n in (1, 2, 3)]


def chained_three(actor=None):
    """Three entries, chained (with any entry other tests committed and left waiting)."""
    entries = record_three(actor)
    chain_pending()
    return entries


def without_append_only_trigger(session):
    """Lets a test play the intruder; the ALTER is undone with the test's transaction."""
    session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))


def settled():
    """verify() once nothing is waiting: other test files commit entries and leave them unchained."""
    chain_pending()
    return verify()


def test_an_entry_is_readable_at_once_and_chained_by_the_chainer(db_session, make):
    before = settled()
    user = make.user()
    first, second, third = record_three(actor=user)
    assert first.actor_id == user.id and first.object == "report:1" and first.at is not None
    assert db_session.scalar(select(AuditEntry.action).where(AuditEntry.seq == second.seq)) == "test.step"
    assert (first.hash, first.prev_hash, first.chain_pos) == (None, None, None)
    waiting = verify()
    assert waiting.intact and waiting.entries == before.entries and waiting.unchained == 3

    assert chain_pending() == 3
    assert [first.prev_hash, second.prev_hash, third.prev_hash] == [before.head_hash, first.hash, second.hash]
    assert third.chain_pos == second.chain_pos + 1 == first.chain_pos + 2
    result = verify()
    assert result.intact, result.reason
    assert (result.entries, result.unchained) == (before.entries + 3, 0)
    assert result.head_hash == third.hash


def test_recording_is_one_insert_and_takes_no_lock(db_session):
    db_session.flush()
    statements = []
    connection = db_session.connection()
    listener = lambda *args: statements.append(args[2])  # noqa: E731  (conn, cursor, statement, ...)
    event.listen(connection, "before_cursor_execute", listener)
    try:
        entry = record("test.step", "report:1", {"n": 1})
        assert entry.seq and entry.at
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO audit_log")
    assert "advisory" not in statements[0].lower()


def test_the_first_entry_links_to_the_genesis_hash(db_session):
    db_session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
    db_session.execute(text("TRUNCATE audit_log"))
    entry = record("test.first")
    chain_pending()
    assert entry.prev_hash == GENESIS_HASH and entry.chain_pos == 1
    assert verify().intact and verify().entries == 1


def test_the_chainer_works_in_batches(db_session):
    before = settled()
    entries = [record("test.batch", f"report:{n}") for n in range(7)]
    assert chain_pending(batch_size=3) == 7
    assert [entry.chain_pos for entry in entries] == list(range(entries[0].chain_pos, entries[0].chain_pos + 7))
    assert verify().entries == before.entries + 7


def test_the_stored_entry_hashes_to_what_was_recorded(db_session):
    entry = record("test.roundtrip", "report:7", {"reason": "a", "nested": {"b": [1, 2.5, None]}})
    chain_pending()
    db_session.expire_all()
    row = db_session.execute(select(AuditEntry).where(AuditEntry.seq == entry.seq)).scalar_one()
    fields = {name: getattr(row, name) for name in ("seq", "at", "actor_id", "action", "object",
                                                     "detail", "prev_hash")}
    assert entry_hash(fields) == row.hash


def test_the_chain_verifies_whatever_the_sessions_time_zone(db_session):
    chained_three()
    db_session.execute(text("SET LOCAL TIME ZONE 'Asia/Jayapura'"))
    assert verify().intact


def test_an_entry_without_detail_stores_sql_null(db_session):
    entry = record("test.bare")
    assert db_session.scalar(text("SELECT detail IS NULL FROM audit_log WHERE seq = :seq"), {"seq": entry.seq})


def test_verify_finds_an_edited_entry(db_session):
    _first, second, _third = chained_three()
    without_append_only_trigger(db_session)
    db_session.execute(text("""UPDATE audit_log SET detail = '{"n": 99}' WHERE seq = :seq"""),
                       {"seq": second.seq})
    result = verify()
    assert not result.intact
    assert result.broken_seq == second.seq
    assert "edited" in result.reason


def test_verify_finds_a_deleted_entry(db_session):
    _first, second, third = chained_three()
    without_append_only_trigger(db_session)
    db_session.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": second.seq})
    result = verify()
    assert result.broken_seq == third.seq
    assert "deleted" in result.reason


def test_verify_finds_an_entry_taken_out_of_the_chain(db_session):
    """Unsealing an entry (to edit it and have it chained again at the end) leaves a hole."""
    _first, second, third = chained_three()
    without_append_only_trigger(db_session)
    db_session.execute(text("UPDATE audit_log SET chain_pos = NULL, prev_hash = NULL, hash = NULL,"
                            " action = 'test.rewritten' WHERE seq = :seq"), {"seq": second.seq})
    chain_pending()
    assert verify().broken_seq == third.seq


def test_verify_finds_entries_swapped(db_session):
    first, second, _third = chained_three()
    without_append_only_trigger(db_session)
    move = text("UPDATE audit_log SET chain_pos = :pos WHERE seq = :seq")
    db_session.execute(move, {"seq": first.seq, "pos": -1})
    db_session.execute(move, {"seq": second.seq, "pos": first.chain_pos})
    db_session.execute(move, {"seq": first.seq, "pos": second.chain_pos})
    result = verify()
    assert result.broken_seq == second.seq
    assert "moved" in result.reason


def test_verify_finds_a_forged_entry_inserted_into_the_chain(db_session):
    """Room made after the second entry and a forgery put there, its own hash right: its link to
    the entry before shows it (the real link is taken: prev_hash is unique)."""
    _first, second, third = chained_three()
    without_append_only_trigger(db_session)
    db_session.execute(text("UPDATE audit_log SET chain_pos = chain_pos + 1 WHERE chain_pos >= :pos"),
                       {"pos": third.chain_pos})
    gap = db_session.execute(text("SELECT nextval(pg_get_serial_sequence('audit_log', 'seq'))")).scalar()
    forged = {"seq": gap, "at": second.at, "actor_id": None, "action": "test.forged", "object": None,
              "detail": None, "prev_hash": "f" * 64}
    db_session.add(AuditEntry(**forged, chain_pos=second.chain_pos + 1, hash=entry_hash(forged)))
    db_session.flush()
    result = verify()
    assert result.broken_seq == gap
    assert "inserted" in result.reason


def test_verify_finds_a_forged_entry_appended_at_the_end(db_session):
    _first, _second, last = chained_three()
    forged = AuditEntry(seq=last.seq + 100, at=last.at, action="test.forged", chain_pos=last.chain_pos + 1,
                        prev_hash=last.hash, hash="a" * 64)
    db_session.add(forged)
    db_session.flush()
    assert verify().broken_seq == last.seq + 100


def test_a_fork_is_refused_by_the_database(db_session):
    _first, _second, last = chained_three()
    fork = AuditEntry(at=last.at, action="test.fork", chain_pos=last.chain_pos + 1, prev_hash=last.prev_hash,
                      hash="b" * 64)
    with pytest.raises(DBAPIError, match="uq_audit_log_prev_hash"):
        with db_session.begin_nested():
            db_session.add(fork)
            db_session.flush()


def test_an_entry_is_chained_whole_or_not_at_all(db_session):
    half = AuditEntry(at=db_now(db_session), action="test.half", prev_hash="c" * 64, hash="d" * 64)
    with pytest.raises(DBAPIError, match="ck_audit_log_sealed_whole"):
        with db_session.begin_nested():
            db_session.add(half)
            db_session.flush()


def db_now(session):
    return session.scalar(text("SELECT now()"))


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET action = 'changed' WHERE seq = :seq",
    # Sealing is let through only with the content untouched, and only once.
    "UPDATE audit_log SET chain_pos = -1, prev_hash = repeat('e', 64), hash = repeat('f', 64),"
    " action = 'changed' WHERE seq = :seq",
    "DELETE FROM audit_log WHERE seq = :seq",
    "TRUNCATE audit_log",
])
@pytest.mark.parametrize("chained", [False, True], ids=["unchained", "chained"])
def test_the_apps_connection_cannot_change_or_remove_entries(db_session, statement, chained):
    entry = record("test.step")
    if chained:
        chain_pending()
    with pytest.raises(DBAPIError, match="audit_log is append-only"):
        with db_session.begin_nested():
            db_session.execute(text(statement), {"seq": entry.seq})
    assert db_session.scalar(select(AuditEntry.action).where(AuditEntry.seq == entry.seq)) == "test.step"


def test_a_chained_entry_cannot_be_sealed_again(db_session):
    _first, _second, last = chained_three()
    with pytest.raises(DBAPIError, match="audit_log is append-only"):
        with db_session.begin_nested():
            db_session.execute(text("UPDATE audit_log SET chain_pos = chain_pos + 1000 WHERE seq = :seq"),
                               {"seq": last.seq})


def test_deleting_a_user_who_acted_is_refused_rather_than_rewriting_history(db_session, make):
    user = make.user()
    record("test.step", actor=user)
    with pytest.raises(DBAPIError, match="fk_audit_log_actor_id_user_account"):
        with db_session.begin_nested():
            db_session.execute(text("DELETE FROM user_account WHERE id = :id"), {"id": user.id})


# --- entries waiting for the chainer ---------------------------------------------------------

def test_recent_unchained_entries_are_expected_and_old_ones_a_warning(db_session):
    settled()
    db_session.add(AuditEntry(at=text("clock_timestamp() - interval '25 minutes'"), action="test.old"))
    record("test.fresh")
    db_session.flush()
    result = verify()
    assert result.intact
    assert (result.unchained, result.stale) == (2, 1)
    assert result.oldest_unchained_at < db_now(db_session)
    chain_pending()
    assert (verify().unchained, verify().stale) == (0, 0)


# --- the command line ------------------------------------------------------------------------

def test_cli_chain_then_verify_says_intact(runner, db_session):
    settled()
    record_three()
    waiting = runner.invoke(args=["audit", "verify"])
    assert waiting.exit_code == 0, waiting.output
    assert "not chained yet: 3 entries, the oldest recorded 20" in waiting.output
    assert "warning" not in waiting.output

    chained = runner.invoke(args=["audit", "chain"])
    assert chained.exit_code == 0, chained.output
    assert "chained 3 entries" in chained.output
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"audit chain intact: {verify().entries} entries" in result.output
    assert f"head hash: {verify().head_hash}" in result.output
    assert "not chained yet" not in result.output


def test_cli_verify_warns_about_entries_waiting_too_long(runner, db_session):
    settled()
    db_session.add(AuditEntry(at=text("clock_timestamp() - interval '1 hour'"), action="test.old"))
    db_session.flush()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output
    assert ("warning: 1 entries recorded more than 10 minutes ago are not chained: is the job worker running?"
            in result.output)


def test_cli_verify_names_the_first_broken_entry(runner, db_session):
    first, _second, _third = chained_three()
    without_append_only_trigger(db_session)
    db_session.execute(text("UPDATE audit_log SET action = 'x' WHERE seq = :seq"), {"seq": first.seq})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit chain broken at entry {first.seq}:" in result.output
