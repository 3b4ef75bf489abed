"""Residents' side of reports: submit, look up by tracking code, add follow-up information.

Services flush and write the audit entry; the request commits once at its end.
"""
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Boolean, Integer, String, bindparam, column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import selectinload

from apoa import jobs
from apoa.audit.services import record
from apoa.auth.permissions import Permission, roles_with
from apoa.errors import UserValueError
from apoa.core.prepared import prepare_once
from apoa.extensions import db
from apoa.notifications.models import EmailChoice
from apoa.notifications.services import ON_EVENT, SEND_EMAILS, screeners
from apoa.regions.lookup import POINT_LOOKUP_SQL
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
    """Store a report with its regions, office, first event, audit entry, the office's officers'
    notifications and photos; returns the report.

    One statement does it all (SUBMIT_SQL): the region lookup (the very SQL of `locate`), the
    report, its first event, its audit entry and the notifications `notify()` writes for a
    submission, as data-modifying CTEs, prepared once per connection like the lookup. Photos, rare,
    follow in statements of their own.

    The same submission key always returns the first report made with it, so a double click or a
    resend after a dropped connection never makes a second report: the key is unique in the table,
    the insert does nothing on a conflict and the statement answers with the report already there.
    A place outside every region raises OutsideIndonesia (and stores nothing).
    """
    now = datetime.now(timezone.utc)
    actor_id = reporter.id if reporter else None
    lon, lat = (float(c) for c in new.point)
    prepare_once(db.session.connection().connection, _SUBMIT_NAME, _PREPARE_SUBMIT)
    row = db.session.execute(_SUBMIT_STATEMENT, {
        "lon": lon, "lat": lat, "code": tracking.new_code(),
        "key": str(uuid.UUID(new.submission_key)), "category": new.category_id,
        "description": new.description.strip(), "people": new.people_count,
        "nationality": new.nationality or None, "place_kind": new.place_kind,
        "observed_at": new.observed_at, "accuracy": new.accuracy_m,
        "address": (new.address or "").strip() or None, "channel": new.channel, "actor": actor_id,
        "contact": encrypt_contact(new.contact) if new.contact else None, "created_at": now,
        "due_at": due_at(State.new, now), "photos": len(new.photos),
        "roles": roles_with(Permission.screen)}).one()
    report = row.Report
    if report is not None:
        report.submitted_now = row.inserted  # see submitted_now()
    if not row.inside:
        raise OutsideIndonesia(_("This place is outside Indonesia. "
                                 "Move the pin to where you saw them."))
    if report is None:
        # The same key committed by another request while this one waited on it: that report
        # (invisible to this statement's snapshot, visible to the next).
        report = find_by_submission_key(new.submission_key)
        if report is None:
            raise RuntimeError("submission key conflict without a report")
        report.submitted_now = False
        return report
    if not row.inserted:
        return report
    if new.photos:
        attach_photos(report, SimpleNamespace(id=row.event_id), new.photos)
    if row.emails_each:
        jobs.enqueue(SEND_EMAILS)  # after the commit, as notify() does
    # Ids only: coordinates and contact details stay out of the log.
    log.info("report %s submitted via %s for office %s; event %s, %d told", report.id,
             report.channel, report.office_id, row.event_id, row.told)
    return report


def submitted_now(report):
    """Whether `submit_report` just made `report` (False when it answered a resend with it)."""
    return getattr(report, "submitted_now", False)


# The statement's parameters, in the order of the prepared statement's $n, with their types.
_SUBMIT_PARAMETERS = (
    ("lon", "float8"), ("lat", "float8"), ("code", "text"), ("key", "uuid"), ("category", "int4"),
    ("description", "text"), ("people", "int4"), ("nationality", "text"), ("place_kind", "text"),
    ("observed_at", "timestamptz"), ("accuracy", "float8"), ("address", "text"),
    ("channel", "text"), ("actor", "int4"), ("contact", "bytea"), ("created_at", "timestamptz"),
    ("due_at", "timestamptz"), ("photos", "int4"), ("roles", "text[]"),
)
_P = {name: f"${n}" for n, (name, _type) in enumerate(_SUBMIT_PARAMETERS, start=1)}

# What the statement returns of the report: every column but the point (loaded when read).
_REPORT_COLUMNS = [c for c in Report.__table__.columns if c.name != "location"]
_REPORT_NAMES = ", ".join(c.name for c in _REPORT_COLUMNS)
_R_NAMES = ", ".join(f"r.{c.name}" for c in _REPORT_COLUMNS)
_NOTIFY_KIND, _NOTIFY_WHO = ON_EVENT["submit"]
assert _NOTIFY_WHO is screeners, "the submission statement notifies the office's screeners"

