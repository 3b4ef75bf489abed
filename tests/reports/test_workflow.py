"""The workflow over its whole table × every kind of actor: each allowed pair works, every other
pair is refused and changes nothing. The expectations are written out here, independently of
apoa.auth.permissions, so a wrong rule there fails these tests."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from apoa.audit.models import AuditEntry
from apoa.errors import Conflict, NotAllowed, UserValueError
from apoa.extensions import db
from apoa.reports.models import ReportEvent
from apoa.reports.states import State
from apoa.reports.workflow import Action, Finding, InvalidTransition, apply
from tests.clock import working_days_later
from tests.factories import World

# Who may take each action (on a report of their own office, or of an office below theirs).
ALLOWED_ACTORS = {
    Action.screen: {"officer", "assignee", "supervisor", "decider", "kanwil_supervisor"},
    Action.mark_duplicate: {"officer", "assignee", "supervisor", "decider", "kanwil_supervisor"},
    Action.transfer: {"officer", "assignee", "supervisor", "decider", "kanwil_supervisor"},
    Action.dismiss: {"officer", "assignee", "supervisor", "decider", "kanwil_supervisor"},
    Action.assign: {"supervisor", "decider", "kanwil_supervisor"},
    Action.start_field_check: {"assignee"},
    Action.record_finding: {"assignee"},
    Action.approve: {"supervisor", "kanwil_supervisor"},     # never the one who decided
    Action.send_back: {"supervisor", "kanwil_supervisor"},
    Action.reopen: {"supervisor", "decider", "kanwil_supervisor"},
}
# Where each action may start, and where it leads (the decision under approval came from in_field).
TABLE = {
    (State.new, Action.screen): State.screening,
    (State.new, Action.mark_duplicate): State.pending_approval,
    (State.screening, Action.mark_duplicate): State.pending_approval,
    (State.screening, Action.transfer): State.new,
    (State.screening, Action.assign): State.assigned,
    (State.screening, Action.dismiss): State.pending_approval,
    (State.assigned, Action.start_field_check): State.in_field,
    (State.in_field, Action.record_finding): State.pending_approval,
    (State.pending_approval, Action.approve): State.closed,
    (State.pending_approval, Action.send_back): State.in_field,
    (State.closed, Action.reopen): State.screening,
}
ACTORS = ("officer", "assignee", "supervisor", "decider", "kanwil_supervisor", "foreign_officer",
          "foreign_supervisor", "regional_head", "admin", "resident")


@pytest.fixture
def world(make):
    return World(make)


def snapshot(report):
    db.session.expire(report)
    events = db.session.scalar(select(func.count()).where(ReportEvent.report_id == report.id))
    audit = db.session.scalar(select(func.count()).select_from(AuditEntry))
    return (report.state, report.outcome, report.assignee_id, report.office_id, report.duplicate_of_id,
            events, audit)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("state", list(State))
def test_transition_table_by_role(world, state, action, actor):
    report = world.report_in(state)
    params = world.params(action)
    user = world.actors[actor]
    allowed = (state, action) in TABLE and actor in ALLOWED_ACTORS[action]
    if allowed:
        event = apply(report, action, user, **params)
        assert report.state == TABLE[(state, action)].value
        assert (event.from_state, event.to_state, event.actor_id) == (state.value, report.state, user.id)
        audit = db.session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
        assert audit.action == f"report.{action.value}" and audit.object == f"report:{report.id}"
    else:
        before = snapshot(report)
        expected = InvalidTransition if (state, action) not in TABLE else NotAllowed
        with pytest.raises(expected):
            apply(report, action, user, **params)
        assert snapshot(report) == before


def test_an_invalid_transition_is_a_conflict_with_a_translated_message(world, english):
    report = world.report_in(State.new)
    with pytest.raises(Conflict, match="not possible while the report is “New”"):
        apply(report, Action.approve, world.actors["supervisor"])


def test_approval_needs_a_second_pair_of_eyes(world):
    report = world.report_in(State.screening)
    decider = world.actors["decider"]
    apply(report, Action.dismiss, decider, reason="Alamat fiktif, tidak ada penghuni.")
    with pytest.raises(NotAllowed):
        apply(report, Action.approve, decider)
    apply(report, Action.approve, world.actors["supervisor"])
    assert (report.state, report.outcome) == ("closed", "unfounded")


def test_send_back_returns_a_dismissal_to_screening(world):
    report = world.report_in(State.screening)
    apply(report, Action.dismiss, world.actors["officer"], reason="Tidak ditemukan apa pun.")
    apply(report, Action.send_back, world.actors["supervisor"], note="Cek ulang dengan RT setempat.")
    assert (report.state, report.outcome) == ("screening", None)


def test_a_finding_of_violation_needs_the_action_taken(world, english):
    report = world.report_in(State.in_field)
    with pytest.raises(UserValueError, match="action taken"):
        apply(report, Action.record_finding, world.actors["assignee"], finding=Finding(outcome="violation_found"))
    apply(report, Action.record_finding, world.actors["assignee"],
          finding=Finding(outcome="violation_found", action_taken="deportation", people_found=2,
                          nationalities=("CN",), documents_checked=2, notes="Visa kunjungan dipakai bekerja."))
    assert (report.state, report.outcome, report.action_taken) == ("pending_approval", "violation_found", "deportation")


def test_a_transfer_moves_the_report_out_of_the_first_offices_sight(world):
    from apoa.auth.permissions import can

    report = world.report_in(State.screening)
    apply(report, Action.transfer, world.actors["officer"], office=world.other_office,
          reason="Alamat ternyata di wilayah kantor B.")
    assert report.office_id == world.other_office.id and report.state == "new"
    assert not can(world.actors["officer"], "view_report", report)
    assert can(world.actors["kanwil_supervisor"], "view_report", report)


def test_a_duplicate_links_to_the_root_original(world):
    original = world.make.report(point=(107.31, -6.31))
    first_copy = world.report_in(State.new)
    apply(first_copy, Action.mark_duplicate, world.actors["officer"], original=original)
    second_copy = world.report_in(State.new)
    apply(second_copy, Action.mark_duplicate, world.actors["officer"], original=first_copy)
    assert second_copy.duplicate_of_id == original.id


@pytest.mark.date_sensitive
def test_due_times_count_working_days_in_jakarta(world, clock):
    """Each state's allowance from the moment it is entered: 1 working day to screen, 3 for the
    assignment and the field check, 2 for the approval (expectations by hand: tests/clock.py)."""
    one, two, three = (working_days_later(clock, days) for days in (1, 2, 3))
    report = world.report_in(State.new)
    due = {}
    for action, actor, params in [(Action.screen, "officer", {}),
                                  (Action.assign, "supervisor", {"assignee": world.actors["assignee"]}),
                                  (Action.start_field_check, "assignee", {}),
                                  (Action.record_finding, "assignee", world.params(Action.record_finding)),
                                  (Action.approve, "supervisor", {})]:
        apply(report, action, world.actors[actor], **params)
        due[report.state] = report.due_at
    assert due == {"screening": one, "assigned": three, "in_field": three, "pending_approval": two,
                   "closed": None}


def test_a_due_time_typed_at_assignment_is_kept(world, clock):
    report = world.report_in(State.screening)
    due = clock.now + timedelta(days=5)
    apply(report, Action.assign, world.actors["supervisor"], assignee=world.actors["assignee"], due=due)
    assert report.due_at == due
    with pytest.raises(UserValueError):
        apply(world.report_in(State.screening), Action.assign, world.actors["supervisor"],
              assignee=world.actors["assignee"], due=clock.now)


def test_the_database_refuses_a_closed_report_without_outcome(world):
    from sqlalchemy.exc import IntegrityError

    report = world.report_in(State.screening)
    report.state = "closed"
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.flush()
