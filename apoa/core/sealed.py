"""Re-encrypting columns sealed with the contact keys (APOA_CONTACT_KEYS) under the newest key,
so an old key can be dropped: foreign guests' data (apoa/guests/rotation.py), and the other
sealed columns named in `OTHER_SEALED` (complaints' contacts, data-subject requests).

Batches keep memory flat (photos and whole files are large: their batches are smaller). Each row
is replaced only if it still holds the token that was read, so a row changed or deleted meanwhile
(a correction, retention) is never brought back.
"""
import logging
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.util import identity_key

from apoa.extensions import db
from apoa.reports.contact import ContactKeyError

log = logging.getLogger("apoa.keys")
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


def rotate_column(fernet, sealed, batch_size):
    """Re-encrypt one sealed column with `fernet`'s first key; return how many rows. Flushes,
    never commits. ContactKeyError if a token opens with none of the keys."""
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


def other_sealed():
    """The sealed columns outside reports' contacts, TOTP secrets and guests' data."""
    from apoa.feedback.models import ServiceCase
    from apoa.privacy.models import SubjectRequest

    return (
        Sealed("case_contacts", ServiceCase, "id", "contact"),
        Sealed("request_details", SubjectRequest, "id", "details"),
        Sealed("request_exports", SubjectRequest, "id", "export_data", large=True),
    )


def rotate_other_sealed(batch_size=500, actor=None):
    """Re-encrypt `other_sealed()` with the first contact key; return {name: count}. Flushes,
    never commits; one audit entry with the counts."""
    from apoa.audit.services import record
    from apoa.reports.contact import _fernet

    fernet = _fernet()
    counts = {sealed.name: rotate_column(fernet, sealed, batch_size) for sealed in other_sealed()}
    record("sealed.rotate", None, counts, actor=actor)
    log.info("other sealed data re-encrypted with the current key: %s", counts)
    return counts
