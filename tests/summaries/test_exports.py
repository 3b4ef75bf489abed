"""Exports at /ekspor: rows only of the reports the user may see (narrowed by the queue's filters),
never the reporter, aggregates with small counts suppressed for regional heads, files that parse
back in every format, streamed bodies, and an audit entry before and after each export."""
import csv
import io
import json
import zipfile
from datetime import date, datetime, time, timedelta, timezone

import openpyxl
import pytest
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.extensions import db
from apoa.periods import add_months
from apoa.reports.contact import Contact, encrypt_contact
from apoa.reports.queries import QueueFilters
from apoa.reports.tracking import display
from apoa.summaries import exports, streaming
from tests.factories import World

KARAWANG_BARAT = (107.30, -6.30)
KARAWANG_TIMUR = (107.31, -6.31)
BEKASI = (107.15, -6.30)          # Kabupaten Bekasi: KANIM-B, the sibling office under KANWIL-A
KETAPANG = (110.46, -1.67)        # Kabupaten Ketapang: KANIM-X, another Kanwil
JAKARTA = (106.8271, -6.1754)     # no office in this world
SITI = Contact(name="Siti Kurniawati Rahayu", phone="+62 813 9988 7766", email="siti.pelapor@example.com")
FORMATS = ("csv", "geojson", "xlsx")
WIB = timezone(timedelta(hours=7))


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def officer(world, sign_in):
    return sign_in(world.actors["officer"])


def parse(answer, fmt):
    """The export's header and rows (lists of values) whatever the format."""
    assert answer.status_code == 200, answer.text
    if fmt == "csv":
        assert answer.data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
        table = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
        return table[0], table[1:]
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).active
        table = [list(row) for row in sheet.iter_rows(values_only=True)]
        return table[0], table[1:]
    collection = json.loads(answer.data)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    keys = list(features[0]["properties"]) if features else []
    return keys, [list(f["properties"].values()) for f in features]


def codes(answer, fmt):
    header, rows = parse(answer, fmt)
    if not rows:
        return set()
    at = header.index("tracking_code") if fmt == "geojson" else 0
    return {row[at] for row in rows}


def entries(action):
    """(actor, object, detail) of the audit entries of `action`, as plain values."""
    return [(e.actor_id, e.object, e.detail) for e in audit_entries(action)]


