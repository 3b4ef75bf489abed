"""Which kecamatan, kabupaten/kota, provinsi and office a point falls in.

Lookups test the subdivided pieces in `region_part` (small polygons behind a GiST index), never
the raw outlines. The kabupaten is the kecamatan's parent and the province the kabupaten's parent,
taken from the codes, because the coarser outlines of higher levels miss coastal points. Where the
source polygons overlap (Sorong/Tambrauw) or a point lies on a border, the lowest code wins so the
answer is always the same.
"""
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Float

from apoa.extensions import db

# The kecamatan whose piece contains the point, else (data gaps) the kabupaten directly.
_LOCATE_SQL = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
kec AS (
  SELECT r.id, r.kode, r.nama, r.parent_kode FROM region_part p JOIN region r ON r.id = p.region_id, pt
  WHERE p.level = 'kecamatan' AND ST_Intersects(p.geom, pt.g) ORDER BY r.kode LIMIT 1),
kab AS (
  SELECT r.id, r.kode, r.nama, r.parent_kode FROM region r WHERE r.kode = (SELECT parent_kode FROM kec)
  UNION ALL
  (SELECT r.id, r.kode, r.nama, r.parent_kode FROM region_part p JOIN region r ON r.id = p.region_id, pt
   WHERE NOT EXISTS (SELECT 1 FROM kec) AND p.level = 'kabupaten_kota' AND ST_Intersects(p.geom, pt.g)
   ORDER BY r.kode LIMIT 1)),
prov AS (SELECT r.id, r.kode, r.nama FROM region r WHERE r.kode = (SELECT parent_kode FROM kab LIMIT 1))
SELECT kec.id, kec.kode, kec.nama, kab.id, kab.kode, kab.nama, prov.id, prov.kode, prov.nama,
       (SELECT o.office_id FROM office_region o WHERE o.region_id = kab.id)
FROM kab LEFT JOIN kec ON true LEFT JOIN prov ON true
"""

_LOCATE_MANY_SQL = """
SELECT t.i, kec.id, coalesce(kec.parent_id, kab.id), (SELECT o.office_id FROM office_region o
       WHERE o.region_id = coalesce(kec.parent_id, kab.id))
FROM unnest(:lons, :lats) WITH ORDINALITY AS t(lon, lat, i)
LEFT JOIN LATERAL (
  SELECT r.id, (SELECT k.id FROM region k WHERE k.kode = r.parent_kode) AS parent_id
  FROM region_part p JOIN region r ON r.id = p.region_id
  WHERE p.level = 'kecamatan' AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326))
  ORDER BY r.kode LIMIT 1) kec ON true
LEFT JOIN LATERAL (
  SELECT p.region_id AS id FROM region_part p JOIN region r ON r.id = p.region_id
  WHERE kec.id IS NULL AND p.level = 'kabupaten_kota'
    AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326))
  ORDER BY r.kode LIMIT 1) kab ON true
ORDER BY t.i
"""


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
        pairs = (("kecamatan", self.kecamatan), ("kabupaten_kota", self.kabupaten), ("provinsi", self.provinsi))
        return [(level, place) for level, place in pairs if place is not None]


@dataclass(frozen=True)
class LocatedIds:
    kec_id: int | None
    kab_id: int | None
    office_id: int | None


def locate(lon, lat):
    """The regions and office of one point, or None when it lies outside every region."""
    row = db.session.execute(text(_LOCATE_SQL), {"lon": lon, "lat": lat}).first()
    if row is None:
        return None
    return Location(kecamatan=_place(row[0:3]), kabupaten=_place(row[3:6]),
                    provinsi=_place(row[6:9]), office_id=row[9])


def locate_many(points):
    """Region and office ids for many (lon, lat) points in one query, in the order given."""
    if not points:
        return []
    statement = text(_LOCATE_MANY_SQL).bindparams(
        bindparam("lons", type_=ARRAY(Float)), bindparam("lats", type_=ARRAY(Float)))
    lons, lats = zip(*points)
    rows = db.session.execute(statement, {"lons": list(lons), "lats": list(lats)}).all()
    return [LocatedIds(kec_id=r[1], kab_id=r[2], office_id=r[3]) for r in rows]


def _place(values):
    return Place(*values) if values[0] is not None else None
