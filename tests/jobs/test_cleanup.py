"""Photo files left behind by a request that failed after writing them are deleted once they are
old enough; files that an attachment names, recent files and anything else are kept."""
import os
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from apoa.extensions import db
from apoa.jobs.cleanup import delete_orphan_photos

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def uploads(harness, tmp_path, monkeypatch):
    """An empty upload folder of this test's own (the suite's holds other tests' photos)."""
    monkeypatch.setitem(harness.config, "UPLOAD_DIR", str(tmp_path))
    return tmp_path


def write(uploads, relative, written_at):
    path = uploads / relative
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"\xff\xd8 a photo")
    os.utime(path, (written_at.timestamp(), written_at.timestamp()))
    return path


def test_old_orphans_go_and_everything_else_stays(uploads, make):
    report = make.report()
    attached = make.photo(report, uploads)
    kept = uploads / attached.stored_path
    os.utime(kept, ((NOW - timedelta(days=3)).timestamp(),) * 2)
    orphan = write(uploads, "ab/" + "ab" * 16 + ".jpg", NOW - timedelta(hours=2))
    half_written = write(uploads, "ab/.upload-x1y2.tmp", NOW - timedelta(hours=2))
    recent = write(uploads, "cd/" + "cd" * 16 + ".jpg", NOW - timedelta(minutes=20))
    foreign = write(uploads, "ab/notes.txt", NOW - timedelta(days=9))
    elsewhere = write(uploads, "backups/" + "ef" * 16 + ".jpg", NOW - timedelta(days=9))

    assert delete_orphan_photos(now=NOW) == 2
    assert not orphan.exists() and not half_written.exists()
    assert kept.exists() and recent.exists() and foreign.exists() and elsewhere.exists()


def test_a_file_of_a_transaction_still_in_flight_is_kept(uploads, harness):
    """A request that began two hours ago and is still running may yet insert the row of a file
    it wrote an hour later: that file is younger than the oldest open transaction, and stays."""
    with harness.app_context():
        other = db.engine.connect()
    transaction = other.begin()
    try:
        began = other.execute(text("SELECT now()")).scalar_one()
        # Seen from three hours after that request began, its file is two hours old ...
        later = began + timedelta(hours=3)
        in_flight = write(uploads, "ab/" + "12" * 16 + ".jpg", began + timedelta(hours=1))
        before_it = write(uploads, "ab/" + "34" * 16 + ".jpg", began - timedelta(minutes=5))
        assert delete_orphan_photos(now=later) == 1
        assert in_flight.exists() and not before_it.exists()
    finally:
        transaction.rollback()
        other.close()
