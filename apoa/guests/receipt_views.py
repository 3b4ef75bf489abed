"""The STTPOA receipt of a registration: the printable page and PDF for the organisation's members,
and the public check at /sttpoa/<number> that anyone holding a receipt can open.

The public check says only that the receipt is genuine: which organisation issued it, where, on
which day, and whether the registration still stands. Nothing of the guest (name, passport,
nationality, room) is shown, so a lost or photographed receipt reveals no one. A number that finds
nothing is counted against a miss budget, as tracking codes are, so numbers cannot be enumerated;
a number that finds its receipt is never counted nor refused.

The members' page shows the guest's data through services.reveal(), which lets an organisation's
own staff read what they typed in; everyone else gets 404, as for any object they may not see.
"""
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from apoa.auth.permissions import Permission, can_for_stay
from apoa.extensions import db
from apoa.guests.countries import country_name
from apoa.guests.models import LodgingKind, OrganisationKind, Stay, StayState
from apoa.guests.queries import reveal
from apoa.guests.sttpoa import JAKARTA, normalise_number
from apoa.reports.abuse import Budget, address_key, refuse_or_spend, requester_key
from apoa.reports.public_views import qr_svg
from apoa.summaries.monthly import render_pdf

receipt_bp = Blueprint("sttpoa", __name__)

# Numbers that find nothing. A receipt's check part alone has 30 random bits, so these ceilings
# (the same as for tracking codes) leave guessing hopeless while a mistyped number can be retried.
STTPOA_MISSES_PER_REQUESTER = Budget("sttpoa-misses", "20 per hour", requester_key)
STTPOA_MISSES_PER_ADDRESS = Budget("sttpoa-misses-address", "200 per hour", address_key)
STTPOA_MISS_BUDGETS = (STTPOA_MISSES_PER_REQUESTER, STTPOA_MISSES_PER_ADDRESS)


# --- the public check ------------------------------------------------------------------------

@receipt_bp.get("/sttpoa/<number>")
def check(number):
    stay = stay_by_number(number)
    if stay is None:
        refuse_or_spend(STTPOA_MISS_BUDGETS)
        return render_template("guests/sttpoa_check.html", found=None,
                               typed=(number or "")[:80]), 404
    return render_template("guests/sttpoa_check.html", found=public_facts(stay))


def stay_by_number(typed):
    number = normalise_number(typed)
    if number is None:
        return None
    return db.session.scalar(select(Stay).where(Stay.sttpoa_no == number))


def public_facts(stay):
    """What the public check may tell: the receipt, its issuer and its day, never the guest."""
    organisation = stay.organisation
    return {
        "number": stay.sttpoa_no,
        "organisation": organisation.name,
        "kind": organisation_kind_title(organisation),
        "kabupaten": organisation.kabupaten.nama,
        "checked_in_on": stay.checked_in_at.astimezone(JAKARTA).date(),
        "valid": stay.state != StayState.cancelled.value,
    }


def organisation_kind_title(organisation):
    if organisation.lodging_kind:
        return LodgingKind(organisation.lodging_kind).title
    return OrganisationKind(organisation.kind).title


# --- the members' receipt --------------------------------------------------------------------

@receipt_bp.get("/tamu/sttpoa/<int:stay_id>")
@login_required
def receipt(stay_id):
    return render_receipt(own_stay(stay_id))


@receipt_bp.get("/tamu/sttpoa/<int:stay_id>.pdf")
@login_required
def receipt_pdf(stay_id):
    stay = own_stay(stay_id)
    pdf = render_pdf(render_receipt(stay, pdf=True), request.host_url,
                     current_app.static_url_path, current_app.static_folder)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{stay.sttpoa_no}.pdf"'})


def own_stay(stay_id):
    """The stay, if the signed-in user reports guests for its organisation; else 404."""
    stay = db.session.get(Stay, stay_id)
    user = current_user._get_current_object()
    if stay is None or not can_for_stay(user, Permission.report_guests, stay):
        abort(404)
    return stay


def render_receipt(stay, pdf=False):
    check_url = public_check_url(stay.sttpoa_no)
    organisation = stay.organisation
    return render_template(
        "guests/sttpoa.html", stay=stay, pdf=pdf,
        personal=reveal(stay, current_user._get_current_object()),
        organisation=organisation, kind=organisation_kind_title(organisation),
        office_name=issuing_office_name(organisation),
        check_url=check_url, qr_svg=qr_svg(check_url), country_name=country_name,
        pdf_url=url_for(".receipt_pdf", stay_id=stay.id),
        cancelled=stay.state == StayState.cancelled.value)


def issuing_office_name(organisation):
    # An organisation outside every office's jurisdiction reports to the Ditjen itself.
    if organisation.office is None:
        return _("Directorate General of Immigration")
    return organisation.office.name


def public_check_url(number):
    """The check's address as printed: under the app's public address, not the one this request
    happened to reach (a PDF made behind a proxy must still point at the real site)."""
    path = url_for(".check", number=number)
    base = current_app.config.get("BASE_URL")
    return base.rstrip("/") + path if base else url_for(".check", number=number, _external=True)
