"""A bulk upload's life (GuestUpload): the file is stored encrypted, a job checks its rows, the
operator confirms the preview, a second job checks the guests in; abandoned uploads are purged.

    checking --check job--> checked --confirm--> committing --commit job--> done
        \\--> failed (unreadable file)                          \\--> failed (nothing kept)
    failed (commit) --confirm again--> committing

- The file stays only encrypted (`sealed`, passports.seal, like the guests' personal data) and
  only until the upload is done, or purged a day after it was abandoned; `problems` name rows,
  columns and reasons, never a guest's data. A file that cannot be read is forgotten at once.
- The check job commits its progress every bulk.PROGRESS_EVERY rows (the job may: its rows are
  its own), so the upload's page shows it. The commit job cannot (all or nothing): it writes its
  progress through a second, short-lived connection, skipping the write if the upload's row is
  locked, so the bar moves while the guests' transaction is still open.
- A commit that fails keeps nothing (a savepoint rolled back), marks the upload failed and keeps
  the file, so the operator can confirm again. Two jobs never commit the same upload at once (an
  advisory lock), and a confirmation is a conditional update, so a double click queues one job.
"""
import base64
import hashlib
import logging
from datetime import datetime, timedelta, timezone
from pathlib import PurePath

from flask_babel import gettext as _
from sqlalchemy import delete, text, update
from sqlalchemy.exc import SQLAlchemyError

from apoa import jobs
from apoa.auth.models import User
from apoa.auth.permissions import Permission, can_for_organisation
from apoa.errors import ApoaError, Conflict, NotAllowed, UserValueError
from apoa.extensions import db
from apoa.guests import bulk
from apoa.guests.models import GuestUpload, UploadState
from apoa.guests.passports import seal, unseal
from apoa.guests.services import NotVerified

log = logging.getLogger("apoa.guests")

CHECK_UPLOAD = "apoa.guests.uploads.check_upload"
COMMIT_UPLOAD = "apoa.guests.uploads.commit_upload"
ABANDONED_AFTER = timedelta(days=1)
# Problems kept for the preview: enough to fix any real file; a file where every cell is wrong
# gets a last line saying how many more there were.
MAX_PROBLEMS = 5000
RUNNING = (UploadState.checking.value, UploadState.committing.value)
CONFIRMABLE = (UploadState.checked.value, UploadState.failed.value)
# pg_try_advisory_xact_lock(class, upload id): "GU", any constant other code does not use.
COMMIT_LOCK_CLASS = 0x4755


# --- the operator's steps (services: flush, never commit) ------------------------------------

def start_upload(organisation, actor, filename, raw, now):
    """Store an uploaded file (encrypted) for `organisation` and queue its check; returns the
    GuestUpload. UserValueError for a file that is empty, too large or of another format."""
    require_reporter(actor, organisation)
    file_format = format_of(filename)
    if not raw:
        raise UserValueError(_("The file is empty."))
    if len(raw) > bulk.MAX_FILE_BYTES:
        raise UserValueError(bulk.too_large_message())
    upload = GuestUpload(
        organisation_id=organisation.id, uploaded_by_id=actor.id, created_at=now,
        filename=PurePath(filename.replace("\\", "/")).name[:200], file_format=file_format,
        file_sha256=hashlib.sha256(raw).hexdigest(), state=UploadState.checking.value,
        sealed=seal({"file": base64.b64encode(raw).decode("ascii")}), problems=[])
    db.session.add(upload)
    db.session.flush()
    jobs.enqueue(CHECK_UPLOAD, upload.id)
    log.info("organisation %s: upload %s (%s, %d bytes) by user %s", organisation.id, upload.id,
             file_format, len(raw), actor.id)
    return upload


def format_of(filename):
    suffix = PurePath(filename or "").suffix.lower().lstrip(".")
    if suffix not in bulk.FORMATS:
        raise UserValueError(_("Upload a .csv or .xlsx file made from the template."))
    return suffix


def require_reporter(actor, organisation):
    if not can_for_organisation(actor, Permission.report_guests, organisation):
        raise NotAllowed()
    if not organisation.is_verified:
        raise NotVerified()


def can_confirm(upload):
    return (upload.state in CONFIRMABLE and upload.sealed is not None and not upload.problems
            and upload.rows_total > 0)


def confirm_upload(upload, actor):
    """The operator confirms a checked upload without problems (or one whose commit failed):
    queue the commit. Conflict when there is nothing to confirm."""
    require_reporter(actor, upload.organisation)
    if not can_confirm(upload):
        raise Conflict(_("This upload cannot be registered: upload the file again."))
    moved = db.session.execute(
        update(GuestUpload).where(GuestUpload.id == upload.id,
                                  GuestUpload.state.in_(CONFIRMABLE))
        .values(state=UploadState.committing.value, rows_done=0, error=None)).rowcount
    db.session.refresh(upload)
    if moved:
        jobs.enqueue(COMMIT_UPLOAD, upload.id)
    return upload


# --- the jobs --------------------------------------------------------------------------------

