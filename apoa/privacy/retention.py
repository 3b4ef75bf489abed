"""Retention of reports (UU PDP 27/2022; DESIGN.md "Privacy rules"; issue 15, item 4): what is
kept of a closed report, and for how long after its closure.

A report is closed at its latest entry into `closed` from another state (a follow-up added to a
closed report does not move it; a reopened and closed again report counts from the new closure).
Once it has been closed for more than

- APOA_RETENTION_UNFOUNDED_DAYS (180), an unfounded or duplicate report is anonymised: its
  description becomes ANONYMISED_DESCRIPTION; its address, contact, reporter account, submission
  key (the device's idempotency key) and the API's copy of the submission go; the free text of its
  history (officers' notes, the reporter's follow-ups and answers) and the comment of its service
  rating are emptied; the reporter's own events lose their account; its photos are deleted; its
  WhatsApp messages and any question waiting in a conversation no longer name it; and its point
  is moved to the centre of its map cell of about 5 km (HOTSPOT_ZOOM). `anonymised_at` says when.
  What the aggregates count is kept: office, regions (kabupaten/kota, kecamatan), category,
  channel, outcome, states, times, the history's states and structured detail; the map cell at
  HOTSPOT_ZOOM and every coarser one (report_grid) is the same, so summaries, rollups, hotspots
  and the zoomed-out map do not change.
- APOA_RETENTION_CONTACT_DAYS (90), any report loses the reporter's contact (and its WhatsApp
  messages no longer name it).
- APOA_RETENTION_PHOTO_DAYS (365), any report's photos are deleted, rows and files.

A complaint or question to the office (apoa/feedback) answered more than
APOA_RETENTION_CONTACT_DAYS ago loses its answer address (e-mail or WhatsApp number) too.

The daily job (`run_retention`, apoa/jobs/schedule.py) works in batches of reports, each changed
in one transaction and committed on its own: a failure part-way leaves every report either
untouched or done for that rule. Photo files are deleted only after their rows' transaction has
committed; if the process dies in between, the files are left without a row, and the hourly
apoa.jobs.cleanup.delete_orphan_photos removes them. Reports locked by a request at that moment
are left for the next run. `preview` (the dry run) counts what a run would change, with the same
conditions, and changes nothing. The audit log is kept (it holds no personal data); each run
adds one entry with its counts and settings, and the log holds counts only.
"""
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import and_, case, delete, func, select, update

from apoa.api.models import ApiSubmission
from apoa.audit.models import AuditEntry
from apoa.audit.services import record
from apoa.auth.models import User
from apoa.extensions import db
from apoa.feedback.models import CaseState, ServiceCase, ServiceRating
from apoa.maps.clusters import cell_size
from apoa.maps.hotspots import HOTSPOT_ZOOM
from apoa.reports.models import Attachment, Report, ReportEvent
from apoa.reports.photos import open_stored
from apoa.reports.states import Outcome, State
from apoa.whatsapp.models import Conversation, Outbound

log = logging.getLogger("apoa.privacy")

BATCH_SIZE = 500
AUDIT_ACTION = "privacy.retention"
# The runs' entries name this object, so the admin page finds them through the object's index.
AUDIT_OBJECT = "retention:reports"
# At least 10 characters: the report table's description_length check.
ANONYMISED_DESCRIPTION = "[dianonimkan]"
ANONYMISED_OUTCOMES = (Outcome.unfounded.value, Outcome.duplicate.value)
# Events a resident makes with their account (apoa/reports/services.py).
RESIDENT_ACTIONS = ("submit", "follow_up")
SETTINGS = ("RETENTION_UNFOUNDED_DAYS", "RETENTION_CONTACT_DAYS", "RETENTION_PHOTO_DAYS")


@dataclass(frozen=True)
class Cutoffs:
    """Reports closed before these moments are due for each rule."""

    anonymise: datetime
    contact: datetime
    photos: datetime


def cutoffs(now):
    config = current_app.config
    return Cutoffs(*(now - timedelta(days=config[name]) for name in SETTINGS))


def settings():
    """The three periods in days, as the audit entry and the admin page name them."""
    config = current_app.config
    return {"unfounded_days": config["RETENTION_UNFOUNDED_DAYS"],
            "contact_days": config["RETENTION_CONTACT_DAYS"],
            "photo_days": config["RETENTION_PHOTO_DAYS"]}


# --- which reports are due ----------------------------------------------------------------------

def closed_at():
    """SQL, correlated to Report: when the report was last closed (see the module docstring)."""
    return (select(func.max(ReportEvent.created_at))
            .where(ReportEvent.report_id == Report.id,
                   ReportEvent.to_state == State.closed.value,
                   ReportEvent.from_state.is_distinct_from(State.closed.value))
            .correlate(Report).scalar_subquery())


