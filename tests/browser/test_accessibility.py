"""Equal access: every page of every role, on a 360 px phone and a 1280 px desktop, passes
axe-core with no serious or critical violation, and still works with its text at 200%.

axe-core comes from the npm registry at the version pinned in package.json (a devDependency, never
copied into the repository) and is read from node_modules. It goes in as an init script of the
browser context: those are evaluated by the browser itself, outside the page's
Content-Security-Policy, so the pages are checked with the policy they are served with
(`<script>` tags added by the test would need the policy switched off).

200% text: the root font size is set to 200% through the CSSOM (the policy forbids an added
`<style>`), as a person's "very large text" browser setting does, since the stylesheet sizes text
relative to it. The page must then not scroll sideways, and no button or field may be cut off:
reaching past the screen (outside a strip that scrolls on purpose) or its text past its own box.

One signed-in context per role and screen, shared by the role's pages; one live server for all.

Not covered: the API's documentation (/api/v1/docs), which Swagger UI draws in the browser: its
operation summaries nest a button in a button (axe: nested-interactive), in the vendor's markup.
"""
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import pyotp
import pytest
from sqlalchemy import select

from apoa.auth.models import User
from apoa.auth.services import create_user
from apoa.auth.totp import enrol_with_secret
from apoa.extensions import db, limiter
from apoa.feedback.services import open_case
from apoa.guests.services import GuestData, check_in, register_organisation, verify_organisation
from apoa.partners.services import OperationPlan, add_member, create_agency, forward_report, plan_operation
from apoa.periods import local_today
from apoa.regions.models import Office
from apoa.reports.models import Category
from apoa.reports.services import NewReport, submit_report
from apoa.reports.workflow import Action, apply
from tests.browser.conftest import ARTIFACTS_DIR, PHONE, REPO_ROOT, Watch, _only_this_machine
from tests.browser.helpers import KARAWANG_OFFICE
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = {
    "phone": PHONE,
    "desktop": {"viewport": {"width": 1280, "height": 800}, "locale": "id-ID", "timezone_id": "Asia/Jakarta"},
}
BLOCKING = ("serious", "critical")
# Links to a role's pages: the header's and those of a section's own navigation.
SECTION_LINKS = "header nav a[href], main nav:is(.admin-nav, .org-links, .queue-links) a[href]"
KARAWANG_POINT = (107.30, -6.30)
TELUKJAMBE = (107.27, -6.33)

# axe.run over the whole document; only violations are wanted back, with the failing elements.
RUN_AXE = """async () => {
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
}"""

# With the root text at 200%: how far the page scrolls sideways, and the buttons and fields that
# are cut off. A control inside a strip that scrolls sideways on purpose (the phone header's
# links) is measured against that strip, which the person can scroll.
TEXT_200 = """() => {
    document.documentElement.style.fontSize = "200%";
    const root = document.documentElement, edge = root.clientWidth, cut = [];
    const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.name ? `[name=${el.name}]` : "")
        + (el.textContent.trim() ? ` "${el.textContent.trim().slice(0, 30)}"` : "");
    const scroller = el => {
        for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
            const x = getComputedStyle(up).overflowX;
            if (x === "auto" || x === "scroll") return up;
        }
        return null;
    };
    const controls = "button, input:not([type=hidden]), select, textarea, a.button";
    for (const el of document.querySelectorAll(controls)) {
        const box = el.getBoundingClientRect();
        // Moved out of sight to the left on purpose (a honeypot, a form's default button): not shown.
        const hidden = el.closest(".hp, .visually-hidden, .leaflet-container");
        if (box.width <= 1 || box.height <= 1 || box.right <= 0 || hidden) continue;
        const strip = scroller(el);
        const left = strip ? strip.getBoundingClientRect().left : 0;
        const right = strip ? strip.getBoundingClientRect().left + strip.scrollWidth : edge;
        if (box.left < left - 0.5 || box.right > right + 0.5) cut.push(`${name(el)} reaches past the screen`);
        const own = getComputedStyle(el);
        if (el.tagName !== "INPUT" && el.tagName !== "TEXTAREA" && el.tagName !== "SELECT"
            && own.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1) {
            cut.push(`${name(el)} has text cut off`);
        }
    }
    // What reaches past the screen: a box, or text running out of its box; the innermost such.
    const past = el => Math.max(el.getBoundingClientRect().right,
                                el.getBoundingClientRect().left + (el.scrollWidth || 0)) > edge + 0.5;
    const wide = [...document.querySelectorAll("body *")].filter(el => !scroller(el) && past(el)
        && !el.closest(".leaflet-container") && ![...el.children].some(past));
    return {overflow: root.scrollWidth - edge, cut, wide: wide.slice(0, 5).map(name)};
}"""


