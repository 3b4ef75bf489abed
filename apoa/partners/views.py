"""/tim-pora: Tim PORA's pages. This module holds the office's side (manage_partners, within the
supervisor's jurisdiction): the team's agencies and members, forwarding a report (the panel on the
report page, templates/partners/_forward.html), joint operations from plan to result. The members'
side (view_shared) is apoa/partners/member_views.py, on the same blueprint.

Who may not manage teams gets 404 on every page here; a team, agency or operation outside the
jurisdiction gets an audited 404, as reports do. Every answer is `Cache-Control: private,
no-store`.
"""
import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from apoa.audit.services import record_independently
from apoa.auth.guards import actor, guard_staff_pages
from apoa.auth.permissions import Permission, can_for_team, has_permission
from apoa.errors import Conflict, UserValueError
from apoa.extensions import db
from apoa.forms import without_controls
from apoa.partners import services
from apoa.partners.forms import (AgencyForm, ConfirmForm, ForwardForm, MemberForm,
                                 OperationForm, result_form)
from apoa.partners.models import OperationState, PartnerAgency
from apoa.partners.shared import find_operation
from apoa.regions.models import Office
from apoa.reports.tracking import display

bp = Blueprint("pora", __name__, url_prefix="/tim-pora")
log = logging.getLogger("apoa.partners")

guard_staff_pages(bp)


def only_team_managers():
    if not has_permission(actor(), Permission.manage_partners):
        abort(404)


def refuse(object_name):
    """An audited 404 for something outside the user's reach (in a transaction of its own: the
    404 rolls the request back)."""
    user = actor()
    record_independently("access.refused", object_name,
                         {"path": without_controls(request.path)}, actor=user)
    log.warning("user %s refused access to %s", user.id, object_name)
    abort(404)


def _team_office(office_id):
    only_team_managers()
    office = db.session.get(Office, office_id) if 0 < office_id <= 2**31 - 1 else None
    if office is None or not can_for_team(actor(), Permission.manage_partners, office.id):
        refuse(f"office:{office_id}")
    return office


def _agency(agency_id):
    only_team_managers()
    agency = db.session.get(PartnerAgency, agency_id) if 0 < agency_id <= 2**31 - 1 else None
    if agency is None or not can_for_team(actor(), Permission.manage_partners, agency.office_id):
        refuse(f"partner_agency:{agency_id}")
    return agency


def _operation(operation_id):
    only_team_managers()
    operation = find_operation(actor(), operation_id, Permission.manage_partners)
    if operation is None:
        refuse(f"joint_operation:{operation_id}")
    return operation


# --- teams and agencies --------------------------------------------------------------------------

@bp.get("/kelola")
def teams():
    only_team_managers()
    offices = services.teams_to_manage(actor())
    if len(offices) == 1:
        return redirect(url_for(".team", office_id=offices[0].id))
    return render_template("partners/teams.html", offices=offices)


@bp.get("/kelola/<int:office_id>")
def team(office_id):
    return _render_team(_team_office(office_id), AgencyForm(formdata=None))


def _render_team(office, agency_form, status=200):
    return render_template(
        "partners/team.html", office=office, agencies=services.agencies_of(office.id),
        agency_form=agency_form, forwarded=services.forwarded_to_team(office.id),
        operations=services.operations_of(office.id), confirm=ConfirmForm(formdata=None),
        display=display, OperationState=OperationState), status


@bp.post("/kelola/<int:office_id>/instansi")
def add_agency(office_id):
    office = _team_office(office_id)
    form = AgencyForm()
    if not form.validate():
        return _render_team(office, form, 400)
    try:
        agency = services.create_agency(office, actor(), form.kind.data, form.name.data)
    except UserValueError as error:
        form.name.errors.append(str(error.message))
        return _render_team(office, form, 400)
    flash(_("%(name)s is now on the team.", name=agency.name), "success")
    return redirect(url_for(".agency", agency_id=agency.id), 303)


@bp.route("/instansi/<int:agency_id>", methods=["GET", "POST"])
def agency(agency_id):
    found = _agency(agency_id)
    form = MemberForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        try:
            added = services.add_member(found, actor(), form.email.data, form.name.data)
        except (UserValueError, Conflict) as error:
            form.email.errors.append(str(error.message))
        else:
            return render_template("partners/member_added.html", agency=found, added=added)
    return render_template("partners/agency.html", agency=found, form=form,
                           confirm=ConfirmForm(formdata=None)), 400 if form.errors else 200


