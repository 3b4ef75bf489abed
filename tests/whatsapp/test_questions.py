"""Officers' questions to a WhatsApp reporter: asked from the report page, queued in wa_outbound
(free text inside WhatsApp's 24-hour window, the approved template outside it), audited, in the
history, and answered by the reporter's next text message. The number is never on a page, in the
audit log or in the logs."""
import json
import logging
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from apoa import create_app
from apoa.audit.models import AuditEntry
from apoa.errors import NotAllowed, UserValueError
from apoa.extensions import db
from apoa.reports.contact import Contact
from apoa.reports.models import Category, Report, ReportEvent
from apoa.reports.services import NewReport, submit_report
from apoa.reports.tracking import display
from apoa.whatsapp import questions
from apoa.whatsapp.messages import Incoming, Text
from apoa.whatsapp.models import Conversation, Outbound
from apoa.whatsapp.numbers import decrypt_number, encrypt_number, sender_hash
from apoa.whatsapp.officer_views import officer_bp
from tests.conftest import SECOND_STEP, TEST_CONFIG, TEST_PASSWORD, AuthActions, app_environ, totp_code

NUMBER = "6281234567890"
# The same number as people write it: none of these may appear anywhere an officer looks.
NUMBER_SPELLINGS = (NUMBER, "081234567890", "812 3456 7890", "0812-3456-7890", "81234567890")
KARAWANG = (107.30, -6.30)
QUESTION = "Apakah Anda ingat warna mobil yang dipakai orang-orang itu?"
ANSWER = "Mobilnya putih, minibus, pelat B."


@pytest.fixture(scope="module")
def wa_app(app, database_url):
    """The app with the officers' WhatsApp pages: `app` itself once create_app registers the
    blueprint, until then a twin of it with the blueprint added."""
    if officer_bp.name in app.blueprints:
        return app
    twin = create_app(dict(TEST_CONFIG), environ=app_environ(
        database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))
    twin.register_blueprint(officer_bp)
    return twin


@pytest.fixture
def staff_client(wa_app):
    """`staff_client(user)` → a client of the app signed in as `user` through the real pages."""
    def signed_in(user):
        client = wa_app.test_client()
        assert AuthActions(client).login(user).status_code == 302
        return client
    return signed_in


@pytest.fixture
def karawang(make):
    return make.office(regions=["32.15"], name="Kantor Imigrasi Karawang")


@pytest.fixture
def officer(make, karawang):
    return make.user("officer", karawang, name="Rina Officer")


@pytest.fixture
def whatsapp_report(clock, karawang):
    return make_whatsapp_report(clock, Contact(phone=NUMBER))


def make_whatsapp_report(clock, contact, channel="whatsapp"):
    category = db.session.scalar(select(Category).where(Category.code == "illegal_work"))
    return submit_report(NewReport(
        category_id=category.id, description="Lima orang asing bekerja di gudang tanpa izin.",
        people_count=5, place_kind="workplace", observed_at=clock.now - timedelta(hours=3),
        point=KARAWANG, submission_key=str(uuid.uuid4()), contact=contact, channel=channel))


@pytest.fixture
def app_log(caplog):
    """Records of the "apoa" loggers (they do not propagate to the root logger caplog watches)."""
    logger = logging.getLogger("apoa")
    caplog.set_level(logging.DEBUG, logger="apoa")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def conversation_of(number=NUMBER):
    return db.session.scalar(select(Conversation).where(Conversation.sender_hash == sender_hash(number)))


def wrote_at(moment, number=NUMBER, locale="id"):
    """The reporter's conversation, their last message at `moment`."""
    conversation = Conversation(sender_hash=sender_hash(number), phone=encrypt_number(number), locale=locale,
                                last_inbound_at=moment)
    db.session.add(conversation)
    db.session.flush()
    return conversation


def queued(report):
    return db.session.scalars(select(Outbound).where(Outbound.report_id == report.id).order_by(Outbound.id)).all()


def events(report, action):
    return db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                        ReportEvent.action == action)).all()


def audit_entries(action, report):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                       AuditEntry.object == f"report:{report.id}")).all()


def ask_url(report):
    return f"/laporan/{report.id}/tanya"


