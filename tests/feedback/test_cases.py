"""Complaints and questions as cases for an office's supervisors (apoa/feedback): opened with a
due time 3 working days on, answered once by a supervisor of the office's jurisdiction, the answer
queued to the resident's WhatsApp number (never shown to staff), counted on the dashboard."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from apoa import jobs
from apoa.audit.models import AuditEntry
from apoa.errors import Conflict, NotAllowed, UserValueError
from apoa.extensions import db
from apoa.feedback.models import CaseKind, CaseState, ServiceCase
from apoa.feedback.services import answer_case, cases_for, open_case, open_cases_count
from apoa.whatsapp.models import Conversation, Outbound
from apoa.whatsapp.numbers import decrypt_number, encrypt_number, sender_hash
from apoa.whatsapp.outbound import SEND_BATCH
from tests.clock import working_days_later

TYPED_NUMBER = "0812-3456-7890"
NUMBER = "6281234567890"
KARAWANG_NAME = "Kantor Imigrasi Kelas II TPI Karawang"
COMPLAINT = "Antrean paspor di kantor sangat lama, petugas loket tidak ada selama satu jam."
QUESTION = "Apakah laporan saya bisa dibuat tanpa nama?"
ANSWER = "Mohon maaf atas ketidaknyamanannya. Mulai Senin loket dibuka dua petugas."


class Offices:
    """Karawang and Purwakarta under one Kanwil, Kotabumi under another, and their staff."""

    def __init__(self, make):
        self.kanwil = make.office(kind="kanwil", code="KANWIL-JABAR")
        self.karawang = make.office(parent=self.kanwil, code="KANIM-KARAWANG", name=KARAWANG_NAME,
                                    regions=["32.15"])
        self.purwakarta = make.office(parent=self.kanwil, code="KANIM-PURWAKARTA", regions=["32.14"])
        self.kotabumi = make.office(code="KANIM-KOTABUMI", regions=["18.03"])
        self.supervisor = make.user("supervisor", self.karawang, name="Penyelia Karawang")
        self.officer = make.user("officer", self.karawang)
        self.kanwil_supervisor = make.user("supervisor", self.kanwil)
        self.other_supervisor = make.user("supervisor", self.kotabumi)
        self.other_officer = make.user("officer", self.kotabumi)
        self.regional_head = make.user("regional_head", self.kanwil)
        self.other_head = make.user("regional_head", self.kotabumi)
        self.admin = make.user("admin")


@pytest.fixture
def offices(make):
    return Offices(make)


def complaint_from_whatsapp(offices, body=COMPLAINT, number=TYPED_NUMBER, wrote_at=None):
    """A complaint made on WhatsApp by a resident whose last message came at `wrote_at` (default:
    just now, as when the complaint itself was the last message)."""
    db.session.add(Conversation(sender_hash=sender_hash(number), phone=encrypt_number(number),
                                last_inbound_at=wrote_at or datetime.now(timezone.utc)))
    return open_case(offices.karawang.id, CaseKind.complaint, body, "whatsapp", number=number)


def audit_entries(action, service_case):
    return db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.object == f"case:{service_case.id}")).all()


def outbound_rows():
    return db.session.scalars(select(Outbound).order_by(Outbound.id)).all()


# --- opening -------------------------------------------------------------------------------------

@pytest.mark.date_sensitive
def test_a_case_is_received_now_and_due_three_working_days_later(clock, offices):
    service_case = complaint_from_whatsapp(offices)
    assert service_case.state == CaseState.received.value
    assert service_case.kind == "complaint" and service_case.channel == "whatsapp"
    assert service_case.created_at == clock.now
    assert service_case.due_at == working_days_later(clock, 3)


def test_the_number_is_kept_encrypted_and_the_audit_holds_no_text_or_number(offices):
    service_case = complaint_from_whatsapp(offices)
    assert NUMBER.encode() not in service_case.contact
    assert decrypt_number(service_case.contact) == NUMBER  # normalised from 0812-3456-7890
    [entry] = audit_entries("case.open", service_case)
    assert entry.detail == {"kind": "complaint", "channel": "whatsapp", "office_id": offices.karawang.id}
    assert "7890" not in str(entry.detail) and "Antrean" not in str(entry.detail)


def test_a_case_without_a_number_keeps_no_contact(offices):
    service_case = open_case(offices.karawang.id, "question", QUESTION, "whatsapp")
    assert service_case.contact is None and service_case.kind == CaseKind.question.value


@pytest.mark.parametrize("kind, body", [
    ("praise", COMPLAINT),
    ("complaint", ""),
    ("complaint", "   \n "),
    ("question", "x" * 2001),
])
def test_an_unknown_kind_or_a_body_outside_1_to_2000_characters_is_refused(offices, kind, body):
    with pytest.raises(UserValueError):
        open_case(offices.karawang.id, kind, body, "whatsapp")
    assert db.session.scalars(select(ServiceCase)).all() == []


def test_control_characters_are_dropped_from_the_text(offices):
    service_case = open_case(offices.karawang.id, "question", "Jam\x00 buka\x07 kantor?\n", "whatsapp")
    assert service_case.body == "Jam buka kantor?"


def test_a_body_of_2000_characters_is_accepted(offices):
    assert len(open_case(offices.karawang.id, "question", "y" * 2000, "whatsapp").body) == 2000


# --- answering -----------------------------------------------------------------------------------

def test_the_answer_is_saved_and_queued_to_the_residents_number_in_indonesian(clock, offices):
    service_case = complaint_from_whatsapp(offices)
    answer_case(service_case, offices.supervisor, f"  {ANSWER}  ")
    assert service_case.state == CaseState.answered.value
    assert service_case.answer == ANSWER
    assert service_case.answered_by_id == offices.supervisor.id and service_case.answered_at == clock.now

    [row] = outbound_rows()
    assert row.to_hash == sender_hash(NUMBER) == sender_hash(TYPED_NUMBER)
    assert decrypt_number(row.phone) == NUMBER
    assert row.purpose == "case_answer" and row.state == "queued" and row.report_id is None
    assert row.payload["text"]["body"] == f"Jawaban {KARAWANG_NAME} atas keluhan Anda:\n\n{ANSWER}"

    [entry] = audit_entries("case.answer", service_case)
    assert entry.actor_id == offices.supervisor.id
    assert entry.detail == {"kind": "complaint", "sent_by": "whatsapp"}

    db.session.commit()  # the sending job is queued once the answer is committed
    assert [(call.path, call.args) for call in jobs.pending()] == [(SEND_BATCH, ([row.id],))]


def test_a_question_is_answered_in_the_language_the_resident_chose(offices):
    db.session.add(Conversation(sender_hash=sender_hash(NUMBER), phone=encrypt_number(NUMBER), locale="en",
                                last_inbound_at=datetime.now(timezone.utc)))
    service_case = open_case(offices.karawang.id, "question", QUESTION, "whatsapp", number=NUMBER)
    answer_case(service_case, offices.supervisor, "Ya, laporan bisa dibuat tanpa nama.")
    [row] = outbound_rows()
    assert row.payload["text"]["body"].startswith(f"Answer of {KARAWANG_NAME} to your question:\n\n")


def test_an_answer_after_whatsapps_24_hour_window_goes_as_the_approved_template(clock, offices):
    service_case = complaint_from_whatsapp(offices, wrote_at=clock.now - timedelta(hours=25))
    answer_case(service_case, offices.supervisor, ANSWER)
    [row] = outbound_rows()
    assert row.payload["type"] == "template"
    assert row.payload["template"]["name"] == "apoa_case_answer"
    parameters = [p["text"] for p in row.payload["template"]["components"][0]["parameters"]]
    assert parameters == [KARAWANG_NAME, ANSWER]


def test_a_case_is_answered_once(offices):
    service_case = complaint_from_whatsapp(offices)
    answer_case(service_case, offices.supervisor, ANSWER)
    with pytest.raises(Conflict):
        answer_case(service_case, offices.kanwil_supervisor, "Jawaban kedua.")
    assert service_case.answer == ANSWER and len(outbound_rows()) == 1


@pytest.mark.parametrize("text", ["", " x ", "z" * 2001])
def test_an_answer_outside_2_to_2000_characters_is_refused(offices, text):
    service_case = complaint_from_whatsapp(offices)
    with pytest.raises(UserValueError):
        answer_case(service_case, offices.supervisor, text)
    assert service_case.state == CaseState.received.value and outbound_rows() == []


@pytest.mark.parametrize("who", ["officer", "other_supervisor", "regional_head", "admin"])
def test_only_a_supervisor_of_the_jurisdiction_answers(offices, who):
    service_case = complaint_from_whatsapp(offices)
    with pytest.raises(NotAllowed):
        answer_case(service_case, getattr(offices, who), ANSWER)
    assert service_case.state == CaseState.received.value and outbound_rows() == []


def test_the_kanwil_supervisor_answers_for_the_offices_below(offices):
    service_case = complaint_from_whatsapp(offices)
    answer_case(service_case, offices.kanwil_supervisor, ANSWER)
    assert service_case.answered_by_id == offices.kanwil_supervisor.id


def test_a_case_without_a_number_is_answered_without_sending(offices):
    service_case = open_case(offices.karawang.id, "question", QUESTION, "web")
    answer_case(service_case, offices.supervisor, ANSWER)
    assert service_case.state == CaseState.answered.value and outbound_rows() == []
    assert audit_entries("case.answer", service_case)[0].detail["sent_by"] is None


# --- lists and counts ----------------------------------------------------------------------------

def test_lists_and_counts_follow_the_jurisdiction(clock, offices):
    first = complaint_from_whatsapp(offices)
    clock.move_to(working_days_later(clock, 3) + timedelta(hours=1))  # the first is now overdue
    purwakarta = open_case(offices.purwakarta.id, "question", QUESTION, "whatsapp", number=NUMBER)
    answered = open_case(offices.karawang.id, "question", QUESTION, "whatsapp")
    answer_case(answered, offices.supervisor, ANSWER)

    assert cases_for(offices.supervisor) == [answered, first]
    assert cases_for(offices.supervisor, "received") == [first]
    assert cases_for(offices.kanwil_supervisor) == [answered, purwakarta, first]
    assert cases_for(offices.other_supervisor) == [] and cases_for(offices.officer) == []

    karawang = open_cases_count(offices.supervisor)
    assert (karawang.complaints, karawang.questions, karawang.overdue) == (1, 0, 1)
    kanwil = open_cases_count(offices.regional_head)  # counts only, through view_aggregates
    assert (kanwil.complaints, kanwil.questions, kanwil.total) == (1, 1, 2)
    assert open_cases_count(offices.other_head).total == 0
    assert open_cases_count(offices.officer) is None and open_cases_count(offices.admin) is None


# --- the pages ---------------------------------------------------------------------------------

def test_the_karawang_supervisor_sees_and_answers_the_case_without_seeing_the_number(
        clock, offices, sign_in):
    service_case = complaint_from_whatsapp(offices)
    client = sign_in(offices.supervisor)

    listing = client.get("/kasus")
    assert listing.status_code == 200
    assert "Antrean paspor" in listing.text and f'data-case-id="{service_case.id}"' in listing.text
    page = client.get(f"/kasus/{service_case.id}")
    assert page.status_code == 200 and COMPLAINT in page.text
    assert page.headers["Cache-Control"] == "private, no-store"
    for shown in (listing.text, page.text):
        assert not re.search(r"812.?3456.?7890", shown) and NUMBER not in shown

    answered = client.post(f"/kasus/{service_case.id}/jawab", data={"answer": ANSWER})
    assert answered.status_code == 303
    db.session.refresh(service_case)
    assert service_case.state == CaseState.answered.value
    [row] = outbound_rows()
    assert row.to_hash == sender_hash(NUMBER) and ANSWER in row.payload["text"]["body"]

    after = client.get(f"/kasus/{service_case.id}").text
    assert ANSWER in after and "Penyelia Karawang" in after and 'name="answer"' not in after
    assert service_case.id not in [int(i) for i in re.findall(r'data-case-id="(\d+)"', client.get("/kasus").text)]
    assert f'data-case-id="{service_case.id}"' in client.get("/kasus?state=answered").text


def test_a_short_answer_is_refused_on_the_page(offices, sign_in):
    service_case = complaint_from_whatsapp(offices)
    answer = sign_in(offices.supervisor).post(f"/kasus/{service_case.id}/jawab", data={"answer": "x"})
    assert answer.status_code == 400 and 'id="answer-errors"' in answer.text
    db.session.refresh(service_case)
    assert service_case.state == CaseState.received.value and outbound_rows() == []


def test_a_second_answer_is_refused_with_409(offices, sign_in):
    service_case = complaint_from_whatsapp(offices)
    answer_case(service_case, offices.kanwil_supervisor, ANSWER)
    answer = sign_in(offices.supervisor).post(f"/kasus/{service_case.id}/jawab", data={"answer": "Lagi."})
    assert answer.status_code == 409 and len(outbound_rows()) == 1


def test_a_supervisor_of_another_office_gets_404_and_the_refusal_is_audited(offices, sign_in):
    service_case = complaint_from_whatsapp(offices)
    client = sign_in(offices.other_supervisor)
    assert client.get(f"/kasus/{service_case.id}").status_code == 404
    assert client.post(f"/kasus/{service_case.id}/jawab", data={"answer": ANSWER}).status_code == 404
    assert client.get(f"/kasus/{service_case.id + 1000}").status_code == 404
    listing = client.get("/kasus?state=all")
    assert listing.status_code == 200 and "Antrean paspor" not in listing.text
    refused = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "access.refused",
                                                          AuditEntry.object == f"case:{service_case.id}")).all()
    assert [entry.actor_id for entry in refused] == [offices.other_supervisor.id] * 2
    db.session.refresh(service_case)
    assert service_case.state == CaseState.received.value


@pytest.mark.parametrize("who", ["other_officer", "officer", "regional_head", "admin"])
def test_staff_without_answer_cases_get_404(offices, sign_in, who):
    service_case = complaint_from_whatsapp(offices)
    client = sign_in(getattr(offices, who))
    assert client.get("/kasus").status_code == 404
    assert client.get(f"/kasus/{service_case.id}").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, offices):
    service_case = complaint_from_whatsapp(offices)
    answer = client.get(f"/kasus/{service_case.id}")
    assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]


def test_the_dashboard_counts_open_complaints_and_questions(clock, offices, sign_in):
    complaint_from_whatsapp(offices)
    open_case(offices.karawang.id, "question", QUESTION, "whatsapp")
    open_case(offices.karawang.id, "question", QUESTION, "whatsapp")
    answer_case(open_case(offices.karawang.id, "complaint", COMPLAINT, "web"), offices.supervisor, ANSWER)
    open_case(offices.kotabumi.id, "complaint", COMPLAINT, "whatsapp")

    page = sign_in(offices.supervisor).get("/ringkasan").text
    assert re.search(r'id="kpi-open-complaints">1<', page) and re.search(r'id="kpi-open-questions">2<', page)
    assert re.search(r'href="/kasus/?" id="open-cases-link"', page)

    head = sign_in(offices.regional_head).get("/ringkasan").text
    assert re.search(r'id="kpi-open-complaints">1<', head) and re.search(r'id="kpi-open-questions">2<', head)
    assert 'id="open-cases-link"' not in head  # heads see the counts, not the cases
