"""Sign-in (password, then for staff a second factor), enrolment of an authenticator app, sign-out,
residents' registration, and the session limits checked before every request."""
import logging

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from apoa.auth import sessions, signin, totp
from apoa.auth.forms import CodeForm, LoginForm, RegisterForm
from apoa.auth.models import User
from apoa.auth.permissions import Permission, has_permission
from apoa.auth.services import register_resident
from apoa.core.views import safe_next
from apoa.errors import wants_json
from apoa.extensions import db, limiter, login_manager

bp = Blueprint("auth", __name__)
log = logging.getLogger("apoa.auth")

SIGN_IN_LIMIT = "10 per minute;60 per hour"
CODE_LIMIT = "10 per minute;60 per hour"
# Requests that need no session check: files, and nothing that could show or change data.
UNCHECKED_ENDPOINTS = {"static", "assets.vendor", "maps.basemap", "health.healthz",
                       "offline.service_worker", "offline.manifest"}


def locked_message():
    return _("Too many failed attempts. Sign-in is paused for %(minutes)d minutes; "
             "please try again later.", minutes=signin.lock_minutes())


@login_manager.user_loader
def load_user(session_id):
    """Sessions carry "<id>:<version>": bumping the version on the server ends old sessions."""
    user_id, _sep, version = session_id.partition(":")
    if not (session_id.isascii() and user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.scalar(select(User).where(User.id == int(user_id)))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


# Interfaces that authenticate each request with a token or key and ignore the session cookie.
CREDENTIAL_PATHS = ("/api/", "/open311/")


@bp.before_app_request
def enforce_session_limits():
    """End a session past its idle or absolute limit: sign out, say why, ask to sign in again."""
    if "_user_id" not in session or request.endpoint in UNCHECKED_ENDPOINTS:
        return None
    if request.path.startswith(CREDENTIAL_PATHS):
        return None  # the API and Open311 go by token or key, never by this cookie
    if not current_user.is_authenticated:
        return None
    if not sessions.expired(current_user):
        sessions.touch()
        return None
    log.info("session of user %s expired", current_user.id)
    sessions.end()
    message = _("Your session has ended. Please sign in again.")
    if wants_json():  # a map or list fetching data: an answer its script can understand
        return jsonify(error={"status": 401, "title": _("Signed out"), "message": message}), 401
    flash(message, "info")
    next_url = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=next_url))


def keep_and_answer(template, status=400, **context):
    """Answer an error page, keeping what the request wrote: the failure count, its audit entry,
    a new enrolment secret. (The request's own commit only happens for answers below 400.)"""
    db.session.commit()
    return render_template(template, **context), status


@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(landing(current_user, _requested_next()))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if form.errors else 200
    attempt = signin.check_password(form.email.data, form.password.data)
    if attempt.user is None:
        form.password.errors.append(locked_message() if attempt.locked else
                                    _("The email or password is not correct."))
        return keep_and_answer("auth/login.html", form=form)
    next_url = _requested_next()
    if not attempt.user.is_staff:
        return complete_sign_in(attempt.user, "password", next_url)
    sessions.begin_pending(attempt.user, next_url)
    return redirect(url_for(".second_factor" if attempt.user.totp_enrolled else ".enrol"))


def _requested_next():
    """The page asked for, if it is one of this site's; anything else is ignored (the sign-in then
    lands on the user's work, not on the home page)."""
    target = request.args.get("next")
    return target if target and safe_next(target) == target else None


def complete_sign_in(user, method, next_url):
    signin.record_success(user, method)
    sessions.begin(user, second_factor=method if user.is_staff else None)
    flash(_("Welcome, %(name)s.", name=user.name), "success")
    return redirect(landing(user, next_url))


