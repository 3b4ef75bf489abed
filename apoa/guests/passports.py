"""A guest's personal fields: encrypted at rest, and the passport number found by a keyed hash.

The personal fields are one Fernet token (the contact keys, APOA_CONTACT_KEYS, as for reporters'
contact details in apoa/reports/contact.py), so rotating keys and losing a key behave alike.

`passport_hash` is an HMAC of the normalised number under a key derived from the app's secret key
and a purpose string: the same number typed as "a 123 4567" or "A1234567<" always finds the same
stays, while the table alone does not give the numbers away (a plain hash of passport numbers,
a few letters and digits, could be reversed by trying them all).
"""
import hashlib
import hmac
import json
import logging
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache

from cryptography.fernet import InvalidToken
from flask import current_app

from apoa.reports.contact import ContactKeyError, _fernet

log = logging.getLogger("apoa.guests")
HASH_PURPOSE = b"apoa passport number v1"
FORMAT_VERSION = 1
# Spaces, the MRZ filler and the separators people type inside a number.
_FILLERS = str.maketrans("", "", " <-./\t")


@dataclass(frozen=True, repr=False)
class Personal:
    """What identifies a guest. Its repr hides the values, so it never lands in a log or a trace."""

    surname: str
    given_names: str | None
    sex: str
    date_of_birth: date
    passport_number: str
    permit_number: str | None = None

    def __repr__(self):
        return "Personal(<hidden>)"


PERSONAL_FIELDS = ("surname", "given_names", "sex", "date_of_birth", "passport_number",
                   "permit_number")


def normalise_passport(typed):
    """Upper case, without spaces or fillers: the form the hash and the stored number use."""
    return str(typed or "").upper().translate(_FILLERS)


def passport_hash(number):
    key = _hash_key(current_app.config["SECRET_KEY"])
    return hmac.new(key, normalise_passport(number).encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=4)
def _hash_key(secret):
    # Derived once per secret key, not once per number (a bulk upload hashes thousands).
    return hmac.new(secret.encode(), HASH_PURPOSE, hashlib.sha256).digest()


def seal(values, fernet=None):
    """A Fernet token of a JSON-able dict (dates as ISO strings). `fernet`: the keys' MultiFernet
    from `sealer()`, which a batch builds once (parsing the keys costs as much as encrypting)."""
    plain = json.dumps({"v": FORMAT_VERSION, **values}, ensure_ascii=False, default=_iso)
    return (fernet or _fernet()).encrypt(plain.encode("utf-8"))


def sealer():
    """The configured keys' MultiFernet, for seal(values, fernet) over a batch."""
    return _fernet()


def unseal(token, owner):
    """The dict sealed in `token`; `owner` names the row in the error log if no key opens it."""
    try:
        return json.loads(_fernet().decrypt(token))
    except InvalidToken:
        log.error("no configured contact key opens the personal data of %s", owner)
        raise ContactKeyError() from None


def encrypt_personal(personal):
    return seal(asdict(personal))


def decrypt_personal(token, owner):
    plain = unseal(token, owner)
    born = plain["date_of_birth"]
    return Personal(surname=plain["surname"], given_names=plain["given_names"], sex=plain["sex"],
                    date_of_birth=date.fromisoformat(born) if born else None,
                    passport_number=plain["passport_number"],
                    permit_number=plain.get("permit_number"))


def _iso(value):
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot seal a {type(value).__name__}")
