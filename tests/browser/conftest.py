"""Browser fixtures: the app served for real on 127.0.0.1 from its own committed database, and
Debian's Chromium driven by Playwright in a phone-sized, offline context.

The live server cannot use the suite's rolled-back transaction: the browser's requests are served
in other threads and must see committed data. So the browser tests get a database of their own,
`<test database>_browser`, built once per run by the migrations with the real regions imported
and one office covering Kabupaten Karawang, and dropped at the end.

Every page is watched: a request to any host but 127.0.0.1 is blocked (the app must work without
internet), and blocked or failed requests, failed sub-resources, console errors and uncaught page
errors are collected. A test asserts `phone.problems() == []`; the fixture checks once more when
the test ends. When a test fails, a screenshot of its page is saved in test-artifacts/.
"""
import os
import threading
from contextlib import contextmanager
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from werkzeug.serving import make_server

from apoa import create_app
from apoa.extensions import db, limiter
from apoa.regions import importer, offices
from apoa.regions.cli import STANDARD_FILES
from apoa.reports.models import Category
from apoa.reports.services import NewReport, submit_report

from tests.browser.helpers import KARAWANG, KARAWANG_OFFICE, MIN_FILL_SECONDS
from tests.conftest import (REGIONS_DIR, app_environ, drop_database, recreate_database,
                            resolve_test_database_url)

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
CHROMIUM = os.environ.get("APOA_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking switches Chromium keeps trying to reach Google's services,
# and on a machine without internet every attempt is refused noisily.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOST = "127.0.0.1"
# Chromium's word for a request the page itself gave up, as when it navigates away while a fetch
# is still on its way: not a failure of the app. (Blocked requests are counted on their own.)
CANCELLED = "net::ERR_ABORTED"
# A common Android phone: 360 CSS pixels wide, 2x screen, touch.
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "id-ID", "timezone_id": "Asia/Jakarta"}


@pytest.fixture(scope="session")
def browser_database_url():
    """`<test database>_browser`, created afresh for the run and dropped at its end."""
    url = resolve_test_database_url()
    url = url.set(database=f"{url.database}_browser")
    if not os.environ.get("APOA_TEST_DATABASE_URL"):
        _drop_abandoned_browser_databases(url)
    recreate_database(url)
    yield url
    drop_database(url)


def _drop_abandoned_browser_databases(url):
    """`…_test_<pid>_browser` databases of runs killed before their clean-up (their process is gone)."""
    base = url.database.removesuffix("_browser")
    prefix = base.rpartition("_")[0]
    admin = create_engine(url.set(database="postgres"))
    with admin.connect() as conn:
        names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                             {"p": f"{prefix}\\_%\\_browser"}).scalars().all()
    admin.dispose()
    for name in names:
        pid = name.removesuffix("_browser").rpartition("_")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            drop_database(url.set(database=name))


@pytest.fixture(scope="session")
def live_app(browser_database_url, tmp_path_factory):
    """The app as it runs for residents: CSRF on, the real Redis, schema from the migrations, the
    real regions, and an office for Karawang (reports there get routed to it)."""
    environ = app_environ(browser_database_url, APOA_INSTANCE_DIR=str(tmp_path_factory.mktemp("browser-instance")),
                          APOA_MIN_FILL_SECONDS=str(MIN_FILL_SECONDS))
    app = create_app(environ=environ)
    assert app.config.get("WTF_CSRF_ENABLED", True), "browser tests take the real path, CSRF included"
    with app.app_context():
        upgrade()
        importer.import_regions([REGIONS_DIR / name for name in STANDARD_FILES])
        db.session.commit()
        offices.create_office("DITJEN", "Direktorat Jenderal Imigrasi", "ditjen")
        offices.create_office("KANWIL-JABAR", "Kantor Wilayah Jawa Barat", "kanwil", parent_code="DITJEN")
        offices.create_office(KARAWANG_OFFICE, "Kantor Imigrasi Karawang", "kantor", parent_code="KANWIL-JABAR")
        offices.set_jurisdiction(KARAWANG_OFFICE, [KARAWANG])
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@dataclass
class LiveServer:
    url: str
    app: object

    def __call__(self, path="/"):
        return self.url + path


