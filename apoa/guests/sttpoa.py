"""STTPOA receipt numbers (Surat Tanda Terima Pelaporan Orang Asing), one per stay.

    STTPOA-<office code>-<year>-<7-digit number>-<6-character check>

The office code, the year (in Jakarta) and a counter per office and year make the number readable
and countable for the office; the check part is random (30 bits, Crockford's base32: no I, L, O
or U, so it is read aloud and typed back without confusion), so knowing one receipt's number
does not let anyone guess another's: the public check at /sttpoa/<number> needs the whole number.
Hyphens only, so the number is a single URL path segment.

The counter row is incremented by one UPSERT, which locks it until the transaction ends: numbers
of one office and year never repeat, and a group or a bulk upload reserves all its numbers in one
statement. A rolled-back transaction leaves a gap, which is harmless.
"""
import re
import secrets
from zoneinfo import ZoneInfo

from sqlalchemy import text

from apoa.extensions import db

JAKARTA = ZoneInfo("Asia/Jakarta")
CHECK_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_LENGTH = 6
# Receipts of organisations outside every office's jurisdiction (the Ditjen answers for them).
NO_OFFICE_PREFIX = "PUSAT"
_TYPED_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SHAPE = re.compile(r"^STTPOA-[A-Z0-9-]+-\d{4}-\d{7}-[0-9A-Z]{%d}$" % CHECK_LENGTH)

_RESERVE = text(
    "INSERT INTO sttpoa_counter (prefix, year, last_number) VALUES (:prefix, :year, :count)"
    " ON CONFLICT (prefix, year) DO UPDATE SET last_number = sttpoa_counter.last_number + :count"
    " RETURNING last_number"
)


def new_numbers(office, moment, count=1):
    """`count` fresh receipt numbers for an organisation of `office` (None: no office)."""
    prefix = prefix_of(office)
    year = moment.astimezone(JAKARTA).year
    last = db.session.execute(_RESERVE, {"prefix": prefix, "year": year, "count": count}).scalar()
    return [_format(prefix, year, number) for number in range(last - count + 1, last + 1)]


def normalise_number(typed):
    """A number as typed or scanned, in its stored form, or None if it cannot be one. Only the
    check part is read leniently (O for 0, I or L for 1), since it is the part typed by hand."""
    typed = "".join(str(typed or "").split()).upper()
    head, _, check = typed.rpartition("-")
    candidate = f"{head}-{check.translate(_TYPED_ALIASES)}"
    return candidate if _SHAPE.match(candidate) else None


def prefix_of(office):
    """The receipt numbers' part naming the office (PUSAT without one)."""
    code = office.code.upper() if office is not None else NO_OFFICE_PREFIX
    return re.sub(r"[^A-Z0-9-]", "-", code)


def _format(prefix, year, number):
    return f"STTPOA-{prefix}-{year}-{number:07d}-{check_part()}"


def check_part():
    """The number's random end, which makes numbers unguessable."""
    # One draw of 30 random bits, five per character (32 letters), instead of six choices.
    bits = secrets.randbits(5 * CHECK_LENGTH)
    return "".join(CHECK_ALPHABET[(bits >> (5 * k)) & 31] for k in range(CHECK_LENGTH))
