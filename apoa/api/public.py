"""The public part of the JSON API v1: categories, submitting a report, its coarse status by
tracking code, and follow-up information. Nothing else of a report is ever answered here. Beside
them, on this blueprint, complaints about the service and questions (apoa/api/complaints.py).

A submission is judged by the web form's rules (apoa/reports/intake.py) and stored by the same
service, and it draws on the same budgets as the form (apoa/reports/abuse.py): a report accepted,
a tracking code that finds nothing, a follow-up. The Idempotency-Key header is the report's
submission key: the same key with the same body answers with the first report again; with another
body it is refused (422), since answering with a report the client did not send would hide that
its second report was lost. The offline form (service worker) sends its drafts here, as multipart,
with its submission key as the Idempotency-Key.

Messages are in the language of ?lang=, else of Accept-Language, else Indonesian.
"""
import base64
import binascii
import hashlib
import io
import json
import logging
import uuid

from flask import abort, request, url_for
from flask_babel import get_locale, gettext as _
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from apoa.api.models import ApiSubmission
from apoa.api.schemas import (CategorySchema, FollowUpJsonSchema, FollowUpMultipartSchema,
                              ProblemSchema, PublicStatusSchema, ReportJsonSchema,
                              ReportMultipartSchema, SubmittedSchema)
from apoa.errors import PROBLEM_MIMETYPE
from apoa.extensions import csrf, db
from apoa.reports import tracking
from apoa.reports.abuse import (CODE_MISS_BUDGETS, FOLLOW_UP_BUDGETS, REPORT_BUDGETS,
                                rate_limit_store_available, refuse_or_spend,
                                refuse_when_exhausted, spend)
from apoa.reports.forms import MAX_PHOTOS
from apoa.reports.intake import FieldErrors, follow_up_from_fields, report_from_fields
from apoa.reports.queries import active_categories
from apoa.reports.services import (OutsideIndonesia, add_follow_up, find_by_code,
                                   find_by_submission_key, public_status, submit_report)

log = logging.getLogger("apoa.api")

bp = Blueprint("api_public", __name__, url_prefix="",
               description="Open to everyone, without credentials.")
# CSRF protects cookie-authenticated requests that a browser sends on its own. The API accepts
# no cookie as a credential (these endpoints take none; staff endpoints take a bearer token), so
# a forged cross-site request gains nothing a direct request would not: no token is asked for.
csrf.exempt(bp)

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = {
    "in": "header", "name": IDEMPOTENCY_HEADER, "required": False,
    "schema": {"type": "string", "format": "uuid"},
    "description": "A UUID the client makes once per report and sends with every retry: the same "
                   "key and body answer with the first report; the same key with another body is "
                   "refused (422). Without it, each request makes a new report."}
MULTIPART = "multipart/form-data"
FORM_TYPES = (MULTIPART, "application/x-www-form-urlencoded")
# The API's names of the form's fields (apoa/reports/forms.py ReportForm), for JSON and multipart.
FORM_FIELD_OF = {"category_id": "category", "description": "description",
                 "people_count": "people_count", "nationality": "nationality",
                 "place_kind": "place_kind", "observed_at": "observed_at",
                 "utc_offset": "utc_offset", "latitude": "latitude", "longitude": "longitude",
                 "accuracy_m": "accuracy_m", "address": "address", "consent": "consent",
                 "contact_name": "contact_name", "contact_phone": "contact_phone",
                 "contact_email": "contact_email"}
CONTACT_PARTS = ("name", "phone", "email")
API_NAME_OF = {"category": "category_id", "reporter": "contact"}
JSON_API_NAME_OF = {**API_NAME_OF, "contact_name": "contact.name",
                    "contact_phone": "contact.phone", "contact_email": "contact.email"}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"},
                               "description": "Seconds to wait before trying again."}}


# --- frame ---------------------------------------------------------------------------------------

@bp.after_request
def varies_with_language(response):
    # apoa/i18n.py answers the API in the Accept-Language asked for.
    response.vary.add("Accept-Language")
    return response


def problems(*codes):
    """Declares the problem+json answers an operation can give."""
    def decorate(view):
        for code in codes:
            view = bp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM_MIMETYPE,
                                   headers=RETRY_AFTER if code == 429 else None)(view)
        return view
    return decorate


def request_body(json_schema, form_schema):
    return bp.doc(requestBody={"required": True, "content": {
        "application/json": {"schema": json_schema}, MULTIPART: {"schema": form_schema}}})


# --- categories ----------------------------------------------------------------------------------

