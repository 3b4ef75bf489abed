"""A WhatsApp reporter who may be contacted is told when the public status of their report changes
(received → in progress → done, as on /status): free text inside WhatsApp's 24-hour window, the
approved template outside it, never the outcome or the officers' notes; nothing for anonymous
reports, other channels, or steps a resident cannot see. What was queued is read from wa_outbound."""
import uuid
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from apoa.extensions import db
from apoa.reports.contact import Contact
from apoa.reports.models import Category, ReportEvent
from apoa.reports.services import NewReport, submit_report
from apoa.reports.tracking import display
from apoa.reports.workflow import Finding, apply
from apoa.whatsapp.models import Conversation, Outbound
from apoa.whatsapp.numbers import decrypt_number, encrypt_number, sender_hash
from apoa.whatsapp.status import tell_reporter

NUMBER = "6281234567890"
KARAWANG = (107.30, -6.30)
SECRET_NOTE = "Catatan internal petugas: pemilik gudang kerabat kepala desa."


@pytest.fixture
def karawang(make):
    return make.office(regions=["32.15"], name="Kantor Imigrasi Karawang")


@pytest.fixture
def staff(make, karawang):
    return {"officer": make.user("officer", karawang), "assignee": make.user("officer", karawang),
            "supervisor": make.user("supervisor", karawang), "decider": make.user("supervisor", karawang)}


def new_report(clock, contact=Contact(phone=NUMBER), channel="whatsapp"):
    category = db.session.scalar(select(Category).where(Category.code == "illegal_work"))
    return submit_report(NewReport(
        category_id=category.id, description="Lima orang asing bekerja di gudang tanpa izin.",
        people_count=5, place_kind="workplace", observed_at=clock.now - timedelta(hours=3),
        point=KARAWANG, submission_key=str(uuid.uuid4()), contact=contact, channel=channel))


@pytest.fixture
def report(clock, karawang):
    return new_report(clock)


def wrote_at(moment, locale="id"):
    """The reporter's conversation, their last message at `moment` (None: never within memory)."""
    db.session.add(Conversation(sender_hash=sender_hash(NUMBER), phone=encrypt_number(NUMBER), locale=locale,
                                last_inbound_at=moment))
    db.session.flush()


def step(from_state, to_state):
    """A history step as workflow._record appends it (not stored: tell_reporter only reads it)."""
    return ReportEvent(action="test", from_state=from_state, to_state=to_state, note=SECRET_NOTE)


def status_rows(report):
    return db.session.scalars(select(Outbound).where(Outbound.report_id == report.id, Outbound.purpose == "status")
                              .order_by(Outbound.id)).all()


def template(code, status):
    return {"type": "template", "template": {
        "name": "apoa_status_update", "language": {"code": "id"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": code},
                                                       {"type": "text", "text": status}]}]}}


# --- through the workflow (workflow._record calls tell_reporter) ----------------------------------

def test_screening_inside_the_window_tells_the_reporter_in_free_text(clock, report, staff):
    wrote_at(clock.now - timedelta(hours=23))
    apply(report, "screen", staff["officer"], note=SECRET_NOTE)
    [row] = status_rows(report)
    assert row.to_hash == sender_hash(NUMBER) and decrypt_number(row.phone) == NUMBER
    assert row.payload["type"] == "text"
    body = row.payload["text"]["body"]
    assert display(report.tracking_code) in body
    assert f"/status/{report.tracking_code}" in body
    assert "In progress" in body or "Diproses" in body
    assert SECRET_NOTE not in body


def test_steps_within_one_public_status_tell_nothing_more(clock, report, staff):
    wrote_at(clock.now - timedelta(hours=1))
    apply(report, "screen", staff["officer"])
    apply(report, "assign", staff["supervisor"], assignee=staff["assignee"])
    apply(report, "start_field_check", staff["assignee"])
    apply(report, "record_finding", staff["assignee"],
          finding=Finding(outcome="violation_found", action_taken="deportation", notes=SECRET_NOTE))
    assert len(status_rows(report)) == 1  # new → screening only: all in progress since
    apply(report, "approve", staff["decider"])
    first, closed = status_rows(report)
    body = closed.payload["text"]["body"]
    assert "Done" in body or "Selesai" in body
    for secret in (SECRET_NOTE, "Deportation", "Deportasi", "Violation", "Pelanggaran"):
        assert secret not in body


# --- tell_reporter on its own ---------------------------------------------------------------------

def test_outside_the_window_the_approved_template_carries_code_and_status_in_indonesian(clock, report):
    wrote_at(clock.now - timedelta(hours=24, seconds=1))
    tell_reporter(report, step("new", "screening"))
    [row] = status_rows(report)
    assert row.payload == template(display(report.tracking_code), "Diproses")


def test_a_reporter_without_a_conversation_gets_the_template(clock, report):
    tell_reporter(report, step("pending_approval", "closed"))
    [row] = status_rows(report)
    assert row.payload == template(display(report.tracking_code), "Selesai")


def test_the_window_ends_24_hours_after_the_last_message(clock, report):
    wrote_at(clock.now - timedelta(hours=24))
    tell_reporter(report, step("new", "screening"))
    [row] = status_rows(report)
    assert row.payload["type"] == "template"


def test_free_text_is_in_the_language_the_reporter_chose(clock, report):
    wrote_at(clock.now - timedelta(minutes=5), locale="en")
    tell_reporter(report, step("screening", "new"))  # a transfer: received again, at another office
    [row] = status_rows(report)
    body = row.payload["text"]["body"]
    assert body.startswith(f"The status of your report {display(report.tracking_code)} is now: Received.")
    assert SECRET_NOTE not in body


@pytest.mark.parametrize("from_state, to_state", [
    (None, "new"), ("new", "new"), ("screening", "assigned"), ("assigned", "in_field"),
    ("in_field", "pending_approval"), ("pending_approval", "screening"), ("closed", "closed")])
def test_no_message_when_the_public_status_stays(clock, report, from_state, to_state):
    wrote_at(clock.now - timedelta(hours=1))
    assert tell_reporter(report, step(from_state, to_state)) == []
    assert status_rows(report) == []


@pytest.mark.parametrize("from_state, to_state", [
    ("new", "screening"), ("new", "pending_approval"), ("pending_approval", "closed"), ("closed", "screening"),
    ("screening", "new")])
def test_a_message_whenever_the_public_status_changes(clock, report, from_state, to_state):
    wrote_at(clock.now - timedelta(hours=1))
    assert len(tell_reporter(report, step(from_state, to_state))) == 1
    assert len(status_rows(report)) == 1


def test_an_anonymous_whatsapp_report_tells_nobody(clock):
    anonymous = new_report(clock, contact=None)
    assert tell_reporter(anonymous, step("new", "screening")) == []
    assert status_rows(anonymous) == []


@pytest.mark.parametrize("channel", ["web", "android", "api"])
def test_reports_of_other_channels_are_not_told_on_whatsapp(clock, channel):
    wrote_at(clock.now - timedelta(hours=1))
    other = new_report(clock, channel=channel)
    assert tell_reporter(other, step("new", "screening")) == []
    assert status_rows(other) == []
    assert db.session.scalars(select(Outbound)).all() == []


def test_a_contact_no_key_opens_stops_the_message_but_not_the_workflow(clock, report, staff):
    report.contact = Fernet(Fernet.generate_key()).encrypt(b'{"v": 1, "phone": "6281234567890"}')
    db.session.flush()
    assert tell_reporter(report, step("new", "screening")) == []
    apply(report, "screen", staff["officer"])
    assert report.state == "screening"
    assert status_rows(report) == []
