"""The officers' map in a phone's browser with no internet: clusters zoomed out, the reports
themselves zoomed in with a popup that opens the report page, the heat layer, and a hotspot link
that takes the map there. Every request goes to 127.0.0.1 only; a screenshot of each view is kept
in test-artifacts/ for people to look at."""
import pytest

from apoa.reports.tracking import display
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

# A corner of Karawang no other browser test uses (they share one database): the street view
# there holds only this test's reports.
QUIET_STREET = (107.3571, -6.2713)
READY = "html[data-apoa-map=ready]"


def open_map(phone, path):
    """Open a map page and wait until its first data is drawn (the script marks <html> ready)."""
    page = phone.page
    page.evaluate("delete document.documentElement.dataset.apoaMap")
    phone.goto(path)
    page.wait_for_selector(READY)
    return page


def map_point_on_screen(page, lon, lat):
    """Where a place is on the screen, in CSS pixels (the map scrolled into view first): the
    folium map's own projection."""
    page.locator(".folium-map").scroll_into_view_if_needed()
    return page.evaluate("""([lon, lat]) => {
        const name = Object.keys(window).find((key) => key.startsWith("map_") && window[key] instanceof L.Map);
        const map = window[name], box = map.getContainer().getBoundingClientRect();
        const at = map.latLngToContainerPoint([lat, lon]);
        return {x: box.left + at.x, y: box.top + at.y};
    }""", [lon, lat])


def test_an_officer_finds_a_report_on_the_map_and_opens_it(live_report, live_staff, phone):
    codes = [live_report(point=(QUIET_STREET[0] + i * 0.0005, QUIET_STREET[1])) for i in range(3)]
    live_report(point=(107.45, -6.20))
    sign_in(phone, live_staff("officer"))

    page = open_map(phone, "/peta")
    clusters = page.locator(".cluster-icon")
    assert clusters.count() >= 1
    assert sum(int(text) for text in page.locator(".cluster-count").all_inner_texts()) >= 4
    assert page.locator(".hotspot-list li").count() >= 1
    # bench/maps.py times the page by this mark, left two frames after the first drawing.
    page.wait_for_function("() => performance.getEntriesByName('apoa-map-drawn').length > 0")
    phone.screenshot_of(".map-frame", "officer-map-clusters")

    page = open_map(phone, f"/peta?lat={QUIET_STREET[1]}&lon={QUIET_STREET[0] + 0.0005}&zoom=17")
    assert "3" in page.inner_text("#map-status")
    at = map_point_on_screen(page, QUIET_STREET[0] + 0.0005, QUIET_STREET[1])
    page.mouse.click(at["x"], at["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.locator(".code").inner_text() == display(codes[1])
    phone.screenshot_of(".map-frame", "officer-map-points")
    with page.expect_navigation():
        popup.locator("a").click()
    assert page.inner_text("h1 .code").strip() == display(codes[1])
    assert phone.problems() == []


def test_the_heat_layer_and_a_hotspot_link(live_report, live_staff, phone):
    for i in range(3):
        live_report(point=(107.40 + i * 0.001, -6.35))
    sign_in(phone, live_staff("supervisor"))
    page = open_map(phone, "/peta")
    page.locator(".leaflet-control-layers-toggle").tap()     # on a phone the layer box opens on a tap
    with page.expect_response(lambda r: "layer=heat" in r.url and r.status == 200):
        page.locator(".leaflet-control-layers-overlays input[type=checkbox]").nth(1).check()
    page.locator("canvas.leaflet-heatmap-layer").wait_for()

    link = page.locator(".hotspot-list a").first
    with page.expect_navigation():
        link.click()
    page.wait_for_selector(READY)
    assert "zoom=13" in page.url
    assert page.locator(".cluster-icon").count() >= 1
    assert phone.horizontal_overflow() <= 0, phone.too_wide()
    assert phone.problems() == []
