"""After each workflow action the page says what happens next and who must act, derived from the
report's new state in one place (workflow.next_step)."""
import re

import pytest

from apoa.reports.states import State
from apoa.reports.workflow import NEXT_STEPS
from tests.factories import World


@pytest.fixture
def world(make):
    return World(make)


def action_data(action, **fields):
    return {f"{action}-{name}": value for name, value in fields.items()}


def act(client, report, action, **fields):
    """Post an action, follow to the page it ends on, and return the success message shown."""
    page = client.post(f"/laporan/{report.id}/aksi/{action}", data=action_data(action, **fields),
                       follow_redirects=True)
    assert page.status_code == 200, page.text
    messages = re.findall(r'<p class="flash flash-success" role="status">(.*?)</p>', page.text, re.S)
    done = [m for m in messages if not m.startswith("Welcome")]  # the sign-in's greeting aside
    assert len(done) == 1, messages
    return done[0]


def test_every_state_has_its_next_step():
    assert set(NEXT_STEPS) == set(State)


def test_after_screening_a_supervisor_must_assign_it(world, sign_in, english):
    message = act(sign_in(world.actors["officer"]), world.report_in(State.new), "screen")
    assert message.startswith("Done: Start screening. ")
    assert "a supervisor must assign it for a field check" in message


def test_after_assigning_the_assignee_is_named(world, sign_in, english):
    assignee = world.actors["assignee"]
    message = act(sign_in(world.actors["supervisor"]), world.report_in(State.screening), "assign",
                  assignee=str(assignee.id))
    assert message.endswith(f"Next, {assignee.name} must start the field check.")


def test_in_the_field_the_assignee_must_record_the_finding(world, sign_in, english):
    assignee = world.actors["assignee"]
    message = act(sign_in(assignee), world.report_in(State.assigned), "start_field_check")
    assert message.endswith(f"Next, {assignee.name} must record the finding.")


def test_a_proposed_decision_waits_for_another_supervisor(world, sign_in, english):
    message = act(sign_in(world.actors["officer"]), world.report_in(State.screening), "dismiss",
                  reason="Tidak ada orang asing di alamat itu.")
    assert "a supervisor other than the one who proposed this decision must approve it" in message


def test_after_approval_nobody_needs_to_act(world, sign_in, english):
    message = act(sign_in(world.actors["supervisor"]), world.report_in(State.pending_approval), "approve")
    assert "The report is closed: nobody needs to act" in message


def test_after_a_transfer_the_other_office_must_screen_it(world, sign_in, english):
    message = act(sign_in(world.actors["officer"]), world.report_in(State.screening), "transfer",
                  office=str(world.other_office.id), reason="Lokasi masuk wilayah kantor B.")
    assert message.endswith(f"Next, the officers of {world.other_office.name} must screen it.")

