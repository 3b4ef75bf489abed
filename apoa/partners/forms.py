"""The forms of Tim PORA's pages: an agency, a member, forwarding a report, planning an operation,
its result, and the buttons that only confirm."""
from flask_babel import lazy_gettext as _l
from wtforms import (DateField, EmailField, SelectChoice, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import (DataRequired, Email, InputRequired, Length, Optional,
                                ValidationError)

from apoa.forms import BaseForm
from apoa.partners.models import MAX_NOTE, MAX_RESULT, AgencyKind


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


def _optional_int(value):
    """A select's value as a number; "" (nothing chosen) and anything not a number as None, which
    no choice but "nothing chosen" matches (so the field says "Not a valid choice")."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ChoiceList(SelectMultipleField):
    """Ticked boxes of one name (the template draws them). A value that is not on offer is an error
    with the field's own message, never WTForms' English one."""

    def __init__(self, label=None, message=None, **kwargs):
        super().__init__(label, coerce=int, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        try:
            self.data = [int(v) for v in valuelist]
        except ValueError:
            self.data = None

    def pre_validate(self, form):
        offered = {value for value, _label in self.choices}
        if self.data is None or any(v not in offered for v in self.data):
            raise ValidationError(self.message)


class AgencyForm(BaseForm):
    kind = SelectField(_l("Kind of agency"), choices=lambda: [
        SelectChoice(k.value, k.title) for k in AgencyKind],
        validators=[InputRequired(_l("Choose the kind of agency."))])
    name = StringField(_l("Name of the agency"), filters=[_stripped], validators=[
        DataRequired(_l("Write the agency's name.")),
        Length(min=2, max=200, message=_l("Write between %(min)d and %(max)d characters."))])


class MemberForm(BaseForm):
    email = EmailField(_l("Member's email"), filters=[_stripped], validators=[
        DataRequired(_l("Enter the member's email address.")),
        Email(_l("Enter a valid email address.")), Length(max=254)])
    name = StringField(_l("Member's name"), filters=[_stripped], validators=[
        DataRequired(_l("Write the member's name.")), Length(max=120)])


class ForwardForm(BaseForm):
    team = SelectField(_l("Team"), coerce=_optional_int,
                       validators=[InputRequired(_l("Choose the team."))])
    note = TextAreaField(_l("Note for the team (optional)"), filters=[_stripped], validators=[
        Optional(), Length(max=MAX_NOTE, message=_l("Write at most %(max)d characters."))])

    def __init__(self, teams, **kwargs):
        super().__init__(**kwargs)
        self.team.choices = [(office.id, office.name) for office in teams]


class OperationForm(BaseForm):
    title = StringField(_l("Title"), filters=[_stripped], validators=[
        DataRequired(_l("Write a title.")),
        Length(min=3, max=200, message=_l("Write between %(min)d and %(max)d characters."))])
    planned_on = DateField(_l("Date"), validators=[
        InputRequired(_l("Enter the date of the operation."))])
    kecamatan = SelectField(_l("District (kecamatan)"), coerce=_optional_int,
                            validators=[Optional()])
    agencies = ChoiceList(_l("Agencies taking part"),
                          message=_l("Choose agencies that take part in the team."),
                          validators=[InputRequired(_l("Choose at least one agency taking part."))])
    reports = ChoiceList(_l("Forwarded reports it acts on (optional)"),
                         message=_l("Choose reports forwarded to this team."))

    def __init__(self, agencies, forwarded, kecamatan, **kwargs):
        super().__init__(**kwargs)
        self.agencies.choices = [(a.id, a.name) for a in agencies]
        self.reports.choices = [(f.id, f.id) for f in forwarded]
        self.kecamatan.choices = [("", _l("Not one district"))] + kecamatan


class ResultForm(BaseForm):
    """The overall result; one optional outcome field per forwarded report is added by
    result_form()."""

    result = TextAreaField(_l("Result"), filters=[_stripped], validators=[
        DataRequired(_l("Write what the operation found or did.")),
        Length(max=MAX_RESULT, message=_l("Write at most %(max)d characters."))])

    def outcomes(self):
        return {int(name.removeprefix("outcome_")): field.data
                for name, field in self._fields.items() if name.startswith("outcome_")}


def result_form(operation, **kwargs):
    class OperationResultForm(ResultForm):
        pass

    for link in operation.reports:
        setattr(OperationResultForm, f"outcome_{link.forwarded_report_id}", TextAreaField(
            _l("Outcome for forwarded report %(number)s", number=link.forwarded_report_id),
            filters=[_stripped], validators=[
                Optional(), Length(max=MAX_NOTE,
                                   message=_l("Write at most %(max)d characters."))]))
    return OperationResultForm(**kwargs)


class ConfirmForm(BaseForm):
    """A button that changes something: only its CSRF token."""