# `pt`/`loc`: the point and `locate`'s lookup of it (no row outside every region). `ins`: the
# report, only when inside (ON CONFLICT on the submission key: nothing). `ev`, `aud`, `told`: its
# first event, its audit entry (what apoa.audit.services.record writes: unchained, at the
# database's clock), and one notification per active screener of the office but the reporter
# (what notify() writes for a "submit" event: kind, key "new_report:e<event id>", email plan).
# `old`: the report already made with the key. Constants below come from the code's enums, never
# from a request.
SUBMIT_SQL = f"""
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint({_P['lon']}, {_P['lat']}), 4326) AS g),
loc AS ({POINT_LOOKUP_SQL}),
ins AS (
  INSERT INTO report (tracking_code, submission_key, state, category_id, description, people_count,
                      nationality_guess, place_kind, observed_at, location, address_text,
                      accuracy_m, kab_id, kec_id, office_id, channel, reporter_id, contact,
                      consent, due_at, created_at)
  SELECT {_P['code']}, {_P['key']}, '{State.new.value}', {_P['category']}, {_P['description']},
         {_P['people']}, {_P['nationality']}, {_P['place_kind']}, {_P['observed_at']}, pt.g,
         {_P['address']}, {_P['accuracy']}, loc.kab_id, loc.kec_id, loc.office_id,
         {_P['channel']}, {_P['actor']}, {_P['contact']}, true, {_P['due_at']},
         {_P['created_at']}
  FROM loc, pt WHERE loc.kab_id IS NOT NULL
  ON CONFLICT (submission_key) DO NOTHING
  RETURNING {_REPORT_NAMES}
),
ev AS (
  INSERT INTO report_event (report_id, actor_id, action, to_state)
  SELECT ins.id, {_P['actor']}, 'submit', '{State.new.value}' FROM ins
  RETURNING id, report_id
),
aud AS (
  INSERT INTO audit_log (at, actor_id, action, object, detail)
  SELECT clock_timestamp(), {_P['actor']}, 'report.submit', 'report:' || ins.id,
         jsonb_build_object('channel', {_P['channel']}, 'photos', {_P['photos']})
  FROM ins
  RETURNING seq
),
told AS (
  INSERT INTO notification (user_id, kind, report_id, key, created_at, email_plan)
  SELECT u.id, '{_NOTIFY_KIND.value}', ev.report_id, '{_NOTIFY_KIND.value}:e' || ev.id,
         {_P['created_at']}, NULLIF(u.email_notifications, '{EmailChoice.none.value}')
  FROM ev JOIN ins ON ins.id = ev.report_id
  JOIN user_account u ON u.office_id = ins.office_id AND u.active
   AND u.role = ANY({_P['roles']}) AND u.id IS DISTINCT FROM {_P['actor']}
  ON CONFLICT (key, user_id) DO NOTHING
  RETURNING email_plan
),
old AS (
  SELECT {_REPORT_NAMES} FROM report
  WHERE submission_key = {_P['key']} AND NOT EXISTS (SELECT FROM ins)
)
SELECT {_R_NAMES}, coalesce(r.inserted, false) AS inserted,
       EXISTS (SELECT FROM loc WHERE loc.kab_id IS NOT NULL) AS inside,
       (SELECT id FROM ev) AS event_id, (SELECT count(*) FROM aud) AS audited,
       (SELECT count(*) FROM told) AS told,
       (SELECT count(*) FROM told WHERE email_plan = '{EmailChoice.each.value}') AS emails_each
FROM (SELECT) AS one
LEFT JOIN (SELECT {_REPORT_NAMES}, true AS inserted FROM ins
           UNION ALL SELECT {_REPORT_NAMES}, false FROM old) AS r ON true
"""
_SUBMIT_NAME = "apoa_submit_report"
_PREPARE_SUBMIT = (f"PREPARE {_SUBMIT_NAME}({', '.join(t for _n, t in _SUBMIT_PARAMETERS)}) AS "
                   + SUBMIT_SQL)
_SUBMIT_STATEMENT = select(
    Report, column("inserted", Boolean), column("inside", Boolean), column("event_id", Integer),
    column("audited", Integer), column("told", Integer), column("emails_each", Integer),
).from_statement(
    text(f"EXECUTE {_SUBMIT_NAME}("
         + ", ".join(f":{name}" for name, _type in _SUBMIT_PARAMETERS) + ")")
    .bindparams(bindparam("roles", type_=ARRAY(String)))
    .columns(*_REPORT_COLUMNS, column("inserted", Boolean), column("inside", Boolean),
             column("event_id", Integer), column("audited", Integer), column("told", Integer),
             column("emails_each", Integer)))


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
