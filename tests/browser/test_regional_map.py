"""A regional head reads the choropleth on a phone with no internet: signs in with the code from
the authenticator app, opens /peta/wilayah, sees Kabupaten Karawang coloured by its reports with a
legend, zooms in to its kecamatan, and nothing on the page asked for anything but the app itself.
A head sees the last month that ended (apoa/maps/regional.py): the test's reports are moved into it."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from apoa.extensions import db
from apoa.periods import add_months, local_midnight, local_today
from apoa.reports.models import Report
from tests.browser.helpers import KARAWANG, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

REGIONAL_MAP = "/peta/wilayah"
SUPPRESSED_GREY = "rgb(217, 221, 225)"   # band 0 in css/regional.css


def area_fills(page):
    """The fill colour of every area drawn, by its band class."""
    return page.evaluate("""() => Array.from(document.querySelectorAll("path.apoa-area")).map(p => ({
        band: Array.from(p.classList).find(c => c.startsWith("apoa-band-")),
        fill: getComputedStyle(p).fill, box: p.getBoundingClientRect().width }))""")


def received_last_month(live, codes):
    """The reports of `codes` as if received on the 10th of last month (the live server's today)."""
    with live.app.app_context():
        moment = local_midnight(add_months(local_today().replace(day=1), -1) + timedelta(days=9))
        db.session.execute(update(Report).where(Report.tracking_code.in_(codes))
                           .values(created_at=moment + timedelta(hours=3)))
        db.session.commit()
        db.session.remove()


def test_a_regional_head_reads_the_choropleth_offline(live, live_report, live_staff, phone):
    # In one kecamatan: split 3 + 1 over two, the kabupaten's 4 would give the 1 back, and the head's map
    # would withhold it ("–").
    received_last_month(live, [live_report(point=(107.30 + offset * 0.0002, -6.30))
                               for offset in range(4)])
    head = live_staff("regional_head", "Kepala Kantor Karawang")
    page = phone.page
    try:
        sign_in(phone, head, REGIONAL_MAP, via_redirect=False)
        page.wait_for_selector("html[data-apoa-map=ready]")

        fills = area_fills(page)
        assert fills, "no area drawn"
        coloured = [f for f in fills if f["band"] != "apoa-band-0"]
        assert coloured and all(f["fill"] != SUPPRESSED_GREY and f["box"] > 0 for f in coloured), fills
        legend = page.locator(".leaflet-control.apoa-legend")
        assert legend.is_visible()
        assert "< 3" in legend.inner_text()
        assert legend.locator(".apoa-swatch").count() >= 2
        # The table under the map says the same for screen readers: Karawang, with its number.
        row = page.locator(f'table.regional-table tr[data-kode="{KARAWANG}"] td.num')
        assert int(row.inner_text()) >= 4

        # Zoomed in, the kabupaten splits into its kecamatan.
        with page.expect_response(lambda r: "/peta/wilayah/data.json" in r.url and "zoom=11" in r.url):
            page.evaluate("""() => { const map = Object.values(window).find(v => v instanceof L.Map);
                                     map.setView([-6.30, 107.30], 11); }""")
        page.wait_for_function("() => document.querySelectorAll('path.apoa-area').length > 3")
        assert page.locator("#regional-map-status").is_hidden()
        assert phone.problems() == []
    finally:
        phone.screenshot("regional-map")
