"""Input that used to answer 500 (issue 10, part 9), one test per cause: odd HTTP methods, length
checks without a message of their own, NUL and other control characters, dates at the calendar's
edges, digits that int() refuses. Each now gets a clear message (or is cleaned), never a 500.
tests/test_fuzz_routes.py looks for more of the same everywhere."""
import pytest
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.extensions import db
from apoa.reports.contact import Contact, encrypt_contact
from apoa.reports.models import Report, ReportEvent
from apoa.reports.states import State
from tests.factories import World
from tests.reports.helpers import form_data

BOUNDS = "Dates must lie between 2000-01-01 and 2099-12-31."
WEST_JAVA = {"bbox": "106.9,-6.7,107.7,-5.9", "zoom": "9"}


@pytest.fixture
def world(make):
    return World(make)


# --- methods -------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"])
@pytest.mark.parametrize("path", ["/lapor", "/laporan/1", "/keluar"])
def test_an_unexpected_method_answers_405_saying_what_the_address_accepts(
        client, english, method, path):
    answer = client.open(path, method=method)
    assert answer.status_code == 405
    assert "This address does not accept that kind of request." in answer.text
    assert "POST" in answer.headers["Allow"] or "GET" in answer.headers["Allow"]


def test_a_405_answers_json_to_a_script(client):
    answer = client.delete("/lapor", headers={"Accept": "application/json"})
    assert answer.status_code == 405 and answer.json["error"]["status"] == 405
    assert answer.headers["Allow"]


# --- lengths -------------------------------------------------------------------------------------

def test_a_code_too_long_for_the_lookup_is_refused_with_a_message(client, english):
    answer = client.post("/status", data={"code": "A" * 41})
    assert answer.status_code == 400
    assert "Field cannot be longer than 40 characters." in answer.text


def test_a_password_too_long_is_refused_with_a_message(client, english):
    answer = client.post("/masuk", data={"email": "a@example.com", "password": "p" * 300})
    assert answer.status_code == 400
    assert "Field cannot be longer than 256 characters." in answer.text


@pytest.mark.parametrize("field, limit", [("address", 500), ("contact_name", 120),
                                          ("contact_phone", 30)])
def test_a_report_field_too_long_is_refused_with_a_message(client, english, field, limit):
    answer = client.post("/lapor", data=form_data(**{"reporter": "contact",
                                                     "contact_phone": "0812 3456 7890",
                                                     field: "1" * (limit + 1)}))
    assert answer.status_code == 400
    assert f"Field cannot be longer than {limit} characters." in answer.text


# --- control characters --------------------------------------------------------------------------

def stored(code_url):
    code = code_url.rsplit("/", 1)[1]
    return db.session.scalar(select(Report).where(Report.tracking_code == code))


def test_control_characters_are_taken_out_of_a_report_and_the_rest_is_kept(client):
    answer = client.post("/lapor", data=form_data(
        description="Lima orang\x00 asing\x1b bekerja\tdi proyek\r\ntanpa izin.",
        address="Jl.\x00 Industri\x07 5"))
    assert answer.status_code == 303
    report = stored(answer.headers["Location"])
    assert report.description == "Lima orang asing bekerja\tdi proyek\r\ntanpa izin."
    assert report.address_text == "Jl. Industri 5"


def test_a_follow_up_with_a_nul_is_added_without_it(client, make):
    report = make.report()
    answer = client.post(f"/status/{report.tracking_code}/tambahan",
                         data={"note": "Mereka\x00 kembali lagi pagi ini."})
    assert answer.status_code == 303
    event = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                        ReportEvent.action == "follow_up"))
    assert event.note == "Mereka kembali lagi pagi ini."


def test_a_name_with_a_nul_registers_without_it(client):
    answer = client.post("/daftar", data={"name": "Sa\x00ri", "email": "sari@example.com",
                                          "password": "rahasia-panjang",
                                          "confirm": "rahasia-panjang"})
    assert answer.status_code == 303
    from apoa.auth.services import find_user_by_email
    assert find_user_by_email("sari@example.com").name == "Sari"


def test_a_reveal_reason_with_a_nul_is_audited_without_it(world, sign_in):
    report = world.report_in(State.screening)
    report.contact = encrypt_contact(Contact(name="Budi", phone="081234567890"))
    db.session.flush()
    client = sign_in(world.actors["supervisor"])
    answer = client.post(f"/laporan/{report.id}/kontak",
                         data={"reason": "Perlu\x00 menghubungi pelapor untuk lokasi."})
    assert answer.status_code == 200
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.reveal"))
    assert entry.detail["reason"] == "Perlu menghubungi pelapor untuk lokasi."


# --- dates at the calendar's edges ---------------------------------------------------------------

@pytest.mark.parametrize("observed", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_an_observed_time_at_the_calendars_edge_is_refused_with_a_message(
        client, english, observed):
    answer = client.post("/lapor", data=form_data(observed_at=observed))
    assert answer.status_code == 400
    assert BOUNDS in answer.text


@pytest.mark.parametrize("dates", [{"received_from": "0001-01-01"}, {"received_to": "9999-12-31"}])
def test_queue_map_and_export_filters_refuse_edge_dates(world, sign_in, english, dates):
    client = sign_in(world.actors["supervisor"])
    queue = client.get("/laporan", query_string=dates)
    assert queue.status_code == 400 and BOUNDS in queue.text
    data = client.get("/peta/data.json", query_string={**WEST_JAVA, **dates})
    assert data.status_code == 400 and BOUNDS in data.json["error"]["message"]
    export = client.get("/ekspor/laporan.csv", query_string=dates)
    assert export.status_code == 400 and BOUNDS in export.text


@pytest.mark.parametrize("dates", [{"from": "0001-01-01", "to": "2026-01-01"},
                                   {"from": "2026-01-01", "to": "9999-12-31"}])
def test_custom_periods_refuse_edge_dates(world, sign_in, english, dates):
    client = sign_in(world.actors["regional_head"])
    dashboard = client.get("/ringkasan", query_string={"period": "custom", **dates})
    assert dashboard.status_code == 400 and BOUNDS in dashboard.text
    regional = client.get("/peta/wilayah", query_string={"period": "custom", **dates})
    assert regional.status_code == 400 and BOUNDS in regional.text


def test_month_zero_of_year_zero_is_refused_with_a_message(world, sign_in, english):
    client = sign_in(world.actors["regional_head"])
    answer = client.get("/ringkasan/bulanan", query_string={"bulan": "0000-01"})
    assert answer.status_code == 400 and "Choose a month from 2000 on." in answer.text


# --- digits that are not ASCII -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/ringkasan", "/ringkasan/bulanan"])
def test_an_office_given_as_a_superscript_digit_is_refused(world, sign_in, path):
    answer = sign_in(world.actors["regional_head"]).get(path, query_string={"office": "²"})
    assert answer.status_code == 400


def test_a_second_factor_of_superscript_digits_is_a_wrong_code(world, client, english):
    officer = world.actors["officer"]
    client.post("/masuk", data={"email": officer.email, "password": "correct-horse-battery"})
    answer = client.post("/masuk/kode", data={"code": "²²²²²²"})
    assert answer.status_code == 400
    assert "The code is not correct" in answer.text
