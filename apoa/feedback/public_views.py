"""/keluhan: a resident's complaint about the service (or a question) from the web, and the page
where they read the answer with the reference and secret code they were given.

The form is defended as the report form is (apoa/reports/abuse.py): a honeypot field, a minimum
fill time, its own budgets per requester and address (failing closed without the rate-limit
store), and a submission key, so that sending the form again shows the same receipt instead of
opening a second case. A tracking code or a reference with a secret that finds nothing counts
against the tracking codes' miss budget. The secret is shown on the receipt once and never kept
anywhere but as a hash: the receipt is the POST's own answer, never a page to come back to. Every
answer here is `Cache-Control: private, no-store`.
"""
import logging
import uuid

from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import get_locale, gettext as _

from apoa.errors import Conflict
from apoa.feedback.models import CaseKind, CaseState
from apoa.feedback.public_cases import (COMPLAINT_BUDGETS, PublicCase, case_of_submission,
                                        find_public_case, open_public_case, opened_again,
                                        regions_with_office, show_reference)
from apoa.feedback.public_forms import CaseLookupForm, ComplaintForm
from apoa.reports.abuse import (CODE_MISS_BUDGETS, filled_too_fast, give_device_cookie,
                                new_form_stamp, rate_limit_store_available, refuse_or_spend,
                                refuse_when_exhausted, spend)
from apoa.reports.states import Channel

bp = Blueprint("complaints", __name__, url_prefix="/keluhan")
log = logging.getLogger("apoa.feedback")


@bp.after_request
def never_kept(response):
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/", strict_slashes=False)
def new_complaint():
    form = ComplaintForm(regions_with_office(), formdata=None, started_at=new_form_stamp(),
                         submission_key=str(uuid.uuid4()),
                         tracking_code=(request.args.get("kode") or "")[:40])
    return give_device_cookie(make_response(_render_form(form)))


@bp.post("/", strict_slashes=False)
def submit():
    if not rate_limit_store_available():
        abort(503)  # fails closed, as the report form does
    earlier = case_of_submission(request.form.get("submission_key"))
    if earlier is not None:  # the same form sent again: its receipt again, for free
        return _render_receipt(opened_again(earlier, request.form["submission_key"]))
    refuse_when_exhausted(COMPLAINT_BUDGETS, fail_closed=True)
    form = ComplaintForm(regions_with_office())
    if form.website.data:
        log.warning("complaint form refused: honeypot filled")
        abort(400)
    if not form.validate():
        if form.code_missed:
            refuse_or_spend(CODE_MISS_BUDGETS)
        return _render_form(form, 400)
    if filled_too_fast(form.started_at.data):
        form.form_errors.append(_("That was very quick. Please check your message and send it "
                                  "again."))
        form.started_at.data = new_form_stamp()
        return _render_form(form, 400)
    opened = open_public_case(_public_case(form))
    spend(COMPLAINT_BUDGETS)
    return _render_receipt(opened)


def _public_case(form):
    key = form.submission_key.data
    try:
        key = str(uuid.UUID(key))
    except (TypeError, ValueError):
        key = str(uuid.uuid4())  # a form without its key (a bot's, a hand-made one): a new case
    return PublicCase(office_id=form.office_id, kind=form.kind.data, text=form.text.data,
                      channel=Channel.web.value, submission_key=key,
                      email=form.email.data or None,
                      report_id=form.report.id if form.report is not None else None,
                      locale=str(get_locale()))


def _render_form(form, status=200):
    return render_template("feedback/complaint.html", form=form), status


def _render_receipt(opened):
    return render_template("feedback/complaint_receipt.html", opened=opened,
                           case=opened.case, lookup=CaseLookupForm(formdata=None))


@bp.route("/jawaban", methods=["GET", "POST"])
def lookup():
    """The case's page: reached by posting its reference and secret (never in the address, where
    logs and browser histories would keep them)."""
    form = CaseLookupForm()
    if not form.validate_on_submit():
        return _render_lookup(form, 400 if form.errors else 200)
    service_case = find_public_case(form.reference.data, form.secret.data)
    if service_case is None:
        refuse_or_spend(CODE_MISS_BUDGETS)
        form.secret.errors.append(_("We could not find a complaint or question with this "
                                    "reference and secret code. Check both and try again."))
        return _render_lookup(form, 404)
    return render_template("feedback/public_case.html", case=service_case,
                           reference=show_reference(service_case.reference),
                           CaseKind=CaseKind, CaseState=CaseState)


def _render_lookup(form, status):
    page = make_response(render_template("feedback/case_lookup.html", form=form), status)
    # No device cookie with a miss: a run of misses keeps the key it started with.
    return give_device_cookie(page) if request.method == "GET" else page


@bp.errorhandler(Conflict)
def conflict(error):
    form = CaseLookupForm(formdata=None)
    form.form_errors.append(error.message)
    return _render_lookup(form, error.status)
