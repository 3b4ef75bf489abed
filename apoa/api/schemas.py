"""Marshmallow schemas of the public API (apoa/api/public.py): what its requests may carry and what
its answers hold, so that the OpenAPI document says exactly what the API does.

Request bodies are described here but judged by the web form's rules (apoa/reports/intake.py), so
that every message a client sees is the form's own, translated one.
"""
from marshmallow import Schema, fields, validate

from apoa.reports.forms import MAX_PHOTOS
from apoa.reports.states import PlaceKind, PublicStatus

PHOTO_FILE = {"type": "string", "format": "binary"}
BASE64_PHOTO = {"type": "string", "contentEncoding": "base64",
                "description": "A JPEG, PNG or WebP photo, base64-encoded (metadata is removed)."}


class ProblemSchema(Schema):
    """RFC 9457 problem details, the answer to every error."""

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True, metadata={"description": "Translated title."})
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "Per field (by its name in the request), the messages saying what to "
                       "change, translated."})


class CategorySchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True, metadata={"example": "illegal_work"})
    name = fields.String(required=True, metadata={"description": "In the request's language."})


class ContactSchema(Schema):
    name = fields.String(validate=validate.Length(max=120))
    phone = fields.String(validate=validate.Length(max=30), metadata={
        "description": "8 to 15 digits."})
    email = fields.String(validate=validate.Length(max=254), metadata={"format": "email"})


class _ReportFields(Schema):
    category_id = fields.Integer(required=True, metadata={
        "description": "The id of a category from GET /api/v1/categories."})
    description = fields.String(required=True, validate=validate.Length(min=10, max=2000))
    people_count = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    nationality = fields.String(metadata={
        "description": "ISO 3166-1 alpha-2 code of the people's country, if known.",
        "example": "CN"})
    place_kind = fields.String(required=True, validate=validate.OneOf([p.value for p in PlaceKind]))
    observed_at = fields.String(required=True, metadata={
        "format": "date-time", "example": "2026-03-01T14:30:00+07:00",
        "description": "When it was seen: RFC 3339 with its UTC offset; at most 10 minutes in "
                       "the future and within the reporting period."})
    latitude = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy_m = fields.Float(metadata={"description": "The position's accuracy in metres."})
    address = fields.String(validate=validate.Length(max=500))
    consent = fields.Boolean(required=True, metadata={
        "description": "Must be true: the reporter confirms the report is made in good faith."})


class ReportJsonSchema(_ReportFields):
    contact = fields.Nested(ContactSchema, metadata={
        "description": "Absent: an anonymous report. Present: a phone or an email is required; "
                       "only the office's officers can read it."})
    photos = fields.List(fields.String(metadata=BASE64_PHOTO),
                         validate=validate.Length(max=MAX_PHOTOS))


class ReportMultipartSchema(_ReportFields):
    contact_name = fields.String(validate=validate.Length(max=120))
    contact_phone = fields.String(validate=validate.Length(max=30))
    contact_email = fields.String(validate=validate.Length(max=254))
    photos = fields.List(fields.Raw(metadata=PHOTO_FILE), validate=validate.Length(max=MAX_PHOTOS))


class FollowUpJsonSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(min=10, max=2000))
    photos = fields.List(fields.String(metadata=BASE64_PHOTO),
                         validate=validate.Length(max=MAX_PHOTOS))


class FollowUpMultipartSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(min=10, max=2000))
    photos = fields.List(fields.Raw(metadata=PHOTO_FILE), validate=validate.Length(max=MAX_PHOTOS))


class SubmittedSchema(Schema):
    tracking_code = fields.String(required=True, metadata={"example": "ABCDE-FGHJK-MNPQ"})
    status = fields.String(required=True, validate=validate.OneOf(["received"]))
    receipt_url = fields.Url(required=True, metadata={
        "description": "The receipt page, for people (with a QR code)."})
    status_url = fields.Url(required=True, metadata={"description": "The status, as JSON."})


class StatusTitleSchema(Schema):
    key = fields.String(required=True, validate=validate.OneOf([s.value for s in PublicStatus]))
    title = fields.String(required=True, metadata={"description": "In the request's language."})


class PublicStatusSchema(Schema):
    """All that is public of a report."""

    tracking_code = fields.String(required=True)
    status = fields.Nested(StatusTitleSchema, required=True)
    received_at = fields.DateTime(required=True, format="iso")
    updated_at = fields.DateTime(required=True, format="iso")
    closed_at = fields.DateTime(required=True, allow_none=True, format="iso")
    follow_ups = fields.Integer(required=True, metadata={
        "description": "How many times additional information was sent."})
