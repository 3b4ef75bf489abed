"""The answer to a web or API complaint goes back by e-mail through a real local SMTP server (the
sink), once, in the resident's language, with the reference but never the secret code nor the
resident's own text; without an address nothing is mailed, and the answer is on the case's page
all the same."""
import smtplib

from sqlalchemy import select

from apoa import jobs
from apoa.extensions import db
from apoa.feedback import mail as case_mail
from apoa.feedback.models import ServiceCase
from apoa.feedback.services import MAIL_ANSWER_JOB, answer_case
from tests.feedback.helpers import ANSWER, COMPLAINT, EMAIL, KARAWANG_NAME, receipt_codes, web_form
from tests.notifications.mailsink import BASE_URL


def complaint_with_email(client, **overrides):
    """(the case, its reference, its secret) of a complaint sent on the web form with EMAIL."""
    page = client.post("/keluhan", data=web_form(email=EMAIL, **overrides))
    assert page.status_code == 200, page.text
    reference, secret = receipt_codes(page.text)
    return db.session.scalars(select(ServiceCase)).one(), reference, secret


def readable(mail):
    return f"{mail['Subject']}\n{mail.get_content()}"


def test_the_answer_reaches_the_residents_email_once(offices, client, mail_to_sink, db_session, english):
    case, reference, secret = complaint_with_email(client)
    answer_case(case, offices.supervisor, ANSWER)
    db_session.commit()
    assert jobs.run_pending() == 1
    [mail] = mail_to_sink.messages(to=EMAIL)
    text = readable(mail)
    assert mail["Subject"] == f"[APOA] Answer to your complaint {reference}"
    assert f"Answer of {KARAWANG_NAME} to your complaint:" in text and ANSWER in text
    assert f"{BASE_URL}/keluhan/jawaban" in text
    assert secret not in text and secret.replace("-", "") not in text and COMPLAINT not in text
    assert mail["Content-Language"] == "en"
    db.session.refresh(case)
    assert case.answer_mailed_at is not None

    assert case_mail.mail_answer(case.id) == 0  # a second run sends nothing
    assert len(mail_to_sink.messages()) == 1


def test_the_mail_is_in_the_language_the_resident_wrote_in(offices, app, mail_to_sink, db_session):
    """Indonesian by default; the resident here chose English on the page (?lang=en), while the
    mail is sent by a job with Indonesian as the configured default."""
    client = app.test_client()
    page = client.post("/keluhan?lang=en", data=web_form(email=EMAIL, kind="question",
                                                          text="What are the office's opening hours?"))
    reference, _secret = receipt_codes(page.text)
    case = db.session.scalars(select(ServiceCase)).one()
    assert case.locale == "en"
    answer_case(case, offices.supervisor, "From 08.00 to 16.00, Monday to Friday.")
    db_session.commit()
    jobs.run_pending()
    [mail] = mail_to_sink.messages(to=EMAIL)
    assert mail["Subject"] == f"[APOA] Answer to your question {reference}"
    assert f"Answer of {KARAWANG_NAME} to your question:" in mail.get_content()
    assert mail["Content-Language"] == "en"


def test_without_an_address_nothing_is_queued_and_the_page_shows_the_answer(offices, client, db_session):
    page = client.post("/keluhan", data=web_form())
    reference, secret = receipt_codes(page.text)
    case = db.session.scalars(select(ServiceCase)).one()
    answer_case(case, offices.supervisor, ANSWER)
    db_session.commit()
    assert [call.path for call in jobs.pending()] == []
    shown = client.post("/keluhan/jawaban", data={"reference": reference, "secret": secret}).text
    assert "Mulai Senin loket dibuka dua petugas" in shown


def test_a_mail_server_down_fails_the_job_for_a_retry(offices, client, mail_to_sink, harness, monkeypatch, db_session):
    from tests.notifications.mailsink import free_port

    case, _reference, _secret = complaint_with_email(client)
    answer_case(case, offices.supervisor, ANSWER)
    db_session.commit()
    [call] = jobs.pending()
    assert call.path == MAIL_ANSWER_JOB and call.args == (case.id,)  # the id, never the address
    monkeypatch.setitem(harness.config, "SMTP_PORT", free_port())  # nothing listens there
    try:
        case_mail.mail_answer(case.id)
    except (smtplib.SMTPException, OSError):
        pass
    else:
        raise AssertionError("the job should fail for RQ to retry it")
    db.session.refresh(case)
    assert case.answer_mailed_at is None
    monkeypatch.undo()
    for name, value in mail_to_sink.settings().items():
        monkeypatch.setitem(harness.config, name, value)
    assert case_mail.mail_answer(case.id) == 1 and len(mail_to_sink.messages(to=EMAIL)) == 1


def test_without_smtp_nothing_is_sent_and_the_job_ends(offices, client, harness, monkeypatch, db_session):
    monkeypatch.setitem(harness.config, "SMTP_HOST", "")
    case, _reference, _secret = complaint_with_email(client)
    answer_case(case, offices.supervisor, ANSWER)
    assert case_mail.mail_answer(case.id) == 0
    assert case.answer_mailed_at is None
