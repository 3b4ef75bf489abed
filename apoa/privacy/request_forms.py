"""The forms of data-subject requests: the requester's (by account, by tracking code, as a
reported person, coming back with the reference and secret) and those who answer (the admin's
correction, erasure and refusal; the supervisor's decision)."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, RadioField, SelectChoice, SelectField, StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from apoa.forms import BaseForm
from apoa.privacy.models import RequestKind, RequestState
from apoa.privacy.requests import MAX_TEXT, MIN_REASON
from apoa.whatsapp.numbers import normalise as normalise_phone


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


def kind_choices():
    return [SelectChoice(kind.value, kind.title) for kind in RequestKind]


def _kind_field():
    return RadioField(_l("What do you ask for?"), choices=kind_choices,
                      validators=[InputRequired(_l("Choose what you ask for."))])


def _text_field(label):
    return TextAreaField(label, filters=[_stripped], validators=[
        Optional(), Length(max=MAX_TEXT, message=_l("Write at most %(max)d characters."))])


def _phone_check(form, field):
    if field.data and normalise_phone(field.data) is None:
        raise ValidationError(_l("Enter a phone number of 8 to 15 digits."))


class _WithKindAndText(BaseForm):
    kind = _kind_field()
    text = _text_field(_l("Details (what to correct, or anything we should know)"))

    def validate(self, extra_validators=None):
        # Beside the field, after its own checks (Optional() ends a field's chain when empty).
        valid = super().validate(extra_validators)
        if self.kind.data == RequestKind.correction.value and not self.text.data:
            self.text.errors.append(_l("Say what should be corrected."))
            return False
        return valid


class AccountRequestForm(_WithKindAndText):
    """A signed-in resident: about the account and every report made with it."""


class CodeRequestForm(_WithKindAndText):
    """Without an account: one report, proven by its tracking code and the contact given on it."""

    code = StringField(_l("Tracking code"), filters=[_stripped], validators=[
        DataRequired(_l("Enter the tracking code of your report.")),
        Length(max=40, message=_l("Write at most %(max)d characters."))])
    contact = StringField(_l("The phone number or e-mail address you gave on the report"),
                          filters=[_stripped], validators=[
        DataRequired(_l("Enter the phone number or e-mail address you gave.")),
        Length(max=254, message=_l("Write at most %(max)d characters."))])
    text = _text_field(_l("Details (what to correct, or anything we should know)"))


class ReportedPersonForm(_WithKindAndText):
    """Someone who believes they were reported."""

    name = StringField(_l("Your full name"), filters=[_stripped], validators=[
        DataRequired(_l("Write your name.")),
        Length(max=120, message=_l("Write at most %(max)d characters."))])
    phone = StringField(_l("Phone / WhatsApp"), filters=[_stripped],
                        validators=[Optional(), Length(max=30), _phone_check])
    email = EmailField(_l("Email"), filters=[_stripped], validators=[
        Optional(), Email(_l("Enter a valid email address.")), Length(max=254)])
    kabupaten = SelectField(_l("Regency or city where you live or stay"), coerce=int,
                            validate_choice=True, validators=[
        InputRequired(_l("Choose a regency or city from the list."))])
    text = _text_field(_l("What is your request about?"))

    def __init__(self, kabupaten_choices, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kabupaten.choices = [(0, _l("Choose…"))] + list(kabupaten_choices)

    def validate_kabupaten(self, field):
        if not field.data:
            raise ValidationError(_l("Choose a regency or city from the list."))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if not (self.email.data or self.phone.data):
            self.phone.errors.append(_l("Enter a phone number or an email address, so that we "
                                        "can answer you."))
            return False
        return valid


class CheckRequestForm(BaseForm):
    reference = StringField(_l("Request reference"), filters=[_stripped], validators=[
        DataRequired(_l("Enter the reference of your request.")),
        Length(max=40, message=_l("Write at most %(max)d characters."))])
    secret = StringField(_l("Secret code"), filters=[_stripped], validators=[
        DataRequired(_l("Enter the secret code you were given with the reference.")),
        Length(max=40, message=_l("Write at most %(max)d characters."))])


def _reason_field(label):
    return TextAreaField(label, filters=[_stripped], validators=[
        DataRequired(_l("Give the reason.")),
        Length(min=MIN_REASON, max=MAX_TEXT,
               message=_l("Write between %(min)d and %(max)d characters."))])


class RefuseForm(BaseForm):
    reason = _reason_field(_l("Reason for refusing (the requester reads it)"))


class CorrectionForm(BaseForm):
    account_name = StringField(_l("Account name"), filters=[_stripped],
                               validators=[Optional(), Length(max=120)])
    account_email = EmailField(_l("Account e-mail"), filters=[_stripped], validators=[
        Optional(), Email(_l("Enter a valid email address.")), Length(max=254)])
    contact_name = StringField(_l("Contact name"), filters=[_stripped],
                               validators=[Optional(), Length(max=120)])
    contact_phone = StringField(_l("Contact phone"), filters=[_stripped],
                                validators=[Optional(), Length(max=30), _phone_check])
    contact_email = EmailField(_l("Contact e-mail"), filters=[_stripped], validators=[
        Optional(), Email(_l("Enter a valid email address.")), Length(max=254)])

    def changes(self):
        return {name: self[name].data or "" for name in
                ("account_name", "account_email", "contact_name", "contact_phone", "contact_email")}


class ErasureForm(BaseForm):
    keep_handled = BooleanField(_l("Keep the reports that are still being handled"))
    reason = TextAreaField(_l("Reason for keeping them (the requester reads it)"),
                           filters=[_stripped], validators=[
        Optional(), Length(max=MAX_TEXT, message=_l("Write at most %(max)d characters."))])

    def validate_reason(self, field):
        if self.keep_handled.data and len(field.data or "") < MIN_REASON:
            raise ValidationError(_l("Give a reason of at least %(n)d characters.", n=MIN_REASON))


def decision_choices():
    return [SelectChoice(RequestState.partly_done.value, _l("Grant in part")),
            SelectChoice(RequestState.refused.value, _l("Refuse"))]


class DecisionForm(BaseForm):
    decision = RadioField(_l("Decision"), choices=decision_choices,
                          validators=[InputRequired(_l("Choose a decision."))])
    reason = _reason_field(_l("Reason (the requester reads it)"))
