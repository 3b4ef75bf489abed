"""“Tugas saya” (/tugas-saya): the reports waiting for the signed-in user (assigned to them,
awaiting their approval, sent back to them) soonest due first, or nearest first when the browser
gives a location; the same answer as the report page's actions, report by report."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from apoa.reports import tasks
from apoa.reports.states import State
from apoa.reports.workflow import Action, Finding, apply, available_actions
from tests.factories import World

KARAWANG_BARAT = (107.30, -6.30)
TELUKJAMBE = (107.27, -6.33)
CIKAMPEK = (107.45, -6.40)
SEND_BACK_NOTE = "Foto lokasi belum ada, mohon dilengkapi."


@pytest.fixture
def world(make):
    return World(make)


def listed(answer):
    """(report id, kind of task) of each row, in the order shown."""
    assert answer.status_code == 200, answer.status_code
    return [(int(i), kind) for i, kind in
            re.findall(r'data-report-id="(\d+)" data-task="(\w+)"', answer.text)]


def tasks_of(sign_in, user, **args):
    return listed(sign_in(user).get("/tugas-saya", query_string=args))


# --- reports taken through the real workflow -------------------------------------------------------

def screened(world, point=KARAWANG_BARAT):
    report = world.make.report(point=point)
    apply(report, Action.screen, world.actors["officer"])
    return report


def assigned(world, point=KARAWANG_BARAT):
    report = screened(world, point)
    apply(report, Action.assign, world.actors["supervisor"], assignee=world.actors["assignee"])
    return report


def finding_recorded(world):
    """In pending_approval with a finding the assignee proposed."""
    report = assigned(world)
    apply(report, Action.start_field_check, world.actors["assignee"])
    apply(report, Action.record_finding, world.actors["assignee"],
          finding=Finding(outcome="not_found", notes="Rumah kosong saat diperiksa."))
    return report


def dismissed_by(world, who):
    report = screened(world)
    apply(report, Action.dismiss, world.actors[who], reason="Tidak ada orang asing di alamat itu.")
    return report


def sent_back(report, world):
    apply(report, Action.send_back, world.actors["decider"], note=SEND_BACK_NOTE)
    return report


# --- whose tasks ---------------------------------------------------------------------------------

def test_the_assignee_sees_reports_assigned_to_them_and_nobody_else_does(world, sign_in):
    waiting = assigned(world)
    in_field = assigned(world)
    apply(in_field, Action.start_field_check, world.actors["assignee"])
    assert sorted(tasks_of(sign_in, world.actors["assignee"])) == [(waiting.id, "assigned"),
                                                                  (in_field.id, "assigned")]
    assert tasks_of(sign_in, world.actors["officer"]) == []


def test_supervisors_see_decisions_awaiting_their_approval_but_never_their_own(world, sign_in):
    by_officer = dismissed_by(world, "officer")
    by_supervisor = dismissed_by(world, "supervisor")
    finding = finding_recorded(world)
    assert sorted(tasks_of(sign_in, world.actors["decider"])) == sorted(
        [(by_officer.id, "approval"), (by_supervisor.id, "approval"), (finding.id, "approval")])
    assert sorted(tasks_of(sign_in, world.actors["supervisor"])) == sorted(
        [(by_officer.id, "approval"), (finding.id, "approval")])
    # Officers approve nothing, and the one who proposed waits.
    assert tasks_of(sign_in, world.actors["officer"]) == []
    assert tasks_of(sign_in, world.actors["assignee"]) == []


def test_a_decision_sent_back_returns_to_whoever_proposed_it_with_the_note(world, sign_in, english):
    dismissal = sent_back(dismissed_by(world, "officer"), world)
    finding = sent_back(finding_recorded(world), world)
    assert State(dismissal.state) is State.screening and State(finding.state) is State.in_field
    answer = sign_in(world.actors["officer"]).get("/tugas-saya")
    assert listed(answer) == [(dismissal.id, "sent_back")]
    assert SEND_BACK_NOTE in answer.text and "Sent back to you" in answer.text
    # The assignee's finding is back in the field: theirs again, and said to be sent back.
    assert tasks_of(sign_in, world.actors["assignee"]) == [(finding.id, "sent_back")]
    # Once acted on, it is no longer "sent back".
    apply(dismissal, Action.dismiss, world.actors["officer"], reason="Alamat fiktif, sudah dicek.")
    assert tasks_of(sign_in, world.actors["officer"]) == []


def test_new_screening_and_closed_reports_are_nobodys_task(world, sign_in):
    world.make.report(point=KARAWANG_BARAT)
    screened(world)
    closed = finding_recorded(world)
    apply(closed, Action.approve, world.actors["decider"])
    for who in ("officer", "assignee", "supervisor", "decider"):
        assert tasks_of(sign_in, world.actors[who]) == [], who


def test_other_offices_never_see_the_tasks_and_the_kanwil_sees_those_below(world, sign_in):
    waiting = dismissed_by(world, "officer")
    assert tasks_of(sign_in, world.actors["foreign_supervisor"]) == []
    assert tasks_of(sign_in, world.actors["kanwil_supervisor"]) == [(waiting.id, "approval")]


@pytest.mark.parametrize("role", ["regional_head", "admin", "resident"])
def test_who_may_not_view_reports_has_no_task_page(world, sign_in, role):
    assert sign_in(world.actors[role]).get("/tugas-saya").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    answer = client.get("/tugas-saya")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/masuk")


def test_the_list_agrees_with_the_actions_of_each_report_page(world, sign_in):
    """For every user and every report: listed exactly when the report page offers them the field
    work or the approval, or when their sent-back decision waits for them."""
    reports = [world.make.report(point=KARAWANG_BARAT), screened(world), assigned(world),
               finding_recorded(world), dismissed_by(world, "officer"),
               dismissed_by(world, "supervisor"), sent_back(dismissed_by(world, "officer"), world),
               sent_back(finding_recorded(world), world)]
    theirs = {Action.start_field_check, Action.record_finding, Action.approve}
    for who in ("officer", "assignee", "supervisor", "decider", "kanwil_supervisor",
                "foreign_officer", "foreign_supervisor"):
        user = world.actors[who]
        shown = dict(tasks_of(sign_in, user))
        for report in reports:
            actions = set(available_actions(report, user))
            if shown.get(report.id) == "sent_back":
                assert actions, (who, report.state)  # they can act on it again
            else:
                assert (report.id in shown) == bool(actions & theirs), (who, report.state, actions)


# --- order ---------------------------------------------------------------------------------------

@pytest.fixture
def three_due(world, make, clock):
    """Three reports assigned to the assignee at three places, due in another order."""
    due = {TELUKJAMBE: 30, CIKAMPEK: 5, KARAWANG_BARAT: 60}
    return {point: make.report(point=point, state="assigned", assignee_id=world.actors["assignee"].id,
                               due_at=clock.now + timedelta(hours=hours))
            for point, hours in due.items()}


def ids_in_order(rows):
    return [report_id for report_id, _kind in rows]


def test_soonest_due_first(three_due, world, sign_in):
    expected = [three_due[p].id for p in (CIKAMPEK, TELUKJAMBE, KARAWANG_BARAT)]
    assert ids_in_order(tasks_of(sign_in, world.actors["assignee"])) == expected


def test_nearest_first_from_the_users_location(three_due, world, sign_in, english):
    near_telukjambe = {"lat": "-6.331", "lon": "107.269"}
    answer = sign_in(world.actors["assignee"]).get("/tugas-saya", query_string=near_telukjambe)
    expected = [three_due[p].id for p in (TELUKJAMBE, KARAWANG_BARAT, CIKAMPEK)]
    assert ids_in_order(listed(answer)) == expected
    assert "Nearest first" in answer.text and re.search(r'class="distance">\d+ m<', answer.text)
    assert re.search(r'class="distance">\d+(\.\d)? km<', answer.text)  # Cikampek: some 20 km away


@pytest.mark.parametrize("lat, lon", [("nan", "107.3"), ("-6.3", "inf"), ("91", "107.3"),
                                      ("-6.3", "181"), ("abc", "107.3"), ("", ""), ("-6.3", None)])
def test_a_location_that_is_not_one_keeps_the_order_by_due_time(three_due, world, sign_in, lat, lon):
    args = {"lat": lat} if lon is None else {"lat": lat, "lon": lon}
    expected = [three_due[p].id for p in (CIKAMPEK, TELUKJAMBE, KARAWANG_BARAT)]
    assert ids_in_order(tasks_of(sign_in, world.actors["assignee"], **args)) == expected


def test_overdue_tasks_are_marked(world, make, sign_in, clock):
    late = make.report(point=KARAWANG_BARAT, state="assigned", assignee_id=world.actors["assignee"].id,
                       due_at=clock.now - timedelta(hours=1))
    text = sign_in(world.actors["assignee"]).get("/tugas-saya").text
    row = re.search(rf'<tr class="([^"]*)" data-report-id="{late.id}"', text)
    assert row.group(1) == "overdue" and "badge-overdue" in text


def test_the_states_come_from_the_workflow_table():
    assert tasks.states_needing("field_work") == ["assigned", "in_field"]
    assert tasks.states_needing("approve") == ["pending_approval"]
    assert tasks.proposal_states() == ["in_field", "new", "screening"]


@pytest.fixture
def statements(db_session):
    """The SQL statements executed meanwhile (the requests run on the test's connection, from the
    harness app's engine: listening there sees them all)."""
    engine = db_session.connection().engine
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("args", [{}, {"lat": "-6.3", "lon": "107.3"}])
def test_the_number_of_statements_does_not_grow_with_the_tasks(world, make, sign_in, statements, args):
    client = sign_in(world.actors["assignee"])

    def counted():
        statements.clear()
        answer = client.get("/tugas-saya", query_string=args)
        return len(statements), len(listed(answer))

    make.report(point=KARAWANG_BARAT, state="assigned", assignee_id=world.actors["assignee"].id)
    few, one = counted()
    for point in (TELUKJAMBE, CIKAMPEK, KARAWANG_BARAT, TELUKJAMBE, CIKAMPEK):
        make.report(point=point, state="assigned", assignee_id=world.actors["assignee"].id)
    many, six = counted()
    assert (one, six) == (1, 6)
    assert many == few
