"""Importing regional indicators from CSV: values per kabupaten/kota with unit, source and year (from
the command line or the file's comment lines), errors that name the line (unknown codes, bad numbers,
duplicate codes) with nothing written, re-importing a year replaces that year's values of those
indicators only, every import audited, and README's example file."""
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from apoa.audit.models import AuditEntry
from apoa.errors import UserValueError
from apoa.indicators.importer import import_indicators, parse_units
from apoa.indicators.models import IndicatorSeries, IndicatorValue
from apoa.regions.models import Region

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "indicators-example.csv"
UNITS = {"population": "jiwa", "lodgings": "usaha akomodasi", "area": "km2"}
SOURCE = "BPS, Kabupaten/Kota dalam Angka 2025"
CSV = """kode,nama,population,lodgings
32.15,Kabupaten Karawang,2500000,120
3216,Kabupaten Bekasi,3200000,
18.08,Kabupaten Way Kanan,480000.5,25
"""


def values(db_session, name, year):
    """{kode: value} of an indicator's series for a year."""
    rows = db_session.execute(
        select(Region.kode, IndicatorValue.value).join(IndicatorValue, IndicatorValue.region_id == Region.id)
        .join(IndicatorSeries, IndicatorSeries.id == IndicatorValue.series_id)
        .where(IndicatorSeries.name == name, IndicatorSeries.year == year)).all()
    return dict(rows)


def series_count(db_session):
    return db_session.scalar(select(func.count()).select_from(IndicatorSeries))


def error_of(text, **options):
    options = {"year": 2024, "source": SOURCE, "units": UNITS, **options}
    with pytest.raises(UserValueError) as raised:
        import_indicators(text, **options)
    return raised.value.message


def test_a_file_is_imported_with_its_unit_source_and_year(db_session, english):
    result = import_indicators(CSV, year=2024, source=SOURCE, units=UNITS)
    assert (result.year, result.indicators, result.regions, result.values, result.replaced) == (
        2024, ["population", "lodgings"], 3, 5, 0)
    assert values(db_session, "population", 2024) == {
        "32.15": Decimal("2500000"), "32.16": Decimal("3200000"), "18.08": Decimal("480000.5")}
    assert values(db_session, "lodgings", 2024) == {"32.15": 120, "18.08": 25}  # Bekasi: no figure
    series = db_session.scalars(select(IndicatorSeries).order_by(IndicatorSeries.name)).all()
    assert [(s.name, s.year, s.unit, s.source) for s in series] == [
        ("lodgings", 2024, "usaha akomodasi", SOURCE), ("population", 2024, "jiwa", SOURCE)]


def test_the_file_can_say_year_source_and_units_and_the_command_line_wins(db_session, english):
    text = "# year: 2023\n# source: BPS 2024\n# unit population: orang\n# unit lodgings: unit\n# any note\n" + CSV
    import_indicators(text)
    assert {(s.name, s.year, s.unit, s.source) for s in db_session.scalars(select(IndicatorSeries))} == {
        ("population", 2023, "orang", "BPS 2024"), ("lodgings", 2023, "unit", "BPS 2024")}
    import_indicators(text, year=2024, units={"population": "jiwa"})
    assert db_session.scalar(select(IndicatorSeries.unit).where(
        IndicatorSeries.name == "population", IndicatorSeries.year == 2024)) == "jiwa"


def test_semicolons_and_a_byte_order_mark_are_read(db_session, english):
    import_indicators("\ufeffKODE;population\n32.15;2500000\n", year=2024, source=SOURCE, units=UNITS)
    assert values(db_session, "population", 2024) == {"32.15": 2500000}


@pytest.mark.parametrize("text, expected", [
    ("kode,population\n32.15,2500000\n99.99,1\n", "Line 3: 99.99 is not the Kemendagri code of a kabupaten/kota."),
    ("kode,population\n32,1\n", "Line 2: 32 is not the Kemendagri code of a kabupaten/kota."),
    ("kode,population\n32.15,2.500.000\n",
     "Line 2: “2.500.000” in column population is not a number (write digits, a point for decimals, "
     "no thousands separators)."),
    ("kode,population\n32.15,1e6\n", "Line 2: “1e6” in column population is not a number"),
    ("kode,population\n32.15,1\n32.16,2\n3215,3\n", "Line 4: the code 32.15 was already given on line 2."),
    ("kode,population\n,1\n", "Line 2: the code is missing."),
    ("code,population\n32.15,1\n", "Line 1: the header has no “kode” column"),
    ("kode,Penduduk 2024\n32.15,1\n", "Line 1: “Penduduk 2024” is not an indicator name"),
    ("kode,population,population\n32.15,1,1\n", "Line 1: the column “population” is given twice."),
    ("kode,nama\n32.15,Karawang\n", "Line 1: the header names no indicator column."),
    ("# year: 20x4\nkode,population\n32.15,1\n", "Line 1: the year must be a year between 1900 and 2100"),
    ("", "The file has no header row."),
])
def test_errors_name_the_line_and_nothing_is_written(db_session, english, text, expected):
    assert expected in error_of(text)
    assert series_count(db_session) == 0


