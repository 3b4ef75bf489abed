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
