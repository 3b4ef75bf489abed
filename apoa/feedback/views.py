"""/kasus: the complaints and questions residents sent to an office (on WhatsApp, the web page
/keluhan or the API), for the supervisors who answer them (answer_cases), within their offices'
jurisdiction. The list shows each case's channel and due time.

Everyone else gets 404, whether the case exists or not, and a refused case is audited in a
transaction of its own (the 404 rolls the request back), as for reports. The number or address a
case came from is never on these pages. Every answer is `Cache-Control: private, no-store`.
"""
import logging
from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from apoa.audit.services import record_independently
from apoa.auth.guards import actor, guard_staff_pages
from apoa.auth.permissions import Permission, has_permission
from apoa.errors import Conflict, UserValueError
from apoa.feedback.forms import AnswerForm
from apoa.feedback.models import CaseKind, CaseState
from apoa.feedback.services import (answer_case, case_counts_by_state, cases_for, find_case,
                                    is_overdue)
from apoa.feedback.public_cases import show_reference
from apoa.forms import without_controls
from apoa.reports.states import Channel
from apoa.reports.tracking import display

bp = Blueprint("feedback", __name__, url_prefix="/kasus")
log = logging.getLogger("apoa.feedback")

guard_staff_pages(bp)

# The list's filter: a value from this table, or the default (open cases first).
STATE_FILTERS = {"received": CaseState.received, "answered": CaseState.answered, "all": None}
DEFAULT_FILTER = "received"


@bp.before_request
def only_case_answerers():
    if not has_permission(actor(), Permission.answer_cases):
        abort(404)


@bp.get("/", strict_slashes=False)
def cases():
    chosen = request.args.get("state")
    chosen = chosen if chosen in STATE_FILTERS else DEFAULT_FILTER
    found = cases_for(actor(), STATE_FILTERS[chosen])
    return render_template("feedback/cases.html", cases=found, chosen=chosen,
                           counts=case_counts_by_state(actor()), **_vocabulary())


@bp.get("/<int:case_id>")
def case_page(case_id):
    return _render_case(_load_case(case_id), AnswerForm(formdata=None))


@bp.post("/<int:case_id>/jawab")
def answer(case_id):
    service_case = _load_case(case_id)
    form = AnswerForm()
    if not form.validate():
        return _render_case(service_case, form, 400)
    try:
        answer_case(service_case, actor(), form.answer.data)
    except (UserValueError, Conflict) as error:
        form.form_errors.append(error.message)
        return _render_case(service_case, form, error.status)
    flash(_answered_message(service_case), "success")
    return redirect(url_for(".case_page", case_id=service_case.id), 303)


def _load_case(case_id):
    """The case if the signed-in user may answer it; otherwise an audited 404."""
    service_case = find_case(actor(), case_id)
    if service_case is None:
        user = actor()
        record_independently("access.refused", f"case:{case_id}",
                             {"path": without_controls(request.path)}, actor=user)
        log.warning("user %s refused access to case %s", user.id, case_id)
        abort(404)
    return service_case


def _render_case(service_case, form, status=200):
    return render_template("feedback/case.html", case=service_case, form=form,
                           **_vocabulary()), status


def _answered_message(service_case):
    if service_case.contact is None:
        return _("The answer has been saved.")
    if service_case.channel == Channel.whatsapp.value:
        return _("The answer has been saved and is being sent to the resident on WhatsApp.")
    return _("The answer has been saved and is being sent to the resident by e-mail.")


def _vocabulary():
    return dict(CaseKind=CaseKind, CaseState=CaseState, Channel=Channel, is_overdue=is_overdue,
                now=datetime.now(timezone.utc), show_reference=show_reference,
                display_code=display)
