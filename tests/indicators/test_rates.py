"""Regional indicators on the regional map: an indicator as a layer, reports per 100,000 residents and foreign
guests per lodging as rates, a rate from a count of 1 or 2 suppressed like the count ("< 3", never the rate),
the legend and the page naming the indicator, unit, year and source, the latest year unless one is chosen,
and a head's jurisdiction (a Kanwil head sees its Kantor's kabupaten, a Kantor head its own).

A head sees the last month that ended (apoa/maps/regional.py): the reports and guests here are made in it, and a
rate whose count the month's figures withhold beside a "< 3" ("–") is withheld too."""
import html
import re
from datetime import timedelta

import pytest

from apoa.guests.models import GuestTally
from apoa.guests.services import cancel
from apoa.indicators.importer import import_indicators
from apoa.indicators.layers import value_bands
from apoa.indicators.queries import RATES, area_rate, indicator_table, rates
from apoa.maps.regional import Selection
from apoa.periods import Preset, add_months, preset_period
from tests.guests.test_figures import BEKASI, KETAPANG, Guests
from tests.guests.test_stays import ANNA, JOHN, KARAWANG

KAB_KARAWANG, KAB_BEKASI, KAB_KETAPANG = "32.15", "32.16", "61.04"
WEST_JAVA = "106.9,-6.7,107.7,-5.9"
AROUND_KETAPANG = "109.5,-2.5,111.5,-1.0"
JSON = {"Accept": "application/json"}
SOURCE_2024 = "BPS, Kabupaten/Kota dalam Angka 2025"
FIGURES_2024 = """kode,population,lodgings
32.15,2000000,4
32.16,3000000,2
61.04,500000,10
"""
FIGURES_2023 = "kode,population\n32.15,1000000\n"
UNITS = {"population": "jiwa", "lodgings": "usaha akomodasi"}


@pytest.fixture
def guests(make, clock):
    """KANWIL-A (Karawang, Bekasi), KANIM-X (Ketapang) with a verified hotel each, and the 2023 and 2024
    figures."""
    import_indicators(FIGURES_2024, year=2024, source=SOURCE_2024, units=UNITS)
    import_indicators(FIGURES_2023, year=2023, source="BPS 2024", units=UNITS)
    MADE["at"] = clock.at(add_months(clock.today.replace(day=1), -1) + timedelta(days=9), 10)
    return Guests(make, clock)


# When reports_at makes its reports: a morning in the month before the clock's (see `guests`).
MADE = {}


@pytest.fixture
def kanwil_head(guests, sign_in):
    return sign_in(guests.actors["regional_head"])


@pytest.fixture
def kantor_head(guests, make, sign_in):
    return sign_in(make.user("regional_head", guests.world.office))


def get_data(client, bbox=WEST_JAVA, zoom=9, **params):
    return client.get("/peta/wilayah/data.json", query_string={"bbox": bbox, "zoom": zoom, **params},
                      headers=JSON)


def areas(answer):
    assert answer.status_code == 200, answer.text
    return {f["properties"]["kode"]: f["properties"] for f in answer.json["areas"]["features"]}


def shown(answer):
    """{kode: label} of a data.json answer."""
    return {kode: props["label"] for kode, props in areas(answer).items()}


def table_rows(text):
    """[(kode, [cells])] of the page's table, in order."""
    rows = re.findall(r'<tr data-kode="([^"]+)">(.*?)</tr>', text, flags=re.S)
    return [(kode, [html.unescape(cell) for cell in re.findall(r'<td class="num">([^<]*)</td>', body)])
            for kode, body in rows]


def reports_at(make, point, n):
    """`n` reports at `point` in the month a head sees by default."""
    for _ in range(n):
        make.report(point=point, created_at=MADE["at"])


def last_month_day(clock, before_first):
    """How many days before the clock's day lies the day `before_first` days before the 1st of
    its month (in the month before for 1 to 28)."""
    return clock.today.day - 1 + before_first


