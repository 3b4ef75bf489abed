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

from apoa.audit.services import record
from apoa.core.sealed import Sealed, rotate_column
from apoa.guests.models import GuestUpload, Stay, StayChange, StayDocument
from apoa.reports.contact import _fernet

log = logging.getLogger("apoa.guests")


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
    counts = {sealed.name: rotate_column(fernet, sealed, batch_size) for sealed in SEALED}
    record("guest.rotate", None, counts, actor=actor)
    log.info("guest data re-encrypted with the current key: %s", counts)
    return counts
