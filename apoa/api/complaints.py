"""The JSON API's complaints and questions about the service (apoa/feedback/public_cases.py), on
the public blueprint of apoa/api/public.py: sent like the web form /keluhan, read back with the
reference and the secret given once. Nothing of a report is answered here."""
from flask import abort, request, url_for
from flask_babel import get_locale, gettext as _
from werkzeug.datastructures import MultiDict

from apoa.api.public import (IDEMPOTENCY_HEADER, IDEMPOTENCY_PARAMETER, bp, form_digest,
                             idempotency_key, json_digest, json_object, problems)
from apoa.feedback.api_schemas import (SECRET_HEADER, ComplaintReceivedSchema,
                                       ComplaintRequestSchema, ComplaintSchema)
from apoa.feedback.public_cases import (COMPLAINT_BUDGETS, PublicCase, SubmissionKeyReused,
                                        case_of_submission, find_public_case, kabupaten_kode,
                                        open_public_case, opened_again, regions_with_office,
                                        show_reference)
from apoa.feedback.public_forms import ComplaintForm
from apoa.reports.abuse import (CODE_MISS_BUDGETS, rate_limit_store_available, refuse_or_spend,
                                refuse_when_exhausted, spend)
from apoa.reports.intake import FieldErrors
from apoa.reports.states import Channel


COMPLAINT_IDEMPOTENCY_PARAMETER = {
    **IDEMPOTENCY_PARAMETER,
    "description": "A UUID the client makes once per complaint and sends with every retry: the "
                   "same key and body answer with the first complaint and its secret again; the "
                   "same key with another body is refused (422)."}
COMPLAINT_SECRET_PARAMETER = {
    "in": "header", "name": SECRET_HEADER, "required": True, "schema": {"type": "string"},
    "description": "The secret given when the complaint was sent (never in the address, where "
                   "logs would keep it)."}
COMPLAINT_FIELDS = ("kind", "text", "tracking_code", "region_code", "email")
COMPLAINT_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")


@bp.route("/complaints", methods=["POST"])
@bp.doc(parameters=[COMPLAINT_IDEMPOTENCY_PARAMETER], requestBody={"required": True, "content": {
    mimetype: {"schema": ComplaintRequestSchema} for mimetype in COMPLAINT_BODY_TYPES}})
@bp.response(201, ComplaintReceivedSchema, headers={"Location": {
    "schema": {"type": "string", "format": "uri"}, "description": "The answer's URL."}})
@problems(400, 409, 415, 422, 429, 503)
def submit_complaint_view():
    """Complain about the service or ask a question

    It goes to the office handling the report named by tracking_code, else to the office holding
    region_code; the office answers within three working days. The answer is read with the
    reference and the secret given here (GET /api/v1/complaints/{reference}), and mailed to
    email when given. Checked as the web form /keluhan checks it.
    """
    key = idempotency_key()
    if not rate_limit_store_available():
        abort(503)  # fails closed, as the web form does
    fields, digest = complaint_from_request()
    earlier = case_of_submission(key)
    if earlier is not None:
        return complaint_received(again_or_refused(earlier, key, digest))
    refuse_when_exhausted(COMPLAINT_BUDGETS, fail_closed=True)
    form = ComplaintForm(regions_with_office(), formdata=MultiDict(fields), meta={"csrf": False})
    if not form.validate():
        if form.code_missed:
            refuse_or_spend(CODE_MISS_BUDGETS)
        raise FieldErrors({name: [str(message) for message in messages]
                           for name, messages in form.errors.items() if name})
    opened = open_public_case(PublicCase(
        office_id=form.office_id, kind=form.kind.data, text=form.text.data,
        channel=Channel.api.value, submission_key=key, email=form.email.data or None,
        report_id=form.report.id if form.report is not None else None,
        locale=str(get_locale()), digest=digest))
    spend(COMPLAINT_BUDGETS)
    return complaint_received(opened)


def complaint_from_request():
    """(the form's fields, the digest of the body) of a JSON or form request."""
    if request.is_json:
        body = json_object()
        fields = {name: body[name] for name in COMPLAINT_FIELDS if body.get(name) is not None}
        wrong = [name for name, value in fields.items() if isinstance(value, (list, dict))]
        if wrong:
            raise FieldErrors({name: [_("Send one value here, not a list.")] for name in wrong})
        digest = json_digest(body)
    elif request.mimetype == "application/x-www-form-urlencoded":
        fields = {name: request.form[name] for name in COMPLAINT_FIELDS if name in request.form}
        digest = form_digest([])
    else:
        abort(415)
    fields = {name: str(value) for name, value in fields.items()}
    if fields.get("region_code"):
        fields["region_code"] = kabupaten_kode(fields["region_code"])
    return fields, digest


def again_or_refused(earlier, key, digest):
    try:
        return opened_again(earlier, key, digest)
    except SubmissionKeyReused as error:
        raise FieldErrors({IDEMPOTENCY_HEADER: [error.message]}) from None


def complaint_received(opened):
    answer_url = url_for(".complaint_view", reference=opened.shown_reference, _external=True)
    body = {"reference": opened.shown_reference, "secret": opened.shown_secret,
            "status": opened.case.state, "due_at": opened.case.due_at, "answer_url": answer_url}
    return body, 201, {"Location": answer_url, "Cache-Control": "private, no-store"}


@bp.route("/complaints/<reference>", methods=["GET"])
@bp.doc(parameters=[COMPLAINT_SECRET_PARAMETER])
@bp.response(200, ComplaintSchema)
@problems(404, 429)
def complaint_view(reference):
    """A complaint or question and its answer

    The reference as it was given, with its secret in the Complaint-Secret header. A reference
    and secret that find nothing count against a budget (429 once used up), as tracking codes do.
    """
    service_case = find_public_case(reference, request.headers.get(SECRET_HEADER))
    if service_case is None:
        refuse_or_spend(CODE_MISS_BUDGETS)
        abort(404, _("We could not find a complaint or question with this reference and secret "
                     "code. Check both and try again."))
    return complaint_body(service_case), 200, {"Cache-Control": "private, no-store"}


def complaint_body(service_case):
    return {"reference": show_reference(service_case.reference), "kind": service_case.kind,
            "status": {"key": service_case.state, "title": str(service_case.state_enum.title)},
            "office": service_case.office.name, "text": service_case.body,
            "received_at": service_case.created_at, "due_at": service_case.due_at,
            "answer": service_case.answer, "answered_at": service_case.answered_at}