# --- an indicator as a layer ---------------------------------------------------------------------

def test_an_indicator_layer_shows_the_latest_year_with_its_unit_and_source(guests, kanwil_head, english):
    answer = get_data(kanwil_head, layer="indicator:population")
    assert shown(answer) == {KAB_KARAWANG: "2,000,000", KAB_BEKASI: "3,000,000"}     # not Ketapang
    assert areas(answer)[KAB_BEKASI]["value"] == 3_000_000
    layer = answer.json["layer"]
    assert (layer["title"], layer["unit"], layer["year"], layer["source"]) == (
        "Population (jiwa)", "jiwa", 2024, SOURCE_2024)
    assert layer["sourceLine"] == f"Population 2024 (jiwa). Source: {SOURCE_2024}"
    assert answer.json["level"] == "kabupaten_kota"
    assert answer.json["legend"][0] == {"band": "none", "label": "–", "note": "no figure"}


def test_a_chosen_year_shows_that_years_figures(guests, kanwil_head, english):
    answer = get_data(kanwil_head, layer="indicator:population", year="2023")
    assert shown(answer) == {KAB_KARAWANG: "1,000,000", KAB_BEKASI: "–"}
    assert answer.json["layer"]["source"] == "BPS 2024"


def test_indicator_layers_are_drawn_per_kabupaten_at_every_zoom(guests, kanwil_head):
    answer = get_data(kanwil_head, bbox="107.2,-6.4,107.4,-6.2", zoom=12, layer="indicator:lodgings")
    assert answer.json["level"] == "kabupaten_kota"
    assert set(areas(answer)) == {KAB_KARAWANG, KAB_BEKASI}


def test_a_box_over_another_offices_area_draws_none_of_its_figures(guests, kanwil_head, kantor_head):
    assert areas(get_data(kanwil_head, bbox=AROUND_KETAPANG, layer="indicator:population")) == {}
    assert set(areas(get_data(kantor_head, layer="indicator:population"))) == {KAB_KARAWANG}


def test_the_page_lists_the_indicator_and_names_its_source(guests, kantor_head, english):
    page = kantor_head.get("/peta/wilayah", query_string={"layer": "indicator:population"})
    assert page.status_code == 200, page.text
    assert table_rows(page.text) == [(KAB_KARAWANG, ["2,000,000"])]
    assert f"Population 2024 (jiwa). Source: {SOURCE_2024}" in page.text
    # The chooser offers the imported indicators and the rates they allow, and their years.
    for option in ('value="indicator:population"', 'value="indicator:lodgings"', 'value="reports_per_100k"',
                   'value="guests_per_lodging"', 'value="2023"', 'value="2024"'):
        assert option in page.text


def test_a_kanwil_head_sees_the_values_of_its_kabupaten_only(guests, make):
    year, series, rows = indicator_table(guests.actors["regional_head"])
    assert year == 2024 and [s.name for s in series] == ["lodgings", "population"]
    assert [(row.kode, row.values) for row in rows] == [
        (KAB_KARAWANG, {"population": 2_000_000, "lodgings": 4}),
        (KAB_BEKASI, {"population": 3_000_000, "lodgings": 2})]
    _year, _series, rows = indicator_table(make.user("regional_head", guests.world.office), year=2023)
    assert [(row.kode, row.values) for row in rows] == [(KAB_KARAWANG, {"population": 1_000_000})]


# --- reports per 100,000 residents ------------------------------------------------------------------