def audit_entries(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


# --- who gets which rows ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_rows_are_exactly_the_reports_the_officer_may_see(world, make, officer, fmt):
    own = [make.report(point=KARAWANG_BARAT), make.report(point=KARAWANG_TIMUR, state="screening")]
    for point in (BEKASI, KETAPANG, JAKARTA):
        make.report(point=point)
    assert codes(officer.get(f"/ekspor/laporan.{fmt}"), fmt) == {display(r.tracking_code) for r in own}


def test_the_queue_filters_narrow_the_rows(world, make, officer):
    new = make.report(point=KARAWANG_BARAT)
    make.report(point=KARAWANG_TIMUR, state="screening")
    make.report(point=KARAWANG_TIMUR, category_code="illegal_work")
    answer = officer.get("/ekspor/laporan.csv", query_string={"state": "new", "category": other_category_id()})
    assert codes(answer, "csv") == {display(new.tracking_code)}


def test_a_kanwil_supervisor_exports_the_offices_below(world, make, sign_in):
    karawang, bekasi = make.report(point=KARAWANG_BARAT), make.report(point=BEKASI)
    make.report(point=KETAPANG)
    answer = sign_in(world.actors["kanwil_supervisor"]).get("/ekspor/laporan.csv")
    assert codes(answer, "csv") == {display(karawang.tracking_code), display(bekasi.tracking_code)}


def test_a_crafted_filter_for_another_office_area_exports_nothing(world, make, officer):
    make.report(point=KARAWANG_BARAT)
    make.report(point=BEKASI)
    bekasi = make.region("32.16")
    answer = officer.get("/ekspor/laporan.csv", query_string={"kabupaten": bekasi.id})
    assert answer.status_code == 400 and b"Bekasi" not in answer.data
    # and the export itself, handed that filter without the form, still applies the jurisdiction
    export = exports.report_export(world.actors["officer"], QueueFilters(kab_id=bekasi.id))
    assert [row for batch in export.batches() for row in batch] == []
    assert b"".join(exports.csv_rows(world.actors["officer"], QueueFilters(kab_id=bekasi.id))).count(b"\n") == 1


@pytest.mark.parametrize("actor", ["resident", "admin"])
def test_who_may_neither_export_nor_see_aggregates_gets_404(world, make, sign_in, actor):
    make.report(point=KARAWANG_BARAT)
    client = sign_in(world.actors[actor])
    for path in ("/ekspor", "/ekspor/laporan.csv", "/ekspor/agregat.csv"):
        assert client.get(path).status_code == 404
    assert audit_entries("export.start") == []


def test_an_officer_without_the_aggregate_permission_gets_no_aggregates(world, officer):
    assert officer.get("/ekspor/agregat.csv").status_code == 404
    assert b"/ekspor/agregat" not in officer.get("/ekspor").data


def test_anonymous_visitors_are_sent_to_sign_in(client):
    answer = client.get("/ekspor/laporan.csv")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/masuk")


# --- never the reporter ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_carries_the_reporter(world, make, officer, fmt):
    reporter = make.user("resident", name="Pelapor Wibisono", email="wibisono.rahasia@example.com")
    report = make.report(point=KARAWANG_BARAT, reporter_id=reporter.id)
    report.contact = encrypt_contact(SITI)
    db.session.flush()
    answer = officer.get(f"/ekspor/laporan.{fmt}")
    assert codes(answer, fmt) == {display(report.tracking_code)}
    content = readable_bytes(answer.data, fmt)
    secrets = (SITI.name, SITI.phone, SITI.email, reporter.name, reporter.email, report.contact.decode())
    assert [secret for secret in secrets if secret.encode() in content] == []
    header, _rows = parse(answer, fmt)
    assert not any(word in str(name).lower()
                   for name in header for word in ("contact", "reporter", "kontak", "pelapor"))


def readable_bytes(data, fmt):
    """The bytes a reader would see: an XLSX is a zip, so its members are unpacked."""
    if fmt != "xlsx":
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"".join(archive.read(name) for name in archive.namelist())


# --- every format parses back with the same data ---------------------------------------------------

@pytest.mark.date_sensitive
def test_csv_xlsx_and_geojson_hold_the_same_row(world, make, officer, english, clock):
    report = make.report(point=KARAWANG_BARAT, category_code="illegal_work", people_count=4,
                         nationality_guess="CN", address_text="Jl. Industri No. 5",
                         observed_at=clock.now - timedelta(hours=3), due_at=clock.now + timedelta(hours=1))
    by_format = {fmt: parse(officer.get(f"/ekspor/laporan.{fmt}"), fmt) for fmt in FORMATS}
    header, [row] = by_format["csv"]
    assert header[:3] == ["Tracking code", "Status", "Outcome"]
    as_csv = dict(zip(header, row))
    assert as_csv["Tracking code"] == display(report.tracking_code)
    assert as_csv["Status"] == "New" and as_csv["Category"] == "Suspected illegal work"
    assert as_csv["Nationality"] == "China" and as_csv["People"] == "4"
    assert as_csv["Regency/City code"] == "32.15" and as_csv["Regency/City"] == "Kabupaten Karawang"
    assert as_csv["Address or landmark"] == "Jl. Industri No. 5"
    local = clock.local   # times as a Jakarta wall clock shows them
    assert (as_csv["Observed at"], as_csv["Received at"], as_csv["Due"], as_csv["Overdue"]) == (
        f"{local - timedelta(hours=3):%Y-%m-%d %H:%M:%S}", f"{local:%Y-%m-%d %H:%M:%S}",
        f"{local + timedelta(hours=1):%Y-%m-%d %H:%M:%S}", "No")
    assert (float(as_csv["Longitude"]), float(as_csv["Latitude"])) == KARAWANG_BARAT
    xlsx_header, [xlsx_row] = by_format["xlsx"]
    as_xlsx = dict(zip(xlsx_header, xlsx_row))
    assert xlsx_header == header and as_xlsx["People"] == 4 and as_xlsx["Longitude"] == KARAWANG_BARAT[0]
    assert {k: str(v) for k, v in as_xlsx.items() if v is not None} == {k: v for k, v in as_csv.items() if v != ""}
    features = json.loads(officer.get("/ekspor/laporan.geojson").data)["features"]
    assert features[0]["geometry"] == {"type": "Point", "coordinates": list(KARAWANG_BARAT)}
    assert features[0]["properties"]["people_count"] == 4 and features[0]["properties"]["overdue"] == "No"


def test_a_description_that_looks_like_a_formula_stays_text(world, make, officer):
    make.report(point=KARAWANG_BARAT, description='=HYPERLINK("http://evil.example","klik")')
    header, [row] = parse(officer.get("/ekspor/laporan.csv"), "csv")
    assert row[5] == '\'=HYPERLINK("http://evil.example","klik")'
    sheet = openpyxl.load_workbook(io.BytesIO(officer.get("/ekspor/laporan.xlsx").data)).active
    assert sheet.cell(row=2, column=6).data_type == "s"


@pytest.mark.date_sensitive
def test_the_download_is_an_attachment_that_is_not_cached(world, officer, clock):
    answer = officer.get("/ekspor/laporan.xlsx")
    # named by the time on a Jakarta wall clock: at 00:30 WIB on 29 February, UTC's is still the 28th
    stamp = clock.local.strftime("%Y%m%d-%H%M")
    assert answer.headers["Content-Disposition"] == f'attachment; filename="apoa-laporan-{stamp}.xlsx"'
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- aggregates for regional heads -----------------------------------------------------------------

def last_month(clock):
    """10:00 WIB on the 3rd of the month before the clock's: aggregates count whole months that have ended."""
    first = add_months(clock.today.replace(day=1), -1)
    return datetime.combine(first + timedelta(days=2), time(10), WIB).astimezone(timezone.utc)


def test_a_regional_head_gets_last_months_counts_suppressed_as_on_the_summary(world, make, sign_in, english, clock):
    for _n in range(6):
        make.report(point=KARAWANG_BARAT, category_code="illegal_work", created_at=last_month(clock))
    make.report(point=KARAWANG_TIMUR, state="screening", created_at=last_month(clock))    # a cell of 1
    make.report(point=KETAPANG, created_at=last_month(clock))                            # another Kanwil: absent
    make.report(point=KARAWANG_BARAT)                                                    # this month: not counted
    client = sign_in(world.actors["regional_head"])
    assert client.get("/ekspor/laporan.csv").status_code == 404
    header, rows = parse(client.get("/ekspor/agregat.csv"), "csv")
    assert header == ["Regency/City code", "Regency/City", "Status", "Category", "Reports"]
    # Karawang's 7 is shown on the summary: 6 beside the "< 3" would give the 1 back.
    assert rows == [["32.15", "Kabupaten Karawang", "New", "Suspected illegal work", "–"],
                    ["32.15", "Kabupaten Karawang", "Screening", "Other", "< 3"]]
    narrowed = parse(client.get("/ekspor/agregat.csv", query_string={"state": "screening"}), "csv")[1]
    assert narrowed == [["32.15", "Kabupaten Karawang", "Screening", "Other", "< 3"]]


@pytest.mark.parametrize("fmt", ["geojson", "xlsx"])
def test_aggregates_parse_back_in_every_format(world, make, sign_in, fmt, clock):
    for _n in range(3):
        make.report(point=KARAWANG_BARAT, created_at=last_month(clock))
    make.report(point=BEKASI, created_at=last_month(clock))
    header, rows = parse(sign_in(world.actors["regional_head"]).get(f"/ekspor/agregat.{fmt}"), fmt)
    counts = {row[0]: row[-1] for row in rows}
    assert counts == {"32.15": 3, "32.16": "< 3"}


@pytest.mark.parametrize("args, message", [
    ({"received_from": "2026-10-01", "received_to": "2026-10-30"}, "one whole month that has ended"),
    ({"received_from": "2026-10-02"}, "one whole month that has ended"),
    ({"overdue": "1"}, "not narrowed to a district or to overdue reports"),
])
def test_aggregates_of_anything_but_one_ended_month_are_refused(world, sign_in, english, args, message):
    answer = sign_in(world.actors["regional_head"]).get("/ekspor/agregat.csv", query_string=args)
    assert answer.status_code == 400 and message in answer.text
    assert audit_entries("export.start") == []


def test_the_export_page_offers_what_the_role_allows(world, sign_in):
    head_page = sign_in(world.actors["regional_head"]).get("/ekspor", query_string={"state": "new"})
    assert head_page.status_code == 200
    assert b"/ekspor/agregat.csv?state=new" in head_page.data and b"/ekspor/laporan." not in head_page.data
    supervisor_page = sign_in(world.actors["supervisor"]).get("/ekspor")
    assert b"/ekspor/laporan.xlsx" in supervisor_page.data and b"/ekspor/agregat.geojson" in supervisor_page.data


# --- bad filters -----------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [{"state": "lost"}, {"category": "abc"}, {"received_from": "kemarin"},
                                  {"received_from": "2026-10-05", "received_to": "2026-10-01"}])
