"""Key rotation for foreign guests' encrypted data: every column sealed with the contact keys
(apoa/guests/passports.py) re-encrypted under the newest key, like reporters' contacts
(`apoa.reports.contact.rotate_contacts`), so an old key can then be dropped.

Sealed columns: `stay.personal` (names, birth date, passport and permit numbers),
`stay_change.sealed` (old and new values of corrected personal fields), `stay_document.sealed`
(passport page photos) and `guest_upload.sealed` (the rows of a bulk file, until done).

Batches keep memory flat (photos and files are large: their batches are smaller). Each row is
replaced only if it still holds the token that was read, so a row changed or deleted meanwhile
(a correction, retention) is never brought back. One audit entry records the counts; the log
holds counts only.
"""
import logging
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.util import identity_key

from apoa.audit.services import record
from apoa.extensions import db
from apoa.guests.models import GuestUpload, Stay, StayChange, StayDocument
from apoa.reports.contact import ContactKeyError, _fernet

log = logging.getLogger("apoa.guests")
LARGE_BATCH = 50        # rows of photos or whole files at once


@dataclass(frozen=True)
class Sealed:
    """One encrypted column: its model, key column and sealed column, and the count's name."""

    name: str
    model: type
    key: str
    column: str
    large: bool = False

    @property
    def table(self):
        return self.model.__table__


SEALED = (
    Sealed("stays", Stay, "id", "personal"),
    Sealed("stay_changes", StayChange, "id", "sealed"),
    Sealed("stay_documents", StayDocument, "stay_id", "sealed", large=True),
    Sealed("uploads", GuestUpload, "id", "sealed", large=True),
)


def rotate_guest_data(batch_size=500, actor=None):
    """Re-encrypt every sealed guest column with the first contact key; return {name: count}.
    Flushes, never commits. ContactKeyError if a token opens with none of the keys."""
    fernet = _fernet()
    counts = {sealed.name: _rotate_column(fernet, sealed, batch_size) for sealed in SEALED}
    record("guest.rotate", None, counts, actor=actor)
    log.info("guest data re-encrypted with the current key: %s", counts)
    return counts


def _rotate_column(fernet, sealed, batch_size):
    size = min(batch_size, LARGE_BATCH) if sealed.large else batch_size
    key, column = sealed.table.c[sealed.key], sealed.table.c[sealed.column]
    swap = (update(sealed.table)
            .where(key == bindparam("row_key"), column == bindparam("old"))
            .values({sealed.column: bindparam("new")}))
    count, after = 0, None
    while batch := _batch(key, column, after, size):
        rows = [{"row_key": k, "old": token, "new": _rotate_one(fernet, sealed, k, token)}
                for k, token in batch]
        # psycopg2 sums the rows of every statement of an executemany into rowcount.
        count += db.session.execute(swap, rows).rowcount
        _forget_loaded(sealed, [k for k, _token in batch])
        after = batch[-1][0]
    return count


def _batch(key, column, after, size):
    query = select(key, column).where(column.is_not(None)).order_by(key).limit(size)
    if after is not None:
        query = query.where(key > after)
    return db.session.execute(query).all()


def _rotate_one(fernet, sealed, key, token):
    try:
        return fernet.rotate(bytes(token))
    except InvalidToken:
        log.error("no configured contact key opens %s %s", sealed.name, key)
        raise ContactKeyError() from None


def _forget_loaded(sealed, keys):
    # The UPDATE bypasses the session; rows it already holds would keep the old token.
    for key in keys:
        instance = db.session.identity_map.get(identity_key(sealed.model, key))
        if instance is not None:
            db.session.expire(instance, [sealed.column])
