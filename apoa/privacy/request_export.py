"""The export that answers a reporter's request to see their data: a ZIP holding `data.json`, a
readable `data.html` and the photos they sent, kept encrypted (the contact keys) until it expires.

It holds the requester's own data only (request_changes.py says what that is): never another
reporter's, never the officers' notes, findings or outcome; a report's status is the coarse one
the status page shows. Services flush, never commit.
"""
import io
import json
import logging
import zipfile
from datetime import datetime, timedelta, timezone

from cryptography.fernet import InvalidToken
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select, update

from apoa.audit.services import record
from apoa.errors import NotAllowed
from apoa.extensions import db
from apoa.feedback.models import SKM_COLUMNS, ServiceRating
from apoa.privacy.models import RequestKind, RequestState, SubjectRequest, Via
from apoa.privacy.request_changes import check_kind, reporter_photos
from apoa.privacy.requests import (_audit_answer, can_answer, close_request, lock_open,
                                   reports_in_scope)
from apoa.reports.contact import ContactKeyError, _decrypt, _fernet
from apoa.reports.models import ReportEvent
from apoa.reports.photos import open_stored
from apoa.reports.services import upload_dir
from apoa.reports.states import PUBLIC_STATUS_OF_STATE, State
from apoa.reports.tracking import display

log = logging.getLogger("apoa.privacy")

EXPORT_KEPT = timedelta(days=7)
EXPORT_NAME = "data-pribadi-{reference}.zip"


def produce_export(subject_request, actor, now=None):
    """Build the export of the requester's data, keep it encrypted for EXPORT_KEPT, and close the
    request. The audit entry holds counts only."""
    if not can_answer(actor, subject_request):
        raise NotAllowed()
    check_kind(subject_request, RequestKind.access)
    lock_open(subject_request)
    now = now or datetime.now(timezone.utc)
    data, photos = personal_data(subject_request, now)
    archive = zip_archive(data, photos)
    subject_request.export_data = _fernet().encrypt(archive)
    subject_request.export_expires_at = now + EXPORT_KEPT
    close_request(subject_request, actor, RequestState.done)
    _audit_answer(subject_request, actor, reports=len(data["reports"]), photos=len(photos))
    return subject_request


def personal_data(subject_request, now):
    """(data, photos): the JSON-able data and {file name in the ZIP: JPEG bytes}."""
    reports = reports_in_scope(subject_request)
    photos = {}
    data = {"reference": subject_request.reference, "produced_at": now.isoformat(),
            "account": _account(subject_request),
            "reports": [_report(report, photos) for report in reports]}
    return data, photos


def _account(subject_request):
    user = subject_request.user
    if subject_request.via != Via.account.value or user is None:
        return None
    return {"name": user.name, "email": user.email, "created_at": _iso(user.created_at)}


def _report(report, photos):
    contact = _decrypt(report.contact, report.id) if report.contact else None
    return {
        "tracking_code": display(report.tracking_code),
        "received_at": _iso(report.created_at),
        "observed_at": _iso(report.observed_at),
        "status": str(PUBLIC_STATUS_OF_STATE[State(report.state)].title),
        "category": report.category.name_id if report.category else None,
        "kabupaten_kota": report.kabupaten.nama if report.kabupaten else None,
        "kecamatan": report.kecamatan.nama if report.kecamatan else None,
        "description": report.description,
        "address_text": report.address_text,
        "contact": ({"name": contact.name, "phone": contact.phone, "email": contact.email}
                    if contact else None),
        "follow_ups": [{"at": _iso(event.created_at), "note": event.note}
                       for event in _follow_ups(report)],
        "photos": _photo_files(report, photos),
        "service_rating": _rating(report),
    }


def _follow_ups(report):
    return db.session.scalars(select(ReportEvent).where(
        ReportEvent.report_id == report.id, ReportEvent.action == "follow_up")
        .order_by(ReportEvent.id)).all()


def _photo_files(report, photos):
    names = []
    for attachment in reporter_photos([report.id]):
        content = _photo_bytes(attachment)
        if content is None:
            continue
        name = f"foto/{report.tracking_code}-{len(names) + 1}.jpg"
        photos[name] = content
        names.append(name)
    return names


def _photo_bytes(attachment):
    try:
        return open_stored(upload_dir(), attachment.stored_path).read_bytes()
    except (ValueError, OSError):
        log.warning("photo %s of an export is missing from the upload folder", attachment.id)
        return None


def _rating(report):
    rating = db.session.scalar(select(ServiceRating).where(ServiceRating.report_id == report.id))
    if rating is None:
        return None
    return {"rated_at": _iso(rating.rated_at), "comment": rating.comment,
            "scores": {name: getattr(rating, name) for name in SKM_COLUMNS}}


def _iso(moment):
    return moment.isoformat() if moment else None


def zip_archive(data, photos):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("data.html", readable_page(data))
        for name, content in photos.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def readable_page(data):
    """The export's HTML page, in the interface's default language (the requester's, as far as we
    know; not the admin's screen's)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return render_template("privacy/request_export.html", data=data)


# --- handing it over -----------------------------------------------------------------------------

def export_available(subject_request, now):
    return (subject_request.export_data is not None and subject_request.export_expires_at
            is not None and subject_request.export_expires_at > now)


def download(subject_request, actor=None, now=None):
    """The ZIP's bytes for the requester, or None once it expired; each download is audited."""
    now = now or datetime.now(timezone.utc)
    if not export_available(subject_request, now):
        return None
    try:
        archive = _fernet().decrypt(subject_request.export_data)
    except InvalidToken:
        log.error("no configured contact key opens the export of subject request %s",
                  subject_request.id)
        raise ContactKeyError() from None
    record("subject_request.download", f"subject_request:{subject_request.id}", None, actor=actor)
    return archive


def export_name(subject_request):
    return EXPORT_NAME.format(reference=subject_request.reference)


def purge_expired_exports(now=None):
    """Remove every export past its time; returns how many. Run when the admin's list is opened
    (and fit for a periodic job)."""
    now = now or datetime.now(timezone.utc)
    result = db.session.execute(
        update(SubjectRequest).where(SubjectRequest.export_data.is_not(None),
                                     SubjectRequest.export_expires_at <= now)
        .values(export_data=None))
    if result.rowcount:
        record("subject_request.export_purge", None, {"exports": result.rowcount})
    return result.rowcount
