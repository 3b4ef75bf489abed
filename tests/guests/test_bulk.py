"""Bulk upload of check-ins (issue 14 items 5, 11 and 13): the template, reading CSV and XLSX, every
bad row listed and nothing stored, all or nothing when the database fails part-way, re-uploads
without duplicates, progress, and who may upload."""
import csv
import io
from dataclasses import replace
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from apoa import jobs
from apoa.audit.models import AuditEntry
from apoa.errors import NotAllowed
from apoa.guests import bulk, uploads
from apoa.guests.bulk import BulkFileError, check_rows, commit_rows, read_rows
from apoa.guests.models import GuestUpload, Stay
from apoa.guests.passports import decrypt_personal
from apoa.guests.services import NotVerified, check_in, register_organisation
from apoa.guests.sttpoa import JAKARTA
from tests.guests.test_mrz import LINE1, LINE2
from tests.guests.test_stays import JOHN, KARAWANG, Lodgings, guest

HEADER = bulk.TEMPLATE_HEADERS


@pytest.fixture
def lodgings(make, clock):
    return Lodgings(make, clock)


def cells_of(g):
    """A guest as the cells of a template row (text, as a CSV holds them)."""
    def day(value):
        return value.isoformat() if value else ""
    return [g.surname, g.given_names or "", g.sex, day(g.date_of_birth), g.nationality, g.passport_number,
            day(g.passport_expiry), g.permit_kind, g.permit_number or "", day(g.permit_expiry),
            day(g.arrived_in_indonesia), g.checked_in_at.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M"),
            day(g.planned_check_out), g.room or ""]


def csv_file(lines, header=HEADER, delimiter=","):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue().encode("utf-8-sig")


def many(clock, count):
    """`count` different guests checked in over the last hours."""
    return [guest(clock, passport_number=f"X{n:07d}", surname=f"Tester{n}", hours_ago=1 + n % 20)
            for n in range(count)]


def stays_of(session, organisation):
    return session.scalars(select(Stay).where(Stay.organisation_id == organisation.id).order_by(Stay.id)).all()


def upload(client, organisation_id, raw, name="tamu.csv"):
    return client.post(f"/penginapan/{organisation_id}/unggah",
                       data={"file": (io.BytesIO(raw), name)}, content_type="multipart/form-data")


def last_upload(session):
    return session.scalars(select(GuestUpload).order_by(GuestUpload.id.desc())).first()


# --- reading and checking ------------------------------------------------------------------------

def test_a_csv_with_semicolons_is_read_and_stored_as_a_check_in_would_store_it(lodgings, clock, db_session):
    anna, john = guest(clock), guest(clock, JOHN, room=" 7 ")
    rows = read_rows(csv_file([cells_of(anna), cells_of(john)], delimiter=";"), "csv")
    assert [row[bulk.ROW] for row in rows] == [2, 3]
    guests, problems = check_rows(lodgings.hotel, rows, clock.now)
    assert problems == [] and guests == [anna, replace(john, room="7")]
    assert commit_rows(lodgings.hotel, lodgings.operator, guests, clock.now) == (2, 0)
    [reference] = check_in(lodgings.other_hotel, lodgings.other_operator, [john], clock.now)
    stored = stays_of(db_session, lodgings.hotel)[1]
    own = {"id", "organisation_id", "sttpoa_no", "personal", "created_by_id", "group_id"}
    columns = [c.key for c in Stay.__table__.columns if c.key not in own]
    assert {c: getattr(stored, c) for c in columns} == {c: getattr(reference, c) for c in columns}
    assert decrypt_personal(stored.personal, "") == decrypt_personal(reference.personal, "")
    assert stored.group_id is None and stored.created_by_id == lodgings.operator.id
    assert stored.sttpoa_no.startswith("STTPOA-") and stored.sttpoa_no != reference.sttpoa_no
    [entry] = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "guest.bulk_check_in")).all()
    assert entry.detail == {"rows": 2, "created": 2, "existing": 0, "late": 0}


