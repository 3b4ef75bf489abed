"""`flask keys rotate` also re-encrypts what complaints and data-subject requests keep sealed: a
complaint's answer address and a request's text (apoa/core/sealed.py)."""
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.core.sealed import rotate_other_sealed
from apoa.feedback.services import open_case
from apoa.privacy.request_secrets import decrypt_details
from apoa.privacy.requests import request_by_account
from apoa.reports.contact import _decrypt
from tests.test_contact import NEW_KEY, OLD_KEY, use_keys  # noqa: F401  (the fixture)


def test_complaints_and_requests_are_re_encrypted_so_the_old_key_can_be_dropped(db_session, make, use_keys):  # noqa: F811
    use_keys(OLD_KEY)
    office = make.office()
    case = open_case(office.id, "complaint", "Lama sekali dilayani", "web", email="warga@example.org")
    request = request_by_account(make.user(role="resident"), "access", "Saya ingin melihat data saya")
    old_case_token, old_request_token = case.contact, request.details
    use_keys(NEW_KEY, OLD_KEY)

    counts = rotate_other_sealed(batch_size=1)

    use_keys(NEW_KEY)
    assert counts["case_contacts"] >= 1 and counts["request_details"] >= 1
    assert case.contact != old_case_token and request.details != old_request_token
    assert _decrypt(case.contact, case.id).email == "warga@example.org"
    assert decrypt_details(request)["text"] == "Saya ingin melihat data saya"
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "sealed.rotate")
                               .order_by(AuditEntry.seq.desc())).first()
    assert entry.detail == counts and "warga" not in str(entry.detail)
