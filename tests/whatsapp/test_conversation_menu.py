"""The conversation outside the report flow (apoa/whatsapp/conversation.py, flow_status.py,
flow_cases.py): tracking codes in any spacing or case, the language switch, expiry after 24 hours,
the information menu with the offices' addresses, questions and complaints that become cases, and
an officer's pending question taking its answer."""
from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from apoa.extensions import db
from apoa.feedback.models import ServiceCase
from apoa.reports import abuse, tracking
from apoa.reports.models import ReportEvent
from apoa.reports.public_views import STATUS_MISS_LIMIT
from apoa.whatsapp.conversation import expire_idle
from apoa.whatsapp.messages import Menu, Text
from apoa.whatsapp.numbers import decrypt_number

from tests.whatsapp.test_conversation_report import NUMBER, choice_ids, karawang_office_for, new_phone, to_step

MISSES = int(STATUS_MISS_LIMIT.split()[0])


@pytest.fixture
def phone(clock):
    return new_phone(clock.now)


@pytest.fixture
def karawang_office(make):
    return karawang_office_for(make)


def in_indonesian(msgid, **values):
    """The catalog's Indonesian for `msgid` (the English itself until the PO fragment is merged)."""
    with force_locale("id"):
        return gettext(msgid, **values)


def spaced_lower(code):
    """A code as people type it: lower case, in odd groups, with a dash."""
    return f"  {code[:3].lower()} {code[3:9].lower()}-{code[9:]}  "


# --- tracking codes -------------------------------------------------------------------------------

def test_a_tracking_code_in_any_spacing_or_case_answers_with_the_coarse_status_only(phone, make):
    report = make.report(description="Rahasia: nama pekerja Tuan X di gudang.")
    replies = phone.say(spaced_lower(report.tracking_code))
    status = replies[0].body
    assert tracking.display(report.tracking_code) in status
    assert in_indonesian("Status: %(status)s", status=in_indonesian("Received")) in status
    assert "Rahasia" not in status and "Tuan X" not in status
    assert isinstance(replies[-1], Menu)


def test_a_tracking_code_in_the_middle_of_a_report_answers_and_asks_the_question_again(phone, make,
                                                                                      karawang_office):
    report = make.report()
    asked = to_step(phone, "people")
    replies = phone.say(report.tracking_code.lower())
    assert tracking.display(report.tracking_code) in replies[0].body
    assert replies[1:] == asked and phone.conversation.step == "people"


def test_a_tracking_code_typed_as_a_description_is_a_description(phone, make, karawang_office):
    report = make.report()
    to_step(phone, "description")
    phone.say(report.tracking_code)
    assert phone.conversation.data["description"] == report.tracking_code
    assert phone.conversation.step == "people"


def test_the_status_option_of_the_menu_takes_a_code_then_goes_back_to_the_menu(phone, make):
    report = make.report()
    phone.say("halo")
    phone.pick("menu:status")
    assert phone.conversation.step == "status_code"
    wrong = phone.say("saya lupa kodenya")
    assert phone.conversation.step == "status_code" and len(wrong) == 2
    replies = phone.say(tracking.display(report.tracking_code))
    assert tracking.display(report.tracking_code) in replies[0].body
    assert phone.conversation.step == "menu"


def test_codes_that_find_nothing_are_counted_per_number_and_refused_once_used_up(phone, make):
    not_found = in_indonesian("We could not find a report with this code. Check the code and try again.")
    for _ in range(MISSES):
        assert phone.say(tracking.new_code())[0].body == not_found
    refused = phone.say(tracking.new_code())[0].body
    assert refused != not_found and refused.startswith(in_indonesian(
        "You have sent too many codes that we could not find. Please try again in %(wait)s.", wait="")[:20])
    # A code that finds its report is never refused, and another number has its own budget.
    report = make.report()
    assert tracking.display(report.tracking_code) in phone.say(report.tracking_code)[0].body
    other = new_phone(phone.now, "6289876543210")
    assert other.say(tracking.new_code())[0].body == not_found


