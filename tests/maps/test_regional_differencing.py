"""Differencing attacks on the regional map (issue 15, item 4): a regional head (aggregates only)
asks the map for the month in every way it answers — all states and each state, per
kabupaten/kota and zoomed in per kecamatan — adds the month's total the dashboard shows, and
subtracts: an area's states from its "all states", a kabupaten/kota's kecamatan from it, the
kabupaten/kota from the total. The attacker of tests/summaries/test_differencing.py narrows every
count by every sum; no "< 3" may come out as one number. A head cannot choose a period other
than a month that has ended (overlapping periods subtract), and staff who may view reports keep
their periods and see every count from 3 on.

The world, in the month before the clock's (Kanwil A: Karawang and Bekasi):

    Karawang  Barat (one kecamatan)   4 new, 3 screening
              Timur (another)         1 in the field, 5 closed   <- the "< 3" to recover
              a third kecamatan       3 new
    Bekasi                            6 new, 2 assigned, 4 closed   <- another "< 3"
"""
from collections import Counter, defaultdict
from datetime import timedelta

import pytest

from apoa.reports.states import State
from apoa.summaries.figures import summary
from apoa.summaries.suppression import month_of
from tests.maps.test_regional import (BEKASI, KAB_BEKASI, KAB_KETAPANG, KARAWANG, KARAWANG_BARAT,
                                      KARAWANG_TIMUR, KETAPANG, LONE_KECAMATAN, WEST_JAVA, areas,
                                      get_data, kode_of, last_month, reports_at, table_rows)
from tests.factories import World
from tests.summaries.test_differencing import Attacker, assert_no_small_count_recovered

__all__ = ["last_month"]        # the autouse fixture that dates reports_at's reports
COLUMNS = (None, *(s.value for s in State))
KARAWANG_TO_KETAPANG = "106.9,-6.7,111.5,-1.0"
WORLD = (
    (KARAWANG_BARAT, "new", 4), (KARAWANG_BARAT, "screening", 3),
    (KARAWANG_TIMUR, "in_field", 1), (KARAWANG_TIMUR, "closed", 5),
    (LONE_KECAMATAN, "new", 3),
    (BEKASI, "new", 6), (BEKASI, "assigned", 2), (BEKASI, "closed", 4),
)


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def head(world, sign_in):
    return sign_in(world.actors["regional_head"])


@pytest.fixture
def truth(world, make):
    """{(level, kode, state or None): count} of the world's reports, and the month's total."""
    counts = Counter()
    officer = world.actors["officer"]
    for point, state, n in WORLD:
        fields = {"assigned": {"assignee_id": officer.id}, "in_field": {"assignee_id": officer.id},
                  "closed": {"outcome": "compliant", "assignee_id": officer.id}}.get(state, {})
        for report in reports_at(make, point, n, state=state, **fields):
            for level, kode in (("kab", kode_of(report.kab_id)), ("kec", kode_of(report.kec_id))):
                counts[(level, kode, state)] += 1
                counts[(level, kode, None)] += 1
    counts[("total",)] = sum(n for _point, _state, n in WORLD)
    return counts


def answers(client, bbox=WEST_JAVA, **params):
    """{(level, kode, state or None): label} of every view of the month: each column, both levels."""
    seen = {}
    for column in COLUMNS:
        for level, zoom in (("kab", 9), ("kec", 12)):
            state = {"state": column} if column else {}
            answer = get_data(client, bbox=bbox, zoom=zoom, **state, **params)
            for kode, props in areas(answer).items():
                seen[(level, kode, column)] = props["label"]
    return seen


def dashboard(user, first):
    """{(level, kode, None) or ("total",): label} of the month's reports per kabupaten/kota and in all,
    as the user's dashboard shows them."""
    figures = summary(user, month_of(first))
    seen = {("kab", kode_of(row.key), None): str(row.received) for row in figures.by_kabupaten}
    return {**seen, ("total",): str(figures.received)}


def attack(seen, total=None):
    """The Attacker holding every answer, the total (when not among them) and every sum a reader
    knows."""
    attacker = Attacker()
    for key, label in seen.items():
        attacker.see(key, label)
    if total is not None:
        attacker.see(("total",), str(total))
    areas_of = defaultdict(set)
    for key in seen:
        if len(key) == 3:
            areas_of[key[0]].add(key[1])
    for level, kodes in areas_of.items():
        for kode in kodes:
            attacker.add([(level, kode, s.value) for s in State], (level, kode, None))
    for kab in areas_of["kab"]:
        kecamatan = [kode for kode in areas_of["kec"] if kode.startswith(kab + ".")]
        for column in COLUMNS:
            attacker.add([("kec", kode, column) for kode in kecamatan], ("kab", kab, column))
    attacker.add([("kab", kab, None) for kab in areas_of["kab"]], ("total",))
    return attacker


