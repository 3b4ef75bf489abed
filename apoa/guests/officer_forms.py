"""The immigration officers' forms about foreign guests: the decision on an organisation, the
filters of the guests present, the passport search and the reveal of a guest's data.

The services check everything again (a rejection's note, a reason's length, the passport number's
shape); the forms only say it next to the field first.
"""
from datetime import datetime, timezone

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, DateField, IntegerField, RadioField, SelectChoice, SelectField,
                     StringField, SubmitField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from apoa.forms import BaseForm
from apoa.guests.countries import nationality_choices
from apoa.guests.models import PermitKind
from apoa.guests.queries import GuestFilters, local_date
from apoa.guests.services import MIN_REASON_LENGTH, passport_number_ok

MAX_REASON = 500
REASON_LENGTH = Length(min=MIN_REASON_LENGTH, max=MAX_REASON,
                       message=_l("Write between %(min)d and %(max)d characters."))
MAX_EXPIRING_DAYS = 365


class DecisionForm(BaseForm):
    """Approve an organisation, or reject it with a note (its two buttons)."""

    note = TextAreaField(_l("Note (required to reject)"), validators=[
        Optional(), Length(max=2000, message=_l("Write at most %(max)d characters."))])
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))

    def validate_note(self, field):
        if self.reject.data and len((field.data or "").strip()) < MIN_REASON_LENGTH:
            raise ValidationError(_l("Explain the rejection in at least %(n)d characters.",
                                     n=MIN_REASON_LENGTH))

    @property
    def approves(self):
        return bool(self.approve.data) and not self.reject.data


def _optional_choice(value):
    return value or None


class GuestFilterForm(BaseForm):
    """The filters of the guests present (a GET form: a filtered list can be bookmarked)."""

    class Meta:
        csrf = False

    when = RadioField(_l("Staying"), default="now", choices=[
        SelectChoice("now", _l("Now")), SelectChoice("day", _l("On a date"))])
    day = DateField(_l("Date"), validators=[Optional()])
    nationality = SelectField(_l("Nationality"), coerce=_optional_choice, default="")
    permit_kind = SelectField(_l("Visa or stay permit"), coerce=_optional_choice, default="")
    expiring_within = IntegerField(_l("Permit expires within (days)"), validators=[
        Optional(), NumberRange(min=0, max=MAX_EXPIRING_DAYS,
                                message=_l("Give a number of days from %(min)d to %(max)d."))])
    expired = BooleanField(_l("Permit expired while still staying"))
    organisation = IntegerField(validators=[Optional()])

    def __init__(self, formdata):
        super().__init__(formdata=formdata)
        self.nationality.choices = [SelectChoice("", _l("All"))] + [
            SelectChoice(code, name) for code, name in nationality_choices()]
        self.permit_kind.choices = [SelectChoice("", _l("All"))] + [
            SelectChoice(kind.value, kind.title) for kind in PermitKind]

    def validate_day(self, field):
        if self.when.data != "day":
            return
        if field.data is None:
            raise ValidationError(_l("Choose the date."))
        if field.data > local_date(datetime.now(timezone.utc)):
            raise ValidationError(_l("Choose today or a date in the past."))

    def filters(self):
        """The filters as GuestFilters (an invalid form filters nothing it could not read)."""
        valid = not self.errors
        return GuestFilters(
            nationality=self.nationality.data if valid else None,
            permit_kind=self.permit_kind.data if valid else None,
            permit_expiring_within_days=self.expiring_within.data if valid else None,
            permit_expired=bool(self.expired.data) and valid,
            organisation_id=self.organisation.data if valid else None)

    def on_day(self):
        """The date asked for, or None for now."""
        return self.day.data if self.when.data == "day" and not self.errors else None


class PassportSearchForm(BaseForm):
    """Sent by POST: the number must not land in an address, a log or the browser's history."""

    number = StringField(_l("Passport number"), validators=[
        DataRequired(_l("Give the passport number.")), Length(max=40)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"})
    reason = TextAreaField(_l("Why do you search for this passport?"), validators=[
        DataRequired(_l("Give a reason of at least %(n)d characters for the search.",
                        n=MIN_REASON_LENGTH)), REASON_LENGTH])

    def validate_number(self, field):
        if not passport_number_ok(field.data):
            raise ValidationError(_l("Give the passport number: 3 to 20 letters and digits."))


class RevealGuestForm(BaseForm):
    reason = TextAreaField(_l("Why do you need this guest's personal data?"), validators=[
        DataRequired(_l("Give a reason of at least %(n)d characters for reading the guest's "
                        "data.", n=MIN_REASON_LENGTH)), REASON_LENGTH])
