"""What the organisations' pages (apoa/guests/operator_views.py) put together: rows of guests with
their names and flags, the check-in form's MRZ reading and problems placed beside their fields,
the values a correction starts from and what it changes, and a stay's history in words.

Kept apart from the views so each view stays a few lines: load, check, call one service, answer.
"""
from dataclasses import dataclass
from datetime import date, datetime

from flask import render_template, url_for
from flask_babel import format_date, format_datetime, gettext as _, lazy_gettext as _l
from flask_login import current_user

from apoa.auth.permissions import Permission, can_for_organisation
from apoa.guests.countries import country_name
from apoa.guests.documents import clean_document, has_document
from apoa.guests.models import (LodgingKind, OrganisationKind, OrganisationState, PermitKind,
                                StayState)
from apoa.guests.mrz import parse_td3, problems_td3
from apoa.guests.operator_forms import DEFAULT_UTC_OFFSET_MINUTES, GUEST_FIELD_NAMES, as_local
from apoa.guests.passports import PERSONAL_FIELDS
from apoa.guests.queries import reveal
from apoa.guests.services import flags, guest_problems
from apoa.periods import local_today
from apoa.reports.forms import is_upload
from apoa.reports.photos import PhotoError

# MRZ fields (apoa/guests/mrz.py MrzError.field) → the check-in form's fields.
MRZ_FIELDS = {"birth_date": "date_of_birth", "expiry_date": "passport_expiry",
              "document_code": "mrz", "issuing_state": "mrz", "optional_data": "mrz"}
MRZ_FILLED = ("surname", "given_names", "sex", "date_of_birth", "nationality", "passport_number",
              "passport_expiry")
# What a stay's history calls each field that is not personal.
FIELD_TITLES = {
    "nationality": _l("Nationality"), "passport_expiry": _l("Passport valid until"),
    "permit_kind": _l("Visa or stay permit"), "permit_expiry": _l("Visa or permit valid until"),
    "arrived_in_indonesia": _l("Arrival in Indonesia"),
    "checked_in_at": _l("Check-in date and time"), "planned_check_out": _l("Planned check-out"),
    "room": _l("Room"), "checked_out_at": _l("Check-out"), "state": _l("State"),
}


@dataclass(frozen=True)
class GuestRow:
    stay: object
    personal: object
    flags: tuple

    @property
    def name(self):
        given = self.personal.given_names
        return f"{self.personal.surname}, {given}" if given else self.personal.surname


def rows(stays, user):
    """Each stay with its guest's personal data (members read their own freely) and flags."""
    return [GuestRow(stay, reveal(stay, user), sorted_flags(stay)) for stay in stays]


def sorted_flags(stay):
    return tuple(sorted(flags(stay), key=lambda flag: flag.value))


def common(organisation):
    """What every page of an organisation shows in its header and links."""
    kind = (LodgingKind(organisation.lodging_kind).title if organisation.lodging_kind
            else OrganisationKind(organisation.kind).title)
    return {"organisation": organisation, "organisation_kind": kind,
            "state_title": OrganisationState(organisation.state).title,
            "in_charge": can_for_organisation(current_user._get_current_object(),
                                              Permission.manage_members, organisation)}


def member_added(organisation, added):
    return render_template("guests/operator/member_added.html", added=added,
                           **common(organisation))


# --- the check-in form -----------------------------------------------------------------------

def check_in_form(organisation, form, status=200, notes=None):
    # Counted here: a FieldList keeps the errors of its last validation, not those added since.
    problems = len(form.form_errors) + sum(len(field.errors) for entry in form.guests
                                          for field in entry.form)
    return render_template("guests/operator/check_in.html", form=form, notes=notes or {},
                           problem_count=problems,
                           mrz_url=url_for("guest_operator.read_mrz"),
                           **common(organisation)), status


def mrz_values(text):
    """(the fields read from MRZ lines or None, [(form field, message)], [notes])."""
    today = local_today()
    problems = problems_td3(text, today)
    if problems:
        return None, [(MRZ_FIELDS.get(p.field, p.field), str(p.message)) for p in problems], []
    passport = parse_td3(text, today)
    values = {"surname": passport.surname, "given_names": passport.given_names,
              "sex": passport.sex, "date_of_birth": passport.birth_date,
              "nationality": passport.nationality, "passport_number": passport.passport_number,
              "passport_expiry": passport.expiry_date}
    notes = []
    if passport.expired_on(today):
        notes.append(_("This passport expired on %(day)s. The guest can still be checked in; "
                       "the entry is flagged for the immigration office.",
                       day=format_date(passport.expiry_date, "long")))
    return values, [], notes


