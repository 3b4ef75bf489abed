"""The dashboard page /ringkasan: who may open it, what each sees (the hand-computed scenario of
tests/summaries/scenario.py), "< 3" for regional heads, nothing of another office, clear 400s for
a period or office that cannot be understood, and charts that carry their own description and
data table."""
import re
from html.parser import HTMLParser

import pytest

from apoa.periods import add_months
from tests.summaries.scenario import Scenario
from tests.summaries.test_monthly import Month


@pytest.fixture
def world(make, clock):
    return Scenario(make, clock.today)


def period_args(world):
    return {"period": "custom", "from": world.day(-14).isoformat(), "to": world.day(-1).isoformat()}


class Tables(HTMLParser):
    """The text of every cell of every table with an id: {id: [[cell, ...], ...]}."""

    def __init__(self, html):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self.current = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self.current is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.current = None
        elif tag == "tr" and self.row is not None:
            self.current.append(self.row)
            self.row = None
        elif tag in ("td", "th") and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def body_rows(html, table_id):
    """{first cell: other cells} of the table's body rows."""
    rows = Tables(html).tables[table_id][1:]
    return {row[0]: row[1:] for row in rows}


def text_of(id_, html):
    match = re.search(rf'id="{id_}"[^>]*>([^<]*)<', html)
    return match.group(1).strip() if match else None


# --- who may open it --------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["officer", "admin", "resident"])
def test_users_without_aggregates_get_404(world, sign_in, role):
    answer = sign_in(world.users[role]).get("/ringkasan")
    assert answer.status_code == 404


def test_anonymous_users_are_sent_to_sign_in(world, client):
    answer = client.get("/ringkasan")
    assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]


# --- what each sees -----------------------------------------------------------------------------------

@pytest.mark.date_sensitive
def test_the_kanwil_supervisor_sees_the_hand_computed_figures(world, sign_in, english):
    answer = sign_in(world.users["kanwil_supervisor"]).get("/ringkasan", query_string=period_args(world))
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "private, no-store"
    html = answer.text
    assert [text_of(k, html) for k in ("kpi-received", "kpi-closed", "kpi-new", "kpi-in-progress", "kpi-overdue")] \
        == ["4", "3", "2", "1", "1"]
    assert text_of("kpi-median-screening", html) == "≈ 3 h"
    assert text_of("kpi-median-closure", html) == "≈ 4 days"
    assert text_of("kpi-within-due", html) == "67%"
    kab = body_rows(html, "by-kabupaten")
    assert kab["Kabupaten Karawang"][0] == "3" and kab["Kabupaten Bekasi"][0] == "1"
    assert "Kabupaten Ketapang" not in html                      # KANIM-X is another Kanwil's
    assert body_rows(html, "workload") == {"Budi Petugas": ["1", "1"]}


@pytest.mark.date_sensitive
def test_a_regional_head_sees_whole_months_with_small_counts_suppressed(make, clock, sign_in, english):
    month = Month(make, clock.today)         # the month of tests/summaries/test_monthly.py
    client = sign_in(month.users["regional_head"])
    html = client.get("/ringkasan", query_string={"bulan": month.value}).text
    # the monthly report's figures: Bekasi's 1 as "< 3", and the total 5 withheld ("–") since the
    # categories' two "< 3" beside it would add up to 2 (see test_monthly.py)
    assert text_of("kpi-received", html) == "–"
    assert {name: cells[0] for name, cells in body_rows(html, "by-kabupaten").items()} == {
        "Kabupaten Karawang": "4", "Kabupaten Bekasi": "< 3"}
    assert 'id="withheld-note"' in html
    assert "workload" not in Tables(html).tables and "Budi Petugas" not in html   # no officers' names
    assert "Kabupaten Ketapang" not in html
    # the kabupaten chart's data table says "< 3" too, and its bar is drawn as an outline
    assert body_rows(html, "chart-kabupaten-data") == {"Kabupaten Karawang": ["4"], "Kabupaten Bekasi": ["< 3"]}
    assert 'class="chart-suppressed"' in html
    # a month chooser, not periods that could overlap: a preset asked for gives last month
    assert 'id="bulan"' in html and 'id="from"' not in html and 'id="period"' not in html
    last_month = add_months(clock.today.replace(day=1), -1).strftime("%Y-%m")
    default = client.get("/ringkasan", query_string={"period": "last_7_days"}).text
    assert f'<option value="{last_month}" selected>' in default
    running = client.get("/ringkasan", query_string={"bulan": clock.today.strftime("%Y-%m")})
    assert running.status_code == 400 and "is not over yet" in running.text


def test_a_kantor_supervisor_sees_only_the_own_office(world, sign_in):
    html = sign_in(world.users["supervisor_a"]).get("/ringkasan", query_string=period_args(world)).text
    assert set(body_rows(html, "by-kabupaten")) == {"Kabupaten Karawang"}
    assert "Kabupaten Bekasi" not in html and world.office_b.name not in html


def test_narrowing_to_an_office_of_the_jurisdiction(world, sign_in):
    client = sign_in(world.users["kanwil_supervisor"])
    html = client.get("/ringkasan", query_string={**period_args(world), "office": world.office_b.id}).text
    assert set(body_rows(html, "by-kabupaten")) == {"Kabupaten Bekasi"}
    assert client.get("/ringkasan", query_string={"office": world.office_x.id}).status_code == 404


