"""Officers on phones take a resident's report through the whole workflow: an officer signs in with
a code from the authenticator app and screens it, a supervisor assigns it to a field officer, who
starts the field check and records the finding, the supervisor approves, and the resident's status
reads Selesai. Everything is done in the browser, as a person would: links, taps and typing."""
import pytest

from apoa.reports.tracking import display
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

# The interface speaks Indonesian (the phones' locale is id-ID).
STATE_TITLES = {"new": "Baru", "screening": "Penelaahan", "assigned": "Ditugaskan",
                "in_field": "Pemeriksaan lapangan", "pending_approval": "Menunggu persetujuan",
                "closed": "Ditutup"}
FINDING = "Lokasi proyek diperiksa bersama pengawas; tidak ada orang asing yang bekerja di sana."


def open_report_from_queue(phone, code, state):
    """In the queue: filter on the report's state, then follow the row's tracking-code link."""
    page = phone.page
    filters = page.locator("details.filters")
    if filters.get_attribute("open") is None:
        filters.locator("summary").click()
    page.select_option("#state", value=state)
    with page.expect_navigation():
        filters.locator("button[type=submit]").click()
    link = page.locator("table.queue a.code", has_text=display(code))
    assert link.count() == 1, page.inner_text("main")
    with page.expect_navigation():
        link.click()
    assert page.inner_text("h1 .code").strip() == display(code)


def state_shown(page):
    return page.inner_text("p.badges .badge:first-child").strip()


def open_action(page, action):
    """Unfold an action's form (a <details> on the report page) and return the form."""
    details = page.locator(f"details#action-{action}")
    details.locator("summary").click()
    form = details.locator(f'form[action*="/aksi/{action}"]')
    form.wait_for()
    return form


def submit_action(page, form):
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator("p.flash-success").count() == 1, page.inner_text("main")


def actions_offered(page):
    return sorted(d.get_attribute("id").removeprefix("action-")
                  for d in page.locator("details.action").all())


def assert_fits(phone):
    assert phone.horizontal_overflow() <= 0, phone.too_wide()


def test_officers_take_a_report_from_screening_to_done(live_report, live_staff, phones):
    code = live_report(description="Sekitar sepuluh orang asing bekerja di proyek gudang tanpa izin kerja.")
    officer = live_staff("officer", "Rina Officer")
    field_officer = live_staff("officer", "Dedi Lapangan")
    supervisor = live_staff("supervisor", "Sari Supervisor")

    # The officer signs in with the code from the app, finds the new report and screens it.
    officer_phone = phones("officer")
    page = officer_phone.page
    sign_in(officer_phone, officer)
    assert_fits(officer_phone)
    officer_phone.screenshot("officer-queue")
    open_report_from_queue(officer_phone, code, "new")
    assert state_shown(page) == STATE_TITLES["new"]
    assert "screen" in actions_offered(page) and "assign" not in actions_offered(page)
    assert_fits(officer_phone)
    officer_phone.screenshot("officer-report-new")
    form = open_action(page, "screen")
    form.locator("textarea").fill("Laporan jelas dan lokasinya di wilayah kita.")
    submit_action(page, form)
    assert state_shown(page) == STATE_TITLES["screening"]
    assert "assign" not in actions_offered(page)  # assigning is for supervisors
    assert officer_phone.problems() == []

    # The supervisor signs in, opens it from the queue and assigns the field officer.
    supervisor_phone = phones("supervisor")
    page = supervisor_phone.page
    sign_in(supervisor_phone, supervisor)
    assert_fits(supervisor_phone)
    supervisor_phone.screenshot("supervisor-queue")
    open_report_from_queue(supervisor_phone, code, "screening")
    assert state_shown(page) == STATE_TITLES["screening"]
    form = open_action(page, "assign")
    page.select_option("#assign-assignee", value=str(field_officer.id))
    page.fill("#assign-note", "Mohon dicek besok pagi.")
    assert_fits(supervisor_phone)
    supervisor_phone.screenshot("supervisor-report-assign")
    submit_action(page, form)
    assert state_shown(page) == STATE_TITLES["assigned"]
    assert "Dedi Lapangan" in page.inner_text("main")
    assert supervisor_phone.problems() == []

    # The field officer signs in, starts the field check and records what was found.
    field_phone = phones("field officer")
    page = field_phone.page
    sign_in(field_phone, field_officer)
    open_report_from_queue(field_phone, code, "assigned")
    assert state_shown(page) == STATE_TITLES["assigned"]
    form = open_action(page, "start_field_check")
    submit_action(page, form)
    assert state_shown(page) == STATE_TITLES["in_field"]
    form = open_action(page, "record_finding")
    page.select_option("#record_finding-outcome", value="not_found")
    page.fill("#record_finding-people_found", "0")
    page.fill("#record_finding-documents_checked", "0")
    page.fill("#record_finding-notes", FINDING)
    assert_fits(field_phone)
    field_phone.screenshot("field-officer-report-finding")
    submit_action(page, form)
    assert state_shown(page) == STATE_TITLES["pending_approval"]
    assert "approve" not in actions_offered(page)  # nobody approves their own finding
    assert field_phone.problems() == []

    # The supervisor, still signed in, approves.
    page = supervisor_phone.page
    page.locator("header nav a[href='/laporan']").click()
    page.wait_for_url("**/laporan")
    open_report_from_queue(supervisor_phone, code, "pending_approval")
    assert state_shown(page) == STATE_TITLES["pending_approval"]
    assert FINDING in page.inner_text("main")
    form = open_action(page, "approve")
    supervisor_phone.screenshot("supervisor-report-approve")
    submit_action(page, form)
    assert state_shown(page) == STATE_TITLES["closed"]
    assert "approve" not in actions_offered(page)
    assert supervisor_phone.problems() == []

    # The resident, not signed in, looks the code up: done.
    resident_phone = phones("resident")
    page = resident_phone.page
    resident_phone.goto("/status")
    page.fill("#code", code)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.inner_text("#public-status").strip() == "Selesai"
    assert FINDING not in page.inner_text("main")  # the result of the check is not published
    assert resident_phone.problems() == []
