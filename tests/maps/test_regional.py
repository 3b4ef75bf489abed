"""The regional map (/peta/wilayah and its data.json): counts per kabupaten/kota and per kecamatan
against reports made at known places and times, "< 3" for every area with one or two reports (never
the number, in the JSON or on the page) and 0 for an area without any, the jurisdiction however the
box is drawn, 404 for everyone without view_aggregates, and a 400 with a message for every bad
parameter.

A regional head (aggregates only) sees the last month that ended unless told another month
(tests/maps/test_regional_differencing.py tries the months and the withheld counts): the reports
here are made in that month (`reports_at`) under a held clock, and the periods of staff (a
supervisor, who may view reports) are tried with the supervisor."""
import json
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from apoa.extensions import db
from apoa.maps.regional import Band, class_breaks, resolve_period
from apoa.periods import add_months
from apoa.regions.models import Region
from tests.factories import World

WIB = ZoneInfo("Asia/Jakarta")
KARAWANG_BARAT = (107.30, -6.30)   # Kabupaten Karawang (32.15): KANIM-A
KARAWANG_TIMUR = (107.31, -6.31)
LONE_KECAMATAN = (107.25, -6.37)   # another kecamatan of Karawang
BEKASI = (107.15, -6.30)           # Kabupaten Bekasi (32.16): KANIM-B, the sibling under KANWIL-A
KETAPANG = (110.46, -1.67)         # Kabupaten Ketapang (61.04): KANIM-X, another Kanwil
KARAWANG, KAB_BEKASI, KAB_KETAPANG = "32.15", "32.16", "61.04"
WEST_JAVA = "106.9,-6.7,107.7,-5.9"
AROUND_KETAPANG = "109.5,-2.5,111.5,-1.0"
WORLD = "-180,-90,180,90"
JSON = {"Accept": "application/json"}


# When reports_at makes its reports: a morning in the month before the clock's (see `last_month`).
MADE = {}


@pytest.fixture(autouse=True)
def last_month(clock):
    """The first day of the month a head's map shows by default: the one before the clock's."""
    first = add_months(clock.today.replace(day=1), -1)
    MADE["at"] = clock.at(first + timedelta(days=9), 10)
    return first


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def kanwil_head(world, sign_in):
    """A regional head of KANWIL-A: Karawang (KANIM-A) and Bekasi (KANIM-B)."""
    return sign_in(world.actors["regional_head"])


@pytest.fixture
def staff(world, sign_in):
    """A supervisor of KANIM-A (views reports): every period, Karawang only."""
    return sign_in(world.actors["supervisor"])


@pytest.fixture
def kantor_head(world, make, sign_in):
    """A regional head of KANIM-A: Karawang only."""
    return sign_in(make.user("regional_head", world.office))


def get_data(client, bbox=WEST_JAVA, zoom=9, **params):
    answer = client.get("/peta/wilayah/data.json",
                        query_string={"bbox": bbox, "zoom": zoom, **params}, headers=JSON)
    assert answer.headers["Content-Type"].startswith("application/json"), answer.text[:200]
    return answer


def areas(answer):
    """{kode: properties} of the features in a data.json answer."""
    assert answer.status_code == 200, answer.text
    features = answer.json["areas"]["features"]
    assert all(f["id"] == f["properties"]["kode"] for f in features)
    return {f["properties"]["kode"]: f["properties"] for f in features}


def reports_at(make, point, n, **fields):
    """`n` reports at `point`, made in last month unless `created_at` says otherwise."""
    fields.setdefault("created_at", MADE["at"])
    return [make.report(point=point, **fields) for _ in range(n)]


def kode_of(region_id):
    return db.session.scalar(select(Region.kode).where(Region.id == region_id))


def wib(day, hour=0, minute=0, second=0, micro=0):
    """An aware datetime at a local (WIB) wall-clock time."""
    return datetime.combine(day, time(hour, minute, second, micro), tzinfo=WIB)


def table_rows(html):
    """[(kode, label)] of the page's table, in order."""
    rows = re.findall(r'<tr data-kode="([^"]+)">(.*?)</tr>', html, flags=re.S)
    return [(kode, re.search(r'<td class="num">([^<]*)</td>', body).group(1).strip())
            for kode, body in rows]


# --- counts --------------------------------------------------------------------------------------

