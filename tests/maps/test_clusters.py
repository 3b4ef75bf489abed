"""The officers' map data at /peta/data.json: clusters per grid cell counted in PostGIS and split
by state, points only when zoomed in and only for who may view reports, the jurisdiction enforced
however the bounding box is crafted, and JSON errors for a bad box or zoom."""
import json
import math
import re
from collections import Counter, defaultdict

import pytest

from apoa.maps.clusters import MAX_ZOOM, cell_size
from apoa.reports.tracking import display
from tests.factories import World

KARAWANG_BARAT = (107.30, -6.30)
KARAWANG_TIMUR = (107.31, -6.31)
BEKASI = (107.15, -6.30)          # KANIM-B, the sibling office under KANWIL-A
KETAPANG = (110.46, -1.67)        # KANIM-X, another Kanwil
INDONESIA = "94,-12,142,7"
JSON = {"Accept": "application/json"}


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def officer(world, sign_in):
    """Signed in as an officer of KANIM-A (Kabupaten Karawang)."""
    return sign_in(world.actors["officer"])


def get_map(client, bbox=INDONESIA, zoom=10, **params):
    answer = client.get("/peta/data.json", query_string={"bbox": bbox, "zoom": zoom, **params}, headers=JSON)
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer


def hand_count(reports_at, zoom):
    """{(lon, lat) of the cell centre: Counter of states}, counted in Python from known points."""
    cell = cell_size(zoom)
    cells = defaultdict(Counter)
    for (lon, lat), state in reports_at:
        i, j = math.floor(lon / cell), math.floor(lat / cell)
        cells[(round((i + 0.5) * cell, 6), round((j + 0.5) * cell, 6))][state] += 1
    return cells


def as_cells(data):
    assert data["kind"] == "clusters"
    return {(c["lon"], c["lat"]): (c["count"], Counter(c["states"])) for c in data["cells"]}


def numbers_in(value):
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers_in(v)]
    return [value] if isinstance(value, float) else []


# --- clusters ------------------------------------------------------------------------------------

@pytest.mark.parametrize("zoom", [2, 5, 9, 10, 13])
def test_cells_count_the_reports_at_known_points_by_state(world, make, officer, zoom):
    made = [(KARAWANG_BARAT, "new"), (KARAWANG_BARAT, "new"), (KARAWANG_BARAT, "screening"),
            (KARAWANG_TIMUR, "new"), ((107.05, -6.05), "screening")]
    made = [(p, s) for p, s in made if make.report(point=p, state=s).office_id == world.office.id]
    assert len(made) >= 4
    answer = get_map(officer, zoom=zoom)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "private, no-store"
    expected = {centre: (sum(states.values()), states) for centre, states in hand_count(made, zoom).items()}
    assert as_cells(answer.json) == expected


