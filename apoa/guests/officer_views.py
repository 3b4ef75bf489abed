"""The immigration officers' pages about foreign guests (/pengawasan/tamu): organisations to
verify, the jurisdiction's organisations with late and missing check-outs, the guests present now
or on a date, one stay with the audited reveal of its guest's data and passport page, one
foreigner's stays across lodgings, the passport search, the leads, and the map layer's data.

Lists show only the clear fields (nationality, permit, organisation, dates, flags), never a name
or a passport number; those come only through the reveal, with a reason. Every page that shows
guest records audits which (apoa/guests/queries.py, leads.py). A stay or an organisation outside
the user's jurisdiction is a 404, audited as a refused access, as for reports. Every answer is
`Cache-Control: private, no-store` (guard_staff_pages).
"""
import base64
import logging
from datetime import datetime, timezone

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from apoa.auth.guards import actor, guard_staff_pages
from apoa.auth.permissions import Permission, can_for_stay, has_permission
from apoa.errors import ApoaError, NotAllowed
from apoa.guests import queries
from apoa.guests.countries import country_name
from apoa.guests.documents import has_document, open_document
from apoa.guests.leads import LeadKind, all_leads
from apoa.guests.models import LodgingKind, OrganisationKind, PermitKind, Sex, StayState
from apoa.guests.officer_forms import (DecisionForm, GuestFilterForm, PassportSearchForm,
                                       RevealGuestForm)
from apoa.guests.services import StayFlag, flags, verify_organisation
from apoa.maps.clusters import parse_bbox
from apoa.maps.views import json_error
from apoa.reports.duplicates import coordinates
from apoa.reports.views import refuse

bp = Blueprint("guest_officer", __name__, url_prefix="/pengawasan/tamu")
log = logging.getLogger("apoa.guests")
guard_staff_pages(bp)


def now():
    return datetime.now(timezone.utc)


def staff():
    """The signed-in user if they may see guests at all (officers, supervisors), else 403."""
    user = actor()
    if not has_permission(user, Permission.view_guests):
        raise NotAllowed()
    return user


def vocabulary():
    """Titles and helpers the guest templates look up by stored value."""
    return dict(PermitKind=PermitKind, StayState=StayState, LeadKind=LeadKind, Sex=Sex,
                country_name=country_name, badges=badges, kind_title=kind_title)


def badges(stay):
    """The titles of the flags a stay raises now: those of its check-in (services.flags) and,
    while the guest is still checked in, a permit expired since and a missing check-out."""
    found = flags(stay)
    titles = [flag.title for flag in StayFlag if flag in found]
    if stay.state != StayState.present.value:
        return titles
    today = queries.local_date(now())
    if (StayFlag.permit_expired not in found and stay.permit_expiry is not None
            and stay.permit_expiry < today):
        titles.append(LeadKind.permit_expired.title)
    if stay.planned_check_out is not None and (
            stay.planned_check_out <= today - queries.OVERDUE_AFTER):
        titles.append(LeadKind.overdue_check_out.title)
    return titles


def kind_title(organisation):
    if organisation.lodging_kind:
        return LodgingKind(organisation.lodging_kind).title
    return OrganisationKind(organisation.kind).title


# --- organisations -----------------------------------------------------------------------------

@bp.get("/verifikasi")
def verification():
    user = staff()
    return render_verification(user, queries.organisations_to_verify(user))


def render_verification(user, pending, failed=None, status=200):
    """The queue; `failed` is (organisation id, the form with its errors)."""
    forms = {organisation.id: DecisionForm(formdata=None, prefix=f"o{organisation.id}")
             for organisation in pending}
    if failed is not None:
        forms[failed[0]] = failed[1]
    may_decide = has_permission(user, Permission.verify_organisation)
    return render_template("guests/officer/verification.html", pending=pending, forms=forms,
                           may_decide=may_decide, point=coordinates, **vocabulary()), status


@bp.post("/verifikasi/<int:organisation_id>")
def decide(organisation_id):
    user = staff()
    organisation = queries.find_organisation_for_staff(user, organisation_id)
    if organisation is None:
        refuse(f"organisation:{organisation_id}")
    form = DecisionForm(prefix=f"o{organisation_id}")
    if not form.validate():
        return render_verification(user, queries.organisations_to_verify(user),
                                   (organisation_id, form), 400)
    verify_organisation(organisation, user, form.approves, form.note.data, now())
    message = (_("%(name)s is verified: it can now report guests.", name=organisation.name)
               if form.approves else _("%(name)s is rejected.", name=organisation.name))
    flash(message, "success")
    return redirect(url_for(".verification"), 303)


@bp.get("/organisasi")
def organisations():
    user = staff()
    page = queries.organisation_counts(user, now(), request.args.get("page", 1, type=int))
    return render_template("guests/officer/organisations.html", page=page,
                           late_days=queries.LATE_WINDOW.days, page_url=page_url,
                           overdue_days=queries.OVERDUE_AFTER.days,
                           **vocabulary())