@bp.route("/categories", methods=["GET"])
@bp.response(200, CategorySchema(many=True))
def categories():
    """What a report can be about"""
    locale = get_locale()
    return [{"id": c.id, "code": c.code, "name": c.name_for(locale)} for c in active_categories()]


# --- submitting a report -------------------------------------------------------------------------

@bp.route("/reports", methods=["POST"])
@bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@request_body(ReportJsonSchema, ReportMultipartSchema)
@bp.response(201, SubmittedSchema, headers={"Location": {
    "schema": {"type": "string", "format": "uri"}, "description": "The status URL."}})
@problems(400, 413, 415, 422, 429, 503)
def submit_report_view():
    """Submit a report

    JSON (photos as base64 strings) or multipart/form-data (the same fields, contact as
    contact_name, contact_phone and contact_email, photos as files named "photos"). Checked as the
    web form checks it; a place outside Indonesia is refused (422, on "latitude").
    """
    key = idempotency_key()
    if not rate_limit_store_available():
        abort(503)  # fails closed, as the web form does: without its limits it is open to floods
    fields, photos, names, digest = submission_from_request()
    earlier = earlier_answer(key, digest)
    if earlier is not None:
        return earlier
    refuse_when_exhausted(REPORT_BUDGETS, fail_closed=True)  # before any photo is decoded
    try:
        new = report_from_fields(fields, photos(), submission_key=key, channel="api")
    except FieldErrors as error:
        raise FieldErrors({names.get(name, name): messages
                           for name, messages in error.errors.items()}) from None
    try:
        report = submit_report(new)
    except OutsideIndonesia as error:
        raise FieldErrors({"latitude": [str(error.message)]}) from None
    remember_submission(key, digest, report)
    spend(REPORT_BUDGETS)
    return submitted(report)


def idempotency_key():
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        message = _("Send a UUID as the Idempotency-Key.")
        raise FieldErrors({IDEMPOTENCY_HEADER: [message]}) from None


def submission_from_request():
    """(form fields, a function giving the photos, the API's names of the form's fields, the
    digest of the body) of a JSON or form request."""
    if request.is_json:
        body = json_object()
        return (report_fields_of_json(body), lambda: decoded_photos(body.get("photos")),
                JSON_API_NAME_OF, json_digest(body))
    if request.mimetype in FORM_TYPES:
        uploads = request.files.getlist("photos")
        fields = {FORM_FIELD_OF[name]: request.form.get(name) for name in FORM_FIELD_OF
                  if name in request.form}
        fields["reporter"] = reporter_kind(request.form.get(f"contact_{part}")
                                           for part in CONTACT_PARTS)
        return fields, lambda: uploads, API_NAME_OF, form_digest(uploads)
    abort(415)


def json_object():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, _("The body must be a JSON object."))
    return body


def report_fields_of_json(body):
    contact = body.get("contact")
    if contact is not None and not isinstance(contact, dict):
        raise FieldErrors({"contact": [_("Send one value here, not a list.")]})
    contact = contact or {}
    fields = {FORM_FIELD_OF[name]: body[name] for name in FORM_FIELD_OF
              if name in body and not name.startswith("contact_")}
    fields.update({f"contact_{part}": contact[part] for part in CONTACT_PARTS if part in contact})
    wrong = [name for name, value in fields.items() if isinstance(value, (list, dict))]
    if wrong:
        raise FieldErrors({JSON_API_NAME_OF.get(name, name): [_("Send one value here, not a list.")]
                           for name in wrong})
    fields["reporter"] = reporter_kind(contact.get(part) for part in CONTACT_PARTS)
    return fields


def reporter_kind(contact_values):
    return "contact" if any(value not in (None, "") for value in contact_values) else "anonymous"


def decoded_photos(photos):
    """Base64 photos as uploads (the form sanitises them); more than MAX_PHOTOS are refused
    unread."""
    if photos is None:
        return []
    if not isinstance(photos, list) or not all(isinstance(p, str) for p in photos):
        raise FieldErrors({"photos": [_("Send the photos as a list of base64 strings.")]})
    if len(photos) > MAX_PHOTOS:
        raise FieldErrors({"photos": [_("Attach at most %(n)d photos.", n=MAX_PHOTOS)]})
    uploads = []
    for number, text in enumerate(photos, start=1):
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise FieldErrors({"photos": [_("A photo is not valid base64.")]}) from None
        uploads.append(FileStorage(io.BytesIO(data), filename=f"photo-{number}"))
    return uploads