def test_counts_per_kabupaten_of_the_jurisdiction(world, make, kanwil_head):
    reports_at(make, KARAWANG_BARAT, 4)
    reports_at(make, KARAWANG_TIMUR, 3)
    reports_at(make, BEKASI, 5)
    reports_at(make, KETAPANG, 6)                       # another Kanwil's
    answer = get_data(kanwil_head)
    assert answer.headers["Cache-Control"] == "private, no-store"
    shown = areas(answer)
    assert set(shown) == {KARAWANG, KAB_BEKASI}
    assert shown[KARAWANG]["count"] == 7 and shown[KAB_BEKASI]["count"] == 5
    assert shown[KARAWANG]["nama"] == make.region(KARAWANG).nama
    assert answer.json["level"] == "kabupaten_kota"


def test_counts_per_kecamatan_when_zoomed_in(world, make, kanwil_head):
    here = reports_at(make, KARAWANG_BARAT, 3)
    nearby = reports_at(make, KARAWANG_TIMUR, 4)
    lone = reports_at(make, LONE_KECAMATAN, 2)
    answer = get_data(kanwil_head, bbox="107.2,-6.4,107.4,-6.2", zoom=12)
    assert answer.json["level"] == "kecamatan"
    shown = areas(answer)
    expected = {}
    for report in here + nearby:
        expected[kode_of(report.kec_id)] = expected.get(kode_of(report.kec_id), 0) + 1
    assert sorted(expected.values()) == [3, 4]
    counted = {kode: props["count"] for kode, props in shown.items() if "count" in props}
    smaller, larger = sorted(expected, key=expected.get)
    # Karawang's 9 less the shown kecamatan would give the lone one's 2 back: the smaller of the
    # counted ones is withheld beside it.
    assert counted == {larger: 4}
    assert (shown[smaller]["band"], shown[smaller]["label"]) == (0, "–")
    lone_kode = kode_of(lone[0].kec_id)
    assert lone_kode not in expected
    assert {k: v for k, v in shown[lone_kode].items() if k != "nama"} == {
        "kode": lone_kode, "band": 0, "label": "< 3"}
    # Every kecamatan drawn is one of the Kanwil's kabupaten.
    assert all(kode[:5] in (KARAWANG, KAB_BEKASI) and len(kode) > 5 for kode in shown)
    assert len(shown) > len(expected)


def test_the_state_filter_counts_only_that_state(world, make, kanwil_head):
    reports_at(make, KARAWANG_BARAT, 3, state="new")
    reports_at(make, KARAWANG_BARAT, 4, state="screening")
    assert areas(get_data(kanwil_head))[KARAWANG]["count"] == 7
    assert areas(get_data(kanwil_head, state="new"))[KARAWANG]["count"] == 3
    assert areas(get_data(kanwil_head, state="screening"))[KARAWANG]["count"] == 4
    assert "count" not in areas(get_data(kanwil_head, state="closed"))[KARAWANG]


def test_bands_and_legend_follow_the_counts(world, make, kanwil_head):
    reports_at(make, KARAWANG_BARAT, 9)
    reports_at(make, BEKASI, 3)
    answer = get_data(kanwil_head)
    legend = answer.json["legend"]
    assert legend[:2] == [{"band": "none", "label": "0"}, {"band": 0, "label": "< 3"}]
    assert (legend[2]["band"], legend[2]["label"]) == (0, "–")      # withheld, drawn like "< 3"
    assert [(e["min"], e["max"]) for e in legend[3:]] == [(3, 3), (4, 9)]
    shown = areas(answer)
    assert (shown[KAB_BEKASI]["band"], shown[KARAWANG]["band"]) == (1, 2)


def test_class_breaks_split_the_counts_at_quantiles():
    assert class_breaks([]) == []
    assert class_breaks([0, 1, 2]) == []
    assert class_breaks([40, 2]) == [Band(1, 3, 40)]
    assert class_breaks([3, 4, 5, 100]) == [Band(1, 3, 3), Band(2, 4, 4), Band(3, 5, 5),
                                            Band(4, 6, 100)]
    assert class_breaks(list(range(3, 11))) == [Band(1, 3, 4), Band(2, 5, 6), Band(3, 7, 8),
                                                Band(4, 9, 10)]
    assert class_breaks([7, 7, 7, 7, 7]) == [Band(1, 3, 7)]


# --- suppression ---------------------------------------------------------------------------------

