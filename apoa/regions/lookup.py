"""Which kecamatan, kabupaten/kota, provinsi and office a point falls in.

Lookups test the subdivided pieces in `region_part` (at most 64 vertices, one SP-GiST index per
level (a quad-tree: cheaper probes than GiST for points here), each piece carrying its code and
kabupaten), never the raw outlines. The kabupaten is the kecamatan's parent and the province the
kabupaten's parent, taken from the codes, because the coarser outlines of higher levels miss
coastal points. Where the source outlines overlap (they do along many borders, by a few metres)
the lowest code wins, so the answer is always the same.

The one-point lookup is on the path of every report submission, so it runs as a server-side
prepared statement: planning the query costs more than executing it.
"""
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Float

from apoa.core.prepared import prepare_once
from apoa.extensions import db

# The point is the one row of a relation `pt` (its column `g`). The kecamatan piece if any, else
# (data gaps) the kabupaten piece; Append runs its branches in order and LIMIT stops after the
# first row. No row at all outside every region. Other statements (the report submission's,
# apoa/reports/services.py) embed this very text after their own `pt`, so that they find exactly
# what `locate` finds.
POINT_LOOKUP_SQL = """
SELECT hit.kec_id, hit.kab_id,
       (SELECT o.office_id FROM office_region o WHERE o.region_id = hit.kab_id) AS office_id
FROM (
  (SELECT p.region_id AS kec_id, p.kab_id FROM region_part p, pt
   WHERE p.level = 'kecamatan' AND ST_Intersects(p.geom, pt.g) ORDER BY p.kode LIMIT 1)
  UNION ALL
  (SELECT NULL, p.kab_id FROM region_part p, pt
   WHERE p.level = 'kabupaten_kota' AND ST_Intersects(p.geom, pt.g) ORDER BY p.kode LIMIT 1)
  LIMIT 1
) hit
"""
# $1 = longitude, $2 = latitude.
_POINT_SQL = "WITH pt AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS g)" + POINT_LOOKUP_SQL
_STATEMENT = "apoa_locate_point"
_PREPARE_SQL = f"PREPARE {_STATEMENT}(float8, float8) AS " + _POINT_SQL
_EXECUTE_SQL = f"EXECUTE {_STATEMENT}(%s, %s)"

_MANY_SQL = """
SELECT kec.region_id, coalesce(kec.kab_id, kab.kab_id),
       (SELECT o.office_id FROM office_region o
        WHERE o.region_id = coalesce(kec.kab_id, kab.kab_id))
FROM unnest(:lons, :lats) WITH ORDINALITY AS t(lon, lat, i)
LEFT JOIN LATERAL (
  SELECT p.region_id, p.kab_id FROM region_part p
  WHERE p.level = 'kecamatan'
    AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326))
  ORDER BY p.kode LIMIT 1) kec ON true
LEFT JOIN LATERAL (
  SELECT p.kab_id FROM region_part p
  WHERE kec.region_id IS NULL AND p.level = 'kabupaten_kota'
    AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326))
  ORDER BY p.kode LIMIT 1) kab ON true
ORDER BY t.i
"""

_NAMES_SQL = """
SELECT r.level, r.id, r.kode, r.nama FROM region r WHERE r.id = ANY(:ids)
UNION ALL
SELECT pr.level, pr.id, pr.kode, pr.nama FROM region kab JOIN region pr ON pr.kode = kab.parent_kode
WHERE kab.id = :kab_id
"""


@dataclass(frozen=True)
class LocatedIds:
    kec_id: int | None
    kab_id: int | None
    office_id: int | None

    @property
    def found(self):
        return self.kab_id is not None


@dataclass(frozen=True)
class Place:
    id: int
    kode: str
    nama: str


@dataclass(frozen=True)
class Location:
    kecamatan: Place | None
    kabupaten: Place
    provinsi: Place | None
    office_id: int | None

    def levels(self):
        """(level, place) pairs from the smallest region up, skipping a missing level."""
        pairs = (("kecamatan", self.kecamatan), ("kabupaten_kota", self.kabupaten),
                 ("provinsi", self.provinsi))
        return [(level, place) for level, place in pairs if place is not None]


def locate_ids(lon, lat):
    """Region and office ids of one point (all None outside every region). The fast path."""
    pooled = prepare_once(db.session.connection().connection, _STATEMENT, _PREPARE_SQL)
    with pooled.driver_connection.cursor() as cursor:
        cursor.execute(_EXECUTE_SQL, (float(lon), float(lat)))
        row = cursor.fetchone()
    return LocatedIds(*row) if row else LocatedIds(None, None, None)


def locate(lon, lat):
    """The regions (with codes and names) and office of one point, or None outside every region."""
    ids = locate_ids(lon, lat)
    if not ids.found:
        return None
    rows = db.session.execute(text(_NAMES_SQL), {"ids": [i for i in (ids.kec_id, ids.kab_id) if i],
                                                 "kab_id": ids.kab_id}).all()
    places = {level: Place(id_, kode, nama) for level, id_, kode, nama in rows}
    return Location(kecamatan=places.get("kecamatan"), kabupaten=places["kabupaten_kota"],
                    provinsi=places.get("provinsi"), office_id=ids.office_id)


def locate_many(points):
    """Region and office ids for many (lon, lat) points in one query, in the order given."""
    if not points:
        return []
    statement = text(_MANY_SQL).bindparams(bindparam("lons", type_=ARRAY(Float)),
                                           bindparam("lats", type_=ARRAY(Float)))
    lons, lats = zip(*points)
    # The planner's cost estimate for thousands of lateral lookups switches JIT compilation on,
    # which costs more than the whole query saves.
    db.session.execute(text("SET LOCAL jit = off"))
    rows = db.session.execute(statement, {"lons": list(lons), "lats": list(lats)}).all()
    return [LocatedIds(*row) for row in rows]
