"""Import regional indicators from a CSV file keyed by Kemendagri code.

The file: a header row with a `kode` column (the kabupaten/kota's code, "32.15"; BPS's "3215" is
read as "32.15"), an optional `nama` column (read past, so a BPS table can keep its names), and
one column per indicator, named as the map will know it (`population`, `area`, `lodgings`, ...:
lower case letters, digits and "_"). Each further row is one kabupaten/kota; a cell holds a plain
number (digits, "." for decimals, no thousands separators) or nothing (no figure for that region).

The year, the source and each indicator's unit come from the command line, or from comment lines
before the header, which the command line overrides:

    # year: 2024
    # source: BPS, Kabupaten/Kota dalam Angka 2025
    # unit population: jiwa

All or nothing: the whole file is read and checked first; an unknown code, a code given twice, a
bad number or a missing unit stops the import with messages naming the lines, and nothing is
written. Importing an indicator for a year it already has replaces that year's series (every
value of it, so a region left out of the new file has no figure any more); other indicators and
years are untouched. The caller commits.
"""
import csv
import io
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from apoa.audit.services import record
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.indicators.models import (FIRST_YEAR, LAST_YEAR, NAME_PATTERN, IndicatorSeries,
                                    IndicatorValue)
from apoa.regions.models import Region, RegionLevel

log = logging.getLogger("apoa.indicators")

CODE_COLUMN, NAME_COLUMN = "kode", "nama"
NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
BPS_CODE = re.compile(r"^([0-9]{2})([0-9]{2})$")
COMMENT = re.compile(r"^#\s*(year|source|unit\s+([a-z0-9_]+))\s*:\s*(.*?)\s*$")
MAX_ERRORS = 10             # a message listing more would hide the first ones
MAX_UNIT, MAX_SOURCE = 40, 500


@dataclass
class Meta:
    """The year, source and units of a file: from its comment lines, then the command line."""

    year: int | None = None
    source: str | None = None
    units: dict = field(default_factory=dict)

    def overridden_by(self, year=None, source=None, units=None):
        return Meta(year if year is not None else self.year, source or self.source,
                    {**self.units, **(units or {})})


@dataclass
class ImportResult:
    year: int
    indicators: list            # names, in the file's order
    regions: int                # rows with at least one figure
    values: int
    replaced: int               # values of the same indicators and year that were replaced


class Problems:
    """The file's errors, each naming its line; raised together as one UserValueError."""

    def __init__(self):
        self.found = []             # (line or None, message)

    def add(self, line, message):
        self.found.append((line, message))

    def raise_any(self):
        """UserValueError with the errors by line (those of the whole file last), if any."""
        if not self.found:
            return
        ordered = sorted(self.found, key=lambda pair: (pair[0] is None, pair[0] or 0))
        shown = [_("Line %(line)d: ", line=line) + message if line else message
                 for line, message in ordered[:MAX_ERRORS]]
        if len(ordered) > MAX_ERRORS:
            shown.append(_("... and %(n)d more errors.", n=len(ordered) - MAX_ERRORS))
        raise UserValueError("\n".join(shown))


# --- reading -------------------------------------------------------------------------------------

def parse_units(pairs):
    """{"population": "jiwa"} from ["population=jiwa", ...] (the command line's --unit)."""
    units = {}
    for pair in pairs:
        name, sep, unit = pair.partition("=")
        if not sep or not name.strip() or not unit.strip():
            raise UserValueError(_("Write a unit as NAME=UNIT, e.g. population=jiwa (not "
                                   "“%(pair)s”).", pair=pair))
        units[name.strip().lower()] = unit.strip()
    return units


def split_comments(text):
    """(Meta from the leading comment lines, the lines of the table, the first table line's
    number)."""
    lines = text.splitlines()
    meta, problems, n = Meta(), Problems(), 0
    while n < len(lines) and (not lines[n].strip() or lines[n].lstrip().startswith("#")):
        _read_comment(lines[n].strip(), n + 1, meta, problems)
        n += 1
    problems.raise_any()
    return meta, lines[n:], n + 1