def test_an_xlsx_with_date_cells_english_headers_and_an_mrz_row_is_read(lodgings, clock, db_session):
    anna = guest(clock, hours_ago=30)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    english = [bulk.COLUMNS[i].aliases[0] for i in range(len(HEADER))] + ["mrz"]
    sheet.append(english)
    sheet.append([anna.surname, anna.given_names, "P", anna.date_of_birth, anna.nationality, anna.passport_number,
                  anna.passport_expiry, "VOA", None, anna.permit_expiry, anna.arrived_in_indonesia,
                  anna.checked_in_at.astimezone(JAKARTA).replace(tzinfo=None), None, 12, None])
    sheet.append([None] * 15)  # a blank row is left out
    sheet.append([None, None, None, None, None, None, None, "itas", None, None, anna.arrived_in_indonesia,
                  anna.checked_in_at.astimezone(JAKARTA).strftime("%d/%m/%Y %H:%M"), None, None, f"{LINE1}\n{LINE2}"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    guests, problems = check_rows(lodgings.hotel, read_rows(buffer.getvalue(), "xlsx"), clock.now)
    assert problems == []
    assert guests[0] == replace(anna, planned_check_out=None, room="12")
    specimen = guests[1]
    assert (specimen.surname, specimen.given_names, specimen.nationality, specimen.passport_number, specimen.sex) == (
        "ERIKSSON", "ANNA MARIA", "UTO", "L898902C3", "F")
    created, existing = commit_rows(lodgings.hotel, lodgings.operator, guests, clock.now)
    assert (created, existing) == (2, 0)
    assert [stay.late for stay in stays_of(db_session, lodgings.hotel)] == [True, True]


@pytest.mark.parametrize("raw, fmt, expected", [
    (b"", "csv", "The file is empty."),
    (",".join(HEADER).encode(), "csv", "header row but no guests"),
    ("nama_keluarga,paspor\nX,Y\n".encode(), "csv", "Missing columns: jenis_kelamin, tanggal_lahir"),
    ("nama_keluarga,paspor\nX,Y\n".encode(), "csv", "Columns not in the template: paspor."),
    ((",".join(HEADER) + ",kamar\n").encode(), "csv", "Columns given twice: kamar."),
    ("nama_keluarga;Müller".encode("latin-1"), "csv", "not UTF-8"),
    (b"PK\x03\x04 not really a zip", "csv", "This is an XLSX file"),
    (b"nama_keluarga\nX\n", "xlsx", "could not be read as XLSX"),
])
def test_a_file_that_cannot_be_read_says_why(english, raw, fmt, expected):
    with pytest.raises(BulkFileError) as refused:
        read_rows(raw, fmt)
    assert expected in str(refused.value.message)


def test_a_file_with_too_many_rows_is_refused(english, clock, monkeypatch):
    monkeypatch.setattr(bulk, "MAX_ROWS", 3)
    with pytest.raises(BulkFileError, match="more than 3 guests"):
        read_rows(csv_file([cells_of(g) for g in many(clock, 4)]), "csv")
    assert len(read_rows(csv_file([cells_of(g) for g in many(clock, 3)]), "csv")) == 3


def test_every_problem_of_every_row_is_listed(lodgings, clock, english):
    good, late_arrival = cells_of(guest(clock)), cells_of(guest(clock, JOHN))
    bad = cells_of(guest(clock, passport_number="Y1234567"))
    bad[2], bad[3], bad[7], bad[11] = "Q", "31/02/1990", "tourist", "2026-11-18"
    future = cells_of(guest(clock, passport_number="Z7654321", date_of_birth=clock.today + timedelta(days=1)))
    late_arrival[10] = (clock.today + timedelta(days=1)).isoformat()
    _guests, problems = check_rows(lodgings.hotel, read_rows(csv_file([good, bad, future, late_arrival, good]), "csv"),
                                   clock.now)
    assert [(p["row"], p["field"]) for p in problems] == [
        (3, "sex"), (3, "date_of_birth"), (3, "permit_kind"), (3, "checked_in_at"),
        (4, "date_of_birth"), (5, "arrived_in_indonesia"), (6, "passport_number")]
    assert problems[0]["message"].startswith("Write the sex as M, F or X")
    assert problems[-1]["message"] == "The same guest with the same check-in time is already in row 2."


def test_progress_is_reported_as_the_rows_are_checked_and_stored(lodgings, clock, monkeypatch):
    rows = read_rows(csv_file([cells_of(g) for g in many(clock, 1100)]), "csv")
    seen = []
    guests, _problems = check_rows(lodgings.hotel, rows, clock.now, progress=seen.append)
    assert seen == [500, 1000, 1100]
    monkeypatch.setattr(bulk, "INSERT_CHUNK", 400)
    stored = []
    commit_rows(lodgings.hotel, lodgings.operator, guests[:1000], clock.now, progress=stored.append)
    assert stored == [400, 800, 1000]
    stored.clear()
    assert commit_rows(lodgings.hotel, lodgings.operator, guests, clock.now, progress=stored.append) == (100, 1000)
    assert stored == [1100]


def test_the_commit_is_all_or_nothing_when_the_database_refuses_a_later_chunk(lodgings, clock, db_session,
                                                                             monkeypatch):
    monkeypatch.setattr(bulk, "INSERT_CHUNK", 2)
    guests = many(clock, 5)
    # Checked rows never break a constraint; this one skips the check, so PostgreSQL refuses row 5.
    guests[4] = replace(guests[4], permit_kind="tourist")
    with pytest.raises(IntegrityError, match="permit_kind_known"):
        with db_session.begin_nested():
            commit_rows(lodgings.hotel, lodgings.operator, guests, clock.now)
    assert stays_of(db_session, lodgings.hotel) == []


def test_only_members_of_a_verified_organisation_commit(lodgings, clock, make):
    with pytest.raises(NotAllowed):
        commit_rows(lodgings.hotel, lodgings.other_operator, [guest(clock)], clock.now)
    pending = register_organisation(make.user("resident"), "lodging", "Losmen Baru", "Jl. Baru 1", KARAWANG,
                                    licence_no="9120009999999", lodging_kind="guesthouse")
    with pytest.raises(NotVerified):
        check_rows(pending, [], clock.now)


# --- the pages and the jobs ----------------------------------------------------------------------

def test_an_upload_is_checked_confirmed_and_committed_then_the_same_file_adds_nobody(
        lodgings, clock, sign_in, db_session, english):
    client = sign_in(lodgings.operator)
    raw = csv_file([cells_of(g) for g in many(clock, 3)])
    answer = upload(client, lodgings.hotel.id, raw)
    first = last_upload(db_session)
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/penginapan/unggah/{first.id}")
    assert first.state == "checking" and b"Tester" not in bytes(first.sealed)
    page = client.get(f"/penginapan/unggah/{first.id}")
    assert "<progress" in page.text and 'http-equiv="refresh"' in page.text and "upload-progress.js" in page.text
    assert client.get(f"/penginapan/unggah/{first.id}/kemajuan").get_json() == {
        "state": "checking", "rows_done": 0, "rows_total": 0, "running": True}
    assert [call.path for call in jobs.pending()] == [uploads.CHECK_UPLOAD]
    jobs.run_pending()
    assert client.get(f"/penginapan/unggah/{first.id}/kemajuan").get_json() == {
        "state": "checked", "rows_done": 3, "rows_total": 3, "running": False}
    preview = client.get(f"/penginapan/unggah/{first.id}")
    assert "Guests in the file: 3" in preview.text and 'id="confirm-upload"' in preview.text
    assert client.post(f"/penginapan/unggah/{first.id}/konfirmasi").status_code == 303
    assert client.post(f"/penginapan/unggah/{first.id}/konfirmasi").status_code == 409  # a double click
    assert jobs.run_pending() == 1
    result = client.get(f"/penginapan/unggah/{first.id}")
    assert "Newly registered: 3" in result.text and "Already registered before (skipped): 0" in result.text
    assert f'href="/penginapan/{lodgings.hotel.id}" id="guest-list-link"' in result.text
    db_session.refresh(first)
    assert (first.state, first.created_count, first.sealed) == ("done", 3, None)
    assert len(stays_of(db_session, lodgings.hotel)) == 3

    upload(client, lodgings.hotel.id, raw)
    again = last_upload(db_session)
    jobs.run_pending()
    assert "Already registered (will be skipped): 3" in client.get(f"/penginapan/unggah/{again.id}").text
    client.post(f"/penginapan/unggah/{again.id}/konfirmasi")
    jobs.run_pending()
    db_session.refresh(again)
    assert (again.state, again.created_count, again.existing_count) == ("done", 0, 3)
    assert len(stays_of(db_session, lodgings.hotel)) == 3


def test_a_file_with_a_bad_row_shows_every_problem_and_cannot_be_committed(lodgings, clock, sign_in, db_session,
                                                                          english):
    client = sign_in(lodgings.operator)
    bad = cells_of(guest(clock, JOHN))
    bad[3] = "kemarin"
    upload(client, lodgings.hotel.id, csv_file([cells_of(guest(clock)), bad]))
    jobs.run_pending()
    made = last_upload(db_session)
    page = client.get(f"/penginapan/unggah/{made.id}")
    assert "Nothing was registered. Fix these rows and upload the file again." in page.text
    assert "<td>3</td><td><code>tanggal_lahir</code></td><td>Write the date as YYYY-MM-DD" in page.text
    assert 'id="confirm-upload"' not in page.text
    assert client.post(f"/penginapan/unggah/{made.id}/konfirmasi").status_code == 409
    assert jobs.pending() == [] and stays_of(db_session, lodgings.hotel) == []


def test_an_unreadable_file_fails_and_is_forgotten(lodgings, clock, sign_in, db_session, english):
    client = sign_in(lodgings.operator)
    upload(client, lodgings.hotel.id, b"nama,paspor\nX,Y\n")
    jobs.run_pending()
    made = last_upload(db_session)
    assert (made.state, made.sealed) == ("failed", None)
    page = client.get(f"/penginapan/unggah/{made.id}")
    assert "Missing columns: nama_keluarga" in page.text and 'id="confirm-upload"' not in page.text


def test_a_commit_that_fails_part_way_keeps_nothing_and_can_be_tried_again(lodgings, clock, sign_in, db_session,
                                                                          monkeypatch, english):
    monkeypatch.setattr(bulk, "INSERT_CHUNK", 2)
    client = sign_in(lodgings.operator)
    upload(client, lodgings.hotel.id, csv_file([cells_of(g) for g in many(clock, 5)]))
    jobs.run_pending()
    made = last_upload(db_session)
    client.post(f"/penginapan/unggah/{made.id}/konfirmasi")
    # The database refuses the fifth guest (the third chunk), after four were inserted.
    fifth = many(clock, 5)[4].checked_in_at.isoformat()
    db_session.connection().exec_driver_sql(
        "CREATE FUNCTION pg_temp.refuse_fifth() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF NEW.checked_in_at = '{fifth}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$")
    db_session.connection().exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON stay FOR EACH ROW"
                                            " EXECUTE FUNCTION pg_temp.refuse_fifth()")
    jobs.run_pending()
    db_session.refresh(made)
    assert made.state == "failed" and made.sealed is not None and stays_of(db_session, lodgings.hotel) == []
    page = client.get(f"/penginapan/unggah/{made.id}")
    assert "could not be registered. Nothing was kept" in page.text and 'id="confirm-upload"' in page.text
    db_session.connection().exec_driver_sql("DROP TRIGGER refuse ON stay")
    client.post(f"/penginapan/unggah/{made.id}/konfirmasi")
    jobs.run_pending()
    db_session.refresh(made)
    assert (made.state, made.created_count) == ("done", 5) and len(stays_of(db_session, lodgings.hotel)) == 5


def test_the_templates_download_with_the_documented_header(lodgings, sign_in):
    client = sign_in(lodgings.operator)
    as_csv = client.get("/penginapan/unggah/templat.csv")
    assert as_csv.status_code == 200 and "attachment" in as_csv.headers["Content-Disposition"]
    assert as_csv.data.decode("utf-8-sig").strip() == ",".join(HEADER)
    as_xlsx = client.get("/penginapan/unggah/templat.xlsx")
    sheets = openpyxl.load_workbook(io.BytesIO(as_xlsx.data), read_only=True).worksheets
    assert [cell.value for cell in next(sheets[0].iter_rows())] == HEADER
    assert len(list(sheets[1].iter_rows())) == len(bulk.ALL_COLUMNS) + 1
    assert client.get("/penginapan/unggah/templat.pdf").status_code == 404


def test_an_upload_is_only_for_the_organisations_members(lodgings, clock, sign_in, db_session):
    upload(sign_in(lodgings.operator), lodgings.hotel.id, csv_file([cells_of(guest(clock))]))
    jobs.run_pending()
    made = last_upload(db_session)
    for user in (lodgings.other_operator, lodgings.staff["officer"], lodgings.staff["resident"]):
        client = sign_in(user)
        assert client.get(f"/penginapan/{lodgings.hotel.id}/unggah").status_code == 404
        assert upload(client, lodgings.hotel.id, csv_file([cells_of(guest(clock, JOHN))])).status_code == 404
        for path in ("", "/kemajuan"):
            assert client.get(f"/penginapan/unggah/{made.id}{path}").status_code == 404
        assert client.post(f"/penginapan/unggah/{made.id}/konfirmasi").status_code == 404
    assert db_session.scalar(select(func.count()).select_from(GuestUpload)) == 1


def test_an_unverified_organisation_cannot_upload(make, sign_in, clock, db_session):
    person = make.user("resident")
    register_organisation(person, "lodging", "Losmen Baru", "Jl. Baru 1", KARAWANG, licence_no="9120009999999",
                          lodging_kind="guesthouse")
    client = sign_in(person)
    organisation_id = db_session.scalar(text("SELECT max(id) FROM organisation"))
    assert client.get(f"/penginapan/{organisation_id}/unggah").status_code == 409
    assert upload(client, organisation_id, csv_file([cells_of(guest(clock))])).status_code == 409
    assert db_session.scalar(select(func.count()).select_from(GuestUpload)) == 0


@pytest.mark.parametrize("name, raw, message", [
    ("tamu.pdf", b"%PDF", "Upload a .csv or .xlsx file"),
    ("tamu.csv", b"", "The file is empty."),
    # (Small: the test client spools a larger body to a file it never closes.)
    ("tamu.csv", b"x" * (256 * 1024 + 1), "The file is larger than 0.25 MB"),
])
def test_the_form_refuses_a_wrong_file_at_once(lodgings, sign_in, db_session, english, monkeypatch, name, raw,
                                               message):
    monkeypatch.setattr(bulk, "MAX_FILE_BYTES", 256 * 1024)
    answer = upload(sign_in(lodgings.operator), lodgings.hotel.id, raw, name)
    assert answer.status_code == 400 and message in answer.text
    assert db_session.scalar(select(func.count()).select_from(GuestUpload)) == 0


def test_abandoned_uploads_are_purged_after_a_day(lodgings, clock, sign_in, db_session):
    client = sign_in(lodgings.operator)
    for _n in range(2):
        upload(client, lodgings.hotel.id, csv_file([cells_of(guest(clock))]))
    jobs.run_pending()
    old, recent = db_session.scalars(select(GuestUpload).order_by(GuestUpload.id)).all()
    old.created_at = clock.now - timedelta(days=2)
    db_session.flush()
    assert uploads.purge_abandoned_uploads(clock.now) == 1
    assert db_session.scalars(select(GuestUpload)).all() == [recent]
