"""The office's streets extract: one MBTiles file (APOA_STREET_TILES) served tile by tile at
/tiles/streets/z/x/y.<ext>. The files here are made in the test with sqlite3 and Pillow."""
import gzip
import io
import sqlite3

import pytest
from PIL import Image

from apoa import create_app
from apoa.config import ConfigError
from tests.conftest import TEST_CONFIG, app_environ


def png(colour):
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make_mbtiles(path, tiles, **metadata):
    """An MBTiles file: `tiles` maps (z, x, tms_row) → bytes, rows numbered from the south."""
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE metadata (name text, value text)")
        connection.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
                           "tile_data blob)")
        connection.executemany("INSERT INTO metadata VALUES (?, ?)", metadata.items())
        connection.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                               [(z, x, row, data) for (z, x, row), data in tiles.items()])
    connection.close()
    return path


RED, BLUE = png("red"), png("blue")


@pytest.fixture
def raster_extract(app, tmp_path, monkeypatch):
    # At zoom 1 the row numbered 1 from the south is Leaflet's y = 0 (the northern row).
    path = make_mbtiles(tmp_path / "streets.mbtiles", {(1, 1, 1): RED, (1, 1, 0): BLUE},
                        format="png", minzoom="0", maxzoom="1", bounds="95,-11,141,6",
                        attribution='<a href="https://www.openstreetmap.org/copyright">&copy; OpenStreetMap '
                                    'contributors</a>')
    monkeypatch.setitem(app.config, "STREET_TILES", str(path))
    return path


def test_a_raster_tile_is_served_as_stored_with_the_row_flipped(client, raster_extract):
    north = client.get("/tiles/streets/1/1/0.png")
    assert north.status_code == 200 and north.mimetype == "image/png"
    assert north.data == RED
    assert client.get("/tiles/streets/1/1/1.png").data == BLUE


def test_a_missing_tile_or_another_format_is_not_found(client, raster_extract):
    assert client.get("/tiles/streets/1/0/0.png").status_code == 404
    assert client.get("/tiles/streets/1/1/0.jpg").status_code == 404
    assert client.get("/tiles/streets/25/1/0.png").status_code == 404


def test_without_an_extract_there_are_no_street_tiles(client):
    assert client.get("/tiles/streets/1/1/0.png").status_code == 404
    assert client.get("/tiles/base.json").get_json()["streets"] is None


def test_street_tiles_are_cached_by_the_extract_version(client, raster_extract):
    streets = client.get("/tiles/base.json").get_json()["streets"]
    assert streets["url"].startswith("/tiles/streets/{z}/{x}/{y}.png?v=")
    version = streets["url"].rsplit("v=", 1)[1]
    answer = client.get(f"/tiles/streets/1/1/0.png?v={version}")
    assert "public" in answer.headers["Cache-Control"] and "max-age=31536000" in answer.headers["Cache-Control"]
    assert client.get(f"/tiles/streets/1/1/0.png?v={version}",
                      headers={"If-None-Match": answer.headers["ETag"]}).status_code == 304
    assert "max-age=3600" in client.get("/tiles/streets/1/1/0.png").headers["Cache-Control"]


def test_the_maps_learn_the_extract_zooms_bounds_and_plain_attribution(client, raster_extract):
    streets = client.get("/tiles/base.json").get_json()["streets"]
    assert streets["vector"] is False
    assert (streets["minZoom"], streets["maxNativeZoom"]) == (0, 1)
    assert streets["bounds"] == [[-11.0, 95.0], [6.0, 141.0]]
    assert streets["attribution"] == "© OpenStreetMap contributors"


def test_a_replaced_extract_is_served_without_a_restart(client, raster_extract):
    before = client.get("/tiles/base.json").get_json()["streets"]["url"]
    raster_extract.unlink()
    make_mbtiles(raster_extract, {(1, 1, 1): BLUE}, format="png", maxzoom="1")
    assert client.get("/tiles/streets/1/1/0.png").data == BLUE
    assert client.get("/tiles/base.json").get_json()["streets"]["url"] != before


def test_vector_tiles_stored_gzipped_are_sent_gzipped_or_unpacked(app, client, tmp_path, monkeypatch):
    body = b"\x1a\x05hello"  # the bytes need not be a real tile for the app: it never reads them
    path = make_mbtiles(tmp_path / "vector.mbtiles", {(3, 6, 3): gzip.compress(body)}, format="pbf",
                        maxzoom="14")
    monkeypatch.setitem(app.config, "STREET_TILES", str(path))
    streets = client.get("/tiles/base.json").get_json()["streets"]
    assert streets["vector"] is True and "{z}/{x}/{y}.pbf" in streets["url"]
    assert streets["attribution"] == "© OpenStreetMap contributors"
    packed = client.get("/tiles/streets/3/6/4.pbf", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip" and gzip.decompress(packed.data) == body
    plain = client.get("/tiles/streets/3/6/4.pbf")
    assert "Content-Encoding" not in plain.headers and plain.data == body


def test_the_format_is_read_from_the_tiles_when_the_metadata_does_not_say(app, client, tmp_path, monkeypatch):
    path = make_mbtiles(tmp_path / "nameless.mbtiles", {(0, 0, 0): RED})
    monkeypatch.setitem(app.config, "STREET_TILES", str(path))
    assert client.get("/tiles/streets/0/0/0.png").data == RED


def start_with(database_url, tmp_path, street_tiles):
    return create_app(dict(TEST_CONFIG), environ=app_environ(
        database_url, APOA_INSTANCE_DIR=str(tmp_path), APOA_STREET_TILES=str(street_tiles)))


def test_the_app_refuses_to_start_with_a_missing_extract(database_url, tmp_path):
    with pytest.raises(ConfigError, match="APOA_STREET_TILES"):
        start_with(database_url, tmp_path, tmp_path / "nowhere.mbtiles")


def test_the_app_refuses_to_start_with_a_file_that_is_not_mbtiles(database_url, tmp_path):
    not_mbtiles = tmp_path / "streets.mbtiles"
    not_mbtiles.write_text("these are not tiles")
    with pytest.raises(ConfigError, match="APOA_STREET_TILES.*not an MBTiles file"):
        start_with(database_url, tmp_path, not_mbtiles)


def test_the_app_starts_with_a_good_extract(database_url, tmp_path):
    path = make_mbtiles(tmp_path / "streets.mbtiles", {(0, 0, 0): RED}, format="png")
    assert start_with(database_url, tmp_path, path).config["STREET_TILES"] == str(path)
