"""The summaries' rollups (migration 0007) follow every change of the reports: after random
workflow activity — submissions, screening, assignment with and without a typed due time, field
checks, findings, approvals, send-backs, reopenings, duplicates, transfers between offices,
re-categorisations, new due times and deletions — every rollup row equals what is computed here,
independently, in Python from the raw report and report_event rows (the definitions of the
migration's docstring), and summary_rebuild() gives the same rows again.

apply() stamps every event with the transaction's time, which inside one test is a single moment;
so each event is moved to a simulated clock that advances by random steps (minutes to days), to
spread the reports over many days and weeks and make some steps late.

The wall clock is fixed for every test here (`fixed_clock`): due times count working days and the
weeks are calendar weeks, so an answer taken from today's date would change with the weekday."""
import bisect
import importlib.util
import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, text, update

from apoa.auth.permissions import can
from apoa.errors import ApoaError
from apoa.extensions import db
from apoa.reports import sla, workflow
from apoa.reports.models import Category, Report, ReportEvent
from apoa.reports.states import ActionTaken, Outcome, State
from apoa.summaries import models as summary_models
from apoa.summaries.models import (DURATION_EDGES_HOURS, FLOW_MEASURES, summary_due, summary_flow, summary_open,
                                   summary_report)
from tests.factories import World

MIGRATION = Path(__file__).resolve().parents[2] / "migrations/versions/20261123_0007_summary_rollups.py"
JAKARTA = ZoneInfo("Asia/Jakarta")
PLACES = [(107.30, -6.30), (107.31, -6.31), (107.45, -6.20), (107.15, -6.30), (110.46, -1.67)]
CHANNELS = ["web", "android", "whatsapp", "officer"]
ACTING = ("officer", "assignee", "supervisor", "decider", "kanwil_supervisor", "foreign_supervisor")


# A Monday morning in Jakarta; the random activity starts 90 days before it. With the seeded random
# steps this start covers every kind of step (on time and late closures among them); which weekdays
# the steps meet decides that, so the date is fixed rather than taken from today.
FIXED_NOW = datetime(2026, 11, 16, 10, 0, tzinfo=JAKARTA)


@pytest.fixture(autouse=True)
def fixed_clock(time_machine):
    time_machine.move_to(FIXED_NOW, tick=False)