def test_bad_filters_answer_400_and_export_nothing(world, make, officer, args):
    make.report(point=KARAWANG_BARAT)
    for path in ("/ekspor/laporan.csv", "/ekspor/laporan.geojson", "/ekspor"):
        answer = officer.get(path, query_string=args)
        assert answer.status_code == 400
    assert audit_entries("export.start") == []


# --- streaming and the audit -----------------------------------------------------------------------

def test_csv_rows_are_streamed_as_postgresql_writes_them(world, make, officer, monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 1)  # one chunk per row
    for _n in range(5):
        make.report(point=KARAWANG_BARAT)
    answer = officer.get("/ekspor/laporan.csv")
    assert answer.is_streamed
    chunks = list(answer.response)
    assert len(chunks) == 1 + 5 and all(chunk.count(b"\n") == 1 for chunk in chunks)


def test_geojson_rows_are_streamed_a_batch_at_a_time(world, make, officer, monkeypatch):
    monkeypatch.setattr(exports, "BATCH_ROWS", 2)
    for _n in range(5):
        make.report(point=KARAWANG_BARAT)
    answer = officer.get("/ekspor/laporan.geojson")
    assert answer.is_streamed
    chunks = list(answer.response)
    assert [chunk.count(b'"Feature"') for chunk in chunks] == [0, 2, 2, 1, 0]


