"""The photos of a report in progress on WhatsApp: received by media id, sanitised exactly like the
web form's photos, and kept until the report is sent, cancelled or expires.

A report is made of answers given over minutes or hours, by jobs that may run on any worker, so a
clean photo is kept on disk (UPLOAD_DIR/whatsapp/<conversation id>/<digest>.jpg, owner-only,
written atomically) and only its digest and size go into the conversation's data. Files are
deleted only once the transaction that let go of them has committed: a job that dies before its
commit is run again and must still find the photos of the report it makes. `sweep()` (from the
periodic expiry job) removes whatever a crash between commit and deletion left behind.
"""
import hashlib
import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from apoa.extensions import db
from apoa.reports.forms import MAX_PHOTO_BYTES
from apoa.reports.photos import CleanImage, PhotoError, sanitize_image, write_atomically
from apoa.whatsapp.flow_steps import Wrong
from apoa.whatsapp.models import Conversation

log = logging.getLogger("apoa.whatsapp")

FOLDER = "whatsapp"
PHOTO_NAME = re.compile(r"[0-9a-f]{64}\.jpg")
# A file younger than this may belong to a job whose transaction has not committed yet.
SWEEP_MIN_AGE = timedelta(hours=1)
_DISCARDED = "apoa_whatsapp_discarded_photos"


def photo_dir(conversation_id):
    return Path(current_app.config["UPLOAD_DIR"]) / FOLDER / str(int(conversation_id))


def receive(conversation, media_id):
    """Download, sanitise and keep one photo; returns its entry for `data["photos"]`. Raises Wrong
    when it cannot be received or is not a photo we accept."""
    from apoa.whatsapp import graph  # written beside this module; imported when first needed

    try:
        raw, _mime = graph.fetch_media(media_id, _download_limit())
    except graph.GraphError as error:  # MediaUnavailable, or no Graph API configured
        log.info("photo of conversation %s not received: %s", conversation.id, error.reason)
        raise Wrong(_("The photo could not be received. Please send it again.")) from None
    try:
        clean = sanitize_image(raw, max_bytes=MAX_PHOTO_BYTES)
    except PhotoError as error:
        raise Wrong(error.message) from None
    _keep(conversation.id, clean)
    return {"sha256": clean.sha256, "width": clean.width, "height": clean.height}


def _download_limit():
    return current_app.config.get("MAX_CONTENT_LENGTH") or 10 * 1024 * 1024


def _keep(conversation_id, clean):
    folder = photo_dir(conversation_id)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.parent.chmod(0o700)
    write_atomically(folder / f"{clean.sha256}.jpg", clean.data)


def read_back(conversation_id, entries):
    """The kept photos as CleanImage, and the entries whose file is gone or altered."""
    images, lost = [], []
    for entry in entries:
        path = photo_dir(conversation_id) / f"{entry['sha256']}.jpg"
        data = path.read_bytes() if path.is_file() else b""
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            lost.append(entry)
            continue
        images.append(CleanImage(data=data, mime="image/jpeg", width=entry["width"],
                                 height=entry["height"], sha256=entry["sha256"]))
    return images, lost


def discard_after_commit(conversation_id, entries):
    """Delete these kept photos once the current transaction commits (never if it rolls back)."""
    paths = [str(photo_dir(conversation_id) / f"{entry['sha256']}.jpg") for entry in entries]
    if paths:
        db.session().info.setdefault(_DISCARDED, []).extend(paths)


@event.listens_for(Session, "after_commit")
def _delete_discarded(session):
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: the transaction itself may still roll back
    for path in session.info.pop(_DISCARDED, ()):
        Path(path).unlink(missing_ok=True)


@event.listens_for(Session, "after_soft_rollback")
def _keep_discarded(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_DISCARDED, None)


def sweep(now=None):
    """Delete kept photos that no conversation's data names any more and that are older than
    SWEEP_MIN_AGE; returns how many."""
    base = Path(current_app.config["UPLOAD_DIR"]) / FOLDER
    if not base.is_dir():
        return 0
    before = (now or datetime.now(timezone.utc)) - SWEEP_MIN_AGE
    deleted = 0
    for folder in base.iterdir():
        if folder.name.isdigit() and folder.is_dir() and not folder.is_symlink():
            deleted += _sweep_folder(folder, _kept_names(int(folder.name)), before)
    if deleted:
        log.info("kept WhatsApp photos deleted: %d", deleted)
    return deleted


def _kept_names(conversation_id):
    data = db.session.scalar(select(Conversation.data).where(Conversation.id == conversation_id))
    return {f"{entry['sha256']}.jpg" for entry in (data or {}).get("photos", [])}


def _sweep_folder(folder, kept, before):
    deleted = 0
    for path in folder.iterdir():
        if path.name in kept or not path.is_file() or path.is_symlink():
            continue
        written = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        if (PHOTO_NAME.fullmatch(path.name) or path.name.startswith(".upload-")) \
                and written < before:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
