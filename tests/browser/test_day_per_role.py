"""A day's work per role, on a phone, without a guess: each person opens the sign-in page itself
(no `next`) and lands on their work. The officer finds the report assigned to them in "Tugas
saya", sorts by distance, starts the field check and reads who must act next, finds another
report by a code typed from a phone call, and opens the field sheet (one A4 page when printed). The
supervisor lands on the decisions awaiting approval and approves one. The regional head lands on
the dashboard and reaches the export (downloading the counts) and the monthly report from the
header. The administrator lands on the staff accounts."""
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from apoa.auth.models import User
from apoa.extensions import db
from apoa.reports.models import Report
from apoa.reports.tracking import display
from apoa.reports.workflow import Action, apply
from tests.browser.helpers import give_credentials

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

CIKAMPEK = (107.45, -6.40)
TELUKJAMBE = (107.27, -6.33)
JAKARTA = (106.8271, -6.1754)  # no office's jurisdiction in the browser database


def sign_in_at_the_door(phone, staff):
    """Open /masuk as a person would, give email, password and the app's code; return the path
    the sign-in ended on."""
    phone.goto("/masuk")
    give_credentials(phone, staff)
    return phone.page.url.removeprefix(phone.live.url)


def take(live, code, *steps):
    """Apply workflow steps to the report with `code` in the live database: (action, staff,
    params), where a LiveStaff among the params stands for its user."""
    with live.app.app_context():
        report = db.session.scalar(select(Report).where(Report.tracking_code == code))
        for action, staff, params in steps:
            params = {name: user_of(value) for name, value in params.items()}
            apply(report, action, db.session.get(User, staff.id), **params)
        db.session.commit()
        report_id = report.id
        db.session.remove()
    return report_id


def user_of(value):
    """A LiveStaff (the fixtures' record of a committed staff user: it has a TOTP secret) as its
    User, in the live app's session; any other value as it is."""
    return db.session.get(User, value.id) if hasattr(value, "secret") else value


def assert_fits(phone):
    assert phone.horizontal_overflow() <= 0, phone.too_wide()


def success_message(page):
    flashes = page.locator("p.flash-success")
    assert flashes.count() == 1, page.inner_text("main")
    return flashes.inner_text()


def task_rows(page):
    return {row.get_attribute("data-report-id"): row.get_attribute("data-task")
            for row in page.locator("table.tasks tbody tr").all()}


def test_an_officers_day(live, live_report, live_staff, phones):
    officer = live_staff("officer", "Rina Lapangan")
    screener = live_staff("officer", "Agus Penelaah")
    supervisor = live_staff("supervisor", "Sari Koordinator")
    far_code = live_report(point=CIKAMPEK, description="Orang asing bekerja di pabrik di Cikampek.")
    near_code = live_report(point=TELUKJAMBE, description="Orang asing menginap lama di rumah kos.")
    by_phone_code = live_report(description="Laporan lewat telepon: orang asing berjualan di pasar.")
    hidden_code = live_report(point=JAKARTA, description="Laporan di luar wilayah kantor Karawang.")
    assign = [(Action.screen, screener, {}),
              (Action.assign, supervisor, {"assignee": officer, "note": "Cek pagi ini."})]
    far_id = take(live, far_code, *assign)
    near_id = take(live, near_code, *assign)

    phone = phones("officer")
    page = phone.page
    # Signing in lands on the tasks, the nearest first once the phone's location is allowed.
    assert sign_in_at_the_door(phone, officer) == "/tugas-saya"
    assert page.locator("header nav a.nav-link").first.get_attribute("href") == "/tugas-saya"
    rows = task_rows(page)
    assert rows[str(far_id)] == "assigned" and rows[str(near_id)] == "assigned"
    assert_fits(phone)
    page.context.grant_permissions(["geolocation"], origin=live.url)
    page.context.set_geolocation({"latitude": -6.331, "longitude": 107.269})
    with page.expect_navigation():
        page.locator("#sort-by-distance").click()
    assert "lat=-6.331" in page.url and "lon=107.269" in page.url
    order = [row.get_attribute("data-report-id") for row in page.locator("table.tasks tbody tr").all()]
    assert order.index(str(near_id)) < order.index(str(far_id))
    assert page.locator("td.distance").first.is_visible()
    phone.screenshot("day-officer-tasks")

    # The nearest report: start the field check; the message says who acts next.
    with page.expect_navigation():
        page.locator("table.tasks a.code", has_text=display(near_code)).click()
    details = page.locator("details#action-start_field_check")
    details.locator("summary").click()
    with page.expect_navigation():
        details.locator("button[type=submit]").click()
    assert officer.name in success_message(page)  # "… Rina Lapangan must record the finding."

    # A resident calls with another code and reads it out: typed small, in groups.
    typed = " ".join(by_phone_code[i:i + 4] for i in range(0, len(by_phone_code), 4)).lower()
    page.fill("#nav-code", typed)
    with page.expect_navigation():
        page.locator("form.code-search button[type=submit]").click()
    assert page.inner_text("h1 .code").strip() == display(by_phone_code)
    # A code of a report outside the office's jurisdiction is "not found", the code kept.
    page.fill("#nav-code", hidden_code)
    with page.expect_navigation() as answer:
        page.locator("form.code-search button[type=submit]").click()
    assert answer.value.status == 404
    assert page.locator("#code-not-found").is_visible()
    assert page.input_value("#code") == hidden_code
    expected_404 = [m for m in phone.watch.console_errors if "404" in m and "/laporan/cari" in m]
    phone.watch.console_errors = [m for m in phone.watch.console_errors if m not in expected_404]

    # The field sheet of the report in the field: facts, map and QR, on one A4 page.
    phone.goto(f"/laporan/{near_id}")
    with page.expect_navigation():
        page.locator("#field-sheet-link").click()
    assert page.url.endswith(f"/laporan/{near_id}/lembar-lapangan")
    assert page.locator("svg#sheet-map path.sheet-outline").count() == 1
    assert page.locator("svg#sheet-map").is_visible() and page.locator(".sheet-qr svg").is_visible()
    assert "Cek pagi ini." in page.inner_text("#field-sheet")
    assert_fits(phone)
    phone.screenshot("day-officer-field-sheet")
    page.emulate_media(media="print")
    assert not page.locator("header.topbar").is_visible()
    assert not page.locator("button[data-print]").is_visible()
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", prefer_css_page_size=True, print_background=True)))
    assert len(pdf.pages) == 1
    assert "Cek pagi ini." in pdf.pages[0].extract_text()
    page.emulate_media(media="screen")
    assert phone.problems() == []


