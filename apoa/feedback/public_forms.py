"""The forms of a resident's complaint or question (the web page /keluhan; the public API judges
its fields with the same form) and of reading the answer back with the reference and the secret.

Where the case goes is decided once the fields are read (`ComplaintForm.office_id`): the office of
the report named by its tracking code, else the office holding the regency or city chosen
(apoa/feedback/public_cases.py). A tracking code that finds nothing is an error beside its field,
and `code_missed` tells the view to count it against the tracking codes' miss budget.
"""
from flask_babel import lazy_gettext as _l
from wtforms import (EmailField, HiddenField, RadioField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from apoa.feedback.models import CaseKind
from apoa.forms import BaseForm
from apoa.reports.services import find_by_code

TEXT_LENGTH = (10, 2000)


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


class ComplaintForm(BaseForm):
    kind = RadioField(_l("What would you like to send?"), default=CaseKind.complaint.value,
                      choices=[SelectChoice(CaseKind.complaint.value,
                                            _l("A complaint about our service")),
                               SelectChoice(CaseKind.question.value, _l("A question"))],
                      validators=[DataRequired(_l("Choose a complaint or a question."))])
    tracking_code = StringField(_l("Tracking code of your report (if it is about a report)"),
                                filters=[_stripped], validators=[Optional(), Length(max=40)])
    region_code = SelectField(_l("Regency or city"), validate_choice=False,
                              validators=[Optional()])
    text = TextAreaField(_l("Your complaint or question"), filters=[_stripped], validators=[
        DataRequired(_l("Write your complaint or question.")),
        Length(min=TEXT_LENGTH[0], max=TEXT_LENGTH[1],
               message=_l("Write between %(min)d and %(max)d characters."))])
    email = EmailField(_l("E-mail for the answer (optional)"), filters=[_stripped], validators=[
        Optional(), Email(_l("Enter a valid email address.")), Length(max=254)])
    # Left empty by people; bots fill every field they find.
    website = StringField(_l("Leave this field empty"))
    started_at = HiddenField()
    submission_key = HiddenField()

    def __init__(self, regions, *args, **kwargs):
        """`regions`: the RegionChoice list of apoa/feedback/public_cases.regions_with_office()."""
        super().__init__(*args, **kwargs)
        self.region_code.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(region.kode, region.label) for region in regions]
        self._office_of_region = {region.kode: region.office_id for region in regions}
        self.report, self.office_id, self.code_missed = None, None, False

    def validate_region_code(self, field):
        if field.data and field.data not in self._office_of_region:
            raise ValidationError(_l("Choose a regency or city from the list."))

    def validate_tracking_code(self, field):
        if not field.data:
            return
        self.report = find_by_code(field.data)
        if self.report is None:
            self.code_missed = True
            raise ValidationError(_l("We could not find a report with this code. Check the code, "
                                     "or leave it empty and choose the regency or city."))

    def validate(self, extra_validators=None):
        fields_valid = super().validate(extra_validators)
        if self.tracking_code.errors or self.region_code.errors:
            return False
        return self._route() and fields_valid

    def _route(self):
        """Find the office: the report's, else the region's; an error beside the region if
        neither gives one."""
        if self.report is not None and self.report.office_id is not None:
            self.office_id = self.report.office_id
        elif self.region_code.data:
            self.office_id = self._office_of_region[self.region_code.data]
        elif self.report is not None:
            self.region_code.errors.append(_l("No office handles this report yet: choose the "
                                              "regency or city your complaint is about."))
        else:
            self.region_code.errors.append(_l("Choose the regency or city, or give the tracking "
                                              "code of your report."))
        return self.office_id is not None


class CaseLookupForm(BaseForm):
    reference = StringField(_l("Reference"), filters=[_stripped], validators=[
        DataRequired(_l("Enter the reference you received.")), Length(max=40)])
    secret = StringField(_l("Secret code"), filters=[_stripped], validators=[
        DataRequired(_l("Enter the secret code you received.")), Length(max=40)])
