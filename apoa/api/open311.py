"""Open311 GeoReport v2 at /open311/v2, in JSON and XML, for partner applications and agencies.

- discovery, services (one per active category) and service definitions (APOA's extra fields as
  attributes): open to anyone, they hold no report data;
- POST requests: any partner key (app or agency) submits a report for a resident, through the web
  form's validation (apoa/reports/intake.py) and the one submit_report service, channel "api";
- GET requests and requests/{id}: only an agency key, only reports of its office's jurisdiction
  (office_jurisdiction_ids), with the status, the dates, the service and a point rounded to 0.01°
  (about 1 km). Never the description, photos, address or contact: nothing of a report becomes
  public through this interface (DESIGN.md, "Privacy additions").

Every answer of this blueprint, errors included, is Open311's: a list of {code, description} in
the format the URL asked for (JSON when it named none we know), never an HTML page.

Where the GeoReport v2 Swagger file (../shared/specs/open311/) and the wiki differ, the Swagger
file is followed: POST answers 200, GET requests/{id} answers one object, and fields the
interface does not give are left out rather than null (the schemas type them as strings).
jurisdiction_id is accepted and ignored: this endpoint serves one jurisdiction.
"""
import hashlib
import json
import logging
import uuid
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import Numeric, and_, cast, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from werkzeug.exceptions import HTTPException, InternalServerError

from apoa.api.models import ApiSubmission, PartnerKind
from apoa.api.partners import authenticate, record_use
from apoa.auth.guards import never_store
from apoa.auth.permissions import ALL_OFFICES, office_jurisdiction_ids
from apoa.errors import ApoaError, HTTP_MESSAGES
from apoa.extensions import csrf, db
from apoa.regions.models import Office
from apoa.reports import abuse, tracking
from apoa.reports.intake import FieldErrors, report_from_fields
from apoa.reports.models import Category, Report, ReportEvent
from apoa.reports.queries import active_categories
from apoa.reports.services import submit_report
from apoa.reports.states import PUBLIC_STATUS_OF_STATE, PlaceKind, PublicStatus, State

open311_bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
# Partners authenticate with an api_key in the request, never with a cookie: there is no session
# a forged cross-site form could ride on, so the CSRF token of the web forms does not apply.
csrf.exempt(open311_bp)
open311_bp.after_request(never_store)
log = logging.getLogger("apoa.api")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-05T00:00:00+07:00"  # when the list of endpoints last changed
FORMATS = {"json": "application/json", "xml": "text/xml"}
MAX_REQUESTS = 1000          # GeoReport v2: at most 1000 requests per answer
MAX_SPAN = timedelta(days=90)  # and a span of at most 90 days (the default span too)
ROUNDING_DIGITS = 2          # 0.01° ≈ 1.1 km: the coarse location partners may see
IDEMPOTENCY_HEADER = "Idempotency-Key"
# A partner application submits for many residents with one key, so a person's budget (10 an
# hour) would stop it within minutes; 600 an hour (10 a minute, sustained) is far above what a
# partner's residents report, yet caps what a leaked or buggy key can flood an office with.
REPORTS_PER_PARTNER = abuse.Budget("open311-reports", "600 per hour;5000 per day",
                                   lambda: f"partner:{g.open311_key.id}")
# Element names of a list's items in GeoReport v2's XML.
XML_ITEMS = {"services": "service", "attributes": "attribute", "values": "value",
             "service_requests": "request", "errors": "error", "endpoints": "endpoint",
             "formats": "format"}
# Where an intake (web form) field came from in an Open311 request, to name it in errors.
OPEN311_NAMES = {"category": "service_code", "latitude": "lat", "longitude": "long",
                 "address": "address_string", "people_count": "attribute[people_count]",
                 "place_kind": "attribute[place_kind]", "observed_at": "attribute[observed_at]",
                 "nationality": "attribute[nationality]", "contact_name": "first_name",
                 "contact_phone": "phone", "contact_email": "email", "reporter": "email"}
OPEN311_METHODS = ("GET", "POST")
CODE_LENGTH = Category.code.type.length


