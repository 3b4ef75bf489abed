"""What residents use: the report form, the receipt, the status page and their own reports, and
the rating of the service once a report is closed (apoa/feedback/skm.py), reached like the status
page by the tracking code alone.

Rate limits are budgets of apoa/reports/abuse.py, checked here because only the view knows what
happened: a report accepted, a tracking code that found nothing. A form that fails validation and
a code that finds its report cost nothing.
"""
import io
import logging
import uuid

import qrcode
import qrcode.image.svg
from flask import (Blueprint, abort, flash, make_response, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from apoa.errors import Conflict
from apoa.feedback.forms import RatingForm
from apoa.feedback.skm import SCORE_WORDS, can_rate, rate, rated_reports
from apoa.reports import tracking
from apoa.reports.abuse import (CODE_MISS_BUDGETS, CODE_MISSES_PER_REQUESTER, FOLLOW_UP_BUDGETS,
                                REPORT_BUDGETS, REPORTS_PER_REQUESTER, filled_too_fast,
                                give_device_cookie, new_form_stamp, rate_limit_store_available,
                                refuse_or_spend, refuse_when_exhausted, spend)
from apoa.reports.forms import FollowUpForm, ReportForm, StatusLookupForm, category_choices
from apoa.reports.intake import report_from_form
from apoa.reports.pending import discard_once_sent
from apoa.reports.services import (OutsideIndonesia, add_follow_up, find_by_code,
                                   find_by_submission_key, public_status, reports_of, submit_report,
                                   submitted_now)
from apoa.reports.states import State

bp = Blueprint("public", __name__)
log = logging.getLogger("apoa.reports")

# What one device or account may do (each address has a higher ceiling: see abuse.py).
SUBMIT_LIMIT = REPORTS_PER_REQUESTER.limits
STATUS_MISS_LIMIT = CODE_MISSES_PER_REQUESTER.limits


def signed_in_user():
    return current_user._get_current_object() if current_user.is_authenticated else None


@bp.get("/lapor")
def new_report():
    form = ReportForm(category_choices(), started_at=new_form_stamp(),
                      submission_key=str(uuid.uuid4()))
    return give_device_cookie(make_response(render_form(form)))


def render_form(form, status=200):
    return render_template("reports/new.html", form=form), status


@bp.post("/lapor")
def submit():
    """The form's submission. A resend of a form already accepted (same submission key) answers
    with that report's receipt, for free: the submission statement itself finds it when the form
    is valid, and the key is looked up here only when the form would be refused (budget used up,
    not valid, too quick): a retry must never be refused."""
    if not rate_limit_store_available():
        abort(503)  # fails closed: without its limits the form would be open to floods
    try:
        refuse_when_exhausted(REPORT_BUDGETS, fail_closed=True)  # before any photo is decoded
    except HTTPException:
        earlier_receipt()
        raise
    form = ReportForm(category_choices())
    if form.website.data:
        log.warning("report form refused: honeypot filled")
        abort(400)
    if not form.validate():
        earlier_receipt()
        return render_form(form, 400)
    if filled_too_fast(form.started_at.data):
        earlier_receipt()
        form.form_errors.append(_("That was very quick. Please check your report and send it "
                                  "again."))
        form.started_at.data = new_form_stamp()
        return render_form(form, 400)
    try:
        report = submit_report(report_from_form(form), reporter=signed_in_user())
    except OutsideIndonesia as error:
        form.latitude.errors.append(error.message)
        return render_form(form, 400)
    if submitted_now(report):  # a resend costs nothing
        spend(REPORT_BUDGETS)
    discard_once_sent(form.submission_key.data)
    return redirect(url_for(".receipt", code=report.tracking_code), 303)


def earlier_receipt():
    """Answer (by raising) with the receipt of the report this form's key already made, if any."""
    earlier = find_by_submission_key(request.form.get("submission_key"))
    if earlier is not None:  # a retry of a report already accepted: its receipt again, for free
        abort(redirect(url_for(".receipt", code=earlier.tracking_code), 303))


@bp.get("/lapor/tanda-terima/<code>")
def receipt(code):
    report = find_by_code(code)
    if report is None:
        count_code_miss()
        abort(404)
    status_url = url_for(".status", code=report.tracking_code, _external=True)
    return render_template("reports/receipt.html", report=report,
                           code=tracking.display(report.tracking_code),
                           status_url=status_url, qr_svg=qr_svg(status_url))


def qr_svg(data):
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return Markup(buffer.getvalue().decode())


def count_code_miss():
    """A tracking code that found nothing: counted, and 429 once this requester's (or this
    address's) misses are used up. A code that finds its report is never counted nor refused."""
    refuse_or_spend(CODE_MISS_BUDGETS)


@bp.route("/status", methods=["GET", "POST"])
def status_lookup():
    form = StatusLookupForm()
    if form.validate_on_submit():
        code = tracking.normalise(form.code.data) or "".join(form.code.data.split()).upper()[:40]
        return redirect(url_for(".status", code=code), 303)
    page = render_template("reports/status_lookup.html", form=form)
    return give_device_cookie(make_response(page, 400 if form.errors else 200))


@bp.get("/status/<code>")
def status(code):
    report = find_by_code(code)
    if report is None:
        return unknown_code(code)
    return give_device_cookie(make_response(render_status(report, FollowUpForm())))


def unknown_code(typed):
    """Malformed, mistyped and unknown codes all get this same answer, with the code as it was
    typed back in the field beside the message, to be corrected there. (No device cookie is given
    here: a run of misses keeps the key it started with.)"""
    count_code_miss()
    form = StatusLookupForm(formdata=None, code=typed_code(typed))
    form.code.errors = [_("We could not find a report with this code. Check the code and try "
                          "again.")]
    return render_template("reports/status_lookup.html", form=form, unknown=True), 404


def typed_code(raw):
    """The code shown back: in its usual groups when it is a well-formed code, else as typed."""
    code = tracking.normalise(raw)
    return tracking.display(code) if code else (raw or "")[:40]


def render_status(report, follow_up_form, status_code=200):
    return render_template("reports/status.html", status=public_status(report), form=follow_up_form,
                           code=tracking.display(report.tracking_code),
                           can_rate=can_rate(report)), status_code


@bp.post("/status/<code>/tambahan")
def follow_up(code):
    report = find_by_code(code)
    if report is None:
        return unknown_code(code)
    refuse_when_exhausted(FOLLOW_UP_BUDGETS)
    form = FollowUpForm()
    if not form.validate():
        return render_status(report, form, 400)
    add_follow_up(report, form.note.data, form.clean_photos, reporter=signed_in_user())
    spend(FOLLOW_UP_BUDGETS)
    flash(_("Thank you. Your additional information has been added to the report."), "success")
    return redirect(url_for(".status", code=report.tracking_code), 303)


@bp.get("/laporan-saya")
@login_required
def my_reports():
    reports = reports_of(current_user)
    rated = rated_reports([r.id for r in reports])
    return render_template("reports/mine.html", reports=[(r, public_status(r)) for r in reports],
                           display=tracking.display, rated=rated)


@bp.route("/status/<code>/nilai", methods=["GET", "POST"])
def rate_service(code):
    """The SKM questionnaire of a closed report. Before closure it leads back to the status page;
    once rated, to the thank-you page (one rating per report)."""
    report = find_by_code(code)
    if report is None:
        return unknown_code(code)
    if not can_rate(report):
        target = ".service_rated" if report.state == State.closed.value else ".status"
        return redirect(url_for(target, code=report.tracking_code), 303)
    form = RatingForm()
    if form.validate_on_submit():
        try:
            rate(report, form.answers(), form.comment.data)
        except Conflict:  # rated meanwhile, in another tab
            pass
        return redirect(url_for(".service_rated", code=report.tracking_code), 303)
    page = render_template("feedback/rate.html", form=form, code=report.tracking_code,
                           shown_code=tracking.display(report.tracking_code), words=SCORE_WORDS)
    return give_device_cookie(make_response(page, 400 if form.errors else 200))


@bp.get("/status/<code>/nilai/terima-kasih")
def service_rated(code):
    report = find_by_code(code)
    if report is None:
        return unknown_code(code)
    return render_template("feedback/rated.html", code=report.tracking_code)
