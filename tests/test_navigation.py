"""Navigation per role: signing in lands where the work is (officers and supervisors: their tasks;
regional heads: the dashboard; administrators: the accounts), a page asked for on this site comes
first; and every page a role may use is in its header, each answering it, decided by permission."""
import re
from pathlib import Path

import pytest

from apoa.extensions import db
from apoa.partners.models import PartnerAgency, PartnerMember
from tests.factories import World

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LANDING = {"officer": "/tugas-saya", "supervisor": "/tugas-saya", "regional_head": "/ringkasan",
           "admin": "/admin/pengguna", "resident": "/", "lodging": "/penginapan", "partner": "/tim-pora/"}
# What each role must find in its header (the pages of its work), in this order where it matters.
NAV_PAGES = {
    "officer": ["/tugas-saya", "/laporan", "/pengawasan/tamu", "/peta", "/ekspor", "/akun/token", "/notifikasi"],
    "supervisor": ["/tugas-saya", "/laporan", "/pengawasan/tamu", "/peta", "/ringkasan", "/kasus/", "/tim-pora/kelola",
                   "/privasi/keputusan", "/peta/wilayah",
                   "/ringkasan/bulanan", "/ekspor", "/akun/token", "/notifikasi"],
    "regional_head": ["/peta", "/ringkasan", "/peta/wilayah", "/ringkasan/bulanan", "/ekspor"],
    "admin": ["/admin/pengguna"],
    "resident": ["/lapor", "/status", "/laporan-saya"],
    "lodging": ["/lapor", "/status", "/laporan-saya", "/penginapan"],
    "partner": ["/tim-pora/"],
}


@pytest.fixture
def world(make):
    world = World(make)
    world.actors["lodging"] = make.user("lodging")  # staff of a lodging, company or host
    world.actors["partner"] = partner_member(make, world.actors["officer"].office)
    return world


def partner_member(make, office):
    """A Tim PORA member of the office's team: a partner account always belongs to an agency."""
    agency = PartnerAgency(office_id=office.id, kind="polri", name="Polres Contoh")
    db.session.add(agency)
    db.session.flush()
    user = make.user("partner", office)
    db.session.add(PartnerMember(user_id=user.id, agency_id=agency.id))
    db.session.flush()
    return user


@pytest.mark.parametrize("role", list(LANDING))
def test_signing_in_lands_where_the_work_is(world, auth, role):
    answer = auth.login(world.actors[role])
    assert answer.status_code == 302 and answer.headers["Location"] == LANDING[role]


@pytest.mark.parametrize("role", ["officer", "regional_head", "admin"])
def test_a_page_asked_for_on_this_site_comes_first(world, auth, role):
    answer = auth.login(world.actors[role], next="/status?x=1")
    assert answer.headers["Location"] == "/status?x=1"


@pytest.mark.parametrize("role", ["officer", "regional_head"])
def test_a_page_elsewhere_is_ignored_and_the_sign_in_lands_on_the_work(world, auth, role):
    answer = auth.login(world.actors[role], next="https://evil.example/ringkasan")
    assert answer.headers["Location"] == LANDING[role]


def test_a_signed_in_user_opening_the_sign_in_page_is_sent_to_their_work(world, sign_in):
    answer = sign_in(world.actors["regional_head"]).get("/masuk")
    assert answer.status_code == 302 and answer.headers["Location"] == "/ringkasan"


def header_links(page):
    header = page.split("</header>")[0]
    return re.findall(r'<a class="nav-link" href="([^"]+)"', header) + re.findall(
        r'<a href="(/notifikasi)"', header)


@pytest.mark.parametrize("role", list(NAV_PAGES))
def test_every_page_of_a_role_is_in_its_header_and_answers_it(world, sign_in, role):
    client = sign_in(world.actors[role])
    links = header_links(client.get("/").text)
    assert [link for link in links if link in NAV_PAGES[role]] == NAV_PAGES[role], links
    for link in links:
        assert client.get(link, follow_redirects=True).status_code == 200, link  # one team: its page


@pytest.mark.parametrize("role", ["officer", "supervisor"])
def test_the_tasks_come_first_for_who_acts_on_reports(world, sign_in, role):
    assert header_links(sign_in(world.actors[role]).get("/").text)[0] == "/tugas-saya"


def test_no_role_sees_a_link_to_a_page_it_may_not_use(world, sign_in):
    head = header_links(sign_in(world.actors["regional_head"]).get("/").text)
    assert "/laporan" not in head and "/tugas-saya" not in head and "/admin/pengguna" not in head
    admin = header_links(sign_in(world.actors["admin"]).get("/").text)
    assert not {"/laporan", "/ringkasan", "/ekspor", "/peta"} & set(admin)


def test_the_current_page_is_marked_in_the_header(world, sign_in):
    page = sign_in(world.actors["regional_head"]).get("/ringkasan").text
    assert '<a class="nav-link" href="/ringkasan" aria-current="page">' in page


def test_the_navigation_asks_permissions_never_role_names():
    base = (TEMPLATES / "base.html").read_text()
    nav = base[base.index("{% block nav %}"):base.index("{% endblock %}", base.index("{% block nav %}"))]
    assert ".role" not in nav and "regional_head" not in nav
