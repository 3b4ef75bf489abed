"""On a 360 px phone: the receipt's copy and share buttons for the tracking code (shown only where
the browser can do it, never without JavaScript), and the header on one line whatever the
navigation holds (a resident's few links, an officer's many)."""
import pytest

from tests.browser.conftest import PHONE
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

# Chromium on Linux has no Web Share API: the tests give the page one that records what it was
# asked to share (as a phone's share sheet would receive it), or take it away, to be explicit.
FAKE_SHARE = """Object.defineProperty(Navigator.prototype, "share", {configurable: true,
    value: function (data) { window.__shared = data; return Promise.resolve(); }});
Object.defineProperty(Navigator.prototype, "canShare", {configurable: true, value: () => true});"""
NO_SHARE = "delete Navigator.prototype.share; delete Navigator.prototype.canShare;"
ONE_LINE_PX = 60


def open_receipt(phone, code):
    phone.goto(f"/lapor/tanda-terima/{code}")
    return phone.page.inner_text("#tracking-code").strip()


def test_the_copy_button_puts_the_tracking_code_on_the_clipboard(phone, live, live_report):
    code = live_report()
    phone.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    phone.page.add_init_script(NO_SHARE)
    shown = open_receipt(phone, code)
    page = phone.page
    assert page.is_visible("#copy-code") and not page.is_visible("#share-code")
    page.click("#copy-code")
    page.wait_for_function("() => document.getElementById('code-feedback').textContent.length > 0")
    assert page.evaluate("navigator.clipboard.readText()") == shown
    assert phone.problems() == []


def test_the_share_button_hands_the_code_and_the_status_link_to_the_share_sheet(phone, live, live_report):
    code = live_report()
    phone.page.add_init_script(FAKE_SHARE)
    shown = open_receipt(phone, code)
    page = phone.page
    assert page.is_visible("#share-code")
    page.click("#share-code")
    shared = page.wait_for_function("() => window.__shared").json_value()
    assert shown in shared["text"]
    assert shared["url"].endswith(f"/status/{code}") or shared["url"].endswith(f"/status/{shown}")
    assert phone.problems() == []


def test_without_javascript_the_receipt_shows_the_code_and_no_dead_buttons(chromium, live, live_report):
    code = live_report()
    context = chromium.new_context(**PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live(f"/lapor/tanda-terima/{code}"))
        assert page.is_visible("#tracking-code")
        assert not page.is_visible("#copy-code") and not page.is_visible("#share-code")
    finally:
        context.close()


def header_layout(page):
    """The header's height and the vertical centre of each of its parts (brand, links, language)."""
    return page.evaluate("""() => {
        const header = document.querySelector("header.topbar");
        const centre = el => { const b = el.getBoundingClientRect(); return b.top + b.height / 2; };
        return {height: header.getBoundingClientRect().height,
                centres: [...header.children].filter(el => el.getBoundingClientRect().height > 0).map(centre)};
    }""")


def assert_one_line(phone):
    layout = header_layout(phone.page)
    assert layout["height"] <= ONE_LINE_PX, layout
    assert max(layout["centres"]) - min(layout["centres"]) <= 4, layout
    assert phone.horizontal_overflow() == 0, phone.too_wide()


def test_the_header_is_one_line_for_a_resident(phone):
    phone.goto("/lapor")
    assert_one_line(phone)
    assert phone.problems() == []


def test_the_header_is_one_line_for_an_officer_and_every_link_can_be_reached(phone, live_staff):
    sign_in(phone, live_staff("supervisor"))
    assert_one_line(phone)
    page = phone.page
    last = page.locator("header nav a").last
    last.scroll_into_view_if_needed()
    box, width = last.bounding_box(), page.viewport_size["width"]
    assert 0 <= box["x"] and box["x"] + box["width"] <= width, box
    assert_one_line(phone)  # scrolling the links moved nothing else
    assert phone.problems() == []
