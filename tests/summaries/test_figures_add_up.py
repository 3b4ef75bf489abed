"""Figures that add up (issue 11, item 6), read as a user reads them on the pages:

- a region without reports reads 0, never "< 3" (which is for 1 and 2 only): the regional map's
  table, the monthly report's map, the usual level of an unusual rise;
- "overdue" and "within due time" each say which reports they count (the reports open now, the
  reports closed in the period), in groups named apart, so 1 overdue beside 100 % closed within
  due time is no contradiction;
- the medians to screening and to closure each name the reports they are taken over;
- a hotspot is listed once, with its kabupaten/kota, however many map cells its reports fill
  (Telagasari, Karawang, spans five);
- one date format on each page (English, where the medium date and the old "d MMM yyyy" differ).

The dashboard's figures are those of tests/summaries/scenario.py, computed there by hand.
"""
import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest

from apoa.summaries import anomalies
from apoa.summaries.dates import day_text
from apoa.summaries.figures import AnomalyRow, usual_text
from tests.factories import World
from tests.summaries.scenario import Scenario

KARAWANG_BARAT = (107.30, -6.30)
# Two points of Kecamatan Telagasari (32.15.17) in two grid cells of the hotspot map (~5 km).
TELAGASARI_WEST = (107.3942, -6.2768)
TELAGASARI_EAST = (107.4241, -6.2633)
BEKASI = (107.15, -6.30)
MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"


class Text(HTMLParser):
    """The text a reader sees: of the whole body, and of each element with an id (nested
    elements included), whitespace collapsed. Scripts and styles are not read."""

    VOID = {"br", "img", "input", "link", "meta", "hr", "source", "wbr", "col", "area"}

    def __init__(self, html):
        super().__init__()
        self.by_id, self.open, self.body, self.skipping = {}, [], [], 0
        self.feed(html)
        self.by_id = {key: " ".join("".join(parts).split()) for key, parts in self.by_id.items()}
        self.all = " ".join("".join(self.body).split())

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skipping += 1
        if tag in self.VOID:
            return
        element_id = dict(attrs).get("id")
        self.open.append(element_id)
        if element_id:
            self.by_id[element_id] = []

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skipping -= 1
        if tag not in self.VOID and self.open:
            self.open.pop()

    def handle_data(self, data):
        if self.skipping:
            return
        self.body.append(data)
        for element_id in self.open:
            if element_id:
                self.by_id[element_id].append(data)

    def __getitem__(self, element_id):
        return self.by_id[element_id]


def period_args(scenario):
    return {"period": "custom", "from": scenario.day(-14).isoformat(), "to": scenario.day(-1).isoformat()}


# --- 0 is 0 ----------------------------------------------------------------------------------------

def test_a_regency_without_reports_reads_0_and_one_with_two_reads_less_than_3(make, sign_in, clock):
    world = World(make)
    month_start = (clock.today.replace(day=1) - timedelta(days=1)).replace(day=1)   # the head's map's month
    for _ in range(2):
        make.report(point=KARAWANG_BARAT, created_at=clock.at(month_start + timedelta(days=3)))
    page = sign_in(world.actors["regional_head"]).get("/peta/wilayah").text
    rows = dict(re.findall(r'<tr data-kode="([^"]+)">.*?<td class="num">([^<]*)</td>', page, flags=re.S))
    assert rows == {"32.15": "&lt; 3", "32.16": "0"}


def test_the_monthly_map_gives_an_empty_regency_0(make, sign_in, clock):
    world = World(make)
    month_start = (clock.today.replace(day=1) - timedelta(days=1)).replace(day=1)
    for day in (3, 4):
        make.report(point=KARAWANG_BARAT, created_at=clock.at(month_start + timedelta(days=day)))
    page = sign_in(world.actors["regional_head"]).get(
        "/ringkasan/bulanan", query_string={"bulan": month_start.strftime("%Y-%m")}).text
    titles = dict(re.findall(r"<title>(Kabupaten [^:<]+): ([^<]+)</title>", page))
    assert titles == {"Kabupaten Karawang": "&lt; 3", "Kabupaten Bekasi": "0"}


