"""Data-subject requests on the web (UU PDP 27/2022).

- /privasi/permintaan: where a reporter asks to see, correct or erase their data (signed in, or
  with a tracking code and the contact given on that report), where someone who believes they
  were reported asks about it, and where a requester comes back with the reference and secret.
  A request proven once (made here, or its reference and secret typed) is remembered in the
  signed session, so its page and its export open without typing the secret again.
- /admin/privasi/permintaan (Permission.manage_privacy): every request's 3 × 24-hour clock, and
  the answers to reporters' requests.
- /privasi/keputusan (Permission.decide_subject_requests): requests about reported persons routed
  to the supervisor's offices, decided with a reason.

Staff who may not use a page get 404, whether the request exists or not. Every answer here is
`Cache-Control: private, no-store`: these pages hold personal data.
"""
import io
import logging
from datetime import datetime, timezone

from flask import (Blueprint, abort, flash, make_response, redirect, render_template, request,
                   send_file, session, url_for)
from flask_babel import gettext as _
from flask_login import current_user

from apoa.auth.guards import actor, never_store, require_sign_in
from apoa.auth.models import Role
from apoa.auth.permissions import Permission, has_permission
from apoa.errors import Conflict, UserValueError
from apoa.privacy import request_changes, request_export, requests
from apoa.privacy.models import RequestKind, RequestState, Subject, Via
from apoa.privacy.request_forms import (AccountRequestForm, CheckRequestForm, CodeRequestForm,
                                        CorrectionForm, DecisionForm, ErasureForm, RefuseForm,
                                        ReportedPersonForm)
from apoa.reports.abuse import (CODE_MISS_BUDGETS, Budget, address_key, give_device_cookie,
                                refuse_or_spend, refuse_when_exhausted, requester_key, spend)
from apoa.reports.states import PUBLIC_STATUS_OF_STATE, State
from apoa.reports.tracking import display

bp = Blueprint("privacy", __name__)
bp.after_request(never_store)
log = logging.getLogger("apoa.privacy")

# Requests made without an account: a person makes few, so a few an hour is already generous.
REQUESTS_PER_REQUESTER = Budget("subject-requests", "5 per hour;20 per day", requester_key)
REQUESTS_PER_ADDRESS = Budget("subject-requests-address", "60 per hour", address_key)
REQUEST_BUDGETS = (REQUESTS_PER_REQUESTER, REQUESTS_PER_ADDRESS)
SESSION_KEY = "subject_requests"
SECRET_KEY_OF_NEW = "subject_request_secret"
REMEMBERED = 20


def _now():
    return datetime.now(timezone.utc)


@bp.app_context_processor
def privacy_counts():
    """`privacy_requests_waiting()` for the header: the open requests the signed-in user answers
    (a Waiting, or None)."""
    return {"privacy_requests_waiting": lambda: requests.waiting_for(current_user)}


def _vocabulary():
    return dict(RequestKind=RequestKind, RequestState=RequestState, Subject=Subject, Via=Via,
                now=_now(), is_overdue=requests.is_overdue, time_left=requests.time_left)


# --- the requester's side ------------------------------------------------------------------------

def _resident():
    return (current_user.is_authenticated and current_user.role == Role.resident.value)


@bp.get("/privasi/permintaan")
def start():
    mine = requests.requests_of(current_user) if _resident() else []
    return render_template("privacy/request_start.html", mine=mine, check=CheckRequestForm(),
                           resident=_resident(), **_vocabulary())


@bp.route("/privasi/permintaan/akun", methods=["GET", "POST"])
def by_account():
    refused = require_sign_in()
    if refused is not None:
        return refused
    if not _resident():
        abort(404)
    form = AccountRequestForm()
    if form.validate_on_submit():
        made = requests.request_by_account(actor(), form.kind.data, form.text.data)
        flash(_("Your request has been received."), "success")
        return redirect(url_for(".request_page", reference=made.reference), 303)
    return _form_page("privacy/request_account.html", form)


@bp.route("/privasi/permintaan/kode", methods=["GET", "POST"])
def by_code():
    form = CodeRequestForm()
    if not form.is_submitted():
        return give_device_cookie(_form_page("privacy/request_code.html", form))
    # A requester out of guesses learns nothing more, not even from a right pair.
    refuse_when_exhausted(CODE_MISS_BUDGETS)
    refuse_when_exhausted(REQUEST_BUDGETS)
    if not form.validate():
        return _form_page("privacy/request_code.html", form)
    try:
        made, secret = requests.request_by_code(form.code.data, form.contact.data,
                                                form.kind.data, form.text.data)
    except requests.NotVerified as error:
        refuse_or_spend(CODE_MISS_BUDGETS)
        form.form_errors.append(error.message)
        return _form_page("privacy/request_code.html", form)
    return _received(made, secret)


