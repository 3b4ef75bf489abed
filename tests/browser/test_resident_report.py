"""A resident on a phone: fills the report form, drops the pin on the map, attaches a photo, sends
the report, reads the tracking code on the receipt, and checks the status with it."""
import io
import math
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select

from apoa.extensions import db
from apoa.reports.models import Attachment
from apoa.reports.services import find_by_code

from tests.browser.helpers import KARAWANG, KARAWANG_OFFICE, MIN_FILL_SECONDS, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

WIB = ZoneInfo("Asia/Jakarta")
# The report form's map opens on all of Indonesia (report-form.js: setView([-2.5, 118], 4)).
MAP_START = (-2.5, 118.0, 4)
# On land in Central Java, near Pekalongan: where the first tap on the country map lands.
CENTRAL_JAVA = (-6.95, 109.6)
# In Kabupaten Karawang, typed in exactly at the end.
IN_KARAWANG = ("-6.30", "107.30")
DESCRIPTION = "Lima orang asing bekerja di proyek pabrik sejak minggu lalu, tiap hari pukul 07.00."


def mercator_pixel(lat, lon, zoom):
    """Web Mercator pixel of a point at a zoom level (Leaflet's default CRS, 256 px tiles)."""
    size = 256 * 2 ** zoom
    x = (lon + 180) / 360 * size
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * size
    return x, y


def screen_point(map_box, lat, lon, view=MAP_START):
    """Where on the screen a point lies, on a map showing `view` (lat, lon, zoom) at its centre."""
    centre_lat, centre_lon, zoom = view
    cx, cy = mercator_pixel(centre_lat, centre_lon, zoom)
    px, py = mercator_pixel(lat, lon, zoom)
    return (map_box["x"] + map_box["width"] / 2 + px - cx,
            map_box["y"] + map_box["height"] / 2 + py - cy)


def small_jpeg(path):
    image = Image.new("RGB", (640, 480), (70, 120, 160))
    for x in range(200, 440):
        for y in range(260, 400):
            image.putpixel((x, y), (200, 160, 60))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def coordinates(page):
    return float(page.input_value("#latitude")), float(page.input_value("#longitude"))


def pin_tip(page):
    """The screen point the pin marks: the bottom centre of Leaflet's marker icon."""
    box = page.locator(".leaflet-marker-icon").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"]


