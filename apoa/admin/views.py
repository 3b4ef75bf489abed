"""Administration: staff accounts and their roles. Only users with `manage_users` see any of it;
everyone else gets 404, so the area does not reveal itself. Nothing here shows report content."""
import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from apoa.admin.forms import ConfirmForm, RoleForm, StaffFilterForm, StaffUserForm
from apoa.admin.services import all_offices, staff_user, staff_users
from apoa.auth.guards import actor
from apoa.auth.permissions import Permission, has_permission
from apoa.auth.services import (create_user, disable_user, enable_user, grant_role, new_password,
                                reset_second_factor, unlock_user)
from apoa.auth.signin import is_locked
from apoa.errors import UserValueError

bp = Blueprint("admin", __name__, url_prefix="/admin")
log = logging.getLogger("apoa.admin")


@bp.before_request
def only_user_managers():
    if not has_permission(current_user, Permission.manage_users):
        abort(404)


# No trailing-slash redirect for /admin: it would answer 308 where everything else says 404.
@bp.get("/", strict_slashes=False)
def index():
    return redirect(url_for(".users"))


@bp.get("/pengguna")
def users():
    form = StaffFilterForm(all_offices(), formdata=request.args or None)
    # A value not on offer (a stale link) filters nothing rather than showing an error.
    office, role = (_offered(field) for field in (form.office, form.role))
    found = staff_users(office_code=office, role=role)
    return render_template("admin/users.html", form=form, users=found, is_locked=is_locked)


def _offered(field):
    return (field.data if field.data in {value for value, _label in field.choices} and field.data
            else None)


@bp.route("/pengguna/baru", methods=["GET", "POST"])
def new_user():
    form = StaffUserForm(all_offices())
    if not form.validate_on_submit():
        return render_template("admin/user_new.html", form=form), 400 if form.errors else 200
    password = form.password.data or new_password()
    try:
        user = create_user(form.email.data, form.name.data, password, form.role.data,
                           form.office.data or None, actor=actor())
    except UserValueError as error:
        form.email.errors.append(error.message)
        return render_template("admin/user_new.html", form=form), 400
    # A password the administrator typed is known to them; a generated one is shown this once.
    return render_template("admin/user_created.html", user=user,
                           password=None if form.password.data else password)


def _staff_or_404(user_id):
    return staff_user(user_id) or abort(404)


@bp.get("/pengguna/<int:user_id>")
def user_detail(user_id):
    user = _staff_or_404(user_id)
    offices = all_offices()
    role_form = RoleForm(offices, data={"role": user.role,
                                        "office": user.office.code if user.office else ""})
    return render_template("admin/user_detail.html", user=user, role_form=role_form,
                           locked=is_locked(user), is_self=user.id == current_user.id)


@bp.post("/pengguna/<int:user_id>/peran")
def change_role(user_id):
    user = _staff_or_404(user_id)
    form = RoleForm(all_offices())
    if form.validate_on_submit():
        return _apply(user, lambda: grant_role(user, form.role.data, form.office.data or None,
                                               actor=actor()),
                      _("The role of %(name)s has been changed; their sessions have ended.",
                        name=user.name))
    for errors in form.errors.values():
        flash(" ".join(str(e) for e in errors), "error")
    return redirect(url_for(".user_detail", user_id=user.id), 303)


@bp.post("/pengguna/<int:user_id>/nonaktifkan")
def disable(user_id):
    user = _staff_or_404(user_id)
    return _confirmed(user, lambda: disable_user(user, actor=actor()),
                      _("%(name)s has been disabled and signed out.", name=user.name))


@bp.post("/pengguna/<int:user_id>/aktifkan")
def enable(user_id):
    user = _staff_or_404(user_id)
    return _confirmed(user, lambda: enable_user(user, actor=actor()),
                      _("%(name)s can sign in again.", name=user.name))


@bp.post("/pengguna/<int:user_id>/buka-kunci")
def unlock(user_id):
    user = _staff_or_404(user_id)
    return _confirmed(user, lambda: unlock_user(user, actor=actor()),
                      _("The lock on %(name)s's account has been lifted.", name=user.name))


@bp.post("/pengguna/<int:user_id>/reset-kode")
def reset_codes(user_id):
    user = _staff_or_404(user_id)
    return _confirmed(user, lambda: reset_second_factor(user, actor=actor()),
                      _("The sign-in codes of %(name)s have been reset: they set up their app "
                        "again at their next sign-in.", name=user.name))


def _confirmed(user, change, message):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _apply(user, change, message)


def _apply(user, change, message):
    try:
        change()
    except UserValueError as error:
        flash(error.message, "error")
    else:
        flash(message, "success")
    return redirect(url_for(".user_detail", user_id=user.id), 303)
