"""A regional head opens the summary dashboard on a phone: signs in with the authenticator code,
reads the figures and the server-drawn charts (which fit the 360 px screen), opens a chart's data
table, switches the period, and nothing on the page fails. A screenshot of the dashboard is saved
in test-artifacts/dashboard.png every run."""
import re

import pytest

from tests.browser.helpers import sign_in
from tests.browser.test_monthly import received_last_month

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]


def count_in(page, selector):
    text = page.inner_text(selector).strip()
    assert re.fullmatch(r"\d[\d.]*|< 3|–", text), text
    return text


def test_a_regional_head_reads_the_dashboard_on_a_phone(live, live_report, live_staff, phone):
    month = received_last_month(live, [live_report() for _ in range(4)])   # a head sees ended months
    head = live_staff("regional_head", "Kepala Kantor Karawang")
    sign_in(phone, head, "/ringkasan")
    page = phone.page
    try:
        received = count_in(page, "#kpi-received")
        assert received != "< 3" and int(received.replace(".", "")) >= 4
        for selector in ("#kpi-closed", "#kpi-new", "#kpi-in-progress", "#kpi-overdue"):
            count_in(page, selector)
        # The charts are drawn, visible and as wide as the screen allows.
        for chart in ("chart-trend", "chart-kabupaten", "chart-category", "chart-channel", "chart-outcome"):
            svg = page.locator(f"figure#{chart} svg")
            assert svg.is_visible(), chart
            box = svg.bounding_box()
            assert 280 <= box["width"] <= 360 and box["height"] > 20, (chart, box)
        assert page.locator("figure#chart-trend svg rect.chart-received").count() >= 1
        assert page.locator("figure#chart-kabupaten svg rect.chart-received").count() >= 1
        assert "Kabupaten Karawang" in page.inner_text("figure#chart-kabupaten")
        # The chart's numbers as a table, for screen readers and for the curious.
        table = page.locator("#chart-kabupaten-data")
        assert not table.is_visible()
        page.locator("figure#chart-kabupaten details summary").click()
        assert table.is_visible()
        assert "Kabupaten Karawang" in table.inner_text()
        assert phone.horizontal_overflow() <= 0, phone.too_wide()
        # A month, through the chooser.
        page.select_option("#bulan", value=month)
        with page.expect_navigation():
            page.locator("form.period-form button[type=submit]").click()
        assert f"bulan={month}" in page.url
        assert int(count_in(page, "#kpi-received").replace(".", "")) >= 4
        assert page.locator("figure#chart-trend svg").is_visible()
        assert phone.problems() == []
    finally:
        phone.screenshot("dashboard")