def read_mrz_into(organisation, form, index):
    """The "Read MRZ" button without JavaScript: the form again, that guest's fields filled, or
    the MRZ's problems beside the fields they concern."""
    if not index.isdigit() or int(index) >= len(form.guests):
        return check_in_form(organisation, form)
    guest = form.guests[int(index)].form
    values, problems, notes = mrz_values(guest.mrz.data)
    for field, message in problems:
        add_error(getattr(guest, field, guest.mrz), message)
    for name, value in (values or {}).items():
        fill(getattr(guest, name), value)
    return check_in_form(organisation, form, status=400 if problems else 200,
                         notes={int(index): notes})


def fill(field, value):
    field.data = value
    field.raw_data = None


def add_error(field, message):
    field.errors = [*field.errors, message]


def clean_photos(form):
    """Each guest's passport page as a clean image (or None), and whether one was refused (its
    message is then beside its field)."""
    images, refused = [], False
    for entry in form.guests:
        upload = entry.form.photo.data
        image = None
        if is_upload(upload):
            try:
                image = clean_document(upload.read())
            except PhotoError as error:
                add_error(entry.form.photo, str(error.message))
                refused = True
        images.append(image)
    return images, refused


def all_guest_problems(guests, now):
    return [problem for index, guest in enumerate(guests)
            for problem in guest_problems(guest, now, index)]


def place_problems(form, problems):
    """The service's Problems beside their guests' fields."""
    for problem in problems:
        if problem.index < len(form.guests):
            _place(form.guests[problem.index].form, form, problem)


def place_guest_problems(form, problems):
    """The same for a form of one guest (the correction)."""
    for problem in problems:
        _place(form, form, problem)


def _place(guest_form, form, problem):
    field = getattr(guest_form, problem.field, None)
    if field is None or not hasattr(field, "errors"):
        form.form_errors.append(problem.message)
    else:
        add_error(field, problem.message)


# --- one stay --------------------------------------------------------------------------------

def stay_page(stay, document_form, status=200):
    user = current_user._get_current_object()
    return render_template("guests/operator/stay.html", stay=stay,
                           row=GuestRow(stay, reveal(stay, user), sorted_flags(stay)),
                           history=history(stay), has_document=has_document(stay),
                           document_form=document_form, country_name=country_name,
                           permit_title=PermitKind(stay.permit_kind).title,
                           stay_state_title=StayState(stay.state).title,
                           **common(stay.organisation)), status


def current_values(stay, user):
    """The stay's fields as the correction form shows them (personal ones through reveal())."""
    personal = reveal(stay, user)
    values = {name: getattr(personal, name) for name in PERSONAL_FIELDS}
    values.update({name: getattr(stay, name) for name in GUEST_FIELD_NAMES
                   if name not in PERSONAL_FIELDS})
    values["checked_in_at"] = as_local(stay.checked_in_at, DEFAULT_UTC_OFFSET_MINUTES)
    return values


def correction_form(stay, form, status=200):
    return render_template("guests/operator/correct.html", stay=stay, form=form,
                           **common(stay.organisation)), status


def changed_values(stay, user, form):
    """The fields the correction changes (field → new value), compared as they are stored."""
    offset = form.offset()
    before = current_values(stay, user)
    before["checked_in_at"] = as_local(stay.checked_in_at, offset)
    after = form.guest_values(offset)
    typed_check_in = form.checked_in_at.data
    return {name: after[name] for name in GUEST_FIELD_NAMES
            if (_comparable(typed_check_in) if name == "checked_in_at"
                else _comparable(after[name])) != _comparable(before[name])}


def _comparable(value):
    if isinstance(value, str):
        return " ".join(value.split()).upper() or None
    return value


def history(stay):
    """The stay's changes as (when, who, what, reason): a personal field says only that the
    personal data was corrected; other fields say old → new."""
    return [(change.at, change.actor.name if change.actor else "–", _change_text(change),
             change.reason) for change in stay.changes]


def _change_text(change):
    if change.field in PERSONAL_FIELDS:
        return _("Personal data corrected")
    title = FIELD_TITLES.get(change.field, change.field)
    old, new = _shown(change.field, change.old_value), _shown(change.field, change.new_value)
    if change.old_value is None:
        return f"{title}: {new}"
    return f"{title}: {old} → {new}"


def _shown(field, value):
    if value is None:
        return "–"
    if field == "state":
        return str(StayState(value).title)
    if field == "permit_kind":
        return str(PermitKind(value).title)
    if field == "nationality":
        return f"{country_name(value)} ({value})"
    return _shown_time(value)


def _shown_time(value):
    try:
        if len(value) == 10:
            return format_date(date.fromisoformat(value), "medium")
        return format_datetime(datetime.fromisoformat(value), "medium")
    except ValueError:
        return value