def assert_no_number(text):
    for spelling in NUMBER_SPELLINGS:
        assert spelling not in text


def text_from(sender, text, clock):
    return Incoming(message_id=f"wamid.{uuid.uuid4().hex}", sender=sender, kind="text", sent_at=clock.now,
                    text=text)


# --- asking from the report page -----------------------------------------------------------------

def test_an_officer_of_karawang_asks_and_the_question_is_queued_audited_and_in_the_history(
        clock, whatsapp_report, officer, staff_client, app_log):
    wrote_at(clock.now - timedelta(hours=2))
    client = staff_client(officer)
    page = client.get(f"/laporan/{whatsapp_report.id}")
    assert page.status_code == 200 and f'action="{ask_url(whatsapp_report)}#ask-reporter-title"' in page.text
    assert_no_number(page.text)

    answer = client.post(ask_url(whatsapp_report), data={"question": QUESTION}, query_string={"lang": "en"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/laporan/{whatsapp_report.id}#ask-reporter-title"

    [row] = queued(whatsapp_report)
    assert row.purpose == "question" and row.to_hash == sender_hash(NUMBER)
    assert decrypt_number(row.phone) == NUMBER
    assert row.payload["type"] == "text"
    body = row.payload["text"]["body"]
    assert QUESTION in body and display(whatsapp_report.tracking_code) in body

    [event] = events(whatsapp_report, "ask_reporter")
    assert (event.actor_id, event.note, event.from_state, event.to_state) == (officer.id, QUESTION, "new", "new")
    assert conversation_of().question_report_id == whatsapp_report.id
    db.session.refresh(whatsapp_report)
    assert whatsapp_report.state == "new"  # a question moves nothing in the workflow

    [entry] = audit_entries("whatsapp.question", whatsapp_report)
    assert entry.actor_id == officer.id and entry.detail == {"event": event.id, "sent_as": "text"}
    assert QUESTION not in json.dumps(entry.detail)

    history = client.get(f"/laporan/{whatsapp_report.id}?lang=en")
    assert "Your question has been sent to the reporter on WhatsApp." in history.text
    assert "Question to the reporter" in history.text  # the event's title (reports/views.py event_title)
    assert QUESTION in history.text and "Rina Officer" in history.text
    assert_no_number(history.text)
    assert_no_number(app_log.text)
    assert QUESTION not in app_log.text


def test_outside_the_window_the_question_goes_as_the_approved_template(clock, whatsapp_report, officer, app):
    wrote_at(clock.now - timedelta(hours=24, minutes=1))
    questions.ask(whatsapp_report, officer, "Di mana persisnya\n\ngudang itu?   Dekat pasar?")
    [row] = queued(whatsapp_report)
    assert row.payload == {"type": "template", "template": {
        "name": "apoa_officer_question", "language": {"code": "id"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": display(whatsapp_report.tracking_code)},
            # Meta refuses line breaks and runs of spaces in a parameter.
            {"type": "text", "text": "Di mana persisnya gudang itu? Dekat pasar?"}]}]}}
    [entry] = audit_entries("whatsapp.question", whatsapp_report)
    assert entry.detail["sent_as"] == "template"


def test_a_long_question_is_cut_to_fit_the_template(clock, whatsapp_report, officer):
    questions.ask(whatsapp_report, officer, "Mohon jelaskan. " + "z" * 900)
    [row] = queued(whatsapp_report)
    _code, question = row.payload["template"]["components"][0]["parameters"]
    assert len(question["text"]) == 700 and question["text"].endswith("…")
    [event] = events(whatsapp_report, "ask_reporter")
    assert len(event.note) == 916  # the history keeps the whole question


def test_a_reporter_who_never_wrote_gets_the_template_and_a_conversation_waiting_for_the_answer(
        clock, whatsapp_report, officer):
    assert conversation_of() is None
    event = questions.ask(whatsapp_report, officer, QUESTION)
    [row] = queued(whatsapp_report)
    assert row.payload["type"] == "template"
    conversation = conversation_of()
    assert conversation.question_report_id == whatsapp_report.id and conversation.locale == "id"
    assert decrypt_number(conversation.phone) == NUMBER
    assert event.action == "ask_reporter"


