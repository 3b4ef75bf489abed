"""The conversation's report flow (apoa/whatsapp/conversation.py, flow_report.py), driven by calling
respond() with Incoming messages on a real Conversation row, at the fixed clock: a report made on
WhatsApp is the same report as the web's, in the office of the place, with the number kept only
when the reporter allows it; every step explains a wrong answer and asks again; "batal" and
"menu" leave at any step."""
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from apoa.extensions import db
from apoa.reports import tracking
from apoa.reports.contact import _decrypt
from apoa.reports.models import Category, Report
from apoa.whatsapp.conversation import respond
from apoa.whatsapp.messages import Buttons, Incoming, Menu, Text
from apoa.whatsapp.models import Conversation
from apoa.whatsapp.numbers import encrypt_number, sender_hash

NUMBER = "6281234567890"
KARAWANG = (-6.30, 107.30)        # (lat, lon): Kabupaten Karawang, 32.15
SINGAPORE = (1.3521, 103.8198)
DESCRIPTION = "Tiga orang asing bekerja di gudang tanpa seragam setiap malam."
WIB = ZoneInfo("Asia/Jakarta")


class Phone:
    """One resident's WhatsApp, talking straight to respond() at `now`."""

    def __init__(self, conversation, now, number=NUMBER):
        self.conversation, self.now, self.number = conversation, now, number

    def send(self, kind, **fields):
        incoming = Incoming(message_id=f"wamid.{uuid.uuid4().hex}", sender=self.number, kind=kind,
                            sent_at=self.now, **fields)
        replies = respond(self.conversation, incoming, self.now)
        db.session.flush()
        return replies

    def say(self, text):
        return self.send("text", text=text)

    def pick(self, choice_id):
        return self.send("choice", choice=choice_id)

    def share_location(self, latitude, longitude, place=None):
        return self.send("location", latitude=latitude, longitude=longitude, place=place)

    def send_photo(self, media_id):
        return self.send("image", media_id=media_id, mime="image/jpeg")


def words(replies):
    return "\n".join(getattr(reply, "body", "") for reply in replies)


def choice_ids(replies):
    return [c.id for reply in replies if isinstance(reply, (Buttons, Menu)) for c in reply.choices]


def new_phone(now, number=NUMBER):
    conversation = Conversation(sender_hash=sender_hash(number), phone=encrypt_number(number))
    db.session.add(conversation)
    db.session.flush()
    return Phone(conversation, now, number)


@pytest.fixture
def phone(clock):
    return new_phone(clock.now)


def karawang_office_for(make):
    """The Kantor Imigrasi whose jurisdiction is Kabupaten Karawang (32.15)."""
    return make.office(code="KANIM-KRW", name="Kantor Imigrasi Karawang", regions=["32.15"])


@pytest.fixture
def karawang_office(make):
    return karawang_office_for(make)


def first_category():
    return db.session.scalars(select(Category).where(Category.active).order_by(Category.position)).first()


# The answers that take a report from the menu to its summary, step by step.
def to_step(phone, step):
    answers = [("category", lambda: phone.pick("menu:report")),
               ("description", lambda: phone.pick(f"category:{first_category().id}")),
               ("people", lambda: phone.say(DESCRIPTION)),
               ("when", lambda: phone.pick("people:2")),
               ("place_kind", lambda: phone.pick("when:today")),
               ("place", lambda: phone.pick("kind:workplace")),
               ("photos", lambda: phone.share_location(*KARAWANG)),
               ("contact", lambda: phone.pick("photos:done")),
               ("confirm", lambda: phone.pick("contact:no"))]
    phone.say("halo")
    replies = None
    for name, answer in answers:
        replies = answer()
        assert phone.conversation.step == name, words(replies)
        if name == step:
            return replies
    raise AssertionError(f"no step {step}")


def reports_made():
    return db.session.scalars(select(Report).where(Report.channel == "whatsapp")).all()


def test_the_first_message_answers_with_the_menu_in_indonesian(phone):
    replies = phone.say("Selamat pagi")
    assert len(replies) == 1 and isinstance(replies[0], Menu)
    assert choice_ids(replies) == ["menu:report", "menu:status", "menu:info", "menu:complaint", "lang:en"]
    with force_locale("id"):  # the catalog's words, whether or not this msgid is translated yet
        assert replies[0].choices[0].title == gettext("Report a foreigner")


