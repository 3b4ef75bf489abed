"""A regional head opens this month's report on a phone, sees the figures, the charts and the map
fit the screen, fetches the PDF, and prints: the print layout hides the chooser and the data-table
toggles. Screenshots of the screen and of the print layout are saved in test-artifacts/."""
from datetime import timedelta, timezone

import pytest
from sqlalchemy import select

from apoa.extensions import db
from apoa.reports.models import Report
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]
WIB = timezone(timedelta(hours=7))


def received_month(live, code):
    """The month (local, YYYY-MM) in which the report `code` was received, asked of the database."""
    with live.app.app_context():
        received = db.session.scalar(select(Report.created_at).where(Report.tracking_code == code))
        db.session.remove()
    return received.astimezone(WIB).strftime("%Y-%m")


def three_reports_in_one_month(live, live_report):
    """Makes reports until the last three were received in the same month, and returns it: a run
    across a month's last midnight still opens a month holding its three reports."""
    months = []
    while len(months) < 3 or len(set(months[-3:])) > 1:
        months.append(received_month(live, live_report()))
    return months[-1]


def test_a_regional_head_reads_and_prints_the_monthly_report(live, live_report, live_staff, phone):
    month = three_reports_in_one_month(live, live_report)
    sign_in(phone, live_staff("regional_head", "Kepala Kantor Karawang"), "/ringkasan")
    page = phone.page
    try:
        phone.goto(f"/ringkasan/bulanan?bulan={month}")
        assert page.locator("#monthly-scope").inner_text() == "Kantor Imigrasi Karawang"
        received = page.inner_text("#m-received").strip()
        assert received != "< 3" and int(received.replace(".", "")) >= 3
        for figure in ("figure.monthly-map svg", "figure#chart-trend svg", "figure#chart-outcome svg"):
            assert page.locator(figure).is_visible(), figure
        assert "Kabupaten Karawang" in page.inner_text("#monthly-kabupaten")
        assert page.locator("figure.monthly-map path").count() >= 1
        assert phone.horizontal_overflow() <= 0, phone.too_wide()
        phone.screenshot("monthly")

        pdf = page.request.get(phone.live(page.locator("#monthly-pdf").get_attribute("href")))
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

        page.emulate_media(media="print")
        assert not page.locator("form.monthly-toolbar").is_visible()
        assert not page.locator("header.topbar").is_visible()
        assert not page.locator("figure#chart-trend details").is_visible()
        phone.screenshot("monthly-print")
        assert phone.problems() == []
    finally:
        page.emulate_media(media="screen")
