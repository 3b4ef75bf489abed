"""A light outline of Indonesia's provinces, drawn from the imported regions, as the base map when
no tile server is configured (the app must work with no internet)."""
from sqlalchemy import text

from apoa.extensions import db

# Islands smaller than about 60 km² and detail finer than ~2 km are dropped: this is an outline to
# place a pin on, not a survey map (about 100 KB, cached by the browser for a day).
MIN_ISLAND_AREA_DEG2 = 0.005
TOLERANCE_DEG = 0.02

_BASEMAP_SQL = text("""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
         'type', 'Feature', 'properties', json_build_object('kode', kode, 'nama', nama),
         'geometry', ST_AsGeoJSON(outline, 2)::json)), '[]'::json))::text
FROM (
  SELECT kode, nama, ST_Simplify(ST_Collect(ARRAY(
           SELECT part.geom FROM ST_Dump(geom) part WHERE ST_Area(part.geom) > :min_area)), :tolerance) AS outline
  FROM region WHERE level = 'provinsi'
) provinces
WHERE outline IS NOT NULL AND NOT ST_IsEmpty(outline)
""")


def province_outlines_geojson():
    return db.session.execute(_BASEMAP_SQL, {"min_area": MIN_ISLAND_AREA_DEG2, "tolerance": TOLERANCE_DEG}).scalar_one()
