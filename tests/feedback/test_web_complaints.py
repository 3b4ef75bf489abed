"""Complaints and questions from the web page /keluhan (apoa/feedback/public_views.py): routed to
the office of the report named by its tracking code, else of the regency chosen; defended like the
report form (honeypot, fill time, budgets, the same form sent twice); a receipt with a reference and
a secret code, which read the case and its answer back, and nothing else does."""
import logging
import re

import pytest
from sqlalchemy import func, select

from apoa.audit.models import AuditEntry
from apoa.extensions import db
from apoa.feedback.models import CaseState, ServiceCase
from apoa.feedback.services import answer_case, open_cases_count
from apoa.reports.tracking import display
from tests.feedback.helpers import (ANSWER, COMPLAINT, EMAIL, KARAWANG_NAME, KOTABUMI_NAME, receipt_codes, stamp,
                                    web_form)


def cases():
    return db.session.scalars(select(ServiceCase).order_by(ServiceCase.id)).all()


def count_cases():
    return db.session.scalar(select(func.count()).select_from(ServiceCase))


def sent(client, **overrides):
    return client.post("/keluhan", data=web_form(**overrides))


def read(client, reference, secret):
    return client.post("/keluhan/jawaban", data={"reference": reference, "secret": secret})


# --- the form ------------------------------------------------------------------------------------

def test_the_form_offers_the_regencies_an_office_holds(offices, client, english):
    page = client.get("/keluhan")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    assert '<option value="32.15">Kabupaten Karawang — Jawa Barat</option>' in page.text
    assert 'value="18.03"' in page.text and 'value="32.16"' not in page.text  # Bekasi: no office
    assert 'name="website"' in page.text and 'name="started_at"' in page.text
    assert 'name="submission_key"' in page.text and 'name="email"' in page.text


def test_a_tracking_code_in_the_link_is_filled_in(offices, client):
    code = offices.kotabumi_report.tracking_code
    assert f'value="{code}"' in client.get(f"/keluhan?kode={code}").text


# --- routing ------------------------------------------------------------------------------------

def test_a_complaint_about_a_regency_goes_to_the_office_holding_it(offices, client, english):
    answer = sent(client)
    assert answer.status_code == 200 and "your complaint has been received" in answer.text
    assert KARAWANG_NAME in answer.text
    [case] = cases()
    assert (case.office_id, case.kind, case.channel, case.state) == (
        offices.karawang.id, "complaint", "web", "received")
    assert case.body == COMPLAINT and case.report_id is None and case.contact is None


def test_a_tracking_code_routes_to_the_reports_office_whatever_the_regency(offices, client):
    report = offices.kotabumi_report
    answer = sent(client, tracking_code=display(report.tracking_code).lower(), region_code="32.15")
    assert answer.status_code == 200 and KOTABUMI_NAME in answer.text
    [case] = cases()
    assert case.office_id == offices.kotabumi.id == report.office_id and case.report_id == report.id


def test_a_question_without_a_regency_but_with_a_code(offices, client):
    assert sent(client, kind="question", region_code="",
                tracking_code=offices.kotabumi_report.tracking_code).status_code == 200
    assert [(c.kind, c.office_id) for c in cases()] == [("question", offices.kotabumi.id)]


def test_a_report_outside_every_jurisdiction_needs_the_regency(offices, make, client, english):
    stray = make.report()  # Gambir, Jakarta: no office of this test holds it
    assert stray.office_id is None
    answer = sent(client, tracking_code=stray.tracking_code, region_code="")
    assert answer.status_code == 400 and "No office handles this report yet" in answer.text
    answer = sent(client, tracking_code=stray.tracking_code, region_code="32.15")
    assert answer.status_code == 200 and cases()[0].office_id == offices.karawang.id


# --- bad input: a clear message beside the field, never a 500 ------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"region_code": ""}, "Choose the regency or city, or give the tracking code of your report."),
    ({"region_code": "32.16"}, "Choose a regency or city from the list."),
    ({"region_code": "<script>"}, "Choose a regency or city from the list."),
    ({"tracking_code": "ABCDE-FGHJK-MNPQ"}, "We could not find a report with this code."),
    ({"text": "Lama."}, "Write between 10 and 2000 characters."),
    ({"text": "x" * 2001}, "Write between 10 and 2000 characters."),
    ({"text": "  "}, "Write your complaint or question."),
    ({"email": "bukan-alamat"}, "Enter a valid email address."),
    ({"kind": "praise"}, "Not a valid choice"),
    ({"kind": None}, None),  # the default: a complaint
])
def test_bad_input_gets_a_clear_message_beside_its_field(offices, client, english, overrides, message):
    answer = sent(client, **overrides)
    if message is None:
        assert answer.status_code == 200 and count_cases() == 1
        return
    assert answer.status_code == 400, answer.text
    assert 'class="error-summary"' in answer.text and 'class="field-error"' in answer.text
    assert message in answer.text
    assert count_cases() == 0


def test_the_honeypot_and_a_forged_or_quick_stamp_are_refused(offices, client, english):
    assert sent(client, website="http://spam.example").status_code == 400
    quick = sent(client, started_at=stamp(seconds_ago=0))
    assert quick.status_code == 400 and "That was very quick" in quick.text
    assert sent(client, started_at="12345.forged").status_code == 400
    assert count_cases() == 0


def test_a_form_without_its_key_still_opens_one_case(offices, client):
    assert sent(client, submission_key=None).status_code == 200
    assert sent(client, submission_key="not-a-uuid", text=COMPLAINT + " Lagi.").status_code == 200
    assert count_cases() == 2


