"""A lodging reports its foreign guests on a phone, end to end: the operator signs up and registers
the lodging with a point on the map, a supervisor of the office verifies it, the operator checks
two guests in by pasting their passports' MRZ, prints a receipt and checks one guest out; an
officer sees the other guest staying and finds them by passport number; the operator of a lodging
in another office's jurisdiction sees none of it."""
import random
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from apoa.extensions import db
from apoa.guests.models import Organisation
from apoa.guests.mrz import format_td3
from apoa.guests.services import register_organisation, verify_organisation
from tests.browser.helpers import sign_in
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

JAKARTA = timezone(timedelta(hours=7))
KARAWANG_POINT = ("-6.30512", "107.30148")
KETAPANG = (110.0, -1.85)  # Kabupaten Ketapang, outside the Karawang office's jurisdiction
REASON = "Pemeriksaan tamu asing atas laporan warga di sekitar penginapan."


def passport(surname, given_names, number, nationality, sex, born):
    """A guest's passport MRZ, valid for five more years from today (any day the test runs)."""
    expiry = date.today() + timedelta(days=5 * 365)
    return format_td3(surname=surname, given_names=given_names, passport_number=number,
                      nationality=nationality, birth_date=born, sex=sex, expiry_date=expiry)


# The browser database is shared by the run's browser tests: each run's passport numbers are its own.
ANNA = dict(surname="Lindqvist", given_names="Anna", number=f"SE{random.randrange(10**7):07d}", nationality="SWE",
            sex="F", born=date(1991, 4, 12))
KENJI = dict(surname="Tanaka", given_names="Kenji", number=f"TK{random.randrange(10**7):07d}", nationality="JPN",
             sex="M", born=date(1984, 11, 3))


