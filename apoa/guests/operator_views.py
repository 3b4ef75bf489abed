"""The pages of a lodging, company or private host that reports its foreign guests: its account,
its registration for the office to verify, its home page (state, guests staying now), its staff,
the check-in of one guest or a group (filled from the passport's MRZ), the receipts issued, the
check-out, a stay's page with its history, its correction and its cancellation, and the passport
page photo.

Every page that names an organisation or a stay loads it through the permissions' member rule
(can_for_organisation / can_for_stay with Permission.report_guests): one that does not exist and
one of another organisation get the same 404. Pages work without JavaScript: adding a guest and
reading the MRZ are submit buttons that give the form back filled (guest-checkin.js reads the MRZ
in place through the JSON endpoint `read_mrz`).
Every answer is `Cache-Control: private, no-store`: they hold guests' personal data.
"""
import logging
from datetime import datetime, timezone

from flask import (Blueprint, Response, abort, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from sqlalchemy import select

from apoa.auth.forms import RegisterForm
from apoa.auth.guards import actor, never_store, require_sign_in
from apoa.auth.permissions import Permission, can_for_organisation, can_for_stay, has_permission
from apoa.errors import UserValueError
from apoa.extensions import db, limiter
from apoa.forms import LARGEST_INTEGER
from apoa.guests import operator_pages as pages
from apoa.guests.accounts import add_staff, sign_up_lodging_account
from apoa.guests.documents import (attach_document, clean_document, has_document,
                                   may_see_document, open_document)
from apoa.guests.models import Organisation, OrganisationMember, Stay, StayState
from apoa.guests.operator_forms import (CancelForm, CheckInForm, CheckOutForm, CorrectionForm,
                                        DocumentForm, MemberForm, MrzForm, OrganisationForm)
from apoa.guests.queries import present_now, stays_visible_to
from apoa.guests.services import (CLOCK_SKEW, GuestData, GuestProblems, cancel, check_in,
                                  check_out, correct, register_organisation)
from apoa.reports.photos import PhotoError

bp = Blueprint("guest_operator", __name__)
log = logging.getLogger("apoa.guests")
PUBLIC_ENDPOINTS = {"guest_operator.sign_up"}
RECENT_STAYS = 20
PRESENT_SHOWN = 200


@bp.before_request
def sign_in_first():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    return require_sign_in()


bp.after_request(never_store)


def now_utc():
    return datetime.now(timezone.utc)


def own_organisation(organisation_id):
    """The organisation, if the signed-in user reports guests for it; else 404."""
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not can_for_organisation(actor(), Permission.report_guests,
                                                        organisation):
        abort(404)
    return organisation


def own_stay(stay_id):
    stay = db.session.get(Stay, stay_id)
    if stay is None or not can_for_stay(actor(), Permission.report_guests, stay):
        abort(404)
    return stay


def stay_ids(values):
    """The stay ids named in `values` ("stay", repeated), leaving out what no row id can be."""
    return [number for number in values.getlist("stay", type=int)
            if 0 < number <= LARGEST_INTEGER]


# --- account and organisation ----------------------------------------------------------------

@bp.route("/penginapan/daftar", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for(".register"))
    form = RegisterForm()
    if form.validate_on_submit():
        # The same answer whether the email had an account or not (sign_up_lodging_account).
        sign_up_lodging_account(form.email.data, form.name.data, form.password.data)
        flash(_("Thank you. Sign in with your email address and the password you chose, then "
                "register your lodging. If this address already had an account, we have sent it "
                "an email instead."), "info")
        return redirect(url_for("auth.login", next=url_for(".register")), 303)
    return render_template("guests/operator/sign_up.html", form=form), 400 if form.errors else 200


@bp.get("/penginapan")
def index():
    organisations = db.session.scalars(
        select(Organisation).join(OrganisationMember)
        .where(OrganisationMember.user_id == actor().id).order_by(Organisation.name)).all()
    if len(organisations) == 1:
        return redirect(url_for(".home", organisation_id=organisations[0].id))
    return render_template("guests/operator/index.html", organisations=organisations)


@bp.route("/penginapan/baru", methods=["GET", "POST"])
def register():
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            organisation = register_organisation(
                actor(), form.kind.data, form.name.data, form.address.data, form.point(),
                licence_no=form.licence_no.data, lodging_kind=form.lodging_kind.data or None)
        except UserValueError as error:
            form.form_errors.append(str(error.message))
        else:
            flash(_("Registered. The immigration office will check the details; you can report "
                    "guests once it has verified them."), "success")
            return redirect(url_for(".home", organisation_id=organisation.id), 303)
    return render_template("guests/operator/register.html", form=form), (
        400 if form.errors else 200)


@bp.get("/penginapan/<int:organisation_id>")
def home(organisation_id):
    organisation = own_organisation(organisation_id)
    user = actor()
    present = db.session.scalars(
        present_now(user, now_utc()).where(Stay.organisation_id == organisation.id)
        .order_by(Stay.checked_in_at.desc()).limit(PRESENT_SHOWN)).all()
    recent = db.session.scalars(
        stays_visible_to(user).where(Stay.organisation_id == organisation.id,
                                     Stay.state != StayState.present.value)
        .order_by(Stay.checked_in_at.desc()).limit(RECENT_STAYS)).all()
    return render_template("guests/operator/home.html",
                           present=pages.rows(present, user), recent=pages.rows(recent, user),
                           **pages.common(organisation))


@bp.route("/penginapan/<int:organisation_id>/staf", methods=["GET", "POST"])
def members(organisation_id):
    organisation = own_organisation(organisation_id)
    in_charge = can_for_organisation(actor(), Permission.manage_members, organisation)
    form = MemberForm()
    if request.method == "POST":
        if not in_charge:
            abort(404)
        if form.validate():
            try:
                added = add_staff(organisation, actor(), form.email.data, form.name.data)
            except UserValueError as error:
                form.email.errors.append(str(error.message))
            else:
                return pages.member_added(organisation, added)
    listed = db.session.scalars(
        select(OrganisationMember).where(OrganisationMember.organisation_id == organisation.id)
        .order_by(OrganisationMember.added_at)).all()
    return render_template("guests/operator/members.html",
                           members=listed, form=form,
                           **pages.common(organisation)), 400 if form.errors else 200


# --- check-in --------------------------------------------------------------------------------

@bp.route("/penginapan/<int:organisation_id>/tamu/baru", methods=["GET", "POST"])
def check_in_page(organisation_id):
    organisation = own_organisation(organisation_id)
    if not organisation.is_verified:
        return render_template("guests/operator/not_verified.html",
                               **pages.common(organisation)), (
            409 if request.method == "POST" else 200)
    form = CheckInForm()
    if request.method == "GET":
        return pages.check_in_form(organisation, form)
    action = request.form.get("action", "save")
    if action == "add":
        if len(form.guests) < form.guests.max_entries:
            form.guests.append_entry()
        return pages.check_in_form(organisation, form)
    if action == "remove":
        if len(form.guests) > 1:
            form.guests.pop_entry()
        return pages.check_in_form(organisation, form)
    if action.startswith("mrz-"):
        return pages.read_mrz_into(organisation, form, action.removeprefix("mrz-"))
    return save_check_in(organisation, form)


def save_check_in(organisation, form):
    if not form.validate():
        return pages.check_in_form(organisation, form, status=400)
    offset = form.offset()
    guests = [GuestData(**entry.form.guest_values(offset)) for entry in form.guests]
    images, refused = pages.clean_photos(form)
    if refused:
        pages.place_problems(form, pages.all_guest_problems(guests, now_utc()))
        return pages.check_in_form(organisation, form, status=400)
    try:
        stays = check_in(organisation, actor(), guests, now_utc())
    except GuestProblems as error:
        pages.place_problems(form, error.problems)
        return pages.check_in_form(organisation, form, status=400)
    for stay, image in zip(stays, images):
        if image is not None:
            attach_document(stay, actor(), image, now_utc())
    return redirect(url_for(".checked_in", organisation_id=organisation.id,
                            stay=[stay.id for stay in stays]), 303)


@bp.get("/penginapan/<int:organisation_id>/tamu/diterima")
def checked_in(organisation_id):
    organisation = own_organisation(organisation_id)
    ids = stay_ids(request.args)[:50]
    stays = db.session.scalars(
        stays_visible_to(actor()).where(Stay.organisation_id == organisation.id,
                                        Stay.id.in_(ids)).order_by(Stay.id)).all()
    if not stays:
        abort(404)
    return render_template("guests/operator/checked_in.html",
                           rows=pages.rows(stays, actor()), **pages.common(organisation))


@bp.post("/penginapan/mrz")
def read_mrz():
    """The fields of pasted MRZ lines, for guest-checkin.js: {"fields", "problems", "notes"}."""
    if not has_permission(actor(), Permission.report_guests):
        abort(404)
    form = MrzForm()
    if not form.validate():
        return jsonify(fields={}, problems=[{"field": "mrz", "message": _("Too long.")}],
                       notes=[]), 400
    values, problems, notes = pages.mrz_values(form.mrz.data)
    fields = {name: value.isoformat() if hasattr(value, "isoformat") else value
              for name, value in (values or {}).items()}
    return jsonify(fields=fields, notes=notes,
                   problems=[{"field": field, "message": message} for field, message in problems])


# --- check-out -------------------------------------------------------------------------------

@bp.route("/penginapan/<int:organisation_id>/tamu/keluar", methods=["GET", "POST"])
def check_out_page(organisation_id):
    organisation = own_organisation(organisation_id)
    present = db.session.scalars(
        present_now(actor(), now_utc()).where(Stay.organisation_id == organisation.id)
        .order_by(Stay.checked_in_at.desc()).limit(PRESENT_SHOWN)).all()
    form = CheckOutForm()
    # A link may preselect a guest (?stay=); once sent, only the ticked boxes count.
    chosen = set(stay_ids(request.form if request.method == "POST" else request.args))
    problems = {}
    if request.method == "POST" and form.validate():
        stays = [stay for stay in present if stay.id in chosen]
        problems = checked_out_problems(form, stays)
        if not problems and not form.errors:
            flash(ngettext("%(num)d guest checked out.", "%(num)d guests checked out.",
                           len(stays)), "success")
            return redirect(url_for(".home", organisation_id=organisation.id), 303)
    return render_template("guests/operator/check_out.html",
                           form=form, rows=pages.rows(present, actor()), chosen=chosen,
                           problems=problems, **pages.common(organisation)), (
        400 if form.errors or problems else 200)


def checked_out_problems(form, stays):
    """Check the chosen guests out; the problems by stay id (form errors for the whole form)."""
    moment = form.moment()
    if not stays:
        form.form_errors.append(_("Choose at least one guest to check out."))
        return {}
    if moment > now_utc() + CLOCK_SKEW:
        form.checked_out_at.errors.append(_("The check-out time is in the future."))
        return {}
    try:
        check_out(stays, actor(), moment)
    except GuestProblems as error:
        return {stays[problem.index].id: problem.message for problem in error.problems}
    return {}


# --- one stay --------------------------------------------------------------------------------

@bp.get("/penginapan/tamu/<int:stay_id>")
def stay_page(stay_id):
    return pages.stay_page(own_stay(stay_id), DocumentForm())


@bp.route("/penginapan/tamu/<int:stay_id>/koreksi", methods=["GET", "POST"])
def correct_page(stay_id):
    stay = own_stay(stay_id)
    if request.method == "GET":
        form = CorrectionForm(data=pages.current_values(stay, actor()))
        return pages.correction_form(stay, form)
    form = CorrectionForm()
    if not form.validate():
        return pages.correction_form(stay, form, status=400)
    changes = pages.changed_values(stay, actor(), form)
    if not changes:
        form.form_errors.append(_("Nothing was changed. Change a field, or go back."))
        return pages.correction_form(stay, form, status=400)
    try:
        correct(stay, actor(), changes, form.reason.data, now_utc())
    except GuestProblems as error:
        pages.place_guest_problems(form, error.problems)
        return pages.correction_form(stay, form, status=400)
    flash(_("The correction is saved."), "success")
    return redirect(url_for(".stay_page", stay_id=stay.id), 303)


@bp.route("/penginapan/tamu/<int:stay_id>/batal", methods=["GET", "POST"])
def cancel_page(stay_id):
    stay = own_stay(stay_id)
    form = CancelForm()
    if form.validate_on_submit():
        cancel(stay, actor(), form.reason.data, now_utc())
        flash(_("The entry is cancelled. Its receipt is no longer valid."), "success")
        return redirect(url_for(".stay_page", stay_id=stay.id), 303)
    return render_template("guests/operator/cancel.html", stay=stay, form=form,
                           **pages.common(stay.organisation)), 400 if form.errors else 200


@bp.post("/penginapan/tamu/<int:stay_id>/foto")
def attach_photo(stay_id):
    stay = own_stay(stay_id)
    form = DocumentForm()
    upload = form.photo.data if form.validate() else None
    if not pages.is_upload(upload):
        form.photo.errors = [*form.photo.errors, _("Choose a photo of the passport data page.")]
        return pages.stay_page(stay, form, status=400)
    try:
        image = clean_document(upload.read())
    except PhotoError as error:
        form.photo.errors = [*form.photo.errors, str(error.message)]
        return pages.stay_page(stay, form, status=400)
    attach_document(stay, actor(), image, now_utc())
    flash(_("The photo of the passport page is saved, encrypted."), "success")
    return redirect(url_for(".stay_page", stay_id=stay.id), 303)


@bp.route("/penginapan/tamu/<int:stay_id>/foto-paspor", methods=["GET", "POST"])
def passport_photo(stay_id):
    """The passport page: members with GET; an officer of the office with POST and a reason
    (audited), from the officers' pages."""
    stay = db.session.get(Stay, stay_id)
    user = actor()
    if stay is None or not may_see_document(user, stay) or not has_document(stay):
        abort(404)
    data = open_document(stay, user, request.form.get("reason"))
    return Response(data, mimetype="image/jpeg", headers={
        "Content-Disposition": f'inline; filename="paspor-{stay.id}.jpg"',
        "Cache-Control": "private, no-store"})
