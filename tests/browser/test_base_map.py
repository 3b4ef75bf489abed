"""The base map with no internet and no tile server: on the report form, a resident finds the place
by name (typos allowed) and, at street zoom, sees the outlines and the names of the kecamatan and
kabupaten around the pin; the officers' map moves with the same search. Every request goes to
127.0.0.1 only; screenshots are kept in test-artifacts/."""
import pytest
from sqlalchemy import text

from apoa.extensions import db
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

# In Kabupaten Karawang.
IN_KARAWANG = ("-6.30", "107.30")
FIRST_MAP = "ApoaMaps.common.maps[0]"


def kecamatan_at(live, lat, lon):
    with live.app.app_context():
        name = db.session.execute(text(
            "SELECT nama FROM region WHERE level = 'kecamatan'"
            " AND ST_Contains(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"),
            {"lat": float(lat), "lon": float(lon)}).scalar_one()
        db.session.remove()
    return name


def map_view(page):
    return page.evaluate(f"() => {{ const c = {FIRST_MAP}.getCenter();"
                         f" return {{lat: c.lat, lon: c.lng, zoom: {FIRST_MAP}.getZoom()}}; }}")


def find_place(page, typed, choose):
    """Type in the search box above the map, press Enter, and pick `choose` from the answers."""
    page.fill("#place-search-q", typed)
    page.press("#place-search-q", "Enter")
    choice = page.locator(".place-search-choice", has_text=choose).first
    choice.wait_for()
    # Leaflet starts an animated zoom one frame after fitBounds, so "not animating" can be read
    # before it begins: wait for the move's end instead.
    page.evaluate(f"() => {{ window.__placeMoved = new Promise(done => {FIRST_MAP}.once('moveend', done)); }}")
    choice.click()
    page.evaluate("() => window.__placeMoved")


def test_a_resident_finds_the_street_area_by_name_and_sees_it_named(live, phone):
    page = phone.page
    phone.goto("/lapor?lang=en")
    page.wait_for_selector("#place-search-q")

    find_place(page, "karawnag", "Kabupaten Karawang")
    view = map_view(page)
    assert 107.0 < view["lon"] < 107.7 and -6.6 < view["lat"] < -6.0 and view["zoom"] >= 9
    assert "Kabupaten Karawang" in page.inner_text("#place-search-status")
    # At kabupaten zoom its name is written on the map.
    page.locator(".apoa-regions text.apoa-label", has_text="Kabupaten Karawang").first.wait_for()

    # The coordinates typed in take the map to street zoom around the pin.
    page.fill("#latitude", IN_KARAWANG[0])
    page.fill("#longitude", IN_KARAWANG[1])
    page.dispatch_event("#longitude", "change")
    page.evaluate(f"() => {FIRST_MAP}.setZoom(16, {{animate: false}})")
    kecamatan = kecamatan_at(live, *IN_KARAWANG)
    label = page.locator(".apoa-regions text.apoa-label-kecamatan", has_text=kecamatan).first
    label.wait_for()
    assert "Kabupaten Karawang" in label.text_content()
    assert page.locator(".apoa-regions path").count() >= 1
    # One scale, in metres only.
    scale = page.locator(".leaflet-control-scale-line")
    assert scale.count() == 1 and scale.inner_text().strip().endswith("m")
    phone.screenshot_of(".report-map", "base-map-form-street")
    assert phone.problems() == []


def test_an_officer_moves_the_map_by_place_name(live_staff, phone):
    page = phone.page
    sign_in(phone, live_staff("officer"))
    phone.goto("/peta")
    page.wait_for_selector("#place-search-q")
    find_place(page, "jawa barat", "Jawa Barat")
    view = map_view(page)
    assert 106.3 < view["lon"] < 108.9 and -7.9 < view["lat"] < -5.9
    find_place(page, "telagasari", "Telagasari")
    view = map_view(page)
    assert 107.3 < view["lon"] < 107.6 and -6.4 < view["lat"] < -6.1 and view["zoom"] >= 11
    page.locator(".apoa-regions text.apoa-label-kecamatan").first.wait_for()
    assert page.locator(".leaflet-control-scale-line").count() == 1
    phone.screenshot_of(".map-frame", "base-map-officer-search")
    assert phone.problems() == []