def test_an_anonymous_report_is_made_in_the_office_of_the_place_without_the_number(phone, karawang_office, app):
    summary = to_step(phone, "confirm")
    assert isinstance(summary[-1], Buttons) and choice_ids(summary) == ["confirm:send", "confirm:change", "cancel"]
    assert DESCRIPTION in words(summary)
    replies = phone.pick("confirm:send")

    [report] = reports_made()
    assert (report.office_id, report.channel, report.description, report.people_count, report.place_kind) == (
        karawang_office.id, "whatsapp", DESCRIPTION, 2, "workplace")
    assert report.contact is None
    assert report.observed_at == phone.now
    code = tracking.display(report.tracking_code)
    assert code in words(replies)
    assert f"{app.config['BASE_URL']}/lapor/tanda-terima/{report.tracking_code}" in words(replies)
    assert phone.conversation.data == {} and phone.conversation.step == "menu"
    assert isinstance(replies[-1], Menu)


def test_a_reporter_who_may_be_contacted_leaves_the_number_encrypted(phone, karawang_office):
    to_step(phone, "contact")
    phone.pick("contact:yes")
    phone.pick("confirm:send")
    [report] = reports_made()
    assert NUMBER.encode() not in report.contact
    assert _decrypt(report.contact, report.id).phone == NUMBER


def test_the_same_submission_key_makes_one_report_when_a_job_runs_again(phone, karawang_office):
    to_step(phone, "confirm")
    data, step = dict(phone.conversation.data), phone.conversation.step
    phone.pick("confirm:send")
    phone.conversation.data, phone.conversation.step, phone.conversation.flow = data, step, "report"
    again = phone.pick("confirm:send")
    [report] = reports_made()
    assert tracking.display(report.tracking_code) in words(again)


def test_typed_answers_a_number_of_people_a_date_and_an_address_with_its_kecamatan(phone, karawang_office, clock,
                                                                                   make):
    to_step(phone, "people")
    assert phone.conversation.step == "people"
    phone.pick("people:more")
    assert phone.conversation.step == "people_number"
    phone.say("12 orang")
    assert phone.conversation.data["people"] == 12
    day = (clock.now.astimezone(WIB) - timedelta(days=3)).date()
    phone.pick("when:other")
    phone.say(day.strftime("%d/%m/%Y"))
    phone.pick("kind:residence")
    phone.pick("place:address")
    phone.say("Perumahan Griya Asri blok C no. 7")
    found = phone.say("telukjambe timr")
    assert phone.conversation.step == "kecamatan_pick"
    assert "Kec. Telukjambe Timur" in [c.title for reply in found if isinstance(reply, Menu) for c in reply.choices]
    kecamatan = next(c.id for reply in found if isinstance(reply, Menu) for c in reply.choices
                     if c.title == "Kec. Telukjambe Timur")
    phone.pick(kecamatan)
    assert phone.conversation.step == "photos"
    phone.pick("photos:done")
    phone.pick("contact:no")
    phone.pick("confirm:send")

    [report] = reports_made()
    assert report.people_count == 12
    assert report.observed_at.astimezone(WIB).replace(tzinfo=None).isoformat() == f"{day.isoformat()}T12:00:00"
    assert report.address_text == "Perumahan Griya Asri blok C no. 7"
    assert report.accuracy_m > 1000  # the size of the kecamatan: the point is only somewhere inside it
    assert report.kec_id == make.region("32.15.03").id
    assert report.office_id == karawang_office.id


@pytest.mark.date_sensitive
def test_a_typed_number_is_taken_at_once_and_a_typed_date_at_the_when_question(phone, karawang_office, clock):
    to_step(phone, "people")
    phone.say("3")  # three people, not the third button
    assert phone.conversation.step == "when" and phone.conversation.data["people"] == 3
    yesterday = (clock.now.astimezone(WIB) - timedelta(days=1)).date()
    phone.say(yesterday.strftime("%d-%m-%Y"))
    assert phone.conversation.step == "place_kind"
    noon = datetime.combine(yesterday, time(12, 0), tzinfo=WIB)
    assert datetime.fromisoformat(phone.conversation.data["observed_at"]) == noon


def test_a_location_outside_indonesia_is_explained_and_asked_again(phone, karawang_office):
    asked = to_step(phone, "place")
    replies = phone.share_location(*SINGAPORE)
    with force_locale("id"):
        assert replies[0].body == gettext("This place is outside Indonesia. Move the pin to where you saw them.")
    assert replies[1:] == asked
    assert phone.conversation.step == "place"
    phone.share_location(*KARAWANG)
    assert phone.conversation.step == "photos"