def test_the_same_form_sent_twice_opens_one_case_and_shows_the_same_codes(offices, client):
    data = web_form(email=EMAIL)
    first, second = client.post("/keluhan", data=data), client.post("/keluhan", data=data)
    assert first.status_code == second.status_code == 200
    assert receipt_codes(first.text) == receipt_codes(second.text)
    assert count_cases() == 1


def test_unknown_tracking_codes_use_up_the_miss_budget(offices, client):
    for _ in range(20):
        assert sent(client, tracking_code="ABCDE-FGHJK-MNPQ").status_code == 400
    assert sent(client, tracking_code="ABCDE-FGHJK-MNPQ").status_code == 429


def test_a_requester_sends_at_most_five_complaints_an_hour(offices, client):
    for n in range(5):
        assert sent(client, text=f"{COMPLAINT} ({n})").status_code == 200
    answer = sent(client, text=f"{COMPLAINT} (6)")
    assert answer.status_code == 429 and "Retry-After" in answer.headers
    assert count_cases() == 5


# --- the e-mail address ----------------------------------------------------------------------------

def test_the_email_is_kept_encrypted_never_logged_nor_audited(offices, client, caplog):
    caplog.set_level(logging.DEBUG)
    assert sent(client, email=EMAIL).status_code == 200
    [case] = cases()
    assert case.contact is not None and EMAIL.encode() not in case.contact
    assert b"warga" not in case.contact
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.object == f"case:{case.id}")).all()
    assert entries and all(EMAIL not in str(entry.detail) for entry in entries)
    assert EMAIL not in caplog.text and "warga" not in caplog.text


# --- the receipt and the case's page --------------------------------------------------------------

def test_the_reference_and_secret_read_the_case_and_its_answer(offices, client, english):
    reference, secret = receipt_codes(sent(client).text)
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", reference)
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", secret)
    [case] = cases()
    assert secret.replace("-", "").encode() not in (case.secret_hash or b"")

    page = read(client, reference, secret)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    assert COMPLAINT in page.text and 'id="no-answer-yet"' in page.text

    answer_case(case, offices.supervisor, ANSWER)
    # typed loosely: lower case, spaces, an O for a 0 and an I for a 1
    loose = (reference.lower().replace("-", " "), secret.replace("0", "O").replace("1", "I"))
    page = read(client, *loose)
    assert page.status_code == 200
    assert re.search(r'id="answer-text">[^<]*Mulai Senin loket dibuka', page.text)
    assert re.search(r'id="case-state">Answered<', page.text)


@pytest.mark.parametrize("bad", ["wrong secret", "unknown reference", "garbage", "empty"])
def test_a_wrong_pair_finds_nothing_and_says_so(offices, client, english, bad):
    reference, secret = receipt_codes(sent(client).text)
    other = "0000-0000-0000" if secret != "0000-0000-0000" else "1111-1111-1111"
    pair = {"wrong secret": (reference, other), "unknown reference": ("ZZZZZ-ZZZZZ", secret),
            "garbage": ("'; DROP TABLE service_case; --", "ÄÖÜ%-" * 8), "empty": ("", "")}[bad]
    answer = read(client, *pair)
    assert answer.status_code == (400 if bad == "empty" else 404)
    assert COMPLAINT not in answer.text and 'class="field-error"' in answer.text


def test_wrong_pairs_use_up_the_miss_budget(offices, client):
    reference, _secret = receipt_codes(sent(client).text)
    client.get("/keluhan/jawaban")  # the page gives the device its key
    for _ in range(20):
        assert read(client, reference, "0000-0000-0000").status_code == 404
    assert read(client, reference, "0000-0000-0000").status_code == 429


def test_the_lookup_page_is_linked_from_the_form(offices, client):
    assert 'href="/keluhan/jawaban"' in client.get("/keluhan").text
    assert client.get("/keluhan/jawaban").status_code == 200


# --- the office's side -------------------------------------------------------------------------------

def test_the_cases_list_shows_channel_and_due_time_and_the_page_the_reference(offices, client, sign_in, english):
    report = offices.kotabumi_report
    reference, _secret = receipt_codes(sent(client, email=EMAIL).text)
    sent(client, tracking_code=report.tracking_code)
    staff = sign_in(offices.supervisor)
    listing = staff.get("/kasus").text
    [row] = re.findall(r'<tr class="[^"]*" data-case-id="\d+">.*?</tr>', listing, re.S)
    assert "Web" in re.search(r'class="case-channel">([^<]*)<', row).group(1)
    due = re.search(r"data-label=\"Due\">([^<]+)", row).group(1).strip()
    assert due and due != "—"
    [case, _kotabumi] = cases()
    page = staff.get(f"/kasus/{case.id}").text
    assert reference in page and EMAIL not in page and "warga" not in page
    assert "e-mailed to the resident" in page
    kotabumi = sign_in(offices.kotabumi_supervisor).get(f"/kasus/{_kotabumi.id}").text
    assert display(report.tracking_code) in kotabumi and f"/laporan/{report.id}" in kotabumi


def test_web_complaints_are_counted_on_the_dashboard(offices, client, sign_in):
    sent(client)
    sent(client, kind="question", text="Jam berapa kantor buka pada hari Sabtu?")
    counted = open_cases_count(offices.supervisor)
    assert (counted.complaints, counted.questions) == (1, 1)
    page = sign_in(offices.regional_head).get("/ringkasan").text
    assert re.search(r'id="kpi-open-complaints">1<', page)


def test_an_answered_case_leaves_the_open_count(offices, client):
    sent(client)
    [case] = cases()
    answer_case(case, offices.supervisor, ANSWER)
    assert case.state == CaseState.answered.value
    assert open_cases_count(offices.supervisor).total == 0