class Open311Error(Exception):
    """An answer of Open311 errors: `status` and one or more descriptions."""

    def __init__(self, status, *descriptions):
        super().__init__(status)
        self.status = status
        self.descriptions = descriptions or (str(HTTP_MESSAGES.get(status, HTTP_MESSAGES[500])[1]),)


# --- answers -------------------------------------------------------------------------------------

def answer_format():
    fmt = (request.view_args or {}).get("fmt")
    return fmt if fmt in FORMATS else "json"


def check_format(fmt):
    if fmt not in FORMATS:
        raise Open311Error(400, _("Unknown format: ask for .json or .xml."))


def answer(data, root, status=200):
    """`data` in the requested format; `root` names the XML document's root element."""
    if answer_format() == "xml":
        document = ElementTree.tostring(xml_element(root, data), encoding="unicode")
        return Response('<?xml version="1.0" encoding="utf-8"?>' + document, status=status,
                        mimetype=FORMATS["xml"])
    response = jsonify(data)
    response.status_code = status
    return response


def xml_element(tag, value):
    element = ElementTree.Element(tag)
    if isinstance(value, dict):
        element.extend(xml_element(name, item) for name, item in value.items())
    elif isinstance(value, (list, tuple)):
        element.extend(xml_element(XML_ITEMS.get(tag, "item"), item) for item in value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
    return element


def error_answer(status, descriptions):
    return answer([{"code": status, "description": str(text)} for text in descriptions],
                  "errors", status)


@open311_bp.errorhandler(Open311Error)
def open311_error(error):
    db.session.rollback()
    return error_answer(error.status, error.descriptions)


@open311_bp.errorhandler(FieldErrors)
def invalid_fields(error):
    db.session.rollback()
    return error_answer(400, [f"{OPEN311_NAMES.get(field, field)}: {message}"
                              for field, messages in error.errors.items() for message in messages])


@open311_bp.errorhandler(ApoaError)
def apoa_error(error):
    db.session.rollback()
    return error_answer(error.status, [error.message])


@open311_bp.errorhandler(HTTPException)
def http_error(error):
    db.session.rollback()
    own = error.description != type(error).description and error.code not in (429, 500)
    return error_answer(error.code, [error.description if own else
                                     HTTP_MESSAGES.get(error.code, HTTP_MESSAGES[500])[1]])


@open311_bp.errorhandler(InternalServerError)
@open311_bp.errorhandler(Exception)
def unexpected_error(error):
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_answer(500, [HTTP_MESSAGES[500][1]])


@open311_bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_here(rest):
    """Anything else under /open311/v2 answers Open311's error list, not the site's HTML page: 405
    for a method Open311 does not use, or one this address does not take; else 404."""
    allowed = methods_allowed()
    if request.method in OPEN311_METHODS and not allowed:
        return error_answer(404, [HTTP_MESSAGES[404][1]])
    response = error_answer(405, [HTTP_MESSAGES[405][1]])
    response.headers["Allow"] = ", ".join(allowed or OPEN311_METHODS)
    return response


def methods_allowed():
    """The Open311 methods a real view of this blueprint takes at the request's address."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in OPEN311_METHODS:
        try:
            endpoint, _arguments = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "open311.not_here":
            allowed.append(method)
    return allowed


# --- who is asking -------------------------------------------------------------------------------

def partner_key():
    """The partner key of the request (api_key in the query or the form), or a 401."""
    key = authenticate(request.values.get("api_key"))
    if key is None:
        raise Open311Error(401, _("A valid api_key is required. Partners get one from the "
                                  "immigration office's administrators."))
    g.open311_key = key
    return key


def agency_key():
    key = partner_key()
    if key.kind != PartnerKind.agency.value:
        raise Open311Error(403, _("Only a partner agency's api_key may read requests."))
    return key


# --- discovery and services ----------------------------------------------------------------------

@open311_bp.get("/discovery.<fmt>")
def discovery(fmt):
    check_format(fmt)
    endpoint = {"specification": SPECIFICATION,
                "url": current_app.config["BASE_URL"] + open311_bp.url_prefix,
                "changeset": CHANGESET, "type": "production", "formats": list(FORMATS.values())}
    return answer({"changeset": CHANGESET,
                   "contact": _("The immigration office (Kantor Imigrasi) that issued your key."),
                   "key_service": _("api_keys are issued by APOA's administrators to partner "
                                    "applications and agencies; ask your immigration office."),
                   "endpoints": [endpoint]}, "discovery")


def service_of(category):
    name = category.name_for(get_locale())
    return {"service_code": category.code, "service_name": name, "description": name,
            "metadata": True, "type": "realtime",
            "keywords": ", ".join(dict.fromkeys((category.name_id, category.name_en))),
            "group": _("Foreign nationals")}


@open311_bp.get("/services.<fmt>")
def services(fmt):
    check_format(fmt)
    return answer([service_of(category) for category in active_categories()], "services")


def active_category(code):
    code = service_code(code)
    return code and db.session.scalar(select(Category).where(Category.code == code,
                                                             Category.active))


def service_code(raw):
    """`raw` if it can be a category's code, else None: anything longer than the column, or with
    a control character (PostgreSQL refuses a NUL in text), names no service."""
    raw = (raw or "").strip()
    return raw if 0 < len(raw) <= CODE_LENGTH and raw.isprintable() else None


def service_attributes():
    """APOA's fields beyond GeoReport's own, in the order a client should ask for them."""
    places = [{"key": place.value, "name": str(place.title)} for place in PlaceKind]
    return [
        attribute(1, "people_count", "number", True, _("How many people?"),
                  _("A whole number from 1 to 1000.")),
        attribute(2, "place_kind", "singlevaluelist", False, _("Kind of place"),
                  _("One of the keys listed; residence when not given."), values=places),
        attribute(3, "observed_at", "datetime", False, _("When did you see it?"),
                  _("ISO 8601 with its UTC offset, e.g. 2026-03-01T14:30:00+07:00; "
                    "now when not given.")),
        attribute(4, "nationality", "string", False, _("Nationality, if known"),
                  _("A country's name or its ISO 3166 two-letter code.")),
        attribute(5, "note", "text", False, _("How requests are received"), variable=False,
                  datatype_description=_(
                      "Give the place as lat and long (an address alone cannot be placed) and "
                      "describe what was seen in description (10 to 2000 characters). media_url "
                      "is not fetched. Contact details (email, phone, first_name, last_name) are "
                      "optional; without them the report is anonymous. By submitting, the partner "
                      "confirms that the resident made the report in good faith and agreed to "
                      "send it."))]


def attribute(order, code, datatype, required, description, datatype_description,
              values=None, variable=True):
    item = {"variable": variable, "code": code, "datatype": datatype, "required": required,
            "datatype_description": str(datatype_description), "order": order,
            "description": str(description)}
    if values is not None:
        item["values"] = values
    return item


@open311_bp.get("/services/<code>.<fmt>")
def service_definition(code, fmt):
    check_format(fmt)
    category = active_category(code)
    if category is None:
        raise Open311Error(404, _("There is no service with this service_code."))
    return answer({"service_code": category.code, "attributes": service_attributes()},
                  "service_definition")


@open311_bp.get("/tokens/<token>.<fmt>")
def token(token, fmt):
    check_format(fmt)
    # Requests are realtime: the tracking code is answered at once, so no token is ever given.
    raise Open311Error(404, _("Requests are answered at once with their service_request_id; "
                              "there are no tokens."))


# --- submitting ----------------------------------------------------------------------------------

@open311_bp.post("/requests.<fmt>")
def create_request(fmt):
    check_format(fmt)
    key = partner_key()
    submission_key = idempotency_key()
    earlier = earlier_submission(submission_key)
    if earlier is not None:
        return receipt(earlier)
    abuse.refuse_when_exhausted([REPORTS_PER_PARTNER], fail_closed=True)
    new = report_from_fields(intake_fields(), submission_key=submission_key, channel="api")
    report = submit_report(new)
    abuse.spend([REPORTS_PER_PARTNER])
    remember_submission(new.submission_key, report)
    record_use(key, "submit", f"report:{report.id}")
    return receipt(report)


def idempotency_key():
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        raise Open311Error(400, _("The Idempotency-Key header must be a UUID.")) from None


def body_digest():
    """The request's fields (without the api_key), for telling a resend from another request."""
    fields = sorted((name, value) for name, value in request.values.items(multi=True)
                    if name != "api_key")
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def earlier_submission(submission_key):
    """The report an earlier request with the same Idempotency-Key and body made, or None when
    the key is new; the same key with another body is refused."""
    if submission_key is None:
        return None
    earlier = db.session.get(ApiSubmission, uuid.UUID(submission_key))
    if earlier is None:
        return None
    if earlier.digest != body_digest():
        raise Open311Error(422, _("This Idempotency-Key was already used for another request."))
    return db.session.get(Report, earlier.report_id)


def remember_submission(submission_key, report):
    # A concurrent resend with the same key may have recorded it first: that row says the same.
    db.session.execute(insert(ApiSubmission).values(
        submission_key=uuid.UUID(submission_key), digest=body_digest(), report_id=report.id)
        .on_conflict_do_nothing())


def intake_fields():
    """The web form's fields from an Open311 request (form-encoded, or the query string)."""
    values = request.values
    category = active_category(values.get("service_code", ""))
    if category is None:
        raise Open311Error(400, _("service_code: there is no service with this code."))
    if not (values.get("lat") and values.get("long")):
        raise Open311Error(400, _("lat and long are required: APOA needs the place as a point, "
                                  "and an address alone cannot be placed.")
                           if values.get("address_string") or values.get("address_id") else
                           _("lat and long are required."))
    contact = contact_fields(values)
    return {"category": category.id, "description": values.get("description", ""),
            "people_count": attribute_value("people_count"),
            "place_kind": attribute_value("place_kind"),
            "observed_at": (attribute_value("observed_at")
                            or datetime.now(timezone.utc).isoformat(timespec="seconds")),
            "nationality": attribute_value("nationality"),
            "latitude": values["lat"], "longitude": values["long"],
            "address": values.get("address_string"),
            "reporter": "contact" if contact else "anonymous", **contact,
            # Partner applications submit for residents who confirmed the statement in the app
            # (the service definition says so): the key stands for that confirmation.
            "consent": "y"}


def attribute_value(code):
    return request.values.get(f"attribute[{code}]")


def contact_fields(values):
    name = " ".join(part for part in (values.get("first_name"), values.get("last_name")) if part)
    given = {"contact_name": name, "contact_phone": values.get("phone"),
             "contact_email": values.get("email")}
    if not (given["contact_phone"] or given["contact_email"]):
        return {}  # a name alone reaches nobody: the report stays anonymous
    return {field: value for field, value in given.items() if value}


def receipt(report):
    return answer([{"service_request_id": tracking.display(report.tracking_code),
                    "service_notice": _("Received. The resident can follow the report's status on "
                                        "APOA with this code.")}], "service_requests")


# --- reading (agencies only) ---------------------------------------------------------------------

@open311_bp.get("/requests.<fmt>")
def list_requests(fmt):
    check_format(fmt)
    key = agency_key()
    query = coarse_requests(key)
    codes = request_codes(request.args.get("service_request_id"))
    query = (query.where(Report.tracking_code.in_(codes)) if codes is not None
             else filtered(query))
    rows = db.session.execute(query.order_by(Report.created_at.desc(), Report.id.desc())
                              .limit(MAX_REQUESTS)).all()
    record_use(key, "read", detail={"reports": len(rows)})
    return answer([coarse_request(row) for row in rows], "service_requests")


@open311_bp.get("/requests/<code>.<fmt>")
def show_request(code, fmt):
    check_format(fmt)
    key = agency_key()
    normalised = tracking.normalise(code)
    row = normalised and db.session.execute(
        coarse_requests(key).where(Report.tracking_code == normalised)).first()
    if not row:  # another office's report is as absent as one that never was
        raise Open311Error(404, _("There is no request with this service_request_id."))
    record_use(key, "read", f"report:{row.id}")
    # One object in JSON, as the Swagger file's schema says; GeoReport's XML keeps its list.
    item = coarse_request(row)
    return answer([item] if answer_format() == "xml" else item, "service_requests")


def coarse_requests(key):
    """What an agency key may read: the coarse columns of its office's jurisdiction's reports."""
    changed = or_(ReportEvent.from_state.is_(None), ReportEvent.from_state != ReportEvent.to_state)
    last_change = (select(func.max(ReportEvent.created_at))
                   .where(ReportEvent.report_id == Report.id, changed).scalar_subquery())
    query = (select(Report.id, Report.tracking_code, Report.state, Report.created_at,
                    Report.due_at, func.coalesce(last_change, Report.created_at).label("updated"),
                    Category.code.label("service_code"), Category.name_id, Category.name_en,
                    Office.name.label("office_name"), rounded(func.ST_Y(Report.location), "lat"),
                    rounded(func.ST_X(Report.location), "long"))
             .join(Category, Category.id == Report.category_id)
             .outerjoin(Office, Office.id == Report.office_id))
    office_ids = office_jurisdiction_ids(key.office)
    if office_ids is ALL_OFFICES:
        return query
    return query.where(Report.office_id.in_(sorted(office_ids)))


def rounded(coordinate, label):
    # Rounded in the database: the exact point never reaches this process.
    return func.round(cast(coordinate, Numeric), ROUNDING_DIGITS).label(label)


def coarse_request(row):
    status = PUBLIC_STATUS_OF_STATE[State(row.state)]
    item = {"service_request_id": tracking.display(row.tracking_code),
            "status": "closed" if status is PublicStatus.done else "open",
            "service_name": row.name_en if str(get_locale()) == "en" else row.name_id,
            "service_code": row.service_code, "agency_responsible": row.office_name,
            "requested_datetime": timestamp(row.created_at),
            "updated_datetime": timestamp(row.updated),
            "expected_datetime": timestamp(row.due_at) if status is not PublicStatus.done else None,
            "lat": float(row.lat), "long": float(row.long)}
    return {name: value for name, value in item.items() if value is not None}


def timestamp(moment):
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds") if moment else None


def request_codes(raw):
    """The tracking codes of service_request_id (comma-separated; it overrides every other
    filter), or None when not given. Codes that are not ours find nothing."""
    if raw is None:
        return None
    codes = (tracking.normalise(part) for part in raw.split(",")[:MAX_REQUESTS])
    return sorted({code for code in codes if code})


def filtered(query):
    start, end = period()
    query = query.where(and_(Report.created_at >= start, Report.created_at <= end))
    typed = request.args.get("service_code")
    if typed and typed.strip():
        service_codes = [code for code in map(service_code, typed.split(",")) if code]
        query = query.where(Category.code.in_(service_codes))  # none known: nothing
    wanted = statuses()
    if wanted is not None:
        states = [state.value for state, public in PUBLIC_STATUS_OF_STATE.items()
                  if ("closed" if public is PublicStatus.done else "open") in wanted]
        query = query.where(Report.state.in_(states))
    return query


def statuses():
    raw = request.args.get("status")
    if raw is None:
        return None
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    if not wanted or wanted - {"open", "closed"}:
        raise Open311Error(400, _("status must be open, closed or both (open,closed)."))
    return wanted


def period():
    """start_date and end_date: the last 90 days by default; a span of at most 90 days."""
    start, end = date_arg("start_date"), date_arg("end_date")
    if end is None:
        end = start + MAX_SPAN if start else datetime.now(timezone.utc)
    if start is None:
        start = end - MAX_SPAN
    if end < start or end - start > MAX_SPAN:
        raise Open311Error(400, _("start_date and end_date must span at most 90 days, "
                                  "the start before the end."))
    return start, end


def date_arg(name):
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.year < 2 or moment.year > 9998:
        raise Open311Error(400, _("%(name)s must be a date and time in ISO 8601, "
                                  "e.g. 2026-03-01T00:00:00+07:00.", name=name))
    # A time without an offset is read as Jakarta's (WIB), where most offices are.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone(timedelta(hours=7)))
