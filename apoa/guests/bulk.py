"""Bulk check-in from a lodging's property-management export: the documented template, reading a
CSV or XLSX file into rows, checking every row as a check-in would, and storing them all at once.

The template (docs/guest-upload.md): one row per guest, a header row naming the columns in
Indonesian (COLUMNS; the English names are accepted too). Instead of the seven identity columns a
row may give the passport's two MRZ lines in the `mrz` column; its check digits are verified.

Rules:
- A file with any bad row commits nothing: `check_rows` lists every problem of every row (the
  same checks as a single check-in, services.guest_problems, plus unreadable cells and the same
  guest twice in the file), and the upload cannot be confirmed until the file is fixed.
- A guest already registered by this organisation at the same check-in instant is not a problem:
  re-uploading a file (or one that overlaps an earlier one) stores only the new guests and counts
  the others as existing. The database's unique index (stay.uq_stay_guest_check_in) decides, so
  two uploads at once cannot both store the same guest.
- `commit_rows` stores the same row a single check-in stores (services.check_in) for the same
  guest, with its own STTPOA number and the late flag; all or nothing, in the caller's
  transaction. The group id stays empty: a group means guests who arrived together (a family, a
  tour), which a property-management export does not say; one id per file would let "check out
  the group" check out the whole hotel.
- Speed (issue 14: >= 5,000 rows/s): guests already stored are left out by one query, the
  numbers reserved in one statement, the stays built as plain tuples and written in chunks by
  COPY and INSERT ... ON CONFLICT DO NOTHING (bulk_store.py); one audit entry per upload, with
  counts only.
"""
import csv
import io
import logging
import zipfile
from dataclasses import dataclass

import openpyxl
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from apoa.audit.services import record
from apoa.auth.permissions import Permission, can_for_organisation
from apoa.errors import NotAllowed, UserValueError
from apoa.extensions import db
from apoa.guests import bulk_cells as cells
from apoa.guests.models import Stay, StayState
from apoa.guests.mrz import parse_td3, problems_td3
from apoa.guests.bulk_store import insert_stays, owner_of, stay_values
from apoa.guests.passports import normalise_passport, passport_hash
from apoa.guests.services import GuestData, NotVerified, guest_problems
from apoa.guests.sttpoa import new_numbers

log = logging.getLogger("apoa.guests")

MAX_ROWS = 20_000
MAX_FILE_BYTES = 8 * 1024 * 1024
# An XLSX is a zip: what it may unpack to, so a small "zip bomb" cannot fill the memory.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_COLUMNS = 40
PROGRESS_EVERY = 500
INSERT_CHUNK = 2000
LOOKUP_CHUNK = 5000
ROW = "_row"  # the key of a row's number, as the spreadsheet shows it (the header is row 1)
FORMATS = ("csv", "xlsx")
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Column:
    key: str              # the GuestData field
    header: str           # the template's header (Indonesian)
    aliases: tuple        # other headers accepted (English)
    read: object          # cell -> value (bulk_cells), raising CellError
    hint: object          # what to write, for the template's instructions sheet
    required: bool = True
    identity: bool = False  # may come from the MRZ column instead