# Where each kind of work starts, first match wins: reports to act on (officers, supervisors),
# then the figures (regional heads), then the accounts (administrators). Asked by permission, so a
# role given other permissions lands with them.
LANDINGS = (
    (Permission.view_report, "officer.my_tasks_page"),
    (Permission.view_aggregates, "summaries.dashboard"),
    (Permission.manage_users, "admin.users"),
    (Permission.manage_jobs, "jobs.index"),
    (Permission.report_guests, "guest_operator.index"),
    (Permission.view_shared, "pora.home"),
)


def landing(user, next_url=None):
    """Where a sign-in ends: the page asked for, else where the user's work is (LANDINGS), else
    the home page (residents: where reporting starts)."""
    if next_url:
        return next_url
    for permission, endpoint in LANDINGS:
        if has_permission(user, permission):
            return url_for(endpoint)
    return url_for("core.home")


def _pending_or_restart():
    user = sessions.pending_user()
    if user is None:
        sessions.drop_pending()
        flash(_("Please sign in again."), "info")
    return user


@bp.route("/masuk/kode", methods=["GET", "POST"])
@limiter.limit(CODE_LIMIT, methods=["POST"])
def second_factor():
    """The second step for enrolled staff: a code from the app, or a recovery code."""
    user = _pending_or_restart()
    if user is None:
        return redirect(url_for(".login"))
    if not user.totp_enrolled:
        return redirect(url_for(".enrol"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/second_factor.html", form=form), 400 if form.errors else 200
    if signin.is_locked(user):
        return _locked_out()
    method = totp.check_second_factor(user, form.code.data)
    if method is not None:
        answer = complete_sign_in(user, method, sessions.pending_next())
        if method == "recovery_code":
            flash(_("You signed in with a recovery code; %(left)d are left. Ask an administrator "
                    "to reset your sign-in codes before they run out.",
                    left=totp.recovery_codes_left(user)), "info")
        return answer
    if signin.record_failure(user, "second_factor"):
        return _locked_out()
    form.code.errors.append(_("The code is not correct, or it has already been used."))
    return keep_and_answer("auth/second_factor.html", form=form)


def _locked_out():
    sessions.drop_pending()
    flash(locked_message(), "error")
    db.session.commit()  # the lock and its audit entry, though the answer is a redirect either way
    return redirect(url_for(".login"))


@bp.route("/masuk/aktifkan-kode", methods=["GET", "POST"])
@limiter.limit(CODE_LIMIT, methods=["POST"])
def enrol():
    """First sign-in of a staff user: scan the QR code, confirm with a first code, keep the
    recovery codes (shown once, on the answer to that confirmation)."""
    user = _pending_or_restart()
    if user is None:
        return redirect(url_for(".login"))
    if user.totp_enrolled:
        return redirect(url_for(".second_factor"))
    secret = totp.pending_secret(user)
    form = CodeForm()
    if form.validate_on_submit():
        codes = totp.confirm_enrolment(user, form.code.data)
        if codes is not None:
            next_url = sessions.pending_next()
            signin.record_success(user, "totp")
            sessions.begin(user, second_factor="totp")
            return render_template("auth/recovery_codes.html", codes=codes,
                                   next_url=landing(user, next_url))
        form.code.errors.append(_("The code is not correct. Check that the time on your phone is "
                                  "right and enter the code shown now."))
    context = {"form": form, "secret": _grouped(secret),
               "qr_svg": totp.qr_svg(totp.provisioning_uri(user, secret))}
    if form.errors:
        return keep_and_answer("auth/enrol.html", **context)
    return render_template("auth/enrol.html", **context)


def _grouped(secret):
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


@bp.post("/keluar")
@login_required
def logout():
    user = current_user._get_current_object()
    signin.record_sign_out(user)
    sessions.end()
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
        # The same answer whether the email had an account or not (register_resident).
        register_resident(form.email.data, form.name.data, form.password.data)
        flash(_("Thank you. Sign in with your email address and the password you chose. If this "
                "address already had an account, we have sent it an email instead."), "info")
        return redirect(url_for(".login"), 303)
    return render_template("auth/register.html", form=form), 400 if form.errors else 200
