"""A regional head switches the regional map to an indicator layer on a phone: the areas are coloured by the
imported figures and the legend names the indicator's year and source, as the table under the map does."""
import pytest

from apoa.extensions import db
from apoa.indicators.importer import import_indicators
from tests.browser.helpers import KARAWANG, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

SOURCE = "BPS Kabupaten Karawang, Karawang dalam Angka 2025"


def test_the_legend_names_the_indicators_source(live, live_staff, phone):
    with live.app.app_context():
        import_indicators("kode,population\n32.15,2500000\n32.16,3200000\n", year=2024, source=SOURCE,
                          units={"population": "jiwa"})
        db.session.commit()
    head = live_staff("regional_head", "Kepala Kantor Karawang")
    page = phone.page
    try:
        sign_in(phone, head, "/peta/wilayah?layer=indicator:population", via_redirect=False)
        page.wait_for_selector("html[data-apoa-map=ready]")
        legend = page.locator(".leaflet-control.apoa-legend")
        assert legend.is_visible()
        assert SOURCE in legend.inner_text() and "2024" in legend.inner_text()
        assert page.locator("path.apoa-area.apoa-band-1").count() >= 1
        row = page.locator(f'table.regional-table tr[data-kode="{KARAWANG}"] td.num')
        assert row.inner_text().replace(".", "").replace(",", "") == "2500000"
        assert phone.problems() == []
    finally:
        phone.screenshot("regional-indicators")