def test_one_and_two_reports_give_the_same_answer_and_none_gives_zero(world, make, kanwil_head):
    """"< 3" in the JSON: the whole answer is the same byte for byte for 1 and 2 reports; an area
    without reports is 0 (issue 11: empty regions read "< 3" and sent heads looking)."""
    reports_at(make, BEKASI, 5)
    answers = []
    for karawang_reports in range(3):
        if karawang_reports:
            reports_at(make, KARAWANG_BARAT, 1)
        answers.append(get_data(kanwil_head).text)
    assert answers[1] == answers[2]
    props = [{f["properties"]["kode"]: f["properties"] for f in json.loads(answer)["areas"]["features"]}
             for answer in answers]
    nama = make.region(KARAWANG).nama
    assert props[0][KARAWANG] == {"kode": KARAWANG, "nama": nama, "band": "none", "label": "0"}
    assert props[2][KARAWANG] == {"kode": KARAWANG, "nama": nama, "band": 0, "label": "< 3"}
    # The third report lifts the suppression.
    reports_at(make, KARAWANG_BARAT, 1)
    assert areas(get_data(kanwil_head))[KARAWANG]["count"] == 3


def test_the_page_shows_less_than_three_never_the_number(world, make, sign_in):
    head = sign_in(world.actors["regional_head"])
    names = [make.region(kode).nama for kode in (KAB_BEKASI, KARAWANG)]
    assert names == sorted(names)        # by name Bekasi comes first, by count Karawang would
    pages = []
    for karawang_reports in range(3):
        if karawang_reports:
            reports_at(make, KARAWANG_BARAT, 1)
        pages.append(table_rows(head.get("/peta/wilayah").text))
    # Karawang 0, 1 then 2 reports, Bekasi none: 0 for no report, then "< 3" whether 1 or 2.
    assert pages[0] == [(KAB_BEKASI, "0"), (KARAWANG, "0")]
    assert pages[1] == pages[2] == [(KARAWANG, "&lt; 3"), (KAB_BEKASI, "0")]
    # With Bekasi's 3 the month's total (on the dashboard) less Bekasi would give Karawang's count
    # back: Bekasi is withheld, and both sort by name.
    reports_at(make, BEKASI, 3)
    assert table_rows(head.get("/peta/wilayah").text) == [(KAB_BEKASI, "–"), (KARAWANG, "&lt; 3")]
    reports_at(make, BEKASI, 2)
    reports_at(make, KARAWANG_BARAT, 1)
    assert table_rows(head.get("/peta/wilayah").text) == [(KAB_BEKASI, "5"), (KARAWANG, "3")]


def test_the_table_sorts_counted_areas_by_count(world, make, kanwil_head):
    reports_at(make, BEKASI, 3)
    reports_at(make, KARAWANG_BARAT, 8)
    answer = kanwil_head.get("/peta/wilayah")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert table_rows(answer.text) == [(KARAWANG, "8"), (KAB_BEKASI, "3")]


# --- jurisdiction --------------------------------------------------------------------------------

def test_a_box_over_another_offices_area_returns_none_of_it(world, make, kantor_head):
    reports_at(make, BEKASI, 5)
    reports_at(make, KETAPANG, 5)
    reports_at(make, KARAWANG_BARAT, 3)
    over_bekasi = get_data(kantor_head, bbox="106.95,-6.4,107.1,-6.2")
    assert set(areas(over_bekasi)) <= {KARAWANG} and KAB_BEKASI not in over_bekasi.text
    assert areas(get_data(kantor_head, bbox=AROUND_KETAPANG)) == {}
    assert areas(get_data(kantor_head, bbox=AROUND_KETAPANG, zoom=12)) == {}
    for bbox, zoom in ((WORLD, 4), (WORLD, 9), ("106.9,-6.5,107.5,-6.0", 12)):
        shown = areas(get_data(kantor_head, bbox=bbox, zoom=zoom))
        assert shown, zoom
        assert all(kode == KARAWANG or kode.startswith(KARAWANG + ".") for kode in shown), zoom
    assert areas(get_data(kantor_head, bbox=WORLD, zoom=4))[KARAWANG]["count"] == 3


def test_a_kantor_head_never_sees_the_sibling_offices_counts(world, make, kantor_head):
    reports_at(make, BEKASI, 7)
    answer = kantor_head.get("/peta/wilayah")
    assert [kode for kode, _label in table_rows(answer.text)] == [KARAWANG]
    assert make.region(KAB_BEKASI).nama not in answer.text
    assert KAB_BEKASI not in get_data(kantor_head, bbox=WORLD, zoom=5).text


