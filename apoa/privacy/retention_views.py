"""/admin/privasi/retensi: report retention for administrators (manage_privacy): the settings,
what a run would change now (the dry run) and the last runs from the audit log, with "run now",
which queues the same job the schedule runs daily. Everyone else gets 404, as for /admin."""
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from apoa import jobs
from apoa.admin.forms import ConfirmForm
from apoa.auth.permissions import Permission, has_permission
from apoa.privacy import retention

bp = Blueprint("privacy_retention", __name__, url_prefix="/admin/privasi/retensi")

RUN_JOB = "apoa.privacy.retention.run_retention"


@bp.before_request
def only_privacy_managers():
    if not has_permission(current_user, Permission.manage_privacy):
        abort(404)


@dataclass(frozen=True)
class RuleRow:
    rule: str
    setting: str
    days: int
    would_change: str
    oldest: datetime | None


@bp.get("/", strict_slashes=False)
def index():
    return render_template("privacy/retention.html", rules=_rule_rows(retention.preview()),
                           runs=retention.last_runs())


def _rule_rows(preview):
    days = retention.settings()
    return [
        RuleRow(_("Unfounded and duplicate reports anonymised: description, address, contact, "
                  "reporter's account, notes and photos removed, the point coarsened to about "
                  "5 km"), "APOA_RETENTION_UNFOUNDED_DAYS", days["unfounded_days"],
                ngettext("%(num)d report", "%(num)d reports", preview.anonymise.count),
                preview.anonymise.oldest),
        RuleRow(_("Reporter's contact removed from closed reports"),
                "APOA_RETENTION_CONTACT_DAYS", days["contact_days"],
                ngettext("%(num)d contact", "%(num)d contacts", preview.contacts.count),
                preview.contacts.oldest),
        RuleRow(_("Photos of closed reports deleted"), "APOA_RETENTION_PHOTO_DAYS",
                days["photo_days"],
                ngettext("%(num)d photo", "%(num)d photos", preview.photos.count),
                preview.photos.oldest),
        RuleRow(_("Answer address (e-mail or WhatsApp number) removed from answered complaints "
                  "and questions, counted from the answer"),
                "APOA_RETENTION_CONTACT_DAYS", days["contact_days"],
                ngettext("%(num)d contact", "%(num)d contacts", preview.case_contacts.count),
                preview.case_contacts.oldest),
    ]


@bp.post("/jalankan")
def run_now():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    jobs.enqueue(RUN_JOB, actor_id=current_user.id)
    flash(_("The retention run is queued; its result appears under “Last runs” once it is "
            "done."), "success")
    return redirect(url_for(".index"), 303)
