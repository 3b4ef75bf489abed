"""Submitting a report through the public form, as a resident's browser does."""
import io
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from apoa import create_app
from apoa.extensions import db, limiter
from apoa.reports.models import Attachment, Report
from apoa.reports.tracking import normalise
from tests.clock import working_days_later
from tests.conftest import app_environ
from tests.reports.helpers import form_data, jpeg_bytes, local_time, stamp


def report_count():
    return db.session.scalar(select(func.count()).select_from(Report))


def submit(client, **overrides):
    return client.post("/lapor", data=form_data(**overrides), content_type="multipart/form-data")


def field_errors(response):
    return re.findall(r'class="field-error"[^>]*>([^<]+)<', response.text)


def test_the_form_page_offers_every_field(client):
    page = client.get("/lapor")
    assert page.status_code == 200
    for name in ("category", "description", "people_count", "nationality", "place_kind", "observed_at",
                 "latitude", "longitude", "address", "photos", "reporter", "contact_phone", "consent"):
        assert f'name="{name}"' in page.text, name
    assert "Dugaan bekerja tanpa izin" in page.text  # categories in Indonesian


def test_every_visible_input_has_a_label(client):
    page = client.get("/lapor").text
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"[^>]*>', page)
    hidden = set(re.findall(r'<input[^>]*id="([^"]+)"[^>]*type="hidden"', page)) | \
        set(re.findall(r'<input[^>]*type="hidden"[^>]*id="([^"]+)"', page))
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', page))
    unlabelled = [i for i in ids if i not in hidden and i not in labelled]
    assert unlabelled == []


def test_the_form_page_without_the_map_weighs_under_100_kb(client):
    page = client.get("/lapor").data
    own_assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.decode())
    weight = len(page) + sum(asset_size(client, path) for path in own_assets)
    assert own_assets, "the page links its stylesheet and script"
    assert weight <= 100 * 1024


def asset_size(client, path):
    with client.get(path) as answer:
        assert answer.status_code == 200, path
        return len(answer.data)


def test_the_form_sets_a_device_cookie(client):
    client.get("/lapor")
    assert client.get_cookie("apoa_device") is not None


def test_a_valid_report_is_stored_with_its_regions_and_office(client, make):
    office = make.office(regions=["32.15"])
    answer = submit(client)
    assert answer.status_code == 303
    code = answer.headers["Location"].rsplit("/", 1)[1]
    report = db.session.scalar(select(Report).where(Report.tracking_code == code))
    assert report.state == "new" and report.office_id == office.id
    assert report.kabupaten.kode == "32.15" and report.kecamatan.kode.startswith("32.15.")
    assert report.contact is None and report.reporter_id is None
    assert report.due_at > report.created_at
    assert [e.action for e in report.events] == ["submit"]


def submitted(answer):
    return db.session.scalar(select(Report).where(Report.tracking_code == answer.headers["Location"][-14:]))


def test_observed_time_is_read_in_the_browsers_time_zone(client, clock):
    answer = submit(client, observed_at=local_time(-timedelta(hours=1)), utc_offset="540")  # WIT
    assert submitted(answer).observed_at == clock.now - timedelta(hours=3)  # 1 h ago in WIB, 3 h in WIT


@pytest.mark.date_sensitive
def test_a_report_is_received_now_and_due_one_working_day_later(client, clock):
    report = submitted(submit(client))
    assert report.created_at == clock.now
    assert report.due_at == working_days_later(clock, 1)


def test_the_receipt_shows_a_valid_code_and_a_qr_code(client):
    receipt = client.get(submit(client).headers["Location"])
    shown = re.search(r'id="tracking-code">([^<]+)<', receipt.text).group(1)
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{4}", shown)
    assert normalise(shown) is not None
    assert "<svg" in receipt.text and "/status/" in receipt.text


def test_tracking_codes_differ_and_hold_no_sequence(client):
    codes = {submit(client).headers["Location"].rsplit("/", 1)[1] for _ in range(5)}
    assert len(codes) == 5