def test_a_cell_names_its_centre_never_a_report_coordinate(world, make, officer):
    for point in (KARAWANG_BARAT, KARAWANG_TIMUR):
        make.report(point=point)
    answer = get_map(officer, zoom=12)
    coordinates = {c for point in (KARAWANG_BARAT, KARAWANG_TIMUR) for c in point}
    assert answer.json["cells"]
    assert not coordinates & set(numbers_in(answer.json))
    # And in the raw text: no number written there equals a report's coordinate.
    assert not coordinates & {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", answer.text)}
    for cell in answer.json["cells"]:
        assert set(cell) == {"lon", "lat", "count", "states"}
    assert "url" not in answer.text and "tracking" not in answer.text


def test_all_of_indonesia_returns_only_the_jurisdiction(world, make, officer):
    own = [make.report(point=KARAWANG_BARAT), make.report(point=KARAWANG_TIMUR)]
    make.report(point=BEKASI)
    make.report(point=KETAPANG)
    make.report(point=(106.8271, -6.1754))  # Jakarta: no office in this world
    answer = get_map(officer, bbox="-180,-90,180,90", zoom=3)
    assert sum(c["count"] for c in answer.json["cells"]) == len(own)


def test_a_box_over_another_offices_area_returns_nothing(world, make, officer):
    make.report(point=KETAPANG)
    make.report(point=BEKASI)
    for zoom in (8, 12, 16):  # from the grid rollup, from the reports, points
        around_ketapang = get_map(officer, bbox="110.4,-1.7,110.5,-1.6", zoom=zoom)
        assert around_ketapang.status_code == 200
        assert around_ketapang.json.get("cells", []) == [] and around_ketapang.json.get("rows", []) == []
    around_bekasi = get_map(officer, bbox="107.1,-6.35,107.2,-6.25", zoom=16)
    assert around_bekasi.json["kind"] == "points" and around_bekasi.json["rows"] == []


def test_filters_narrow_the_cells(world, make, officer):
    make.report(point=KARAWANG_BARAT, state="new")
    make.report(point=KARAWANG_BARAT, state="screening")
    for zoom in (5, 10):  # from the grid rollup, from the reports
        answer = get_map(officer, zoom=zoom, state="screening")
        assert [c["states"] for c in answer.json["cells"]] == [{"screening": 1}]


@pytest.mark.date_sensitive
def test_date_and_region_filters_count_from_the_reports_even_zoomed_out(world, make, officer, clock):
    from datetime import timedelta

    since = clock.today - timedelta(days=2)       # received from its local midnight on
    for at in (clock.now, clock.at(since), clock.at(since) - timedelta(seconds=1)):
        make.report(point=KARAWANG_BARAT, created_at=at)
    answer = get_map(officer, zoom=5, received_from=since.isoformat())
    assert [c["count"] for c in answer.json["cells"]] == [2]
    kabupaten = world.make.region("32.15").id
    assert [c["count"] for c in get_map(officer, zoom=5, kabupaten=kabupaten).json["cells"]] == [3]


def test_an_unknown_category_is_a_400_naming_the_filter(world, make, officer, english):
    answer = get_map(officer, zoom=10, category="999999")
    assert answer.status_code == 400
    assert answer.json["error"]["message"].startswith("Category:")


# --- points --------------------------------------------------------------------------------------

def test_street_zoom_gives_an_officer_points_linking_to_the_report(world, make, officer, clock):
    from datetime import timedelta

    near = make.report(point=KARAWANG_BARAT, state="screening", created_at=clock.now - timedelta(days=3, minutes=5))
    make.report(point=KARAWANG_TIMUR)  # outside the small box
    answer = get_map(officer, bbox="107.29,-6.305,107.305,-6.295", zoom=16)
    assert answer.status_code == 200
    # The popup's facts: category (an id; the page has the names) and the age in minutes.
    assert answer.json == {"kind": "points", "truncated": False, "url": "/laporan/",
                           "columns": ["id", "code", "state", "lat", "lon", "category", "age_minutes"],
                           "rows": [[near.id, display(near.tracking_code), "screening", KARAWANG_BARAT[1],
                                     KARAWANG_BARAT[0], near.category_id, 3 * 24 * 60 + 5]]}
    assert officer.get(answer.json["url"] + str(near.id)).status_code == 200


def test_points_are_capped(world, make, officer, monkeypatch):
    from apoa.maps import clusters

    monkeypatch.setattr(clusters, "MAX_POINTS", 1)
    make.report(point=KARAWANG_BARAT)
    make.report(point=KARAWANG_BARAT)
    answer = get_map(officer, bbox="107.29,-6.305,107.305,-6.295", zoom=16)
    assert len(answer.json["rows"]) == 1 and answer.json["truncated"] is True


def test_a_regional_head_gets_only_cells_of_the_jurisdiction_even_at_street_zoom(world, make, sign_in):
    for _ in range(3):
        make.report(point=KARAWANG_BARAT)
        make.report(point=BEKASI)
        make.report(point=KETAPANG)
    head = sign_in(world.actors["regional_head"])
    for zoom in (16, MAX_ZOOM):
        answer = get_map(head, bbox="107.29,-6.305,107.305,-6.295", zoom=zoom)
        assert answer.status_code == 200
        assert answer.json["kind"] == "clusters" and "rows" not in answer.json
        assert [c["count"] for c in answer.json["cells"]] == [3]
        written = {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", answer.text)}
        assert not set(KARAWANG_BARAT) & written and "/laporan/" not in answer.text
    whole = get_map(head, zoom=6)
    assert sum(c["count"] for c in whole.json["cells"]) == 6  # Karawang and Bekasi, not Ketapang


def test_a_regional_head_never_learns_a_count_below_three(world, make, sign_in):
    make.report(point=KARAWANG_BARAT, state="new")
    make.report(point=KARAWANG_BARAT, state="new")
    for _ in range(3):
        make.report(point=BEKASI, state="screening")
    make.report(point=BEKASI, state="closed", outcome="not_found")
    head = sign_in(world.actors["regional_head"])
    cells = get_map(head, bbox="107.0,-6.5,107.5,-6.0", zoom=10).json["cells"]
    by_place = {round(c["lon"], 1): c for c in cells}
    karawang, bekasi = by_place[round(KARAWANG_BARAT[0], 1)], by_place[round(BEKASI[0], 1)]
    assert karawang == {"lon": karawang["lon"], "lat": karawang["lat"], "count": None, "few": True, "states": {}}
    assert bekasi["count"] == 4 and bekasi["states"] == {"screening": 3}  # the lone closed one is withheld


# --- refusals and bad input ----------------------------------------------------------------------

@pytest.mark.parametrize("bbox", ["", "1,2,3", "a,b,c,d", "107,-6,106,-5", "107,-6,108,-6", "nan,1,2,3",
                                  "1,2,3,inf", "1,2,3,4,5", "200,-6,300,-5"])
def test_a_bad_bbox_is_a_400_in_json(world, officer, bbox):
    answer = get_map(officer, bbox=bbox)
    assert answer.status_code == 400
    assert answer.json["error"]["status"] == 400 and "bbox" in answer.json["error"]["message"]


@pytest.mark.parametrize("zoom", ["", "-1", "21", "3.5", "ten"])
def test_a_bad_zoom_is_a_400_in_json(world, officer, zoom):
    answer = get_map(officer, zoom=zoom)
    assert answer.status_code == 400
    assert "zoom" in answer.json["error"]["message"]


def test_errors_are_json_whatever_the_accept_header(world, officer):
    answer = officer.get("/peta/data.json?bbox=x&zoom=3", headers={"Accept": "text/html"})
    assert answer.status_code == 400 and answer.json["error"]["status"] == 400


def test_an_unknown_state_is_a_400(world, officer):
    assert get_map(officer, state="lost").status_code == 400


def test_a_bbox_past_the_date_line_is_clamped(world, make, officer):
    make.report(point=KARAWANG_BARAT)
    answer = get_map(officer, bbox="-400,-100,400,100", zoom=2)
    assert answer.status_code == 200 and sum(c["count"] for c in answer.json["cells"]) == 1


def test_anonymous_visitors_get_nothing(world, make, client):
    make.report(point=KARAWANG_BARAT)
    answer = get_map(client)
    assert answer.status_code in (302, 401, 404)
    assert "cells" not in answer.text


@pytest.mark.parametrize("actor", ["resident", "admin"])
def test_who_may_see_neither_reports_nor_aggregates_gets_a_404(world, make, sign_in, actor):
    make.report(point=KARAWANG_BARAT)
    answer = get_map(sign_in(world.actors[actor]))
    assert answer.status_code == 404
    assert json.loads(answer.text)["error"]["status"] == 404 and "cells" not in answer.text
