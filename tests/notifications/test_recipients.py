"""Each step of a report's history tells exactly the right people of the report's own office, in
the transaction of the step itself; nobody of another office, nobody who caused it."""
import pytest
from sqlalchemy import select

from apoa import jobs
from apoa.auth.models import User
from apoa.auth.permissions import Permission, can
from apoa.extensions import db
from apoa.notifications.models import Kind
from apoa.notifications.services import SEND_EMAILS
from apoa.reports.states import State
from apoa.reports.workflow import Action, apply
from tests.factories import GAMBIR
from tests.notifications.conftest import names, told

KARAWANG_STAFF = {"officer", "assignee", "supervisor", "decider"}


def test_a_new_report_tells_every_officer_and_supervisor_of_its_office(world, submit):
    report = submit()
    assert names(world, told(Kind.new_report, report)) == KARAWANG_STAFF
    assert told() == told(Kind.new_report, report)            # nothing else, nobody else


def test_those_told_of_a_new_report_are_those_who_may_screen_it(world, submit, make):
    make.user("officer", world.office, active=False)
    report = submit()
    everyone = db.session.scalars(select(User)).all()
    may_screen = {user.id for user in everyone
                  if user.office_id == report.office_id and can(user, Permission.screen, report)}
    assert set(told(Kind.new_report, report)) == may_screen


def test_a_report_outside_every_jurisdiction_tells_nobody(world, submit):
    submit(point=GAMBIR)
    assert told() == {}


def test_the_notifications_go_with_the_transaction_and_the_mail_job_follows_its_commit(world, submit):
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            submit()
            assert told()
            raise RuntimeError("the request failed")
    assert told() == {}
    assert jobs.pending() == []

    submit()
    assert jobs.pending() == []                                # not before the commit
    db.session.commit()
    assert [call.path for call in jobs.pending()] == [SEND_EMAILS]


# (state, action, actor) → (kind, who is told)
STEPS = [
    (State.screening, Action.transfer, "officer", Kind.new_report, {"other_officer", "other_supervisor"}),
    (State.screening, Action.assign, "supervisor", Kind.assigned, {"assignee"}),
    (State.screening, Action.dismiss, "officer", Kind.awaiting_approval, {"supervisor", "decider"}),
    (State.new, Action.mark_duplicate, "assignee", Kind.awaiting_approval, {"supervisor", "decider"}),
    (State.in_field, Action.record_finding, "assignee", Kind.awaiting_approval,
     {"supervisor", "decider"}),
    # World.report_in(pending_approval): "decider" recorded the finding; it goes back to them.
    (State.pending_approval, Action.send_back, "supervisor", Kind.sent_back, {"decider"}),
]


@pytest.mark.parametrize("state, action, actor, kind, expected", STEPS,
                         ids=[step[1].value for step in STEPS])
def test_each_step_tells_exactly_who_it_concerns(world, state, action, actor, kind, expected):
    report = world.report_in(state)
    apply(report, action, world.actors[actor], **world.params(action))
    assert {user_id: kinds for user_id, kinds in told(report=report).items()} == {
        world.actors[name].id: [kind.value] for name in expected}


@pytest.mark.parametrize("state, action, actor", [
    (State.new, Action.screen, "officer"),
    (State.assigned, Action.start_field_check, "assignee"),
    (State.pending_approval, Action.approve, "supervisor"),
    (State.closed, Action.reopen, "supervisor"),
])
def test_steps_that_concern_nobody_else_tell_nobody(world, state, action, actor):
    report = world.report_in(state)
    apply(report, action, world.actors[actor], **world.params(action))
    assert told(report=report) == {}


def test_a_dismissal_sent_back_returns_to_the_officer_who_dismissed(world):
    report = world.report_in(State.screening)
    apply(report, Action.dismiss, world.actors["officer"], reason="Alamat tidak ditemukan di peta.")
    apply(report, Action.send_back, world.actors["supervisor"], note="Cek lagi dengan RT setempat.")
    assert names(world, told(Kind.sent_back, report)) == {"officer"}


def test_nobody_is_told_of_what_they_did_themselves(world):
    report = world.report_in(State.screening)
    supervisor = world.actors["supervisor"]
    apply(report, Action.assign, supervisor, assignee=supervisor)
    assert told(report=report) == {}
