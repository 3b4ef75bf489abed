"""A regional head reads the choropleth on a phone with no internet: signs in with the code from
the authenticator app, opens /peta/wilayah, sees Kabupaten Karawang coloured by its reports with a
legend, zooms in to its kecamatan, and nothing on the page asked for anything but the app itself."""
import pytest

from tests.browser.helpers import KARAWANG, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

REGIONAL_MAP = "/peta/wilayah"
SUPPRESSED_GREY = "rgb(217, 221, 225)"   # band 0 in css/regional.css


def area_fills(page):
    """The fill colour of every area drawn, by its band class."""
    return page.evaluate("""() => Array.from(document.querySelectorAll("path.apoa-area")).map(p => ({
        band: Array.from(p.classList).find(c => c.startsWith("apoa-band-")),
        fill: getComputedStyle(p).fill, box: p.getBoundingClientRect().width }))""")


def test_a_regional_head_reads_the_choropleth_offline(live_report, live_staff, phone):
    for offset in range(4):
        live_report(point=(107.30 + offset * 0.002, -6.30))
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
        page.wait_for_function("document.querySelectorAll('path.apoa-area').length > 3")
        assert page.locator("#regional-map-status").is_hidden()
        assert phone.problems() == []
    finally:
        phone.screenshot("regional-map")
