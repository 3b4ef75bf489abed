"""Marshmallow schemas of the public API's complaints (POST /api/v1/complaints and reading the
answer back, apoa/api/public.py), for the OpenAPI document. The fields are judged by the web form's
rules (apoa/feedback/public_forms.py), so every message a client sees is the form's own."""
from marshmallow import Schema, fields, validate

from apoa.feedback.models import CaseKind, CaseState
from apoa.feedback.public_forms import TEXT_LENGTH

SECRET_HEADER = "Complaint-Secret"


class ComplaintRequestSchema(Schema):
    kind = fields.String(validate=validate.OneOf([k.value for k in CaseKind]), metadata={
        "description": "complaint (the default) or question."})
    text = fields.String(required=True, validate=validate.Length(*TEXT_LENGTH))
    tracking_code = fields.String(validate=validate.Length(max=40), metadata={
        "description": "The tracking code of the report it is about: the office handling that "
                       "report answers. Required unless region_code is given.",
        "example": "ABCDE-FGHJK-MNPQ"})
    region_code = fields.String(validate=validate.Length(max=16), metadata={
        "description": "The Kemendagri code of the regency or city (a kecamatan's code is taken "
                       "as its regency's): the office holding it answers. Required unless "
                       "tracking_code is given.", "example": "32.15"})
    email = fields.String(validate=validate.Length(max=254), metadata={
        "format": "email",
        "description": "Where the answer is mailed too; kept encrypted, never shown to staff."})


class ComplaintReceivedSchema(Schema):
    reference = fields.String(required=True, metadata={"example": "7K3MQ-9XA2B"})
    secret = fields.String(required=True, metadata={
        "example": "4F7Q-WX2M-8KTR",
        "description": "Shown only here (and again for a retry with the same Idempotency-Key): "
                       "send it as the Complaint-Secret header to read the answer."})
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in CaseState]),
                           metadata={"description": "received; answered for a retry after the "
                                                    "answer."})
    due_at = fields.DateTime(required=True, format="iso", metadata={
        "description": "When the office is to have answered."})
    answer_url = fields.Url(required=True, metadata={"description": "Where to read the answer."})


class CaseStateSchema(Schema):
    key = fields.String(required=True, validate=validate.OneOf([s.value for s in CaseState]))
    title = fields.String(required=True, metadata={"description": "In the request's language."})


class ComplaintSchema(Schema):
    """All a resident reads of their complaint or question."""

    reference = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in CaseKind]))
    status = fields.Nested(CaseStateSchema, required=True)
    office = fields.String(required=True, metadata={"description": "The office answering."})
    text = fields.String(required=True, metadata={"description": "What the resident wrote."})
    received_at = fields.DateTime(required=True, format="iso")
    due_at = fields.DateTime(required=True, format="iso")
    answer = fields.String(required=True, allow_none=True)
    answered_at = fields.DateTime(required=True, allow_none=True, format="iso")
