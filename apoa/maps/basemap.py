"""A light outline of Indonesia's provinces, drawn from the imported regions, as the base map when
no tile server is configured (the app must work with no internet)."""
from sqlalchemy import text

from apoa.extensions import db
from apoa.regions.models import RegionLevel

# Islands smaller than about 60 km² and detail finer than ~2 km are dropped: this is an outline to
# place a pin on, not a survey map (about 100 KB, cached by the browser for a day).
MIN_ISLAND_AREA_DEG2 = 0.005
TOLERANCE_DEG = 0.02

_BASEMAP_SQL = text("""
SELECT json_build_object('type', 'FeatureCollection', 'features',
       coalesce(json_agg(json_build_object(
         'type', 'Feature', 'properties', json_build_object('kode', kode, 'nama', nama),
         'geometry', ST_AsGeoJSON(outline, 2)::json)), '[]'::json))::text
FROM (
  SELECT kode, nama, ST_Simplify(ST_Collect(ARRAY(
           SELECT part.geom FROM ST_Dump(geom) part WHERE ST_Area(part.geom) > :min_area)),
         :tolerance) AS outline
  FROM region WHERE level = 'provinsi'
) provinces
WHERE outline IS NOT NULL AND NOT ST_IsEmpty(outline)
""")


def province_outlines_geojson():
    return db.session.execute(_BASEMAP_SQL, {"min_area": MIN_ISLAND_AREA_DEG2,
                                             "tolerance": TOLERANCE_DEG}).scalar_one()


# --- region outlines by bounding box, for the officers' and the regional maps ---------------------

# Zoomed out a map shows provinces, then kabupaten/kota, then kecamatan: finer outlines at a
# country view would be clutter, and heavy.
KABUPATEN_FROM_ZOOM = 7
KECAMATAN_FROM_ZOOM = 11

# ST_Simplify (not ...PreserveTopology) drops the islets that shrink below a pixel: at country zoom
# the provinces' ~18,000 island parts otherwise weigh well over a megabyte.
_OUTLINES_SQL = text("""
SELECT json_build_object('type', 'FeatureCollection', 'features',
       coalesce(json_agg(json_build_object(
         'type', 'Feature', 'id', kode, 'properties', json_build_object('kode', kode, 'nama', nama),
         'geometry', ST_AsGeoJSON(outline, :digits)::json)), '[]'::json))::text
FROM (
  SELECT kode, nama, ST_Simplify(geom, :tolerance) AS outline
  FROM region
  WHERE level = :level AND geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
) simplified
WHERE outline IS NOT NULL AND NOT ST_IsEmpty(outline)
""")


def outline_level(zoom):
    """The region level whose outlines a map shows at `zoom`."""
    if zoom >= KECAMATAN_FROM_ZOOM:
        return RegionLevel.kecamatan
    if zoom >= KABUPATEN_FROM_ZOOM:
        return RegionLevel.kabupaten_kota
    return RegionLevel.provinsi


def pixel_degrees(zoom):
    """About one screen pixel, in degrees, at `zoom` (a 256-pixel tile spans 360 / 2^zoom)."""
    return 360.0 / 2 ** zoom / 256


def outlines_geojson(bbox, zoom):
    """The outlines of the level shown at `zoom` that touch `bbox`, simplified to about a pixel,
    as a GeoJSON FeatureCollection (text). Features are named by `kode`, so a map that already
    holds one can skip it."""
    tolerance = pixel_degrees(zoom)
    digits = max(2, min(6, len(str(int(1 / tolerance)))))
    return db.session.execute(_OUTLINES_SQL, {
        "level": outline_level(zoom).value, "tolerance": tolerance, "digits": digits,
        "west": bbox.min_lon, "south": bbox.min_lat, "east": bbox.max_lon, "north": bbox.max_lat,
    }).scalar_one()


# --- region outlines and names as vector tiles (apoa/maps/tiles.py serves them) -------------------

# Mapbox Vector Tile geometry units per tile side, and how far (in those units) outlines reach past
# the tile's edge, so a line's stroke is not cut at the edge where two tiles meet.
TILE_EXTENT = 4096
TILE_BUFFER = 64
# A name is written only where its region is at least this many screen pixels across (the square
# root of its area): smaller regions would be covered by their own label.
LABEL_MIN_PIXELS = 48
# From this zoom (street level) a kecamatan spans many tiles and its single label would seldom be
# on screen: each tile names the kecamatan it shows, with its kabupaten/kota.
EVERY_TILE_LABEL_ZOOM = 14
# A piece of a kecamatan smaller than this share of a tile at street zoom gets no label there.
EVERY_TILE_LABEL_MIN_SHARE = 0.1

