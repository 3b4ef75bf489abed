"""Key rotation reaches foreign guests' encrypted data: stays' personal data, the sealed values of their
corrections, passport page photos and bulk uploads are re-encrypted under the newest key, so the old key
can be dropped; a key that opens nothing fails clearly; one audit entry holds the counts."""
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.guests.models import GuestUpload, StayDocument
from apoa.guests.passports import decrypt_personal, unseal
from apoa.guests.queries import reveal
from apoa.guests.rotation import rotate_guest_data
from apoa.guests.services import check_in, correct
from apoa.reports.contact import ContactKeyError, _fernet
from tests.guests.test_stays import ANNA, JOHN, guest, lodgings  # noqa: F401 (the fixture)

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
PHOTO = b"\xff\xd8 a passport page \xff\xd9"
ROWS = b'[{"surname": "SMITH"}]'


@pytest.fixture
def use_keys(app, harness, monkeypatch):
    """`use_keys(first, *older)` sets CONTACT_KEYS on both apps (test code runs in the harness's)."""
    def use(*keys):
        for flask_app in (app, harness):
            monkeypatch.setitem(flask_app.config, "CONTACT_KEYS", list(keys))
    use(NEW_KEY)
    return use


@pytest.fixture
def sealed_under_old_key(lodgings, clock, use_keys, db_session):  # noqa: F811
    """Two stays (one corrected: a sealed change), a photo and an upload, all under OLD_KEY."""
    use_keys(OLD_KEY)
    anna, john = check_in(lodgings.hotel, lodgings.operator, [guest(clock), guest(clock, JOHN)], clock.now)
    correct(john, lodgings.operator, {"surname": "Smythe"}, "Ejaan nama salah ketik.", clock.now)
    document = StayDocument(stay_id=anna.id, sealed=_fernet().encrypt(PHOTO), width=10, height=10,
                            added_at=clock.now)
    upload = GuestUpload(organisation_id=lodgings.hotel.id, created_at=clock.now, filename="tamu.csv",
                         file_sha256="0" * 64, file_format="csv", sealed=_fernet().encrypt(ROWS), state="checked")
    db_session.add_all([document, upload])
    db_session.flush()
    return anna, john, document, upload


def tokens(anna, john, document, upload):
    return [bytes(anna.personal), bytes(john.personal), bytes(john.changes[0].sealed), bytes(document.sealed),
            bytes(upload.sealed)]


def test_rotation_re_encrypts_every_sealed_guest_column_so_the_old_key_can_be_dropped(
        sealed_under_old_key, lodgings, use_keys, db_session):  # noqa: F811
    anna, john, document, upload = sealed_under_old_key
    before = tokens(*sealed_under_old_key)
    use_keys(NEW_KEY, OLD_KEY)
    assert rotate_guest_data(batch_size=1) == {"stays": 2, "stay_changes": 1, "stay_documents": 1, "uploads": 1}
    use_keys(NEW_KEY)
    after = tokens(*sealed_under_old_key)
    assert all(new != old for new, old in zip(after, before))
    new_key = Fernet(NEW_KEY)
    assert decrypt_personal(anna.personal, "test").surname == "MUELLER"
    assert reveal(john, lodgings.operator).surname == "SMYTHE"
    assert unseal(john.changes[0].sealed, "test") == {"v": 1, "old": "SMITH", "new": "SMYTHE"}
    assert new_key.decrypt(bytes(document.sealed)) == PHOTO and new_key.decrypt(bytes(upload.sealed)) == ROWS
    [entry] = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "guest.rotate")).all()
    assert entry.detail == {"stays": 2, "stay_changes": 1, "stay_documents": 1, "uploads": 1}


def test_rows_without_sealed_data_are_left_alone(sealed_under_old_key, use_keys, db_session):
    *_, upload = sealed_under_old_key
    upload.sealed = None
    db_session.flush()
    use_keys(NEW_KEY, OLD_KEY)
    assert rotate_guest_data()["uploads"] == 0
    assert upload.sealed is None


def test_rotation_with_a_key_that_opens_nothing_fails_clearly(sealed_under_old_key, use_keys):
    use_keys(NEW_KEY)
    with pytest.raises(ContactKeyError):
        rotate_guest_data()
