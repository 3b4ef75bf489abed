"""The officers' map at street zoom in tiles, /peta/titik/z/x/y.json: the reports of one map tile
for who may view reports, of their jurisdiction only, narrowed by the queue's filters, each report
in exactly one tile, revalidated by ETag and stored by no cache."""
import math

import pytest

from apoa.maps import point_tiles
from apoa.reports.tracking import display
from tests.factories import World

KARAWANG_BARAT = (107.30, -6.30)
KARAWANG_TIMUR = (107.31, -6.31)
BEKASI = (107.15, -6.30)          # KANIM-B, the sibling office under KANWIL-A
JSON = {"Accept": "application/json"}


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def officer(world, sign_in):
    """Signed in as an officer of KANIM-A (Kabupaten Karawang)."""
    return sign_in(world.actors["officer"])


def tile_of(lon, lat, z):
    """Leaflet's tile numbers of a place (the standard Web Mercator formula)."""
    n = 2 ** z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def get_tile(client, z, x, y, **params):
    return client.get(f"/peta/titik/{z}/{x}/{y}.json", query_string=params, headers=JSON)


def test_a_tile_holds_the_reports_on_it_with_what_the_popup_needs(world, make, officer, clock):
    near = make.report(point=KARAWANG_BARAT, state="screening", created_at=clock.now)
    make.report(point=KARAWANG_TIMUR)  # about a kilometre away: another tile at zoom 16
    answer = get_tile(officer, *tile_of(*KARAWANG_BARAT, 16))
    assert answer.status_code == 200
    assert answer.json["kind"] == "points" and answer.json["truncated"] is False
    assert answer.json["url"] == "/laporan/"
    assert answer.json["columns"] == ["id", "code", "state", "lat", "lon", "category", "received_minute"]
    assert answer.json["rows"] == [[near.id, display(near.tracking_code), "screening", KARAWANG_BARAT[1],
                                    KARAWANG_BARAT[0], near.category_id,
                                    int(clock.now.timestamp() // 60)]]


def test_the_page_gives_the_tile_address_and_the_servers_minute(world, officer, clock):
    page = officer.get("/peta")
    assert '"tileUrl": "/peta/titik/{z}/{x}/{y}.json"' in page.text
    assert '"serverMinute": ' in page.text


def test_the_tiles_of_a_box_hold_each_report_once(world, make, officer):
    # On the edge shared by four tiles at zoom 16, and just either side of it.
    z, x, y = tile_of(*KARAWANG_BARAT, 16)
    west, _south, _east, north = point_tiles.tile_bounds(z, x, y)
    edge_reports = {make.report(point=(west + dx, north + dy)).id
                    for dx in (-1e-6, 0, 1e-6) for dy in (-1e-6, 0, 1e-6)}
    seen = [row[0] for tx in (x - 1, x) for ty in (y - 1, y)
            for row in get_tile(officer, z, tx, ty).json["rows"]]
    assert sorted(seen) == sorted(edge_reports)


def test_only_the_jurisdiction_whatever_the_tile(world, make, officer):
    make.report(point=BEKASI)
    assert get_tile(officer, *tile_of(*BEKASI, 16)).json["rows"] == []


def test_filters_narrow_the_tile(world, make, officer):
    make.report(point=KARAWANG_BARAT, state="new")
    make.report(point=KARAWANG_BARAT, state="screening")
    rows = get_tile(officer, *tile_of(*KARAWANG_BARAT, 16), state="new").json["rows"]
    assert [row[2] for row in rows] == ["new"]
    assert get_tile(officer, *tile_of(*KARAWANG_BARAT, 16), state="lost").status_code == 400


def test_a_crowded_tile_shows_the_newest_and_says_it_is_cut(world, make, officer, monkeypatch):
    monkeypatch.setattr(point_tiles, "MAX_TILE_POINTS", 2)
    ids = [make.report(point=KARAWANG_BARAT).id for _ in range(3)]
    answer = get_tile(officer, *tile_of(*KARAWANG_BARAT, 16)).json
    assert [row[0] for row in answer["rows"]] == sorted(ids, reverse=True)[:2] and answer["truncated"] is True


def test_an_unchanged_tile_is_answered_304_and_stored_by_no_cache(world, make, officer):
    make.report(point=KARAWANG_BARAT)
    first = get_tile(officer, *tile_of(*KARAWANG_BARAT, 16))
    assert "private" in first.headers["Cache-Control"] and "no-store" in first.headers["Cache-Control"]
    assert "Cookie" in first.headers["Vary"]
    again = officer.get(f"/peta/titik/{'/'.join(map(str, tile_of(*KARAWANG_BARAT, 16)))}.json",
                        headers={**JSON, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    make.report(point=KARAWANG_BARAT)
    changed = officer.get(f"/peta/titik/{'/'.join(map(str, tile_of(*KARAWANG_BARAT, 16)))}.json",
                          headers={**JSON, "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and len(changed.json["rows"]) == 2


def test_zoomed_out_tiles_do_not_exist(world, make, officer):
    make.report(point=KARAWANG_BARAT)
    answer = get_tile(officer, *tile_of(*KARAWANG_BARAT, 13))
    assert answer.status_code == 404 and answer.json["error"]["status"] == 404
    assert get_tile(officer, 16, 2 ** 16, 0).status_code == 404


def test_a_regional_head_gets_no_tiles(world, make, sign_in):
    make.report(point=KARAWANG_BARAT)
    head = sign_in(world.actors["regional_head"])
    answer = get_tile(head, *tile_of(*KARAWANG_BARAT, 16))
    assert answer.status_code == 404 and "/laporan/" not in answer.text


def test_anonymous_visitors_get_no_tiles(world, make, client):
    make.report(point=KARAWANG_BARAT)
    answer = get_tile(client, *tile_of(*KARAWANG_BARAT, 16))
    assert answer.status_code in (401, 404) and "rows" not in answer.text


@pytest.mark.parametrize("zoom", [14, 16, 18])
def test_a_tile_is_read_from_the_map_index(world, make, officer, zoom, db_session):
    """The key written in point_tiles.py must be the expression of migration 0025, or the tile
    would be searched another (slower) way: the plan names the index."""
    from sqlalchemy import select, text

    from apoa.extensions import db
    from apoa.reports.models import Report

    make.report(point=KARAWANG_BARAT)
    tile = tile_of(*KARAWANG_BARAT, zoom)
    query = select(Report.id).where(*point_tiles.in_tile_conditions(*tile)).params(point_tiles.tile_values(*tile))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True, "render_postcompile": True}))
    plan = "\n".join(db.session.execute(text("EXPLAIN " + sql)).scalars())
    assert "ix_report_map_tile" in plan


def test_officers_of_other_offices_each_get_their_own_reports_of_a_tile(world, make, sign_in):
    """One after the other in the same process (the tile statement is kept per jurisdiction)."""
    mine = make.report(point=KARAWANG_BARAT)
    tile = tile_of(*KARAWANG_BARAT, 16)
    assert [row[0] for row in get_tile(sign_in(world.actors["officer"]), *tile).json["rows"]] == [mine.id]
    assert get_tile(sign_in(world.actors["foreign_officer"]), *tile).json["rows"] == []
    # The Kanwil's supervisor oversees KANIM-A too.
    assert [row[0] for row in get_tile(sign_in(world.actors["kanwil_supervisor"]), *tile).json["rows"]] == [mine.id]
