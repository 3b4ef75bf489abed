"""The public report form, the status lookup and the follow-up form.

Forms turn input into clean values once: a validated point, an aware datetime, sanitised photos;
services receive only those. Photos chosen once stay with the form across its errors (KeepsPhotos,
apoa/reports/pending.py).
"""
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from babel import Locale
from flask import current_app
from flask_babel import get_locale, lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from wtforms import (BooleanField, DateTimeLocalField, EmailField, Field, FileField, HiddenField,
                     IntegerField, MultipleFileField, RadioField, SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import (DataRequired, Email, InputRequired, Length, NumberRange, Optional,
                                ValidationError)
from wtforms.widgets import html_params

from apoa.extensions import db
from apoa.forms import BaseForm, without_controls
from apoa.reports import pending
from apoa.reports.models import Category
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


# The form's category list is read at most this often per process (an admin's change reaches
# the other app processes within this time; this process's own changes at once).
CATEGORY_TTL_S = 30.0
_CATEGORIES_CHANGED = "apoa_categories_changed"
# {database URI: (read again after this monotonic time, rows)}: apps on other databases (tests,
# benchmarks) never share a list.
_category_cache = {}


@dataclass(frozen=True)
class CategoryChoice:
    """An active category as the form offers it: a plain row, shared by all requests."""

    id: int
    code: str
    name_id: str
    name_en: str

    def name_for(self, locale):
        return self.name_en if str(locale) == "en" else self.name_id


def category_choices():
    """The active categories in their order, from a per-process cache of CATEGORY_TTL_S."""
    now = time.monotonic()
    database = current_app.config["SQLALCHEMY_DATABASE_URI"]
    until, rows = _category_cache.get(database, (0.0, ()))
    if now >= until:
        rows = tuple(CategoryChoice(*row) for row in db.session.execute(
            select(Category.id, Category.code, Category.name_id, Category.name_en)
            .where(Category.active).order_by(Category.position)))
        _category_cache[database] = (now + CATEGORY_TTL_S, rows)
    return rows


def forget_categories():
    _category_cache.clear()


@event.listens_for(Session, "after_flush")
def _categories_flushed(session, _context):
    if any(isinstance(o, Category) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CATEGORIES_CHANGED] = True
        forget_categories()


@event.listens_for(Session, "after_transaction_end")
def _categories_settled(session, transaction):
    # Committed or rolled back: read again, whichever it was.
    if session.info.get(_CATEGORIES_CHANGED):
        forget_categories()
        if transaction.parent is None:
            session.info.pop(_CATEGORIES_CHANGED, None)


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


def country_name(code):
    """The name of the country `code` in the interface language ("" for none)."""
    return dict(_countries(str(get_locale()))).get(code, code or "")


def country_code(typed):
    """The country a resident typed or picked: its name in Indonesian or English, or its ISO
    code, in any case; None when it names no country we list."""
    return _country_index(str(get_locale())).get(_folded(typed))


def _folded(text):
    return " ".join((text or "").split()).casefold()


@lru_cache(maxsize=8)
def _country_index(locale):
    index = {}
    for language in ("en", "id", locale):
        index.update((_folded(name), code) for code, name in _countries(language))
    index.update((code.casefold(), code) for code, _name in _countries("en"))
    return index


class CountryInput:
    """A text field with the country names to pick from as one types (<datalist>): a searchable
    picker that needs no script, and a phone shows it as suggestions above its keyboard."""

    def __call__(self, field, **kwargs):
        list_id = f"{field.id}-countries"
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("autocomplete", "off")
        attributes = html_params(name=field.name, type="text", list=list_id,
                                 value=field._value(), **kwargs)
        options = Markup("").join(Markup('<option value="{}">').format(name)
                                  for _code, name in _countries(str(get_locale())))
        return Markup('<input {}><datalist id="{}">{}</datalist>').format(
            Markup(attributes), list_id, options)


class CountryField(StringField):
    """A country typed or picked by name; `data` is its ISO code, or None when left empty. What
    was typed is shown again as typed, so a misspelt name stays beside its message."""

    widget = CountryInput()
    typed = ""

    def process_formdata(self, valuelist):
        typed = without_controls(valuelist[0] if valuelist else "")
        self.typed = " ".join(typed.split())[:100]
        self.data = country_code(self.typed)

    def _value(self):
        return self.typed or country_name(self.data)

    def pre_validate(self, form):
        if self.typed and self.data is None:
            raise ValidationError(_l("Choose a country from the list, or leave the field empty."))


def optional_id(value):
    """Coerce a select's value: "" (nothing chosen yet) is None; never raises, so a bad value is
    "not a valid choice"."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return -1


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


class KeptPhotosField(Field):
    """The photos a form already holds from an earlier try, each named by its digest
    (apoa/reports/pending.py) in a ticked "keep" box; untick one to drop it. `photos` holds them
    as KeptPhotos once the form validated. Drawn by the `kept_photos` macro of
    templates/macros/forms.html."""

    photos = ()

    def process_data(self, value):
        self.data = []

    def process_formdata(self, valuelist):
        self.data = [value for value in valuelist if pending.PHOTO_ID.fullmatch(value or "")]


def sanitise_uploads(uploads):
    """The uploads as sanitised photos, and the messages of those refused."""
    images, problems = [], []
    for upload in uploads:
        try:
            images.append(sanitize_image(upload.read(), max_bytes=MAX_PHOTO_BYTES))
        except PhotoError as error:
            problems.append(error.message)
    return images, problems


class KeepsPhotos:
    """For forms with a `photos` upload field and a `kept_photos` field: the photos of every try
    are kept for this browser session under the form's key (`form_key()`), so an error anywhere
    in the form never makes anyone choose them again. `clean_photos` is what the form holds."""

    def form_key(self):
        raise NotImplementedError

    def validate_photos(self, field):
        kept, expired = pending.load(self.form_key(), self.kept_photos.data)
        uploads = [f for f in field.data or [] if is_upload(f)]
        if len(uploads) > MAX_PHOTOS:
            new, problems = [], []  # refused unread: decoding them would cost for nothing
        else:
            new, problems = sanitise_uploads(uploads)
        photos = list({p.sha256: p for p in kept + new}.values())
        self.clean_photos = photos[:MAX_PHOTOS]
        self.kept_photos.photos = pending.keep(self.form_key(), self.clean_photos)
        if len(uploads) > MAX_PHOTOS or len(photos) > MAX_PHOTOS:
            raise ValidationError(_l("Attach at most %(n)d photos.", n=MAX_PHOTOS))
        if problems:
            raise ValidationError(problems[0])
        if expired:
            raise ValidationError(_l("Photos you attached earlier are no longer kept. "
                                     "Please choose them again."))


class TypedCoordinates:
    """The checks of a form's `latitude` and `longitude` fields, which a person may type (the map
    fills them when it can)."""

    def validate_latitude(self, field):
        if parse_coordinate(field.data, -90, 90) is None:
            raise ValidationError(_l("Enter a latitude between -90 and 90, e.g. -6.1754."))

    def validate_longitude(self, field):
        if parse_coordinate(field.data, -180, 180) is None:
            raise ValidationError(_l("Enter a longitude between -180 and 180, e.g. 106.8271."))


class ReportForm(KeepsPhotos, TypedCoordinates, BaseForm):
    # Nothing is chosen in advance: a resident must say what the report is about.
    category = SelectField(_l("What is the report about?"), coerce=optional_id,
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
    nationality = CountryField(_l("Nationality, if known"))
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
    kept_photos = KeptPhotosField(_l("Already attached"))
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
        self.category.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(c.id, c.name_for(get_locale())) for c in categories]
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

    def form_key(self):
        return self.submission_key.data

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
