"""/admin/mitra: the Open311 api_keys of partners, for administrators with `manage_users`.

manage_users rather than manage_offices: a key is a credential that decides who may read what (an
agency key reads an office's jurisdiction), the same responsibility as creating a staff account
and giving it an office. Everyone else gets 404, as for the rest of /admin.

The list shows each key's name, kind, office, prefix and dates, never a secret: the secret is
shown once, on the page that answers the issuing, which is never stored by a browser or proxy.
Issuing and revoking are audited (apoa/api/partners.py).
"""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from apoa.admin.forms import ConfirmForm, office_choices
from apoa.admin.services import all_offices
from apoa.api.models import PartnerKind
from apoa.api.partners import issue_key, partner_key, partner_keys, revoke_key
from apoa.auth.guards import actor, never_store
from apoa.auth.permissions import Permission, has_permission
from apoa.errors import UserValueError
from apoa.forms import BaseForm

partners_bp = Blueprint("partners", __name__, url_prefix="/admin/mitra")
partners_bp.after_request(never_store)


class PartnerKeyForm(BaseForm):
    name = StringField(_l("Partner's name"),
                       validators=[DataRequired(_l("Enter the partner's name.")),
                                   Length(max=200)])
    kind = SelectField(_l("Kind of key"),
                       choices=[SelectChoice(kind.value, kind.title) for kind in PartnerKind])
    office = SelectField(_l("Office (for a partner agency)"))

    def __init__(self, offices, **kwargs):
        super().__init__(**kwargs)
        self.offices = {office.code: office for office in offices}
        self.office.choices = office_choices(offices, _l("No office"))

    def validate_office(self, field):
        if self.kind.data == PartnerKind.agency.value and not field.data:
            raise ValidationError(_l("Choose the office whose area the agency may read."))
        if self.kind.data == PartnerKind.app.value and field.data:
            raise ValidationError(_l("An application's key belongs to no office."))

    def chosen_office(self):
        return self.offices.get(self.office.data)


@partners_bp.before_request
def only_user_managers():
    if not has_permission(current_user, Permission.manage_users):
        abort(404)


@partners_bp.get("/", strict_slashes=False)
def index():
    return _render(PartnerKeyForm(all_offices(), formdata=None))


def _render(form, status=200, issued=None, secret=None):
    return render_template("api/partner_keys.html", form=form, keys=partner_keys(),
                           kinds={kind.value: kind.title for kind in PartnerKind},
                           issued=issued, secret=secret), status


@partners_bp.post("/baru")
def issue():
    form = PartnerKeyForm(all_offices())
    if not form.validate_on_submit():
        return _render(form, 400)
    try:
        key, secret = issue_key(form.name.data, form.kind.data, form.chosen_office(), actor())
    except UserValueError as error:
        form.name.errors.append(error.message)
        return _render(form, 400)
    return _render(PartnerKeyForm(all_offices(), formdata=None), issued=key, secret=secret)


@partners_bp.post("/<int:key_id>/cabut")
def revoke(key_id):
    key = partner_key(key_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if revoke_key(key, actor()):
        flash(_("The key of %(name)s is revoked: it no longer works.", name=key.name), "success")
    else:
        flash(_("The key of %(name)s was already revoked.", name=key.name), "info")
    return redirect(url_for(".index"), 303)
