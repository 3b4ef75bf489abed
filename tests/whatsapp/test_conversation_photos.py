"""Photos in the WhatsApp report flow (apoa/whatsapp/flow_photos.py), downloaded from the local fake
of the Graph API (a real process): sanitised exactly like the web's, kept owner-only on disk until
the report is sent, deleted once the transaction that let go of them commits, and swept when a
crash left them behind."""
import io
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from apoa.extensions import db
from apoa.reports.models import Attachment, Report
from apoa.whatsapp import flow_photos
from apoa.whatsapp.conversation import expire_idle

from tests.whatsapp.test_conversation_report import karawang_office_for, new_phone, to_step


@pytest.fixture
def graph(graph_for_app):
    """The app downloads media from the (empty) fake Graph API (tests/whatsapp/fakegraph.py)."""
    return graph_for_app


@pytest.fixture
def phone(clock, graph):
    return new_phone(clock.now)


@pytest.fixture
def karawang_office(make):
    return karawang_office_for(make)


def photo_with_gps(color=(200, 30, 30)):
    """A JPEG carrying EXIF with a GPS position and a camera make, as phones write them."""
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    exif[0x8825] = {1: "S", 2: (6.0, 18.0, 0.0), 3: "E", 4: (107.0, 18.0, 0.0)}  # GPSInfo
    raw = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(raw, "JPEG", exif=exif)
    return raw.getvalue()


def kept_files(conversation):
    folder = flow_photos.photo_dir(conversation.id)
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_photo_is_downloaded_sanitised_kept_and_attached_to_the_report(phone, karawang_office, graph, app):
    to_step(phone, "photos")
    media_id = graph.upload_media(photo_with_gps(), "image/jpeg")
    replies = phone.send_photo(media_id)
    assert phone.conversation.step == "photos" and "photos:done" in [c.id for c in replies[0].choices]
    [kept] = kept_files(phone.conversation)
    assert b"SecretPhoneMaker" not in kept.read_bytes() and b"Exif" not in kept.read_bytes()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700

    phone.pick("photos:done")
    phone.pick("contact:no")
    phone.pick("confirm:send")
    [report] = db.session.scalars(select(Report).where(Report.channel == "whatsapp")).all()
    [attachment] = db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)).all()
    stored = Path(app.config["UPLOAD_DIR"]) / attachment.stored_path
    assert b"SecretPhoneMaker" not in stored.read_bytes() and attachment.mime == "image/jpeg"
    assert kept.exists()  # until the transaction commits: a job run again must find it
    db.session.commit()
    assert not kept.exists()


def test_after_the_third_photo_the_report_goes_on_by_itself(phone, karawang_office, graph):
    to_step(phone, "photos")
    for color in ((10, 10, 10), (120, 120, 120), (250, 250, 250)):
        replies = phone.send_photo(graph.upload_media(photo_with_gps(color), "image/jpeg"))
    assert phone.conversation.step == "contact"
    assert len(phone.conversation.data["photos"]) == 3 and len(kept_files(phone.conversation)) == 3
    assert "contact:yes" in [c.id for reply in replies if hasattr(reply, "choices") for c in reply.choices]


def test_the_same_photo_twice_is_kept_once(phone, karawang_office, graph):
    to_step(phone, "photos")
    data = photo_with_gps()
    phone.send_photo(graph.upload_media(data, "image/jpeg"))
    phone.send_photo(graph.upload_media(data, "image/jpeg"))
    assert len(phone.conversation.data["photos"]) == 1 and phone.conversation.step == "photos"


def test_a_medium_that_cannot_be_downloaded_is_asked_again(phone, karawang_office):
    asked = to_step(phone, "photos")
    replies = phone.send_photo("9999999999999999")
    assert replies[1:] == asked and replies[0].body
    assert phone.conversation.data.get("photos", []) == [] and kept_files(phone.conversation) == []


def test_a_file_that_is_no_photo_is_refused_like_on_the_web(phone, karawang_office, graph):
    asked = to_step(phone, "photos")
    replies = phone.send_photo(graph.upload_media(b"%PDF-1.4 not a photo", "image/jpeg"))
    assert replies[1:] == asked
    assert "JPEG" in replies[0].body and kept_files(phone.conversation) == []


def test_cancelled_photos_are_deleted_on_commit_and_kept_on_rollback(phone, karawang_office, graph):
    to_step(phone, "photos")
    phone.send_photo(graph.upload_media(photo_with_gps(), "image/jpeg"))
    [kept] = kept_files(phone.conversation)
    db.session.commit()
    phone.say("batal")
    db.session.rollback()
    assert kept.exists()
    phone.conversation = db.session.get(type(phone.conversation), phone.conversation.id)
    phone.say("batal")
    db.session.commit()
    assert not kept.exists()


def test_the_sweep_deletes_old_photos_no_conversation_names(phone, karawang_office, graph):
    to_step(phone, "photos")
    phone.send_photo(graph.upload_media(photo_with_gps(), "image/jpeg"))
    [kept] = kept_files(phone.conversation)
    left_behind = kept.parent / f"{'a' * 64}.jpg"
    left_behind.write_bytes(b"left by a crash")
    fresh = kept.parent / f"{'b' * 64}.jpg"
    fresh.write_bytes(b"written by a job still running")
    two_hours_ago = (phone.now - timedelta(hours=2)).timestamp()
    for path in (kept, left_behind):
        os.utime(path, (two_hours_ago, two_hours_ago))
    expire_idle(phone.now)
    assert kept.exists() and fresh.exists() and not left_behind.exists()


def test_an_expired_report_loses_its_photos(phone, karawang_office, graph):
    to_step(phone, "photos")
    phone.send_photo(graph.upload_media(photo_with_gps(), "image/jpeg"))
    [kept] = kept_files(phone.conversation)
    assert expire_idle(phone.now + timedelta(hours=24)) == 1
    db.session.commit()
    assert not kept.exists()