def test_a_retried_submission_makes_one_report(client):
    data = form_data()
    first = client.post("/lapor", data=data)
    second = client.post("/lapor", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count())
                             .where(Report.submission_key == uuid.UUID(data["submission_key"]))) == 1


def test_contact_details_are_stored_encrypted(client):
    answer = submit(client, reporter="contact", contact_name="Ani", contact_phone="0812 3456 7890",
                    contact_email="ani@example.com")
    report = db.session.scalar(select(Report).where(Report.tracking_code == answer.headers["Location"][-14:]))
    assert report.contact and b"0812" not in report.contact and b"Ani" not in report.contact


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("overrides, message", [
    ({"description": "short"}, "between 10 and 2000 characters"),
    ({"description": "x" * 2001}, "between 10 and 2000 characters"),
    ({"people_count": "0"}, "from 1 to 1000"),
    ({"people_count": "banyak"}, "Not a valid integer value"),
    ({"latitude": "utara"}, "latitude between -90 and 90"),
    ({"longitude": "200"}, "longitude between -180 and 180"),
    ({"latitude": ""}, "Mark the place on the map"),
    ({"observed_at": ""}, "date and time"),
    ({"consent": None}, "confirm the statement"),
    ({"reporter": "contact"}, "phone number or an email address"),
    ({"reporter": "contact", "contact_phone": "12"}, "8 to 15 digits"),
    ({"reporter": "contact", "contact_email": "not-an-email"}, "valid email address"),
    ({"nationality": "ID"}, "Choose a country from the list"),
    ({"category": "999999"}, "Not a valid choice"),
])
def test_invalid_answers_get_a_message_next_to_the_field_and_nothing_is_stored(client, overrides, message):
    before = report_count()
    client.post("/bahasa", data={"lang": "en"})
    answer = submit(client, **overrides)
    assert answer.status_code == 400
    assert any(message in error for error in field_errors(answer)), field_errors(answer)
    assert report_count() == before


def test_messages_are_in_indonesian_by_default(client):
    answer = submit(client, description="pendek")
    assert any("antara 10 dan 2000" in e for e in field_errors(answer)), field_errors(answer)


@pytest.mark.usefixtures("english")
def test_a_point_outside_indonesia_is_refused(client):
    client.post("/bahasa", data={"lang": "en"})
    before = report_count()
    answer = submit(client, latitude="1.3521", longitude="103.8198")  # Singapore
    assert answer.status_code == 400
    assert any("outside Indonesia" in e for e in field_errors(answer))
    assert report_count() == before


def test_the_honeypot_refuses_a_bot(client):
    before = report_count()
    assert submit(client, website="http://spam.example").status_code == 400
    assert report_count() == before


def test_a_form_sent_back_faster_than_a_person_can_fill_it_is_refused(client):
    before = report_count()
    answer = submit(client, started_at=stamp(seconds_ago=0))
    assert answer.status_code == 400
    assert "Laporan terkirim terlalu cepat" in answer.text
    assert report_count() == before


def test_a_forged_form_stamp_is_refused(client):
    assert submit(client, started_at="12345.forged").status_code == 400


def test_photos_lose_gps_exif_and_comments(app, client):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif.get_ifd(0x8825).update({1: "S", 2: (6.0, 18.0, 0.0), 3: "E", 4: (107.0, 18.0, 0.0)})
    photo = jpeg_bytes(exif=exif.tobytes(), comment=b"rumah nomor 7")
    assert b"Exif" in photo and b"rumah nomor 7" in photo
    answer = client.post("/lapor", data=form_data(photos=[(io.BytesIO(photo), "foto.jpg")]),
                         content_type="multipart/form-data")
    assert answer.status_code == 303
    attachment = db.session.scalar(select(Attachment).order_by(Attachment.id.desc()))
    stored = (Path(app.config["UPLOAD_DIR"]) / attachment.stored_path).read_bytes()
    assert b"Exif" not in stored and b"rumah nomor 7" not in stored and b"SpyCam" not in stored
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif() and "comment" not in image.info
    assert (image.width, image.height) == (64, 48) and attachment.mime == "image/jpeg"