def closing_responses(app):
    """`app` whose response bodies are always closed. Werkzeug's development server does not
    close a body when the browser drops the connection part-way (a service worker's aborted
    fetch, a page left): a file being sent would then be closed only by the garbage collector,
    whose ResourceWarning the tests turn into an error at random."""
    def serve(environ, start_response):
        body = app(environ, start_response)
        try:
            yield from body
        finally:
            if hasattr(body, "close"):
                body.close()
    return serve


@contextmanager
def served(app, name):
    """`app` served by Werkzeug on a free port of 127.0.0.1, in a daemon thread, as a LiveServer."""
    server = make_server(LOCAL_HOST, 0, closing_responses(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://{LOCAL_HOST}:{server.server_port}", app=app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(live_app):
    """The app served by Werkzeug on a free port of 127.0.0.1, in a daemon thread."""
    with served(live_app, "apoa-live-server") as server:
        yield server


@pytest.fixture
def live(live_server):
    """The live server with fresh rate limits, so one test's submissions never throttle the next."""
    with live_server.app.app_context():
        limiter.reset()
    return live_server


@pytest.fixture
def live_report(live):
    """Make a committed report in the live database as a resident's submission would, and return
    its tracking code: `live_report()` or `live_report(point=(lon, lat), description=...)`.

    The browser database is shared by all browser tests of a run: tests find their own rows by
    code and never assume the tables are empty."""
    def make(point=(107.30, -6.30), category="illegal_work", **fields):
        with live.app.app_context():
            new = NewReport(
                category_id=db.session.scalar(select(Category.id).where(Category.code == category)),
                description=fields.pop("description", "Beberapa orang asing bekerja di proyek tanpa izin."),
                people_count=fields.pop("people_count", 3), place_kind=fields.pop("place_kind", "project_site"),
                observed_at=fields.pop("observed_at", datetime.now(timezone.utc) - timedelta(hours=3)),
                point=point, submission_key=str(uuid.uuid4()), **fields)
            code = submit_report(new).tracking_code
            db.session.commit()
            db.session.remove()
        return code
    return make


@pytest.fixture(scope="session")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (`make setup`)")
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@dataclass
class Watch:
    """What went wrong in the page: the test asserts there is nothing."""
    blocked: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)
    failed_resources: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)

    def problems(self):
        return ([f"blocked off-machine request: {u}" for u in self.blocked]
                + [f"request failed: {r}" for r in self.failed_requests]
                + [f"sub-resource answered {r}" for r in self.failed_resources]
                + [f"console error: {m}" for m in self.console_errors]
                + [f"page error: {e}" for e in self.page_errors])


