"""Import administrative boundaries from GeoJSON into `region` and its subdivided `region_part`.

The import is all or nothing: files are read and checked first, then loaded in the caller's
transaction; the caller commits. Re-importing updates regions by `kode` instead of adding them.
"""
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import text

from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.regions.models import RegionLevel

log = logging.getLogger("apoa.regions")

# Vertices per subdivided piece: small pieces make point-in-polygon tests cheap.
SUBDIVIDE_MAX_VERTICES = 64
# Only these levels are used for point lookups; the province comes from the kabupaten's code.
LOOKUP_LEVELS = (RegionLevel.kecamatan.value, RegionLevel.kabupaten_kota.value)
BATCH_SIZE = 500


@dataclass
class RegionFeature:
    source: str
    kode: str
    nama: str
    level: str
    label_lat: float | None
    label_lon: float | None
    geometry: str

    @property
    def parent_kode(self):
        return self.kode.rsplit(".", 1)[0] if "." in self.kode else None


@dataclass
class SourceFile:
    path: Path
    sha256: str
    features: list = field(default_factory=list)


@dataclass
class ImportResult:
    files: int = 0
    skipped_files: int = 0
    created: int = 0
    updated: int = 0
    repaired: list = field(default_factory=list)
    parts: int = 0


def import_regions(paths, skip_unchanged=False, progress=None):
    """Load GeoJSON files of regions; returns an ImportResult. Raises UserValueError, writing
    nothing, when a file is not GeoJSON, a feature lacks what a region needs, or a geometry cannot
    be repaired.

    `progress(step, total)` is called as features are loaded, for a progress bar.
    """
    sources = [read_source(Path(p)) for p in paths]
    _refuse_repeated_codes(sources)
    result = ImportResult(files=len(sources))
    if skip_unchanged:
        sources = _changed_sources(sources, result)
    features = [f for s in sources for f in s.features]
    if not features:
        return result
    _load_staging(features, progress)
    _refuse_orphan_kecamatan()
    result.repaired = _repair_geometries()
    result.created, result.updated = _upsert_regions()
    result.parts = _rebuild_parts()
    _record_sources(sources)
    # Fresh statistics, so the planner trusts the new lookup indexes straight away.
    db.session.execute(text("ANALYZE region_part"))
    log.info("imported %d regions from %d files (%d new, %d updated, %d repaired)",
             len(features), len(sources), result.created, result.updated, len(result.repaired))
    return result


# --- reading and checking the files ------------------------------------------------------------

def read_source(path):
    raw = _read_bytes(path)
    data = _parse_json(path, raw)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" \
            or not isinstance(data.get("features"), list):
        raise UserValueError(_("%(file)s is not a GeoJSON FeatureCollection.", file=path.name))
    source = SourceFile(path=path, sha256=hashlib.sha256(raw).hexdigest())
    source.features = [_read_feature(path.name, i, f) for i, f in enumerate(data["features"], 1)]
    return source


def _read_bytes(path):
    try:
        return path.read_bytes()
    except OSError as error:
        raise UserValueError(_("Cannot read %(file)s: %(reason)s", file=str(path),
                               reason=error.strerror)) from None


def _parse_json(path, raw):
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserValueError(_("%(file)s is not GeoJSON (it is not valid JSON).",
                               file=path.name)) from None


def _read_feature(source, number, feature):
    props = feature.get("properties") if isinstance(feature, dict) else None
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    where = _("feature %(n)d of %(file)s", n=number, file=source)
    if not isinstance(props, dict) or not props.get("kode") or not props.get("nama"):
        raise UserValueError(_("%(where)s has no kode or nama property.", where=where))
    kode, level = str(props["kode"]).strip(), str(props.get("level") or "").strip()
    where = _("%(kode)s %(nama)s (%(where)s)", kode=kode, nama=props["nama"], where=where)
    if level != _level_of_code(kode):
        raise UserValueError(_("%(where)s: level %(level)s does not match its code.", where=where,
                               level=level or "-"))
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise UserValueError(_("%(where)s: the geometry must be a Polygon or MultiPolygon.",
                               where=where))
    return RegionFeature(source=source, kode=kode, nama=str(props["nama"]).strip(), level=level,
                         label_lat=_number(props.get("lat")), label_lon=_number(props.get("lng")),
                         geometry=json.dumps(geometry))


def _level_of_code(kode):
    parts = kode.split(".")
    if not all(p.isdigit() for p in parts):
        return None
    return {1: RegionLevel.provinsi.value, 2: RegionLevel.kabupaten_kota.value,
            3: RegionLevel.kecamatan.value}.get(len(parts))


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _refuse_repeated_codes(sources):
    seen = {}
    for feature in (f for s in sources for f in s.features):
        if feature.kode in seen:
            raise UserValueError(_("The code %(kode)s appears twice (%(first)s and %(second)s).",
                                   kode=feature.kode, first=seen[feature.kode],
                                   second=feature.source))
        seen[feature.kode] = feature.source


