"""The officers' queue at /laporan: only reports the user may see, filters, the sort allowlist,
pagination, overdue highlighting, and a guard on the number of SQL statements per page."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from apoa.extensions import db
from apoa.reports import queries
from apoa.reports.tracking import display
from tests.factories import World

KARAWANG_BARAT = (107.30, -6.30)
KARAWANG_TIMUR = (107.31, -6.31)
BEKASI = (107.15, -6.30)          # Kabupaten Bekasi: KANIM-B, the sibling office under KANWIL-A
KETAPANG = (110.46, -1.67)        # Kabupaten Ketapang: KANIM-X, another Kanwil
WIB = timezone(timedelta(hours=7))


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def officer(world, sign_in):
    """A client signed in as an officer of KANIM-A (Kabupaten Karawang)."""
    return sign_in(world.actors["officer"])


def listed(page):
    """The report ids on a queue page, in the order shown."""
    assert page.status_code in (200, 400), page.status_code
    return [int(i) for i in re.findall(r'data-report-id="(\d+)"', page.text)]


def ids(*reports):
    return [r.id for r in reports]


# --- who sees what ---------------------------------------------------------------------------------

def test_an_officer_sees_the_reports_of_their_office_only(world, make, officer):
    own = make.report(point=KARAWANG_BARAT)
    make.report(point=BEKASI)
    make.report(point=KETAPANG)
    make.report(point=(106.8271, -6.1754))  # Jakarta: no office in this world
    assert listed(officer.get("/laporan")) == ids(own)


def test_a_kanwil_supervisor_sees_the_offices_below(world, make, sign_in):
    karawang, bekasi = make.report(point=KARAWANG_BARAT), make.report(point=BEKASI)
    make.report(point=KETAPANG)
    assert sorted(listed(sign_in(world.actors["kanwil_supervisor"]).get("/laporan"))) == sorted(ids(karawang, bekasi))


@pytest.mark.parametrize("actor", ["regional_head", "admin", "resident"])
def test_who_may_not_view_reports_is_refused_the_queue(world, make, sign_in, actor):
    make.report(point=KARAWANG_BARAT)
    answer = sign_in(world.actors[actor]).get("/laporan")
    assert answer.status_code == 403
    assert "data-report-id" not in answer.text


def test_anonymous_visitors_are_sent_to_sign_in(client):
    answer = client.get("/laporan?state=new")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/masuk")


def test_each_row_shows_what_an_officer_needs(world, make, officer, english):
    report = make.report(point=KARAWANG_BARAT, category_code="illegal_work", state="assigned",
                         assignee_id=world.actors["assignee"].id,
                         due_at=datetime.now(timezone.utc) + timedelta(days=2))
    text = officer.get("/laporan").text
    for shown in (display(report.tracking_code), "Suspected illegal work", "Karawang Barat",
                  "Kabupaten Karawang", "Assigned", world.actors["assignee"].name, f'href="/laporan/{report.id}"'):
        assert shown in text


# --- filters ---------------------------------------------------------------------------------------

def test_filter_by_state(world, make, officer):
    new = make.report(point=KARAWANG_BARAT)
    screening = make.report(point=KARAWANG_BARAT, state="screening")
    assert listed(officer.get("/laporan?state=screening")) == ids(screening)
    assert listed(officer.get("/laporan?state=new")) == ids(new)


def test_filter_by_category(world, make, officer):
    work = make.report(point=KARAWANG_BARAT, category_code="illegal_work")
    make.report(point=KARAWANG_BARAT, category_code="other")
    category_id = work.category_id
    assert listed(officer.get(f"/laporan?category={category_id}")) == ids(work)


def test_filter_by_kabupaten_and_kecamatan(world, make, sign_in):
    barat, timur = make.report(point=KARAWANG_BARAT), make.report(point=KARAWANG_TIMUR)
    bekasi = make.report(point=BEKASI)
    client = sign_in(world.actors["kanwil_supervisor"])
    page = client.get(f"/laporan?kabupaten={barat.kab_id}")
    assert sorted(listed(page)) == sorted(ids(barat, timur))
    assert "Karawang Timur</option>" in page.text  # the kecamatan of the chosen kabupaten are offered
    assert listed(client.get(f"/laporan?kabupaten={barat.kab_id}&kecamatan={timur.kec_id}")) == ids(timur)
    assert listed(client.get(f"/laporan?kabupaten={bekasi.kab_id}")) == ids(bekasi)


def test_an_officer_is_offered_only_the_kabupaten_of_their_jurisdiction(world, officer):
    text = officer.get("/laporan").text
    assert "Kabupaten Karawang</option>" in text
    assert "Kabupaten Bekasi</option>" not in text and "Kabupaten Ketapang</option>" not in text


def test_a_kabupaten_outside_the_jurisdiction_is_refused_as_a_filter(world, make, officer):
    make.report(point=KARAWANG_BARAT)
    bekasi = make.report(point=BEKASI)
    answer = officer.get(f"/laporan?kabupaten={bekasi.kab_id}")
    assert answer.status_code == 400 and 'class="field-error"' in answer.text
    assert bekasi.id not in listed(answer)


def test_filter_by_date_received_in_local_time(world, make, officer):
    # 9 January 20:00 UTC is 10 January 03:00 in Jakarta: received on the 10th for the officer.
    early_tenth = make.report(point=KARAWANG_BARAT, created_at=datetime(2026, 1, 9, 20, 0, tzinfo=timezone.utc))
    ninth = make.report(point=KARAWANG_BARAT, created_at=datetime(2026, 1, 9, 10, 0, tzinfo=timezone.utc))
    eleventh = make.report(point=KARAWANG_BARAT, created_at=datetime(2026, 1, 11, 10, 0, tzinfo=timezone.utc))
    assert listed(officer.get("/laporan?received_from=2026-01-10&received_to=2026-01-10")) == ids(early_tenth)
    assert listed(officer.get("/laporan?received_to=2026-01-09")) == ids(ninth)
    assert listed(officer.get("/laporan?received_from=2026-01-11")) == ids(eleventh)


def test_a_date_range_ending_before_it_starts_is_an_error(world, make, officer):
    answer = officer.get("/laporan?received_from=2026-01-10&received_to=2026-01-01")
    assert answer.status_code == 400 and 'class="field-error"' in answer.text


def test_filter_overdue_and_the_rows_are_highlighted(world, make, officer):
    now = datetime.now(timezone.utc)
    late = make.report(point=KARAWANG_BARAT, state="screening", due_at=now - timedelta(hours=1))
    in_time = make.report(point=KARAWANG_BARAT, state="screening", due_at=now + timedelta(hours=5))
    make.report(point=KARAWANG_BARAT, state="closed", outcome="not_found", due_at=now - timedelta(days=3))
    assert listed(officer.get("/laporan?overdue=y")) == ids(late)
    text = officer.get("/laporan").text
    late_row = re.search(rf'<tr class="([^"]*)" data-report-id="{late.id}">(.*?)</tr>', text, re.S)
    on_time_row = re.search(rf'<tr class="([^"]*)" data-report-id="{in_time.id}">(.*?)</tr>', text, re.S)
    assert late_row.group(1) == "overdue" and "badge-overdue" in late_row.group(2)
    assert on_time_row.group(1) == "" and "badge-overdue" not in on_time_row.group(2)


def test_filter_assigned_to_me(world, make, sign_in):
    mine = make.report(point=KARAWANG_BARAT, state="assigned", assignee_id=world.actors["assignee"].id)
    make.report(point=KARAWANG_BARAT, state="assigned", assignee_id=world.actors["officer"].id)
    make.report(point=KARAWANG_BARAT)
    assert listed(sign_in(world.actors["assignee"]).get("/laporan?mine=y")) == ids(mine)


def test_filters_combine(world, make, officer):
    now = datetime.now(timezone.utc)
    wanted = make.report(point=KARAWANG_BARAT, state="screening", category_code="illegal_work",
                         due_at=now - timedelta(hours=1))
    make.report(point=KARAWANG_BARAT, state="screening", category_code="other", due_at=now - timedelta(hours=1))
    make.report(point=KARAWANG_BARAT, state="new", category_code="illegal_work", due_at=now - timedelta(hours=1))
    url = f"/laporan?state=screening&category={wanted.category_id}&overdue=y"
    assert listed(officer.get(url)) == ids(wanted)


# --- sorting ---------------------------------------------------------------------------------------

@pytest.fixture
def three(world, make):
    """Three reports received on three days, due in the opposite order."""
    base = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
    return [make.report(point=KARAWANG_BARAT, state="screening", created_at=base + timedelta(days=n),
                        due_at=base + timedelta(days=10 - n)) for n in range(3)]


def test_the_default_sort_is_newest_first(three, officer):
    assert listed(officer.get("/laporan")) == ids(*reversed(three))


@pytest.mark.parametrize("key, order", [("newest", [2, 1, 0]), ("oldest", [0, 1, 2]), ("due", [2, 1, 0])])
def test_sorts_from_the_allowlist(three, officer, key, order):
    assert listed(officer.get(f"/laporan?sort={key}")) == [three[n].id for n in order]


@pytest.mark.parametrize("key", ["created_at", "id desc", "state; DROP TABLE report", "", "due,oldest", "__class__"])
def test_an_unknown_sort_key_falls_back_to_the_default(three, officer, key):
    answer = officer.get("/laporan", query_string={"sort": key})
    assert answer.status_code == 200
    assert listed(answer) == ids(*reversed(three))


def test_the_sort_allowlist_is_what_the_queue_offers():
    assert set(queries.SORTS) == {"newest", "oldest", "due"}
    assert queries.sort_key("nope") == queries.DEFAULT_SORT == "newest"


# --- pagination ------------------------------------------------------------------------------------

@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(queries, "PER_PAGE", 4)


def test_pages_cover_every_report_once(world, make, officer, small_pages):
    reports = [make.report(point=KARAWANG_BARAT) for _ in range(10)]
    pages = [listed(officer.get(f"/laporan?page={n}")) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [4, 4, 2]
    assert sorted(sum(pages, [])) == sorted(ids(*reports))
    first, last = officer.get("/laporan?page=1").text, officer.get("/laporan?page=3").text
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert 'rel="prev"' in last and 'rel="next"' not in last


def test_page_links_keep_the_filters(world, make, officer, small_pages):
    for _ in range(5):
        make.report(point=KARAWANG_BARAT, state="screening")
    text = officer.get("/laporan?state=screening&sort=oldest").text
    link = re.search(r'rel="next" href="([^"]+)"', text).group(1).replace("&amp;", "&")
    assert "state=screening" in link and "sort=oldest" in link and "page=2" in link


@pytest.mark.parametrize("page", ["0", "-3", "abc", ""])
def test_a_bad_page_number_shows_the_first_page(world, make, officer, page):
    report = make.report(point=KARAWANG_BARAT)
    answer = officer.get("/laporan", query_string={"page": page})
    assert answer.status_code == 200 and listed(answer) == ids(report)


def test_paging_is_capped(world, make, officer, small_pages, monkeypatch, english):
    monkeypatch.setattr(queries, "MAX_PAGE", 2)
    reports = [make.report(point=KARAWANG_BARAT) for _ in range(10)]
    answer = officer.get("/laporan?page=50")
    assert listed(answer) == ids(*reversed(reports))[4:8]  # page 2, the last one allowed
    assert 'rel="next"' not in answer.text
    assert "Only the first 2 pages are shown. Narrow the filters to find older reports." in answer.text


# --- the number of statements per page -------------------------------------------------------------

@pytest.fixture
def statements(db_session):
    """The SQL statements executed meanwhile. Requests in tests run on the test's connection, which
    comes from the harness app's engine (`db.engine` here), so listening there sees them all."""
    engine = db_session.connection().engine
    assert engine is db.engine
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def statements_for(client, url, statements):
    statements.clear()
    answer = client.get(url)
    assert answer.status_code == 200
    return len(statements), len(listed(answer))


