"""Tim PORA on phones, end to end: a supervisor adds a partner agency and a member to the office's
team, forwards a report from its page, plans a joint operation on it and records its result; the
member signs in for the first time (password, then the authenticator app), sees the office's
figures, reads the forwarded report without the reporter, and follows the operation."""
import re
import uuid
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from apoa.extensions import db
from apoa.periods import local_today
from apoa.reports.models import Report
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]


def report_id(live, code):
    with live.app.app_context():
        found = db.session.scalar(select(Report.id).where(Report.tracking_code == code))
        db.session.remove()
    return found


def click(page, selector):
    with page.expect_navigation():
        page.locator(selector).click()


def add_agency_and_member(phone, agency, member_email):
    """On the team page: the agency, then its member; returns the member's first password."""
    page = phone.page
    page.select_option("#kind", value="polri")
    page.fill("#name", agency)
    click(page, "#add-agency")
    assert page.inner_text("h1") == agency
    page.fill("#email", member_email)
    page.fill("#name", "Bripka Anton")
    click(page, "#add-member")
    assert phone.horizontal_overflow() <= 0, phone.too_wide()
    return page.inner_text("#first-password").strip()


def forward_and_operate(phone, report, agency):
    page = phone.page
    phone.goto(f"/laporan/{report}")
    page.fill("#pora textarea[name=note]", "Mohon dicek bersama Polres.")
    click(page, "#pora-forward")
    assert page.locator(".flash-success").count() == 1 and page.locator("#pora-forwarded li").count() == 1
    phone.goto("/tim-pora/kelola")
    click(page, "#plan-operation")
    page.fill("#title", "Operasi pabrik malam")
    with phone.live.app.app_context():
        yesterday = local_today() - timedelta(days=1)
    page.fill("#planned_on", yesterday.isoformat())
    page.get_by_label(agency).check()
    page.locator("#reports input[type=checkbox]").first.check()
    assert phone.horizontal_overflow() <= 0, phone.too_wide()
    click(page, "#plan-submit")
    assert page.locator(".flash-success").count() == 1, page.inner_text("main")
    page.fill("#result", "Tiga WNA diperiksa, dua tanpa izin kerja.")
    page.locator("textarea[id^=outcome_]").first.fill("Dua WNA tanpa izin kerja, diproses TAK.")
    click(page, "#save-result")
    assert page.locator(".flash-success").count() == 1, page.inner_text("main")
    assert "Tiga WNA diperiksa" in page.inner_text("#operation-result")


def first_sign_in(phone, email, password):
    """Password, then the authenticator app set up from the key on the page; ends on the landing."""
    page = phone.page
    phone.goto("/masuk")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/masuk/aktifkan-kode")
    secret = re.sub(r"\s", "", page.inner_text("#totp-secret"))
    page.fill("#code", pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    with page.expect_navigation():
        page.locator("main a.button").click()


def test_a_team_works_on_a_forwarded_report(phones, live, live_staff, live_report):
    code = live_report(description="Lima orang asing bekerja di pabrik tanpa izin setiap malam.")
    report = report_id(live, code)
    supervisor = live_staff("supervisor", "Penyelia Karawang")
    office_phone = phones("supervisor")
    sign_in(office_phone, supervisor, "/laporan")
    office_phone.goto("/tim-pora/kelola")
    agency = f"Polres Karawang {uuid.uuid4().hex[:6]}"
    member_email = f"anton-{uuid.uuid4().hex[:8]}@polri.example"
    password = add_agency_and_member(office_phone, agency, member_email)
    forward_and_operate(office_phone, report, agency)

    member_phone = phones("member")
    page = member_phone.page
    first_sign_in(member_phone, member_email, password)
    assert page.url.endswith("/tim-pora/"), page.url
    assert "Tim PORA" in page.inner_text("#team-line")
    assert page.locator("#m-received").count() == 1
    assert member_phone.horizontal_overflow() <= 0, member_phone.too_wide()
    click(page, "#team-nav a[href$='/tim-pora/laporan']")
    row = page.locator("#forwarded tbody tr").first
    with page.expect_navigation():
        row.locator("a").click()
    main = page.inner_text("main")
    assert "Lima orang asing bekerja di pabrik" in main and "Mohon dicek bersama Polres." in main
    assert code not in main
    assert "Operasi pabrik malam" in main and "Dua WNA tanpa izin kerja" in main
    assert member_phone.horizontal_overflow() <= 0, member_phone.too_wide()
    click(page, "#report-operations a")
    assert "Tiga WNA diperiksa" in page.inner_text("#operation-result")
    # The report itself stays the office's.
    assert member_phone.goto(f"/laporan/{report}").status == 404
    assert member_phone.goto("/tim-pora/kelola").status == 404
    watch = member_phone.watch
    expected = [m for m in watch.console_errors if "404" in m and ("/laporan/" in m or "/tim-pora/kelola" in m)]
    assert len(expected) == 2, watch.console_errors
    watch.console_errors = [m for m in watch.console_errors if m not in expected]
