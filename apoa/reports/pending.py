"""Photos kept across a form error, so that a missing answer never costs a resident (or an
officer on a slow connection) the photos already chosen and sent.

A form that comes back with photos stores them, already sanitised (apoa/reports/photos.py), in a
folder of their own under UPLOAD_DIR/pending/, named by a keyed hash of two things: the form's
key (the report form's submission key, the finding form's upload key) and a random token kept in
this browser's signed session. Another browser, even with the same form key, finds a different
folder: only the session that sent the photos can reuse them. The page names the kept photos by
their digest in hidden fields; the next submission of that form takes them from the folder.

The folder goes when the form is finally accepted; a form never sent again is abandoned, and the
hourly clean-up job (apoa/jobs/cleanup.py) deletes its folder after MAX_AGE.
"""
import base64
import hashlib
import hmac
import io
import logging
import re
import secrets
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import after_this_request, current_app, session
from PIL import Image

from apoa.reports.photos import OUTPUT_MIME, CleanImage, thumbnail_jpeg, write_atomically

log = logging.getLogger("apoa.reports")

SESSION_KEY = "pending_uploads_owner"
PENDING_FOLDER = "pending"
# A person correcting a form may leave it for lunch; a day later it is abandoned.
MAX_AGE = timedelta(hours=24)
PHOTO_ID = re.compile(r"[0-9a-f]{64}")
FOLDER_NAME = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class KeptPhoto:
    """A photo kept for a form: its digest names it in the page; a small preview shows it."""

    image: CleanImage

    @property
    def id(self):
        return self.image.sha256

    @property
    def thumbnail(self):
        """A data: URI of a small JPEG preview (the page's CSP allows data: images)."""
        data = thumbnail_jpeg(self.image.data)
        return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def pending_root():
    return Path(current_app.config["UPLOAD_DIR"]) / PENDING_FOLDER


def folder_for(form_key, create_owner=True):
    """This browser session's folder for the form `form_key` (a UUID), or None without a valid
    key. Gives the session its random owner token on first use (unless not `create_owner`: a
    session without one has kept nothing)."""
    try:
        key = str(uuid.UUID(str(form_key)))
    except ValueError:
        return None
    owner = session.get(SESSION_KEY)
    if not owner and not create_owner:
        return None
    if not owner:
        owner = session[SESSION_KEY] = secrets.token_hex(16)
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else secret.encode()
    name = hmac.new(secret, f"pending-upload:{owner}:{key}".encode(), hashlib.sha256).hexdigest()
    return pending_root() / name[:40]


def keep(form_key, images):
    """Store `images` (sanitised) for the form `form_key`; return them as KeptPhotos (an empty
    list when the form has no valid key: the photos then cannot be kept)."""
    if not images:
        return []  # the session is only touched when there is something to keep
    folder = folder_for(form_key)
    if folder is None:
        return []
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for image in images:
        path = folder / f"{image.sha256}.jpg"
        if not path.exists():
            write_atomically(path, image.data)
    log.info("%d photo(s) kept for a form sent again", len(images))
    return [KeptPhoto(image) for image in images]


def load(form_key, photo_ids):
    """The kept photos named by `photo_ids` for the form `form_key`, in that order, and how many
    named ones could not be found (expired, or kept by another browser)."""
    wanted = list(dict.fromkeys(i for i in photo_ids if PHOTO_ID.fullmatch(i or "")))
    if not wanted:
        return [], 0
    folder = folder_for(form_key, create_owner=False)
    if folder is None:
        return [], len(wanted)
    found = [image for image in (_read(folder, i) for i in wanted) if image is not None]
    return found, len(wanted) - len(found)


def _read(folder, photo_id):
    path = folder / f"{photo_id}.jpg"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    # Our own file, but checked all the same: its name must be its digest.
    if hashlib.sha256(data).hexdigest() != photo_id:
        log.warning("kept photo %s does not match its name; ignored", photo_id[:12])
        return None
    with Image.open(io.BytesIO(data), formats=("JPEG",)) as image:
        width, height = image.size
    return CleanImage(data=data, mime=OUTPUT_MIME, width=width, height=height, sha256=photo_id)


def discard_once_sent(form_key):
    """Delete the form's kept photos once this request's response has been sent: it is only sent
    when the request committed, so a failed commit leaves them for the next try."""
    folder = folder_for(form_key, create_owner=False) if form_key else None
    if folder is None or not folder.is_dir():
        return

    @after_this_request
    def delete_after_sending(response):
        response.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
        return response


def delete_abandoned(now=None):
    """Delete the folders of forms not sent again within MAX_AGE of their last photo. Returns the
    number of photos deleted."""
    root = pending_root()
    if not root.is_dir():
        return 0
    before = (now or datetime.now(timezone.utc)) - MAX_AGE
    deleted = 0
    for folder in root.iterdir():
        if FOLDER_NAME.fullmatch(folder.name) and folder.is_dir() and not folder.is_symlink() \
                and _last_written(folder) < before:
            deleted += sum(1 for entry in folder.iterdir() if entry.is_file())
            shutil.rmtree(folder, ignore_errors=True)
    log.info("abandoned kept photos deleted: %d", deleted)
    return deleted


def _last_written(folder):
    times = [folder.stat().st_mtime] + [entry.stat().st_mtime for entry in folder.iterdir()]
    return datetime.fromtimestamp(max(times), timezone.utc)
