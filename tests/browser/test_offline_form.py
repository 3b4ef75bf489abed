"""The report form without a connection: installed by its service worker on a first visit, it opens
offline, keeps a report with its photo on the phone, and sends it exactly once when the network
returns, the receipt showing its tracking code; a send that meets a server error first is kept and
sent on the next try."""
import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from apoa.extensions import db
from apoa.reports.models import Attachment, Report

from tests.browser.conftest import CANCELLED, _watched_phone
from tests.browser.test_resident_report import small_jpeg

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

WIB = ZoneInfo("Asia/Jakarta")
IN_KARAWANG = ("-6.30", "107.30")
API_PATH = "/api/v1/reports"


@pytest.fixture
def handset(chromium, live):
    """(context, phone): a watched phone-sized context, as the `phone` fixture's, but checked by
    each test itself, which knows which error answers it caused on purpose."""
    context, phone = _watched_phone(chromium, live)
    try:
        yield context, phone
    finally:
        context.close()


def api_exists(app):
    return any(rule.rule == API_PATH and "POST" in rule.methods for rule in app.url_map.iter_rules())


def expected_answers(app, problems):
    """What the page met on purpose: the deliberate 503, and (until the JSON API is built) the
    404 of its address, after which the queue sends to the form's own address."""
    expected = [r"^sub-resource answered 503: POST ",
                r"^console error: Failed to load resource: the server responded with a status of 503 "]
    if not api_exists(app):
        expected += [rf"^sub-resource answered 404: POST \S+{re.escape(API_PATH)}$",
                     rf"^console error: Failed to load resource: \D+ 404 .*{re.escape(API_PATH)}"]
    return [p for p in problems if not any(re.search(pattern, p) for pattern in expected)]