def _read_comment(line, number, meta, problems):
    match = COMMENT.match(line)
    if not line or not match:
        return      # a blank line or any other comment
    key, unit_of, value = match.groups()
    if key == "year":
        meta.year = _year(value, number, problems)
    elif key == "source":
        meta.source = value
    else:
        meta.units[unit_of] = value


def _year(value, number, problems):
    if value.isdigit() and FIRST_YEAR <= int(value) <= LAST_YEAR:
        return int(value)
    problems.add(number, _("the year must be a year between %(first)d and %(last)d, not "
                           "“%(value)s”.", first=FIRST_YEAR, last=LAST_YEAR, value=value))
    return None


@dataclass
class Table:
    names: list                 # the indicators' names, in the file's order
    rows: list                  # (line number, code, {name: Decimal})


def read_table(lines, first_line, problems):
    """The header and rows of the CSV table (comma or semicolon separated), checked: a bad
    header is raised at once, a bad row added to `problems`."""
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=_delimiter(lines)))
    if not rows:
        raise UserValueError(_("The file has no header row."))
    header_problems = Problems()
    columns, names = _header(rows[0], first_line, header_problems)
    header_problems.raise_any()
    table = Table(names, [])
    for offset, cells in enumerate(rows[1:], start=1):
        number = first_line + offset
        if any(cell.strip() for cell in cells):
            table.rows.append(_row(cells, columns, number, problems))
    _refuse_repeated_codes(table.rows, problems)
    return table


def _delimiter(lines):
    header = lines[0] if lines else ""
    return ";" if header.count(";") > header.count(",") else ","


def _header(cells, number, problems):
    """({column index: indicator name or CODE_COLUMN}, the indicators' names)."""
    headers = [cell.strip().lower().lstrip("\ufeff") for cell in cells]
    if CODE_COLUMN not in headers:
        problems.add(number, _("the header has no “%(column)s” column (the Kemendagri code).",
                               column=CODE_COLUMN))
    columns, names = {}, []
    for index, name in enumerate(headers):
        if name == NAME_COLUMN:
            continue
        if name != CODE_COLUMN and not re.match(NAME_PATTERN, name):
            problems.add(number, _("“%(name)s” is not an indicator name: use lower case letters, "
                                   "digits and “_”, starting with a letter.", name=cells[index]))
        elif name in columns.values():
            problems.add(number, _("the column “%(name)s” is given twice.", name=name))
        else:
            columns[index] = name
            names += [name] if name != CODE_COLUMN else []
    if not names and CODE_COLUMN in headers:
        problems.add(number, _("the header names no indicator column."))
    return columns, names


def _row(cells, columns, number, problems):
    values, code = {}, ""
    for index, name in columns.items():
        cell = cells[index].strip() if index < len(cells) else ""
        if name == CODE_COLUMN:
            code = normalise_code(cell)
        elif cell:
            value = _number(cell)
            if value is None:
                problems.add(number, _("“%(value)s” in column %(column)s is not a number (write "
                                       "digits, a point for decimals, no thousands separators).",
                                       value=cell, column=name))
            else:
                values[name] = value
    if not code:
        problems.add(number, _("the code is missing."))
    return number, code, values


def normalise_code(raw):
    """"32.15" as written, and BPS's "3215" as "32.15"."""
    raw = raw.strip()
    match = BPS_CODE.match(raw)
    return f"{match.group(1)}.{match.group(2)}" if match else raw


def _number(cell):
    if not NUMBER.match(cell):
        return None
    try:
        return Decimal(cell)
    except InvalidOperation:
        return None


