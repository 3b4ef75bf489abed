"""A request's reference and secret, and the requester's words kept encrypted.

The reference ("PDP-XXXX-XXXX") names a request; the secret ("XXXX-XXXX-XXXX", 60 random bits) is
given once to a requester without an account and kept only as an HMAC under a key derived from
the app's secret key. Both use the tracking codes' alphabet, which has no I, L, O or U, and read
the usual confusions (I, L → 1; O → 0) the same way. What the requester wrote is kept as Fernet
tokens under the contact keys (apoa/reports/contact.py).
"""
import hashlib
import hmac
import json
import logging
import secrets

from cryptography.fernet import InvalidToken
from flask import current_app

from apoa.reports.contact import ContactKeyError, _fernet
from apoa.reports.tracking import ALPHABET, CONFUSABLE

log = logging.getLogger("apoa.privacy")

REFERENCE_PREFIX = "PDP"
REFERENCE_LENGTH = 8
SECRET_LENGTH = 12
SECRET_PURPOSE = b"apoa subject request secret v1"


# --- references and secrets ----------------------------------------------------------------------

def _random_symbols(length):
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _grouped(symbols):
    return "-".join(symbols[i:i + 4] for i in range(0, len(symbols), 4))


def new_reference():
    return f"{REFERENCE_PREFIX}-{_grouped(_random_symbols(REFERENCE_LENGTH))}"


def normalise_reference(typed):
    """"pdp 1234 abcd" → "PDP-1234-ABCD", or None when it cannot be a reference."""
    symbols = _symbols(typed)
    if len(symbols) == len(REFERENCE_PREFIX) + REFERENCE_LENGTH:
        symbols = symbols.removeprefix(REFERENCE_PREFIX)
    if len(symbols) != REFERENCE_LENGTH or any(ch not in ALPHABET for ch in symbols):
        return None
    return f"{REFERENCE_PREFIX}-{_grouped(symbols)}"


def _symbols(typed):
    cleaned = "".join(ch for ch in str(typed or "").upper() if ch.isascii() and ch.isalnum())
    return cleaned.translate(CONFUSABLE)


def new_secret():
    return _grouped(_random_symbols(SECRET_LENGTH))


def secret_hash(secret):
    """The HMAC stored for a secret: typed with or without dashes, in either case, it matches."""
    key = hmac.new(current_app.config["SECRET_KEY"].encode(), SECRET_PURPOSE,
                   hashlib.sha256).digest()
    return hmac.new(key, _symbols(secret).encode(), hashlib.sha256).hexdigest()


# --- the requester's words, encrypted ------------------------------------------------------------

def encrypt_details(details):
    plain = {key: value for key, value in details.items() if value}
    return _fernet().encrypt(json.dumps(plain, ensure_ascii=False).encode("utf-8"))


def decrypt_details(subject_request):
    if subject_request.details is None:
        return {}
    try:
        return json.loads(_fernet().decrypt(subject_request.details))
    except InvalidToken:
        log.error("no configured contact key opens subject request %s", subject_request.id)
        raise ContactKeyError() from None
