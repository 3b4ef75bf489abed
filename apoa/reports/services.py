"""Residents' side of reports: submit, look up by tracking code, add follow-up information.

Services flush and write the audit entry; the request commits once at its end.
"""
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from apoa.audit.services import record
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.notifications.services import notify
from apoa.regions.lookup import locate
from apoa.reports import tracking
from apoa.reports.contact import encrypt_contact
from apoa.reports.models import Attachment, Report, ReportEvent
from apoa.reports.photos import store_image
from apoa.reports.sla import due_at
from apoa.reports.states import PUBLIC_STATUS_OF_STATE, State

log = logging.getLogger("apoa.reports")


class OutsideIndonesia(UserValueError):
    pass


@dataclass
class NewReport:
    """A validated submission, as the form (or a later API) hands it over."""

    category_id: int
    description: str
    people_count: int
    place_kind: str
    observed_at: datetime
    point: tuple  # (lon, lat)
    submission_key: str
    nationality: str | None = None
    accuracy_m: float | None = None
    address: str | None = None
    photos: list = field(default_factory=list)
    contact: object = None
    channel: str = "web"


def submit_report(new, reporter=None):
    """Store a report with its regions, office, first event and photos; returns the report.

    The same submission key always returns the first report made with it, so a double click or a
    resend after a dropped connection never makes a second report: the key is unique in the table,
    and a second insert with it answers with the first report. (The form view looks the key up
    before validating, so an ordinary resend does not even get here.)
    """
    location = locate(*new.point)
    if location is None:
        raise OutsideIndonesia(_("This place is outside Indonesia. "
                                 "Move the pin to where you saw them."))
    report = _new_report_row(new, location, reporter)
    try:
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
    except IntegrityError:
        # Another request with the same key got there first: answer with its report. Any other
        # integrity error is a real failure and goes up.
        existing = find_by_submission_key(new.submission_key)
        if existing is None:
            raise
        return existing
    _record_submission(report, new, reporter)
    return report


def _new_report_row(new, location, reporter):
    now = datetime.now(timezone.utc)
    return Report(
        tracking_code=tracking.new_code(), submission_key=uuid.UUID(new.submission_key),
        state=State.new.value, category_id=new.category_id, description=new.description.strip(),
        people_count=new.people_count, nationality_guess=new.nationality or None,
        place_kind=new.place_kind, observed_at=new.observed_at,
        location=func.ST_SetSRID(func.ST_MakePoint(*new.point), 4326),
        accuracy_m=new.accuracy_m, address_text=(new.address or "").strip() or None,
        kab_id=location.kabupaten.id, kec_id=location.kecamatan.id if location.kecamatan else None,
        office_id=location.office_id, channel=new.channel,
        reporter_id=reporter.id if reporter else None,
        contact=encrypt_contact(new.contact) if new.contact else None, consent=True,
        created_at=now, due_at=due_at(State.new, now))


def _record_submission(report, new, reporter):
    event = ReportEvent(report_id=report.id, actor_id=reporter.id if reporter else None,
                        action="submit", to_state=State.new.value)
    db.session.add(event)
    db.session.flush()
    attach_photos(report, event, new.photos)
    notify(report, event)  # the office's officers, in this transaction
    # Coordinates and contact details stay out of the audit detail and the log.
    record("report.submit", f"report:{report.id}",
           {"channel": report.channel, "photos": len(new.photos)}, actor=reporter)
    log.info("report %s submitted via %s for office %s", report.id, report.channel,
             report.office_id)


def attach_photos(report, event, photos):
    """Store sanitised photos outside the web root and link them to the report and event."""
    directory = upload_dir()
    for photo in photos:
        stored = store_image(photo, directory)
        db.session.add(Attachment(report_id=report.id, event_id=event.id, sha256=photo.sha256,
                                  mime=photo.mime, width=photo.width, height=photo.height,
                                  bytes=photo.size, stored_path=stored))
    db.session.flush()


def upload_dir():
    return Path(current_app.config["UPLOAD_DIR"])


def find_by_submission_key(key):
    try:
        key = uuid.UUID(str(key))
    except ValueError:
        return None
    return db.session.scalar(select(Report).where(Report.submission_key == key))


def find_by_code(typed):
    """The report with this tracking code, or None; a mistyped code is caught by its check symbol
    before the database is asked."""
    code = tracking.normalise(typed)
    if code is None:
        return None
    return db.session.scalar(select(Report).where(Report.tracking_code == code))


@dataclass(frozen=True)
class PublicStatus:
    """What a resident may see of a report: coarse status and dates, never outcome or notes."""

    code: str
    status: object
    received_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    follow_ups: int


def public_status(report):
    events = report.events
    changes = [e for e in events if e.to_state != e.from_state]
    closed = [e.created_at for e in changes if e.to_state == State.closed.value]
    return PublicStatus(code=report.tracking_code,
                        status=PUBLIC_STATUS_OF_STATE[State(report.state)],
                        received_at=report.created_at,
                        updated_at=changes[-1].created_at if changes else report.created_at,
                        closed_at=(closed[-1] if closed and report.state == State.closed.value
                                   else None),
                        follow_ups=sum(1 for e in events if e.action == "follow_up"))


def add_follow_up(report, note, photos, reporter=None):
    """Add a resident's follow-up information (text and photos) to the report's history."""
    event = ReportEvent(report_id=report.id, actor_id=reporter.id if reporter else None,
                        action="follow_up", from_state=report.state, to_state=report.state,
                        note=note.strip())
    db.session.add(event)
    db.session.flush()
    attach_photos(report, event, photos)
    record("report.follow_up", f"report:{report.id}", {"photos": len(photos)}, actor=reporter)
    log.info("follow-up added to report %s", report.id)
    return event


def reports_of(user):
    """A resident's own reports, newest first, with the history their status is derived from."""
    return db.session.scalars(select(Report).where(Report.reporter_id == user.id)
                              .options(selectinload(Report.events))
                              .order_by(Report.created_at.desc())).all()