def test_no_view_of_the_month_gives_a_hidden_count_back(world, truth, head):
    seen = answers(head)
    assert seen[("kab", KARAWANG, "in_field")] == "< 3"
    assert seen[("kab", KAB_BEKASI, "assigned")] == "< 3"
    # Some counts from 3 on are withheld beside them, whichever view shows them.
    assert "–" in seen.values()
    assert_no_small_count_recovered(attack(seen, truth[("total",)]),
                                    {key: n for key, n in truth.items() if key in seen})


def test_the_map_and_the_dashboard_together_give_no_hidden_count_back(make, sign_in, last_month):
    """A head of the Ditjen: Karawang's one report beside Bekasi's and Ketapang's five each. Both pages
    must withhold the same one of the two fives (the total less the other gives Karawang's 1), and
    the map's states and kecamatan must not give back what the dashboard withholds."""
    world = World(make)
    officer = world.actors["officer"]
    for point, state, n in ((KARAWANG_BARAT, "new", 1), (BEKASI, "new", 3), (BEKASI, "closed", 2),
                            (KETAPANG, "new", 4), (KETAPANG, "screening", 1)):
        fields = {"outcome": "compliant", "assignee_id": officer.id} if state == "closed" else {}
        reports_at(make, point, n, state=state, **fields)
    head_user = make.user("regional_head", world.office.parent.parent)
    head = sign_in(head_user)
    seen = answers(head, bbox=KARAWANG_TO_KETAPANG)
    on_the_dashboard = dashboard(head_user, last_month)
    assert on_the_dashboard[("total",)] == "11"
    for key, label in on_the_dashboard.items():
        if key in seen:
            assert seen[key] == label, key          # the same count, hidden or shown alike
    truth = {("kab", KARAWANG, None): 1, ("kab", KARAWANG, "new"): 1, ("kab", KAB_BEKASI, "closed"): 2,
             ("kab", KAB_KETAPANG, "screening"): 1}
    assert_no_small_count_recovered(attack({**seen, **on_the_dashboard}), truth)


def test_every_view_of_the_month_hides_the_same_counts(world, truth, head):
    """The page's table says what the map's "all states" answer says, and asking twice (or after
    the other states) changes nothing."""
    first = answers(head)
    assert answers(head) == first
    table = dict(table_rows(head.get("/peta/wilayah").text))
    assert {kode: label.replace("&lt;", "<") for kode, label in table.items()} == {
        kode: first[("kab", kode, None)] for kode in (KARAWANG, KAB_BEKASI)}


def test_a_head_cannot_choose_another_period_than_an_ended_month(world, truth, head, clock,
                                                                last_month, english):
    month = {"key": "month", "month": last_month.strftime("%Y-%m"),
             "first": last_month.isoformat(),
             "last": (clock.today.replace(day=1) - timedelta(days=1)).isoformat()}
    # The periods of staff are neither offered nor read: the head still gets last month.
    for params in ({}, {"period": "7d"}, {"period": "this_month"},
                   {"period": "custom", "from": last_month.isoformat(),
                    "to": last_month.replace(day=20).isoformat()}):
        answer = get_data(head, **params)
        assert answer.json["period"] == month, params
    assert answers(head, period="7d") == answers(head)
    # As on the dashboard, a mistaken period in the address is still told, beside the month.
    page = head.get("/peta/wilayah", query_string={"period": "custom", "from": "2026-03-10",
                                                   "to": "2026-03-01"})
    assert page.status_code == 400 and 'id="bulan-error"' in page.text
    assert "The end date must not be before the start date." in page.text
    # The month still running is refused, beside the month chooser.
    running = clock.today.strftime("%Y-%m")
    answer = get_data(head, bulan=running)
    assert answer.status_code == 400
    assert answer.json["error"]["message"].startswith("Month: ")
    assert "is not over yet" in answer.json["error"]["message"]
    page = head.get("/peta/wilayah", query_string={"bulan": running})
    assert page.status_code == 400
    assert 'id="bulan-error"' in page.text and "folium-map" not in page.text
    # An earlier month is its own: none of this world's reports.
    earlier = last_month.replace(year=last_month.year - 1).strftime("%Y-%m")
    assert {p["label"] for p in areas(get_data(head, bulan=earlier)).values()} == {"0"}


def test_staff_keep_their_periods_and_see_every_count_from_three(world, truth, sign_in):
    """A supervisor of KANIM-A (Karawang): the same month as any period, "< 3" only where a count
    is 1 or 2, never a withheld one."""
    staff = sign_in(world.actors["supervisor"])
    seen = answers(staff, period="last_month")
    assert "–" not in seen.values()
    assert seen[("kab", KARAWANG, None)] == "16"
    assert seen[("kab", KARAWANG, "in_field")] == "< 3"
    assert seen[("kab", KARAWANG, "closed")] == "5"
    answer = get_data(staff, period="7d")
    assert answer.json["period"]["key"] == "7d"
    assert "–" not in {entry["label"] for entry in answer.json["legend"]}
