"""Sign-in and sign-out."""
import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from apoa.auth.forms import LoginForm, RegisterForm
from apoa.auth.models import User
from apoa.auth.services import authenticate, create_user, find_user_by_email
from apoa.core.views import _safe_next
from apoa.extensions import db, limiter, login_manager

bp = Blueprint("auth", __name__)
log = logging.getLogger("apoa.auth")


@login_manager.user_loader
def load_user(session_id):
    """Sessions carry "<id>:<version>": bumping the version on the server ends old sessions."""
    user_id, _sep, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.scalar(select(User).where(User.id == int(user_id)))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            log.info("user %s signed in", user.id)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_("The email or password is not correct."))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.post("/keluar")
@login_required
def logout():
    user = current_user._get_current_object()
    user.session_version += 1
    logout_user()
    log.info("user %s signed out", user.id)
    flash(_("You have signed out."), "success")
    return redirect(url_for("core.home"))


@bp.route("/daftar", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def register():
    """Residents may keep an account to see their reports in one place; reporting needs none."""
    if current_user.is_authenticated:
        return redirect(url_for("public.my_reports"))
    form = RegisterForm()
    if form.validate_on_submit():
        if find_user_by_email(form.email.data):
            form.email.errors.append(_("An account with this email already exists. Sign in instead."))
        else:
            user = create_user(form.email.data, form.name.data, form.password.data, "resident")
            login_user(user)
            log.info("resident %s registered", user.id)
            flash(_("Your account has been created."), "success")
            return redirect(url_for("public.my_reports"))
    return render_template("auth/register.html", form=form), 400 if form.errors else 200
