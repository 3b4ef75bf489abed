"""A photo of a guest's passport data page, attached to the stay: cleaned like report photos, then
kept only encrypted.

The upload goes through apoa/reports/photos.py sanitize_image (content-sniffed, pixel-capped,
re-encoded into a fresh JPEG: no EXIF, GPS, XMP or comment survives), and the JPEG is stored as a
Fernet token under the contact keys (APOA_CONTACT_KEYS, as the guest's personal fields in
apoa/guests/passports.py), never as a file: the page holds everything the personal fields hold,
and a photo on disk would escape their encryption and their deletion with the stay.

Who sees it: the organisation's members (they took it), and the officers of the organisation's
office through Permission.reveal_guest, each with a reason and audited, as for reveal().
"""
import logging

from cryptography.fernet import InvalidToken
from flask_babel import gettext as _

from apoa.audit.services import record
from apoa.auth.permissions import Permission, can_for_stay
from apoa.errors import NotAllowed
from apoa.extensions import db
from apoa.guests.models import StayDocument
from apoa.guests.services import MIN_REASON_LENGTH, required_reason
from apoa.reports.contact import ContactKeyError, _fernet
from apoa.reports.photos import MEGABYTE, sanitize_image

log = logging.getLogger("apoa.guests")
MAX_DOCUMENT_BYTES = 10 * MEGABYTE
# A data page is read, not admired: this keeps the MRZ legible and the token small.
MAX_DOCUMENT_SIDE = 2000
DOCUMENT_MIME = "image/jpeg"


def clean_document(raw):
    """The upload as a clean JPEG (CleanImage); raises PhotoError with a translated message."""
    return sanitize_image(raw, max_bytes=MAX_DOCUMENT_BYTES, max_side=MAX_DOCUMENT_SIDE)


def attach_document(stay, actor, image, now):
    """Keep `image` (a CleanImage from clean_document) as the stay's passport page, encrypted,
    replacing an earlier one. Members of the stay's organisation only. Audited."""
    if not can_for_stay(actor, Permission.report_guests, stay):
        raise NotAllowed()
    document = db.session.get(StayDocument, stay.id)
    if document is None:
        document = StayDocument(stay_id=stay.id)
        db.session.add(document)
    document.sealed = _fernet().encrypt(image.data)
    document.width, document.height = image.width, image.height
    document.added_by_id, document.added_at = actor.id, now
    db.session.flush()
    record("guest.document_attach", f"stay:{stay.id}", None, actor=actor)
    log.info("passport page attached to stay %s by user %s", stay.id, actor.id)
    return document


def has_document(stay):
    return db.session.get(StayDocument, stay.id) is not None


def may_see_document(user, stay):
    """Whether `user` may see the stay's passport page at all (an officer still gives a reason)."""
    return (can_for_stay(user, Permission.report_guests, stay)
            or can_for_stay(user, Permission.reveal_guest, stay))


def open_document(stay, user, reason=None):
    """The stay's passport page as JPEG bytes, or None when none is attached. Members read it
    freely; an officer of the office gives a reason, and the read is audited."""
    if can_for_stay(user, Permission.report_guests, stay):
        return _decrypted(stay)
    if not can_for_stay(user, Permission.reveal_guest, stay):
        raise NotAllowed()
    reason = required_reason(reason, _reason_message())
    data = _decrypted(stay)
    if data is not None:
        record("guest.document_view", f"stay:{stay.id}", {"reason": reason}, actor=user)
        log.info("passport page of stay %s seen by user %s", stay.id, user.id)
    return data


def _reason_message():
    return _("Give a reason of at least %(n)d characters for seeing the passport page.",
             n=MIN_REASON_LENGTH)


def _decrypted(stay):
    document = db.session.get(StayDocument, stay.id)
    if document is None:
        return None
    try:
        return _fernet().decrypt(document.sealed)
    except InvalidToken:
        log.error("no configured contact key opens the passport page of stay %s", stay.id)
        raise ContactKeyError() from None
