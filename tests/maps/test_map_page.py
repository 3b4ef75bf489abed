"""The officers' map page /peta (folium, every asset from the app), the region outlines it draws as
its base map, the heat layer's data and the hotspot list."""
import json
import re
from datetime import timedelta

import pytest

from apoa.maps import hotspots as hotspot_module
from tests.factories import World

KARAWANG_BARAT = (107.30, -6.30)
TELUKJAMBE = (107.27, -6.33)
BEKASI = (107.15, -6.30)


@pytest.fixture
def world(make):
    return World(make)


def page_scripts(html):
    return re.findall(r'<script src="([^"]+)"', html), re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


def test_an_officer_gets_the_folium_map_with_every_asset_from_the_app(world, sign_in):
    answer = sign_in(world.actors["officer"]).get("/peta")
    assert answer.status_code == 200
    html = answer.text
    scripts, styles = page_scripts(html)
    assert "/assets/vendor/leaflet/leaflet.js" in scripts
    assert all(url.startswith(("/assets/", "/static/")) for url in scripts + styles)
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert re.search(r'class="folium-map" id="map_[0-9a-f]+"', html)
    assert re.search(r'<script nonce="[^"]+">\s*var map_[0-9a-f]+ = L\.map\(', html)
    options = json.loads(re.search(r"window\.ApoaMaps\.officer\(map_[0-9a-f]+, (\{.*\})\);", html).group(1))
    assert options["pointsZoom"] == 14 and options["dataUrl"] == "/peta/data.json"
    # The heat layer's script is loaded when the layer is ticked, from the app as well.
    assert options["heatScript"] == "/assets/vendor/leaflet.heat/leaflet-heat.js"
    # The jurisdiction's extent (Kabupaten Karawang) is where the map opens.
    (south, west), (north, east) = options["fitBounds"]
    assert west < KARAWANG_BARAT[0] < east and south < KARAWANG_BARAT[1] < north


def test_the_map_keeps_the_queue_filters_for_its_data(world, sign_in):
    answer = sign_in(world.actors["officer"]).get("/peta?state=screening&overdue=y&lat=-6.3&lon=107.3&zoom=12")
    options = json.loads(re.search(r"window\.ApoaMaps\.officer\(map_[0-9a-f]+, (\{.*\})\);", answer.text).group(1))
    assert options["filters"] == {"state": "screening", "overdue": "y"}
    assert options["fitBounds"] is None and "center: [-6.3, 107.3]" in answer.text


def test_a_bad_filter_on_the_page_is_a_400_with_the_message(world, sign_in, english):
    answer = sign_in(world.actors["officer"]).get("/peta?received_from=2026-13-45")
    assert answer.status_code == 400
    assert "Not a valid date value" in answer.text


def test_a_regional_head_gets_the_map_without_points(world, sign_in):
    answer = sign_in(world.actors["regional_head"]).get("/peta")
    assert answer.status_code == 200
    assert '"pointsZoom": null' in answer.text


@pytest.mark.parametrize("actor", ["resident", "admin"])
def test_who_may_not_see_reports_gets_a_404(world, sign_in, actor):
    assert sign_in(world.actors[actor]).get("/peta").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client):
    answer = client.get("/peta")
    assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]


# --- region outlines -----------------------------------------------------------------------------

@pytest.mark.parametrize("zoom, level_digits", [(5, 2), (8, 5), (12, 8)])
def test_outlines_are_of_the_level_for_the_zoom(client, zoom, level_digits):
    answer = client.get("/peta/batas.geojson", query_string={"bbox": "107.2,-6.4,107.4,-6.2", "zoom": zoom})
    assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
    features = answer.json["features"]
    assert features and {len(f["id"]) for f in features} == {level_digits}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)
    if zoom == 8:
        assert "32.15" in {f["id"] for f in features}


def test_outlines_are_simplified_more_when_zoomed_out(client):
    def size(zoom):
        return len(client.get("/peta/batas.geojson", query_string={"bbox": "106,-7,108,-6", "zoom": zoom}).data)
    assert size(7) < size(10)


def test_outlines_answer_bad_input_in_json(client):
    answer = client.get("/peta/batas.geojson?bbox=1,2&zoom=5")
    assert answer.status_code == 400 and "bbox" in answer.json["error"]["message"]


# --- heat map and hotspots -----------------------------------------------------------------------

@pytest.mark.date_sensitive
def test_the_heat_layer_counts_only_the_last_30_days(world, make, sign_in, clock):
    first = clock.at(clock.today - timedelta(days=29))      # local midnight 29 days before today
    for at in (clock.now, first, first - timedelta(seconds=1), clock.now - timedelta(days=45)):
        make.report(point=KARAWANG_BARAT, created_at=at)
    officer = sign_in(world.actors["officer"])
    heat = officer.get("/peta/data.json", query_string={"bbox": "107,-6.5,107.5,-6", "zoom": 16, "layer": "heat"})
    assert heat.json["kind"] == "clusters" and [c["count"] for c in heat.json["cells"]] == [2]
    everything = officer.get("/peta/data.json", query_string={"bbox": "107,-6.5,107.5,-6", "zoom": 10})
    assert sum(c["count"] for c in everything.json["cells"]) == 4


@pytest.mark.date_sensitive
def test_hotspots_are_the_busiest_cells_named_and_linked(world, make, harness, clock):
    first = clock.at(clock.today - timedelta(days=29))      # the 30 days start at local midnight
    for at in (clock.now, clock.now, first):
        make.report(point=KARAWANG_BARAT, created_at=at)
    make.report(point=TELUKJAMBE)
    make.report(point=KARAWANG_BARAT, created_at=first - timedelta(seconds=1))
    make.report(point=BEKASI)  # another office's
    with harness.test_request_context():
        spots = hotspot_module.hotspots(world.actors["officer"])
    assert [spot.reports for spot in spots] == [3, 1]
    assert spots[0].place == "Karawang Barat, Kabupaten Karawang"
    assert spots[0].url.startswith("/peta?lat=-6.") and "zoom=13" in spots[0].url


def test_a_regional_head_sees_small_hotspots_as_fewer_than_three(world, make, harness, sign_in):
    for _ in range(3):
        make.report(point=KARAWANG_BARAT)
    make.report(point=BEKASI)
    with harness.test_request_context():
        spots = hotspot_module.hotspots(world.actors["regional_head"])
    assert [(spot.reports, spot.few) for spot in spots] == [(3, False), (None, True)]
    page = sign_in(world.actors["regional_head"]).get("/peta").text
    assert "&lt; 3" in page


def test_who_sees_neither_gets_no_hotspots(world, make, harness):
    make.report(point=KARAWANG_BARAT)
    with harness.test_request_context():
        assert hotspot_module.hotspots(world.actors["admin"]) == []