def test_the_misses_budget_is_the_webs_keyed_by_the_numbers_hash(phone):
    from apoa.whatsapp.flow_status import misses_budget

    budget = misses_budget(phone.conversation)
    assert budget.limits == abuse.CODE_MISSES_PER_REQUESTER.limits
    assert budget.identifiers()[-1] == f"whatsapp:{phone.conversation.sender_hash}"
    assert NUMBER not in budget.identifiers()[-1]


# --- language -------------------------------------------------------------------------------------

def test_english_is_picked_from_the_menu_and_kept(phone):
    phone.say("halo")
    replies = phone.pick("lang:en")
    assert phone.conversation.locale == "en"
    assert replies[0].body.startswith("Hello! This is APOA")
    assert "lang:id" in choice_ids(replies)
    category = phone.pick("menu:report")
    assert category[0].body == "What do you want to report? Choose what fits best."
    phone.say("batal")
    back = phone.pick("lang:id")
    assert phone.conversation.locale == "id" and "lang:en" in choice_ids(back)


# --- expiry ---------------------------------------------------------------------------------------

EXPIRED = ("Your unfinished report or message expired after 24 hours without an answer, and what you had sent "
           "was deleted. You can start again from the menu.")


def test_a_report_left_for_24_hours_expires_on_the_next_message(phone, karawang_office):
    to_step(phone, "people")
    phone.now += timedelta(hours=24)
    replies = phone.say("2")
    assert replies[0].body == in_indonesian(EXPIRED)
    assert isinstance(replies[-1], Menu)
    assert phone.conversation.data == {} and phone.conversation.step == "menu"
    again = phone.say("halo")
    assert len(again) == 1 and isinstance(again[0], Menu)  # told once


def test_a_report_left_for_less_than_24_hours_goes_on(phone, karawang_office):
    to_step(phone, "people")
    phone.now += timedelta(hours=23, minutes=59)
    phone.say("2")
    assert phone.conversation.step == "when"


def test_the_periodic_job_clears_idle_conversations_and_the_next_message_is_told(phone, karawang_office):
    to_step(phone, "people")
    waiting_at_menu = new_phone(phone.now, "6289876543210")
    waiting_at_menu.say("halo")
    assert expire_idle(phone.now + timedelta(hours=23)) == 0
    assert expire_idle(phone.now + timedelta(hours=24)) == 1
    conversation = phone.conversation
    assert (conversation.flow, conversation.step, conversation.data) == ("menu", "menu", {})
    assert conversation.expired_at == phone.now + timedelta(hours=24)
    phone.now += timedelta(hours=30)
    replies = phone.say("halo")
    assert replies[0].body == in_indonesian(EXPIRED) and conversation.expired_at is None
    assert waiting_at_menu.conversation.expired_at is None


# --- information ----------------------------------------------------------------------------------

def test_information_about_apoa_and_what_happens_to_a_report(phone):
    phone.say("halo")
    menu = phone.pick("menu:info")
    assert choice_ids(menu) == ["info:about", "info:process", "info:offices", "info:question", "info:back"]
    about = phone.pick("info:about")
    assert isinstance(about[0], Text) and "APOA" in about[0].body and about[1:] == menu
    process = phone.pick("info:process")
    assert process[1:] == menu and process[0].body != about[0].body
    assert isinstance(phone.pick("info:back")[-1], Menu) and phone.conversation.step == "menu"


def test_the_office_of_a_kabupaten_or_kecamatan_tells_its_address_and_hours(phone, karawang_office, make):
    karawang_office.address = "Jl. Jend. A. Yani No. 18, Karawang"
    karawang_office.hours = "Senin–Jumat 08.00–16.00 WIB"
    phone.say("halo")
    phone.pick("menu:info")
    phone.pick("info:offices")
    offered = phone.say("karawang")
    assert f"region:{make.region('32.15').id}" in choice_ids(offered)
    answer = phone.pick(f"region:{make.region('32.15').id}")[0].body
    assert "Kantor Imigrasi Karawang" in answer and karawang_office.address in answer
    assert karawang_office.hours in answer
    phone.pick("info:offices")
    from_kecamatan = phone.say("Telukjambe Timur")
    if phone.conversation.step == "office_place_pick":
        from_kecamatan = phone.pick(f"region:{make.region('32.15.03').id}")
    assert "Kantor Imigrasi Karawang" in from_kecamatan[0].body


