"""Region import and point lookup against the real Kemendagri boundaries."""
import json


import pytest
from sqlalchemy import func, select, text

from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.regions import importer
from apoa.regions.lookup import locate, locate_many
from apoa.regions.models import Region, RegionPart
from tests.conftest import REGIONS_DIR

pytestmark = pytest.mark.usefixtures("english")


def count(model, **filters):
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters))


def test_all_boundaries_are_imported():
    assert count(Region, level="provinsi") == 38
    assert count(Region, level="kabupaten_kota") == 514
    assert count(Region, level="kecamatan") == 7285
    assert count(Region) == 7837


def test_lookup_pieces_are_small_and_cover_every_kecamatan():
    assert db.session.scalar(text("SELECT max(ST_NPoints(geom)) FROM region_part")) <= importer.SUBDIVIDE_MAX_VERTICES
    uncovered = db.session.scalar(text(
        "SELECT count(*) FROM region r WHERE r.level = 'kecamatan'"
        " AND NOT EXISTS (SELECT 1 FROM region_part p WHERE p.region_id = r.id)"))
    assert uncovered == 0


def test_reimport_updates_by_code_instead_of_duplicating(runner):
    parts_before = count(RegionPart)
    result = runner.invoke(args=["regions", "import", str(REGIONS_DIR / "idn_kabupaten_kota.geojson")])
    assert result.exit_code == 0, result.output
    assert "0 regions created, 514 updated" in result.output
    assert count(Region) == 7837
    assert count(RegionPart) == parts_before


def test_reimport_of_unchanged_files_can_be_skipped(runner):
    result = runner.invoke(args=["regions", "import", "--skip-unchanged"])
    assert result.exit_code == 0, result.output
    assert "3 of 3 files unchanged" in result.output


def feature(kode, nama, level, coordinates, geometry_type="Polygon"):
    return {"type": "Feature", "properties": {"kode": kode, "nama": nama, "level": level},
            "geometry": {"type": geometry_type, "coordinates": coordinates}}


def write_collection(path, *features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


SQUARE = [[[140.0, -9.0], [140.1, -9.0], [140.1, -8.9], [140.0, -8.9], [140.0, -9.0]]]
# A bow-tie: the ring crosses itself, which ST_MakeValid turns into two triangles.
BOW_TIE = [[[141.0, -9.0], [141.1, -8.9], [141.1, -9.0], [141.0, -8.9], [141.0, -9.0]]]


def test_an_invalid_geometry_is_repaired(runner, tmp_path):
    path = write_collection(tmp_path / "bowtie.geojson", feature("99.98", "Kabupaten Uji", "kabupaten_kota", BOW_TIE))
    result = runner.invoke(args=["regions", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 repaired" in result.output
    valid = db.session.scalar(text("SELECT ST_IsValid(geom) FROM region WHERE kode = '99.98'"))
    assert valid is True


@pytest.mark.parametrize("content, message", [
    ("this is not json", "is not GeoJSON"),
    ('{"type": "Point", "coordinates": [1, 2]}', "is not a GeoJSON FeatureCollection"),
    (json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": None}]}),
     "has no kode or nama"),
    (json.dumps({"type": "FeatureCollection", "features": [feature("99.98", "Uji", "provinsi", SQUARE)]}),
     "does not match its code"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kode": "99.98", "nama": "Uji", "level": "kabupaten_kota"},
         "geometry": {"type": "Point", "coordinates": [140, -9]}}]}), "must be a Polygon"),
])
def test_a_bad_file_is_refused_with_a_clear_message_and_nothing_written(runner, tmp_path, content, message):
    good = write_collection(tmp_path / "good.geojson", feature("99.97", "Kabupaten Baik", "kabupaten_kota", SQUARE))
    bad = tmp_path / "bad.geojson"
    bad.write_text(content)
    before = count(Region)
    result = runner.invoke(args=["regions", "import", str(good), str(bad)])
    assert result.exit_code != 0
    assert message in result.output
    assert count(Region) == before
    assert db.session.scalar(select(Region).where(Region.kode == "99.97")) is None


def test_a_geometry_that_cannot_be_repaired_names_its_feature(tmp_path):
    flat = [[[142.0, -9.0], [142.1, -9.0], [142.2, -9.0], [142.0, -9.0]]]
    path = write_collection(tmp_path / "flat.geojson", feature("99.96", "Kabupaten Datar", "kabupaten_kota", flat))
    with pytest.raises(UserValueError, match="99.96 Kabupaten Datar"):
        importer.import_regions([path])