def test_each_export_is_audited_before_the_first_byte_and_counted_at_the_end(world, make, officer):
    for _n in range(3):
        make.report(point=KARAWANG_BARAT)
    make.report(point=BEKASI)
    answer = officer.get("/ekspor/laporan.geojson", query_string={"state": "new", "received_from": "2020-01-01"})
    [(actor_id, object_name, detail)] = entries("export.start")
    assert entries("export.finish") == []  # nothing read yet
    assert actor_id == world.actors["officer"].id and object_name.startswith("export:")
    assert detail == {"kind": "rows", "format": "geojson", "filters": {"state": "new", "received_from": "2020-01-01"}}
    assert len(json.loads(answer.data)["features"]) == 3
    assert entries("export.finish") == [(actor_id, object_name, {"rows": 3, "complete": True})]


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_an_export_cut_off_by_the_client_is_recorded_as_incomplete(world, make, officer, monkeypatch, fmt):
    monkeypatch.setattr(exports, "BATCH_ROWS", 2)
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 1)
    for _n in range(5):
        make.report(point=KARAWANG_BARAT)
    answer = officer.get(f"/ekspor/laporan.{fmt}")
    body = iter(answer.response)
    next(body), next(body)  # the header and the first rows, then the client goes away
    answer.close()
    [(_actor, _object, detail)] = entries("export.finish")
    assert detail == {"rows": 1 if fmt == "csv" else 2, "complete": False}
    # the connection is usable again (the COPY was stopped and rolled back)
    assert codes(officer.get("/ekspor/laporan.csv"), "csv")


def test_an_xlsx_sheet_that_fills_up_ends_with_a_note(world, make, officer, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 4)  # the header, 2 rows and the note
    monkeypatch.setattr(exports, "BATCH_ROWS", 2)
    for _n in range(5):
        make.report(point=KARAWANG_BARAT)
    header, rows = parse(officer.get("/ekspor/laporan.xlsx"), "xlsx")
    assert len(rows) == 3 and rows[-1][1:] == [None] * (len(header) - 1)
    assert entries("export.finish")[0][2] == {"rows": 2, "complete": False}


def test_filters_for_the_audit_hold_only_what_was_set():
    filters = QueueFilters(state="new", received_to=date(2026, 10, 31), overdue=True, sort="oldest")
    assert exports.filters_for_audit(filters) == {"state": "new", "received_to": "2026-10-31", "overdue": True}


def other_category_id():
    from apoa.reports.models import Category

    return db.session.scalar(select(Category.id).where(Category.code == "other"))