@bp.post("/instansi/<int:agency_id>/nonaktifkan")
def deactivate(agency_id):
    found = _agency(agency_id)
    if not ConfirmForm().validate():
        abort(400)
    try:
        services.deactivate_agency(found, actor())
    except Conflict as error:
        flash(error.message, "error")
    else:
        flash(_("%(name)s no longer takes part: its members see nothing of the team from now on.",
                name=found.name), "success")
    return redirect(url_for(".agency", agency_id=found.id), 303)


# --- forwarding a report -------------------------------------------------------------------------

@bp.app_template_global("pora_forwarding")
def forwarding_panel(report):
    """What the report page's Tim PORA panel shows: None for who may not forward; else the teams
    already given the report, the teams it may still go to, and the form."""
    if not has_permission(current_user, Permission.manage_partners):
        return None
    user = actor()
    done = [f for f in services.forwards_of(report)
            if can_for_team(user, Permission.manage_partners, f.office_id)]
    done_ids = {f.office_id for f in done}
    open_teams = [t for t in services.teams_to_forward_to(user, report) if t.id not in done_ids]
    return {"forwarded": done, "teams": open_teams,
            "form": ForwardForm(open_teams, formdata=None)}


@bp.post("/teruskan/<int:report_id>")
def forward(report_id):
    """The panel's form. The report page belongs to another blueprint and is not drawn here: a
    problem is told at the top of the report page, where the panel is."""
    from apoa.reports.views import load_report

    only_team_managers()
    report = load_report(report_id)
    teams = services.teams_to_forward_to(actor(), report)
    form = ForwardForm(teams)
    back = url_for("officer.report_page", report_id=report.id) + "#pora"
    if not form.validate():
        for errors in form.errors.values():
            flash(" ".join(str(e) for e in errors), "error")
        return redirect(back, 303)
    team_office = next(t for t in teams if t.id == form.team.data)
    try:
        services.forward_report(report, team_office, actor(), form.note.data)
    except (UserValueError, Conflict) as error:
        flash(error.message, "error")
    else:
        flash(_("The report has been forwarded to the team of %(office)s.",
                office=team_office.name), "success")
    return redirect(back, 303)


# --- joint operations ----------------------------------------------------------------------------

def _operation_form(office, **kwargs):
    return OperationForm(services.agencies_of(office.id, active_only=True),
                         services.forwarded_to_team(office.id),
                         services.kecamatan_choices(office), **kwargs)


@bp.route("/kelola/<int:office_id>/operasi/baru", methods=["GET", "POST"])
def plan(office_id):
    office = _team_office(office_id)
    form = _operation_form(office, formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        plan = services.OperationPlan(form.title.data, form.planned_on.data, form.kecamatan.data,
                                      tuple(form.agencies.data), tuple(form.reports.data))
        try:
            operation = services.plan_operation(office, actor(), plan)
        except UserValueError as error:
            form.form_errors.append(str(error.message))
        else:
            flash(_("The operation is planned."), "success")
            return redirect(url_for(".operation_admin", operation_id=operation.id), 303)
    forwarded = {f.id: f for f in services.forwarded_to_team(office.id)}
    return render_template("partners/plan.html", office=office, form=form, forwarded=forwarded,
                           display=display), 400 if form.errors else 200


@bp.get("/kelola/operasi/<int:operation_id>")
def operation_admin(operation_id):
    operation = _operation(operation_id)
    return _render_operation(operation, result_form(operation, formdata=None))


def _render_operation(operation, form, status=200, problem=None):
    return render_template("partners/operation_admin.html", operation=operation, form=form,
                           problem=problem,
                           confirm=ConfirmForm(formdata=None), OperationState=OperationState,
                           display=display), status


@bp.post("/kelola/operasi/<int:operation_id>/hasil")
def save_result(operation_id):
    operation = _operation(operation_id)
    form = result_form(operation)
    if not form.validate():
        return _render_operation(operation, form, 400)
    try:
        services.record_result(operation, actor(), form.result.data, form.outcomes())
    except UserValueError as error:
        form.result.errors.append(str(error.message))
        return _render_operation(operation, form, error.status)
    except Conflict as error:
        return _render_operation(operation, form, error.status, problem=error.message)
    flash(_("The result of the operation is recorded."), "success")
    return redirect(url_for(".operation_admin", operation_id=operation.id), 303)


@bp.post("/kelola/operasi/<int:operation_id>/batal")
def cancel(operation_id):
    operation = _operation(operation_id)
    if not ConfirmForm().validate():
        abort(400)
    try:
        services.cancel_operation(operation, actor())
    except Conflict as error:
        flash(error.message, "error")
    else:
        flash(_("The operation is cancelled."), "success")
    return redirect(url_for(".operation_admin", operation_id=operation.id), 303)


# The members' pages register themselves on this blueprint.
from apoa.partners import member_views  # noqa: E402,F401