def migration():
    spec = importlib.util.spec_from_file_location("migration_0007", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_freezes_the_working_days_and_buckets_of_the_code():
    frozen = migration()
    assert frozen.SLA_WORKING_DAYS == {state.value: days for state, days in sla.WORKING_DAYS.items()}
    assert frozen.DURATION_EDGES_HOURS == DURATION_EDGES_HOURS
    assert frozen.OUTCOMES == tuple(o.value for o in Outcome) == summary_models.OUTCOME_COLUMNS
    assert frozen.MEASURES == list(FLOW_MEASURES)


def test_working_days_in_sql_are_those_of_python():
    start = datetime(2026, 11, 2, 0, 30, tzinfo=timezone.utc)      # a Monday
    moments = [start + timedelta(hours=7 * k) for k in range(48)]     # every weekday, at many hours
    for days in (1, 2, 3, 5, 6, 11):
        got = db.session.execute(
            text("SELECT summary_add_working_days(t, :n) FROM unnest(CAST(:ts AS timestamptz[])) t"),
            {"n": days, "ts": moments}).scalars().all()
        assert got == [sla.add_working_days(m, days) for m in moments], days


# --- the same figures, computed in Python from the raw rows ------------------------------------------

def local_day(moment):
    return moment.astimezone(JAKARTA).date() if moment else None


def bucket(duration):
    return bisect.bisect_right(DURATION_EDGES_HOURS, duration.total_seconds() / 3600)


def deadline(event):
    """The due time of the step `event` began: the due typed at assignment, or the state's working days."""
    typed = (event.detail or {}).get("due")
    if typed:
        return datetime.fromisoformat(typed)
    return sla.due_at(State(event.to_state), event.created_at.astimezone(timezone.utc))


def facts(report, events):
    screened_at = screen_late = closed_at = None
    any_late = False
    for previous, event in zip([None, *events], events):
        due = deadline(previous) if previous is not None else None
        late = due is not None and event.created_at > due
        any_late = any_late or late
        if event.from_state == State.new.value and screened_at is None:
            screened_at, screen_late = event.created_at, late
        if event.to_state == State.closed.value:
            closed_at = max(closed_at or event.created_at, event.created_at)
    closed = report.state == State.closed.value and closed_at is not None
    return {
        "report_id": report.id, "office_id": report.office_id, "kab_id": report.kab_id,
        "category_id": report.category_id, "channel": report.channel, "state": report.state,
        "assignee_id": report.assignee_id,
        "due_day": local_day(report.due_at) if report.state != State.closed.value else None,
        "received_day": local_day(report.created_at), "screened_day": local_day(screened_at),
        "screen_bucket": bucket(screened_at - report.created_at) if screened_at else None,
        "screened_on_time": (not screen_late) if screened_at else None,
        "closed_day": local_day(closed_at) if closed else None, "outcome": report.outcome if closed else None,
        "close_bucket": bucket(closed_at - report.created_at) if closed else None,
        "closed_on_time": (not any_late) if closed else None,
    }


def expected_rollups():
    db.session.expire_all()
    events = defaultdict(list)
    for event in db.session.scalars(select(ReportEvent).order_by(ReportEvent.id)):
        events[event.report_id].append(event)
    per_report = {r.id: facts(r, events[r.id]) for r in db.session.scalars(select(Report))}
    flow, open_now, due = defaultdict(Counter), Counter(), Counter()
    for f in per_report.values():
        members = [("kab", f["kab_id"], None), ("category", f["category_id"], None), ("channel", None, f["channel"])]
        parts = [(f["received_day"], {"received": 1})]
        if f["screened_day"]:
            parts.append((f["screened_day"], {"screened": 1, "screened_on_time": int(f["screened_on_time"]),
                                              f"screen_h{f['screen_bucket']}": 1}))
        if f["closed_day"]:
            parts.append((f["closed_day"], {"closed": 1, "closed_on_time": int(f["closed_on_time"]),
                                            f"closed_{f['outcome']}": 1, f"close_h{f['close_bucket']}": 1}))
        for day, measures in parts:
            for grain, start in (("d", day), ("w", day - timedelta(days=day.weekday()))):
                for dimension, member_id, member_code in members:
                    flow[(grain, start, dimension, f["office_id"], member_id, member_code)].update(measures)
        if f["state"] != State.closed.value:
            for dimension, member_id, member_code in [*members, ("assignee", f["assignee_id"], None)]:
                if dimension != "assignee" or member_id is not None:
                    open_now[(dimension, f["office_id"], member_id, member_code, f["state"])] += 1
                    due[(dimension, f["office_id"], member_id, member_code, f["due_day"])] += 1
    return per_report, {key: dict(+c) for key, c in flow.items()}, dict(open_now), dict(due)


def actual_rollups():
    per_report = {row.report_id: dict(row._mapping) for row in db.session.execute(select(summary_report))}
    flow = {}
    for row in db.session.execute(select(summary_flow)):
        key = (row.grain, row.period_start, row.dimension, row.office_id, row.member_id, row.member_code)
        flow[key] = {name: getattr(row, name) for name in FLOW_MEASURES if getattr(row, name)}
    open_now = {(r.dimension, r.office_id, r.member_id, r.member_code, r.state): r.reports
                for r in db.session.execute(select(summary_open))}
    due = {(r.dimension, r.office_id, r.member_id, r.member_code, r.due_day): r.reports
           for r in db.session.execute(select(summary_due))}
    return per_report, flow, open_now, due


def assert_rollups_match():
    expected, actual = expected_rollups(), actual_rollups()
    for name, want, got in zip(("summary_report", "summary_flow", "summary_open", "summary_due"), expected, actual):
        assert got == want, name


# --- random activity -------------------------------------------------------------------------------------

class Clock:
    """The simulated clock, which also moves the wall clock: due times that apply() computes from
    "now" then agree with the moments the events are stamped with."""

    def __init__(self, rng, traveller):
        self.rng = rng
        self.traveller = traveller
        self.now = FIXED_NOW - timedelta(days=90)
        traveller.move_to(self.now, tick=False)

    def tick(self):
        # Mostly minutes to hours, now and then days: some steps end late, most do not.
        self.now += timedelta(minutes=self.rng.choices([2, 10, 30, 90, 600, 4000], [30, 30, 20, 10, 7, 3])[0])
        self.traveller.move_to(self.now, tick=False)
        return self.now


def submit(make, rng, clock, categories):
    moment = clock.tick()
    report = make.report(point=rng.choice(PLACES), category_code=rng.choice(categories),
                         channel=rng.choice(CHANNELS), created_at=moment, due_at=sla.due_at(State.new, moment))
    db.session.execute(update(ReportEvent).where(ReportEvent.report_id == report.id).values(created_at=moment))
    return report


def params_for(world, rng, action, report):
    if action is workflow.Action.assign:
        due = datetime.now(timezone.utc) + timedelta(days=rng.randint(1, 9)) if rng.random() < 0.4 else None
        return {"assignee": world.actors["assignee"], "due": due}
    if action is workflow.Action.record_finding:
        outcome = rng.choice(workflow.FINDING_OUTCOMES)
        taken = rng.choice(list(ActionTaken)).value if outcome is Outcome.violation_found else None
        return {"finding": workflow.Finding(outcome=outcome.value, action_taken=taken, notes="Diperiksa.")}
    if action is workflow.Action.transfer:
        office = rng.choice([world.office, world.other_office])
        return {"office": office, "reason": "Lokasi masuk wilayah kantor lain."}
    return world.params(action)


def act_at_random(world, rng, clock, report):
    db.session.refresh(report)
    possible = [t for t in workflow.TRANSITIONS if State(report.state) in t.from_states]
    transition = rng.choice(possible)
    action = transition.action
    actors = [world.actors[name] for name in ACTING if can(world.actors[name], transition.permission, report)]
    if not actors:
        return None
    try:
        with db.session.begin_nested():
            event = workflow.apply(report, action, rng.choice(actors), **params_for(world, rng, action, report))
            event.created_at = clock.tick()
            db.session.flush()
            return action
    except ApoaError:
        return None


def test_rollups_follow_random_workflow_activity(make, time_machine):
    world = World(make)
    rng = random.Random(20261123)
    clock = Clock(rng, time_machine)
    categories = db.session.scalars(select(Category.code)).all()
    reports = [submit(make, rng, clock, categories) for _ in range(30)]
    done = Counter()
    for step in range(400):
        roll = rng.random()
        if roll < 0.08:
            reports.append(submit(make, rng, clock, categories))
        elif roll < 0.11 and reports:
            gone = reports.pop(rng.randrange(len(reports)))
            if not db.session.scalar(select(func.count()).where(Report.duplicate_of_id == gone.id)):
                db.session.execute(delete(Report).where(Report.id == gone.id))
                done["delete"] += 1
        elif roll < 0.14 and reports:
            db.session.execute(update(Report).where(Report.id == rng.choice(reports).id).values(
                category_id=select(Category.id).where(Category.code == rng.choice(categories)).scalar_subquery()))
        elif roll < 0.17 and reports:
            target = rng.choice(reports)
            db.session.execute(update(Report).where(Report.id == target.id, Report.state != "closed")
                               .values(due_at=clock.now + timedelta(hours=rng.randint(-200, 200))))
        elif reports:
            done[act_at_random(world, rng, clock, rng.choice(reports))] += 1
        db.session.expire_all()
        if step % 100 == 99:
            assert_rollups_match()
    assert_rollups_match()
    # The activity covered what the rollups must follow.
    for action in workflow.Action:
        assert done[action] > 0, (action, done)
    assert done["delete"] > 0
    per_report, flow, open_now, _due = expected_rollups()
    assert {f["closed_on_time"] for f in per_report.values()} >= {True, False}
    assert {f["screened_on_time"] for f in per_report.values()} >= {True, False}
    assert len({key[1] for key in flow if key[0] == "w"}) >= 4      # spread over weeks
    assert any(key[0] == "assignee" for key in open_now)


def test_rebuild_gives_the_same_rollups(make, time_machine):
    world = World(make)
    rng = random.Random(7)
    clock = Clock(rng, time_machine)
    categories = db.session.scalars(select(Category.code)).all()
    reports = [submit(make, rng, clock, categories) for _ in range(12)]
    for _ in range(60):
        act_at_random(world, rng, clock, rng.choice(reports))
    kept = actual_rollups()
    db.session.execute(text("SELECT summary_rebuild()"))
    assert actual_rollups() == kept
    assert_rollups_match()


def test_a_transfer_moves_the_counts_to_the_other_office(make):
    world = World(make)
    report = make.report(point=PLACES[0])
    officer = world.actors["officer"]
    workflow.apply(report, workflow.Action.screen, officer)
    workflow.apply(report, workflow.Action.transfer, officer, office=world.other_office,
                   reason="Lokasi masuk wilayah kantor B.")
    offices = {(row.dimension, row.office_id) for row in db.session.execute(
        select(summary_flow).where(summary_flow.c.grain == "d"))}
    assert offices == {(d, world.other_office.id) for d in ("kab", "category", "channel")}
    kab_rows = db.session.execute(select(summary_open).where(summary_open.c.dimension == "kab")).all()
    assert [(r.office_id, r.state, r.reports) for r in kab_rows] == [(world.other_office.id, "new", 1)]
    due_rows = db.session.execute(select(summary_due).where(summary_due.c.dimension == "kab")).all()
    assert [(r.office_id, r.reports) for r in due_rows] == [(world.other_office.id, 1)]
    assert_rollups_match()


@pytest.mark.parametrize("typed_due", [None, timedelta(days=9)])
def test_the_due_typed_at_assignment_decides_whether_a_week_long_field_step_was_late(make, typed_due):
    world = World(make)
    start = datetime.now(timezone.utc) - timedelta(days=30)
    report = make.report(point=PLACES[0], created_at=start)
    db.session.execute(update(ReportEvent).where(ReportEvent.report_id == report.id).values(created_at=start))
    due = datetime.now(timezone.utc) + typed_due if typed_due else None
    steps = [(1, workflow.Action.screen, "officer", {}),
             (2, workflow.Action.assign, "supervisor", {"assignee": world.actors["assignee"], "due": due}),
             (24 * 7, workflow.Action.start_field_check, "assignee", {}),
             (24 * 7 + 1, workflow.Action.record_finding, "assignee",
              {"finding": workflow.Finding(outcome="compliant", notes="Izin tinggal sah.")}),
             (24 * 7 + 2, workflow.Action.approve, "supervisor", {})]
    for hours, action, actor, params in steps:
        event = workflow.apply(report, action, world.actors[actor], **params)
        event.created_at = start + timedelta(hours=hours)
        db.session.flush()
    stored = db.session.execute(select(summary_report).where(summary_report.c.report_id == report.id)).one()
    # Without a typed due time the assigned step had 3 working days, not 7 days; with one, 39 days.
    assert (stored.screened_on_time, stored.closed_on_time, stored.outcome) == (True, typed_due is not None,
                                                                                 "compliant")
    assert_rollups_match()