def test_a_supervisors_day(live, live_report, live_staff, phones):
    officer = live_staff("officer", "Dedi Penelaah")
    supervisor = live_staff("supervisor", "Maya Kepala Seksi")
    code = live_report(description="Orang asing dilaporkan bekerja, ternyata alamat tidak ada.")
    report_id = take(live, code, (Action.screen, officer, {}),
                     (Action.dismiss, officer, {"reason": "Alamat tidak ditemukan di peta desa."}))

    phone = phones("supervisor")
    page = phone.page
    assert sign_in_at_the_door(phone, supervisor) == "/tugas-saya"
    assert task_rows(page)[str(report_id)] == "approval"
    assert_fits(phone)
    with page.expect_navigation():
        page.locator("table.tasks a.code", has_text=display(code)).click()
    details = page.locator("details#action-approve")
    details.locator("summary").click()
    with page.expect_navigation():
        details.locator("button[type=submit]").click()
    assert success_message(page)
    # Back to the tasks from the header: the approved report is gone from them.
    with page.expect_navigation():
        page.locator("header nav a.nav-link[href='/tugas-saya']").click()
    assert str(report_id) not in task_rows(page)
    assert phone.problems() == []


def test_a_regional_heads_day(live, live_report, live_staff, phones):
    for _ in range(3):
        live_report()
    head = live_staff("regional_head", "Kepala Kantor Karawang")
    phone = phones("head")
    page = phone.page
    assert sign_in_at_the_door(phone, head) == "/ringkasan"
    assert page.locator("#kpi-received").is_visible()
    assert_fits(phone)
    with page.expect_navigation():
        page.locator("header nav a.nav-link[href='/ekspor']").click()
    link = page.locator("a[data-export='aggregates-csv']")
    with page.expect_download() as download:
        link.click()
    with open(download.value.path(), encoding="utf-8-sig") as exported:
        assert "," in exported.readline()
    assert page.locator("a[data-export='rows-csv']").count() == 0  # counts, never rows
    with page.expect_navigation():
        page.locator("header nav a.nav-link[href='/ringkasan/bulanan']").click()
    assert page.url.endswith("/ringkasan/bulanan")
    assert page.locator("button[data-print]").is_visible()
    assert phone.problems() == []


def test_an_administrators_day(live, live_staff, phones):
    admin = live_staff("admin", "Admin Kantor")
    phone = phones("admin")
    page = phone.page
    assert sign_in_at_the_door(phone, admin) == "/admin/pengguna"
    assert admin.email in page.inner_text("main")
    assert page.locator("header nav a.nav-link[href='/laporan']").count() == 0
    assert_fits(phone)
    assert phone.problems() == []