def wait_for_pin_at(page, target, tolerance=3, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        tip = pin_tip(page)
        if math.dist(tip, target) <= tolerance:
            return tip
        if time.monotonic() > deadline:
            raise AssertionError(f"the pin stayed at {tip}, not at {target}")
        page.wait_for_timeout(100)


def test_resident_reports_from_a_phone_and_checks_the_status(phone, live, tmp_path):
    page = phone.page
    phone.goto("/lapor")
    shown_at = time.monotonic()
    form = page.locator("form.report-form")

    # What did you see?
    page.select_option("#category", label="Dugaan bekerja tanpa izin")
    page.fill("#description", DESCRIPTION)
    page.fill("#people_count", "5")
    page.select_option("#place_kind", value="project_site")
    observed = (datetime.now(WIB) - timedelta(hours=2)).replace(second=0, microsecond=0)
    page.fill("#observed_at", observed.strftime("%Y-%m-%dT%H:%M"))

    # Where? The map is there (it is hidden until its script runs) and shows Indonesia.
    map_div = page.locator("#map")
    map_div.scroll_into_view_if_needed()
    assert map_div.is_visible()
    assert page.locator("#map .leaflet-marker-icon").count() == 0
    assert page.input_value("#latitude") == "" and page.input_value("#longitude") == ""
    page.wait_for_selector("#map .apoa-regions path", state="attached")  # base map drawn (region tiles)

    # A tap on Java drops the pin and fills latitude and longitude.
    box = map_div.bounding_box()
    page.touchscreen.tap(*screen_point(box, *CENTRAL_JAVA))
    page.locator("#map .leaflet-marker-icon").wait_for()
    lat, lon = coordinates(page)
    # At zoom 4 a pixel is about 0.09 degrees.
    assert abs(lat - CENTRAL_JAVA[0]) < 0.3 and abs(lon - CENTRAL_JAVA[1]) < 0.3, (lat, lon)
    # The map then zooms in on the pin so it can be placed precisely.
    page.wait_for_timeout(800)  # Leaflet's zoom animation
    pin_now = pin_tip(page)
    assert abs(pin_now[0] - (box["x"] + box["width"] / 2)) < 3 and abs(pin_now[1] - (box["y"] + box["height"] / 2)) < 3
    phone.screenshot_of("#map", "resident-report-map-pin")

    # Dragging the pin north-east moves it, and the fields follow.
    tip = pin_tip(page)
    page.mouse.move(tip[0], tip[1] - 20)  # on the icon, above its tip
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(tip[0] + 4 * step, tip[1] - 20 - 3 * step)
    page.mouse.up()
    dragged_lat, dragged_lon = coordinates(page)
    # Zoomed in to 8, 40 × 30 pixels are about 0.2 × 0.15 degrees.
    assert dragged_lat > lat + 0.05 and dragged_lon > lon + 0.05, ((lat, lon), (dragged_lat, dragged_lon))

    # For an exact place the resident types the coordinates; the pin follows and the map zooms in.
    page.fill("#latitude", IN_KARAWANG[0])
    page.fill("#longitude", IN_KARAWANG[1])
    page.fill("#address", "Kawasan industri, dekat gerbang 3")  # leaving longitude fires its `change`
    box = map_div.bounding_box()
    wait_for_pin_at(page, (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2))
    assert coordinates(page) == (-6.30, 107.30)

    # A photo.
    page.set_input_files("#photos", str(small_jpeg(tmp_path / "proyek.jpg")))

    # About you: anonymous is the default, and then the contact fields stay hidden.
    assert page.is_checked("input[name=reporter][value=anonymous]")
    assert page.locator(".contact-fields").is_hidden()
    page.check("#consent")

    phone.screenshot("resident-report-form")
    wait_until(shown_at, MIN_FILL_SECONDS + 0.5)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()

    # The receipt: the code, its QR code, nothing wider than the phone.
    assert "/lapor/tanda-terima/" in page.url, page.content()
    code = page.inner_text("#tracking-code").strip()
    assert code
    assert page.locator(".qr svg").is_visible()
    assert phone.horizontal_overflow() <= 0, phone.too_wide()
    phone.screenshot("resident-report-receipt")

    # What was stored is what the resident entered, routed to the Karawang office.
    with live.app.app_context():
        report = find_by_code(code)
        assert report is not None
        assert (report.description, report.people_count, report.place_kind) == (DESCRIPTION, 5, "project_site")
        assert report.category.code == "illegal_work"
        assert report.observed_at == observed.astimezone(timezone.utc)
        assert report.kabupaten.kode == KARAWANG
        assert report.office.code == KARAWANG_OFFICE
        assert report.contact is None and report.reporter_id is None
        assert db.session.scalar(select(func.count()).select_from(Attachment)
                                 .where(Attachment.report_id == report.id)) == 1
        db.session.remove()

    # The status, looked up with the code as a resident types it.
    page.locator("header nav a[href='/status']").click()
    page.wait_for_url("**/status")
    page.fill("#code", code)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.inner_text("#public-status").strip() == "Diterima"
    phone.screenshot("resident-report-status")  # its width is checked in test_pages_fit_a_phone_screen

    assert phone.problems() == []


@pytest.mark.parametrize("path", [
    pytest.param("/lapor", id="report-form"),
    pytest.param("/lapor/tanda-terima/{code}", id="receipt"),
    pytest.param("/status", id="status-lookup"),
    pytest.param("/status/{code}", id="status"),
])
def test_pages_fit_a_phone_screen(phone, live_report, path):
    phone.goto(path.format(code=live_report()))
    phone.page.wait_for_load_state("load")
    assert phone.horizontal_overflow() <= 0, phone.too_wide()
    assert phone.problems() == []
