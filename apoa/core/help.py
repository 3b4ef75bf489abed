"""/bantuan: a short guide for each role, open to everyone (it names no report and no person).

The officers' part is drawn from the workflow's own table (apoa/reports/workflow.py) and the due
times of apoa/reports/sla.py, so the guide cannot drift from what the buttons do.
"""
from dataclasses import dataclass

from flask import Blueprint, render_template

from apoa.auth.models import Role
from apoa.auth.permissions import roles_with
from apoa.reports.sla import WORKING_DAYS
from apoa.reports.states import State
from apoa.reports.workflow import BACK, TRANSITIONS

bp = Blueprint("help", __name__)


@dataclass(frozen=True)
class Step:
    action: str
    from_states: list
    to_state: str | None      # None: back to where the decision came from
    roles: list


@bp.get("/bantuan")
def guide():
    return render_template("core/help.html", steps=workflow_steps(), due_days=due_days())


def workflow_steps():
    """Each transition as the guide shows it: action, from, to, and the roles that may take it."""
    return [Step(action=t.action.title,
                 from_states=[s.title for s in State if s in t.from_states],
                 to_state=None if t.to_state is BACK else t.to_state.title,
                 roles=[Role(value).title for value in roles_with(t.permission)])
            for t in TRANSITIONS]


def due_days():
    """[(state title, working days)] in the workflow's order: how long each step may take."""
    return [(state.title, WORKING_DAYS[state]) for state in State if state in WORKING_DAYS]