def _to_anonymise():
    # Spelled as the partial index ix_report_closed_to_anonymise is, so the planner uses it.
    return and_(Report.state == State.closed.value, Report.outcome.in_(ANONYMISED_OUTCOMES),
                Report.anonymised_at.is_(None))


def anonymise_due(cut):
    """SQL: the report is to be anonymised."""
    return and_(_to_anonymise(), closed_at() < cut.anonymise)


def _due_or_anonymised(cutoff, cut):
    # Anonymising takes the contact and the photos too: a report it is due for is due here as
    # well, so the dry run counts what the run does. One closure time, two cutoffs.
    later = max(cutoff, cut.anonymise)
    return closed_at() < case((_to_anonymise(), later), else_=cutoff)


def contact_due(cut):
    """SQL: the report's contact is to be removed."""
    return and_(Report.state == State.closed.value, Report.contact.is_not(None),
                _due_or_anonymised(cut.contact, cut))


def case_contact_due(cut):
    """SQL, on ServiceCase: the answered case's answer address (e-mail or WhatsApp number) is to
    be removed: the same period as reporters' contacts, counted from the answer."""
    return and_(ServiceCase.state == CaseState.answered.value, ServiceCase.contact.is_not(None),
                ServiceCase.answered_at < cut.contact)


def photos_due(cut):
    """SQL: the report's photos are to be deleted."""
    return and_(Report.state == State.closed.value, Report.id.in_(select(Attachment.report_id)),
                _due_or_anonymised(cut.photos, cut))


# --- the dry run --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleCount:
    """What one rule would change: how many (reports, or photos), and the earliest closure among
    them (None when there are none)."""

    count: int
    oldest: datetime | None


@dataclass(frozen=True)
class Preview:
    anonymise: RuleCount    # reports to anonymise
    contacts: RuleCount     # contacts to remove (anonymised reports' included)
    photos: RuleCount       # photos to delete (anonymised reports' included)
    case_contacts: RuleCount  # answer addresses of complaints and questions answered long ago

    def as_counts(self):
        return {"anonymised": self.anonymise.count, "contacts_removed": self.contacts.count,
                "photos_deleted": self.photos.count,
                "case_contacts_removed": self.case_contacts.count}


def preview(now=None):
    """What `run_retention(now)` would change, per rule; reads only, changes nothing."""
    cut = cutoffs(now or datetime.now(timezone.utc))
    reports = select(func.count(), func.min(closed_at())).select_from(Report)
    photos = (select(func.count(Attachment.id), func.min(closed_at()))
              .join(Report, Report.id == Attachment.report_id))
    return Preview(
        anonymise=RuleCount(*db.session.execute(reports.where(anonymise_due(cut))).one()),
        contacts=RuleCount(*db.session.execute(reports.where(contact_due(cut))).one()),
        photos=RuleCount(*db.session.execute(photos.where(photos_due(cut))).one()),
        case_contacts=RuleCount(*db.session.execute(
            select(func.count(), func.min(ServiceCase.answered_at))
            .where(case_contact_due(cut))).one()))


# --- the run ------------------------------------------------------------------------------------

def run_retention(now=None, batch_size=BATCH_SIZE, actor_id=None):
    """Job: apply the three rules, batch by batch (each committed), then write one audit entry
    with the counts (by `actor_id` when an admin asked for the run). Returns the counts."""
    now = now or datetime.now(timezone.utc)
    cut = cutoffs(now)
    counts = Counter(anonymised=0, contacts_removed=0, photos_deleted=0,
                     case_contacts_removed=0)
    for condition, change in ((anonymise_due(cut), lambda ids: anonymise(ids, now)),
                              (contact_due(cut), remove_contacts),
                              (photos_due(cut), delete_photos)):
        for ids in _batches(condition, batch_size):
            changed, files = change(ids)
            counts.update(changed)
            db.session.commit()     # each batch its own transaction; the files only after it
            _delete_files(files)
    counts["case_contacts_removed"] = remove_case_contacts(cut)
    result = {**counts, **settings()}
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    record(AUDIT_ACTION, AUDIT_OBJECT, result, actor=actor)
    log.info("report retention: %(anonymised)d reports anonymised, %(contacts_removed)d contacts "
             "removed, %(photos_deleted)d photos deleted", result)
    return result


def _batches(condition, batch_size):
    """The ids of the reports `condition` selects, `batch_size` at a time in id order, each batch
    locked until the caller commits it; rows locked by someone else are left for the next run."""
    after = 0
    while True:
        ids = db.session.scalars(
            select(Report.id).where(condition, Report.id > after).order_by(Report.id)
            .limit(batch_size).with_for_update(of=Report, skip_locked=True)).all()
        if not ids:
            return
        yield ids
        after = ids[-1]