@dataclass
class Person:
    """Someone of the world who signs in: staff have an authenticator secret."""
    id: int
    email: str
    name: str
    secret: str | None = None
    password: str = TEST_PASSWORD

    def code(self):
        return pyotp.TOTP(self.secret).now()


@dataclass
class World:
    """What the pages show: a resident's report, a lodging with a guest, staff of every role."""
    people: dict = field(default_factory=dict)
    report_code: str = ""
    report_id: int = 0
    organisation_id: int = 0
    stay_id: int = 0
    sttpoa_no: str = ""
    case_id: int = 0
    closed_code: str = ""
    forwarded_id: int = 0
    operation_id: int = 0


def person(role, office=None, authenticator=True):
    """A committed user of `role` (staff with an authenticator app enrolled), and how they sign in."""
    user = create_user(f"a11y-{role}-{uuid.uuid4().hex[:8]}@karawang.example", f"Uji {role}", TEST_PASSWORD,
                       role, office_code=office)
    secret = None
    if authenticator:
        secret = pyotp.random_base32()
        enrol_with_secret(user, secret)
    db.session.flush()
    return user, Person(id=user.id, email=user.email, name=user.name, secret=secret)


def report(reporter=None, point=KARAWANG_POINT):
    category = db.session.scalar(select(Category.id).where(Category.code == "illegal_work"))
    new = NewReport(category_id=category, description="Beberapa orang asing bekerja di proyek tanpa izin.",
                    people_count=3, place_kind="project_site", point=point, submission_key=str(uuid.uuid4()),
                    observed_at=datetime.now(timezone.utc) - timedelta(hours=3))
    return submit_report(new, reporter=reporter)


def closed_report(officer, supervisor):
    """A report taken through the workflow to closed, so its reporter is asked to rate the service;
    its tracking code."""
    closed = report()
    apply(closed, Action.screen, officer)
    apply(closed, Action.dismiss, officer, reason="Tidak ada orang asing di alamat itu.")
    apply(closed, Action.approve, supervisor)
    return closed.tracking_code


def guest(now):
    today = now.date()
    return GuestData(surname="Lindqvist", given_names="Anna", sex="F", date_of_birth=date(1991, 4, 12),
                     nationality="SWE", passport_number="SE1234567", passport_expiry=today + timedelta(days=1800),
                     permit_kind="visa_on_arrival", arrived_in_indonesia=today - timedelta(days=1),
                     checked_in_at=now - timedelta(hours=2), planned_check_out=today + timedelta(days=4))


def lodging_with_a_guest(world, supervisor):
    """A verified lodging in Karawang with one guest staying, and another lodging waiting for
    verification (so the verification page has something to decide)."""
    now = datetime.now(timezone.utc)
    operator, world.people["lodging"] = person("lodging", authenticator=False)
    lodging = register_organisation(operator, "lodging", f"Wisma Aksesibel {uuid.uuid4().hex[:6]}",
                                    "Jl. Tuparev 45, Karawang", KARAWANG_POINT, licence_no="9120001234567",
                                    lodging_kind="guesthouse")
    verify_organisation(lodging, supervisor, approve=True, note=None, now=now)
    stay, = check_in(lodging, operator, [guest(now)], now)
    waiting, _ = person("lodging", authenticator=False)
    register_organisation(waiting, "lodging", f"Losmen Menunggu {uuid.uuid4().hex[:6]}",
                          "Jl. Kertabumi 3, Karawang", TELUKJAMBE, licence_no="9120009876543", lodging_kind="hotel")
    world.organisation_id, world.stay_id, world.sttpoa_no = lodging.id, stay.id, stay.sttpoa_no


def partner_team(world, supervisor, made):
    """A Tim PORA member of the Karawang office's team, a report forwarded to the team and a
    planned joint operation, so the members' pages have something to show."""
    office = supervisor.office
    agency = create_agency(office, supervisor, "polri", f"Polres Aksesibel {uuid.uuid4().hex[:6]}")
    added = add_member(agency, supervisor, f"a11y-partner-{uuid.uuid4().hex[:8]}@polri.example", "Uji partner")
    secret = pyotp.random_base32()
    enrol_with_secret(added.user, secret)
    world.people["partner"] = Person(id=added.user.id, email=added.user.email, name=added.user.name,
                                     secret=secret, password=added.first_password)
    forwarded = forward_report(made, office, supervisor)
    plan = OperationPlan(title="Operasi gabungan Karawang", planned_on=local_today(),
                         kecamatan_id=None, agency_ids=(agency.id,), forwarded_ids=(forwarded.id,))
    world.forwarded_id, world.operation_id = forwarded.id, plan_operation(office, supervisor, plan).id


