"""Photos of the passport data page: attached at check-in or later, cleaned of every piece of
metadata, stored only encrypted, and shown to the organisation's members and, with a reason and
an audit entry, to the officers of its office; to nobody else."""
import io

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.errors import NotAllowed, UserValueError
from apoa.guests.documents import attach_document, clean_document, open_document
from apoa.guests.models import Stay, StayDocument
from apoa.guests.services import check_in
from apoa.reports.contact import _fernet
from tests.guests.test_operator_pages import FormValues, john_mrz, stay_fields
from tests.guests.test_stays import JOHN, REASON, Lodgings, guest

SECRET_MAKE = "SpyPhone"


@pytest.fixture
def lodgings(make, clock):
    return Lodgings(make, clock)


@pytest.fixture
def stay(lodgings, clock):
    [john] = check_in(lodgings.hotel, lodgings.operator, [guest(clock, JOHN)], clock.now)
    return john


def passport_photo(size=(640, 440)):
    """A JPEG as a phone writes it: with the make, the time and the GPS position in its EXIF."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = SECRET_MAKE
    exif[ExifTags.Base.DateTime] = "2026:11:18 08:00:00"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "S", ExifTags.GPS.GPSLatitude: (6.0, 18.0, 0.0)}
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 180, 150)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def photo_url(stay):
    return f"/penginapan/tamu/{stay.id}/foto-paspor"


def audit(session, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_the_photo_is_stored_encrypted_without_its_metadata(lodgings, stay, clock, db_session):
    raw = passport_photo()
    assert SECRET_MAKE.encode() in raw
    attach_document(stay, lodgings.operator, clean_document(raw), clock.now)
    document = db_session.get(StayDocument, stay.id)
    sealed = bytes(document.sealed)
    assert not sealed.startswith(b"\xff\xd8") and b"JFIF" not in sealed
    plain = _fernet().decrypt(sealed)
    assert plain.startswith(b"\xff\xd8") and SECRET_MAKE.encode() not in plain
    with Image.open(io.BytesIO(plain)) as image:
        assert not image.getexif() and image.size == (640, 440)
    assert (document.width, document.height, document.added_by_id) == (640, 440, lodgings.operator.id)
    [entry] = audit(db_session, "guest.document_attach")
    assert entry.object == f"stay:{stay.id}" and entry.detail is None


def test_only_members_attach_a_photo(lodgings, stay, clock):
    for outsider in (lodgings.other_operator, lodgings.staff["officer"]):
        with pytest.raises(NotAllowed):
            attach_document(stay, outsider, clean_document(passport_photo()), clock.now)


def test_a_member_sees_the_photo_freely_and_an_officer_with_a_reason_audited(lodgings, stay, clock, db_session):
    attach_document(stay, lodgings.operator, clean_document(passport_photo()), clock.now)
    assert open_document(stay, lodgings.operator).startswith(b"\xff\xd8")
    assert audit(db_session, "guest.document_view") == []
    officer = lodgings.staff["officer"]
    with pytest.raises(UserValueError):
        open_document(stay, officer)
    assert open_document(stay, officer, REASON).startswith(b"\xff\xd8")
    [entry] = audit(db_session, "guest.document_view")
    assert (entry.actor_id, entry.object, entry.detail) == (officer.id, f"stay:{stay.id}", {"reason": REASON})
    for outsider in (lodgings.other_operator, lodgings.staff["foreign_officer"], lodgings.staff["regional_head"]):
        with pytest.raises(NotAllowed):
            open_document(stay, outsider, REASON)


def test_a_photo_chosen_at_check_in_is_attached_to_the_guest(lodgings, sign_in, clock, db_session):
    client = sign_in(lodgings.operator)
    url = f"/penginapan/{lodgings.hotel.id}/tamu/baru"
    values = FormValues(client.post(url, data={"action": "mrz-0", "guests-0-mrz": john_mrz(clock)}).text).values
    values.update(stay_fields(clock, 0))
    values["guests-0-photo"] = (io.BytesIO(passport_photo()), "paspor.jpg")
    saved = client.post(url, data={**values, "action": "save"}, content_type="multipart/form-data")
    assert saved.status_code == 303, saved.text
    stay = db_session.scalar(select(Stay).where(Stay.organisation_id == lodgings.hotel.id))
    assert db_session.get(StayDocument, stay.id) is not None


def test_a_refused_photo_is_explained_beside_its_field_and_nothing_is_stored(lodgings, sign_in, clock, db_session,
                                                                             english):
    client = sign_in(lodgings.operator)
    url = f"/penginapan/{lodgings.hotel.id}/tamu/baru"
    values = FormValues(client.post(url, data={"action": "mrz-0", "guests-0-mrz": john_mrz(clock)}).text).values
    values.update(stay_fields(clock, 0))
    values["guests-0-photo"] = (io.BytesIO(b"%PDF-1.4 not a photo"), "paspor.pdf")
    page = client.post(url, data={**values, "action": "save"}, content_type="multipart/form-data")
    assert page.status_code == 400 and 'id="guests-0-photo-error"' in page.text
    assert db_session.scalars(select(Stay)).all() == []


def test_the_photo_page_serves_members_and_officers_with_a_reason_only(lodgings, stay, sign_in, clock, db_session):
    member = sign_in(lodgings.operator)
    assert member.get(photo_url(stay)).status_code == 404  # nothing attached yet
    upload = member.post(f"/penginapan/tamu/{stay.id}/foto", content_type="multipart/form-data",
                         data={"photo": (io.BytesIO(passport_photo()), "paspor.jpg")})
    assert upload.status_code == 303
    answer = member.get(photo_url(stay))
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
    assert "no-store" in answer.headers["Cache-Control"] and SECRET_MAKE.encode() not in answer.data
    officer = sign_in(lodgings.staff["officer"])
    assert officer.get(photo_url(stay)).status_code == 400
    seen = officer.post(photo_url(stay), data={"reason": REASON})
    assert seen.status_code == 200 and seen.data.startswith(b"\xff\xd8")
    assert "no-store" in seen.headers["Cache-Control"]
    assert [entry.detail for entry in audit(db_session, "guest.document_view")] == [{"reason": REASON}]
    for outsider in (lodgings.other_operator, lodgings.staff["foreign_officer"], lodgings.staff["resident"]):
        client = sign_in(outsider)
        assert client.get(photo_url(stay)).status_code == 404
        assert client.post(photo_url(stay), data={"reason": REASON}).status_code == 404


def test_a_later_upload_of_something_else_is_refused_on_the_stay_page(lodgings, stay, sign_in, english):
    page = sign_in(lodgings.operator).post(f"/penginapan/tamu/{stay.id}/foto", content_type="multipart/form-data",
                                           data={"photo": (io.BytesIO(b"GIF89a nonsense"), "x.gif")})
    assert page.status_code == 400 and 'id="photo-error"' in page.text


def test_a_stay_page_links_to_the_photo_once_attached(lodgings, stay, sign_in, clock):
    client = sign_in(lodgings.operator)
    assert 'id="passport-photo-link"' not in client.get(f"/penginapan/tamu/{stay.id}").text
    attach_document(stay, lodgings.operator, clean_document(passport_photo((300, 200))), clock.now)
    assert 'id="passport-photo-link"' in client.get(f"/penginapan/tamu/{stay.id}").text
