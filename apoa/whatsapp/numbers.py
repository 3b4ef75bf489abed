"""WhatsApp numbers, which are personal data: found by a keyed hash, kept only encrypted.

`sender_hash` is an HMAC of the number under a key derived from the app's secret key, so the
same number always finds its conversation, its block and its rate budget, while the table alone
does not give the number away (a plain hash of Indonesia's few hundred million numbers could be
reversed by trying them all). Where the number is needed to answer, it is encrypted with the
contact keys (apoa/reports/contact.py), like every other contact detail.
"""
import hashlib
import hmac

from flask import current_app

from apoa.reports.contact import Contact, _decrypt, encrypt_contact

HASH_PURPOSE = b"apoa whatsapp number v1"
HINT_DIGITS = 4


def normalise(typed):
    """The number as WhatsApp writes it (country code, digits only), or None if it cannot be one.

    Indonesian habits are understood: "0812-3456-7890" and "+62 812 3456 7890" are both
    "6281234567890"."""
    digits = "".join(ch for ch in str(typed or "") if ch.isdigit())
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return digits if 8 <= len(digits) <= 15 else None


def sender_hash(number):
    key = hmac.new(current_app.config["SECRET_KEY"].encode(), HASH_PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, normalise(number).encode(), hashlib.sha256).hexdigest()


def hint(number):
    """The last digits, for an admin to tell blocked numbers apart: "…7890"."""
    return "…" + normalise(number)[-HINT_DIGITS:]


def encrypt_number(number):
    return encrypt_contact(Contact(phone=normalise(number)))


def decrypt_number(token, owner="whatsapp"):
    """The number in an encrypted contact, or None if it holds none. `owner` names the row in the
    error log if no configured key opens it."""
    return _decrypt(token, owner).phone