def watched(page, watch):
    """A further page of the context, watched as the phone fixture watches its own."""
    page.on("requestfailed", lambda r: r.failure != CANCELLED
            and watch.failed_requests.append(f"{r.method} {r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and r.request.resource_type != "document"
            and watch.failed_resources.append(f"{r.status}: {r.request.method} {r.url}"))
    page.on("console", lambda m: m.type == "error" and watch.console_errors.append(f"{m.text} ({m.location})"))
    page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    return page


def install(phone):
    """First visit, online: the worker installs and controls the page, which hands it what it loaded."""
    page = phone.page
    phone.goto("/lapor")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#map .apoa-regions path", state="attached")
    page.wait_for_load_state("networkidle")


def fill_report(page, description, photo):
    page.select_option("#category", label="Dugaan bekerja tanpa izin")
    page.fill("#description", description)
    page.fill("#people_count", "2")
    page.select_option("#place_kind", value="project_site")
    observed = (datetime.now(WIB) - timedelta(hours=1)).replace(second=0, microsecond=0)
    page.fill("#observed_at", observed.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#latitude", IN_KARAWANG[0])
    page.fill("#longitude", IN_KARAWANG[1])
    page.set_input_files("#photos", str(photo))
    page.check("#consent")


def reports_with(app, description):
    """(reports, photos) with this description in the live database."""
    with app.app_context():
        ids = db.session.scalars(select(Report.id).where(Report.description == description)).all()
        photos = db.session.scalar(select(func.count()).select_from(Attachment)
                                   .where(Attachment.report_id.in_(ids))) if ids else 0
        codes = db.session.scalars(select(Report.tracking_code).where(Report.id.in_(ids))).all()
        db.session.remove()
    return len(ids), photos, codes


def kept_message(page):
    """"Saved on this phone…", in the page's language."""
    return page.get_attribute("#offline-queue", "data-kept")


def plain(code):
    return re.sub(r"[^A-Z0-9]", "", code.upper())


def test_report_made_offline_arrives_once_with_its_photo(handset, live, tmp_path):
    context, phone = handset
    page = phone.page
    description = f"Tiga orang asing bekerja di gudang tanpa izin, laporan luring {uuid.uuid4().hex[:8]}."
    install(phone)

    context.set_offline(True)
    page.reload()  # from the phone's copy: there is no network
    page.wait_for_selector("#map .apoa-regions path", state="attached")
    fill_report(page, description, small_jpeg(tmp_path / "gudang.jpg"))
    page.locator("form.report-form button[type=submit]").click()

    status = page.locator("#queue-status")
    status.wait_for()
    assert kept_message(page) in status.inner_text()
    assert page.locator("#queue-waiting li").count() == 1
    assert description[:40] in page.locator("#queue-waiting").inner_text()
    assert reports_with(live.app, description)[0] == 0
    assert phone.horizontal_overflow() == 0, phone.too_wide()
    unexpected = expected_answers(live.app, phone.problems())
    assert unexpected == [], "\n".join(unexpected)
    page.close()

    context.set_offline(False)
    again = watched(context.new_page(), phone.watch)
    again.goto(live("/lapor"))
    again.locator("#queue-sent li").wait_for(timeout=30_000)
    assert again.locator("#queue-waiting li").count() == 0

    count, photos, codes = reports_with(live.app, description)
    assert (count, photos) == (1, 1)
    shown = again.locator("#queue-sent").inner_text()
    assert plain(codes[0]) in plain(shown)
    receipt = again.locator("#queue-sent a")
    assert "/lapor/tanda-terima/" in receipt.get_attribute("href")
    again.reload()  # reopened once more: nothing is sent a second time
    again.locator("#queue-sent li").wait_for()
    assert reports_with(live.app, description)[:2] == (1, 1)
    with again.expect_navigation():
        again.locator("#queue-sent a").click()
    assert plain(codes[0]) in plain(again.inner_text("main"))
    unexpected = expected_answers(live.app, phone.problems())
    assert unexpected == [], "\n".join(unexpected)


def test_send_meeting_a_server_error_is_kept_and_sent_once_later(handset, live, tmp_path):
    """Online, the form's own send meets a 503: report-form.js says so and keeps the form, the
    queue keeps a copy with the form's submission key, and sends it (by the page reopened, or the
    worker's Background Sync) exactly once."""
    context, phone = handset
    page = phone.page
    description = f"Dua orang asing menginap tanpa lapor di rumah kos, percobaan ulang {uuid.uuid4().hex[:8]}."
    install(phone)
    refused = []

    def first_send_fails(route):
        request = route.request
        if request.method == "POST" and not refused:
            refused.append(request.url)
            route.fulfill(status=503, content_type="text/html", body="<p>Layanan tidak tersedia</p>")
        else:
            route.fallback()
    context.route("**/*", first_send_fails)

    fill_report(page, description, small_jpeg(tmp_path / "kos.jpg"))
    page.locator("form.report-form button[type=submit]").click()
    page.wait_for_function("() => document.getElementById('queue-status').textContent.includes("
                           "document.getElementById('offline-queue').dataset.kept)")
    assert refused and "/lapor" in refused[0]
    send_status = page.locator("#send-status")
    assert send_status.inner_text() == send_status.get_attribute("data-server")
    assert page.input_value("#description") == description  # the form is kept as it was
    # Kept, or already sent by the worker's Background Sync (which Chromium runs at once online).
    page.wait_for_selector("#queue-waiting li, #queue-sent li", state="attached")

    page.reload()  # opened again: the queue is sent
    page.locator("#queue-sent li").wait_for(timeout=30_000)
    count, photos, codes = reports_with(live.app, description)
    assert (count, photos) == (1, 1)
    assert plain(codes[0]) in plain(page.locator("#queue-sent").inner_text())
    assert page.locator("#queue-waiting li").count() == 0
    unexpected = expected_answers(live.app, phone.problems())
    assert unexpected == [], "\n".join(unexpected)


def test_queued_report_that_meets_a_server_error_waits_and_is_sent_on_the_next_try(handset, live,
                                                                                    tmp_path):
    """Made offline; when the connection returns, the queue's first send meets a 503: the draft
    stays on the phone, says so, and the next opening of the page sends it once."""
    context, phone = handset
    page = phone.page
    description = f"Empat orang asing berjualan di pasar tanpa izin, antrean {uuid.uuid4().hex[:8]}."
    install(phone)
    context.set_offline(True)
    page.reload()
    fill_report(page, description, small_jpeg(tmp_path / "pasar.jpg"))
    page.locator("form.report-form button[type=submit]").click()
    page.locator("#queue-waiting li").wait_for()
    page.close()

    refused = []

    def first_send_fails(route):
        if route.request.method == "POST" and not refused:
            refused.append(route.request.url)
            route.fulfill(status=503, content_type="application/problem+json",
                          body='{"type": "about:blank", "title": "Layanan tidak tersedia", "status": 503}')
        else:
            route.fallback()
    context.route("**/*", first_send_fails)
    context.set_offline(False)
    again = watched(context.new_page(), phone.watch)
    again.goto(live("/lapor"))
    again.wait_for_function("() => document.querySelectorAll('#queue-waiting li, #queue-sent li').length > 0")
    assert refused, "no send was tried"
    if again.locator("#queue-waiting li").count():  # not yet retried by a Background Sync
        # The page says why it waits. (The worker's Background Sync may send it meanwhile, so the
        # database is not asked here: what matters is one report in the end, never two.)
        assert again.get_attribute("#offline-queue", "data-server") in again.inner_text("#queue-waiting")
        again.reload()
    again.locator("#queue-sent li").wait_for(timeout=30_000)
    count, photos, codes = reports_with(live.app, description)
    assert (count, photos) == (1, 1)
    assert plain(codes[0]) in plain(again.locator("#queue-sent").inner_text())
    unexpected = expected_answers(live.app, phone.problems())
    assert unexpected == [], "\n".join(unexpected)


def test_queued_report_the_server_refuses_is_never_shown_as_sent_and_can_be_corrected(handset, live, tmp_path):
    """A draft the server refuses as it is (422) is not tried again: it says why, and goes back
    into the form, photo included, to be corrected."""
    context, phone = handset
    page = phone.page
    description = f"Satu orang asing tinggal melewati izin tinggal, ditolak {uuid.uuid4().hex[:8]}."
    install(phone)
    context.set_offline(True)
    page.reload()
    fill_report(page, description, small_jpeg(tmp_path / "rumah.jpg"))
    page.locator("form.report-form button[type=submit]").click()
    page.locator("#queue-waiting li").wait_for()
    page.close()

    def refuse(route):
        if route.request.method == "POST" and API_PATH in route.request.url:
            route.fulfill(status=422, content_type="application/problem+json", body=(
                '{"type": "about:blank", "title": "Unprocessable", "status": 422, "detail": "x",'
                ' "errors": {"people_count": ["Jumlah orang terlalu besar."]}}'))
        else:
            route.fallback()
    context.route("**/*", refuse)
    context.set_offline(False)
    again = watched(context.new_page(), phone.watch)
    again.goto(live("/lapor"))
    again.locator("#queue-waiting .field-error").wait_for()
    item = again.inner_text("#queue-waiting")
    assert "Jumlah orang terlalu besar." in item
    assert again.get_attribute("#offline-queue", "data-rejected") in item
    assert again.locator("#queue-sent li").count() == 0
    assert reports_with(live.app, description)[0] == 0

    again.locator("#queue-waiting button", has_text=again.get_attribute("#offline-queue", "data-edit")).click()
    again.wait_for_function("() => document.querySelectorAll('#queue-waiting li').length === 0")
    assert again.input_value("#description") == description
    assert again.evaluate("document.getElementById('photos').files.length") == 1
    unexpected = [p for p in expected_answers(live.app, phone.problems())
                  if not re.search(r"(answered 422: POST|status of 422)", p)]
    assert unexpected == [], "\n".join(unexpected)