def test_reports_per_100000_residents_with_a_suppressed_rate_for_one_or_two(guests, make, kanwil_head, english):
    reports_at(make, KARAWANG, 6)       # 6 per 2,000,000: 0.3
    reports_at(make, BEKASI, 2)         # 2 per 3,000,000: hidden
    reports_at(make, KETAPANG, 9)       # another Kanwil's
    answer = get_data(kanwil_head, layer="reports_per_100k")
    # The month's total (8, on the dashboard) less Karawang's 6 would give Bekasi's 2 back: Karawang's count is
    # withheld, and with it its rate (0.3 × 20 = 6).
    assert shown(answer) == {KAB_KARAWANG: "–", KAB_BEKASI: "< 3"}
    for kode in (KAB_KARAWANG, KAB_BEKASI):
        hidden = areas(answer)[kode]
        assert hidden["band"] == 0 and "value" not in hidden and "count" not in hidden
    assert "0.06" not in answer.text and "0.1" not in answer.text and "0.3" not in answer.text
    assert {"band": 0, "label": "–", "note": "withheld, so that no “< 3” can be worked out: rate hidden"} in \
        answer.json["legend"]
    reports_at(make, BEKASI, 1)
    assert shown(get_data(kanwil_head, layer="reports_per_100k")) == {KAB_KARAWANG: "0.3", KAB_BEKASI: "0.1"}
    layer = answer.json["layer"]
    assert layer["title"] == "Reports per 100,000 residents"
    assert layer["sourceLine"] == f"Population 2024 (jiwa). Source: {SOURCE_2024}"
    assert {"band": 0, "label": "< 3", "note": "fewer than 3 reports: rate hidden"} in answer.json["legend"]


def test_one_and_two_reports_give_the_same_answer(guests, make, kanwil_head):
    reports_at(make, BEKASI, 1)
    one = areas(get_data(kanwil_head, layer="reports_per_100k"))[KAB_BEKASI]
    reports_at(make, BEKASI, 1)
    two = areas(get_data(kanwil_head, layer="reports_per_100k"))[KAB_BEKASI]
    assert one == two


def test_no_reports_is_a_rate_of_0_and_no_population_no_rate(guests, make, kanwil_head, english):
    reports_at(make, KARAWANG, 3)
    # 2023 has Karawang's population only: Bekasi, without reports, shows 0; with 3 reports, no figure.
    assert shown(get_data(kanwil_head, layer="reports_per_100k", year="2023")) == {
        KAB_KARAWANG: "0.3", KAB_BEKASI: "0"}
    reports_at(make, BEKASI, 3)
    assert shown(get_data(kanwil_head, layer="reports_per_100k", year="2023"))[KAB_BEKASI] == "–"


def test_the_page_shows_count_population_and_rate_and_sorts_hidden_rates_by_name(guests, make, kanwil_head,
                                                                               english):
    reports_at(make, KARAWANG, 2)
    reports_at(make, BEKASI, 9)
    page = kanwil_head.get("/peta/wilayah", query_string={"layer": "reports_per_100k"})
    assert page.status_code == 200, page.text
    # Bekasi's 9 is withheld beside Karawang's "< 3" (the month's total less it would give it back): both hidden,
    # by name.
    assert table_rows(page.text) == [(KAB_BEKASI, ["–", "3,000,000", "–"]),
                                     (KAB_KARAWANG, ["< 3", "2,000,000", "< 3"])]
    reports_at(make, KARAWANG, 1)
    page = kanwil_head.get("/peta/wilayah", query_string={"layer": "reports_per_100k"})
    assert table_rows(page.text) == [(KAB_BEKASI, ["9", "3,000,000", "0.3"]),
                                     (KAB_KARAWANG, ["3", "2,000,000", "0.2"])]
    assert "Reports per 100,000 residents" in page.text
    assert f"Source: {SOURCE_2024}" in page.text


# --- foreign guests per lodging --------------------------------------------------------------------------

