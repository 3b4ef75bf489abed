"""The second factor of staff: time-based codes (RFC 6238) from an authenticator app, and one-time
recovery codes for when the phone is lost. Services flush, never commit.

The TOTP secret is stored Fernet-encrypted. Its keys are derived (HKDF-SHA256, a purpose label of
its own) from the configured CONTACT_KEYS, so there is one list of keys to keep and rotate, yet a
contact ciphertext and a TOTP ciphertext are never readable as each other. As with contacts, the
first key encrypts and every key decrypts: after putting a new key first, run
`rotate_totp_secrets()` before dropping the old one, or staff would have to enrol again.

A code is accepted for its own 30-second step and one step either side (clock drift), and only
when its step is later than the last one accepted: a code seen over a shoulder or replayed from a
log is refused. Claiming the step is one conditional UPDATE, so two requests racing with the same
code cannot both win.
"""
import base64
import hashlib
import hmac
import io
import logging
import secrets
from datetime import datetime, timezone

import pyotp
import qrcode
import qrcode.image.svg
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, or_, select, update

from apoa.audit.services import record
from apoa.auth.models import RecoveryCode, User
from apoa.errors import ApoaError
from apoa.extensions import db

log = logging.getLogger("apoa.auth")

ISSUER = "APOA"
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# 16 characters from 31 unambiguous ones (no 0/o, 1/l/i): about 79 bits, shown in groups of four.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 16
_KEY_PURPOSE = b"apoa totp secret v1"


class TotpKeyError(ApoaError):
    """No configured key opens a stored TOTP secret (a key was dropped before rotating)."""

    default_message = _l("The sign-in codes cannot be checked with the configured keys.")


# --- secrets at rest ----------------------------------------------------------------------------

def _fernet():
    keys = current_app.config.get("CONTACT_KEYS") or ()
    if isinstance(keys, str):
        keys = [key for key in keys.split(",") if key.strip()]
    if not keys:
        raise TotpKeyError()
    return MultiFernet([Fernet(_derive(key)) for key in keys])


def _derive(key):
    raw = base64.urlsafe_b64decode(key.strip() if isinstance(key, str) else key)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_PURPOSE).derive(raw)
    return base64.urlsafe_b64encode(derived)


def encrypt_secret(secret):
    return _fernet().encrypt(secret.encode("ascii"))


def decrypt_secret(token):
    try:
        return _fernet().decrypt(bytes(token)).decode("ascii")
    except InvalidToken:
        log.error("no configured key opens a stored TOTP secret")
        raise TotpKeyError() from None


def rotate_totp_secrets():
    """Re-encrypt every stored TOTP secret with the first key; return how many. Flushes only."""
    fernet, count = _fernet(), 0
    for user in db.session.scalars(select(User).where(User.totp_secret.is_not(None))):
        try:
            user.totp_secret = fernet.rotate(bytes(user.totp_secret))
        except InvalidToken:
            log.error("no configured key opens the TOTP secret of user %s", user.id)
            raise TotpKeyError() from None
        count += 1
    db.session.flush()
    record("auth.totp_rotate", None, {"users": count})
    log.info("TOTP secrets of %s users re-encrypted with the current key", count)
    return count


# --- enrolment ----------------------------------------------------------------------------------

def pending_secret(user):
    """The secret being enrolled: made (and stored) on first asking, the same one until confirmed,
    so reloading the page never invalidates a QR code already scanned."""
    if user.totp_secret is None:
        user.totp_secret = encrypt_secret(pyotp.random_base32())
        db.session.flush()
    return decrypt_secret(user.totp_secret)


def provisioning_uri(user, secret):
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(data):
    """A QR code as inline SVG markup (no image request, no inline style)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return Markup(buffer.getvalue().decode())


def confirm_enrolment(user, code):
    """Turn the pending secret on if `code` matches it; return the new recovery codes, or None.

    The codes are returned once, to be shown once; only their hashes are kept. Audited as
    "auth.totp_enrol" (without the codes or the secret).
    """
    if user.totp_secret is None or user.totp_enrolled or not _claim_totp(user, code):
        return None
    user.totp_enabled_at = func.now()
    codes = replace_recovery_codes(user)
    db.session.flush()
    record("auth.totp_enrol", f"user:{user.id}", None, actor=user)
    log.info("user %s enrolled an authenticator app", user.id)
    return codes


def enrol_with_secret(user, secret):
    """Enrol `user` with a known secret, without a first code: for the demo seed and tests only."""
    user.totp_secret = encrypt_secret(secret)
    user.totp_enabled_at = func.now()
    user.totp_last_step = None
    db.session.flush()


def clear_totp(user):
    """Forget the secret, the last step and the recovery codes: the next sign-in enrols again."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    db.session.flush()


# --- checking a code ----------------------------------------------------------------------------

def check_second_factor(user, code):
    """"totp" or "recovery_code" when `code` is good for `user` (and now used up), else None."""
    code = (code or "").strip()
    if not user.totp_enrolled:
        return None
    digits = code.replace(" ", "")
    if digits.isascii() and digits.isdigit() and len(digits) == 6:
        return "totp" if _claim_totp(user, digits) else None
    if use_recovery_code(user, code):
        return "recovery_code"
    return None


def _claim_totp(user, code):
    code = (code or "").replace(" ", "")
    # ASCII only: isdigit() accepts "²", which compare_digest refuses to compare.
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(decrypt_secret(user.totp_secret))
    now_step = totp.timecode(_utcnow())
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return _claim_step(user, step)
    return False


def _claim_step(user, step):
    claimed = db.session.execute(
        update(User).where(User.id == user.id,
                           or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount
    db.session.expire(user, ["totp_last_step"])
    if not claimed:
        log.info("user %s sent a TOTP code that was already used", user.id)
    return claimed == 1


def _utcnow():
    return datetime.now(timezone.utc)


# --- recovery codes -----------------------------------------------------------------------------

def replace_recovery_codes(user):
    """Make RECOVERY_CODE_COUNT fresh codes for `user` (dropping any old ones); return them."""
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    db.session.flush()
    return codes


def _new_recovery_code():
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def _normalise(code):
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _hash(code):
    return hashlib.sha256(_normalise(code).encode("ascii", "ignore")).hexdigest()


def use_recovery_code(user, code):
    """Spend one recovery code: True once per code. Audited as "auth.recovery_code_used"."""
    if len(_normalise(code)) != RECOVERY_LENGTH:
        return False
    spent = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                   RecoveryCode.code_hash == _hash(code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=func.now()).execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        return False
    left = recovery_codes_left(user)
    record("auth.recovery_code_used", f"user:{user.id}", {"left": left}, actor=user)
    log.info("user %s signed in with a recovery code (%s left)", user.id, left)
    return True


def recovery_codes_left(user):
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