def test_an_unusual_rise_from_nothing_says_usually_0(english, harness):
    week = date(2026, 11, 16)
    rise = anomalies.Anomaly(kab_id=1, week_start=week, count=6, usual_low=0, usual_high=0,
                             median=0, mad=1.0, score=4.0)
    few = anomalies.Anomaly(kab_id=1, week_start=week, count=6, usual_low=0, usual_high=2,
                            median=1, mad=1.0, score=3.5)
    with harness.test_request_context():
        assert AnomalyRow(rise, "Kabupaten Bekasi", suppress=False).reason().endswith("; usually 0 a week")
        assert AnomalyRow(few, "Kabupaten Bekasi", suppress=False).reason().endswith("; usually 0–2 a week")
        assert usual_text(0, 0, True) == "0" and usual_text(0, 2, True) == "< 3"
        # Who sees aggregates only is told of the rise without its counts: a kabupaten's week is not a
        # cell of the month's figures, and beside them would give some back.
        assert AnomalyRow(few, "Kabupaten Bekasi", suppress=True).reason() == \
            f"more reports than usual in the week of {day_text(week)}"


# --- overdue and within due time, medians: each names its reports ---------------------------------

@pytest.mark.date_sensitive
def test_overdue_and_closed_within_due_time_name_the_reports_they_count(make, sign_in, english, clock):
    scenario = Scenario(make, clock.today)
    html = sign_in(scenario.users["kanwil_supervisor"]).get("/ringkasan", query_string=period_args(scenario)).text
    text = Text(html)
    # Open now (r3 assigned and overdue, r5 and r6 new): 1 of 3 overdue, whenever received.
    assert (text["kpi-overdue"], text["kpi-overdue-basis"]) == ("1", "of 3 reports open now")
    assert (text["kpi-open"], text["kpi-new"], text["kpi-in-progress"]) == ("3", "2", "1")
    # Closed in the period (r1, r2, r4): 2 of 3 within due time (r2's screening was late).
    assert (text["kpi-within-due"], text["kpi-within-due-basis"]) == ("67%", "of 3 reports closed in the period")
    assert (text["kpi-screened-due"], text["kpi-screened-due-basis"]) == ("67%", "of 3 reports screened in the period")
    # The two groups are told apart by their headings, the period's naming its dates.
    assert text["kpi-period-title"].startswith("In the period: ")
    assert text["kpi-now-title"] == "Open now, whenever received"
    now_group = html[html.index('id="kpis-now"'):]
    period_group = html[html.index('id="kpis-period"'):html.index('id="kpis-now"')]
    assert 'id="kpi-overdue"' in now_group and 'id="kpi-within-due"' in period_group
    # The tables say the same: "Of the closed: within due time" beside "Of the open: overdue now".
    assert "Of the closed: within due time" in text.all and "Of the open: overdue now" in text.all


@pytest.mark.date_sensitive
def test_the_medians_name_the_reports_they_are_taken_over(make, sign_in, english, clock):
    scenario = Scenario(make, clock.today)
    text = Text(sign_in(scenario.users["kanwil_supervisor"]).get("/ringkasan", query_string=period_args(scenario)).text)
    # Screening: r1 r2 r3, first screened in the period; closure: r1 r2 r4, closed in it (r4 was
    # received before the period): not the same reports, and the page says so.
    assert (text["kpi-median-screening"], text["kpi-median-screening-basis"]) == (
        "≈ 3 h", "over 3 reports screened in the period")
    assert (text["kpi-median-closure"], text["kpi-median-closure-basis"]) == (
        "≈ 4 days", "over 3 reports closed in the period")
    assert "so the two medians are not about the same reports" in text.all


def test_a_regional_head_reads_the_basis_suppressed_like_any_count(make, sign_in, english):
    world = World(make)
    head = sign_in(world.actors["regional_head"])
    for _ in range(2):
        make.report(point=KARAWANG_BARAT)
    text = Text(head.get("/ringkasan").text)
    assert (text["kpi-open"], text["kpi-overdue-basis"]) == ("< 3", "of < 3 reports open now")
    assert (text["kpi-closed"], text["kpi-within-due"], text["kpi-within-due-basis"]) == (
        "0", "–", "of 0 reports closed in the period")
    for _ in range(3):
        make.report(point=KARAWANG_BARAT, state="screening")
    text = Text(head.get("/ringkasan").text)
    assert (text["kpi-open"], text["kpi-overdue-basis"]) == ("5", "of 5 reports open now")


