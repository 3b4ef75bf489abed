"""A reporter's contact details: encrypted at rest, readable only through an audited reveal.

Keys come from configuration (`CONTACT_KEYS`, a list of Fernet keys, from APOA_CONTACT_KEYS). The
first key encrypts; every key listed decrypts. To rotate: put a new key first on every app server
(keeping the old ones), run `rotate_contacts()` and commit, then drop the old keys.
"""
import json
import logging
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.util import identity_key

from apoa.audit.services import record
from apoa.errors import ApoaError, UserValueError
from apoa.extensions import db
from apoa.reports.models import Report

log = logging.getLogger("apoa.reports")
MIN_REASON_LENGTH = 10
FORMAT_VERSION = 1


class ContactKeyError(ApoaError):
    """The configured keys are missing or malformed, or none of them opens a stored contact."""

    default_message = _l("The contact details cannot be decrypted with the configured keys.")


@dataclass(frozen=True, repr=False)
class Contact:
    """How to reach a reporter. Its repr hides the values, so it never lands in a log or a trace."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None

    def is_empty(self):
        return not (self.name or self.phone or self.email)

    def __repr__(self):
        return "Contact(<hidden>)"


def encrypt_contact(contact):
    """The ciphertext to store in `report.contact`, or None when there is nothing to store."""
    if contact is None or contact.is_empty():
        return None
    plain = {"v": FORMAT_VERSION, "name": contact.name, "phone": contact.phone,
             "email": contact.email}
    return _fernet().encrypt(json.dumps(plain, ensure_ascii=False).encode("utf-8"))


def reveal_contact(report, actor, reason):
    """Decrypt a report's contact for `actor`; write a "contact.reveal" audit entry with the reason.

    Callers must first check `can(actor, "reveal_contact", report)` (apoa/auth/permissions.py);
    this function checks the reason, not the permission. Returns None when the report has no
    contact (nothing personal is read, so nothing is audited). The audit entry holds the reason
    only, never the contact values.
    """
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise UserValueError(_("Give a reason of at least %(n)d characters for revealing the "
                               "contact details.", n=MIN_REASON_LENGTH))
    if report.contact is None:
        return None
    contact = _decrypt(report.contact, report.id)
    record("contact.reveal", f"report:{report.id}", {"reason": reason}, actor=actor)
    log.info("contact of report %s revealed to user %s", report.id, getattr(actor, "id", None))
    return contact


def _decrypt(token, report_id):
    try:
        plain = json.loads(_fernet().decrypt(token))
    except InvalidToken:
        log.error("no configured contact key opens the contact of report %s", report_id)
        raise ContactKeyError() from None
    return Contact(name=plain["name"], phone=plain["phone"], email=plain["email"])


def rotate_contacts(batch_size=500, actor=None):
    """Re-encrypt every stored contact with the first key; return how many. Flushes, never commits.

    Batches keep memory flat. Each row is only replaced if it still holds the ciphertext that was
    read, so a contact removed or changed meanwhile (retention, an edit) is never brought back.
    `updated_at` is kept: a new key is not a change to the report. One "contact.rotate" audit
    entry records the count.
    """
    fernet, count, after = _fernet(), 0, 0
    while batch := _contact_batch(after, batch_size):
        count += _rotate_batch(fernet, batch)
        after = batch[-1].id
    record("contact.rotate", None, {"reports": count}, actor=actor)
    log.info("contact details of %s reports re-encrypted with the current key", count)
    return count


def _contact_batch(after, batch_size):
    query = (select(Report.id, Report.contact).where(Report.contact.is_not(None), Report.id > after)
             .order_by(Report.id).limit(batch_size))
    return db.session.execute(query).all()


# A Core UPDATE rather than the ORM: it keeps `updated_at` (the ORM's onupdate would bump it) and
# replaces a contact only if it still holds the ciphertext read (compare and swap).
REPORT_TABLE = Report.__table__
_REPLACE_CONTACT = (
    update(REPORT_TABLE)
    .where(REPORT_TABLE.c.id == bindparam("report_id"), REPORT_TABLE.c.contact == bindparam("old"))
    .values(contact=bindparam("new"), updated_at=REPORT_TABLE.c.updated_at)
)


def _rotate_batch(fernet, batch):
    rows = [{"report_id": row.id, "old": row.contact, "new": _rotate_one(fernet, row)}
            for row in batch]
    # psycopg2 sums the rows of every statement of an executemany into rowcount.
    replaced = db.session.execute(_REPLACE_CONTACT, rows).rowcount
    _forget_loaded_contacts(row.id for row in batch)
    return replaced


def _rotate_one(fernet, row):
    try:
        return fernet.rotate(row.contact)
    except InvalidToken:
        log.error("no configured contact key opens the contact of report %s", row.id)
        raise ContactKeyError() from None


def _forget_loaded_contacts(report_ids):
    # The UPDATE bypasses the session; reports it already holds would keep the old ciphertext.
    for report_id in report_ids:
        report = db.session.identity_map.get(identity_key(Report, report_id))
        if report is not None:
            db.session.expire(report, ["contact"])


def _fernet():
    keys = current_app.config.get("CONTACT_KEYS") or ()
    if isinstance(keys, str):
        keys = [key for key in keys.split(",") if key.strip()]
    try:
        return MultiFernet([Fernet(key.strip() if isinstance(key, str) else key) for key in keys])
    except ValueError:
        # Raised for an empty list and for a key that is not 32 url-safe base64 bytes alike.
        raise ContactKeyError(_("The contact keys are missing or malformed: set APOA_CONTACT_KEYS "
                                "to one or more Fernet keys.")) from None
