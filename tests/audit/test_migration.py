"""A log written by the old writers (each entry hashed and linked under a lock, in seq order) stays
verifiable after migration 0024, and the chainer continues it."""
import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from apoa import create_app
from apoa.audit.chain import chain_pending
from apoa.audit.services import record, verify
from apoa.extensions import db
from tests.conftest import app_environ, drop_database, recreate_database

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
T0 = datetime(2026, 11, 30, 3, 0, 0, 123456, tzinfo=timezone.utc)


def old_format_hash(fields):
    """The hash as the writers before 0024 computed it, frozen here: sha256 of the canonical JSON
    of seq, at (UTC, microseconds), actor_id, action, object, detail and prev_hash."""
    payload = {name: fields[name] for name in ("seq", "at", "actor_id", "action", "object", "detail",
                                               "prev_hash")}
    payload["at"] = payload["at"].astimezone(timezone.utc).isoformat(timespec="microseconds")
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def write_old_chain(seqs):
    """Entries as the old record() left them: hashed, linked in seq order (gaps where writers
    rolled back)."""
    prev_hash = "0" * 64
    for n, seq in enumerate(seqs):
        fields = {"seq": seq, "at": T0 + timedelta(seconds=n), "actor_id": None, "action": "test.old",
                  "object": f"report:{n}", "detail": {"n": n, "note": "ülke"}, "prev_hash": prev_hash}
        fields["hash"] = old_format_hash(fields)
        db.session.execute(text(
            "INSERT INTO audit_log (seq, at, actor_id, action, object, detail, prev_hash, hash)"
            " VALUES (:seq, :at, :actor_id, :action, :object, CAST(:detail AS jsonb), :prev_hash, :hash)"),
            fields | {"detail": json.dumps(fields["detail"])})
        prev_hash = fields["hash"]
    # The old writers drew every number from the sequence.
    db.session.execute(text("SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), :last)"),
                       {"last": seqs[-1]})
    db.session.commit()
    return prev_hash


@pytest.mark.no_db_transaction
def test_an_old_chain_still_verifies_after_the_upgrade_and_grows(database_url, tmp_path):
    url = database_url.set(database=f"{database_url.database}_audit_upgrade")
    recreate_database(url)
    before_0024 = ScriptDirectory(str(MIGRATIONS)).get_revision("0024").down_revision
    app = create_app(environ=app_environ(url, APOA_INSTANCE_DIR=str(tmp_path)))
    try:
        with app.app_context():
            upgrade(revision=before_0024)
            old_head = write_old_chain([1, 2, 4, 5, 9])
            upgrade()

            migrated = verify()
            assert migrated.intact, migrated.reason
            assert (migrated.entries, migrated.head_hash, migrated.unchained) == (5, old_head, 0)

            entry = record("test.new")
            db.session.commit()
            assert chain_pending() == 1
            assert entry.prev_hash == old_head and entry.chain_pos == 10
            grown = verify()
            assert grown.intact, grown.reason
            assert grown.entries == 6

            db.session.remove()  # the migrations run on a connection of their own
            # Chained in seq order still, so the old format can take the log back.
            downgrade(revision=before_0024)
            db.engine.dispose()
    finally:
        drop_database(url)
