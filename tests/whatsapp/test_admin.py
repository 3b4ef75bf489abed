"""/admin/whatsapp: the admin (manage_whatsapp) sees how many messages went out by state, the
failed sends with "send again", and blocks and unblocks numbers typed in any Indonesian format;
a number or a message text never appears on the page or in the audit log; everyone else gets 404."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from apoa import jobs
from apoa.audit.models import AuditEntry
from apoa.extensions import db
from apoa.reports.tracking import display
from apoa.whatsapp.messages import Text, graph_payload
from apoa.whatsapp.models import Block, Outbound, SendState
from apoa.whatsapp.numbers import encrypt_number, sender_hash
from apoa.whatsapp.outbound import SEND_BATCH

PAGE = "/admin/whatsapp"
NUMBER = "6285766554433"
NUMBER_SHAPES = re.compile(r"857.?6655.?4433")
SECRET_TEXT = "Status laporan Anda di Jalan Kenanga 12 berubah"


@pytest.fixture
def admin(make):
    return make.user("admin", name="Admin WhatsApp")


@pytest.fixture
def admin_client(admin, sign_in):
    return sign_in(admin)


def outbound(state, report=None, created_at=None, **fields):
    row = Outbound(to_hash=sender_hash(NUMBER), phone=encrypt_number(NUMBER), purpose=fields.pop("purpose", "status"),
                   payload=graph_payload(Text(SECRET_TEXT)), state=state.value,
                   report_id=report.id if report else None, **fields)
    if created_at is not None:
        row.created_at = created_at
    db.session.add(row)
    db.session.flush()
    return row


def audit(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def assert_no_number_or_text(page):
    assert not NUMBER_SHAPES.search(page) and SECRET_TEXT not in page and "Kenanga" not in page


# --- who may enter -------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["resident", "officer", "supervisor", "regional_head"])
def test_the_whatsapp_page_is_not_found_for_other_roles(make, sign_in, role):
    client = sign_in(make.user(role))
    row = outbound(SendState.failed)
    assert client.get(PAGE).status_code == 404
    assert client.post(f"{PAGE}/blokir", data={"number": NUMBER}).status_code == 404
    assert client.post(f"{PAGE}/gagal/{row.id}/kirim-ulang").status_code == 404
    assert db.session.scalars(select(Block)).all() == [] and row.state == SendState.failed.value


def test_the_whatsapp_page_is_not_found_without_signing_in(client):
    assert client.get(PAGE).status_code == 404
    assert client.post(f"{PAGE}/blokir", data={"number": NUMBER}).status_code == 404


def test_the_admin_reaches_it_from_the_administration_menu(admin_client):
    page = admin_client.get("/admin/pengguna").text
    assert re.search(rf'href="{PAGE}/?"', page)


# --- blocking -------------------------------------------------------------------------------------

def test_the_admin_blocks_a_number_typed_in_any_format_and_sees_only_its_last_digits(admin, admin_client):
    answer = admin_client.post(f"{PAGE}/blokir", data={"number": "0857-6655-4433", "note": "Pesan kasar berulang"})
    assert answer.status_code == 303
    [blocked] = db.session.scalars(select(Block)).all()
    assert blocked.sender_hash == sender_hash(NUMBER) and blocked.hint == "…4433"
    assert blocked.blocked_by_id == admin.id and blocked.note == "Pesan kasar berulang"

    page = admin_client.get(PAGE).text
    rows = re.search(r'<table class="stacked" id="wa-blocks">(.*?)</table>', page, re.S).group(1)
    assert "…4433" in rows and "Pesan kasar berulang" in rows and "Admin WhatsApp" in rows
    assert_no_number_or_text(page)
    [entry] = audit("whatsapp.block")
    assert entry.actor_id == admin.id and entry.detail == {"hint": "…4433"}


def test_the_same_number_in_another_format_is_not_blocked_twice(admin_client):
    admin_client.post(f"{PAGE}/blokir", data={"number": "+62 857 6655 4433"})
    assert admin_client.post(f"{PAGE}/blokir", data={"number": "085766554433"}).status_code == 303
    assert len(db.session.scalars(select(Block)).all()) == 1 and len(audit("whatsapp.block")) == 1


@pytest.mark.parametrize("typed", ["12345", "nomor saya", "", "0" * 20])
def test_a_number_that_cannot_be_one_gets_a_clear_message(admin_client, typed):
    answer = admin_client.post(f"{PAGE}/blokir", data={"number": typed})
    assert answer.status_code == 400
    assert 'id="block-errors"' in answer.text and 'aria-invalid="true"' in answer.text
    assert db.session.scalars(select(Block)).all() == []


def test_the_admin_unblocks_a_number(admin, admin_client):
    admin_client.post(f"{PAGE}/blokir", data={"number": NUMBER})
    answer = admin_client.post(f"{PAGE}/blokir/{sender_hash(NUMBER)}/buka")
    assert answer.status_code == 303
    assert db.session.scalars(select(Block)).all() == []
    [entry] = audit("whatsapp.unblock")
    assert entry.actor_id == admin.id and entry.detail == {"hint": "…4433"}
    assert admin_client.post(f"{PAGE}/blokir/{sender_hash(NUMBER)}/buka").status_code == 303  # gone already
    assert len(audit("whatsapp.unblock")) == 1
    assert admin_client.post(f"{PAGE}/blokir/not-a-key%00/buka").status_code == 404


# --- sends ----------------------------------------------------------------------------------------

def test_failed_sends_are_listed_without_number_or_text(admin_client, make):
    report = make.report(channel="whatsapp")
    failed = outbound(SendState.failed, report=report, attempts=5, last_error="HTTP 400: invalid parameter")
    outbound(SendState.sent)
    page = admin_client.get(PAGE).text
    listed = re.search(r'id="wa-failed">(.*?)</table>', page, re.S).group(1)
    assert f'id="wa-outbound-{failed.id}"' in listed and listed.count("<tr id=") == 1
    assert display(report.tracking_code) in listed and "HTTP 400: invalid parameter" in listed
    assert_no_number_or_text(page)


def test_counts_by_state_cover_the_last_seven_days(admin_client):
    for state in (SendState.sent, SendState.sent, SendState.read, SendState.failed):
        outbound(state)
    outbound(SendState.sent, created_at=func.now() - timedelta(days=8))
    page = admin_client.get(PAGE).text
    counts = {state: int(re.search(rf'id="wa-count-{state.value}">(\d+)<', page).group(1)) for state in SendState}
    assert counts == {SendState.queued: 0, SendState.sent: 2, SendState.delivered: 0, SendState.read: 1,
                      SendState.failed: 1}


def test_send_again_queues_a_failed_message_and_enqueues_its_job(admin, admin_client):
    row = outbound(SendState.failed, attempts=5, last_error="HTTP 500")
    answer = admin_client.post(f"{PAGE}/gagal/{row.id}/kirim-ulang")
    assert answer.status_code == 303
    db.session.refresh(row)
    assert (row.state, row.attempts, row.last_error) == (SendState.queued.value, 0, None)
    assert [(call.path, call.args) for call in jobs.pending()] == [(SEND_BATCH, ([row.id],))]
    [entry] = audit("whatsapp.resend")
    assert entry.object == f"wa_outbound:{row.id}" and entry.detail == {"purpose": "status"}
    assert entry.actor_id == admin.id


def test_send_again_leaves_a_message_that_has_not_failed(admin_client):
    row = outbound(SendState.delivered)
    assert admin_client.post(f"{PAGE}/gagal/{row.id}/kirim-ulang").status_code == 303
    db.session.refresh(row)
    assert row.state == SendState.delivered.value and jobs.pending() == [] and audit("whatsapp.resend") == []
    assert admin_client.post(f"{PAGE}/gagal/{row.id + 1000}/kirim-ulang").status_code == 404