@pytest.mark.date_sensitive
def test_the_monthly_report_names_the_reports_of_each_share_and_median(make, sign_in, english, clock):
    scenario = Scenario(make, clock.today)
    month = (clock.today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    page = sign_in(scenario.users["regional_head"]).get("/ringkasan/bulanan", query_string={"bulan": month}).text
    text = Text(page)
    headline = text["monthly-headline"]
    for figure in ("Closed within due time (share of the reports closed in the month)",
                   "Median time to closure (over the reports closed in the month)",
                   "Screened within due time (share of the reports screened in the month)",
                   "Median time to screening (over the reports screened in the month)"):
        assert figure in headline
    assert re.fullmatch(r"Open at the time of printing, whenever received: (\d+|< 3|–) reports, of which "
                        r"(\d+|< 3|–) awaiting screening and (\d+|< 3|–) in progress; (\d+|< 3|–) of them "
                        r"are past their due time\.", text["m-open-now"]), text["m-open-now"]


# --- hotspots, once each ----------------------------------------------------------------------------

def test_a_kecamatan_over_two_map_cells_is_one_hotspot(make, sign_in, english):
    world = World(make)
    for point, reports in ((TELAGASARI_WEST, 3), (TELAGASARI_EAST, 2), (KARAWANG_BARAT, 4)):
        for _ in range(reports):
            make.report(point=point)
    expected = [("Telagasari, Kabupaten Karawang", "5 reports"), ("Karawang Barat, Kabupaten Karawang", "4 reports")]
    client = sign_in(world.actors["supervisor"])
    for path in ("/peta", "/ringkasan"):
        html = client.get(path).text
        listed = re.findall(r'<li><a href="([^"]+)">([^<]+)</a>\s*<span class="count">([^<]+)</span></li>', html)
        assert [(place, count) for _url, place, count in listed] == expected, path
        # The link opens the map on Telagasari's busier cell (the western one, 3 reports).
        url = listed[0][0].replace("&amp;", "&")
        lat, lon = (float(re.search(rf"{name}=(-?[\d.]+)", url).group(1)) for name in ("lat", "lon"))
        assert abs(lon - TELAGASARI_WEST[0]) < 0.03 and abs(lat - TELAGASARI_WEST[1]) < 0.03, url


# --- one date format per page ----------------------------------------------------------------------

def dates_written(text):
    """Every date the text shows, in whatever format: medium ("Nov 16, 2026"), day-month-year
    ("16 Nov 2026"), numeric ("16/11", "11/16/26") and the axis's month-day ("Nov 16")."""
    return {
        "medium": re.findall(rf"\b{MONTHS} \d{{1,2}}, \d{{4}}", text),
        "day month year": re.findall(rf"\b\d{{1,2}} {MONTHS} \d{{4}}", text),
        "numeric": re.findall(r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b", text),
    }


@pytest.mark.date_sensitive
def test_the_dashboard_writes_every_date_one_way(make, sign_in, english, clock):
    scenario = Scenario(make, clock.today)
    text = Text(sign_in(scenario.users["kanwil_supervisor"]).get("/ringkasan", query_string=period_args(scenario)).text)
    found = dates_written(text.all)
    assert found["day month year"] == [] and found["numeric"] == [], found
    assert len(found["medium"]) >= 5          # the periods, the anomaly week, the weeks' table, the foot
    assert re.fullmatch(rf"Figures as of {MONTHS} \d{{1,2}}, \d{{4}}, \d{{1,2}}:\d{{2}}\s[AP]M\.", text["generated"]), \
        text["generated"]
    # The trend's axis: the same dates without their year.
    axis = re.findall(r'class="chart-axis">([^<]+)</text>', sign_in(scenario.users["kanwil_supervisor"])
                      .get("/ringkasan", query_string=period_args(scenario)).text)
    assert [label for label in axis if not label.isdigit()] and all(
        re.fullmatch(rf"{MONTHS} \d{{1,2}}", label) for label in axis if not label.isdigit()), axis


@pytest.mark.date_sensitive
def test_the_monthly_report_writes_every_date_one_way(make, sign_in, english, clock):
    scenario = Scenario(make, clock.today)
    month = (clock.today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    page = sign_in(scenario.users["regional_head"]).get("/ringkasan/bulanan", query_string={"bulan": month}).text
    found = dates_written(Text(page).all)
    assert found["day month year"] == [] and found["numeric"] == [], found
    assert len(found["medium"]) >= 4