@pytest.mark.date_sensitive
def test_the_charts_are_described_and_carry_their_data(world, sign_in):
    html = sign_in(world.users["kanwil_supervisor"]).get("/ringkasan", query_string=period_args(world)).text
    for chart in ("chart-outcome", "chart-trend", "chart-kabupaten", "chart-category", "chart-channel"):
        figure = re.search(rf'<figure class="chart" id="{chart}">(.*?)</figure>', html, re.S).group(1)
        assert f'role="img" aria-labelledby="{chart}-title {chart}-desc"' in figure
        assert re.search(rf'<title id="{chart}-title">[^<]+</title><desc id="{chart}-desc">[^<]+</desc>', figure)
        assert 'viewBox="0 0 320 ' in figure and 'width="100%"' in figure
        assert "<details" in figure and "<table" in figure
    weeks = list(body_rows(html, "chart-trend-data").values())
    assert len(weeks) == 12 and weeks[-2] == ["4", "3"] and weeks[-1] == ["0", "0"]   # weeks M-14 and M-7


# --- the periods offered, on the clock's calendar ------------------------------------------------------

# By hand, for each instant of tests/clock.py: the first and last day each preset covers (local days;
# "month-end" and "leap-day" are days on which UTC's calendar still shows the day before).
PRESET_DAYS = {
    "wednesday": {"this_week": ("2026-11-16", "2026-11-18"), "last_7_days": ("2026-11-12", "2026-11-18"),
                  "last_30_days": ("2026-10-20", "2026-11-18"), "this_month": ("2026-11-01", "2026-11-18"),
                  "last_month": ("2026-10-01", "2026-10-31")},
    "friday-1655": {"this_week": ("2026-11-16", "2026-11-20"), "last_7_days": ("2026-11-14", "2026-11-20"),
                    "last_30_days": ("2026-10-22", "2026-11-20"), "this_month": ("2026-11-01", "2026-11-20"),
                    "last_month": ("2026-10-01", "2026-10-31")},
    "month-end": {"this_week": ("2027-04-26", "2027-04-30"), "last_7_days": ("2027-04-24", "2027-04-30"),
                  "last_30_days": ("2027-04-01", "2027-04-30"), "this_month": ("2027-04-01", "2027-04-30"),
                  "last_month": ("2027-03-01", "2027-03-31")},
    "dec-31": {"this_week": ("2026-12-28", "2026-12-31"), "last_7_days": ("2026-12-25", "2026-12-31"),
               "last_30_days": ("2026-12-02", "2026-12-31"), "this_month": ("2026-12-01", "2026-12-31"),
               "last_month": ("2026-11-01", "2026-11-30")},
    "leap-day": {"this_week": ("2028-02-28", "2028-02-29"), "last_7_days": ("2028-02-23", "2028-02-29"),
                 "last_30_days": ("2028-01-31", "2028-02-29"), "this_month": ("2028-02-01", "2028-02-29"),
                 "last_month": ("2028-01-01", "2028-01-31")},
}
# "This month so far" is compared with the same days of the month before, never beyond its end.
THIS_MONTH_COMPARED_WITH = {
    "wednesday": "Oct 1, 2026 – Oct 18, 2026", "friday-1655": "Oct 1, 2026 – Oct 20, 2026",
    "month-end": "Mar 1, 2027 – Mar 30, 2027", "dec-31": "Nov 1, 2026 – Nov 30, 2026",
    "leap-day": "Jan 1, 2028 – Jan 29, 2028",
}


def shown_days(html):
    """The first and last day the period chooser shows for the period on the page."""
    return tuple(re.search(rf'id="{name}" name="{name}"[^>]*value="([^"]*)"', html).group(1) for name in ("from", "to"))


@pytest.mark.date_sensitive
def test_each_preset_covers_the_local_days_of_the_clock(make, sign_in, clock):
    client = sign_in(make.user("supervisor"))
    shown = {preset: shown_days(client.get("/ringkasan", query_string={"period": preset}).text)
             for preset in PRESET_DAYS[clock.name]}
    assert shown == PRESET_DAYS[clock.name]
    assert shown_days(client.get("/ringkasan").text) == PRESET_DAYS[clock.name]["last_30_days"]  # the default


@pytest.mark.date_sensitive
def test_this_month_is_compared_with_the_same_days_of_the_month_before(make, sign_in, english, clock):
    html = sign_in(make.user("supervisor")).get("/ringkasan", query_string={"period": "this_month"}).text
    assert f"(compared with {THIS_MONTH_COMPARED_WITH[clock.name]})" in html


# --- bad input -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    ({"period": "next_year"}, "Unknown period “next_year”"),
    ({"period": "custom", "from": "2026-13-01", "to": "2026-11-02"}, "“2026-13-01” is not a date"),
    ({"period": "custom", "from": "2026-11-10", "to": "2026-11-02"},
     "The last day (2026-11-02) is before the first day"),
    ({"period": "custom", "from": "2020-01-01", "to": "2026-11-02"}, "at most 366 days"),
    ({"period": "custom", "to": "2026-11-02"}, "Give the first day of the period"),
    ({"office": "KANIM-A"}, "Unknown office"),
])
def test_bad_period_or_office_input_answers_400_with_a_clear_message(world, sign_in, english, args, message):
    answer = sign_in(world.users["kanwil_supervisor"]).get("/ringkasan", query_string=args)
    assert answer.status_code == 400
    error = re.search(r'id="period-error">([^<]*)<', answer.text).group(1)
    assert message in error.replace("&#34;", '"').replace("&#39;", "'")
    assert text_of("kpi-received", answer.text) is not None        # the page is still there to correct
