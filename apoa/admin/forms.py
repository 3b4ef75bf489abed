"""Forms of the administration pages: the staff list's filter, a new staff user, a role change."""
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from apoa.auth.models import Role
from apoa.auth.services import MIN_PASSWORD_LENGTH
from apoa.forms import BaseForm

def staff_role_choices():
    return [(role.value, role.title) for role in Role if role.is_staff]


def assignable_role_choices():
    """The roles an administrator gives: Tim PORA partners are added by their office with their
    agency (apoa/partners), never here."""
    return [(role.value, role.title) for role in Role if role.assigned_by_admin]


def office_choices(offices, blank):
    return [("", blank)] + [(office.code, f"{office.code} — {office.name}") for office in offices]


class StaffFilterForm(BaseForm):
    """Read from the query string; changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    office = SelectField(_l("Office"))
    role = SelectField(_l("Role"))

    def __init__(self, offices, **kwargs):
        super().__init__(**kwargs)
        self.office.choices = office_choices(offices, _l("All offices"))
        self.role.choices = [("", _l("All roles"))] + staff_role_choices()


class _RoleAndOffice:
    """A role, and the office that officers, supervisors and regional heads must have."""

    def validate_office(self, field):
        if self.role.data in {role.value for role in Role if role.needs_office} and not field.data:
            raise ValidationError(_l("Choose the office this role acts for."))


class StaffUserForm(_RoleAndOffice, BaseForm):
    name = StringField(_l("Name"),
                       validators=[DataRequired(_l("Enter the name.")), Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter the email address.")),
                                                Email(_l("Enter a valid email address.")),
                                                Length(max=254)])
    role = SelectField(_l("Role"))
    office = SelectField(_l("Office"))
    password = PasswordField(_l("First password"), validators=[
        Optional(), Length(min=MIN_PASSWORD_LENGTH, max=256,
                           message=_l("The password must have at least %(min)d characters."))])

    def __init__(self, offices, **kwargs):
        super().__init__(**kwargs)
        self.role.choices = assignable_role_choices()
        self.office.choices = office_choices(offices, _l("No office"))


class RoleForm(_RoleAndOffice, BaseForm):
    role = SelectField(_l("Role"))
    office = SelectField(_l("Office"))

    def __init__(self, offices, **kwargs):
        super().__init__(**kwargs)
        self.role.choices = assignable_role_choices()
        self.office.choices = office_choices(offices, _l("No office"))


class ConfirmForm(BaseForm):
    """A button that changes something: only its CSRF token."""