def test_a_decompression_bomb_is_refused_with_a_clear_message(client):
    buffer = io.BytesIO()
    Image.new("1", (10000, 10000)).save(buffer, "PNG")  # tiny file, 100 million pixels
    before = report_count()
    answer = client.post("/lapor", data=form_data(photos=[(io.BytesIO(buffer.getvalue()), "bom.png")]),
                         content_type="multipart/form-data")
    assert answer.status_code == 400
    assert any("piksel" in e for e in field_errors(answer)), field_errors(answer)
    assert report_count() == before


def test_at_most_three_photos(client):
    photos = [(io.BytesIO(jpeg_bytes()), f"{i}.jpg") for i in range(4)]
    answer = client.post("/lapor", data=form_data(photos=photos), content_type="multipart/form-data")
    assert answer.status_code == 400


def test_a_signed_in_resident_sees_the_report_among_their_own(client, auth, make):
    resident = make.user(role="resident")
    auth.login(resident)
    code = submit(client).headers["Location"].rsplit("/", 1)[1]
    mine = client.get("/laporan-saya")
    assert mine.status_code == 200 and code[:5] in mine.text and "Diterima" in mine.text


def test_my_reports_needs_sign_in(client):
    assert client.get("/laporan-saya").status_code == 302


@pytest.mark.usefixtures("english")
def test_the_rate_limit_answers_429_with_a_friendly_page(client):
    """Ten accepted reports an hour from one browser (tests/reports/test_rate_limits.py: per device
    and account, failed forms free, a ceiling per address)."""
    for _ in range(10):
        assert submit(client).status_code == 303
    refused = submit(client)
    assert refused.status_code == 429
    assert "You have sent too many requests. You can try again in 60 minutes." in refused.text


@pytest.fixture
def app_without_redis(app, database_url, tmp_path):
    """An app whose Redis is unreachable. The limiter is one object shared by every app in this
    process, so it is bound back to the suite's app afterwards."""
    broken = create_app({"WTF_CSRF_ENABLED": False},
                        environ=app_environ(database_url, APOA_INSTANCE_DIR=str(tmp_path),
                                            APOA_REDIS_URL="redis://127.0.0.1:1/0"))
    yield broken
    limiter.init_app(app)


def test_submissions_fail_closed_when_redis_is_down(app_without_redis):
    client = app_without_redis.test_client()
    assert client.get("/lapor").status_code == 200  # the form itself still shows
    answer = client.post("/lapor", data=form_data())
    assert answer.status_code == 503
    assert "sementara tidak tersedia" in answer.text


# Registration: tests/test_registration.py.


def test_with_rate_limits_switched_off_submissions_still_work(database_url, tmp_path, app):
    """For benchmarks only (production refuses it): no limit, and no store to ask."""
    unlimited = create_app({"WTF_CSRF_ENABLED": False},
                           environ=app_environ(database_url, APOA_INSTANCE_DIR=str(tmp_path),
                                               APOA_RATELIMIT_ENABLED="false"))
    try:
        answer = unlimited.test_client().post("/lapor", data=form_data())
        assert answer.status_code == 303
    finally:
        limiter.init_app(app)


def test_the_service_returns_the_first_report_for_a_repeated_key(make):
    from apoa.reports.services import NewReport, submit_report
    from datetime import datetime, timezone

    key = str(uuid.uuid4())
    new = NewReport(category_id=make.report().category_id, description="Orang asing bekerja di gudang.",
                    people_count=2, place_kind="workplace", observed_at=datetime.now(timezone.utc),
                    point=(107.30, -6.30), submission_key=key)
    first = submit_report(new)
    again = submit_report(new)
    assert again.id == first.id
    assert db.session.scalar(select(func.count()).where(Report.submission_key == uuid.UUID(key))) == 1
