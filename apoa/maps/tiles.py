"""Map tiles served by the app itself, so the maps work with no internet.

- /tiles/regions/z/x/y.mvt: region outlines and names as Mapbox Vector Tiles drawn from PostGIS
  (apoa/maps/basemap.py). Public: boundaries and names are public data, nothing about reports.
- /tiles/streets/z/x/y.<ext>: the streets of an office-supplied OpenStreetMap extract, one MBTiles
  file named by APOA_STREET_TILES (raster png/jpg/webp, or vector pbf), served as stored.
- /tiles/base.json: what the maps' script (static/js/map-common.js) needs to draw the base map.

Tile addresses carry a version (`?v=`: the imported boundary files, or the extract's size and
time), so a tile whose address names the current version is cached for a year.
"""
import gzip
import hashlib
import html
import logging
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from apoa.config import ConfigError
from apoa.maps.basemap import region_tile, regions_version

bp = Blueprint("tiles", __name__, url_prefix="/tiles")
log = logging.getLogger("apoa.maps")

# The maps zoom from the whole country to a street (page.py and the pages' scripts stop at 19).
MAX_ZOOM = 19
ONE_YEAR = 365 * 24 * 3600
# A tile asked for without the current version (an old page, a hand-typed address) may change at
# the next import: cached briefly.
UNVERSIONED_MAX_AGE = 3600
# base.json names the current versions: a new import shows within this many seconds.
CONFIG_MAX_AGE = 300
MVT_MIMETYPE = "application/vnd.mapbox-vector-tile"
# MBTiles `format` → the address extension and the content type.
STREET_FORMATS = {
    "png": ("png", "image/png"),
    "jpg": ("jpg", "image/jpeg"),
    "jpeg": ("jpg", "image/jpeg"),
    "webp": ("webp", "image/webp"),
    "pbf": ("pbf", MVT_MIMETYPE),
}
GZIP_MAGIC = b"\x1f\x8b"
# The extract is OpenStreetMap data (ODbL): credited even when its file does not say so.
OSM_ATTRIBUTION = "© OpenStreetMap contributors"


# --- region outlines --------------------------------------------------------------------------

@bp.get("/regions/<int:z>/<int:x>/<int:y>.mvt")
def regions(z, x, y):
    check_tile_address(z, x, y)
    version = regions_version()
    return tile_response(f"regions-{version}-{z}-{x}-{y}", version,
                         lambda: vector_for_client(region_tile(z, x, y)), MVT_MIMETYPE)


def check_tile_address(z, x, y):
    """404 for a tile that cannot exist (Flask's int converter already refuses negatives)."""
    if z > MAX_ZOOM or x >= 2 ** z or y >= 2 ** z:
        abort(404)


def tile_response(etag, version, content, mimetype):
    """The tile from `content()` → (bytes, content coding or None), computed only when the client
    does not hold it already; public, and cached for a year when the address names the current
    `version`."""
    # Weak: a vector tile's bytes differ with its coding, its content does not (If-None-Match
    # compares weakly anyway).
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        data, encoding = content()
        response = Response(data, mimetype=mimetype)
        if encoding:
            response.content_encoding = encoding
    if mimetype == MVT_MIMETYPE:
        response.vary.add("Accept-Encoding")
    response.set_etag(etag, weak=True)
    response.cache_control.public = True
    if request.args.get("v") == version:
        response.cache_control.max_age = ONE_YEAR
        response.cache_control.immutable = True
    else:
        response.cache_control.max_age = UNVERSIONED_MAX_AGE
    return response


# --- the streets extract (MBTiles) ------------------------------------------------------------

@dataclass(frozen=True)
class StreetTiles:
    """What the app knows of the configured MBTiles file."""

    path: str
    format: str
    extension: str
    mimetype: str
    min_zoom: int
    max_zoom: int
    bounds: tuple | None
    attribution: str
    version: str

    @property
    def vector(self):
        return self.format == "pbf"


class StreetTilesError(ValueError):
    """The file named by APOA_STREET_TILES is not a usable MBTiles file."""


def street_tiles():
    """The configured extract, or None without APOA_STREET_TILES. Read again when the file is
    replaced (a new extract needs no restart)."""
    path = current_app.config.get("STREET_TILES")
    if not path:
        return None
    try:
        stat = Path(path).stat()
        return describe_street_tiles(path, stat.st_mtime_ns, stat.st_size)
    except (OSError, StreetTilesError) as error:
        # Checked at start-up; a file removed or spoilt since leaves the maps without streets.
        log.error("street tiles unavailable: %s", error)
        return None


@lru_cache(maxsize=4)
def describe_street_tiles(path, mtime_ns, size):
    """Read the MBTiles metadata of `path` (the file's time and size key the cache)."""
    try:
        with _connect(path) as connection:
            metadata = dict(connection.execute("SELECT name, value FROM metadata").fetchall())
            stored_format = (metadata.get("format") or _sniff_format(connection) or "").lower()
    except sqlite3.Error as error:
        raise StreetTilesError(f"{path} is not an MBTiles file ({error})") from None
    if stored_format not in STREET_FORMATS:
        raise StreetTilesError(f"{path}: tile format {stored_format or '(none)'!r} is not one of "
                               f"{', '.join(sorted(STREET_FORMATS))}")
    extension, mimetype = STREET_FORMATS[stored_format]
    return StreetTiles(
        path=path, format="jpg" if stored_format == "jpeg" else stored_format,
        extension=extension, mimetype=mimetype,
        min_zoom=_zoom(metadata.get("minzoom"), 0), max_zoom=_zoom(metadata.get("maxzoom"), 14),
        bounds=_bounds(metadata.get("bounds")), attribution=_plain(metadata.get("attribution")),
        version=hashlib.sha256(f"{path}:{mtime_ns}:{size}".encode()).hexdigest()[:12])