def test_counts_only_reports_of_the_heads_offices(world, make, kantor_head):
    """A report lying in Karawang but now handled by KANIM-B (transferred) is not KANIM-A's."""
    reports_at(make, KARAWANG_BARAT, 3)
    for report in reports_at(make, KARAWANG_BARAT, 2):
        report.office_id = world.other_office.id
    db.session.flush()
    assert areas(get_data(kantor_head))[KARAWANG]["count"] == 3


def test_the_ditjen_sees_every_area(world, make, sign_in):
    ditjen = world.office.parent.parent
    head = sign_in(make.user("regional_head", ditjen))
    reports_at(make, KETAPANG, 4)
    shown = areas(get_data(head, bbox=AROUND_KETAPANG))
    assert shown[KAB_KETAPANG]["count"] == 4
    assert len(shown) > 1                                # the neighbours too, without reports: 0
    assert {p["label"] for k, p in shown.items() if k != KAB_KETAPANG} == {"0"}


def test_a_head_without_an_office_region_gets_an_empty_map(make, sign_in):
    head = sign_in(make.user("regional_head", make.office()))
    assert areas(get_data(head, bbox=WORLD, zoom=4)) == {}
    assert head.get("/peta/wilayah").status_code == 200


# --- who may look --------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["officer", "resident", "admin", "foreign_officer"])
def test_users_without_aggregates_get_404(world, sign_in, who):
    client = sign_in(world.actors[who])
    assert client.get("/peta/wilayah").status_code == 404
    answer = get_data(client)
    assert answer.status_code == 404 and answer.json["error"]["status"] == 404


def test_anonymous_visitors_get_404(client):
    assert client.get("/peta/wilayah").status_code == 404
    answer = get_data(client)
    assert answer.status_code == 404 and "areas" not in answer.json


def test_a_supervisor_may_read_the_map(world, make, sign_in):
    reports_at(make, KARAWANG_BARAT, 3)
    supervisor = sign_in(world.actors["supervisor"])
    assert supervisor.get("/peta/wilayah").status_code == 200
    assert areas(get_data(supervisor, period="last_month"))[KARAWANG]["count"] == 3


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"bbox": "abc"}, {"bbox": "1,2,3"}, {"bbox": "10,0,5,1"}, {"bbox": "nan,0,1,1"}, {"bbox": ""},
    {"zoom": "x"}, {"zoom": "99"}, {"zoom": "-1"}, {"zoom": ""},
    {"bulan": "2026-13"}, {"bulan": "soon"}, {"bulan": "1999-12"}, {"bulan": "9999-01"},
    {"state": "bogus"}, {"state": "'; DROP TABLE report; --"},
])
def test_bad_parameters_answer_400_json_with_a_message(world, kanwil_head, params):
    query = {"bbox": WEST_JAVA, "zoom": 9, **params}
    answer = kanwil_head.get("/peta/wilayah/data.json", query_string=query)   # no Accept header
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert len(answer.json["error"]["message"]) > 10


@pytest.mark.parametrize("params", [
    {"period": "forever"}, {"period": "custom"}, {"period": "custom", "from": "2026-01-01"},
    {"period": "custom", "from": "2026-02-30", "to": "2026-03-01"},
    {"period": "custom", "from": "2026-03-10", "to": "2026-03-01"},
    {"period": "custom", "from": "0001-01-01", "to": "2026-03-01"},
    {"period": "custom", "from": "2026-01-01", "to": "9999-12-31"},
    {"period": "custom", "from": "yesterday", "to": "today"},
    {"state": "bogus"},
])
def test_bad_periods_of_staff_answer_400_json_with_a_message(world, staff, params):
    query = {"bbox": WEST_JAVA, "zoom": 9, **params}
    answer = staff.get("/peta/wilayah/data.json", query_string=query)   # no Accept header
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert len(answer.json["error"]["message"]) > 10


def test_a_bad_period_on_the_page_answers_400_with_the_form(world, staff, english):
    answer = staff.get("/peta/wilayah", query_string={
        "period": "custom", "from": "2026-03-10", "to": "2026-03-01"})
    assert answer.status_code == 400
    assert "The end date must not be before the start date." in answer.text
    assert 'name="period"' in answer.text and "folium-map" not in answer.text


def test_messages_name_the_field(world, kanwil_head, english):
    answer = get_data(kanwil_head, state="bogus")
    assert answer.json["error"]["message"] == "Status: Not a valid choice."
    answer = get_data(kanwil_head, bulan="2026-13")
    assert answer.json["error"]["message"].startswith("Month: “2026-13” is not a month")