def _changed_sources(sources, result):
    known = dict(db.session.execute(text("SELECT name, sha256 FROM region_source")).all())
    changed = [s for s in sources if known.get(s.path.name) != s.sha256]
    result.skipped_files = len(sources) - len(changed)
    return changed


# --- loading ------------------------------------------------------------------------------------

def _load_staging(features, progress):
    db.session.execute(text("DROP TABLE IF EXISTS region_staging"))
    db.session.execute(text(
        "CREATE TEMP TABLE region_staging (kode text PRIMARY KEY, nama text, level text,"
        " parent_kode text, label_lat float8, label_lon float8, source text, geom geometry)"
        " ON COMMIT DROP"))
    insert = text(
        "INSERT INTO region_staging VALUES (:kode, :nama, :level, :parent_kode, :label_lat,"
        " :label_lon, :source, ST_SetSRID(ST_GeomFromGeoJSON(:geometry), 4326))")
    for start in range(0, len(features), BATCH_SIZE):
        batch = features[start:start + BATCH_SIZE]
        db.session.execute(insert, [_staging_row(f) for f in batch])
        if progress:
            progress(len(batch), len(features))


def _staging_row(feature):
    return {"kode": feature.kode, "nama": feature.nama, "level": feature.level,
            "parent_kode": feature.parent_kode, "label_lat": feature.label_lat,
            "label_lon": feature.label_lon, "source": feature.source, "geometry": feature.geometry}


def _refuse_orphan_kecamatan():
    """A kecamatan's lookup pieces name its kabupaten, so that kabupaten must be known."""
    orphan = db.session.execute(text(
        "SELECT s.kode, s.nama, s.source FROM region_staging s WHERE s.level = 'kecamatan'"
        " AND NOT EXISTS (SELECT 1 FROM region_staging k WHERE k.kode = s.parent_kode)"
        " AND NOT EXISTS (SELECT 1 FROM region r WHERE r.kode = s.parent_kode)"
        " ORDER BY s.kode LIMIT 1")).first()
    if orphan:
        raise UserValueError(_("%(kode)s %(nama)s in %(file)s belongs to a regency or city "
                               "that is not imported; import the kabupaten/kota "
                               "file first or together.",
                               kode=orphan.kode, nama=orphan.nama, file=orphan.source))


def _repair_geometries():
    """Repair invalid outlines with ST_MakeValid; refuse a feature whose repair leaves no area."""
    invalid = db.session.execute(text(
        "SELECT kode, nama, source FROM region_staging WHERE NOT ST_IsValid(geom)"
        " ORDER BY kode")).all()
    db.session.execute(text(
        "UPDATE region_staging SET geom = ST_CollectionExtract(ST_MakeValid(geom), 3)"
        " WHERE NOT ST_IsValid(geom)"))
    broken = db.session.execute(text(
        "SELECT kode, nama, source FROM region_staging"
        " WHERE ST_IsEmpty(geom) OR ST_Area(geom) = 0 ORDER BY kode LIMIT 1")).first()
    if broken:
        raise UserValueError(_("%(kode)s %(nama)s in %(file)s has a geometry "
                               "that cannot be repaired.",
                               kode=broken.kode, nama=broken.nama, file=broken.source))
    for row in invalid:
        log.warning("repaired the invalid geometry of %s %s (%s)", row.kode, row.nama, row.source)
    return [row.kode for row in invalid]


def _upsert_regions():
    rows = db.session.execute(text(
        "INSERT INTO region (kode, nama, level, parent_kode, label_lat, label_lon, geom)"
        " SELECT kode, nama, level, parent_kode, label_lat, label_lon, ST_Multi(geom)"
        " FROM region_staging"
        " ON CONFLICT (kode) DO UPDATE SET nama = excluded.nama, level = excluded.level,"
        "   parent_kode = excluded.parent_kode, label_lat = excluded.label_lat,"
        "   label_lon = excluded.label_lon, geom = excluded.geom"
        " RETURNING (xmax = 0) AS created")).scalars().all()
    created = sum(1 for c in rows if c)
    return created, len(rows) - created


def _rebuild_parts():
    db.session.execute(text(
        "DELETE FROM region_part WHERE region_id IN"
        " (SELECT r.id FROM region r JOIN region_staging s USING (kode))"))
    return db.session.execute(text(
        "INSERT INTO region_part (region_id, level, kode, kab_id, geom)"
        " SELECT r.id, r.level, r.kode, coalesce(kab.id, r.id), ST_Subdivide(r.geom, :max_vertices)"
        " FROM region r JOIN region_staging s USING (kode)"
        " LEFT JOIN region kab ON r.level = 'kecamatan' AND kab.kode = r.parent_kode"
        " WHERE r.level = ANY(:levels)"),
        {"max_vertices": SUBDIVIDE_MAX_VERTICES, "levels": list(LOOKUP_LEVELS)}).rowcount


def _record_sources(sources):
    db.session.execute(text(
        "INSERT INTO region_source (name, sha256, features) VALUES (:name, :sha256, :features)"
        " ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, features = excluded.features,"
        "   imported_at = now()"),
        [{"name": s.path.name, "sha256": s.sha256, "features": len(s.features)} for s in sources])