COLUMNS = (
    Column("surname", "nama_keluarga", ("surname", "last_name", "family_name"), cells.text,
           _l("Surname as printed in the passport."), identity=True),
    Column("given_names", "nama_depan", ("given_names", "first_name", "given_name"), cells.text,
           _l("Given names as printed in the passport; empty if it has none."), required=False,
           identity=True),
    Column("sex", "jenis_kelamin", ("sex", "gender"), cells.sex,
           _l("M, F or X as in the passport (L and P also do)."), identity=True),
    Column("date_of_birth", "tanggal_lahir", ("date_of_birth", "birth_date"), cells.day,
           _l("Date: YYYY-MM-DD or DD/MM/YYYY."), identity=True),
    Column("nationality", "kewarganegaraan", ("nationality",), cells.text,
           _l("The passport's three-letter code, e.g. AUS, GBR, D."), identity=True),
    Column("passport_number", "nomor_paspor", ("passport_number", "passport_no"), cells.text,
           _l("As printed in the passport."), identity=True),
    Column("passport_expiry", "paspor_berlaku_sampai", ("passport_expiry",), cells.day,
           _l("Date: YYYY-MM-DD or DD/MM/YYYY."), identity=True),
    Column("permit_kind", "jenis_izin", ("permit_kind",), cells.permit_kind,
           _l("visit_visa, visa_on_arrival, itas, itap, diplomatic or other (KITAS, KITAP, VOA "
              "also do).")),
    Column("permit_number", "nomor_izin", ("permit_number",), cells.text,
           _l("The visa or stay permit number, if any."), required=False),
    Column("permit_expiry", "izin_berlaku_sampai", ("permit_expiry",), cells.day,
           _l("Date: YYYY-MM-DD or DD/MM/YYYY, if known."), required=False),
    Column("arrived_in_indonesia", "tanggal_masuk_indonesia",
           ("arrived_in_indonesia", "arrival_date"), cells.day,
           _l("The day the guest entered Indonesia: YYYY-MM-DD or DD/MM/YYYY.")),
    Column("checked_in_at", "waktu_check_in", ("checked_in_at", "check_in"), cells.moment,
           _l("Date and time: YYYY-MM-DD HH:MM; Jakarta time (WIB) unless a zone such as +08:00 "
              "is given.")),
    Column("planned_check_out", "rencana_check_out", ("planned_check_out", "check_out"),
           cells.day, _l("Date: YYYY-MM-DD or DD/MM/YYYY, if known."), required=False),
    Column("room", "kamar", ("room",), cells.text, _l("At most 20 characters."),
           required=False),
)
MRZ_COLUMN = Column("mrz", "mrz", ("mrz",), cells.text,
                    _l("Instead of the identity columns: the passport's two MRZ lines."),
                    required=False)
ALL_COLUMNS = (*COLUMNS, MRZ_COLUMN)
HEADERS = {name: column.key for column in ALL_COLUMNS for name in (column.header, *column.aliases)}
TEMPLATE_HEADERS = [column.header for column in COLUMNS]


class BulkFileError(UserValueError):
    """A file that cannot be read as a guest list at all (not one bad row: the whole file)."""


# --- the template ----------------------------------------------------------------------------

def template_csv():
    """The template as CSV: the header row, UTF-8 with a BOM (so Excel reads it as UTF-8)."""
    return ("\ufeff" + ",".join(TEMPLATE_HEADERS) + "\r\n").encode("utf-8")