def test_an_officer_of_another_office_gets_404_and_nothing_is_sent(clock, whatsapp_report, make, staff_client):
    stranger = make.user("officer", make.office(regions=["61.04"]))
    client = staff_client(stranger)
    assert client.get(f"/laporan/{whatsapp_report.id}").status_code == 404
    answer = client.post(ask_url(whatsapp_report), data={"question": QUESTION})
    assert answer.status_code == 404
    assert_no_number(answer.text)
    assert queued(whatsapp_report) == [] and events(whatsapp_report, "ask_reporter") == []
    with pytest.raises(NotAllowed):
        questions.ask(whatsapp_report, stranger, QUESTION)


def test_an_anonymous_whatsapp_report_shows_no_form_but_why(clock, karawang, officer, staff_client):
    anonymous = make_whatsapp_report(clock, None)
    client = staff_client(officer)
    page = client.get(f"/laporan/{anonymous.id}?lang=en")
    assert page.status_code == 200
    assert ask_url(anonymous) not in page.text
    assert 'id="ask-reporter-anonymous"' in page.text and "chose to stay anonymous" in page.text
    assert client.post(ask_url(anonymous), data={"question": QUESTION}).status_code == 403
    assert queued(anonymous) == [] and events(anonymous, "ask_reporter") == []


def test_a_web_report_with_a_contact_offers_no_question(clock, karawang, officer, staff_client):
    web = make_whatsapp_report(clock, Contact(phone=NUMBER), channel="web")
    client = staff_client(officer)
    page = client.get(f"/laporan/{web.id}")
    assert ask_url(web) not in page.text and "ask-reporter" not in page.text
    assert client.post(ask_url(web), data={"question": QUESTION}).status_code == 403
    assert queued(web) == []


@pytest.mark.parametrize("question", ["", "     ", "Ada?", "x" * 1001])
def test_a_bad_question_shows_the_page_again_with_the_message(clock, whatsapp_report, officer, staff_client,
                                                              question):
    answer = staff_client(officer).post(ask_url(whatsapp_report), data={"question": question})
    assert answer.status_code == 400
    assert 'id="ask-reporter-errors"' in answer.text and 'class="field-error"' in answer.text
    assert_no_number(answer.text)
    assert queued(whatsapp_report) == [] and events(whatsapp_report, "ask_reporter") == []
    assert audit_entries("whatsapp.question", whatsapp_report) == []


@pytest.mark.parametrize("question", ["Ada?", "  \x00  \t ", "y" * 1001])
def test_the_service_refuses_a_bad_question_itself(clock, whatsapp_report, officer, question):
    with pytest.raises(UserValueError):
        questions.ask(whatsapp_report, officer, question)
    assert queued(whatsapp_report) == []


# --- with CSRF protection on (the suite's app has it off) -----------------------------------------

@pytest.fixture
def csrf_client(app, database_url):
    """A client of a twin of the app with CSRF protection on, as in production."""
    protected = create_app({}, environ=app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))
    assert protected.config.get("WTF_CSRF_ENABLED", True)
    if officer_bp.name not in protected.blueprints:
        protected.register_blueprint(officer_bp)
    return protected.test_client()


def csrf_token(page):
    return csrf_token_in(page.text)


def sign_in_with_tokens(client, user):
    answer = client.post("/masuk", data={"email": user.email, "password": TEST_PASSWORD,
                                         "csrf_token": csrf_token(client.get("/masuk"))})
    answer = client.post(SECOND_STEP, data={"code": totp_code(user), "csrf_token": csrf_token(client.get(SECOND_STEP))})
    assert answer.status_code == 302


def test_the_question_form_carries_a_working_csrf_token(clock, whatsapp_report, officer, csrf_client):
    sign_in_with_tokens(csrf_client, officer)
    assert csrf_client.post(ask_url(whatsapp_report), data={"question": QUESTION}).status_code == 400
    assert queued(whatsapp_report) == [] and events(whatsapp_report, "ask_reporter") == []
    page = csrf_client.get(f"/laporan/{whatsapp_report.id}")
    form = page.text[page.text.index(f'action="{ask_url(whatsapp_report)}'):]
    answer = csrf_client.post(ask_url(whatsapp_report), data={"question": QUESTION, "csrf_token": csrf_token_in(form)})
    assert answer.status_code == 303
    assert len(queued(whatsapp_report)) == 1


