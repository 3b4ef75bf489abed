"""Writing many stays at once, fast (issue 14: a bulk upload at >= 5,000 rows/s on 2 cores).

`stay_values` builds one guest's stay exactly as services.check_in stores it (tests compare the
two); `insert_stays` writes them in chunks, the next chunk built while the database takes the
last. Each chunk is COPYed into a temporary table, then moved into `stay` by one INSERT ...
SELECT ... ON CONFLICT DO NOTHING on the unique index of a guest's check-in
(stay.uq_stay_guest_check_in), so a guest stored meanwhile by another upload is skipped, not
doubled. COPY instead of a multi-row INSERT: the values travel as text, without the
client building and the server parsing statements of tens of thousands of parameters, which took
more time than the insert itself. Everything runs in the caller's transaction (all or nothing);
the temporary table goes with the transaction.
"""
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import NamedTuple

import psycopg2
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from apoa.extensions import db
from apoa.guests.models import StayState
from apoa.guests.passports import PERSONAL_FIELDS, seal, sealer
from apoa.guests.services import is_late, nationality_code

COLUMNS = ("organisation_id", "office_id", "kab_id", "sttpoa_no", "group_id", "personal",
           "passport_hash", "nationality", "passport_expiry", "permit_kind", "permit_expiry",
           "arrived_in_indonesia", "checked_in_at", "planned_check_out", "room", "reported_at",
           "late", "state", "created_by_id")
_NAMES = ", ".join(COLUMNS)
_CREATE = text(f"CREATE TEMPORARY TABLE bulk_stay ON COMMIT DROP AS SELECT {_NAMES} FROM stay "
               "WITH NO DATA")
_COPY = f"COPY bulk_stay ({_NAMES}) FROM STDIN"
_MOVE = (f"INSERT INTO stay ({_NAMES}) SELECT {_NAMES} FROM bulk_stay"
         " ON CONFLICT (organisation_id, passport_hash, checked_in_at)"
         " WHERE state <> 'cancelled' DO NOTHING RETURNING late")
_EMPTY = "TRUNCATE bulk_stay"
_DROP = text("DROP TABLE bulk_stay")
# COPY's text format: a backslash, tab or line break inside a value is escaped.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class Owner(NamedTuple):
    """Whose stays: plain ids, read once, so that building rows never touches the session (whose
    connection the writer thread is using)."""

    organisation_id: int
    office_id: int | None
    kab_id: int
    created_by_id: int
    # The keys' MultiFernet, built once for the batch (passports.sealer) rather than per row.
    fernet: object = None


def owner_of(organisation, actor):
    return Owner(organisation.id, organisation.office_id, organisation.kab_id, actor.id,
                 sealer())


def stay_values(owner, guest, personal, hashed, number, now):
    """The stay's values in COLUMNS order, as services.check_in stores the guest (group id
    empty: see bulk.py). `personal` is guest.personal, `hashed` its passport_hash."""
    return (owner.organisation_id, owner.office_id, owner.kab_id, number, None,
            _encrypted(personal, owner.fernet), hashed, nationality_code(guest.nationality),
            guest.passport_expiry, guest.permit_kind, guest.permit_expiry,
            guest.arrived_in_indonesia, guest.checked_in_at, guest.planned_check_out,
            (guest.room or "").strip() or None, now, is_late(guest.checked_in_at, now),
            StayState.present.value, owner.created_by_id)


def _encrypted(personal, fernet=None):
    # passports.encrypt_personal's token (the same JSON), without dataclasses.asdict's deep copy,
    # which took a third of the time of a row.
    return seal({name: getattr(personal, name) for name in PERSONAL_FIELDS}, fernet)


def insert_stays(count, build, chunk, progress=None, skipped=0):
    """Insert `count` stays in chunks of `chunk`, `build(start, end)` giving the tuples
    (stay_values) of each; a guest already stored is skipped. Returns (rows inserted, how many
    of them late). `progress(done)` after each chunk, counting the `skipped` rows as done.

    Two cores work at once: while the database takes one chunk (a thread of its own, writing
    through the session's connection, which nothing else uses meanwhile), Python encrypts and
    formats the next; the session itself is only used from the caller's thread."""
    db.session.execute(_CREATE)
    connection = db.session.connection().connection
    created = late = 0
    with ThreadPoolExecutor(max_workers=1) as writer:
        writing, done = None, 0
        for start in range(0, count, chunk):
            lines = _copy_text(build(start, min(start + chunk, count)))
            if writing is not None:
                created, late = _added(_result(writing), created, late)
                _report(progress, skipped + done)
            writing, done = writer.submit(_write, connection, lines), min(start + chunk, count)
        if writing is not None:
            created, late = _added(_result(writing), created, late)
            _report(progress, skipped + done)
    db.session.execute(_DROP)  # a second upload in the same transaction makes it again
    return created, late


def _write(connection, lines):
    """One chunk into `stay` (in the writer thread): the late flags of the rows inserted."""
    with connection.cursor() as cursor:
        cursor.copy_expert(_COPY, lines)
        cursor.execute(_MOVE)
        inserted = [late for (late,) in cursor.fetchall()]
        cursor.execute(_EMPTY)
    return inserted


def _result(writing):
    """The chunk's result; a database error as SQLAlchemy raises it from its own statements
    (IntegrityError, ...), which is what callers catch: the writer uses the driver directly."""
    try:
        return writing.result()
    except psycopg2.Error as error:
        raise DBAPIError.instance(_MOVE, None, error, psycopg2.Error) from error


def _added(inserted, created, late):
    return created + len(inserted), late + sum(inserted)


def _report(progress, done):
    if progress is not None:
        progress(done)


def _copy_text(rows):
    return io.StringIO("".join("\t".join(map(_copy_value, row)) + "\n" for row in rows))


def _copy_value(value):
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