def _connect(path):
    """A read-only connection (the app never writes the office's file), closed after the block."""
    return closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True))


def _sniff_format(connection):
    """The format of a file whose metadata does not say, from its first tile's first bytes."""
    row = connection.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
    data = bytes(row[0][:12]) if row and row[0] else b""
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    # Anything else is taken for a vector tile, gzipped or not (its first byte varies).
    return "pbf" if data else None


def _plain(attribution):
    """An attribution as text: extracts often store it as HTML links (the maps show it escaped)."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", attribution or "")).split())


def _zoom(value, default):
    try:
        return max(0, min(MAX_ZOOM, int(value)))
    except (TypeError, ValueError):
        return default


def _bounds(value):
    """MBTiles "west,south,east,north" → Leaflet's [[south, west], [north, east]], or None."""
    try:
        west, south, east, north = (float(v) for v in (value or "").split(","))
    except ValueError:
        return None
    return ((south, west), (north, east))


def read_street_tile(tiles, z, x, y):
    """The stored bytes of tile z/x/y (Leaflet's numbering), or None. MBTiles numbers rows from
    the south (TMS), so the row is flipped."""
    with _connect(tiles.path) as connection:
        row = connection.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, 2 ** z - 1 - y)).fetchone()
    return bytes(row[0]) if row else None


@bp.get("/streets/<int:z>/<int:x>/<int:y>.<ext>")
def streets(z, x, y, ext):
    check_tile_address(z, x, y)
    tiles = street_tiles()
    if tiles is None or ext != tiles.extension:
        abort(404)
    data = read_street_tile(tiles, z, x, y)
    if data is None:
        abort(404)
    return tile_response(f"streets-{tiles.version}-{z}-{x}-{y}", tiles.version,
                         lambda: vector_for_client(data) if tiles.vector else (data, None),
                         tiles.mimetype)


def vector_for_client(data):
    """A vector tile as (bytes, coding): gzipped for a client that accepts it (vector tiles
    shrink to about half; extracts usually store them gzipped already), plain otherwise. The
    app's general compression leaves this content type alone."""
    if not data:
        return data, None
    stored_gzipped = data.startswith(GZIP_MAGIC)
    if "gzip" not in request.accept_encodings:
        return (gzip.decompress(data) if stored_gzipped else data), None
    return (data if stored_gzipped else gzip.compress(data, compresslevel=6, mtime=0)), "gzip"


def check_street_tiles(state):
    """At start-up: a configured extract must be readable, or the app refuses to start."""
    path = state.app.config.get("STREET_TILES")
    if not path:
        return
    stat = Path(path).stat()
    try:
        tiles = describe_street_tiles(path, stat.st_mtime_ns, stat.st_size)
    except StreetTilesError as error:
        raise ConfigError(f"APOA_STREET_TILES: {error}") from None
    log.info("street tiles: %s (%s, zoom %d-%d)", path, tiles.format, tiles.min_zoom,
             tiles.max_zoom)


bp.record_once(check_street_tiles)


# --- what the maps' script needs --------------------------------------------------------------

@bp.get("/base.json")
def base_config():
    """The base map for static/js/map-common.js: a configured tile server (the page draws it), or
    the region tiles and, when installed, the streets extract."""
    response = jsonify(base_map_config())
    response.cache_control.public = True
    response.cache_control.max_age = CONFIG_MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


@bp.app_template_global()
def base_map_config():
    """Also offered to templates: _place_search.html carries it, saving the pages a request."""
    tile_url = current_app.config["TILE_URL"]
    if tile_url:
        return {"tiles": {"url": tile_url, "attribution": current_app.config["TILE_ATTRIBUTION"]}}
    return {
        "tiles": None,
        "regions": {"url": _template("tiles.regions", "mvt", regions_version()),
                    "maxZoom": MAX_ZOOM},
        "streets": _streets_config(street_tiles()),
        "vectorGrid": url_for("assets.vendor", package="leaflet.vectorgrid",
                              filename="Leaflet.VectorGrid.bundled.min.js"),
    }


def _streets_config(tiles):
    if tiles is None:
        return None
    return {"url": _template("tiles.streets", tiles.extension, tiles.version, ext=tiles.extension),
            "vector": tiles.vector, "minZoom": tiles.min_zoom, "maxNativeZoom": tiles.max_zoom,
            "bounds": tiles.bounds, "attribution": tiles.attribution or OSM_ATTRIBUTION}


def _template(endpoint, extension, version, **values):
    """A Leaflet URL template ("…/{z}/{x}/{y}.mvt?v=…") for a tile endpoint."""
    sample = url_for(endpoint, z=0, x=0, y=0, v=version, **values)
    return sample.replace(f"/0/0/0.{extension}", f"/{{z}}/{{x}}/{{y}}.{extension}")