def test_foreign_guests_per_lodging_count_check_ins_of_the_period(guests, make, clock, sign_in, english):
    """Last month's check-ins: exact for staff; for a head Karawang's is withheld beside Bekasi's "< 3", as the
    guests' figures of the month withhold it (their total less Karawang would give Bekasi back)."""
    for n in range(5):
        guests.stay(guests.karawang, JOHN, days_ago=last_month_day(clock, 3), nights=1, number=f"GB{n}0009")
    wrong = guests.stay(guests.karawang, ANNA, days_ago=last_month_day(clock, 2))
    cancel(wrong, guests.karawang.operator, "Salah input data tamu.", clock.now)
    guests.stay(guests.karawang, ANNA, days_ago=last_month_day(clock, 40), nights=1,
                number="DE00000040")                                                    # before the month
    make.session.add(GuestTally(day=clock.today - timedelta(days=last_month_day(clock, 5)),
                                kab_id=guests.karawang.kab_id, nationality="AUS",
                                office_id=guests.karawang.office_id, check_ins=1, guest_nights=1))  # deleted
    guests.stay(guests.bekasi, ANNA, days_ago=last_month_day(clock, 1))
    guests.stay(guests.ketapang, JOHN, days_ago=last_month_day(clock, 1))
    make.session.flush()
    # Karawang: 6 check-ins over 4 lodgings, for a supervisor of KANIM-A (Karawang only).
    staff = sign_in(guests.actors["supervisor"])
    assert shown(get_data(staff, layer="guests_per_lodging", period="last_month")) == {KAB_KARAWANG: "1.5"}
    kanwil_head = sign_in(guests.actors["regional_head"])
    answer = get_data(kanwil_head, layer="guests_per_lodging")
    assert shown(answer) == {KAB_KARAWANG: "–", KAB_BEKASI: "< 3"}
    assert answer.json["layer"]["sourceLine"] == f"Lodgings 2024 (usaha akomodasi). Source: {SOURCE_2024}"
    assert {"band": 0, "label": "< 3", "note": "fewer than 3 foreign guests: rate hidden"} in \
        answer.json["legend"]


def test_a_kantor_head_counts_only_its_own_guests(guests, make, clock):
    for n in range(3):
        guests.stay(guests.bekasi, JOHN, days_ago=2, nights=1, number=f"GB{n}0019")
    head = make.user("regional_head", guests.world.office)
    selection = Selection(preset_period(Preset.last_30_days, clock.today), layer="guests_per_lodging")
    series, by_kab = rates(head, RATES["guests_per_lodging"], selection)
    assert series.year == 2024 and list(by_kab) == [guests.karawang.kab_id]
    assert by_kab[guests.karawang.kab_id].count == 0


# --- rules ---------------------------------------------------------------------------------------

def test_a_rate_is_suppressed_exactly_when_its_count_is_one_or_two():
    assert area_rate(0, 1000, 100_000).value == 0
    assert area_rate(1, 1000, 100_000).suppressed and area_rate(2, 1000, 100_000).value is None
    assert area_rate(3, 1000, 100_000).value == 300
    assert area_rate(3, None, 1).value is None and not area_rate(3, None, 1).suppressed
    assert area_rate(3, 0, 1).value is None


def test_value_bands_split_at_quantiles_from_the_smallest_value_of_each():
    bands = value_bands([5, 1, 2, 3, 4, 6, 7, 8])
    assert [(b.low, b.high) for b in bands] == [(1, 2), (3, 4), (5, 6), (7, 8)]
    assert [(b.low, b.high) for b in value_bands([2, 2, 2, 9])] == [(2, 2), (9, 9)]
    assert value_bands([]) == []


@pytest.mark.parametrize("params", [{"layer": "indicator:nothing"}, {"layer": "guests"}, {"year": "20x4"},
                                    {"layer": "reports_per_100k", "year": "1999"}])
def test_unknown_layers_and_years_answer_400(guests, kanwil_head, params):
    answer = get_data(kanwil_head, **params)
    assert answer.status_code == 400
    assert answer.json["error"]["message"]


def test_without_any_indicator_only_the_reports_are_offered(make, sign_in, clock):
    from tests.factories import World
    head = sign_in(World(make).actors["regional_head"])
    page = head.get("/peta/wilayah")
    assert page.status_code == 200
    assert 'value="reports"' in page.text and "reports_per_100k" not in page.text
    assert get_data(head, layer="reports_per_100k").status_code == 400