def test_the_same_code_twice_is_refused(tmp_path):
    a = write_collection(tmp_path / "a.geojson", feature("99.95", "A", "kabupaten_kota", SQUARE))
    b = write_collection(tmp_path / "b.geojson", feature("99.95", "B", "kabupaten_kota", SQUARE))
    with pytest.raises(UserValueError, match="appears twice"):
        importer.import_regions([a, b])


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(UserValueError, match="Cannot read"):
        importer.import_regions([tmp_path / "nowhere.geojson"])


def codes(location):
    return [place.kode for _level, place in location.levels()]


def test_lookup_in_central_jakarta():
    location = locate(106.8271, -6.1754)
    assert codes(location) == ["31.71.01", "31.71", "31"]
    assert location.kecamatan.nama == "Gambir"


def test_istana_bogor_is_in_kota_bogor_not_kabupaten_bogor():
    location = locate(106.7973, -6.5976)
    assert location.kabupaten.kode == "32.71"
    assert location.kabupaten.nama == "Kota Bogor"
    assert location.provinsi.kode == "32"


@pytest.mark.parametrize("lon, lat", [(106.0, -7.5), (110.0, -5.0), (127.0, -6.0), (95.0, 10.0)])
def test_a_point_at_sea_has_no_region(lon, lat):
    assert locate(lon, lat) is None


def test_province_comes_from_the_kabupaten_code_for_a_coastal_point():
    """The province outlines are coarser: a coastal kecamatan point may miss them, never its code."""
    row = db.session.execute(text(
        "SELECT ST_X(p), ST_Y(p), r.kode FROM region r, ST_PointOnSurface(r.geom) p"
        " WHERE r.level = 'kecamatan' AND NOT EXISTS (SELECT 1 FROM region pr WHERE pr.level = 'provinsi'"
        "   AND ST_Contains(pr.geom, p)) ORDER BY r.kode LIMIT 1")).first()
    assert row is not None, "the data has coastal points outside the province outlines"
    location = locate(row[0], row[1])
    assert location.provinsi is not None
    assert location.provinsi.kode == location.kabupaten.kode.split(".")[0]


def point(sql, **params):
    return tuple(db.session.execute(text(f"SELECT ST_X(p), ST_Y(p) FROM {sql} p"), params).one())


def test_points_either_side_of_a_kecamatan_border():
    """Gambir and Menteng share a border (the source outlines overlap along it by a few metres):
    a point about 10 m inside either side resolves to that side, and a point on the border itself
    resolves to the lower code, every time."""
    gambir, menteng = "31.71.01", "31.71.06"
    outlines = "(SELECT geom FROM region WHERE kode = :a) a, (SELECT geom FROM region WHERE kode = :b) b,"
    on_border = point(f"{outlines} ST_PointOnSurface(ST_Intersection(a.geom, b.geom))", a=gambir, b=menteng)
    near = f"ST_SetSRID(ST_MakePoint({on_border[0]}, {on_border[1]}), 4326)"
    gambir_side = point(f"{outlines} ST_ClosestPoint(ST_Difference(a.geom, ST_Buffer(b.geom, 0.0001)), {near})",
                        a=gambir, b=menteng)
    menteng_side = point(f"{outlines} ST_ClosestPoint(ST_Difference(b.geom, ST_Buffer(a.geom, 0.0001)), {near})",
                         a=gambir, b=menteng)
    assert locate(*gambir_side).kecamatan.kode == gambir
    assert locate(*menteng_side).kecamatan.kode == menteng
    assert {locate(*on_border).kecamatan.kode for _ in range(3)} == {gambir}


def test_bulk_lookup_agrees_with_single_lookups():
    points = [(106.8271, -6.1754), (106.7973, -6.5976), (106.0, -7.5), (107.3, -6.3)]
    bulk = locate_many(points)
    for point, ids in zip(points, bulk):
        single = locate(*point)
        if single is None:
            assert ids.kec_id is None and ids.kab_id is None
        else:
            assert (ids.kec_id, ids.kab_id) == (single.kecamatan.id, single.kabupaten.id)


@pytest.mark.parametrize("args, output, exit_code", [
    (["106.8271", "-6.1754"], "kecamatan\t31.71.01\tGambir\nkabupaten_kota\t31.71\t", 0),
    (["106.7973", "-6.5976"], "kabupaten_kota\t32.71\tKota Bogor\nprovinsi\t32\t", 0),
    (["106.0", "-7.5"], "outside every region of Indonesia", 1),
    (["500", "-7.5"], "is not a longitude/latitude pair", 1),
])
def test_lookup_command(runner, args, output, exit_code):
    result = runner.invoke(args=["regions", "lookup", *args])
    assert result.exit_code == exit_code
    assert output in result.output
