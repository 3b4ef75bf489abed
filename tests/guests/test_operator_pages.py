"""The organisations' own pages, driven through the test client as a phone without JavaScript would:
sign-up, registering a lodging on the map's coordinates, the wait for verification, the check-in of
a group by pasting each passport's MRZ, problems beside their fields, the receipts, check-out,
correction, cancellation, the history, staff accounts, and 404 for every other organisation."""
import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from apoa.auth.models import User
from apoa.guests.models import Organisation, OrganisationMember, Stay
from apoa.guests.mrz import format_td3
from apoa.guests.operator_forms import as_local
from apoa.guests.services import check_in, register_organisation, verify_organisation
from tests.factories import World
from tests.guests.test_stays import JOHN, REASON, Lodgings, guest

NEW_PASSWORD = "kata-sandi-rahasia-1"
MINUTE = "%Y-%m-%dT%H:%M"


@pytest.fixture
def lodgings(make, clock):
    return Lodgings(make, clock)


class FormValues(HTMLParser):
    """The values a browser would send for the form on a page: inputs, selected options, textareas
    (buttons and file inputs left out)."""

    def __init__(self, page):
        super().__init__()
        self.values, self._select, self._textarea = {}, None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("file", "submit", "checkbox"):
            self.values[name] = attrs.get("value") or ""
        elif tag == "select":
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select] = attrs.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data.lstrip("\n")


def mrz_of(clock, surname, given, number, nationality, born, sex, expires_in_days=1200):
    return format_td3(surname=surname, given_names=given, passport_number=number,
                      nationality=nationality, birth_date=born, sex=sex,
                      expiry_date=clock.today + timedelta(days=expires_in_days))


def john_mrz(clock, **changes):
    fields = dict(surname="Smith", given="John", number="123456789", nationality="GBR",
                  born=date(1985, 6, 30), sex="M")
    return mrz_of(clock, **{**fields, **changes})


def anna_mrz(clock):
    return mrz_of(clock, "Mueller", "Anna Maria", "C01X00T47", "D", date(1990, 1, 2), "F")


def stay_fields(clock, index, hours_ago=2, room="12"):
    """What the operator types besides the MRZ: permit, arrival, check-in, planned check-out."""
    prefix = f"guests-{index}-"
    checked_in = as_local(clock.now - timedelta(hours=hours_ago), 7 * 60)
    return {prefix + "permit_kind": "visa_on_arrival", prefix + "permit_number": "",
            prefix + "permit_expiry": (clock.today + timedelta(days=29)).isoformat(),
            prefix + "arrived_in_indonesia": (clock.today - timedelta(days=1)).isoformat(),
            prefix + "checked_in_at": checked_in.strftime(MINUTE),
            prefix + "planned_check_out": (clock.today + timedelta(days=3)).isoformat(),
            prefix + "room": room}


def check_in_url(organisation):
    return f"/penginapan/{organisation.id}/tamu/baru"


def stay_url(stay, page=""):
    return f"/penginapan/tamu/{stay.id}{page}"


def error_of(page, field_id):
    found = re.search(rf'id="{re.escape(field_id)}-error">([^<]*)<', page)
    return found.group(1) if found else None


def typed_check_in(client, organisation, clock, guests, action="save", **extra):
    """Post the check-in form with `guests` (a list of (mrz, fields)) and `action`."""
    data = {"action": action, **extra}
    for index, (mrz, fields) in enumerate(guests):
        data[f"guests-{index}-mrz"] = mrz
        data.update(fields)
    return client.post(check_in_url(organisation), data=data)


# --- account and organisation ----------------------------------------------------------------