@pytest.fixture(scope="module")
def world(live_server):
    with live_server.app.app_context():
        limiter.reset()
        world = World()
        for role in ("officer", "supervisor", "regional_head"):
            world.people[role] = person(role, KARAWANG_OFFICE)[1]
        world.people["admin"] = person("admin")[1]
        world.people["new staff"] = person("officer", KARAWANG_OFFICE, authenticator=False)[1]
        resident, world.people["resident"] = person("resident", authenticator=False)
        made = report(reporter=resident)
        world.report_code, world.report_id = made.tracking_code, made.id
        report(point=TELUKJAMBE)
        supervisor = db.session.get(User, world.people["supervisor"].id)
        world.closed_code = closed_report(db.session.get(User, world.people["officer"].id), supervisor)
        lodging_with_a_guest(world, supervisor)
        partner_team(world, supervisor, made)
        office = db.session.scalar(select(Office.id).where(Office.code == KARAWANG_OFFICE))
        world.case_id = open_case(office, "complaint", "Petugas tidak membalas pesan saya.", "whatsapp").id
        db.session.commit()
        db.session.remove()
    return world


def pages(role, w):
    """The pages of `role` besides the links of its header and section menus (found on the pages
    themselves). Detail pages two roles share with the same contents are checked for one of them."""
    report_pages = [f"/laporan/{w.report_id}/sekitar", f"/laporan/{w.report_id}/lembar-lapangan",
                    f"/laporan/cari?code={w.report_code}", f"/pengawasan/tamu/{w.stay_id}",
                    f"/pengawasan/tamu/{w.stay_id}/riwayat-orang", "/notifikasi/pengaturan", "/bantuan"]
    return {
        "signed out": ["/lapor", "/status", f"/status/{w.report_code}", f"/lapor/tanda-terima/{w.report_code}",
                       "/bantuan", "/masuk", "/daftar", "/penginapan/daftar", f"/sttpoa/{w.sttpoa_no}",
                       f"/status/{w.closed_code}", f"/status/{w.closed_code}/nilai", "/keluhan",
                       "/privasi/permintaan", "/privasi/permintaan/kode", "/privasi/permintaan/tentang-saya"],
        "resident": [f"/status/{w.report_code}", "/privasi/permintaan/akun"],
        "lodging": [f"/penginapan/{w.organisation_id}", f"/penginapan/tamu/{w.stay_id}",
                    f"/penginapan/tamu/{w.stay_id}/koreksi", f"/penginapan/tamu/{w.stay_id}/batal",
                    f"/tamu/sttpoa/{w.stay_id}", "/penginapan/baru"],
        "officer": [f"/laporan/{w.report_id}"],
        "supervisor": [f"/laporan/{w.report_id}", *report_pages, f"/kasus/{w.case_id}",
                       f"/tim-pora/kelola/operasi/{w.operation_id}", "/tim-pora/peta"],
        "regional_head": ["/tim-pora/peta"],
        "admin": [f"/admin/pengguna/{w.people['officer'].id}"],
        "partner": [f"/tim-pora/laporan/{w.forwarded_id}", f"/tim-pora/operasi/{w.operation_id}"],
    }[role]


@dataclass
class Findings:
    """Everything wrong on the pages visited, one readable line each."""
    lines: list = field(default_factory=list)

    def add(self, path, what):
        self.lines.append(f"{path}: {what}")