@bp.route("/privasi/permintaan/tentang-saya", methods=["GET", "POST"])
def about_me():
    form = ReportedPersonForm(requests.kabupaten_choices())
    if not form.is_submitted():
        return give_device_cookie(_form_page("privacy/request_about_me.html", form))
    refuse_when_exhausted(REQUEST_BUDGETS)
    if not form.validate():
        return _form_page("privacy/request_about_me.html", form)
    try:
        made, secret = requests.request_about_me(form.kind.data, form.name.data, form.phone.data,
                                                 form.email.data, form.kabupaten.data,
                                                 form.text.data)
    except UserValueError as error:
        form.form_errors.append(error.message)
        return _form_page("privacy/request_about_me.html", form)
    return _received(made, secret)


def _form_page(template, form):
    status = 400 if form.errors else 200
    return make_response(render_template(template, form=form, **_vocabulary()), status)


def _received(made, secret):
    spend(REQUEST_BUDGETS)
    _remember(made)
    session[SECRET_KEY_OF_NEW] = {"reference": made.reference, "secret": secret}
    return redirect(url_for(".request_page", reference=made.reference), 303)


def _remember(subject_request):
    known = [i for i in session.get(SESSION_KEY, []) if i != subject_request.id]
    session[SESSION_KEY] = (known + [subject_request.id])[-REMEMBERED:]


@bp.post("/privasi/permintaan/cek")
def check():
    form = CheckRequestForm()
    if not form.validate():
        return _check_page(form, 400)
    refuse_when_exhausted(CODE_MISS_BUDGETS)
    found = requests.find_by_secret(form.reference.data, form.secret.data)
    if found is None:
        refuse_or_spend(CODE_MISS_BUDGETS)
        form.form_errors.append(_("We could not find a request with this reference and secret "
                                  "code. Check both and try again."))
        return _check_page(form, 404)
    _remember(found)
    return redirect(url_for(".request_page", reference=found.reference), 303)


def _check_page(form, status):
    return render_template("privacy/request_start.html", mine=[], check=form,
                           resident=_resident(), **_vocabulary()), status


def _proven(reference):
    """The request if this browser proved it (or it is the signed-in resident's own), else None."""
    found = requests.find_by_reference(reference)
    if found is None:
        return None
    own = _resident() and found.user_id == current_user.id
    return found if own or found.id in session.get(SESSION_KEY, []) else None


@bp.get("/privasi/permintaan/<reference>")
def request_page(reference):
    found = _proven(reference)
    if found is None:
        form = CheckRequestForm(formdata=None, reference=(reference or "")[:40])
        return _check_page(form, 404)
    new = session.get(SECRET_KEY_OF_NEW)
    secret = None
    if new and new.get("reference") == found.reference:
        secret = session.pop(SECRET_KEY_OF_NEW)["secret"]  # shown once
    report = found.report if found.via == Via.tracking_code.value else None
    return render_template(
        "privacy/request_status.html", found=found, secret=secret,
        code=display(report.tracking_code) if report else None,
        export_ready=request_export.export_available(found, _now()), **_vocabulary())


@bp.get("/privasi/permintaan/<reference>/unduh")
def download(reference):
    found = _proven(reference)
    archive = request_export.download(found, actor=_signed_in()) if found else None
    if archive is None:
        abort(404)
    return send_file(io.BytesIO(archive), mimetype="application/zip", as_attachment=True,
                     download_name=request_export.export_name(found))


def _signed_in():
    return actor() if current_user.is_authenticated else None


# --- the admin's side ----------------------------------------------------------------------------

def _staff_with(permission):
    """Sign-in first; then 404 for who lacks `permission`."""
    refused = require_sign_in()
    if refused is not None:
        return refused
    if not has_permission(actor(), permission):
        abort(404)
    return None


@bp.get("/admin/privasi/permintaan")
def admin_list():
    refused = _staff_with(Permission.manage_privacy)
    if refused is not None:
        return refused
    request_export.purge_expired_exports()
    show_all = request.args.get("state") == "all"
    return render_template("privacy/request_admin_list.html",
                           found=requests.admin_requests(actor(), open_only=not show_all),
                           waiting=requests.waiting_for(actor()), show_all=show_all,
                           reported=requests.waiting_about_reported_persons(),
                           **_vocabulary())


def _load_for_admin(request_id):
    found = requests.find_for_admin(actor(), request_id)
    if found is None:
        abort(404)
    return found


@bp.get("/admin/privasi/permintaan/<int:request_id>")
def admin_request(request_id):
    refused = _staff_with(Permission.manage_privacy)
    if refused is not None:
        return refused
    return _admin_page(_load_for_admin(request_id))