def test_signing_up_makes_a_lodging_account_and_says_the_same_for_a_known_email(client, make, db_session):
    form = {"name": "Ibu Sari", "email": "Sari@Melati.example", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    answer = client.post("/penginapan/daftar", data=form)
    assert answer.status_code == 303 and "/masuk" in answer.headers["Location"]
    user = db_session.scalar(select(User).where(User.email == "sari@melati.example"))
    assert user.role == "lodging" and user.check_password(NEW_PASSWORD)
    officer = make.user("officer", email="petugas@imigrasi.example")
    again = client.post("/penginapan/daftar", data={**form, "email": officer.email})
    assert (again.status_code, again.headers["Location"]) == (answer.status_code, answer.headers["Location"])
    assert officer.role == "officer" and not officer.check_password(NEW_PASSWORD)


def test_the_sign_up_page_explains_itself_and_refuses_bad_input(client, english):
    page = client.get("/penginapan/daftar")
    assert page.status_code == 200 and "Sign up a lodging account" in page.text
    bad = client.post("/penginapan/daftar", data={"name": "", "email": "x", "password": "short", "confirm": "other"})
    assert bad.status_code == 400 and "Enter a valid email address." in bad.text


def register_form(**changes):
    return {"kind": "lodging", "name": "Hotel Melati Karawang", "licence_no": "9120001234567",
            "lodging_kind": "hotel", "address": "Jl. Tuparev 12, Karawang", "latitude": "-6.30",
            "longitude": "107.30", **changes}


def test_a_lodging_registers_by_typed_coordinates_and_waits_for_its_office(make, sign_in, db_session, english):
    world = World(make)  # KANIM-A answers for Karawang
    person = make.user("lodging")
    client = sign_in(person)
    form_page = client.get("/penginapan/baru")
    assert form_page.status_code == 200 and 'id="org-map"' in form_page.text and 'name="latitude"' in form_page.text
    answer = client.post("/penginapan/baru", data=register_form())
    assert answer.status_code == 303
    hotel = db_session.scalar(select(Organisation).where(Organisation.name == "Hotel Melati Karawang"))
    assert answer.headers["Location"] == f"/penginapan/{hotel.id}"
    assert hotel.office_id == world.office.id and hotel.kabupaten.kode == "32.15"
    assert db_session.get(OrganisationMember, (hotel.id, person.id)).is_person_in_charge
    home = client.get(f"/penginapan/{hotel.id}")
    assert "Waiting for verification" in home.text and "cannot report guests until then" in home.text
    assert client.get("/penginapan").headers["Location"] == f"/penginapan/{hotel.id}"


@pytest.mark.parametrize("changes, field, message", [
    ({"latitude": ""}, "latitude", "Mark the place on the map or enter its latitude."),
    ({"longitude": "500"}, "longitude", "Enter a longitude between -180 and 180"),
    ({"name": "X"}, "name", "Write between 2 and 200 characters."),
])
def test_registration_problems_are_shown_beside_their_fields(make, sign_in, english, changes, field, message):
    client = sign_in(make.user("lodging"))
    page = client.post("/penginapan/baru", data=register_form(**changes))
    assert page.status_code == 400 and message in error_of(page.text, field)


def test_a_place_outside_indonesia_and_a_lodging_without_licence_are_explained(make, sign_in, english):
    client = sign_in(make.user("lodging"))
    abroad = client.post("/penginapan/baru", data=register_form(latitude="48.85", longitude="2.35"))
    assert abroad.status_code == 400 and "The place is not in Indonesia" in abroad.text
    unlicensed = client.post("/penginapan/baru", data=register_form(licence_no=""))
    assert unlicensed.status_code == 400 and "Give the business licence number (NIB)." in unlicensed.text


def test_a_pending_organisation_cannot_check_in(make, sign_in, db_session, english):
    World(make)
    person = make.user("lodging")
    client = sign_in(person)
    client.post("/penginapan/baru", data=register_form())
    hotel = db_session.scalar(select(Organisation).where(Organisation.name == "Hotel Melati Karawang"))
    page = client.get(check_in_url(hotel))
    assert page.status_code == 200 and 'id="not-verified"' in page.text
    assert "has not verified this organisation yet" in page.text and 'name="guests-0-surname"' not in page.text
    refused = client.post(check_in_url(hotel), data={"action": "save"})
    assert refused.status_code == 409 and db_session.scalars(select(Stay)).all() == []


def test_a_rejected_organisation_shows_the_offices_note(lodgings, make, sign_in, clock, db_session, english):
    person = make.user("lodging")
    villa = register_organisation(person, "lodging", "Villa Anggrek", "Jl. Anggrek 1", (107.30, -6.30),
                                  licence_no="9120009999999", lodging_kind="villa")
    verify_organisation(villa, lodgings.staff["supervisor"], approve=False,
                        note="Alamat tidak ditemukan saat pemeriksaan.", now=clock.now)
    home = sign_in(person).get(f"/penginapan/{villa.id}")
    assert "Rejected" in home.text and "Alamat tidak ditemukan saat pemeriksaan." in home.text


# --- check-in --------------------------------------------------------------------------------

def test_two_guests_are_checked_in_by_pasting_their_mrz(lodgings, sign_in, clock, db_session, english):
    client = sign_in(lodgings.operator)
    hotel = lodgings.hotel
    first = typed_check_in(client, hotel, clock, [(john_mrz(clock), {})], action="mrz-0")
    assert first.status_code == 200
    values = FormValues(first.text).values
    assert (values["guests-0-surname"], values["guests-0-given_names"]) == ("SMITH", "JOHN")
    assert values["guests-0-nationality"] == "GBR" and values["guests-0-sex"] == "M"
    assert values["guests-0-date_of_birth"] == "1985-06-30" and values["guests-0-passport_number"] == "123456789"
    values.update(stay_fields(clock, 0))
    added = client.post(check_in_url(hotel), data={**values, "action": "add"})
    assert 'name="guests-1-mrz"' in added.text
    values = FormValues(added.text).values
    values["guests-1-mrz"] = anna_mrz(clock)
    read = client.post(check_in_url(hotel), data={**values, "action": "mrz-1"})
    values = FormValues(read.text).values
    assert values["guests-0-surname"] == "SMITH" and values["guests-1-surname"] == "MUELLER"
    values.update(stay_fields(clock, 1, room="14"))
    saved = client.post(check_in_url(hotel), data={**values, "action": "save"})
    assert saved.status_code == 303, saved.text
    stays = db_session.scalars(select(Stay).where(Stay.organisation_id == hotel.id).order_by(Stay.id)).all()
    assert [stay.nationality for stay in stays] == ["GBR", "D"] and stays[0].group_id == stays[1].group_id
    result = client.get(saved.headers["Location"])
    assert result.status_code == 200
    for stay in stays:
        assert stay.sttpoa_no in result.text and f'href="/tamu/sttpoa/{stay.id}"' in result.text
    assert "SMITH, JOHN" in result.text and "MUELLER, ANNA MARIA" in result.text
    home = client.get(f"/penginapan/{hotel.id}")
    assert "SMITH, JOHN" in home.text and stays[1].sttpoa_no in home.text


def test_the_mrz_endpoint_gives_the_fields_and_the_problems(lodgings, sign_in, clock, english):
    client = sign_in(lodgings.operator)
    answer = client.post("/penginapan/mrz", data={"mrz": john_mrz(clock)}, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert answer.json["fields"]["surname"] == "SMITH" and answer.json["fields"]["date_of_birth"] == "1985-06-30"
    assert answer.json["problems"] == [] and answer.json["notes"] == []
    line1, line2 = john_mrz(clock).split("\n")
    broken = client.post("/penginapan/mrz", data={"mrz": f"{line1}\n{'2' + line2[1:]}"}).json
    assert broken["fields"] == {}
    assert {"passport_number", "mrz"} <= {problem["field"] for problem in broken["problems"]}
    expired = client.post("/penginapan/mrz", data={"mrz": mrz_of(clock, "Lee", "Min", "M12345678", "KOR",
                                                                  date(1970, 3, 4), "F", expires_in_days=-10)}).json
    assert "expired" in expired["notes"][0]
    assert sign_in(lodgings.staff["officer"]).post("/penginapan/mrz", data={"mrz": "x"}).status_code == 404


def test_a_bad_check_digit_is_explained_beside_the_passport_number(lodgings, sign_in, clock, english):
    client = sign_in(lodgings.operator)
    line1, line2 = john_mrz(clock).split("\n")
    wrong = f"{line1}\n{line2[:9]}{(int(line2[9]) + 1) % 10}{line2[10:]}"
    page = typed_check_in(client, lodgings.hotel, clock, [(wrong, {})], action="mrz-0")
    assert page.status_code == 400
    assert "does not match its check digit (line 2, position 10)" in error_of(page.text, "guests-0-passport_number")
    assert "last check digit" in error_of(page.text, "guests-0-mrz")
    assert FormValues(page.text).values["guests-0-surname"] == ""


def test_a_future_birth_date_and_a_missing_arrival_are_shown_beside_their_fields(lodgings, sign_in, clock,
                                                                              db_session, english):
    client = sign_in(lodgings.operator)
    values = FormValues(typed_check_in(client, lodgings.hotel, clock, [(john_mrz(clock), {})],
                                       action="mrz-0").text).values
    values.update(stay_fields(clock, 0))
    values["guests-0-date_of_birth"] = (clock.today + timedelta(days=2)).isoformat()
    page = client.post(check_in_url(lodgings.hotel), data={**values, "action": "save"})
    assert page.status_code == 400
    assert error_of(page.text, "guests-0-date_of_birth") == "The date of birth is in the future."
    assert 'href="#guests-0-date_of_birth"' in page.text
    values["guests-0-date_of_birth"], values["guests-0-arrived_in_indonesia"] = "1985-06-30", ""
    missing = client.post(check_in_url(lodgings.hotel), data={**values, "action": "save"})
    assert error_of(missing.text, "guests-0-arrived_in_indonesia") == "Give the date the guest arrived in Indonesia."
    assert db_session.scalars(select(Stay)).all() == []


def test_an_expired_passport_and_a_late_report_are_flagged_on_the_result(lodgings, sign_in, clock, english):
    client = sign_in(lodgings.operator)
    expired = mrz_of(clock, "Smith", "John", "987654321", "GBR", date(1985, 6, 30), "M", expires_in_days=-3)
    read = typed_check_in(client, lodgings.hotel, clock, [(expired, {})], action="mrz-0")
    assert read.status_code == 200 and "This passport expired on" in read.text
    values = FormValues(read.text).values
    values.update(stay_fields(clock, 0, hours_ago=30))
    values["guests-0-arrived_in_indonesia"] = (clock.today - timedelta(days=3)).isoformat()
    saved = client.post(check_in_url(lodgings.hotel), data={**values, "action": "save"})
    result = client.get(saved.headers["Location"])
    assert "Passport expired at check-in" in result.text
    assert "Reported more than 24 hours after check-in" in result.text


# --- after check-in --------------------------------------------------------------------------

@pytest.fixture
def two_stays(lodgings, clock):
    return check_in(lodgings.hotel, lodgings.operator, [guest(clock), guest(clock, JOHN)], clock.now)


def test_one_guest_of_two_is_checked_out(lodgings, two_stays, sign_in, clock, db_session, english):
    anna, john = two_stays
    client = sign_in(lodgings.operator)
    url = f"/penginapan/{lodgings.hotel.id}/tamu/keluar"
    page = client.get(url, query_string={"stay": anna.id})
    assert f'value="{anna.id}" id="stay-{anna.id}" checked' in page.text
    early = as_local(clock.now - timedelta(hours=3), 7 * 60).strftime(MINUTE)
    refused = client.post(url, data={"stay": anna.id, "checked_out_at": early})
    assert refused.status_code == 400
    assert error_of(refused.text, f"stay-{anna.id}") == "The check-out is before the check-in."
    future = as_local(clock.now + timedelta(hours=3), 7 * 60).strftime(MINUTE)
    assert "in the future" in client.post(url, data={"stay": anna.id, "checked_out_at": future}).text
    assert "Choose at least one guest" in client.post(url, data={"checked_out_at": early}).text
    # Unticking the guest a link preselected checks nobody out.
    unticked = client.post(f"{url}?stay={anna.id}", data={"checked_out_at": early})
    assert unticked.status_code == 400 and "Choose at least one guest" in unticked.text
    done = client.post(url, data={"stay": anna.id, "checked_out_at": as_local(clock.now, 7 * 60).strftime(MINUTE)})
    assert done.status_code == 303
    db_session.expire_all()
    assert (anna.state, john.state) == ("checked_out", "present")
    home = client.get(f"/penginapan/{lodgings.hotel.id}")
    assert "Guests staying now (1)" in home.text


def test_a_correction_is_prefilled_saved_and_shown_in_the_history(lodgings, two_stays, sign_in, clock, english):
    _anna, john = two_stays
    client = sign_in(lodgings.operator)
    form = client.get(stay_url(john, "/koreksi"))
    values = FormValues(form.text).values
    assert values["surname"] == "SMITH" and values["passport_number"] == "123456789" and values["room"] == "12"
    unchanged = client.post(stay_url(john, "/koreksi"), data={**values, "reason": REASON})
    assert unchanged.status_code == 400 and "Nothing was changed" in unchanged.text
    values.update(surname="Smythe", room="14", reason="Salah ketik nama dan nomor kamar.")
    assert client.post(stay_url(john, "/koreksi"), data=values).status_code == 303
    page = client.get(stay_url(john))
    history = page.text[page.text.index('id="stay-history"'):]
    assert "Personal data corrected" in history and "Room: 12 → 14" in history
    assert "Salah ketik nama dan nomor kamar." in history and "SMITH" not in history
    assert "SMYTHE, JOHN" in page.text


def test_a_correction_with_a_problem_shows_it_beside_its_field(lodgings, two_stays, sign_in, clock, english):
    _anna, john = two_stays
    client = sign_in(lodgings.operator)
    values = FormValues(client.get(stay_url(john, "/koreksi")).text).values
    values.update(planned_check_out=(clock.today - timedelta(days=5)).isoformat(), reason=REASON)
    page = client.post(stay_url(john, "/koreksi"), data=values)
    assert page.status_code == 400
    assert error_of(page.text, "planned_check_out") == "The planned check-out is before the check-in."


def test_a_cancelled_entry_stays_with_its_reason(lodgings, two_stays, sign_in, clock, db_session, english):
    anna, _john = two_stays
    client = sign_in(lodgings.operator)
    short = client.post(stay_url(anna, "/batal"), data={"reason": "salah"})
    assert short.status_code == 400 and anna.state == "present"
    assert client.post(stay_url(anna, "/batal"), data={"reason": REASON}).status_code == 303
    db_session.expire_all()
    page = client.get(stay_url(anna))
    assert anna.state == "cancelled" and 'id="stay-cancelled"' in page.text
    assert "State: Staying → Cancelled" in page.text and REASON in page.text
    assert 'href="/penginapan/tamu/%d/koreksi"' % anna.id not in page.text


# --- staff -----------------------------------------------------------------------------------

def test_the_person_in_charge_adds_a_new_colleague_with_a_first_password(lodgings, make, sign_in, db_session,
                                                                         app, english):
    client = sign_in(lodgings.operator)
    url = f"/penginapan/{lodgings.hotel.id}/staf"
    page = client.post(url, data={"email": "resepsionis@melati.example", "name": "Dewi"})
    assert page.status_code == 200 and 'id="first-password"' in page.text
    password = re.search(r'id="first-password">([^<]+)<', page.text).group(1)
    colleague = db_session.scalar(select(User).where(User.email == "resepsionis@melati.example"))
    assert colleague.role == "lodging" and colleague.check_password(password)
    colleague_client = app.test_client()
    assert colleague_client.post("/masuk", data={"email": colleague.email, "password": password}).status_code == 302
    assert colleague_client.get(check_in_url(lodgings.hotel)).status_code == 200
    other = make.user("lodging")
    known = client.post(url, data={"email": other.email})
    assert known.status_code == 200 and 'id="first-password"' not in known.text
    assert db_session.get(OrganisationMember, (lodgings.hotel.id, other.id)) is not None
    resident = make.user("resident")
    refused = client.post(url, data={"email": resident.email})
    db_session.expire_all()
    assert refused.status_code == 400 and resident.role == "resident"
    # A colleague who is not in charge sees the staff but cannot add any.
    staff_page = colleague_client.get(url)
    assert "Dewi" in staff_page.text and 'name="email"' not in staff_page.text
    assert colleague_client.post(url, data={"email": "x@example.com", "name": "X"}).status_code == 404


# --- another organisation --------------------------------------------------------------------

def test_another_organisation_gets_404_everywhere(lodgings, two_stays, sign_in, clock, db_session):
    anna, _john = two_stays
    hotel = lodgings.hotel
    client = sign_in(lodgings.other_operator)
    for url in (f"/penginapan/{hotel.id}", f"/penginapan/{hotel.id}/staf", check_in_url(hotel),
                f"/penginapan/{hotel.id}/tamu/keluar", f"/penginapan/{hotel.id}/tamu/diterima?stay={anna.id}",
                stay_url(anna), stay_url(anna, "/koreksi"), stay_url(anna, "/batal"),
                stay_url(anna, "/foto-paspor"), f"/tamu/sttpoa/{anna.id}"):
        assert client.get(url).status_code == 404, url
    for url in (check_in_url(hotel), f"/penginapan/{hotel.id}/staf", f"/penginapan/{hotel.id}/tamu/keluar",
                stay_url(anna, "/koreksi"), stay_url(anna, "/batal"), stay_url(anna, "/foto")):
        assert client.post(url, data={"reason": REASON, "stay": anna.id}).status_code == 404, url
    # The other organisation's own check-out page does not offer, nor check out, this guest.
    own = client.post(f"/penginapan/{lodgings.other_hotel.id}/tamu/keluar",
                      data={"stay": anna.id, "checked_out_at": as_local(clock.now, 7 * 60).strftime(MINUTE)})
    db_session.expire_all()
    assert own.status_code == 400 and anna.state == "present"


def test_signed_out_visitors_are_sent_to_sign_in(lodgings, client):
    answer = client.get(f"/penginapan/{lodgings.hotel.id}")
    assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]


def test_pages_are_never_stored(lodgings, two_stays, sign_in):
    answer = sign_in(lodgings.operator).get(stay_url(two_stays[0]))
    assert answer.status_code == 200 and "no-store" in answer.headers["Cache-Control"]


def test_problems_are_explained_in_indonesian_by_default(lodgings, sign_in, clock):
    client = sign_in(lodgings.operator)
    line1, line2 = john_mrz(clock).split("\n")
    wrong = f"{line1}\n{line2[:19]}{(int(line2[19]) + 1) % 10}{line2[20:]}"
    page = typed_check_in(client, lodgings.hotel, clock, [(wrong, {})], action="mrz-0")
    assert "Tanggal lahir tidak cocok dengan digit pemeriksanya" in error_of(page.text, "guests-0-date_of_birth")
    values = FormValues(typed_check_in(client, lodgings.hotel, clock, [(john_mrz(clock), {})],
                                       action="mrz-0").text).values
    values.update(stay_fields(clock, 0))
    values["guests-0-date_of_birth"] = (clock.today + timedelta(days=2)).isoformat()
    saved = client.post(check_in_url(lodgings.hotel), data={**values, "action": "save"})
    assert error_of(saved.text, "guests-0-date_of_birth") == "Tanggal lahir berada di masa depan."