def check_upload(upload_id):
    """Job: read and check every row of an upload; it becomes `checked` (with its problems) or
    `failed` (the file cannot be read). Commits its progress as it goes."""
    upload = db.session.get(GuestUpload, upload_id)
    if upload is None or upload.state != UploadState.checking.value:
        return None
    now = datetime.now(timezone.utc)
    try:
        rows = bulk.read_rows(_file(upload), upload.file_format)
        upload.rows_total, upload.rows_done = len(rows), 0
        db.session.commit()
        guests, problems = bulk.check_rows(upload.organisation, rows, now,
                                           progress=lambda done: _checked_so_far(upload, done))
    except ApoaError as error:
        _fail(upload, error.message, now, keep_file=False)
        return upload.state
    upload.problems = _capped(problems)
    upload.existing_count = 0 if problems else bulk.registered_count(upload.organisation, guests)
    upload.rows_done, upload.state = upload.rows_total, UploadState.checked.value
    log.info("upload %s checked: %d rows, %d problems", upload.id, upload.rows_total,
             len(problems))
    return upload.state


def _checked_so_far(upload, done):
    upload.rows_done = done
    db.session.commit()


def _capped(problems):
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], {"row": None, "field": None, "message": _(
        "… and %(n)d more problems: fix the rows above and upload again.", n=more)}]


def commit_upload(upload_id):
    """Job: check in the guests of a confirmed upload, all or nothing; it becomes `done` with
    the counts (the file forgotten) or `failed` with nothing stored (the file kept)."""
    if not db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:class, :id)"),
                             {"class": COMMIT_LOCK_CLASS, "id": upload_id}):
        return None  # another job is committing it
    upload = db.session.get(GuestUpload, upload_id, populate_existing=True)
    if upload is None or upload.state != UploadState.committing.value:
        return None
    now = datetime.now(timezone.utc)
    try:
        with db.session.begin_nested():
            created, existing = _commit(upload, now)
    except (ApoaError, SQLAlchemyError) as error:
        message = error.message if isinstance(error, ApoaError) else _(
            "The guests could not be registered. Nothing was kept: try again, and tell your "
            "immigration office if it fails again.")
        log.warning("upload %s not committed: %s", upload.id, type(error).__name__)
        _fail(upload, message, now, keep_file=True)
        return upload.state
    upload.created_count, upload.existing_count = created, existing
    upload.rows_done, upload.state = upload.rows_total, UploadState.done.value
    upload.sealed, upload.finished_at = None, now
    return upload.state


def _commit(upload, now):
    actor = db.session.get(User, upload.uploaded_by_id) if upload.uploaded_by_id else None
    if actor is None:
        raise NotAllowed()
    rows = bulk.read_rows(_file(upload), upload.file_format)
    guests, problems = bulk.check_rows(upload.organisation, rows, now)
    if problems:
        raise Conflict(_("Some rows have problems now: upload the file again."))
    with ProgressWriter(upload.id) as progress:
        return bulk.commit_rows(upload.organisation, actor, guests, now, progress=progress)


def _file(upload):
    return base64.b64decode(unseal(upload.sealed, f"guest_upload:{upload.id}")["file"])


def _fail(upload, message, now, keep_file):
    upload.state, upload.error, upload.finished_at = UploadState.failed.value, str(message), now
    if not keep_file:
        upload.sealed = None
    log.info("upload %s failed", upload.id)


class ProgressWriter:
    """Writes an upload's rows_done through a connection of its own, each in a short transaction
    committed at once, while the guests' transaction is still open. A row locked by someone else
    (or not visible to this connection) is skipped: progress is only a hint."""

    _WRITE = text("UPDATE guest_upload SET rows_done = LEAST(:done, rows_total) WHERE id IN "
                  "(SELECT id FROM guest_upload WHERE id = :id FOR UPDATE SKIP LOCKED)")

    def __init__(self, upload_id):
        self.upload_id = upload_id
        self.connection = None

    def __enter__(self):
        self.connection = db.engine.connect()
        return self

    def __call__(self, done):
        with self.connection.begin():
            self.connection.execute(self._WRITE, {"done": done, "id": self.upload_id})

    def __exit__(self, *exc):
        self.connection.close()


def purge_abandoned_uploads(now=None):
    """Periodic job: delete uploads never finished (or failed) more than a day after they were
    made, and with them the files they kept. Returns how many."""
    cutoff = (now or datetime.now(timezone.utc)) - ABANDONED_AFTER
    purged = db.session.execute(
        delete(GuestUpload).where(GuestUpload.created_at < cutoff,
                                  GuestUpload.state != UploadState.done.value)).rowcount
    log.info("abandoned guest uploads purged: %d", purged)
    return purged


# --- what the pages show ---------------------------------------------------------------------

def progress_of(upload):
    """The upload's progress for the page's script (JSON): counts and state, no guest data."""
    return {"state": upload.state, "rows_done": upload.rows_done,
            "rows_total": upload.rows_total, "running": upload.state in RUNNING}
