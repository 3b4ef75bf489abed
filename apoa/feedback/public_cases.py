"""Complaints and questions residents send from the web page /keluhan and the public API
(POST /api/v1/complaints): where a case goes, the reference and secret it is read back with, and
reading it back.

Where a case goes: a report's tracking code wins (the complaint is about how that report is
handled, so the office holding the report now answers it); otherwise the kabupaten/kota chosen,
through the offices' jurisdiction (office_region), as a report's location is routed. Only the
regencies and cities some office holds can be chosen.

Reference and secret: the reference is random (10 symbols, 50 bits); the secret (12 symbols, 60
bits) is derived from the submission key with the app's secret key (HMAC), so a retry of the same
submission is shown the same secret again, while only the secret's sha256 and the key's are
stored. A reference is worth nothing without its secret, and a pair that finds nothing counts
against the tracking codes' miss budget (apoa/reports/abuse.py), so neither can be enumerated.
"""
import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from apoa.errors import Conflict
from apoa.extensions import db
from apoa.feedback.models import ServiceCase
from apoa.feedback.services import open_case
from apoa.regions.models import Office, Region, RegionLevel, office_region
from apoa.reports.abuse import Budget, address_key, requester_key
from apoa.reports.tracking import ALPHABET, CONFUSABLE

log = logging.getLogger("apoa.feedback")

REFERENCE_LENGTH = 10
SECRET_LENGTH = 12
SYMBOL_BITS = 5
SECRET_SALT = b"apoa-case-secret\x00"

# A resident complains rarely; these are the report form's budgets, smaller.
COMPLAINTS_PER_REQUESTER = Budget("complaints", "5 per hour;20 per day", requester_key)
COMPLAINTS_PER_ADDRESS = Budget("complaints-address", "60 per hour;500 per day", address_key)
COMPLAINT_BUDGETS = (COMPLAINTS_PER_REQUESTER, COMPLAINTS_PER_ADDRESS)


class SubmissionKeyReused(Conflict):
    """The submission key already made a case from another request."""

    status = 422


# --- where a case goes ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RegionChoice:
    kode: str
    label: str          # "Kabupaten Karawang — Jawa Barat"
    office_id: int


def regions_with_office():
    """The regencies and cities some office holds, by name: what a resident may choose."""
    province = aliased(Region)
    query = (select(Region.kode, Region.nama, province.nama, office_region.c.office_id)
             .join(office_region, office_region.c.region_id == Region.id)
             .outerjoin(province, province.kode == Region.parent_kode)
             .where(Region.level == RegionLevel.kabupaten_kota.value)
             .order_by(Region.nama, Region.kode))
    return [RegionChoice(kode, f"{name} — {province_name}" if province_name else name, office_id)
            for kode, name, province_name, office_id in db.session.execute(query)]


def office_for_region(kode):
    """The id of the office holding the regency or city `kode` (or the kecamatan's), or None."""
    kabupaten = kabupaten_kode(kode)
    return db.session.scalar(
        select(Office.id).join(office_region, office_region.c.office_id == Office.id)
        .join(Region, Region.id == office_region.c.region_id)
        .where(Region.kode == kabupaten, Region.level == RegionLevel.kabupaten_kota.value))


def kabupaten_kode(kode):
    """"32.15.01" (a kecamatan) → "32.15"; a regency's or city's code as it is."""
    return ".".join((kode or "").strip().split(".")[:2])


# --- reference and secret ------------------------------------------------------------------------

def new_reference():
    return "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))


