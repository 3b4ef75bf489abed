"""The cells of a bulk guest file (apoa/guests/bulk.py) turned into the values of a GuestData.

A cell comes from a CSV as text, or from an XLSX as text, a number, a date or a datetime (what the
spreadsheet stored). Each reader returns the value, or raises CellError with a message that says
what the cell should hold; the caller ties the message to its row and column.

Formats accepted (docs/guest-upload.md describes them for operators):
- dates: 2026-11-18 (ISO), or day first: 18/11/2026, 18-11-2026, 18.11.2026; a date cell;
- the check-in: a date and a time (2026-11-18 14:30, 18/11/2026 14:30, seconds optional, a "T"
  instead of the space), with an offset (+08:00, Z) or else Jakarta time (WIB); a datetime cell
  is Jakarta time. A date alone is refused: the deadline (late flag) is counted in hours;
- sex: M, F, X as in the passport, also L (laki-laki) and P (perempuan) and the words;
- permit kind: the codes of PermitKind, or the usual Indonesian names (KITAS, VOA, ...).
"""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from apoa.guests.models import PermitKind, Sex

JAKARTA = ZoneInfo("Asia/Jakarta")
DAY_FIRST_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
DAY_FIRST_TIMES = ("%H:%M", "%H:%M:%S", "%H.%M")
SEX_WORDS = {"M": Sex.male, "L": Sex.male, "MALE": Sex.male, "LAKI-LAKI": Sex.male,
             "F": Sex.female, "P": Sex.female, "FEMALE": Sex.female, "PEREMPUAN": Sex.female,
             "X": Sex.unspecified, "<": Sex.unspecified}
PERMIT_WORDS = {
    **{kind.value: kind for kind in PermitKind},
    "visa_kunjungan": PermitKind.visit_visa, "kunjungan": PermitKind.visit_visa,
    "voa": PermitKind.visa_on_arrival, "visa_saat_kedatangan": PermitKind.visa_on_arrival,
    "kitas": PermitKind.itas, "kitap": PermitKind.itap,
    "diplomatik": PermitKind.diplomatic, "dinas": PermitKind.diplomatic,
    "service": PermitKind.diplomatic, "lainnya": PermitKind.other, "lain": PermitKind.other,
}


class CellError(ValueError):
    """A cell that cannot be read as what its column holds; the message says why."""


def text(value):
    """A cell as text without surrounding spaces, or None when empty. A number stored by a
    spreadsheet (a passport or room number typed as digits) loses its ".0"."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        raise CellError(_("This cell holds a date; it should hold text."))
    return str(value).strip() or None


def day(value):
    """A date cell, or text in one of the accepted date formats."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    typed = text(value)
    for parse in (date.fromisoformat, *(_strptime_date(f) for f in DAY_FIRST_FORMATS)):
        try:
            return parse(typed)
        except ValueError:
            continue
    raise CellError(_("Write the date as YYYY-MM-DD or DD/MM/YYYY (for example 2026-11-18)."))


def _strptime_date(pattern):
    return lambda typed: datetime.strptime(typed, pattern).date()


def moment(value):
    """A datetime cell (Jakarta time), or text with a date and a time; an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=JAKARTA)
    if isinstance(value, date):
        raise CellError(_("Give the time of the check-in too (for example 2026-11-18 14:30)."))
    typed = text(value)
    parsed = _iso_moment(typed) or _day_first_moment(typed)
    if parsed is None:
        raise CellError(_("Write the check-in as YYYY-MM-DD HH:MM or DD/MM/YYYY HH:MM (for "
                          "example 2026-11-18 14:30); without a time zone it is read as WIB."))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=JAKARTA)


def _iso_moment(typed):
    # A bare date is ISO too; it is refused here because the check-in needs its time.
    if len(typed) <= 10:
        return None
    try:
        return datetime.fromisoformat(typed)
    except ValueError:
        return None


def _day_first_moment(typed):
    for day_format in DAY_FIRST_FORMATS:
        for time_format in DAY_FIRST_TIMES:
            try:
                return datetime.strptime(typed, f"{day_format} {time_format}")
            except ValueError:
                continue
    return None


def sex(value):
    word = (text(value) or "").upper()
    if word not in SEX_WORDS:
        raise CellError(_("Write the sex as M, F or X, as in the passport (L and P also do)."))
    return SEX_WORDS[word].value


def permit_kind(value):
    word = "_".join((text(value) or "").lower().replace("-", " ").split())
    if word not in PERMIT_WORDS:
        raise CellError(_("Write the permit kind as one of: %(kinds)s.",
                          kinds=", ".join(kind.value for kind in PermitKind)))
    return PERMIT_WORDS[word].value