def anonymise(report_ids, now):
    """Anonymise these reports (see the module docstring); flushes, never commits. Returns the
    counts and the photo files to delete once the transaction has committed."""
    photos, files = _delete_attachments(report_ids)
    contacts = db.session.scalar(select(func.count()).where(
        Report.id.in_(report_ids), Report.contact.is_not(None)))
    _forget_reporter_events(report_ids)
    _execute(update(ServiceRating).where(ServiceRating.report_id.in_(report_ids))
             .values(comment=None))
    _execute(delete(ApiSubmission).where(ApiSubmission.report_id.in_(report_ids)))
    _unlink_whatsapp(report_ids)
    anonymised = _execute(update(Report).where(Report.id.in_(report_ids)).values(
        description=ANONYMISED_DESCRIPTION, address_text=None, contact=None, reporter_id=None,
        submission_key=None, location=_cell_centre(), accuracy_m=None, anonymised_at=now,
        # Anonymising is no edit of the report: "last changed" stays what it was.
        updated_at=Report.updated_at))
    db.session.flush()
    return {"anonymised": anonymised, "contacts_removed": contacts, "photos_deleted": photos}, files


def remove_contacts(report_ids):
    """Remove the reporter's contact from these reports; flushes, never commits."""
    removed = _execute(update(Report).where(Report.id.in_(report_ids), Report.contact.is_not(None))
                       .values(contact=None, updated_at=Report.updated_at))
    _unlink_whatsapp(report_ids)
    db.session.flush()
    return {"contacts_removed": removed}, []


def remove_case_contacts(cut):
    """Remove the answer address of complaints and questions answered before the contact cutoff
    (few rows: one statement); flushes, never commits."""
    removed = _execute(update(ServiceCase).where(case_contact_due(cut)).values(contact=None))
    db.session.flush()
    return removed


def delete_photos(report_ids):
    """Delete the photo rows of these reports; flushes, never commits. Returns the count and the
    files to delete once the transaction has committed."""
    photos, files = _delete_attachments(report_ids)
    db.session.flush()
    return {"photos_deleted": photos}, files


def _delete_attachments(report_ids):
    files = db.session.scalars(delete(Attachment).where(Attachment.report_id.in_(report_ids))
                               .returning(Attachment.stored_path)).all()
    return len(files), files


def _forget_reporter_events(report_ids):
    """Empty the free text of the reports' history and take the reporter's account off their own
    events; states, times and structured detail stay for the rollups."""
    _execute(update(ReportEvent).where(ReportEvent.report_id.in_(report_ids),
                                       ReportEvent.note.is_not(None)).values(note=None))
    reporter = (select(Report.reporter_id).where(Report.id == ReportEvent.report_id)
                .scalar_subquery())
    _execute(update(ReportEvent).where(ReportEvent.report_id.in_(report_ids),
                                       ReportEvent.action.in_(RESIDENT_ACTIONS),
                                       ReportEvent.actor_id == reporter).values(actor_id=None))


def _unlink_whatsapp(report_ids):
    # The messages keep their (encrypted) number for the channel's own housekeeping, but no
    # longer say which report that number made.
    _execute(update(Outbound).where(Outbound.report_id.in_(report_ids)).values(report_id=None))
    _execute(update(Conversation).where(Conversation.question_report_id.in_(report_ids))
             .values(question_report_id=None))


def _cell_centre():
    """SQL: the centre of the report's map cell at HOTSPOT_ZOOM. The cells are nested powers of
    two, so the point stays in the same cell at that zoom and every coarser one."""
    size = cell_size(HOTSPOT_ZOOM)

    def centre(coordinate):
        return (func.floor(coordinate / size) + 0.5) * size

    return func.ST_SetSRID(func.ST_MakePoint(centre(func.ST_X(Report.location)),
                                             centre(func.ST_Y(Report.location))), 4326)


def _execute(statement):
    # "fetch": rows a caller has loaded (a data-subject request's page) see the change.
    return db.session.execute(statement.execution_options(synchronize_session="fetch")).rowcount


def _delete_files(relative_paths):
    directory = Path(current_app.config["UPLOAD_DIR"])
    for relative in relative_paths:
        try:
            open_stored(directory, relative).unlink(missing_ok=True)
        except ValueError:
            log.warning("a photo path outside the upload folder was not deleted")


# --- the runs, for the admin page ---------------------------------------------------------------

def last_runs(limit=10):
    """The latest runs' audit entries, newest first."""
    return db.session.scalars(select(AuditEntry).where(AuditEntry.object == AUDIT_OBJECT)
                              .order_by(AuditEntry.seq.desc()).limit(limit)).all()
