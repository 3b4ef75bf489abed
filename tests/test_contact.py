"""Reporters' contact details: encrypted at rest with rotatable keys, revealed only with a reason,
and every reveal audited without the values themselves."""
import base64
import json
import logging

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.errors import UserValueError
from apoa.reports.contact import (Contact, ContactKeyError, encrypt_contact, reveal_contact,
                                  rotate_contacts)

BUDI = Contact(name="Budi Santoso", phone="+62 812 3456 7890", email="budi@example.com")
REASON = "Pelapor perlu dihubungi untuk menunjukkan lokasi."
OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def use_keys(app, harness, monkeypatch):
    """`use_keys(first, *older)` sets CONTACT_KEYS on both apps (test code runs in the harness's)."""
    def use(*keys):
        for flask_app in (app, harness):
            monkeypatch.setitem(flask_app.config, "CONTACT_KEYS", list(keys))
    use(NEW_KEY)
    return use


@pytest.fixture
def supervisor(make):
    return make.user(role="supervisor")


def audit_entries_for(session, report):
    query = select(AuditEntry).where(AuditEntry.object == f"report:{report.id}").order_by(AuditEntry.seq)
    return session.scalars(query).all()


def test_a_contact_round_trips(make, supervisor, use_keys):
    report = make.report(contact=encrypt_contact(BUDI))
    assert reveal_contact(report, supervisor, REASON) == BUDI


def test_the_ciphertext_holds_no_plaintext(use_keys):
    token = encrypt_contact(BUDI)
    opened = base64.urlsafe_b64decode(token)
    for value in (BUDI.name, BUDI.phone, BUDI.email, "Budi", "3456"):
        assert value.encode() not in token and value.encode() not in opened


def test_a_contact_never_shows_its_values_in_a_repr():
    assert "Budi" not in repr(BUDI) and "Budi" not in str(BUDI) and "Budi" not in f"{[BUDI]}"


def test_nothing_is_stored_for_an_empty_contact(use_keys):
    assert encrypt_contact(None) is None
    assert encrypt_contact(Contact()) is None


def test_an_old_keys_contact_is_revealed_after_a_new_key_is_put_first(make, supervisor, use_keys):
    use_keys(OLD_KEY)
    report = make.report(contact=encrypt_contact(BUDI))
    use_keys(NEW_KEY, OLD_KEY)
    assert reveal_contact(report, supervisor, REASON) == BUDI


def test_rotation_re_encrypts_so_the_old_key_can_be_dropped(db_session, make, supervisor, use_keys):
    use_keys(OLD_KEY)
    reports = [make.report(contact=encrypt_contact(BUDI)) for _ in range(3)]
    without_contact = make.report()
    old_tokens = [report.contact for report in reports]
    use_keys(NEW_KEY, OLD_KEY)
    assert rotate_contacts(batch_size=2) == 3
    use_keys(NEW_KEY)
    for report, old_token in zip(reports, old_tokens):
        assert report.contact != old_token
        assert reveal_contact(report, supervisor, REASON) == BUDI
    assert without_contact.contact is None
    rotations = select(AuditEntry).where(AuditEntry.action == "contact.rotate")
    rotation = db_session.scalars(rotations.order_by(AuditEntry.seq.desc())).first()
    assert rotation.detail == {"reports": 3}


def test_rotation_with_a_key_that_opens_nothing_fails_clearly(make, use_keys):
    use_keys(OLD_KEY)
    make.report(contact=encrypt_contact(BUDI))
    use_keys(NEW_KEY)
    with pytest.raises(ContactKeyError):
        rotate_contacts()


def test_a_reveal_writes_one_audit_entry_with_the_reason_and_never_the_values(
        db_session, make, supervisor, use_keys, caplog):
    report = make.report(contact=encrypt_contact(BUDI))
    with caplog.at_level(logging.INFO, logger="apoa"):
        reveal_contact(report, supervisor, f"  {REASON}  ")
    [entry] = audit_entries_for(db_session, report)
    assert (entry.action, entry.actor_id, entry.detail) == ("contact.reveal", supervisor.id, {"reason": REASON})
    written = json.dumps([entry.action, entry.object, entry.detail], ensure_ascii=False) + caplog.text
    for value in (BUDI.name, BUDI.phone, BUDI.email, "Budi"):
        assert value not in written


@pytest.mark.parametrize("reason", [None, "", "   ", "because", "  sebentar  "])
def test_a_reveal_without_a_real_reason_is_refused_and_nothing_is_audited(
        db_session, make, supervisor, use_keys, english, reason):
    report = make.report(contact=encrypt_contact(BUDI))
    with pytest.raises(UserValueError, match="at least 10 characters"):
        reveal_contact(report, supervisor, reason)
    assert audit_entries_for(db_session, report) == []


def test_a_report_without_contact_reveals_nothing_and_audits_nothing(db_session, make, supervisor,
                                                                     use_keys):
    report = make.report()
    assert reveal_contact(report, supervisor, REASON) is None
    assert audit_entries_for(db_session, report) == []


def test_decrypting_with_the_wrong_keys_raises_a_clear_error(db_session, make, supervisor, use_keys, english):
    use_keys(OLD_KEY)
    report = make.report(contact=encrypt_contact(BUDI))
    use_keys(NEW_KEY)
    with pytest.raises(ContactKeyError, match="cannot be decrypted with the configured keys"):
        reveal_contact(report, supervisor, REASON)
    assert audit_entries_for(db_session, report) == []


@pytest.mark.parametrize("keys", [[], ["not-a-fernet-key"]])
def test_missing_or_malformed_keys_are_named(use_keys, english, keys):
    use_keys(*keys)
    with pytest.raises(ContactKeyError, match="APOA_CONTACT_KEYS"):
        encrypt_contact(BUDI)