def csrf_token_in(html):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


# --- the reporter's answer -----------------------------------------------------------------------

def test_the_answer_lands_in_the_history_and_settles_the_question(clock, whatsapp_report, officer, staff_client,
                                                                  app_log):
    questions.ask(whatsapp_report, officer, QUESTION)
    conversation = conversation_of()
    [reply] = questions.take_answer(conversation, text_from(NUMBER, f"  {ANSWER} ", clock))
    assert isinstance(reply, Text) and ANSWER not in reply.body
    assert conversation.question_report_id is None
    [event] = events(whatsapp_report, "reporter_answer")
    assert (event.actor_id, event.note, event.to_state) == (None, ANSWER, "new")
    [entry] = audit_entries("whatsapp.answer", whatsapp_report)
    assert entry.actor_id is None and entry.detail == {"event": event.id}

    page = staff_client(officer).get(f"/laporan/{whatsapp_report.id}?lang=en")
    assert "Reporter&#39;s answer" in page.text or "Reporter's answer" in page.text
    assert ANSWER in page.text and QUESTION in page.text
    assert page.text.index(QUESTION) < page.text.index(ANSWER)  # the history in its order
    assert_no_number(page.text)
    assert ANSWER not in app_log.text
    assert_no_number(app_log.text)


def test_an_answer_is_thanked_in_the_language_the_reporter_chose(clock, whatsapp_report, officer):
    wrote_at(clock.now - timedelta(hours=1), locale="en")
    questions.ask(whatsapp_report, officer, QUESTION)
    [question] = queued(whatsapp_report)
    assert question.payload["text"]["body"].startswith("Question from an immigration officer about report")
    replies = questions.take_answer(conversation_of(), text_from(NUMBER, ANSWER, clock))
    assert replies == [Text("Thank you, your answer has been passed on to the officer.")]


def test_a_message_that_is_not_text_is_left_to_the_conversation(clock, whatsapp_report, officer):
    questions.ask(whatsapp_report, officer, QUESTION)
    conversation = conversation_of()
    photo = Incoming(message_id="wamid.photo", sender=NUMBER, kind="image", sent_at=clock.now, media_id="m1")
    assert questions.take_answer(conversation, photo) is None
    assert conversation.question_report_id == whatsapp_report.id
    assert events(whatsapp_report, "reporter_answer") == []


def test_a_too_long_answer_is_explained_and_the_question_keeps_waiting(clock, whatsapp_report, officer):
    questions.ask(whatsapp_report, officer, QUESTION)
    conversation = conversation_of()
    [reply] = questions.take_answer(conversation, text_from(NUMBER, "a" * 2001, clock))
    assert "2000" in reply.body
    assert conversation.question_report_id == whatsapp_report.id
    assert events(whatsapp_report, "reporter_answer") == []
    assert questions.take_answer(conversation, text_from(NUMBER, "b" * 2000, clock)) is not None
    [event] = events(whatsapp_report, "reporter_answer")
    assert event.note == "b" * 2000


@pytest.mark.parametrize("word", ["batal", "MENU"])
def test_leaving_for_the_menu_drops_the_question(clock, whatsapp_report, officer, word):
    questions.ask(whatsapp_report, officer, QUESTION)
    conversation = conversation_of()
    assert questions.take_answer(conversation, text_from(NUMBER, word, clock)) is None
    assert conversation.question_report_id is None
    assert events(whatsapp_report, "reporter_answer") == []


def test_a_question_about_a_report_that_is_gone_is_dropped(clock, whatsapp_report, officer):
    questions.ask(whatsapp_report, officer, QUESTION)
    report_id = whatsapp_report.id
    db.session.execute(delete(Report).where(Report.id == report_id))
    db.session.expire_all()
    conversation = conversation_of()
    assert questions.take_answer(conversation, text_from(NUMBER, ANSWER, clock)) is None
    assert conversation.question_report_id is None
    assert db.session.scalars(select(ReportEvent).where(ReportEvent.action == "reporter_answer",
                                                        ReportEvent.report_id == report_id)).all() == []