def json_digest(body):
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def form_digest(uploads):
    """The digest of a form's fields and its files' contents, whatever their order of parts."""
    digest = hashlib.sha256()
    # A multipart part may come without a name (None): sorted as text, never compared to str.
    fields = sorted(request.form.items(multi=True), key=lambda item: tuple(map(str, item)))
    for name, value in fields:
        digest.update(json.dumps([name, value]).encode())
    for upload in uploads:
        digest.update(hashlib.sha256(upload.read()).hexdigest().encode())
        upload.seek(0)
    return digest.hexdigest()


def earlier_answer(key, digest):
    """The first answer again when this key already made a report with this body; 422 when it
    came with another body; None for a new key."""
    known = db.session.get(ApiSubmission, uuid.UUID(key))
    if known is not None:
        if known.digest != digest:
            log.info("api submission refused: key of report %s with another body", known.report_id)
            raise FieldErrors({IDEMPOTENCY_HEADER: [_(
                "This Idempotency-Key was already used with a different request. Use a new key "
                "for a new report.")]})
        log.info("api submission answered again with report %s", known.report_id)
        return submitted(find_by_submission_key(key))
    report = find_by_submission_key(key)
    if report is None:
        return None
    log.info("api submission answered again with report %s", report.id)
    # The web form already sent this report (the same draft, online): its answer, and from now on
    # this body is the one the key belongs to.
    remember_submission(key, digest, report)
    return submitted(report)


def remember_submission(key, digest, report):
    try:
        with db.session.begin_nested():
            db.session.add(ApiSubmission(submission_key=uuid.UUID(key), digest=digest,
                                         report_id=report.id))
    except IntegrityError:
        # The same key at the same moment: one request recorded its body; this one must match it.
        known = db.session.get(ApiSubmission, uuid.UUID(key))
        if known is None or known.digest != digest:
            raise FieldErrors({IDEMPOTENCY_HEADER: [_(
                "This Idempotency-Key was already used with a different request. Use a new key "
                "for a new report.")]}) from None


def submitted(report):
    status_url = url_for(".report_status", code=report.tracking_code, _external=True)
    body = {"tracking_code": tracking.display(report.tracking_code), "status": "received",
            "receipt_url": url_for("public.receipt", code=report.tracking_code, _external=True),
            "status_url": status_url}
    return body, 201, {"Location": status_url}


# --- status and follow-up ------------------------------------------------------------------------

@bp.route("/reports/<code>/status", methods=["GET"])
@bp.response(200, PublicStatusSchema)
@problems(404, 429)
def report_status(code):
    """The public status of a report

    The code as the receipt shows it, in any case and spacing. A code that finds nothing counts
    against a budget (429 once used up).
    """
    return status_body(report_or_404(code))


def report_or_404(code):
    report = find_by_code(code)
    if report is None:
        refuse_or_spend(CODE_MISS_BUDGETS)
        abort(404, _("We could not find a report with this code. Check the code and try again."))
    return report


def status_body(report):
    status = public_status(report)
    return {"tracking_code": tracking.display(status.code),
            "status": {"key": status.status.value, "title": str(status.status.title)},
            "received_at": status.received_at, "updated_at": status.updated_at,
            "closed_at": status.closed_at, "follow_ups": status.follow_ups}


@bp.route("/reports/<code>/follow-ups", methods=["POST"])
@request_body(FollowUpJsonSchema, FollowUpMultipartSchema)
@bp.response(201, PublicStatusSchema)
@problems(400, 404, 413, 415, 422, 429)
def add_follow_up_view(code):
    """Add information to a report

    A note (10 to 2000 characters) and up to three photos; answers with the report's public
    status.
    """
    report = report_or_404(code)
    refuse_when_exhausted(FOLLOW_UP_BUDGETS)
    if request.is_json:
        body = json_object()
        fields, photos = {"note": body.get("note")}, decoded_photos(body.get("photos"))
        if isinstance(fields["note"], (list, dict)):
            raise FieldErrors({"note": [_("Send one value here, not a list.")]})
    elif request.mimetype in FORM_TYPES:
        fields, photos = {"note": request.form.get("note")}, request.files.getlist("photos")
    else:
        abort(415)
    note, clean_photos = follow_up_from_fields(fields, photos)
    add_follow_up(report, note, clean_photos)
    spend(FOLLOW_UP_BUDGETS)
    db.session.refresh(report)
    status_url = url_for(".report_status", code=report.tracking_code, _external=True)
    return status_body(report), 201, {"Location": status_url}


# The complaints' routes join this blueprint; imported last, since they use what is above.
from apoa.api import complaints  # noqa: E402, F401