def page_url(number):
    """This list's address with the same arguments, at page `number`."""
    return url_for(request.endpoint, **{**request.view_args, **request.args.to_dict(),
                                        "page": number})


# --- guests present ----------------------------------------------------------------------------

@bp.get("")
def guests():
    user = staff()
    form = GuestFilterForm(formdata=request.args)
    valid = form.validate()
    day = form.on_day()
    page = queries.guest_list(user, now(), form.filters(), day,
                              request.args.get("page", 1, type=int))
    organisation = None
    if form.organisation.data is not None and valid:
        organisation = queries.find_organisation_for_staff(user, form.organisation.data)
    return render_template("guests/officer/guests.html", form=form, page=page, day=day,
                           organisation=organisation, page_url=page_url,
                           **vocabulary()), 200 if valid else 400


# --- one stay, one foreigner ---------------------------------------------------------------------

def load_stay(stay_id):
    """The stay if the signed-in user sees it as immigration staff; otherwise an audited 404."""
    user = staff()
    stay = queries.find_stay_for_staff(user, stay_id)
    if stay is None:
        refuse(f"stay:{stay_id}")
    return user, stay


@bp.get("/<int:stay_id>")
def stay_page(stay_id):
    user, stay = load_stay(stay_id)
    queries.read_stay(stay, user)
    return render_stay(user, stay)


def render_stay(user, stay, form=None, personal=None, photo=None, status=200):
    return render_template(
        "guests/officer/stay.html", stay=stay, form=form or RevealGuestForm(formdata=None),
        may_reveal=can_for_stay(user, Permission.reveal_guest, stay), personal=personal,
        photo=photo, has_photo=has_document(stay), **vocabulary()), status


@bp.post("/<int:stay_id>/buka")
def reveal(stay_id):
    user, stay = load_stay(stay_id)
    if not can_for_stay(user, Permission.reveal_guest, stay):
        raise NotAllowed()
    form = RevealGuestForm()
    if not form.validate():
        return render_stay(user, stay, form, status=400)
    personal = queries.reveal(stay, user, form.reason.data)
    image = open_document(stay, user, form.reason.data)
    # Shown on this answer only (a data: address, never a URL another request could fetch):
    # not flashed, not kept in the session, not logged.
    photo = f"data:image/jpeg;base64,{base64.b64encode(image).decode()}" if image else None
    return render_stay(user, stay, RevealGuestForm(formdata=None), personal, photo)


@bp.get("/<int:stay_id>/riwayat-orang")
def foreigner(stay_id):
    user, stay = load_stay(stay_id)
    stays = queries.foreigner_stays(stay, user)
    return render_template("guests/officer/foreigner.html", stay=stay, stays=stays,
                           places=len({s.organisation_id for s in stays}), **vocabulary())


# --- the passport search -----------------------------------------------------------------------

@bp.route("/cari-paspor", methods=["GET", "POST"])
def passport_search():
    user = actor()
    if not has_permission(user, Permission.search_passport):
        raise NotAllowed()
    form = PassportSearchForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        return render_template("guests/officer/passport_search.html", form=form, stays=None,
                               **vocabulary())
    if not form.validate():
        return render_template("guests/officer/passport_search.html", form=form, stays=None,
                               **vocabulary()), 400
    stays = queries.find_by_passport(user, form.number.data, form.reason.data)
    # The number is not sent back in the page: the form starts empty again.
    return render_template("guests/officer/passport_search.html", stays=stays,
                           form=PassportSearchForm(formdata=None), **vocabulary())


# --- leads ---------------------------------------------------------------------------------------

@bp.get("/petunjuk")
def leads():
    user = staff()
    return render_template("guests/officer/leads.html", leads=all_leads(user, now()),
                           **vocabulary())


# --- the map layer -------------------------------------------------------------------------------

@bp.get("/peta.json")
def map_layer():
    """GeoJSON of the organisations with guests present now, inside `bbox` when given: for the
    layer of the officers' map (apoa/static/js/officer-map.js). Errors answer JSON."""
    try:
        user = staff()
        bbox = parse_bbox(request.args["bbox"]) if request.args.get("bbox") else None
        lodgings = queries.lodgings_present_now(user, now(), bbox)
    except ApoaError as error:
        return json_error(error)
    response = jsonify(type="FeatureCollection",
                       features=[feature(lodging) for lodging in lodgings],
                       truncated=len(lodgings) >= queries.MAX_LODGINGS)
    return response


def feature(lodging):
    return {"type": "Feature", "geometry": lodging.geometry, "properties": {
        "id": lodging.organisation_id, "name": lodging.name, "guests": lodging.guests,
        "nationalities": [{"code": code, "name": country_name(code), "count": count}
                          for code, count in lodging.nationalities],
        "url": url_for(".guests", organisation=lodging.organisation_id)}}

