"""The staff side of the JSON API (/api/v1/staff), for a personal access token (apoa/api/tokens.py):
the queue with its filters, one report, its history, the actions allowed now, and applying one.

A channel translates, it never decides: what a token's user may see comes from `visible()` and
`can()` (apoa/auth/permissions.py) through apoa/reports/queries.py, what they may do from
`workflow.available_actions()` and `workflow.apply()`, exactly as on the officers' pages. A report
the user may not see is a 404, audited as a refused access. The reporter's contact details are never
part of an answer: revealing them stays a web action with a logged reason.

Only a Bearer token authenticates here, never the session cookie, so a cross-site request cannot
borrow a signed-in browser's rights: CSRF protection has nothing to protect and the blueprint is
exempt from it. Every use of a token is audited and committed before the view runs, so refused and
failed requests are in the audit log too.
"""
import logging
from datetime import datetime, timezone

from flask import abort, g, request
from flask_babel import get_locale, gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import Unauthorized

from apoa.api import tokens
from apoa.api.models import TokenScope
from apoa.api.schemas import ProblemSchema
from apoa.audit.services import record_independently
from apoa.auth.guards import never_store
from apoa.auth.permissions import Permission, can
from apoa.errors import PROBLEM_MIMETYPE, NotAllowed, UserValueError
from apoa.extensions import csrf, db
from apoa.forms import without_controls
from apoa.periods import EARLIEST, LATEST
from apoa.reports import queries
from apoa.reports.duplicates import coordinates
from apoa.reports.forms import country_choices
from apoa.reports.states import ActionTaken, State
from apoa.reports.tracking import display, normalise as normalise_code
from apoa.reports.views import event_actor, event_title, refuse_action
from apoa.reports.workflow import (FINDING_OUTCOMES, MIN_TEXT, Action, Finding, apply,
                                   available_actions, next_step)

log = logging.getLogger("apoa.api")

BEARER = "personalAccessToken"
SECURITY = [{BEARER: []}]
BEARER_SCHEME = {"type": "http", "scheme": "bearer",
                 "description": "A personal access token made at /akun/token (apoa_…)."}
MAX_PER_PAGE = 100
MAX_TEXT = 2000
MAX_ID = 2**31 - 1  # PostgreSQL's integer: a larger id names nothing
# The structured detail of events that the history may show: ids, outcomes and counts, never
# anything personal.
EVENT_DETAIL_KEYS = ("outcome", "action_taken", "people_found", "nationalities",
                     "documents_checked", "original", "from_office", "to_office", "assignee", "due")


class StaffBlueprint(Blueprint):
    def register_views_in_doc(self, api, app, spec, **options):
        """Declare the Bearer scheme in the document these operations refer to (once: each app
        built gets a new document, tests build several)."""
        if BEARER not in spec.components.security_schemes:
            spec.components.security_scheme(BEARER, BEARER_SCHEME)
        super().register_views_in_doc(api, app, spec, **options)


staff_api = StaffBlueprint("staff_api", __name__, url_prefix="/staff",
                           description="Staff's work on reports, with a personal access token.")
# Token auth only (no cookie session): a forged cross-site request carries no token, so there is
# nothing for CSRF protection to do, and API clients cannot fetch a CSRF token anyway.
csrf.exempt(staff_api)
staff_api.after_request(never_store)


# --- schemas -------------------------------------------------------------------------------------

def one_of(values):
    return validate.OneOf([getattr(v, "value", v) for v in values])


class Text(fields.String):
    """Text without control characters but tabs and line breaks, as every web form keeps it
    (apoa/forms.py): nobody types them, and PostgreSQL cannot store a NUL."""

    def _deserialize(self, value, attr, data, **kwargs):
        return without_controls(super()._deserialize(value, attr, data, **kwargs))