@pytest.mark.parametrize("url", [
    "/laporan",
    "/laporan?state=assigned&sort=due",
    "/laporan?kabupaten={kab}&overdue=y&mine=y&received_from=2020-01-01",
])
def test_the_number_of_statements_does_not_grow_with_the_rows(world, make, officer, statements, url):
    now = datetime.now(timezone.utc)
    assignee = world.actors["officer"]

    def add(n):
        for i in range(n):
            make.report(point=KARAWANG_BARAT if i % 2 else KARAWANG_TIMUR, state="assigned",
                        assignee_id=assignee.id, due_at=now - timedelta(hours=i + 1),
                        category_code=("illegal_work", "other", "overstay")[i % 3])

    add(5)
    url = url.format(kab=db.session.scalar(db.select(queries.Region.id).where(queries.Region.kode == "32.15")))
    few, rows_few = statements_for(officer, url, statements)
    add(35)
    many, rows_many = statements_for(officer, url, statements)
    assert (rows_few, rows_many) == (5, 25)
    assert few == many
    # A small constant: the user and their office, the filters' choices, the page itself.
    assert 4 <= few <= 12, statements
    assert not any("region.geom" in s for s in statements)  # names only, never boundaries


# --- closed reports --------------------------------------------------------------------------------

def test_closed_reports_are_hidden_unless_asked_for(world, make, officer, english):
    open_one = make.report(point=KARAWANG_BARAT, state="screening")
    closed = make.report(point=KARAWANG_BARAT, state="closed", outcome="not_found")
    answer = officer.get("/laporan")
    assert listed(answer) == ids(open_one)
    assert "closed reports are hidden" in answer.text
    assert sorted(listed(officer.get("/laporan?closed=y"))) == sorted(ids(open_one, closed))
    # Choosing a status shows that status, closed included.
    assert listed(officer.get("/laporan?state=closed")) == ids(closed)


def test_an_empty_open_queue_offers_the_closed_reports(world, make, officer, english):
    make.report(point=KARAWANG_BARAT, state="closed", outcome="not_found")
    answer = officer.get("/laporan")
    assert listed(answer) == []
    assert re.search(r'<a href="/laporan\?closed=y">Include closed reports</a>', answer.text)
