"""My tasks ("Tugas saya"): the reports waiting for the signed-in user themselves, by due time or
by distance from where they stand.

Three kinds, each asked of the same rules as the report page, only for many reports at once:
- assigned: reports in a state where the field work is theirs (can(field_work) is "the assignee");
- approval: reports awaiting a decision they may approve (can(approve): not the one who proposed);
- sent back: decisions they proposed that a supervisor sent back to them.
The states come from the workflow's table, the proposer from queries.pending_decision's SQL, the
jurisdiction from visible(); tests hold the list equal to available_actions() report by report.
"""
import enum
import math
from dataclasses import dataclass

from flask_babel import format_decimal, gettext as _, lazy_gettext as _l
from geoalchemy2 import Geography
from sqlalchemy import and_, case, cast, func, null, or_, select
from sqlalchemy.orm import defer, joinedload

from apoa.auth.permissions import Permission, has_permission, visible
from apoa.extensions import db
from apoa.reports.models import Report, ReportEvent
from apoa.reports.queries import latest_event_column, proposer_column, region_names
from apoa.reports.states import State
from apoa.reports.workflow import TRANSITIONS, Action

# A task list is read, not paged: past this many the page says so and points to the queue.
MAX_TASKS = 200


class TaskKind(str, enum.Enum):
    sent_back = "sent_back"
    approval = "approval"
    assigned = "assigned"

    @property
    def title(self):
        return TASK_TITLES[self]


TASK_TITLES = {
    TaskKind.sent_back: _l("Sent back to you"),
    TaskKind.approval: _l("Awaiting your approval"),
    TaskKind.assigned: _l("Assigned to you"),
}


def states_needing(permission):
    """The states from which some transition needs `permission` (from the workflow's table)."""
    permission = Permission(permission)
    return sorted({state.value for t in TRANSITIONS if t.permission is permission
                   for state in t.from_states})


def proposal_states():
    """The states a decision for approval is proposed from: where a send-back returns a report."""
    return sorted({state.value for t in TRANSITIONS if t.to_state is State.pending_approval
                   for state in t.from_states})


@dataclass(frozen=True)
class Near:
    """Where the user stands (WGS84 degrees), as their browser told it."""

    lat: float
    lon: float


def parse_near(args):
    """A Near from the `lat` and `lon` query arguments, or None when either is missing or is not a
    finite coordinate (the list then keeps its order by due time)."""
    try:
        lat, lon = float(args.get("lat", "")), float(args.get("lon", ""))
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return Near(lat=lat, lon=lon)


@dataclass(frozen=True)
class Task:
    report: Report
    kind: TaskKind
    note: str | None          # the supervisor's note when sent back
    distance_m: float | None  # from Near, when given

    def distance_text(self):
        """The distance as a person reads it: metres nearby, kilometres with one decimal beyond."""
        if self.distance_m is None:
            return None
        if self.distance_m < 1000:
            return _("%(n)s m", n=format_decimal(round(self.distance_m)))
        return _("%(n)s km", n=format_decimal(round(self.distance_m / 1000, 1)))


@dataclass(frozen=True)
class TaskList:
    tasks: list
    truncated: bool
    near: Near | None


def my_tasks(user, near=None, limit=MAX_TASKS):
    """The reports waiting for `user`, soonest due first, or nearest first when `near` is given."""
    kinds = task_conditions(user)
    if not kinds:
        return TaskList(tasks=[], truncated=False, near=near)
    distance = distance_from(near).label("distance")
    # The conditions once more as OR in WHERE: each has an indexed column of its own (state,
    # assignee) that the planner can use; the CASE only names the kind.
    query = (select(Report, case(*kinds).label("kind"),
                    latest_event_column(ReportEvent.note).label("note"), distance)
             .where(or_(*(condition for condition, _kind in kinds)))
             .options(joinedload(Report.category), *region_names(joinedload), defer(Report.contact))
             .order_by(*order(near, distance)).limit(limit + 1))
    rows = db.session.execute(visible(query, user)).all()
    tasks = [Task(report, TaskKind(kind), note if kind == TaskKind.sent_back.value else None,
                  metres) for report, kind, note, metres in rows[:limit]]
    return TaskList(tasks=tasks, truncated=len(rows) > limit, near=near)


def task_conditions(user):
    """SQL conditions, each with the TaskKind it means, for the kinds `user`'s role can have. The
    first that applies names the kind: a finding sent back is also in the field, and "sent back"
    says more."""
    proposer = proposer_column()
    kinds = []
    if has_permission(user, Permission.view_report):
        kinds.append((and_(Report.state.in_(proposal_states()),
                           latest_event_column(ReportEvent.action) == Action.send_back.value,
                           proposer == user.id), TaskKind.sent_back.value))
    if has_permission(user, Permission.approve):
        kinds.append((and_(Report.state.in_(states_needing(Permission.approve)),
                           proposer.is_distinct_from(user.id)), TaskKind.approval.value))
    if has_permission(user, Permission.field_work):
        kinds.append((and_(Report.state.in_(states_needing(Permission.field_work)),
                           Report.assignee_id == user.id), TaskKind.assigned.value))
    return kinds


def distance_from(near):
    """SQL: metres on the ground from `near` to the report (NULL without `near`)."""
    if near is None:
        return null()
    here = func.ST_SetSRID(func.ST_MakePoint(near.lon, near.lat), 4326)
    return func.ST_Distance(cast(Report.location, Geography), cast(here, Geography))


def order(near, distance):
    by_due = (Report.due_at.asc().nulls_last(), Report.id.asc())
    return (distance.asc(), *by_due) if near is not None else by_due