WRONG_ANSWERS = {
    "category": ("text", {"text": "kucing"}),
    "description": ("text", {"text": "pendek"}),
    "people": ("text", {"text": "banyak sekali"}),
    "when": ("text", {"text": "31-02-2026"}),
    "place_kind": ("choice", {"choice": "kind:castle"}),
    "place": ("text", {"text": "ok"}),
    "photos": ("text", {"text": "nanti saja"}),
    "contact": ("text", {"text": "terserah"}),
    "confirm": ("text", {"text": "mungkin"}),
}


@pytest.mark.parametrize("step", list(WRONG_ANSWERS))
def test_a_wrong_answer_is_explained_and_the_same_question_asked_again(phone, karawang_office, step):
    asked = to_step(phone, step)
    if step == "confirm":
        asked = phone.say("bukan jawaban")[1:]  # the summary is asked again in the same words
    kind, fields = WRONG_ANSWERS[step]
    replies = phone.send(kind, **fields)
    assert isinstance(replies[0], Text) and replies[0].body
    assert replies[1:] == (asked if step != "when" else asked[-1:])
    assert phone.conversation.step == step


FOLLOW_UPS = {  # a step that follows up a question: how to get there, and a wrong answer to it
    "when_date": (("when", "when:other"), "kemarin lusa"),
    "address": (("place", "place:address"), "Jl"),
    "kecamatan": (("place", "Rumah kos di belakang masjid"), "zzqxwv"),
}


@pytest.mark.parametrize("step", list(FOLLOW_UPS))
def test_a_wrong_answer_to_a_follow_up_question_is_explained_and_asked_again(phone, karawang_office, step):
    (question, answer), wrong = FOLLOW_UPS[step]
    to_step(phone, question)
    asked = phone.pick(answer) if ":" in answer else phone.say(answer)
    assert phone.conversation.step == step
    replies = phone.say(wrong)
    assert isinstance(replies[0], Text) and replies[1:] == asked
    assert phone.conversation.step == step


def test_every_button_and_list_row_fits_whatsapps_limits(phone, karawang_office):
    from apoa.whatsapp import messages

    replies = [*to_step(phone, "confirm"), *phone.pick("confirm:change"), *phone.pick("change:back")]
    replies += [*phone.say("batal"), *phone.pick("menu:info"), *phone.pick("info:offices"), *phone.say("karawang")]
    for reply in replies:
        if isinstance(reply, Buttons):
            assert len(reply.choices) <= messages.MAX_BUTTONS
            assert all(len(c.title) <= messages.BUTTON_TITLE_LIMIT for c in reply.choices), reply
        if isinstance(reply, Menu):
            assert len(reply.choices) <= messages.MAX_ROWS and len(reply.button) <= messages.LIST_BUTTON_LIMIT
            assert all(len(c.title) <= messages.ROW_TITLE_LIMIT or c.description for c in reply.choices), reply
            assert all(len(c.description or "") <= messages.ROW_DESCRIPTION_LIMIT for c in reply.choices), reply
        if isinstance(reply, (Buttons, Menu)):
            assert len(reply.body) <= messages.INTERACTIVE_BODY_LIMIT


@pytest.mark.parametrize("bad", ["0", "1001", "dua belas"])
def test_a_typed_number_of_people_outside_the_form_rule_is_refused(phone, karawang_office, bad):
    to_step(phone, "people")
    phone.pick("people:more")
    replies = phone.say(bad)
    assert "1" in replies[0].body and "1000" in replies[0].body
    assert phone.conversation.step == "people_number"


@pytest.mark.date_sensitive  # the day in Jakarta and in UTC differ at some of the instants
@pytest.mark.parametrize("days_ago, accepted", [(-1, False), (0, True), (90, True), (91, False)])
def test_a_typed_date_may_be_neither_in_the_future_nor_older_than_the_limit(phone, karawang_office, clock, days_ago,
                                                                            accepted):
    to_step(phone, "when")
    phone.pick("when:other")
    day = (clock.now.astimezone(WIB) - timedelta(days=days_ago)).date()
    phone.say(day.strftime("%d-%m-%Y"))
    assert (phone.conversation.step == "place_kind") is accepted
    if accepted:
        observed = datetime.fromisoformat(phone.conversation.data["observed_at"])
        assert observed <= clock.now


def test_a_ten_thousand_character_text_is_refused_by_the_length_rule_and_never_kept(phone, karawang_office):
    to_step(phone, "description")
    replies = phone.say("x" * 10_000)
    assert "2000" in replies[0].body or "2.000" in replies[0].body
    assert "description" not in phone.conversation.data
    to_menu = phone.say("menu")
    assert isinstance(to_menu[-1], Menu)
    assert isinstance(phone.say("y" * 10_000)[-1], Menu)


