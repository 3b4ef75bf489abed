"""What /peta carries so it is drawn without waiting: the opening view's clusters (when the server
knows the zoom), of the user's jurisdiction only and with the same rules as /peta/data.json, and a
filter form that is the same whether written afresh or kept."""
import json
import re

import pytest

from tests.factories import World

KARAWANG_BARAT = (107.30, -6.30)
BEKASI = (107.15, -6.30)          # KANIM-B, the sibling office under KANWIL-A


@pytest.fixture
def world(make):
    return World(make)


def options_of(html):
    return json.loads(re.search(r"window\.ApoaMaps\.officer\(\s*map_[0-9a-f]+, (\{.*\})\);", html).group(1))


def test_an_asked_view_comes_with_its_clusters(world, make, sign_in):
    make.report(point=KARAWANG_BARAT)
    make.report(point=BEKASI)
    officer = sign_in(world.actors["officer"])
    initial = options_of(officer.get("/peta?lat=-6.3&lon=107.3&zoom=8").text)["initial"]
    assert initial["zoom"] == 8 and initial["answer"]["kind"] == "clusters"
    west, south, east, north = initial["bbox"]
    assert west < 107.3 < east and south < -6.3 < north
    # Bekasi is in the box but not in the officer's jurisdiction.
    assert sum(cell["count"] for cell in initial["answer"]["cells"]) == 1


def test_the_opening_clusters_follow_the_filters(world, make, sign_in):
    make.report(point=KARAWANG_BARAT, state="new")
    make.report(point=KARAWANG_BARAT, state="screening")
    officer = sign_in(world.actors["officer"])
    initial = options_of(officer.get("/peta?lat=-6.3&lon=107.3&zoom=8&state=new").text)["initial"]
    assert [cell["states"] for cell in initial["answer"]["cells"]] == [{"new": 1}]


def test_a_regional_head_never_learns_a_small_count_from_the_page(world, make, sign_in):
    make.report(point=KARAWANG_BARAT)
    head = sign_in(world.actors["regional_head"])
    initial = options_of(head.get("/peta?lat=-6.3&lon=107.3&zoom=8").text)["initial"]
    assert [(cell["count"], cell["few"]) for cell in initial["answer"]["cells"]] == [(None, True)]


@pytest.mark.parametrize("path", ["/peta", "/peta?lat=-6.3&lon=107.3&zoom=15"])
def test_no_opening_data_where_the_zoom_is_the_windows_or_points_are_shown(world, make, sign_in, path):
    make.report(point=KARAWANG_BARAT)
    officer = sign_in(world.actors["officer"])     # /peta fits the jurisdiction to the window
    assert options_of(officer.get(path).text)["initial"] is None


def test_the_filter_form_is_the_same_when_kept(world, sign_in):
    officer = sign_in(world.actors["officer"])
    first = officer.get("/peta?state=new").text
    again = officer.get("/peta?state=new").text
    form = re.compile(r'<form method="get" action="/peta".*?</form>', re.S)
    assert form.search(first).group(0) == form.search(again).group(0)
    assert re.search(r'<option selected value="new">|<option value="new" selected>', again)
    other = officer.get("/peta?state=screening").text
    assert form.search(other).group(0) != form.search(again).group(0)