def sign_up_and_register(phone, email, lodging):
    """On the phone: a lodging account, then the lodging with its place typed in; ends on the
    lodging's page, waiting for verification."""
    page = phone.page
    phone.goto("/")
    with page.expect_navigation():
        page.get_by_role("link", name="Daftar untuk melaporkan tamu asing").click()
    page.fill("#name", "Sari Wulandari")
    page.fill("#email", email)
    page.fill("#password", TEST_PASSWORD)
    page.fill("#confirm", TEST_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "/masuk?next=" in page.url
    page.fill("#email", email)
    page.fill("#password", TEST_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/penginapan/baru")
    page.check("input[name=kind][value=lodging]")
    page.fill("#name", lodging)
    page.fill("#licence_no", "9120001234567")
    page.select_option("#lodging_kind", value="guesthouse")
    page.fill("#address", "Jl. Tuparev 45, Karawang")
    page.fill("#latitude", KARAWANG_POINT[0])
    page.fill("#longitude", KARAWANG_POINT[1])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert lodging in page.inner_text("main")
    assert "belum memverifikasi" in page.inner_text("main"), page.inner_text("main")
    assert phone.horizontal_overflow() <= 0, phone.too_wide()


def verify(phone, supervisor, lodging):
    page = phone.page
    sign_in(phone, supervisor, "/pengawasan/tamu/verifikasi")
    section = page.locator("section.panel", has=page.get_by_role("heading", name=lodging))
    assert section.count() == 1, page.inner_text("main")
    with page.expect_navigation():
        section.get_by_role("button", name="Setujui").click()
    assert f"{lodging} sudah diverifikasi" in page.inner_text("main"), page.inner_text("main")


def fill_guest(page, index, person, yesterday):
    """Paste the MRZ (the page fills the passport fields), then the stay's own fields."""
    prefix = f"#guests-{index}-"
    page.fill(prefix + "mrz", passport(**person))
    page.wait_for_function(
        "([id, value]) => document.getElementById(id).value === value",
        arg=[f"guests-{index}-passport_number", person["number"]])
    assert page.input_value(prefix + "surname") == person["surname"].upper()
    assert page.input_value(prefix + "nationality") == person["nationality"]
    page.select_option(prefix + "permit_kind", value="visa_on_arrival")
    page.fill(prefix + "arrived_in_indonesia", yesterday.isoformat())
    page.fill(prefix + "planned_check_out", (yesterday + timedelta(days=5)).isoformat())


def check_in_two(phone):
    """Check Anna and Kenji in together; returns the receipts' numbers shown."""
    page = phone.page
    with page.expect_navigation():
        page.locator("nav.org-links").get_by_role("link", name="Check-in tamu").click()
    yesterday = datetime.now(JAKARTA).date() - timedelta(days=1)
    fill_guest(page, 0, ANNA, yesterday)
    with page.expect_navigation():
        page.click("#add-guest")
    fill_guest(page, 1, KENJI, yesterday)
    with page.expect_navigation():
        page.click("#save-guests")
    assert "2 tamu telah di-check-in" in page.inner_text("h1"), page.inner_text("main")
    numbers = [n.strip() for n in page.locator("#receipts .sttpoa-no").all_inner_texts()]
    assert len(numbers) == 2 and all(n.startswith("STTPOA-") for n in numbers)
    assert phone.horizontal_overflow() <= 0, phone.too_wide()
    return numbers


def print_receipt(phone, number):
    page = phone.page
    card = page.locator("#receipts li", has_text=number)
    with page.expect_navigation():
        card.get_by_role("link", name="Cetak STTPOA").click()
    assert page.inner_text("#sttpoa-number").strip() == number
    assert page.locator("#sttpoa svg").count() >= 1  # the QR code of the public check
    page.go_back()


def check_out(phone, organisation_id, surname):
    page = phone.page
    phone.goto(f"/penginapan/{organisation_id}/tamu/keluar")
    page.locator("label.choice", has_text=surname.upper()).locator("input[type=checkbox]").check()
    with page.expect_navigation():
        page.locator("form.checkout-form button[type=submit]").click()
    present = page.inner_text("#present-guests") if page.locator("#present-guests").count() else ""
    assert surname.upper() not in present and ANNA["surname"].upper() in present, page.inner_text("main")


def officer_finds_the_guest_staying(phone, officer, organisation_id):
    page = phone.page
    sign_in(phone, officer, "/pengawasan/tamu")
    phone.goto(f"/pengawasan/tamu?organisation={organisation_id}")
    rows = page.locator("table.guests tbody tr")
    assert rows.count() == 1, page.inner_text("main")
    assert "(SWE)" in rows.first.inner_text()
    assert "LINDQVIST" not in page.inner_text("main")  # lists never name a guest
    phone.goto("/pengawasan/tamu/cari-paspor")
    page.fill("#number", ANNA["number"])
    page.fill("#reason", REASON)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "1 data menginap ditemukan" in page.inner_text("main"), page.inner_text("main")
    assert "(SWE)" in page.inner_text("table.guests")
    assert phone.horizontal_overflow() <= 0, phone.too_wide()


def other_lodging(live, email):
    """A verified lodging in Ketapang, signed up by another operator, and that operator's
    password sign-in details."""
    from apoa.auth.services import create_user
    from apoa.regions.offices import create_office, set_jurisdiction

    with live.app.app_context():
        tag = uuid.uuid4().hex[:6].upper()
        code = f"KANIM-KTP-{tag}"
        create_office(f"KANWIL-KALBAR-{tag}", "Kantor Wilayah Kalimantan Barat", "kanwil", parent_code="DITJEN")
        create_office(code, "Kantor Imigrasi Ketapang", "kantor", parent_code=f"KANWIL-KALBAR-{tag}")
        set_jurisdiction(code, ["61.04"])
        head = create_user(f"spv-{uuid.uuid4().hex[:8]}@ketapang.example", "Penyelia Ketapang",
                           TEST_PASSWORD, "supervisor", office_code=code)
        person = create_user(email, "Budi Pesisir", TEST_PASSWORD, "lodging")
        lodging = register_organisation(person, "lodging", "Hotel Pesisir Ketapang",
                                        "Jl. Merdeka 1, Ketapang", KETAPANG,
                                        licence_no="9120007654321", lodging_kind="hotel")
        verify_organisation(lodging, head, approve=True, note=None, now=datetime.now(timezone.utc))
        db.session.commit()
        lodging_id = lodging.id
        db.session.remove()
    return lodging_id


def sign_in_with_password(phone, email):
    page = phone.page
    phone.goto("/masuk")
    page.fill("#email", email)
    page.fill("#password", TEST_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def organisation_id_named(live, name):
    with live.app.app_context():
        found = db.session.query(Organisation.id).filter(Organisation.name == name).scalar()
        db.session.remove()
    return found


def test_a_lodging_reports_two_guests_and_the_office_sees_them(phones, live, live_staff):
    tag = uuid.uuid4().hex[:6]
    lodging = f"Wisma Melati {tag}"
    operator = phones("operator")
    sign_up_and_register(operator, f"sari-{tag}@wisma.example", lodging)
    organisation_id = organisation_id_named(live, lodging)

    verify(phones("supervisor"), live_staff("supervisor"), lodging)

    operator.goto(f"/penginapan/{organisation_id}")
    anna_no, kenji_no = check_in_two(operator)
    print_receipt(operator, anna_no)
    check_out(operator, organisation_id, KENJI["surname"])

    officer_finds_the_guest_staying(phones("officer"), live_staff("officer"), organisation_id)

    # The public check of a receipt says it is genuine and names no guest.
    stranger = phones("stranger")
    stranger.goto(f"/sttpoa/{anna_no}")
    assert stranger.page.locator("#sttpoa-valid").count() == 1
    assert "LINDQVIST" not in stranger.page.inner_text("main")

    # The operator of a lodging in Ketapang (another office) sees nothing of Wisma Melati.
    other_email = f"budi-{tag}@pesisir.example"
    other_lodging(live, other_email)
    other = phones("other operator")
    sign_in_with_password(other, other_email)
    assert "LINDQVIST" not in other.page.inner_text("main") and lodging not in other.page.inner_text("main")
    answer = other.page.goto(live(f"/penginapan/{organisation_id}"))
    assert answer.status == 404
    answer = other.page.goto(live(f"/penginapan/{organisation_id}/tamu/keluar"))
    assert answer.status == 404
    # Chromium logs each 404 page as a console error: these two were the point.
    refused = [m for m in other.watch.console_errors if "404" in m and f"/penginapan/{organisation_id}" in m]
    assert len(refused) == 2
    other.watch.console_errors = [m for m in other.watch.console_errors if m not in refused]
