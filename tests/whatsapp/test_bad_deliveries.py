"""The bad cases of the issue, driven like the good ones: signed webhook payloads shaped as Meta
sends them, the delivery job, the replies as queued for sending. Each is answered with an
explanation and the same question again, and nothing of the bad input is stored."""
from sqlalchemy import func, select

from apoa.extensions import db
from apoa.reports.models import Category, Report
from apoa.whatsapp import meta
from apoa.whatsapp.models import Conversation
from apoa.whatsapp.numbers import sender_hash
from tests.whatsapp.conftest import texts

NUMBER = "6281355550001"
SINGAPORE = (1.3521, 103.8198)


def at_place_step(phone):
    category = db.session.scalars(select(Category).where(Category.active).order_by(Category.position)).first()
    phone.say("halo")
    phone.pick("menu:report")
    phone.pick(f"category:{category.id}")
    phone.say("Dua orang asing berjualan di pasar tanpa izin tinggal.")
    phone.say("2")
    phone.press("when:today")
    return phone.pick("kind:public_place")


def conversation():
    return db.session.scalars(select(Conversation).where(Conversation.sender_hash == sender_hash(NUMBER))).one()


def test_a_sticker_is_explained_and_the_question_asked_again(chat):
    phone = chat(NUMBER)
    phone.say("halo")
    asked = phone.pick("menu:report")
    replies = phone.send(meta.other_message(NUMBER, "sticker", {"id": "sticker-1", "mime_type": "image/webp"}))
    assert "hanya dapat membaca" in texts(replies[:1]).lower() or "only read" in texts(replies[:1]).lower()
    assert replies[-1].choices == asked[-1].choices
    assert conversation().step == "category"


def test_a_text_of_10000_characters_is_refused_and_not_kept(chat):
    phone = chat(NUMBER)
    phone.say("halo")
    phone.pick("menu:report")
    category = db.session.scalars(select(Category).where(Category.active).order_by(Category.position)).first()
    asked = phone.pick(f"category:{category.id}")
    replies = phone.say("x" * 10_000)
    assert "2000" in texts(replies[:1]).replace(".", "")
    assert replies[-1].text == asked[-1].text
    assert conversation().step == "description" and "x" * 100 not in str(conversation().data)


def test_a_location_outside_indonesia_is_explained_and_the_place_asked_again(chat):
    phone = chat(NUMBER)
    at_place_step(phone)
    replies = phone.share_location(*SINGAPORE)
    assert "di luar Indonesia" in texts(replies)
    assert conversation().step == "place"
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0


def test_a_photo_whose_media_cannot_be_downloaded_is_asked_again(chat, graph_for_app):
    phone = chat(NUMBER)
    at_place_step(phone)
    phone.share_location(-6.30, 107.30)
    replies = phone.send_photo("no-such-media-id")
    assert "tidak dapat" in texts(replies).lower() or "tidak bisa" in texts(replies).lower()
    assert conversation().step == "photos" and not conversation().data.get("photos")
