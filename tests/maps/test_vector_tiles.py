"""Region outlines and names as vector tiles (/tiles/regions/z/x/y.mvt): the base map with no
internet. Decoded with mapbox-vector-tile, in tile coordinates (y down, as the tile stores them)."""
import gzip
import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from apoa.extensions import db
from apoa.maps.basemap import TILE_BUFFER, TILE_EXTENT

KARAWANG = "32.15"
JAWA_BARAT = "32"


def tile_of(lon, lat, zoom):
    """The Web Mercator tile (Leaflet's x/y numbering) holding a point."""
    n = 2 ** zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return zoom, x, y


def label_point(kode):
    """Where the tiles write a region's name: its PointOnSurface."""
    return db.session.execute(text(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM region WHERE kode = :k) s"),
        {"k": kode}).one()


def region_name(kode):
    return db.session.execute(text("SELECT nama FROM region WHERE kode = :k"), {"k": kode}).scalar_one()


def a_karawang_kecamatan():
    """A big kecamatan of Karawang (big enough to be labelled at kecamatan zoom)."""
    return db.session.execute(text(
        "SELECT kode, nama FROM region WHERE parent_kode = :k ORDER BY ST_Area(geom) DESC LIMIT 1"),
        {"k": KARAWANG}).one()


def fetch(client, z, x, y, **args):
    answer = client.get(f"/tiles/regions/{z}/{x}/{y}.mvt", query_string=args)
    assert answer.status_code == 200, answer.text
    assert answer.mimetype == "application/vnd.mapbox-vector-tile"
    return answer


def decode(answer):
    return mapbox_vector_tile.decode(answer.data, default_options={"y_coord_down": True})


def labels(tile):
    return {f["properties"]["nama"]: f["properties"] for f in tile.get("labels", {}).get("features", [])}


def outline_levels(tile):
    return {f["properties"]["level"] for f in tile["outlines"]["features"]}


def coordinates(geometry):
    """Every (x, y) of a decoded geometry, whatever its nesting."""
    def walk(value):
        if isinstance(value[0], (int, float)):
            yield value
        else:
            for inner in value:
                yield from walk(inner)
    return list(walk(geometry["coordinates"]))


def test_zoomed_out_the_tiles_hold_province_outlines_and_names(client):
    tile = decode(fetch(client, *tile_of(*label_point(JAWA_BARAT), 6)))
    assert set(tile) == {"outlines", "labels"}
    assert outline_levels(tile) == {"provinsi"}
    named = labels(tile)
    assert "Jawa Barat" in named
    assert {properties["level"] for properties in named.values()} == {"provinsi"}


def test_mid_zoom_names_kabupaten_and_draws_their_outlines(client):
    tile = decode(fetch(client, *tile_of(*label_point(KARAWANG), 9)))
    assert outline_levels(tile) == {"kabupaten_kota"}
    named = labels(tile)
    assert named["Kabupaten Karawang"]["level"] == "kabupaten_kota"
    assert all(properties["level"] == "kabupaten_kota" for properties in named.values())
    # The same place zoomed out names the province only.
    zoomed_out = labels(decode(fetch(client, *tile_of(*label_point(KARAWANG), 5))))
    assert "Kabupaten Karawang" not in zoomed_out


def test_kecamatan_zoom_names_kecamatan_over_kabupaten_edges(client):
    kode, nama = a_karawang_kecamatan()
    tile = decode(fetch(client, *tile_of(*label_point(kode), 12)))
    assert outline_levels(tile) == {"kabupaten_kota", "kecamatan"}
    assert labels(tile)[nama]["level"] == "kecamatan"
    assert "Kabupaten Karawang" not in labels(tile)


def test_at_street_zoom_every_tile_names_its_kecamatan_and_kabupaten(client):
    kode, nama = a_karawang_kecamatan()
    lon, lat = label_point(kode)
    for dx in (0, 1):
        z, x, y = tile_of(lon, lat, 16)
        named = labels(decode(fetch(client, z, x + dx, y)))
        assert named[nama]["parent"] == "Kabupaten Karawang", (dx, named)


def test_geometry_stays_within_the_tile_and_its_buffer(client):
    tile = decode(fetch(client, *tile_of(*label_point(KARAWANG), 10)))
    assert tile["outlines"]["extent"] == TILE_EXTENT
    for feature in tile["outlines"]["features"]:
        for x, y in coordinates(feature["geometry"]):
            assert -TILE_BUFFER <= x <= TILE_EXTENT + TILE_BUFFER and -TILE_BUFFER <= y <= TILE_EXTENT + TILE_BUFFER
    for feature in tile["labels"]["features"]:
        assert feature["geometry"]["type"] == "Point"
        x, y = feature["geometry"]["coordinates"]
        assert 0 <= x <= TILE_EXTENT and 0 <= y <= TILE_EXTENT


def test_a_tile_of_open_sea_is_empty(client):
    answer = fetch(client, *tile_of(90.0, -20.0, 8))
    assert answer.data == b"" and decode(answer) == {}


@pytest.mark.parametrize("path", ["/tiles/regions/20/0/0.mvt", "/tiles/regions/3/8/0.mvt",
                                  "/tiles/regions/3/0/8.mvt", "/tiles/regions/3/-1/0.mvt",
                                  "/tiles/regions/x/0/0.mvt"])
def test_tiles_that_cannot_exist_are_not_found(client, path):
    assert client.get(path).status_code == 404


def test_tiles_are_gzipped_for_a_browser_that_accepts_it(client):
    z, x, y = tile_of(*label_point(KARAWANG), 9)
    plain = fetch(client, z, x, y)
    assert "Content-Encoding" not in plain.headers
    packed = client.get(f"/tiles/regions/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data)


def test_a_versioned_tile_is_cached_for_a_year_and_revalidates_by_etag(client):
    config = client.get("/tiles/base.json").get_json()
    url = config["regions"]["url"]
    assert "{z}/{x}/{y}.mvt?v=" in url
    version = url.rsplit("v=", 1)[1]
    z, x, y = tile_of(*label_point(KARAWANG), 9)
    answer = fetch(client, z, x, y, v=version)
    cache = answer.headers["Cache-Control"]
    assert "public" in cache and "max-age=31536000" in cache and "immutable" in cache
    assert "Cookie" not in answer.headers.get("Vary", "") and "Set-Cookie" not in answer.headers
    again = client.get(f"/tiles/regions/{z}/{x}/{y}.mvt?v={version}", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # An address without the current version may change at the next import: cached briefly.
    unversioned = fetch(client, z, x, y)
    assert "max-age=3600" in unversioned.headers["Cache-Control"]


def test_a_new_import_of_changed_files_changes_the_version(client, db_session):
    before = client.get("/tiles/base.json").get_json()["regions"]["url"]
    db_session.execute(text("UPDATE region_source SET sha256 = md5(sha256) WHERE name LIKE '%kecamatan%'"))
    after = client.get("/tiles/base.json").get_json()["regions"]["url"]
    assert after != before


def test_with_a_tile_server_configured_the_base_map_is_its_tiles(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TILE_URL", "https://tiles.example.org/{z}/{x}/{y}.png")
    config = client.get("/tiles/base.json").get_json()
    assert config == {"tiles": {"url": "https://tiles.example.org/{z}/{x}/{y}.png", "attribution": ""}}