def template_xlsx():
    """The template as XLSX: the header on the first sheet, the columns explained on a second."""
    workbook = openpyxl.Workbook(write_only=True)
    workbook.create_sheet(_("Guests")[:31]).append(TEMPLATE_HEADERS)
    guide = workbook.create_sheet(_("Instructions")[:31])
    guide.append([_("Column"), _("Also accepted"), _("Required"), _("What to write")])
    for column in ALL_COLUMNS:
        guide.append([column.header, ", ".join(column.aliases), _("yes") if column.required
                      else _("no"), str(column.hint)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- reading a file --------------------------------------------------------------------------

def read_rows(raw, file_format):
    """The guests of a CSV or XLSX file as dicts (column key -> cell, ROW -> row number), blank
    rows left out. Raises BulkFileError for a file that is empty, unreadable, too big, too long
    or whose header does not match the template."""
    if not raw:
        raise BulkFileError(_("The file is empty."))
    if len(raw) > MAX_FILE_BYTES:
        raise BulkFileError(too_large_message())
    table = _xlsx_table(raw) if file_format == "xlsx" else _csv_table(raw)
    header = next(table, None)
    if header is None:
        raise BulkFileError(_("The file is empty."))
    keys = header_keys(header)
    rows = []
    for number, cells_ in enumerate(table, start=2):
        row = {key: value for key, value in zip(keys, cells_) if key is not None}
        if any(value not in (None, "") for value in row.values()):
            if len(rows) == MAX_ROWS:
                raise BulkFileError(_("The file has more than %(n)d guests: split it into "
                                      "smaller files.", n=MAX_ROWS))
            rows.append({**row, ROW: number})
    if not rows:
        raise BulkFileError(_("The file has its header row but no guests."))
    return rows


def too_large_message():
    return _("The file is larger than %(size)s MB: split it into smaller files.",
             size=max_megabytes())


def max_megabytes():
    return f"{MAX_FILE_BYTES / (1024 * 1024):g}"


def _csv_table(raw):
    if raw.startswith(ZIP_MAGIC):
        raise BulkFileError(_("This is an XLSX file: name it .xlsx, or save it as CSV."))
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BulkFileError(_("The file is not UTF-8 text: save it as “CSV UTF-8”.")) from None
    first_line = content.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        yield from csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    except csv.Error:
        raise BulkFileError(_("The file could not be read as CSV: save it again from the "
                              "spreadsheet as “CSV UTF-8”.")) from None


def _xlsx_table(raw):
    workbook = _open_workbook(raw)
    try:
        sheet = workbook.worksheets[0]
        yield from sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    except Exception:  # noqa: BLE001  openpyxl raises many kinds of error on a malformed sheet
        raise BulkFileError(_unreadable_xlsx()) from None
    finally:
        workbook.close()


def _open_workbook(raw):
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile:
        raise BulkFileError(_unreadable_xlsx()) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise BulkFileError(too_large_message())
    try:
        return openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001  as above: any failure means the same to the operator
        raise BulkFileError(_unreadable_xlsx()) from None


def _unreadable_xlsx():
    return _("The file could not be read as XLSX: save it again from the spreadsheet, or as "
             "“CSV UTF-8”.")


def header_keys(header):
    """The column key of each header cell (None for a blank one); BulkFileError naming the
    missing and unknown columns when the header does not match the template."""
    keys, unknown, repeated = [], [], []
    for cell in header:
        name = "_".join(str(cell or "").strip().lower().replace("-", " ").split())
        key = HEADERS.get(name) if name else None
        if name and key is None:
            unknown.append(str(cell).strip()[:40])
        elif key is not None and key in keys:
            repeated.append(str(cell).strip())
            key = None
        keys.append(key)
    with_mrz = MRZ_COLUMN.key in keys
    missing = [column.header for column in COLUMNS if column.required
               and column.key not in keys and not (column.identity and with_mrz)]
    if missing or unknown or repeated:
        raise BulkFileError(_header_message(missing, unknown, repeated))
    return keys


def _header_message(missing, unknown, repeated):
    parts = [_("The header row does not match the template.")]
    if missing:
        parts.append(_("Missing columns: %(names)s.", names=", ".join(missing)))
    if unknown:
        parts.append(_("Columns not in the template: %(names)s.", names=", ".join(unknown)))
    if repeated:
        parts.append(_("Columns given twice: %(names)s.", names=", ".join(repeated)))
    return " ".join(parts)


# --- checking the rows -----------------------------------------------------------------------

def check_rows(organisation, rows, now, progress=None):
    """Every row checked as a check-in at `now` would be: (the guests read, in order; the
    problems as {row, field, message} dicts, every one of every row). `progress(done)` is called
    every PROGRESS_EVERY rows and at the end."""
    if not organisation.is_verified:
        raise NotVerified()
    guests, problems, first_rows = [], [], {}
    today = now.astimezone(cells.JAKARTA).date()
    for done, row in enumerate(rows, start=1):
        guest, found = _read_guest(row, today)
        if guest is not None:
            found = [(p.field, p.message) for p in guest_problems(guest, now)]
            found += _repeated(guest, row[ROW], first_rows)
            guests.append(guest)
        problems += [{"row": row[ROW], "field": field, "message": str(message)}
                     for field, message in found]
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    if progress is not None:
        progress(len(rows))
    return guests, problems


def _read_guest(row, today):
    """(GuestData, []) or (None, [(field, message), ...]) for one row."""
    found, values = [], {"given_names": None}
    mrz = None if _blank(row.get(MRZ_COLUMN.key)) else _cell(MRZ_COLUMN, row[MRZ_COLUMN.key], found)
    if mrz:
        values.update(_from_mrz(mrz, today, found))
    for column in COLUMNS:
        raw = row.get(column.key)
        if column.identity and mrz:
            continue
        if _blank(raw):
            if column.required:
                found.append((column.key, _("This cell is empty; the column needs a value.")))
            continue
        value = _cell(column, raw, found)
        if value is not None:
            values[column.key] = value
    return (None, found) if found else (GuestData(**values), [])


def _blank(raw):
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _cell(column, raw, found):
    try:
        return column.read(raw)
    except cells.CellError as error:
        found.append((column.key, str(error)))
        return None


def _from_mrz(typed, today, found):
    errors = problems_td3(typed, today)
    if errors:
        found.extend((MRZ_COLUMN.key, str(error.message)) for error in errors)
        return {}
    passport = parse_td3(typed, today)
    return {"surname": passport.surname, "given_names": passport.given_names or None,
            "sex": passport.sex, "date_of_birth": passport.birth_date,
            "nationality": passport.nationality, "passport_number": passport.passport_number,
            "passport_expiry": passport.expiry_date}


def _repeated(guest, number, first_rows):
    key = (normalise_passport(guest.passport_number), guest.checked_in_at)
    first = first_rows.setdefault(key, number)
    if first == number:
        return []
    return [("passport_number", _("The same guest with the same check-in time is already in "
                                  "row %(row)d.", row=first))]


def registered_count(organisation, guests):
    """How many of `guests` this organisation has already registered (they will be skipped)."""
    return len(_registered(organisation, [_key(guest) for guest in guests]))


# --- committing ------------------------------------------------------------------------------

def commit_rows(organisation, actor, guests, now, progress=None):
    """Check in `guests` (already checked by check_rows) for `organisation` at `now`, all or
    nothing, in the caller's transaction: returns (created, existing), existing being guests this
    organisation had already registered at the same check-in instant. `progress(done)` is
    called after each chunk."""
    if not can_for_organisation(actor, Permission.report_guests, organisation):
        raise NotAllowed()
    if not organisation.is_verified:
        raise NotVerified()
    personal = [guest.personal for guest in guests]
    keys = [(passport_hash(p.passport_number), guest.checked_in_at)
            for p, guest in zip(personal, guests)]
    taken = _registered(organisation, keys)
    fresh = [index for index, key in enumerate(keys) if key not in taken]
    numbers = new_numbers(organisation.office, now, len(fresh)) if fresh else []
    owner = owner_of(organisation, actor)

    def build(start, end):
        return [stay_values(owner, guests[i], personal[i], keys[i][0], number, now)
                for i, number in zip(fresh[start:end], numbers[start:end])]
    created, late = insert_stays(len(fresh), build, INSERT_CHUNK, progress,
                                 skipped=len(guests) - len(fresh))
    existing = len(guests) - created
    record("guest.bulk_check_in", f"organisation:{organisation.id}",
           {"rows": len(guests), "created": created, "existing": existing, "late": late},
           actor=actor)
    log.info("organisation %s bulk check-in: %d created, %d existing", organisation.id,
             created, existing)
    return created, existing


def _key(guest):
    """What makes a check-in a duplicate: the passport's keyed hash and the check-in instant."""
    return passport_hash(guest.personal.passport_number), guest.checked_in_at


def _registered(organisation, keys):
    """The keys among `keys` already stored for the organisation (not counting cancelled)."""
    hashes = sorted({key[0] for key in keys})
    taken = set()
    for start in range(0, len(hashes), LOOKUP_CHUNK):
        query = select(Stay.passport_hash, Stay.checked_in_at).where(
            Stay.organisation_id == organisation.id, Stay.state != StayState.cancelled.value,
            Stay.passport_hash.in_(hashes[start:start + LOOKUP_CHUNK]))
        taken.update(tuple(row) for row in db.session.execute(query))
    return taken & set(keys)