class Screen:
    """One browser context of a role on one screen size, with axe-core ready on every page."""

    def __init__(self, chromium, live, name, storage_state=None):
        self.name = name
        self.context = chromium.new_context(**SCREENS[name], storage_state=storage_state)
        self.context.set_default_timeout(15_000)
        self.context.add_init_script(path=str(AXE))
        self.watch = Watch()
        self.context.route("**/*", _only_this_machine(self.watch))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.watch.console_errors.append(
            f"{m.text} ({m.location.get('url')})"))
        self.page.on("pageerror", lambda e: self.watch.page_errors.append(str(e)))
        self.live = live

    def goto(self, path):
        return self.page.goto(self.live(path))

    def check(self, path, findings):
        """Open `path` and note what axe finds and what breaks with the text at 200%."""
        answer, path = self.goto(path), f"{self.name} {path}"
        if answer.status != 200:
            findings.add(path, f"answered {answer.status}")
            return
        for violation in self.page.evaluate(RUN_AXE):
            if violation["impact"] in BLOCKING:
                findings.add(path, f"{violation['impact']} {violation['id']} ({violation['help']}): "
                                   + "; ".join(violation["targets"]))
        text = self.page.evaluate(TEXT_200)
        if text["overflow"] > 0:
            findings.add(path, f"at 200% text the page scrolls sideways by {text['overflow']}px: "
                               + ", ".join(text["wide"]))
        for problem in text["cut"]:
            findings.add(path, f"at 200% text {problem}")
        for problem in self.watch.problems():
            findings.add(path, problem)
        self.watch.console_errors.clear()
        self.watch.page_errors.clear()
        self.watch.blocked.clear()

    def section_links(self):
        """The role's pages as the header and the sections' own navigation link them."""
        hrefs = self.page.eval_on_selector_all(SECTION_LINKS, "links => links.map(a => a.getAttribute('href'))")
        return [href.partition("#")[0] for href in hrefs if href.startswith("/")]

    def close(self, name=None):
        if name:
            ARTIFACTS_DIR.mkdir(exist_ok=True)
            self.page.screenshot(path=str(ARTIFACTS_DIR / f"a11y-{name}.png"), full_page=True)
        self.context.close()


def give_password(screen, who):
    screen.page.fill("#email", who.email)
    screen.page.fill("#password", who.password)
    with screen.page.expect_navigation():
        screen.page.locator("main form button[type=submit]").click()


def signed_in_state(chromium, live, who, findings):
    """Sign `who` in on a phone (checking the sign-in pages on the way); the cookies, to share
    with the role's other screen."""
    screen = Screen(chromium, live, "phone")
    try:
        if who.secret:
            screen.check("/masuk", findings)
        else:
            screen.goto("/masuk")
        give_password(screen, who)
        if who.secret:
            screen.page.wait_for_url("**/masuk/kode")
            screen.check("/masuk/kode", findings)
            screen.page.fill("#code", who.code())
            with screen.page.expect_navigation():
                screen.page.locator("main form button[type=submit]").click()
        assert screen.page.inner_text("header .who").strip() == who.name, screen.page.inner_text("main")
        return screen.context.storage_state()
    finally:
        screen.close()


def check_enrolment(chromium, live, who, findings):
    """A new staff member's first sign-in ends on the page that sets up their authenticator app."""
    screen = Screen(chromium, live, "phone")
    try:
        screen.goto("/masuk")
        give_password(screen, who)
        screen.page.wait_for_url("**/masuk/aktifkan-kode")
        state = screen.context.storage_state()
        screen.check("/masuk/aktifkan-kode", findings)
    finally:
        screen.close()
    screen = Screen(chromium, live, "desktop", storage_state=state)
    try:
        screen.check("/masuk/aktifkan-kode", findings)
    finally:
        screen.close()


def visit_all(chromium, live, role, world, screen_name, findings, state=None):
    """Check the pages of the role's header and sections (followed from page to page) and its
    detail pages, on one screen size."""
    screen = Screen(chromium, live, screen_name, storage_state=state)
    before = len(findings.lines)
    try:
        screen.goto("/")
        waiting, seen = ["/", *screen.section_links(), *pages(role, world)], set()
        while waiting:
            path = waiting.pop(0)
            if path not in seen:
                seen.add(path)
                screen.check(path, findings)
                waiting += screen.section_links()
    finally:
        failed = len(findings.lines) > before
        screen.close(f"{role}-{screen_name}".replace(" ", "-") if failed else None)


ROLES = ["signed out", "resident", "lodging", "officer", "supervisor", "regional_head", "admin", "partner"]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_a_role_is_accessible_on_phone_and_desktop(chromium, live_server, world, role):
    assert AXE.exists(), "axe-core is missing from node_modules: run `npm ci` (make setup)"
    with live_server.app.app_context():
        limiter.reset()
    findings = Findings()
    state = None
    if role != "signed out":
        state = signed_in_state(chromium, live_server, world.people[role], findings)
    for screen_name in SCREENS:
        visit_all(chromium, live_server, role, world, screen_name, findings, state)
    if role == "signed out":
        check_enrolment(chromium, live_server, world.people["new staff"], findings)
    assert not findings.lines, f"{len(findings.lines)} problems for {role}:\n" + "\n".join(findings.lines)