def _refuse_repeated_codes(rows, problems):
    first_line = {}
    for number, code, _values in rows:
        if code and code in first_line:
            problems.add(number, _("the code %(code)s was already given on line %(first)d.",
                                   code=code, first=first_line[code]))
        first_line.setdefault(code, number)


# --- checking against what is known --------------------------------------------------------------

def _region_ids(table, problems):
    """{code: region id} of the table's codes; each code that is not a kabupaten/kota's is an
    error naming its line."""
    codes = sorted({code for _n, code, _v in table.rows if code})
    known = dict(db.session.execute(select(Region.kode, Region.id).where(
        Region.kode.in_(codes), Region.level == RegionLevel.kabupaten_kota.value)).all())
    for number, code, _values in table.rows:
        if code and code not in known:
            problems.add(number, _("%(code)s is not the Kemendagri code of a kabupaten/kota.",
                                   code=code))
    return known


def _check_meta(meta, names, problems):
    if meta.year is None:
        problems.add(None, _("No year: give --year, or a “# year: 2024” line before the header."))
    if not meta.source:
        problems.add(None, _("No source: give --source, or a “# source: ...” line before the "
                             "header."))
    elif len(meta.source) > MAX_SOURCE:
        problems.add(None, _("The source is longer than %(n)d characters.", n=MAX_SOURCE))
    for name in names:
        unit = meta.units.get(name)
        if not unit:
            problems.add(None, _("No unit for %(name)s: give --unit %(name)s=UNIT, or a “# unit "
                                 "%(name)s: UNIT” line before the header.", name=name))
        elif len(unit) > MAX_UNIT:
            problems.add(None, _("The unit of %(name)s is longer than %(n)d characters.",
                                 name=name, n=MAX_UNIT))


# --- writing -------------------------------------------------------------------------------------

def import_indicators(text, year=None, source=None, units=None, actor=None):
    """Read the CSV `text` and write its indicators for the year (replacing the same indicators'
    series of that year); returns an ImportResult. `year`, `source` and `units` ({name: unit})
    override the file's comment lines. UserValueError, writing nothing, for any problem. The
    audit entry holds names and counts only (no figures, no file name)."""
    file_meta, lines, first_line = split_comments(text)
    meta = file_meta.overridden_by(year, source, units)
    problems = Problems()
    table = read_table(lines, first_line, problems)
    _check_meta(meta, table.names, problems)
    region_ids = _region_ids(table, problems)
    problems.raise_any()
    replaced = _drop_series(table.names, meta.year)
    values = sum(_write_series(name, meta, table, region_ids) for name in table.names)
    result = ImportResult(meta.year, table.names, sum(1 for row in table.rows if row[2]),
                          values, replaced)
    record("indicators.import", f"indicators:{meta.year}",
           {"year": meta.year, "indicators": table.names, "regions": result.regions,
            "values": values, "replaced": replaced}, actor=actor)
    log.info("indicators %s for %s imported: %d values, %d replaced", ",".join(table.names),
             meta.year, values, replaced)
    return result


def _drop_series(names, year):
    """Delete the series of `names` for `year`; returns how many values they held."""
    series = select(IndicatorSeries.id).where(IndicatorSeries.name.in_(names),
                                              IndicatorSeries.year == year)
    replaced = db.session.execute(
        delete(IndicatorValue).where(IndicatorValue.series_id.in_(series.scalar_subquery()))
    ).rowcount
    db.session.execute(delete(IndicatorSeries).where(IndicatorSeries.id.in_(
        series.scalar_subquery())))
    return replaced


def _write_series(name, meta, table, region_ids):
    series = IndicatorSeries(name=name, year=meta.year, unit=meta.units[name], source=meta.source)
    db.session.add(series)
    db.session.flush()
    rows = [{"series_id": series.id, "region_id": region_ids[code], "value": values[name]}
            for _n, code, values in table.rows if name in values]
    if rows:
        db.session.execute(insert(IndicatorValue), rows)
    return len(rows)
