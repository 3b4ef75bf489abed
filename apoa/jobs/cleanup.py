"""Clean-up jobs.

A photo is written to disk before its `attachment` row is inserted (apoa/reports/services.py):
a request that fails after writing it rolls the row back and leaves the file behind, holding a
resident's picture that nothing links to. `delete_orphan_photos` removes such files once no
transaction that could still insert their row can be running. The same job deletes the photos kept
for forms that came back with an error and were never sent again (apoa/reports/pending.py).
"""
import logging
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text

from apoa.extensions import db
from apoa.reports import pending
from apoa.reports.models import Attachment

log = logging.getLogger("apoa.jobs")

MIN_AGE = timedelta(hours=1)
# Only what apoa/reports/photos.py writes: 256 folders "ab", photos "<32 hex>.jpg" and the
# temporary files of an interrupted write. Anything else under the folder is left alone.
FOLDER = re.compile(r"[0-9a-f]{2}")
PHOTO_FILE = re.compile(r"[0-9a-f]{32}\.jpg|\.upload-.*\.tmp")
# Transactions of other sessions of this database, started earliest: a file written by one of
# them is younger than its start.
OLDEST_TRANSACTION = text(
    "SELECT min(xact_start) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL")


def delete_orphan_photos(now=None):
    """Job: delete photo files under UPLOAD_DIR that no attachment row names and that were last
    written before `cutoff(now)`, and the kept photos of abandoned forms. Returns the number of
    files deleted."""
    directory = Path(current_app.config["UPLOAD_DIR"])
    if not directory.is_dir():
        return 0
    before = cutoff(now or datetime.now(timezone.utc))
    deleted = sum(_clean(folder, before) for folder in sorted(directory.iterdir())
                  if FOLDER.fullmatch(folder.name) and folder.is_dir() and not folder.is_symlink())
    log.info("orphan photos deleted: %d", deleted)
    return deleted + pending.delete_abandoned(now)


def cutoff(now):
    """Files written after this may belong to a transaction still in flight: MIN_AGE ago, or the
    start of the oldest open transaction if that is earlier (a request stuck for hours)."""
    oldest = db.session.scalar(OLDEST_TRANSACTION)
    return min(now - MIN_AGE, oldest) if oldest else now - MIN_AGE


def _clean(folder, before):
    candidates = {f"{folder.name}/{entry.name}": entry.path for entry in os.scandir(folder)
                  if PHOTO_FILE.fullmatch(entry.name) and _written_before(entry, before)}
    if not candidates:
        return 0
    linked = set(db.session.scalars(select(Attachment.stored_path).where(
        Attachment.stored_path.in_(sorted(candidates)))))
    orphans = sorted(candidates.keys() - linked)
    for relative in orphans:
        Path(candidates[relative]).unlink(missing_ok=True)
    return len(orphans)


def _written_before(entry, before):
    if not entry.is_file(follow_symlinks=False):
        return False
    return datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, timezone.utc) < before