def _admin_page(found, status=200, **forms):
    details = requests.read_details(found, actor())
    reports = requests.reports_in_scope(found)
    correction = forms.get("correction")
    if correction is None and found.kind == RequestKind.correction.value and found.is_open:
        correction = CorrectionForm(formdata=None, data=request_changes.current_values(found))
    return render_template(
        "privacy/request_admin.html", found=found, details=details, reports=reports,
        still_handled=request_changes.still_handled, display=display,
        public_status=lambda report: PUBLIC_STATUS_OF_STATE[State(report.state)],
        refuse_form=forms.get("refuse") or RefuseForm(formdata=None),
        correction_form=correction or CorrectionForm(formdata=None),
        erasure_form=forms.get("erasure") or ErasureForm(formdata=None),
        **_vocabulary()), status


def _answered(found, message):
    flash(message, "success")
    return redirect(url_for(".admin_request", request_id=found.id), 303)


def _admin_post(request_id, form_class, form_name, answer):
    """Load, check, validate, call `answer(found, form)`; the page again with errors beside the
    fields on bad input, or with the service's message."""
    refused = _staff_with(Permission.manage_privacy)
    if refused is not None:
        return refused
    found = _load_for_admin(request_id)
    form = form_class() if form_class else None
    if form is not None and not form.validate():
        return _admin_page(found, 400, **{form_name: form})
    try:
        message = answer(found, form)
    except (UserValueError, Conflict) as error:
        if form is None or isinstance(error, Conflict):  # no form to show it in
            flash(error.message, "error")
            return _admin_page(found, error.status)
        form.form_errors.append(error.message)
        return _admin_page(found, error.status, **{form_name: form})
    return _answered(found, message)


@bp.post("/admin/privasi/permintaan/<int:request_id>/ekspor")
def admin_export(request_id):
    def answer(found, _form):
        request_export.produce_export(found, actor())
        return _("The export is ready; the requester can download it for 7 days.")
    return _admin_post(request_id, None, None, answer)


@bp.post("/admin/privasi/permintaan/<int:request_id>/koreksi")
def admin_correct(request_id):
    def answer(found, form):
        request_changes.apply_correction(found, actor(), form.changes())
        return _("The correction has been applied.")
    return _admin_post(request_id, CorrectionForm, "correction", answer)


@bp.post("/admin/privasi/permintaan/<int:request_id>/hapus")
def admin_erase(request_id):
    def answer(found, form):
        request_changes.erase(found, actor(), form.keep_handled.data, form.reason.data)
        return _("The personal data has been erased.")
    return _admin_post(request_id, ErasureForm, "erasure", answer)


@bp.post("/admin/privasi/permintaan/<int:request_id>/tolak")
def admin_refuse(request_id):
    def answer(found, form):
        requests.refuse(found, actor(), form.reason.data)
        return _("The request has been refused; the requester can read the reason.")
    return _admin_post(request_id, RefuseForm, "refuse", answer)


# --- the supervisor's side -----------------------------------------------------------------------

@bp.get("/privasi/keputusan")
def decision_list():
    refused = _staff_with(Permission.decide_subject_requests)
    if refused is not None:
        return refused
    show_all = request.args.get("state") == "all"
    return render_template("privacy/request_decision_list.html",
                           found=requests.decider_requests(actor(), open_only=not show_all),
                           waiting=requests.waiting_for(actor()), show_all=show_all,
                           **_vocabulary())


def _load_for_decider(request_id):
    found = requests.find_for_decider(actor(), request_id)
    if found is None:
        abort(404)
    return found


@bp.get("/privasi/keputusan/<int:request_id>")
def decision_page(request_id):
    refused = _staff_with(Permission.decide_subject_requests)
    if refused is not None:
        return refused
    return _decision_page(_load_for_decider(request_id), DecisionForm(formdata=None))


def _decision_page(found, form, status=200):
    details = requests.read_details(found, actor())
    return render_template("privacy/request_decision.html", found=found, details=details,
                           form=form, **_vocabulary()), status


@bp.post("/privasi/keputusan/<int:request_id>")
def decide_request(request_id):
    refused = _staff_with(Permission.decide_subject_requests)
    if refused is not None:
        return refused
    found = _load_for_decider(request_id)
    form = DecisionForm()
    if not form.validate():
        return _decision_page(found, form, 400)
    try:
        requests.decide(found, actor(), form.decision.data, form.reason.data)
    except (UserValueError, Conflict) as error:
        if isinstance(error, Conflict):  # decided meanwhile: the form is gone from the page
            flash(error.message, "error")
        form.form_errors.append(error.message)
        return _decision_page(found, form, error.status)
    flash(_("The decision has been recorded; the requester can read the reason."), "success")
    return redirect(url_for(".decision_page", request_id=found.id), 303)
