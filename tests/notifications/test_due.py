"""The due-time scan (every 5 minutes): reports due within 4 hours reach whoever must act next,
overdue ones the supervisors of their office; each due time is told once, however often the scan
runs, and nobody of another office hears of it. The clock is fixed (tests/clock.py)."""
from datetime import timedelta

import pytest

from apoa import jobs
from apoa.notifications import jobs as notification_jobs
from apoa.notifications.models import Kind
from apoa.notifications.services import notify_due
from apoa.reports.states import State
from apoa.reports.workflow import Action, apply
from tests.notifications.conftest import KARAWANG, names, told

BEKASI = (107.06, -6.26)              # Tambun Selatan, Kabupaten Bekasi: KANIM-B


@pytest.fixture
def due(world, clock, db_session):
    """`due(state, hours, point=KARAWANG)`: a report in `state` due `hours` from now."""
    def make_due(state, hours, point=KARAWANG):
        if point == KARAWANG:
            report = world.report_in(state)
        else:
            report = world.make.report(point=point, state=state.value)
        report.due_at = clock.now + timedelta(hours=hours)
        db_session.flush()
        return report
    return make_due


def test_a_new_report_due_soon_reaches_the_officers_of_its_office(world, due, clock):
    report = due(State.new, 3)
    notify_due(clock.now)
    assert names(world, told(Kind.due_soon, report)) == {"officer", "assignee", "supervisor", "decider"}


def test_an_assigned_report_due_soon_reaches_its_assignee_only(world, due, clock):
    report = due(State.assigned, 2)
    notify_due(clock.now)
    assert names(world, told(report=report)) == {"assignee"}


def test_a_report_awaiting_approval_due_soon_reaches_who_may_approve_it(world, due, clock):
    report = due(State.pending_approval, 1)          # the decision is "decider"'s own
    notify_due(clock.now)
    assert names(world, told(report=report)) == {"supervisor"}


def test_an_overdue_report_reaches_the_supervisors_of_its_office(world, due, clock):
    report = due(State.in_field, -1)
    notify_due(clock.now)
    assert names(world, told(report=report)) == {"supervisor", "decider"}
    assert told(report=report)[world.actors["supervisor"].id] == [Kind.overdue.value]


def test_reports_of_another_office_reach_only_that_office(world, due, clock):
    soon, late = due(State.new, 3, point=BEKASI), due(State.screening, -2, point=BEKASI)
    notify_due(clock.now)
    assert names(world, told(report=soon)) == {"other_officer", "other_supervisor"}
    assert names(world, told(report=late)) == {"other_supervisor"}


def test_reports_due_later_or_long_overdue_are_not_announced(world, due, clock):
    due(State.new, 4.5)
    due(State.assigned, -25)          # overdue since yesterday: the queue shows it, no ping now
    assert notify_due(clock.now).due_soon == 0 and told() == {}


def test_the_scan_tells_each_due_time_once_however_often_it_runs(world, due, clock):
    soon, late = due(State.assigned, 3), due(State.screening, -0.5)
    first = notify_due(clock.now)
    assert (first.due_soon, first.overdue) == (1, 2)
    again = notify_due(clock.now)
    assert (again.due_soon, again.overdue) == (0, 0)
    for _scan in range(48):                      # four hours of scans, every 5 minutes
        clock.advance(timedelta(minutes=5))
        notify_due(clock.now)
    ids = {name: user.id for name, user in world.actors.items()}
    assert told(report=late) == {ids["supervisor"]: ["overdue"], ids["decider"]: ["overdue"]}
    # Meanwhile the assigned report went overdue too: one notification per due time and kind.
    assert told(report=soon) == {ids["assignee"]: ["due_soon"], ids["supervisor"]: ["overdue"],
                                 ids["decider"]: ["overdue"]}


def test_a_new_due_time_is_a_new_cause(world, due, clock):
    report = due(State.screening, 2)
    notify_due(clock.now)
    apply(report, Action.assign, world.actors["supervisor"], assignee=world.actors["assignee"],
          due=clock.now + timedelta(hours=3))
    notify_due(clock.now)
    notify_due(clock.now)
    assert told(Kind.due_soon, report)[world.actors["assignee"].id] == [Kind.due_soon.value] * 2


def test_the_scheduled_job_runs_the_scan_and_queues_the_mail(world, due, clock, db_session):
    due(State.assigned, 1)
    assert notification_jobs.notify_due_soon_and_overdue() == {"due_soon": 1, "overdue": 0}
    assert notification_jobs.notify_due_soon_and_overdue() == {"due_soon": 0, "overdue": 0}
    db_session.commit()
    assert [call.path for call in jobs.pending()] == ["apoa.notifications.jobs.send_pending_emails"]
