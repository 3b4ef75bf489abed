"""A regional head opens last month's report on a phone, sees the figures, the charts and the map
fit the screen, fetches the PDF, and prints: the print layout hides the chooser and the data-table
toggles. Screenshots of the screen and of the print layout are saved in test-artifacts/."""
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import update

from apoa.extensions import db
from apoa.periods import add_months, local_today
from apoa.reports.models import Report
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]
WIB = timezone(timedelta(hours=7))


def received_last_month(live, codes):
    """Moves the reports `codes` to 10:00 WIB on the 3rd of last month (heads and monthly reports see
    whole months that have ended) and returns that month as YYYY-MM."""
    with live.app.app_context():
        first = add_months(local_today().replace(day=1), -1)
        received = datetime.combine(first + timedelta(days=2), time(10), WIB).astimezone(timezone.utc)
        db.session.execute(update(Report).where(Report.tracking_code.in_(codes)).values(created_at=received))
        db.session.commit()
        db.session.remove()
    return first.strftime("%Y-%m")


def test_a_regional_head_reads_and_prints_the_monthly_report(live, live_report, live_staff, phone):
    month = received_last_month(live, [live_report() for _ in range(3)])
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