def secret_for(submission_key):
    """The secret of the case made with `submission_key` (a UUID): the same key, the same secret."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, SECRET_SALT + uuid.UUID(str(submission_key)).bytes,
                      hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big") >> (64 - SECRET_LENGTH * SYMBOL_BITS)
    return "".join(ALPHABET[(number >> (SYMBOL_BITS * i)) & 31]
                   for i in reversed(range(SECRET_LENGTH)))


def normalised(typed, length):
    """A typed reference or secret in its stored form (no spaces or dashes, upper case, read-alike
    letters as the digits meant), or None when it cannot be one."""
    text = "".join((typed or "").split()).replace("-", "").upper().translate(CONFUSABLE)
    if len(text) != length or any(symbol not in ALPHABET for symbol in text):
        return None
    return text


def show_reference(reference):
    return f"{reference[:5]}-{reference[5:]}"


def show_secret(secret):
    return "-".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _sha256(value):
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).digest()


def _submission_hash(submission_key):
    return _sha256(uuid.UUID(str(submission_key)).bytes)


# --- opening -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Opened:
    """A case opened (or found again for the same submission) and the secret to read it with."""

    case: ServiceCase
    secret: str
    again: bool = False

    @property
    def shown_reference(self):
        return show_reference(self.case.reference)

    @property
    def shown_secret(self):
        return show_secret(self.secret)


@dataclass(frozen=True)
class PublicCase:
    """What a resident sends: validated already (apoa/feedback/public_forms.py)."""

    office_id: int
    kind: str
    text: str
    channel: str
    submission_key: str
    email: str | None = None
    report_id: int | None = None
    locale: str | None = None
    digest: str | None = None


def open_public_case(new):
    """Open the case `new` (a PublicCase) with a reference and a secret; returns Opened. Flushes,
    never commits. The same submission key again answers with its case (again=True); with
    another digest it is refused (SubmissionKeyReused)."""
    earlier = case_of_submission(new.submission_key)
    if earlier is not None:
        return opened_again(earlier, new.submission_key, new.digest)
    try:
        with db.session.begin_nested():
            service_case = open_case(new.office_id, new.kind, new.text, new.channel,
                                     email=new.email, report_id=new.report_id)
            secret = secret_for(new.submission_key)
            service_case.reference, service_case.secret_hash = new_reference(), _sha256(secret)
            service_case.submission_hash = _submission_hash(new.submission_key)
            service_case.submission_digest, service_case.locale = new.digest, new.locale
            db.session.flush()
    except IntegrityError:
        # The same key at the same moment (or, once in 2^50, a reference taken): the other won.
        earlier = case_of_submission(new.submission_key)
        if earlier is None:
            raise
        return opened_again(earlier, new.submission_key, new.digest)
    return Opened(service_case, secret)


def case_of_submission(submission_key):
    if not submission_key:
        return None
    try:
        wanted = _submission_hash(submission_key)
    except ValueError:
        return None
    return db.session.scalar(select(ServiceCase).where(ServiceCase.submission_hash == wanted))


def opened_again(earlier, submission_key, digest=None):
    """`earlier`, the case `submission_key` made, as Opened again with its secret; refused when
    `digest` (of the request sent again) is not the first request's."""
    if digest is not None and earlier.submission_digest not in (None, digest):
        raise SubmissionKeyReused(_("This key was already used for a different complaint. Use a "
                                    "new key for a new complaint."))
    secret = secret_for(submission_key)
    if not hmac.compare_digest(_sha256(secret), earlier.secret_hash or b""):
        # The app's secret key changed since: the secret cannot be shown again.
        raise Conflict(_("This complaint was already received; its secret code cannot be shown "
                         "again."))
    log.info("case %s answered again for the same submission", earlier.id)
    return Opened(earlier, secret, again=True)


# --- reading back --------------------------------------------------------------------------------

def find_public_case(reference, secret):
    """The case with this reference whose secret this is, else None (an unknown reference and a
    wrong secret look the same)."""
    reference = normalised(reference, REFERENCE_LENGTH)
    secret = normalised(secret, SECRET_LENGTH)
    if reference is None or secret is None:
        return None
    found = db.session.scalar(select(ServiceCase).where(ServiceCase.reference == reference))
    if found is None or not hmac.compare_digest(found.secret_hash, _sha256(secret)):
        return None
    return found