def test_an_office_without_an_address_says_it_is_not_recorded(phone, karawang_office, make):
    phone.say("halo")
    phone.pick("menu:info")
    phone.pick("info:offices")
    phone.say("karawang")
    answer = phone.pick(f"region:{make.region('32.15').id}")[0].body
    assert in_indonesian("not recorded") in answer


def test_a_place_name_that_matches_nothing_is_asked_again(phone):
    phone.say("halo")
    phone.pick("menu:info")
    asked = phone.pick("info:offices")
    replies = phone.say("qqqxxzzz")
    assert replies[1:] == asked and phone.conversation.step == "office_place"


# --- questions and complaints ---------------------------------------------------------------------

def cases():
    return db.session.scalars(select(ServiceCase).order_by(ServiceCase.id)).all()


def test_a_question_becomes_a_case_of_the_office_with_the_number_encrypted(phone, karawang_office, make):
    phone.say("halo")
    phone.pick("menu:info")
    phone.pick("info:question")
    phone.say("Karawang")
    phone.pick(f"region:{make.region('32.15').id}")
    assert phone.conversation.step == "question_text"
    replies = phone.say("Apakah WNA boleh bekerja dengan visa kunjungan?")
    [case] = cases()
    assert (case.office_id, case.kind, case.channel, case.body) == (
        karawang_office.id, "question", "whatsapp", "Apakah WNA boleh bekerja dengan visa kunjungan?")
    assert decrypt_number(case.contact) == NUMBER
    assert str(case.id) in replies[0].body and isinstance(replies[-1], Menu)
    assert phone.conversation.data == {}


def test_a_complaint_becomes_a_case_and_a_short_one_is_asked_again(phone, karawang_office, make):
    phone.say("halo")
    phone.pick("menu:complaint")
    phone.say("karawang")
    asked = phone.pick(f"region:{make.region('32.15').id}")
    short = phone.say("jelek")
    assert short[1:] == asked and cases() == []
    replies = phone.say("Petugas loket tidak ada pada jam buka, saya menunggu dua jam.")
    [case] = cases()
    assert (case.office_id, case.kind) == (karawang_office.id, "complaint")
    assert str(case.id) in replies[0].body


def test_a_place_without_an_office_cannot_take_a_complaint(phone, make):
    phone.say("halo")
    phone.pick("menu:complaint")
    offered = phone.say("Kabupaten Karawang")
    replies = phone.pick(f"region:{make.region('32.15').id}")
    assert replies[0].body.startswith(in_indonesian("No immigration office is recorded for %(place)s yet.",
                                                    place="Kabupaten Karawang"))
    assert replies[1:] == offered and phone.conversation.step == "complaint_place_pick"
    assert cases() == []


# --- an officer's question ------------------------------------------------------------------------

def test_a_pending_question_of_an_officer_takes_the_answer_at_the_menu(phone, make):
    report = make.report(channel="whatsapp")
    phone.say("halo")
    phone.conversation.question_report_id = report.id
    replies = phone.say("Ya, mereka masih bekerja di sana setiap malam.")
    assert phone.conversation.question_report_id is None
    answers = db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                           ReportEvent.action == "reporter_answer")).all()
    assert [event.note for event in answers] == ["Ya, mereka masih bekerja di sana setiap malam."]
    assert len(replies) == 1


def test_a_pending_question_waits_while_a_report_is_in_progress(phone, make, karawang_office):
    report = make.report(channel="whatsapp")
    to_step(phone, "description")
    phone.conversation.question_report_id = report.id
    phone.say("Dua orang asing mengangkut barang dari truk setiap pagi.")
    assert phone.conversation.step == "people"
    assert phone.conversation.question_report_id == report.id


@pytest.mark.parametrize("message", [{"kind": "unsupported"}, {"kind": "image", "media_id": "1"},
                                     {"kind": "location", "latitude": -6.3, "longitude": 107.3}])
def test_anything_at_the_menu_answers_with_the_menu(phone, message):
    replies = phone.send(**message)
    assert isinstance(replies[-1], Menu) and phone.conversation.step == "menu"