class Phone:
    """A page in a phone-sized browser context, with the helpers browser tests share."""

    def __init__(self, page, live, watch):
        self.page = page
        self.live = live
        self.watch = watch

    def goto(self, path):
        return self.page.goto(self.live(path))

    def problems(self):
        return self.watch.problems()

    def screenshot_of(self, selector, name):
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        path = ARTIFACTS_DIR / f"{name}.png"
        self.page.locator(selector).screenshot(path=str(path))
        return path

    def horizontal_overflow(self):
        """How many CSS pixels the page is wider than the phone's screen (0: nothing scrolls sideways).

        Measured against the layout viewport (`clientWidth`), not `window.innerWidth`: a mobile
        browser widens its visual viewport to fit content that is too wide, so there the
        content always "fits" innerWidth.
        """
        return self.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")

    def too_wide(self):
        """Elements that reach past the right edge of the screen, for a failure message."""
        return self.page.evaluate("""() => {
            const edge = document.documentElement.clientWidth, found = [];
            for (const el of document.querySelectorAll("body *")) {
                const box = el.getBoundingClientRect();
                if (box.width && box.right > edge + 0.5 && !el.closest(".leaflet-container *")) {
                    found.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}: right edge at ${box.right}px`);
                }
            }
            return found;
        }""")

    def screenshot(self, name):
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        path = ARTIFACTS_DIR / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _only_this_machine(watch):
    def handle(route):
        if urlsplit(route.request.url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            watch.blocked.append(route.request.url)
            route.abort("internetdisconnected")
    return handle


@pytest.fixture
def phone(chromium, live, request):
    """A fresh phone-sized context (360×740, touch, Indonesian, WIB, no geolocation permission)
    whose page may only talk to the live server."""
    context, device = _watched_phone(chromium, live)
    watch = device.watch
    try:
        yield device
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.passed:
            assert watch.problems() == [], "the page had problems the test did not check"
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            try:
                device.screenshot(f"failure-{request.node.name}")
            except Exception:  # noqa: BLE001 - a failed screenshot must not hide the real failure
                pass
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --- several people at once: staff of the Karawang office, each on a phone of their own ----------

@dataclass
class LiveStaff:
    """A committed staff user of the live database, and what they sign in with."""
    id: int
    email: str
    name: str
    password: str
    secret: str

    def code(self):
        """The code their authenticator app shows now."""
        import pyotp

        return pyotp.TOTP(self.secret).now()


@pytest.fixture
def live_staff(live):
    """Make a committed staff user of the Karawang office with an authenticator app enrolled (a
    known TOTP secret): `live_staff("officer", "Budi Santoso")`. Emails are unique per call, since
    the browser database is shared by all browser tests of a run."""
    import pyotp

    from apoa.auth.services import create_user
    from apoa.auth.totp import enrol_with_secret
    from tests.conftest import TEST_PASSWORD

    def make(role="officer", name=None):
        email = f"{role}-{uuid.uuid4().hex[:10]}@karawang.example"
        secret = pyotp.random_base32()
        with live.app.app_context():
            user = create_user(email, name or f"Petugas {role}", TEST_PASSWORD, role, office_code=KARAWANG_OFFICE)
            enrol_with_secret(user, secret)
            db.session.commit()
            made = LiveStaff(id=user.id, email=email, name=user.name, password=TEST_PASSWORD, secret=secret)
            db.session.remove()
        return made
    return make


def _watched_phone(chromium, live):
    """A phone-sized context whose page may only talk to the live server, and its Phone, with
    failed requests, error responses, console errors and page errors collected."""
    context = chromium.new_context(**PHONE)
    context.set_default_timeout(10_000)
    watch = Watch()
    context.route("**/*", _only_this_machine(watch))
    page = context.new_page()
    page.on("requestfailed", lambda r: r.failure != CANCELLED
            and watch.failed_requests.append(f"{r.method} {r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and r.request.resource_type != "document"
            and watch.failed_resources.append(f"{r.status}: {r.request.method} {r.url}"))
    page.on("console", lambda m: m.type == "error" and watch.console_errors.append(f"{m.text} ({m.location})"))
    page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    return context, Phone(page, live, watch)


@pytest.fixture
def phones(chromium, live, request):
    """Open more phones, each a fresh context (its own cookies: its own signed-in person):
    `phones("supervisor")`. Checked for problems when the test passes, a screenshot of each saved
    when it fails, all closed at the end."""
    opened = {}

    def make(label):
        context, device = _watched_phone(chromium, live)
        opened[label] = (context, device)
        return device
    try:
        yield make
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.passed:
            for label, (_context, device) in opened.items():
                assert device.problems() == [], f"the pages of {label} had problems the test did not check"
    finally:
        report = getattr(request.node, "rep_call", None)
        for label, (context, device) in opened.items():
            if report is not None and report.failed:
                try:
                    device.screenshot(f"failure-{request.node.name}-{label}")
                except Exception:  # noqa: BLE001 - a failed screenshot must not hide the real failure
                    pass
            context.close()
