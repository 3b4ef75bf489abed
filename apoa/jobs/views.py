"""/admin/tugas: the job queue for administrators (manage_jobs): its length, the workers and their
heartbeats, the periodic jobs with their next run, and the failed jobs with "try again" and
"delete". Everyone else gets 404, as for the rest of /admin."""
from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from apoa.admin.forms import ConfirmForm
from apoa.auth.permissions import Permission, has_permission
from apoa.jobs.heartbeats import STALE_AFTER_SECONDS
from apoa.jobs.monitor import QueueUnavailable, delete_failed, overview, retry_failed

bp = Blueprint("jobs", __name__, url_prefix="/admin/tugas")


@bp.before_request
def only_job_managers():
    if not has_permission(current_user, Permission.manage_jobs):
        abort(404)


@bp.get("/", strict_slashes=False)
def index():
    try:
        state = overview()
    except QueueUnavailable as error:
        return render_template("admin/tugas.html", state=None, problem=error.message), 503
    return render_template("admin/tugas.html", state=state, now=datetime.now(timezone.utc),
                           stale_after=STALE_AFTER_SECONDS)


@bp.post("/gagal/<job_id>/ulang")
def retry(job_id):
    _confirmed()
    path = retry_failed(job_id, actor=current_user._get_current_object())
    _say(path, _("%(function)s is back in the queue and runs again shortly.", function=path))
    return redirect(url_for(".index"), 303)


@bp.post("/gagal/<job_id>/hapus")
def delete(job_id):
    _confirmed()
    path = delete_failed(job_id, actor=current_user._get_current_object())
    _say(path, _("The failed job %(function)s and its input have been deleted.", function=path))
    return redirect(url_for(".index"), 303)


def _confirmed():
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _say(path, message):
    if path is None:
        flash(_("That job is no longer among the failed jobs."), "info")
    else:
        flash(message, "success")
