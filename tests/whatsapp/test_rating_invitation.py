"""A WhatsApp reporter whose report is done is invited to rate the service on /status/<code>/nilai
(an absolute link at APOA_BASE_URL): inside the 24-hour window within the status text, outside it
as an approved template right after the status template, in one batch; once per report (not again
after a reopening), and never for a report already rated."""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from apoa.extensions import db
from apoa.feedback.models import RatingInvitation
from apoa.feedback.skm import SkmElement, rate
from apoa.reports.contact import Contact
from apoa.reports.models import Category, ReportEvent
from apoa.reports.services import NewReport, submit_report
from apoa.reports.tracking import display
from apoa.reports.workflow import Finding, apply
from apoa.whatsapp.models import Conversation, Outbound
from apoa.whatsapp.numbers import encrypt_number, sender_hash
from apoa.whatsapp.status import tell_reporter

NUMBER = "6281234567890"
BASE_URL = "https://apoa.example.go.id"


@pytest.fixture
def staff(make):
    karawang = make.office(regions=["32.15"], name="Kantor Imigrasi Karawang")
    return {"officer": make.user("officer", karawang), "assignee": make.user("officer", karawang),
            "supervisor": make.user("supervisor", karawang), "decider": make.user("supervisor", karawang)}


@pytest.fixture(autouse=True)
def base_url(app, harness, monkeypatch):
    for each in (app, harness):
        monkeypatch.setitem(each.config, "BASE_URL", BASE_URL)


@pytest.fixture
def report(clock, staff):
    category = db.session.scalar(select(Category).where(Category.code == "illegal_work"))
    return submit_report(NewReport(
        category_id=category.id, description="Lima orang asing bekerja di gudang tanpa izin.",
        people_count=5, place_kind="workplace", observed_at=clock.now - timedelta(hours=3),
        point=(107.30, -6.30), submission_key=str(uuid.uuid4()), contact=Contact(phone=NUMBER),
        channel="whatsapp"))


def wrote_at(moment, locale="en"):
    db.session.add(Conversation(sender_hash=sender_hash(NUMBER), phone=encrypt_number(NUMBER), locale=locale,
                                last_inbound_at=moment))
    db.session.flush()


def close(report, staff):
    apply(report, "screen", staff["officer"])
    apply(report, "assign", staff["supervisor"], assignee=staff["assignee"])
    apply(report, "start_field_check", staff["assignee"])
    apply(report, "record_finding", staff["assignee"], finding=Finding(outcome="not_found", notes="Kosong."))
    apply(report, "approve", staff["decider"])


def rows(report):
    return db.session.scalars(select(Outbound).where(Outbound.report_id == report.id).order_by(Outbound.id)).all()


def rating_link(report):
    return f"{BASE_URL}/status/{report.tracking_code}/nilai"


def invitations(report):
    return db.session.scalar(select(func.count()).where(RatingInvitation.report_id == report.id))


def test_inside_the_window_the_done_message_invites_to_rate(clock, report, staff):
    wrote_at(clock.now - timedelta(hours=2))
    close(report, staff)
    *_earlier, done = rows(report)
    body = done.payload["text"]["body"]
    assert body.startswith(f"The status of your report {display(report.tracking_code)} is now: Done.")
    assert "How was our service? Please rate it" in body and rating_link(report) in body
    assert invitations(report) == 1
    # the messages before it invited nobody
    assert all(rating_link(report) not in str(row.payload) for row in _earlier)


def test_outside_the_window_an_approved_template_follows_the_status_in_one_batch(clock, report, staff):
    close(report, staff)  # the reporter never wrote: templates only
    status, invitation = rows(report)[-2:]
    assert status.payload["template"]["name"] == "apoa_status_update"
    assert invitation.payload["template"]["name"] == "apoa_rating_invitation"
    parameters = [p["text"] for p in invitation.payload["template"]["components"][0]["parameters"]]
    assert parameters == [display(report.tracking_code), rating_link(report)]
    assert status.purpose == invitation.purpose == "status" and invitation.id == status.id + 1


def test_a_reopened_report_closed_again_is_not_invited_twice(clock, report, staff):
    wrote_at(clock.now - timedelta(hours=1))
    close(report, staff)
    apply(report, "reopen", staff["supervisor"], reason="Ada informasi baru dari warga.")
    apply(report, "assign", staff["supervisor"], assignee=staff["assignee"])
    apply(report, "start_field_check", staff["assignee"])
    apply(report, "record_finding", staff["assignee"], finding=Finding(outcome="not_found", notes="Tetap kosong."))
    apply(report, "approve", staff["decider"])
    invited = [row for row in rows(report) if rating_link(report) in str(row.payload)]
    assert len(invited) == 1 and invitations(report) == 1
    assert "Done" in rows(report)[-1].payload["text"]["body"]


def test_a_report_already_rated_is_not_invited(clock, report, staff):
    wrote_at(clock.now - timedelta(hours=1))
    report.state, report.outcome = "closed", "not_found"
    db.session.flush()
    rate(report, dict.fromkeys(SkmElement, 4))
    [row] = tell_reporter(report, ReportEvent(action="test", from_state="pending_approval", to_state="closed"))
    assert rating_link(report) not in row.payload["text"]["body"] and invitations(report) == 0


def test_steps_that_do_not_close_never_invite(clock, report, staff):
    wrote_at(clock.now - timedelta(hours=1))
    apply(report, "screen", staff["officer"])
    assert invitations(report) == 0 and all(rating_link(report) not in str(r.payload) for r in rows(report))
