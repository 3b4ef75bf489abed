"""The Tim PORA members' pages (view_shared), on the blueprint of apoa/partners/views.py: the
team's home (the shared figures of the office's jurisdiction), the reports forwarded to the team
and its joint operations. Every read of a forwarded report, in a list or alone, is audited.

Who is not a member gets 404 here; a member whose agency no longer takes part is told so (403).
A forwarded report or an operation of another team is an audited 404.
"""
from flask import abort, render_template, request
from flask_babel import gettext as _

from apoa.auth.guards import actor
from apoa.auth.permissions import Permission, has_permission
from apoa.errors import UserValueError
from apoa.partners import shared
from apoa.partners.models import OperationState
from apoa.partners.views import bp, refuse
from apoa.reports.views import country_name
from apoa.summaries.figures import shared_summary
from apoa.summaries.monthly import months_to_choose, parse_month


def _team():
    """The signed-in member's team, or the page that says their access has ended."""
    if not has_permission(actor(), Permission.view_shared):
        abort(404)
    team = shared.team_of(actor())
    if team is None:
        abort(403, _no_team_message())
    return team


def _no_team_message():
    return _("Your agency no longer takes part in the team: ask the immigration office.")


@bp.get("/", strict_slashes=False)
def home():
    team = _team()
    error = None
    try:
        month = parse_month(request.args.get("bulan"))
    except UserValueError as problem:
        error, month = problem.message, parse_month(None)
    summary = shared_summary(team.office, month)
    return render_template("partners/home.html", team=team, summary=summary, month=month,
                           months=months_to_choose(), error=error,
                           counts=shared.team_counts(actor())), 400 if error else 200


@bp.get("/laporan")
def forwarded_list():
    team = _team()
    page = shared.forwarded_page(actor(), request.args.get("page", 1, type=int) or 1)
    return render_template("partners/forwarded_list.html", team=team, page=page)


@bp.get("/laporan/<int:forwarded_id>")
def forwarded_page(forwarded_id):
    team = _team()
    forwarded = shared.find_forwarded(actor(), forwarded_id)
    if forwarded is None:
        refuse(f"forwarded_report:{forwarded_id}")
    report, links = shared.read_forwarded(actor(), forwarded)
    return render_template("partners/forwarded.html", team=team, report=report, links=links,
                           country_name=country_name)


@bp.get("/operasi")
def operations():
    team = _team()
    return render_template("partners/operations.html", team=team,
                           operations=shared.team_operations(actor()),
                           OperationState=OperationState)


@bp.get("/operasi/<int:operation_id>")
def operation(operation_id):
    team = _team()
    found = shared.find_operation(actor(), operation_id)
    if found is None:
        refuse(f"joint_operation:{operation_id}")
    reports = shared.read_operation(actor(), found)
    return render_template("partners/operation.html", team=team, operation=found,
                           reports=reports, OperationState=OperationState)