_TILE_OUTLINES_SQL = text("""
WITH tile AS (
  SELECT ST_TileEnvelope(:z, :x, :y) AS box,
         ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS area
)
SELECT ST_AsMVT(outline, 'outlines', :extent, 'geom') FROM (
  SELECT r.kode, r.level,
         ST_AsMVTGeom(ST_Transform(ST_ClipByBox2D(ST_Simplify(r.geom, :tolerance), tile.area),
                                   3857),
                      tile.box, :extent, :buffer, true) AS geom
  FROM region r CROSS JOIN tile
  WHERE r.level = ANY(:levels) AND r.geom && tile.area
  -- Kabupaten/kota ("kab…") before kecamatan ("kec…"): a land fill must not cover finer lines.
  ORDER BY r.level
) outline
WHERE geom IS NOT NULL
""")

# One label per region, at a point inside it, in the tile that holds that point.
_TILE_LABELS_SQL = text("""
WITH tile AS (
  SELECT ST_TileEnvelope(:z, :x, :y) AS box, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AS area
)
SELECT ST_AsMVT(label, 'labels', :extent, 'geom') FROM (
  SELECT r.kode, r.nama, r.level,
         ST_AsMVTGeom(ST_Transform(spot.point, 3857), tile.box, :extent, 0, true) AS geom
  FROM region r CROSS JOIN tile
  CROSS JOIN LATERAL (SELECT ST_PointOnSurface(r.geom) AS point) spot
  WHERE r.level = :level AND r.geom && tile.area AND sqrt(ST_Area(r.geom)) >= :min_size
    AND ST_Intersects(spot.point, tile.area)
) label
WHERE geom IS NOT NULL
""")

# At street zoom: each kecamatan named in every tile it covers a fair share of.
_EVERY_TILE_LABELS_SQL = text("""
WITH tile AS (
  SELECT ST_TileEnvelope(:z, :x, :y) AS box, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AS area
)
SELECT ST_AsMVT(label, 'labels', :extent, 'geom') FROM (
  SELECT r.kode, r.nama, r.level, parent.nama AS parent,
         ST_AsMVTGeom(ST_Transform(ST_PointOnSurface(piece.geom), 3857), tile.box, :extent, 0,
                      true) AS geom
  FROM region r CROSS JOIN tile
  CROSS JOIN LATERAL (SELECT ST_Intersection(r.geom, tile.area) AS geom) piece
  LEFT JOIN region parent ON parent.kode = r.parent_kode
  WHERE r.level = 'kecamatan' AND r.geom && tile.area
    AND ST_Area(piece.geom) >= :min_share * ST_Area(tile.area)
) label
WHERE geom IS NOT NULL
""")


def tile_outline_levels(zoom):
    """The levels whose outlines a tile at `zoom` draws: provinces when zoomed out, then
    kabupaten/kota, and from kecamatan zoom both (a kabupaten's edge is drawn heavier)."""
    level = outline_level(zoom)
    if level is RegionLevel.kecamatan:
        return [RegionLevel.kabupaten_kota.value, RegionLevel.kecamatan.value]
    return [level.value]


def region_tile(z, x, y):
    """The Mapbox Vector Tile z/x/y (Web Mercator, as Leaflet numbers them) of region outlines
    (layer "outlines") and names (layer "labels": points with `nama`, `level`, and at street
    zoom the `parent` kabupaten/kota of a kecamatan), as bytes; empty where there is no region."""
    tile = {"z": z, "x": x, "y": y, "extent": TILE_EXTENT}
    outlines = db.session.execute(_TILE_OUTLINES_SQL, {
        **tile, "levels": tile_outline_levels(z), "buffer": TILE_BUFFER,
        "margin": TILE_BUFFER / TILE_EXTENT, "tolerance": pixel_degrees(z) / 2,
    }).scalar()
    return bytes(outlines or b"") + bytes(_tile_labels(tile) or b"")


def _tile_labels(tile):
    zoom = tile["z"]
    if zoom >= EVERY_TILE_LABEL_ZOOM:
        return db.session.execute(_EVERY_TILE_LABELS_SQL, {
            **tile, "min_share": EVERY_TILE_LABEL_MIN_SHARE}).scalar()
    return db.session.execute(_TILE_LABELS_SQL, {
        **tile, "level": outline_level(zoom).value,
        "min_size": LABEL_MIN_PIXELS * pixel_degrees(zoom)}).scalar()


_REGIONS_VERSION_SQL = text("""
SELECT left(md5(coalesce(string_agg(name || ':' || sha256, ',' ORDER BY name), '')), 12)
FROM region_source
""")


def regions_version():
    """A short name for the imported boundary files (by content): it changes whenever an import
    changes them, so tile addresses that carry it can be cached for good."""
    return db.session.execute(_REGIONS_VERSION_SQL).scalar_one()
