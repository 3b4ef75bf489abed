"""The issue's "done when", end to end through Meta's side of the wire: a resident reports on
WhatsApp with a photo that carries GPS metadata, asks for the status, the Karawang officer sees the
report (photo bare), asks the reporter a question without seeing the number, the answer lands in
the history, and a status change reaches the resident. Every delivery is a signed webhook payload;
every reply is what the fake Graph API received."""
import io

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select

from apoa import jobs
from apoa.extensions import db
from apoa.reports import tracking
from apoa.reports.models import Attachment, Category, Report
from apoa.reports.photos import open_stored
from apoa.reports.services import upload_dir
from apoa.whatsapp.models import Outbound
from tests.whatsapp.conftest import texts

NUMBER = "6281377770001"
KARAWANG = (-6.30, 107.30)  # (lat, lon)
DESCRIPTION = "Empat orang asing bekerja di pabrik garmen tanpa izin kerja."


def photo_with_gps():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyPhone"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "S", ExifTags.GPS.GPSLatitude: (6.0, 18.0, 0.0),
                                  ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (107.0, 18.0, 0.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (30, 120, 200)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@pytest.fixture
def karawang(make):
    office = make.office(code="KANIM-KARAWANG-WA", name="Kantor Imigrasi Karawang", regions=["32.15"])
    return office, make.user("officer", office)


def sent_to(fake_graph, number):
    return [entry["payload"] for entry in fake_graph.sent(to=number)]


def body_of(payload):
    if payload["type"] == "text":
        return payload["text"]["body"]
    if payload["type"] == "template":
        return " ".join(p["text"] for c in payload["template"]["components"] for p in c["parameters"])
    return payload["interactive"]["body"]["text"]


def test_a_report_made_on_whatsapp_reaches_the_karawang_officer_who_asks_and_hears_back(
        chat, karawang, graph_for_app, fake_graph, sign_in):
    office, officer = karawang
    phone = chat(NUMBER)
    category = db.session.scalars(select(Category).where(Category.active).order_by(Category.position)).first()
    phone.say("Halo")
    phone.pick("menu:report")
    phone.pick(f"category:{category.id}")
    phone.say(DESCRIPTION)
    phone.say("4")
    phone.press("when:today")
    phone.pick("kind:workplace")
    phone.share_location(*KARAWANG)
    media_id = fake_graph.upload_media(photo_with_gps(), "image/jpeg")
    assert "1" in texts(phone.send_photo(media_id))
    phone.press("photos:done")
    phone.press("contact:yes")
    done = texts(phone.press("confirm:send"))

    report = db.session.scalars(select(Report).where(Report.channel == "whatsapp")).one()
    assert tracking.display(report.tracking_code) in done
    assert report.office_id == office.id and report.contact is not None
    # What the resident's phone received is what the Graph API was asked to send.
    assert any(tracking.display(report.tracking_code) in body_of(p) for p in sent_to(fake_graph, NUMBER))

    # The photo is stored without the metadata it came with.
    [attachment] = db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)).all()
    with Image.open(open_stored(upload_dir(), attachment.stored_path)) as stored:
        assert len(stored.getexif()) == 0 and "exif" not in stored.info

    # The status by tracking code, typed the way people type it.
    status_answer = texts(phone.say("  " + tracking.display(report.tracking_code).lower().replace("-", " ") + " "))
    assert "Diterima" in status_answer

    # The Karawang officer finds it in the queue, opens it, sees the photo, never the number.
    client = sign_in(officer)
    queue = client.get("/laporan")
    assert tracking.display(report.tracking_code) in queue.text
    page = client.get(f"/laporan/{report.id}")
    assert page.status_code == 200 and "WhatsApp" in page.text
    assert f"/laporan/{report.id}/foto/{attachment.id}" in page.text
    for shown in (page.text, queue.text):
        assert NUMBER not in shown and NUMBER[2:] not in shown

    asked = client.post(f"/laporan/{report.id}/tanya", data={"question": "Di pabrik mana tepatnya, nama jalannya?"})
    assert asked.status_code == 303
    jobs.run_pending()
    assert "nama jalannya" in body_of(sent_to(fake_graph, NUMBER)[-1])

    thanks = texts(phone.say("Pabrik di Jl. Industri Raya No. 7."))
    assert "Terima kasih" in thanks
    history = client.get(f"/laporan/{report.id}").text
    assert "Jl. Industri Raya No. 7." in history and NUMBER not in history

    screened = client.post(f"/laporan/{report.id}/aksi/screen", data={"note": "Mulai ditelaah."})
    assert screened.status_code == 303
    jobs.run_pending()
    last = sent_to(fake_graph, NUMBER)[-1]
    assert tracking.display(report.tracking_code) in body_of(last) and "Diproses" in body_of(last)
    assert db.session.scalars(select(Outbound).where(Outbound.state == "failed")).all() == []