def test_a_staff_period_message_names_the_period(world, staff, english):
    answer = get_data(staff, period="custom")
    assert answer.json["error"]["message"].startswith(
        "Period: A period between two dates needs both")


# --- periods -------------------------------------------------------------------------------------

def test_periods_resolve_to_whole_local_days():
    today = date(2026, 3, 15)
    keys = ("7d", "30d", "90d", "365d", "this_month", "last_month")
    spans = {key: (p.first, p.last) for key in keys for p in [resolve_period(key, today)]}
    assert spans == {
        "7d": (date(2026, 3, 9), today), "30d": (date(2026, 2, 14), today),
        "90d": (date(2025, 12, 16), today), "365d": (date(2025, 3, 16), today),
        "this_month": (date(2026, 3, 1), today),
        "last_month": (date(2026, 2, 1), date(2026, 2, 28)),
    }
    january = resolve_period("last_month", date(2026, 1, 1))
    assert (january.first, january.last) == (date(2025, 12, 1), date(2025, 12, 31))
    custom = resolve_period("custom", today, date(2026, 1, 5), date(2026, 1, 5))
    assert (custom.first, custom.last) == (date(2026, 1, 5), date(2026, 1, 5))


def test_a_custom_period_counts_from_local_midnight_to_local_midnight(world, make, staff):
    day = date(2026, 1, 10)
    for at in (wib(day), wib(day, 12), wib(day, 23, 59, 59, 999999)):
        make.report(point=KARAWANG_BARAT, created_at=at)
    for at in (wib(day) - timedelta(microseconds=1), wib(day + timedelta(days=1))):
        make.report(point=KARAWANG_BARAT, created_at=at)
    one_day = get_data(staff, period="custom", **{"from": "2026-01-10", "to": "2026-01-10"})
    assert areas(one_day)[KARAWANG]["count"] == 3
    three_days = get_data(staff, period="custom", **{"from": "2026-01-09", "to": "2026-01-11"})
    assert areas(three_days)[KARAWANG]["count"] == 5


@pytest.mark.date_sensitive
def test_last_seven_days_start_at_local_midnight_six_days_ago(world, make, staff, clock):
    today = clock.today
    first = today - timedelta(days=6)
    for at in (wib(first), wib(first, 0, 0, 1), clock.now):
        make.report(point=KARAWANG_BARAT, created_at=at)
    make.report(point=KARAWANG_BARAT, created_at=wib(first) - timedelta(seconds=1))
    assert areas(get_data(staff, period="7d"))[KARAWANG]["count"] == 3
    assert areas(get_data(staff, period="30d"))[KARAWANG]["count"] == 4
    answer = get_data(staff, period="7d")
    assert answer.json["period"] == {"key": "7d", "first": first.isoformat(),
                                     "last": today.isoformat()}


def test_dates_are_ignored_unless_the_period_is_custom(world, make, staff, clock):
    reports_at(make, KARAWANG_BARAT, 3, created_at=clock.now)
    answer = get_data(staff, period="30d", **{"from": "2020-01-01", "to": "2020-01-02"})
    assert answer.json["period"]["key"] == "30d"
    assert areas(answer)[KARAWANG]["count"] == 3


# --- the page ------------------------------------------------------------------------------------

def test_the_page_builds_an_offline_folium_map(world, make, staff):
    answer = staff.get("/peta/wilayah?period=90d&state=new")
    assert answer.status_code == 200
    html = answer.text
    assert 'class="folium-map"' in html
    assert "window.ApoaMaps.regional(" in html
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(src.startswith("/") for src in sources), sources
    assert "/static/js/regional-map.js" in sources and "/static/css/regional.css" in sources
    assert '"query": {"period": "90d", "state": "new"}' in html
    assert "/peta/wilayah/data.json" in html


def test_the_heads_page_offers_the_month_and_sends_it_to_the_map(world, kanwil_head, last_month):
    """The month chooser, not the periods: the map's requests carry the month shown."""
    answer = kanwil_head.get("/peta/wilayah?state=new")
    assert answer.status_code == 200
    html = answer.text
    assert 'name="bulan"' in html and 'name="period"' not in html and 'name="from"' not in html
    month = last_month.strftime("%Y-%m")
    assert f'<option selected value="{month}">' in html or f'value="{month}" selected' in html
    assert f'"query": {{"bulan": "{month}", "state": "new"}}' in html
