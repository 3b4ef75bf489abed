"""Due times: how long each step may take, counted in working days (Monday to Friday)."""
from datetime import timedelta
from zoneinfo import ZoneInfo

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


# Weekdays are those of the office's calendar, not UTC's: Friday 06:30 in Jakarta is still
# Thursday in UTC, and one working day after it is Monday, not Saturday. Jakarta keeps no summer
# time, so a day there is always 24 hours.
WORKING_CALENDAR = ZoneInfo("Asia/Jakarta")


def add_working_days(start, days):
    """`start` (an aware datetime) moved forward by `days` working days, keeping the time of day."""
    moment = start.astimezone(WORKING_CALENDAR)
    while days > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment.astimezone(start.tzinfo)


def due_at(state, start):
    days = WORKING_DAYS.get(State(state))
    return add_working_days(start, days) if days else None