class QueueArgs(Schema):
    state = fields.String(validate=one_of(State))
    category = fields.Integer(validate=validate.Range(1, MAX_ID))
    kabupaten = fields.Integer(validate=validate.Range(1, MAX_ID))
    kecamatan = fields.Integer(validate=validate.Range(1, MAX_ID),
                               metadata={"description": "Only with kabupaten."})
    received_from = fields.Date(validate=validate.Range(EARLIEST, LATEST))
    received_to = fields.Date(validate=validate.Range(EARLIEST, LATEST))
    overdue = fields.Boolean(load_default=False)
    mine = fields.Boolean(load_default=False, metadata={"description": "Assigned to me."})
    closed = fields.Boolean(load_default=False, metadata={
        "description": "Include closed reports (always included when a state is chosen)."})
    sort = fields.String(load_default=queries.DEFAULT_SORT, validate=one_of(queries.SORTS))
    code = Text(validate=validate.Length(max=40), metadata={
        "description": "A tracking code in any spacing or case: that report, if visible."})
    page = fields.Integer(load_default=1, validate=validate.Range(1, queries.MAX_PAGE))
    per_page = fields.Integer(load_default=queries.PER_PAGE,
                              validate=validate.Range(1, MAX_PER_PAGE))


class Named(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CategoryOut(Named):
    code = fields.String(required=True)


class RegionOut(Schema):
    id = fields.Integer(required=True)
    kode = fields.String(required=True)
    nama = fields.String(required=True)


class Point(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)


class ReportSummary(Schema):
    id = fields.Integer(required=True)
    tracking_code = fields.String(required=True)
    state = fields.String(required=True, validate=one_of(State))
    state_title = fields.String(required=True)
    category = fields.Nested(CategoryOut, required=True)
    kabupaten = fields.Nested(RegionOut, allow_none=True)
    kecamatan = fields.Nested(RegionOut, allow_none=True)
    office_id = fields.Integer(allow_none=True)
    assignee = fields.Nested(Named, allow_none=True)
    channel = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean(required=True)


class ReportDetail(ReportSummary):
    description = fields.String(required=True)
    people_count = fields.Integer(required=True)
    nationality_guess = fields.String(allow_none=True)
    place_kind = fields.String(required=True)
    observed_at = fields.DateTime(required=True)
    address_text = fields.String(allow_none=True)
    location = fields.Nested(Point, required=True)
    accuracy_m = fields.Float(allow_none=True)
    outcome = fields.String(allow_none=True)
    action_taken = fields.String(allow_none=True)
    duplicate_of_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime(required=True)


class QueuePage(Schema):
    items = fields.List(fields.Nested(ReportSummary), required=True)
    page = fields.Integer(required=True)
    has_next = fields.Boolean(required=True)
    capped = fields.Boolean(required=True, metadata={
        "description": "The last page that can be read: narrow the filters to see more."})


class EventOut(Schema):
    id = fields.Integer(required=True)
    action = fields.String(required=True)
    title = fields.String(required=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(required=True)
    actor = fields.String(allow_none=True, metadata={
        "description": "Who acted; the reporter is never named."})
    note = fields.String(allow_none=True)
    detail = fields.Dict(allow_none=True)
    created_at = fields.DateTime(required=True)


class ActionOut(Schema):
    action = fields.String(required=True, validate=one_of(Action))
    title = fields.String(required=True)
    fields_required = fields.List(fields.String(), required=True)
    fields_optional = fields.List(fields.String(), required=True)


class FindingIn(Schema):
    outcome = fields.String(required=True, validate=one_of(FINDING_OUTCOMES))
    action_taken = fields.String(allow_none=True, validate=one_of(ActionTaken), metadata={
        "description": "Exactly when the outcome is violation_found."})
    people_found = fields.Integer(load_default=0, validate=validate.Range(0, 1000))
    nationalities = fields.List(fields.String(validate=validate.Length(equal=2)),
                                load_default=list, validate=validate.Length(max=50))
    documents_checked = fields.Integer(load_default=0, validate=validate.Range(0, 1000))
    notes = Text(required=True, validate=validate.Length(MIN_TEXT, MAX_TEXT))


class ActionIn(Schema):
    """The input of every action; each action reads some of these fields (GET …/actions says
    which) and refuses the others."""

    note = Text(validate=validate.Length(max=MAX_TEXT))
    reason = Text(validate=validate.Length(MIN_TEXT, MAX_TEXT))
    office_id = fields.Integer(validate=validate.Range(1, MAX_ID),
                               metadata={"description": "transfer: the receiving office."})
    assignee_id = fields.Integer(validate=validate.Range(1, MAX_ID),
                                 metadata={"description": "assign: the officer."})
    due = fields.AwareDateTime(metadata={"description": "assign: the due time, in the future."})
    original_id = fields.Integer(validate=validate.Range(1, MAX_ID),
                                 metadata={"description": "mark_duplicate: the original report."})
    original_code = Text(validate=validate.Length(max=40), metadata={
        "description": "mark_duplicate: the original's tracking code, instead of its id."})
    finding = fields.Nested(FindingIn, metadata={"description": "record_finding."})


class Applied(Schema):
    event = fields.Nested(EventOut, required=True)
    state = fields.String(required=True, validate=one_of(State))
    state_title = fields.String(required=True)
    next_step = fields.String(required=True)


# --- authentication ------------------------------------------------------------------------------

@staff_api.before_request
def authenticate_token():
    found = tokens.authenticate(request.headers.get("Authorization"), request.method,
                                audited_path())
    if found is None:
        raise Unauthorized(_("Send a valid personal access token: "
                             "“Authorization: Bearer apoa_…”. Staff make one at /akun/token."))
    g.api_user, g.api_token = found
    # The use is kept whatever the answer: error answers roll the request back, and the audit log
    # must show refused and failed uses as well.
    db.session.commit()


@staff_api.after_request
def challenge(response):
    """RFC 6750: a 401 says which scheme would do."""
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="APOA", error="invalid_token"'
    return response


def api_actor():
    return g.api_user


def audited_path():
    """The path as the audit log can keep it (JSONB cannot store a NUL)."""
    return without_controls(request.path)


def load_report(report_id):
    """The report if the token's user may see it; otherwise an audited 404 (as the web does)."""
    report = queries.find_visible_report(report_id, api_actor()) if report_id <= MAX_ID else None
    if report is None:
        refuse(f"report:{report_id}")
    return report


def refuse(object_name):
    user = api_actor()
    record_independently("access.refused", object_name, {"path": audited_path(), "via": "api"},
                         actor=user)
    log.warning("user %s refused access to %s through the API", user.id, object_name)
    abort(404)


def problems(*statuses):
    """Document the Bearer requirement and the problem answers of an operation."""
    def decorate(view):
        for status in statuses:
            view = staff_api.alt_response(
                status, schema=ProblemSchema, content_type=PROBLEM_MIMETYPE,
                description=PROBLEM_DESCRIPTIONS[status])(view)
        return staff_api.doc(security=SECURITY)(view)
    return decorate


PROBLEM_DESCRIPTIONS = {
    401: "No token, or one that is unknown, expired or revoked.",
    403: "The token's scope or the user's role does not allow it.",
    404: "No such report, or one the token's user may not see.",
    409: "The action does not fit the report's current state.",
    422: "Invalid input.",
}


# --- answers -------------------------------------------------------------------------------------

def category_out(category):
    return {"id": category.id, "code": category.code, "name": category.name_for(get_locale())}


def region_out(region):
    return None if region is None else {"id": region.id, "kode": region.kode, "nama": region.nama}


def summary_out(report, assignee_name, overdue):
    return {
        "id": report.id, "tracking_code": display(report.tracking_code), "state": report.state,
        "state_title": str(State(report.state).title), "category": category_out(report.category),
        "kabupaten": region_out(report.kabupaten), "kecamatan": region_out(report.kecamatan),
        "office_id": report.office_id, "channel": report.channel,
        "assignee": ({"id": report.assignee_id, "name": assignee_name}
                     if report.assignee_id else None),
        "created_at": report.created_at, "due_at": report.due_at, "overdue": overdue,
    }


def detail_out(report):
    """One report as staff read it. The contact is left out on purpose, whoever asks."""
    lon, lat = coordinates(report)
    overdue = queries.is_overdue(report, utc_now())
    return {
        **summary_out(report, queries.user_name(report.assignee_id), overdue),
        "description": report.description, "people_count": report.people_count,
        "nationality_guess": report.nationality_guess, "place_kind": report.place_kind,
        "observed_at": report.observed_at, "address_text": report.address_text,
        "location": {"lat": lat, "lon": lon}, "accuracy_m": report.accuracy_m,
        "outcome": report.outcome, "action_taken": report.action_taken,
        "duplicate_of_id": report.duplicate_of_id, "updated_at": report.updated_at,
    }


def utc_now():
    return datetime.now(timezone.utc)


def event_out(event):
    detail = {key: event.detail[key] for key in EVENT_DETAIL_KEYS
              if event.detail and key in event.detail}
    actor_name = event_actor(event)
    return {"id": event.id, "action": event.action, "title": str(event_title(event)),
            "from_state": event.from_state, "to_state": event.to_state,
            "actor": str(actor_name) if actor_name else None, "note": event.note,
            "detail": detail or None, "created_at": event.created_at}


# --- the queue and one report --------------------------------------------------------------------

@staff_api.route("/reports")
@staff_api.arguments(QueueArgs, location="query", as_kwargs=True)
@staff_api.response(200, QueuePage)
@problems(401, 403, 422)
def report_queue(page, per_page, closed, code=None, **filters):
    """The queue: the reports the token's user may see, filtered like the officers' queue page.

    Closed reports are left out unless `closed` or a state is chosen. Pages hold one row more
    than asked to know whether another follows; no total is counted."""
    user = api_actor()
    if not can(user, Permission.view_report):
        raise NotAllowed()
    if code:
        return code_page(code, user)
    result = queries.queue_page(user, queue_filters(filters), page, per_page,
                                include_closed=closed)
    return {"items": [summary_out(row.report, row.assignee_name, row.overdue)
                      for row in result.rows],
            "page": result.number, "has_next": result.has_next, "capped": result.capped}


def queue_filters(args):
    kab_id = args.get("kabupaten")
    return queries.QueueFilters(
        state=args.get("state"), category_id=args.get("category"), kab_id=kab_id,
        kec_id=args.get("kecamatan") if kab_id else None,
        received_from=args.get("received_from"), received_to=args.get("received_to"),
        overdue=args["overdue"], mine=args["mine"], sort=queries.sort_key(args["sort"]))


def code_page(code, user):
    """The report with this tracking code, as a page of one, or an empty page. A miss of a
    well-formed code is audited as on the officers' code search (naming the hidden report, if
    any), so looking codes up through the API leaves the same trace."""
    report = queries.find_visible_by_code(code, user)
    if report is None:
        if normalise_code(code) is not None:  # a mistyped code names no report: not looked up
            hidden_id = queries.report_id_by_code(code)
            record_independently("access.refused", f"report:{hidden_id}" if hidden_id else None,
                                 {"path": audited_path(), "via": "api"}, actor=user)
        return {"items": [], "page": 1, "has_next": False, "capped": False}
    overdue = queries.is_overdue(report, utc_now())
    item = summary_out(report, queries.user_name(report.assignee_id), overdue)
    return {"items": [item], "page": 1, "has_next": False, "capped": False}


@staff_api.route("/reports/<int:report_id>")
@staff_api.response(200, ReportDetail)
@problems(401, 404)
def report_detail(report_id):
    """One report (never its reporter's contact details)."""
    return detail_out(load_report(report_id))


@staff_api.route("/reports/<int:report_id>/history")
@staff_api.response(200, EventOut(many=True))
@problems(401, 404)
def report_history(report_id):
    """The report's history, oldest first. The reporter is never named."""
    return [event_out(event) for event in queries.history(load_report(report_id))]


# --- actions -------------------------------------------------------------------------------------

# The input fields each action reads: (required, optional). Anything else sent is refused.
ACTION_FIELDS = {
    Action.screen: ((), ("note",)),
    Action.start_field_check: ((), ("note",)),
    Action.approve: ((), ("note",)),
    Action.send_back: (("note",), ()),
    Action.dismiss: (("reason",), ()),
    Action.reopen: (("reason",), ()),
    Action.transfer: (("office_id", "reason"), ()),
    Action.assign: (("assignee_id",), ("due", "note")),
    Action.mark_duplicate: ((), ("original_id", "original_code", "note")),
    Action.record_finding: (("finding",), ()),
}


def action_out(action):
    required, optional = ACTION_FIELDS[action]
    return {"action": action.value, "title": str(action.title),
            "fields_required": list(required), "fields_optional": list(optional)}


@staff_api.route("/reports/<int:report_id>/actions")
@staff_api.response(200, ActionOut(many=True))
@problems(401, 404)
def report_actions(report_id):
    """The actions the token's user may take on the report now (the same as its web page
    offers), with the input fields each reads."""
    report = load_report(report_id)
    return [action_out(action) for action in available_actions(report, api_actor())]


# The route names the actions (OpenAPI lists them); any other name is not an address at all.
ACTION_NAMES = ",".join(action.value for action in Action)


class InvalidInput(UserValueError):
    """Input that is well-formed but does not fit the action or the report: 422."""

    status = 422


@staff_api.route(f"/reports/<int:report_id>/actions/<any({ACTION_NAMES}):action_name>",
                 methods=["POST"])
@staff_api.arguments(ActionIn, required=False)
@staff_api.response(200, Applied)
@problems(401, 403, 404, 409, 422)
def apply_action(body, report_id, action_name):
    """Take an action on the report (a token with the scope "act" only), through the same
    workflow as the officers' pages; the request commits once."""
    user = api_actor()
    if not tokens.may_act(g.api_token):
        raise NotAllowed(_("This token may only read. Make one that may “%(scope)s” to act.",
                           scope=TokenScope.act.title))
    report = load_report(report_id)
    action = Action(action_name)
    if action not in available_actions(report, user):
        refuse_action(report, action)  # the web's answer: 409 for the state, else 403
    params = action_params(action, report, user, body or {})
    try:
        event = apply(report, action, user, **params)
    except InvalidInput:
        raise
    except UserValueError as error:
        raise InvalidInput(error.message) from None
    return {"event": event_out(event), "state": report.state,
            "state_title": str(State(report.state).title), "next_step": next_step(report)}


def action_params(action, report, user, body):
    """The keyword arguments of workflow.apply() from the JSON body, as the officers' action
    forms (apoa/reports/officer_forms.py) build them: objects loaded and checked, so the
    workflow receives clean values (and checks them again)."""
    required, optional = ACTION_FIELDS[action]
    unused = sorted(set(body) - set(required) - set(optional))
    if unused:
        raise InvalidInput(_("“%(action)s” does not use: %(fields)s.", action=action.value,
                             fields=", ".join(unused)))
    missing = [name for name in required if body.get(name) in (None, "")]
    if missing:
        raise InvalidInput(_("“%(action)s” needs: %(fields)s.", action=action.value,
                             fields=", ".join(missing)))
    return PARAM_BUILDERS.get(action, lambda r, u, b: dict(b))(report, user, body)


def _transfer_params(report, user, body):
    offices = {office.id: office for office in queries.transfer_targets(report)}
    office = offices.get(body["office_id"])
    if office is None:
        raise InvalidInput(_("Choose another office to transfer the report to."))
    return {"office": office, "reason": body["reason"]}


def _assign_params(report, user, body):
    staff = {member.id: member for member in queries.assignable_staff(report)}
    assignee = staff.get(body["assignee_id"])
    if assignee is None:
        raise InvalidInput(_("Choose an active officer of this office."))
    return {"assignee": assignee, "due": body.get("due"), "note": body.get("note")}


def _duplicate_params(report, user, body):
    if ("original_id" in body) == ("original_code" in body):
        raise InvalidInput(_("Name the original report by its id or by its tracking code."))
    if "original_code" in body:
        original = queries.find_visible_by_code(body["original_code"], user)
    else:
        original = queries.find_visible_report(body["original_id"], user)
    if original is None or original.id == report.id:
        raise InvalidInput(_("Choose the original report this one repeats."))
    return {"original": original, "note": body.get("note")}


def _finding_params(report, user, body):
    finding = body["finding"]
    known = {choice.value for choice in country_choices()}
    if any(code not in known for code in finding["nationalities"]):
        raise InvalidInput(_("Use two-letter country codes (ISO 3166) for the nationalities."))
    return {"finding": Finding(
        outcome=finding["outcome"], action_taken=finding.get("action_taken"),
        people_found=finding["people_found"], nationalities=tuple(finding["nationalities"]),
        documents_checked=finding["documents_checked"], notes=finding["notes"])}


PARAM_BUILDERS = {
    Action.transfer: _transfer_params,
    Action.assign: _assign_params,
    Action.mark_duplicate: _duplicate_params,
    Action.record_finding: _finding_params,
}
