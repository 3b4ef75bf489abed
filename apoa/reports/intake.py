"""A report from fields that did not come through the web page: the JSON API, Open311, and (by
report_from_form) the web form itself, all validated by ReportForm's one set of rules.

A caller hands over the web form's field names (category, description, people_count, ...,
consent) and the uploaded photos; it gets a NewReport or FieldErrors with every field's messages,
translated. Photos are only sanitised here: an API client sends them again with its next try, so
nothing is kept in a browser session (the web form's KeepsPhotos does that for people).
"""
import uuid
from datetime import datetime, timedelta

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from wtforms.validators import ValidationError

from apoa.errors import UserValueError
from apoa.reports.contact import Contact
from wtforms import MultipleFileField

from apoa.reports.forms import (MAX_PHOTOS, FollowUpForm, ReportForm, category_choices, is_upload,
                                sanitise_uploads)
from apoa.reports.services import NewReport

# ReportForm's observed_at takes a local time without zone; an aware time is written this way.
LOCAL_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
# The zones a place on Earth uses lie within ±14 hours (ReportForm.utc_offset's bounds).
MAX_OFFSET = timedelta(hours=14)


class FieldErrors(UserValueError):
    """Fields that are not valid: `errors` maps each field's name to its messages (translated)."""

    status = 422

    def __init__(self, errors, message=None):
        super().__init__(message or _("Some of the values sent are not valid."))
        self.errors = errors


def sanitised_photos(form, field):
    """The photos of a request that carries every photo itself: sanitised within the web form's
    limits, never kept for a later try. Sets `form.clean_photos`."""
    uploads = [f for f in field.data or [] if is_upload(f)]
    if len(uploads) > MAX_PHOTOS:
        raise ValidationError(_("Attach at most %(n)d photos.", n=MAX_PHOTOS))
    photos, problems = sanitise_uploads(uploads)
    form.clean_photos = list({p.sha256: p for p in photos}.values())
    if problems:
        raise ValidationError(problems[0])


class UploadedReportForm(ReportForm):
    """ReportForm whose photos all come with the request."""

    def validate_photos(self, field):
        sanitised_photos(self, field)


class UploadedFollowUpForm(FollowUpForm):
    """FollowUpForm with up to MAX_PHOTOS photos, all coming with the request."""

    photos = MultipleFileField()

    def validate_photos(self, field):
        sanitised_photos(self, field)


def report_from_fields(fields, photos=(), submission_key=None, channel="api"):
    """A NewReport from the web form's field names in `fields` (a dict or MultiDict) and `photos`
    (FileStorage), made with `submission_key` (a new one when None); FieldErrors when invalid.

    observed_at is either the form's local "YYYY-MM-DDTHH:MM" with utc_offset (minutes east of
    UTC), or an ISO 8601 time with its offset ("2026-03-01T14:30:00+07:00"), which wins over
    utc_offset.
    """
    formdata = _as_formdata(fields)
    for photo in photos:
        formdata.add("photos", photo)
    form = UploadedReportForm(category_choices(), formdata=formdata, meta={"csrf": False})
    form.submission_key.data = str(submission_key or uuid.uuid4())
    if not form.validate():
        raise FieldErrors(translated_errors(form))
    return report_from_form(form, channel=channel)


def _as_formdata(fields):
    if isinstance(fields, MultiDict):
        formdata = MultiDict(fields.items(multi=True))
    else:
        formdata = MultiDict({name: _as_text(value) for name, value in (fields or {}).items()
                              if value is not None})
    aware = _aware_time(formdata.get("observed_at"))
    if aware is not None:
        formdata["observed_at"] = aware.strftime(LOCAL_TIME_FORMAT)
        formdata["utc_offset"] = str(int(aware.utcoffset().total_seconds() // 60))
    return formdata


def _as_text(value):
    # Form fields are text: JSON's true, 3 and 1.5 become "y", "3" and "1.5" (a BooleanField
    # takes any non-empty text other than "false" as ticked, so false must stay false).
    if value is True:
        return "y"
    if value is False:
        return "false"
    return str(value)


def _aware_time(raw):
    """`raw` as a datetime when it is an ISO 8601 time with a plausible UTC offset, else None
    (the form then judges it as a local time)."""
    try:
        value = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if value is None or value.tzinfo is None or abs(value.utcoffset()) > MAX_OFFSET:
        return None
    return value


def translated_errors(form):
    """Every field's messages as text in the request's language ({field: [message]})."""
    return {name or "_form": [str(message) for message in messages]
            for name, messages in form.errors.items()}


def report_from_form(form, channel="web"):
    """The NewReport of a validated ReportForm."""
    contact = None
    if form.reporter.data == "contact":
        contact = Contact(name=form.contact_name.data or None,
                          phone=form.contact_phone.data or None,
                          email=form.contact_email.data or None)
    return NewReport(
        category_id=form.category.data, description=form.description.data,
        people_count=form.people_count.data, place_kind=form.place_kind.data,
        observed_at=form.observed_at_utc(), point=form.coordinates(),
        submission_key=valid_key(form.submission_key.data),
        nationality=form.nationality.data or None, accuracy_m=form.accuracy(),
        address=form.address.data, photos=form.clean_photos, contact=contact, channel=channel)


def valid_key(raw):
    try:
        return str(uuid.UUID(raw))
    except (TypeError, ValueError):
        return str(uuid.uuid4())  # a form without a key still works, it just is not idempotent


def follow_up_from_fields(fields, photos=()):
    """(note, sanitised photos) of a follow-up by FollowUpForm's rules; FieldErrors when invalid."""
    formdata = _as_formdata(fields)
    for photo in photos:
        formdata.add("photos", photo)
    form = UploadedFollowUpForm(formdata=formdata, meta={"csrf": False})
    if not form.validate():
        raise FieldErrors(translated_errors(form))
    return form.note.data, form.clean_photos