def test_an_unsupported_message_and_a_photo_out_of_place_are_explained(phone, karawang_office):
    asked = to_step(phone, "people")
    sticker = phone.send("unsupported")
    assert sticker[1:] == asked and sticker[0].body
    photo = phone.send_photo("media-123")
    assert photo[1:] == asked and photo[0].body != sticker[0].body
    assert phone.conversation.step == "people"


@pytest.mark.parametrize("step", ["category", "description", "when", "place", "photos", "confirm"])
@pytest.mark.parametrize("word", ["batal", "BATAL", "cancel"])
def test_batal_cancels_at_any_step(phone, karawang_office, step, word):
    to_step(phone, step)
    replies = phone.say(word)
    assert isinstance(replies[0], Text) and isinstance(replies[-1], Menu)
    assert phone.conversation.data == {} and phone.conversation.step == "menu"
    assert phone.conversation.flow == "menu"
    assert reports_made() == []


def test_the_cancel_button_of_the_summary_cancels(phone, karawang_office):
    to_step(phone, "confirm")
    replies = phone.pick("cancel")
    assert isinstance(replies[-1], Menu) and phone.conversation.data == {}
    assert reports_made() == []


@pytest.mark.parametrize("step", ["description", "people_number", "photos", "contact"])
def test_menu_goes_back_to_the_menu_at_any_step(phone, karawang_office, step):
    if step == "people_number":
        to_step(phone, "people")
        phone.pick("people:more")
    else:
        to_step(phone, step)
    replies = phone.say("Menu")
    assert isinstance(replies[-1], Menu)
    assert phone.conversation.step == "menu" and phone.conversation.data == {}


def test_an_answer_changed_from_the_summary_comes_back_to_the_summary(phone, karawang_office):
    to_step(phone, "confirm")
    change = phone.pick("confirm:change")
    assert "change:people" in choice_ids(change)
    phone.pick("change:people")
    phone.pick("people:more")
    summary = phone.say("15")
    assert phone.conversation.step == "confirm" and choice_ids(summary)[0] == "confirm:send"
    phone.pick("confirm:change")
    phone.pick("change:place")
    phone.pick("place:address")
    phone.say("Gudang biru di belakang pasar")
    offered = phone.say("Klari")
    phone.pick(choice_ids(offered)[0])
    assert phone.conversation.step == "confirm"
    phone.pick("confirm:send")
    [report] = reports_made()
    assert (report.people_count, report.address_text, report.description) == (
        15, "Gudang biru di belakang pasar", DESCRIPTION)


def test_more_categories_than_a_list_holds_are_shown_page_by_page(phone, karawang_office):
    for n in range(10):
        db.session.add(Category(code=f"wa-test-{n}", name_id=f"Kategori uji {n}", name_en=f"Test category {n}",
                                position=100 + n))
    db.session.flush()
    first = phone.say("halo") and phone.pick("menu:report")
    assert len(first[0].choices) == 10 and first[0].choices[-1].id == "category:more"
    second = phone.pick("category:more")
    assert [c.title for c in second[0].choices][-1] == "Kategori uji 9"
    phone.pick(second[0].choices[-1].id)
    chosen = db.session.get(Category, phone.conversation.data["category_id"])
    assert chosen.code == "wa-test-9" and phone.conversation.step == "description"


def test_the_menu_can_be_picked_by_typing_its_number(phone):
    phone.say("hi")
    phone.say("1")
    assert phone.conversation.step == "category"


def test_the_report_budget_of_a_number_is_that_of_the_web(phone, karawang_office, monkeypatch):
    from apoa.reports import abuse
    from apoa.whatsapp import flow_send

    spent = []
    monkeypatch.setattr(abuse, "spend", lambda budgets: spent.extend(b.identifiers() for b in budgets))
    to_step(phone, "confirm")
    phone.pick("confirm:send")
    assert spent == [(abuse.BUDGET_NAMESPACE, "reports", f"whatsapp:{sender_hash(NUMBER)}")]
    assert flow_send.reports_budget(phone.conversation).limits == abuse.REPORTS_PER_REQUESTER.limits


def test_an_exhausted_report_budget_refuses_politely_and_keeps_the_report(phone, karawang_office):
    from apoa.reports import abuse
    from apoa.whatsapp import flow_send

    budget = flow_send.reports_budget(phone.conversation)
    for _ in range(10):
        abuse.spend([budget])
    to_step(phone, "confirm")
    replies = phone.pick("confirm:send")
    assert reports_made() == []
    assert phone.conversation.step == "confirm" and "description" in phone.conversation.data
    with force_locale("id"):
        assert "menit" in replies[0].body or "jam" in replies[0].body
