"""The forms of the organisations' own pages: registering an organisation, adding a colleague,
checking guests in (one or a group, each with its MRZ lines and an optional passport page photo),
checking them out, correcting and cancelling an entry.

Forms check what a form can (required, lengths, a value from the list, a real date); what makes a
guest's data wrong (a birth date in the future, an arrival after the check-in) is the service's
to say (apoa/guests/services.py guest_problems), so the pages show its Problems beside the same
fields. Times are typed as the lodging's wall clock; the browser says its offset from UTC
(`utc_offset`, set by guest-checkin.js), and without it WIB is assumed.
"""
from datetime import date, datetime, timedelta, timezone

from flask_babel import lazy_gettext as _l
from wtforms import (DateField, DateTimeLocalField, EmailField, Field, FieldList, FileField,
                     FormField, HiddenField, RadioField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import (DataRequired, Email, InputRequired, Length, Optional)
from wtforms.widgets import DateInput

from apoa.forms import BaseForm
from apoa.guests.countries import nationality_choices
from apoa.guests.models import LodgingKind, OrganisationKind, PermitKind, Sex
from apoa.guests.services import MIN_REASON_LENGTH
from apoa.reports.forms import TypedCoordinates, parse_coordinate

MAX_GUESTS = 20
DEFAULT_UTC_OFFSET_MINUTES = 7 * 60   # WIB, where most lodgings are
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
# The earliest birth date anyone typing a guest's passport can mean.
EARLIEST_BIRTH = date(1900, 1, 1)
REASON_LENGTH = Length(min=MIN_REASON_LENGTH, max=1000,
                       message=_l("Write between %(min)d and %(max)d characters."))


def local_now(offset_minutes=DEFAULT_UTC_OFFSET_MINUTES):
    """Now on the lodging's wall clock, to the minute, as a datetime-local field shows it."""
    now = datetime.now(timezone.utc) + timedelta(minutes=offset_minutes)
    return now.replace(tzinfo=None, second=0, microsecond=0)


def utc_offset_minutes(field):
    try:
        offset = int(field.data)
    except (TypeError, ValueError):
        return DEFAULT_UTC_OFFSET_MINUTES
    return offset if -14 * 60 <= offset <= 14 * 60 else DEFAULT_UTC_OFFSET_MINUTES


def as_utc(local, offset_minutes):
    """A wall-clock time typed in a datetime-local field as an aware UTC datetime."""
    if local is None:
        return None
    return local.replace(tzinfo=timezone(timedelta(minutes=offset_minutes))).astimezone(
        timezone.utc)


def as_local(moment, offset_minutes):
    """An aware datetime as the naive wall-clock time a datetime-local field shows."""
    shifted = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    return shifted.replace(tzinfo=None, second=0, microsecond=0)


class BirthDateField(Field):
    """A date typed in a date input, which may lie long before the other dates of the app (the
    app-wide date bounds of apoa/forms.py start in 2000, a birth date may not)."""

    widget = DateInput()

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.isoformat() if self.data else ""

    def process_formdata(self, valuelist):
        typed = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not typed:
            return
        try:
            self.data = date.fromisoformat(typed)
        except ValueError:
            raise ValueError(self.gettext("Not a valid date value.")) from None
        if not EARLIEST_BIRTH <= self.data:
            self.data = None
            raise ValueError(self.gettext("Not a valid date value."))


def _choose(pairs):
    return [SelectChoice("", _l("Choose…")),
            *(SelectChoice(value, title) for value, title in pairs)]


def nationality_options():
    return _choose((code, f"{name} ({code})") for code, name in nationality_choices())


class GuestFields:
    """A guest's fields, named as apoa/guests/services.py GuestData names them, so that a Problem
    lands beside its field."""

    surname = StringField(_l("Surname"), validators=[
        InputRequired(_l("Give the surname as printed in the passport.")), Length(max=100)])
    given_names = StringField(_l("Given names"), validators=[Optional(), Length(max=150)])
    sex = SelectField(_l("Sex"), choices=lambda: _choose((s.value, s.title) for s in Sex),
                      validators=[InputRequired(_l("Choose the sex as printed in the passport."))])
    date_of_birth = BirthDateField(_l("Date of birth"), validators=[
        InputRequired(_l("Give the date of birth."))])
    nationality = SelectField(_l("Nationality"), choices=nationality_options,
                              validators=[InputRequired(_l("Choose the nationality."))])
    passport_number = StringField(_l("Passport number"), validators=[
        InputRequired(_l("Give the passport number.")), Length(max=40)])
    passport_expiry = DateField(_l("Passport valid until"), validators=[
        InputRequired(_l("Give the passport's expiry date."))])
    permit_kind = SelectField(_l("Visa or stay permit"),
                              choices=lambda: _choose((k.value, k.title) for k in PermitKind),
                              validators=[InputRequired(_l("Choose the kind of visa or stay "
                                                           "permit."))])
    permit_number = StringField(_l("Visa or permit number"),
                                validators=[Optional(), Length(max=40)])
    permit_expiry = DateField(_l("Visa or permit valid until"), validators=[Optional()])
    arrived_in_indonesia = DateField(_l("Arrival in Indonesia"), validators=[
        InputRequired(_l("Give the date the guest arrived in Indonesia."))])
    checked_in_at = DateTimeLocalField(_l("Check-in date and time"), format=DATETIME_FORMATS,
                                       default=local_now, validators=[
                                           InputRequired(_l("Give the check-in date and time."))])
    planned_check_out = DateField(_l("Planned check-out"), validators=[Optional()])
    room = StringField(_l("Room"), validators=[Optional(), Length(max=20)])

    def guest_values(self, offset_minutes):
        """The fields as GuestData's keyword arguments (the check-in time in UTC)."""
        values = {name: getattr(self, name).data for name in GUEST_FIELD_NAMES}
        values["checked_in_at"] = as_utc(values["checked_in_at"], offset_minutes)
        return values


GUEST_FIELD_NAMES = ("surname", "given_names", "sex", "date_of_birth", "nationality",
                     "passport_number", "passport_expiry", "permit_kind", "permit_number",
                     "permit_expiry", "arrived_in_indonesia", "checked_in_at",
                     "planned_check_out", "room")


class GuestForm(GuestFields, BaseForm):
    """One guest of a check-in: its MRZ lines, its fields, a photo of the passport page."""

    class Meta:
        csrf = False  # the check-in form around it carries the token

    mrz = TextAreaField(_l("Passport MRZ (the two lines at the bottom of the data page)"),
                        validators=[Optional(), Length(max=400)])
    photo = FileField(_l("Photo of the passport data page (optional)"))


class CheckInForm(BaseForm):
    guests = FieldList(FormField(GuestForm), min_entries=1, max_entries=MAX_GUESTS)
    utc_offset = HiddenField(default=str(DEFAULT_UTC_OFFSET_MINUTES))

    def offset(self):
        return utc_offset_minutes(self.utc_offset)


class MrzForm(BaseForm):
    """The JSON endpoint's input: the pasted lines."""

    mrz = TextAreaField(validators=[Length(max=400)])


class OrganisationForm(TypedCoordinates, BaseForm):
    kind = RadioField(_l("What reports the guests"), default=OrganisationKind.lodging.value,
                      choices=[SelectChoice(k.value, k.title) for k in OrganisationKind],
                      validators=[InputRequired(_l("Choose what kind of organisation this is."))])
    name = StringField(_l("Name of the lodging, company or host"), validators=[
        DataRequired(_l("Give the name.")),
        Length(min=2, max=200, message=_l("Write between %(min)d and %(max)d characters."))])
    licence_no = StringField(_l("Business licence number (NIB)"),
                             validators=[Optional(), Length(max=40)])
    lodging_kind = SelectField(_l("Kind of lodging"),
                               choices=lambda: _choose((k.value, k.title) for k in LodgingKind),
                               validate_choice=False)
    address = TextAreaField(_l("Address"), validators=[
        DataRequired(_l("Give the address.")), Length(max=500)])
    latitude = StringField(_l("Latitude"), validators=[
        DataRequired(_l("Mark the place on the map or enter its latitude."))])
    longitude = StringField(_l("Longitude"), validators=[
        DataRequired(_l("Mark the place on the map or enter its longitude."))])

    def point(self):
        """(lon, lat) of the validated form."""
        return (parse_coordinate(self.longitude.data, -180, 180),
                parse_coordinate(self.latitude.data, -90, 90))


class MemberForm(BaseForm):
    email = EmailField(_l("Your colleague's email"), validators=[
        DataRequired(_l("Enter your colleague's email address.")),
        Email(_l("Enter a valid email address.")), Length(max=254)])
    name = StringField(_l("Your colleague's name"), validators=[Optional(), Length(max=120)])


class CheckOutForm(BaseForm):
    checked_out_at = DateTimeLocalField(_l("Check-out date and time"), format=DATETIME_FORMATS,
                                        default=local_now, validators=[
                                            InputRequired(_l("Give the check-out date and "
                                                             "time."))])
    utc_offset = HiddenField(default=str(DEFAULT_UTC_OFFSET_MINUTES))

    def moment(self):
        return as_utc(self.checked_out_at.data, utc_offset_minutes(self.utc_offset))


class CorrectionForm(GuestFields, BaseForm):
    utc_offset = HiddenField(default=str(DEFAULT_UTC_OFFSET_MINUTES))
    reason = TextAreaField(_l("Reason for the correction"), validators=[
        DataRequired(_l("Explain the correction.")), REASON_LENGTH])

    def offset(self):
        return utc_offset_minutes(self.utc_offset)


class CancelForm(BaseForm):
    reason = TextAreaField(_l("Reason for cancelling"), validators=[
        DataRequired(_l("Explain why the entry is wrong.")), REASON_LENGTH])


class DocumentForm(BaseForm):
    photo = FileField(_l("Photo of the passport data page"))


class DocumentReasonForm(BaseForm):
    """An officer's reason for seeing a passport page (members need none)."""

    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=1000)])
