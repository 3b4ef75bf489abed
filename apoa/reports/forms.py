"""The public report form, the status lookup and the follow-up form.

Forms turn input into clean values once: a validated point, an aware datetime, sanitised photos;
services receive only those.
"""
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from babel import Locale
from flask import current_app
from flask_babel import get_locale, lazy_gettext as _l
from werkzeug.datastructures import FileStorage
from wtforms import (BooleanField, DateTimeLocalField, EmailField, FileField, HiddenField,
                     IntegerField, MultipleFileField, RadioField, SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import (DataRequired, Email, InputRequired, Length, NumberRange, Optional,
                                ValidationError)

from apoa.forms import BaseForm
from apoa.reports.photos import PhotoError, sanitize_image
from apoa.reports.states import PlaceKind

MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 10 * 1024 * 1024
# Clocks of phones drift; a few minutes "in the future" is still now.
CLOCK_SKEW = timedelta(minutes=10)
# Without JavaScript the browser cannot tell us its zone; most residents live in WIB (UTC+7).
DEFAULT_UTC_OFFSET_MINUTES = 7 * 60
# Not foreign: Indonesia itself, and codes that name no country.
NOT_COUNTRIES = {"ID", "EU", "EZ", "UN", "ZZ", "QO", "XA", "XB"}


def country_choices():
    """ISO 3166 country codes with names in the interface language, sorted by name."""
    return [SelectChoice("", _l("Unknown"))] + [
        SelectChoice(code, name) for code, name in _countries(str(get_locale()))]


@lru_cache(maxsize=8)
def _countries(locale):
    # The same few hundred names for every form of a language: sorting them once is enough.
    names = Locale.parse(locale).territories
    return tuple(sorted(((code, name) for code, name in names.items()
                         if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES),
                        key=lambda pair: pair[1]))


def is_upload(value):
    """Whether a file field's value is a file that was chosen (a form sent by hand may give text,
    and a browser gives an empty file when none was chosen)."""
    return isinstance(value, FileStorage) and bool(value.filename)


def parse_coordinate(raw, low, high):
    """A decimal degree from a phone keyboard: accepts a comma as decimal separator."""
    try:
        value = float((raw or "").strip().replace(",", "."))
    except ValueError:
        return None
    return value if low <= value <= high else None


class ReportForm(BaseForm):
    category = SelectField(_l("What is the report about?"), coerce=int,
                           validators=[InputRequired(_l("Choose what the report is about."))])
    description = TextAreaField(
        _l("What did you see?"),
        validators=[DataRequired(_l("Describe what you saw.")),
                    Length(min=10, max=2000,
                           message=_l("Write between %(min)d and %(max)d characters."))])
    people_count = IntegerField(
        _l("How many people?"), default=1,
        validators=[InputRequired(_l("Enter the number of people.")),
                    NumberRange(min=1, max=1000,
                                message=_l("Enter a number from %(min)s to %(max)s."))])
    nationality = SelectField(_l("Nationality, if known"), default="", validate_choice=True)
    place_kind = SelectField(_l("Kind of place"),
                             choices=[SelectChoice(p.value, p.title) for p in PlaceKind],
                             default=PlaceKind.residence.value)
    observed_at = DateTimeLocalField(_l("When did you see it?"),
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     validators=[InputRequired(_l("Enter the date and time."))])
    utc_offset = HiddenField(default=str(DEFAULT_UTC_OFFSET_MINUTES))
    latitude = StringField(_l("Latitude"), validators=[
        DataRequired(_l("Mark the place on the map or enter its latitude."))])
    longitude = StringField(_l("Longitude"), validators=[
        DataRequired(_l("Mark the place on the map or enter its longitude."))])
    accuracy_m = HiddenField()
    address = StringField(_l("Address or landmark"), validators=[Optional(), Length(max=500)])
    photos = MultipleFileField(_l("Photos (up to 3)"))
    reporter = RadioField(_l("Your contact details"), default="anonymous",
                          choices=[SelectChoice("anonymous", _l("Report anonymously")),
                                   SelectChoice("contact",
                                                _l("Leave my contact details for the officers"))])
    contact_name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    contact_phone = StringField(_l("Phone / WhatsApp"), validators=[Optional(), Length(max=30)])
    contact_email = EmailField(_l("Email"),
                               validators=[Optional(), Email(_l("Enter a valid email address.")),
                                           Length(max=254)])
    consent = BooleanField(_l("I confirm that this report is true to the best of my knowledge "
                              "and that I made it in good faith."),
                           validators=[DataRequired(
                               _l("Please confirm the statement to send the report."))])
    # Left empty by people; bots fill every field they find.
    website = StringField(_l("Leave this field empty"))
    started_at = HiddenField()
    submission_key = HiddenField()

    def __init__(self, categories, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice(c.id, c.name_for(get_locale())) for c in categories]
        self.nationality.choices = country_choices()
        self.point = None
        self.clean_photos = []

    def validate_observed_at(self, field):
        if field.data is None:
            return
        observed = self.observed_at_utc()
        now = datetime.now(timezone.utc)
        if observed > now + CLOCK_SKEW:
            raise ValidationError(_l("The time cannot be in the future."))
        if observed < now - timedelta(days=current_app.config["REPORT_MAX_AGE_DAYS"]):
            raise ValidationError(_l("Reports can be made up to %(days)d days after the event.",
                                     days=current_app.config["REPORT_MAX_AGE_DAYS"]))

    def observed_at_utc(self):
        offset = self._utc_offset_minutes()
        local = self.observed_at.data.replace(tzinfo=timezone(timedelta(minutes=offset)))
        return local.astimezone(timezone.utc)

    def _utc_offset_minutes(self):
        try:
            offset = int(self.utc_offset.data)
        except (TypeError, ValueError):
            return DEFAULT_UTC_OFFSET_MINUTES
        return offset if -14 * 60 <= offset <= 14 * 60 else DEFAULT_UTC_OFFSET_MINUTES

    def validate_latitude(self, field):
        if parse_coordinate(field.data, -90, 90) is None:
            raise ValidationError(_l("Enter a latitude between -90 and 90, e.g. -6.1754."))

    def validate_longitude(self, field):
        if parse_coordinate(field.data, -180, 180) is None:
            raise ValidationError(_l("Enter a longitude between -180 and 180, e.g. 106.8271."))

    def coordinates(self):
        """(lon, lat) once latitude and longitude validated, else None."""
        lat = parse_coordinate(self.latitude.data, -90, 90)
        lon = parse_coordinate(self.longitude.data, -180, 180)
        return None if lat is None or lon is None else (lon, lat)

    def accuracy(self):
        try:
            value = float(self.accuracy_m.data)
        except (TypeError, ValueError):
            return None
        return round(value, 1) if 0 <= value < 100_000 else None

    def validate_photos(self, field):
        uploads = [f for f in field.data or [] if is_upload(f)]
        if len(uploads) > MAX_PHOTOS:
            raise ValidationError(_l("Attach at most %(n)d photos.", n=MAX_PHOTOS))
        try:
            self.clean_photos = [sanitize_image(upload.read(), max_bytes=MAX_PHOTO_BYTES)
                                 for upload in uploads]
        except PhotoError as error:
            raise ValidationError(error.message) from None

    def validate_reporter(self, field):
        if field.data == "contact" and not (self.contact_phone.data or self.contact_email.data):
            raise ValidationError(_l("Enter a phone number or an email address, "
                                     "or choose to report anonymously."))

    def validate_contact_phone(self, field):
        digits = "".join(ch for ch in field.data or "" if ch.isdigit())
        if field.data and not 8 <= len(digits) <= 15:
            raise ValidationError(_l("Enter a phone number of 8 to 15 digits."))


class StatusLookupForm(BaseForm):
    code = StringField(_l("Tracking code"),
                       validators=[DataRequired(_l("Enter your tracking code.")), Length(max=40)])


class FollowUpForm(BaseForm):
    note = TextAreaField(_l("Additional information"),
                         validators=[DataRequired(_l("Write the additional information.")),
                                     Length(min=10, max=2000, message=_l(
                                         "Write between %(min)d and %(max)d characters."))])
    photo = FileField(_l("Photo (optional)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.clean_photos = []

    def validate_photo(self, field):
        if is_upload(field.data):
            try:
                self.clean_photos = [sanitize_image(field.data.read(), max_bytes=MAX_PHOTO_BYTES)]
            except PhotoError as error:
                raise ValidationError(error.message) from None
