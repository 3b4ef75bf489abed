"""Due times: how long each step may take, counted in working days (Monday to Friday)."""
from datetime import timedelta

from apoa.reports.states import State

# Working days allowed in each state before the report is overdue (DESIGN: screening within 1,
# field check within 3).
WORKING_DAYS = {
    State.new: 1,
    State.screening: 1,
    State.assigned: 3,
    State.in_field: 3,
    State.pending_approval: 2,
}


def add_working_days(start, days):
    """`start` moved forward by `days` working days, keeping the time of day."""
    moment = start
    while days > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def due_at(state, start):
    days = WORKING_DAYS.get(State(state))
    return add_working_days(start, days) if days else None