def test_every_error_of_the_file_is_told_at_once(db_session, english):
    message = error_of("kode,population\n32.15,x\n99.99,1\n32.15,2\n")
    assert message.splitlines() == [
        "Line 2: “x” in column population is not a number (write digits, a point for decimals, no "
        "thousands separators).",
        "Line 3: 99.99 is not the Kemendagri code of a kabupaten/kota.",
        "Line 4: the code 32.15 was already given on line 2.",
    ]


def test_unknown_codes_are_all_named(db_session, english):
    message = error_of("kode,population\n32.15,1\n99.98,1\n99.99,1\n")
    assert message.splitlines() == [
        "Line 3: 99.98 is not the Kemendagri code of a kabupaten/kota.",
        "Line 4: 99.99 is not the Kemendagri code of a kabupaten/kota."]


@pytest.mark.parametrize("options, expected", [
    ({"year": None}, "No year: give --year"),
    ({"source": None}, "No source: give --source"),
    ({"units": {"population": "jiwa"}}, "No unit for lodgings: give --unit lodgings=UNIT"),
])
def test_year_source_and_every_unit_are_required(db_session, english, options, expected):
    assert expected in error_of(CSV, **options)
    assert series_count(db_session) == 0


def test_a_unit_on_the_command_line_is_name_equals_unit(english):
    assert parse_units(["population=jiwa", " Area = km2 "]) == {"population": "jiwa", "area": "km2"}
    with pytest.raises(UserValueError, match="Write a unit as NAME=UNIT"):
        parse_units(["population"])


def test_reimporting_a_year_replaces_its_values_for_those_indicators_only(db_session, english):
    import_indicators(CSV, year=2024, source=SOURCE, units=UNITS)
    import_indicators(CSV, year=2023, source="BPS 2024", units=UNITS)
    result = import_indicators("kode,population,area\n32.16,3300000,1273.88\n", year=2024, source="BPS revisi",
                               units=UNITS)
    assert result.replaced == 3
    # 2024's population is the new file's alone: Karawang and Way Kanan have no 2024 figure any more.
    assert values(db_session, "population", 2024) == {"32.16": 3300000}
    assert values(db_session, "area", 2024) == {"32.16": Decimal("1273.88")}
    assert values(db_session, "lodgings", 2024) == {"32.15": 120, "18.08": 25}     # not in the new file
    assert values(db_session, "population", 2023)["32.15"] == 2500000               # another year
    assert db_session.scalar(select(IndicatorSeries.source).where(
        IndicatorSeries.name == "population", IndicatorSeries.year == 2024)) == "BPS revisi"


def test_a_failed_reimport_keeps_the_old_values(db_session, english):
    import_indicators(CSV, year=2024, source=SOURCE, units=UNITS)
    error_of("kode,population\n32.15,1\n99.99,2\n")
    assert values(db_session, "population", 2024)["32.15"] == 2500000


def test_every_import_is_audited_without_figures(db_session, english):
    import_indicators(CSV, year=2024, source=SOURCE, units=UNITS)
    import_indicators(CSV, year=2024, source=SOURCE, units=UNITS)
    entries = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "indicators.import")
                                 .order_by(AuditEntry.seq)).all()
    assert [(e.object, e.detail) for e in entries] == [
        ("indicators:2024", {"year": 2024, "indicators": ["population", "lodgings"], "regions": 3, "values": 5,
                             "replaced": replaced}) for replaced in (0, 5)]


# --- the command line ----------------------------------------------------------------------------

def test_the_command_imports_the_example_file_and_lists_it(runner, db_session):
    answer = runner.invoke(args=["indicators", "import", str(EXAMPLE)])
    assert answer.exit_code == 0, answer.output
    assert "2024: population, area, lodgings, industrial_estates, ports for 8 kabupaten/kota" in answer.output
    answer = runner.invoke(args=["indicators", "import", str(EXAMPLE), "--year", "2023", "--source", "BPS",
                                 "--unit", "population=orang"])
    assert answer.exit_code == 0, answer.output
    listed = runner.invoke(args=["indicators", "list"])
    assert listed.exit_code == 0, listed.output
    lines = [line.split("\t") for line in listed.output.splitlines()]
    population = [line for line in lines if line[0] == "population"]
    assert population == [["population", "2024", "jiwa", "8", "Contoh ilustratif APOA (bukan data resmi BPS)"],
                          ["population", "2023", "orang", "8", "BPS"]]
    assert len(lines) == 10
    assert values(db_session, "lodgings", 2024)["18.08"] == 25


def test_the_command_says_what_is_wrong_and_writes_nothing(runner, db_session, tmp_path, english):
    bad = tmp_path / "bad.csv"
    bad.write_text("kode,population\n32.15,2.500.000\n99.99,1\n")
    answer = runner.invoke(args=["indicators", "import", str(bad), "--year", "2024", "--source", "BPS",
                                 "--unit", "population=jiwa"])
    assert answer.exit_code == 1
    assert "nothing imported" in answer.output
    assert "Line 2: “2.500.000” in column population is not a number" in answer.output
    assert "Line 3: 99.99 is not the Kemendagri code" in answer.output
    assert series_count(db_session) == 0
    answer = runner.invoke(args=["indicators", "import", str(bad), "--unit", "population"])
    assert answer.exit_code == 1 and "Write a unit as NAME=UNIT" in answer.output
