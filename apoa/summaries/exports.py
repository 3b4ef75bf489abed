"""Exports of the filtered reports as CSV, GeoJSON or XLSX, streamed so memory stays flat.

Who gets what is decided here, from apoa/auth/permissions.py only:
- rows (one line per report) go to users with `export_reports` (officers, supervisors), over the
  reports of their jurisdiction (`visible()`), narrowed by the queue's filters. A row never holds
  the reporter: not the encrypted `contact`, not `reporter_id`, nothing of the reporter's account,
  and no history (whose first event names the reporter). It does hold the report's exact
  point: officers already see it on the report page and on the map at street zoom, they need it
  for field checks, and a GeoJSON without geometry is useless; every export is audited.
- aggregates (counts per kabupaten/kota × state × category of the reports received in one month)
  go to users with `view_aggregates` (supervisors, regional heads) and may leave the office, so
  they agree with the month's shared summary (`figures.shared_figures`, the monthly report and a
  head's dashboard of that month): a kabupaten/kota the summary shows as "< 3" or "–" is one line
  with that and no breakdown; within the others each cell below K shows "< 3", and cells are
  withheld ("–") so that none can be worked out from its kabupaten's or its category's count on
  the summary (apoa/summaries/suppression.py); a kabupaten whose cells cannot be protected so is
  one line too. The month is a whole month that has ended (the received dates, or last month):
  exports of overlapping periods would subtract. Narrowing to a district or to overdue reports
  would count other cells than the summary's and is refused; the state, category and kabupaten
  filters pick lines of the month's table.

Memory stays flat at a million rows: CSV rows are written by PostgreSQL itself (COPY) and passed
on in chunks; GeoJSON and XLSX rows come from a server-side cursor a batch at a time (see
streaming.py). XLSX cannot be written as it goes (a zip whose directory comes last): XlsxWriter's
constant_memory mode writes it to a temporary file, which is then streamed. Rows come oldest
first (by id: the cheapest order to read at that size).

Cells a spreadsheet would run as a formula (text starting with = + - @, e.g. in a resident's
description) are prefixed with an apostrophe in CSV (OWASP "CSV injection"); XLSX writes every
text as a string cell, never a formula.
"""
import csv
import enum
import io
import json
import logging
import tempfile
import uuid
from collections import defaultdict
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone

import xlsxwriter
from babel import Locale
from flask import current_app
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import String, Text, case, cast, column as sql_column, func, literal, select, values
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import aliased

from apoa.audit.services import record, record_independently
from apoa.auth.models import User
from apoa.auth.permissions import Permission, can, visible
from apoa.errors import NotFound, UserValueError
from apoa.extensions import db
from apoa.periods import add_months, local_today
from apoa.regions.models import Office, Region
from apoa.reports.models import Category, Report
from apoa.reports.queries import QueueFilters, filtered, overdue_clause
from apoa.reports.states import ActionTaken, Channel, Outcome, PlaceKind, State
from apoa.summaries import figures
from apoa.summaries.streaming import copy_csv, cursor_batches
from apoa.summaries.suppression import WITHHELD, Grid, is_shared_month, month_of

log = logging.getLogger("apoa.summaries")
K_ANONYMITY = 3
SUPPRESSED = "< 3"
BATCH_ROWS = 5000          # rows fetched from the server-side cursor and written per chunk
FILE_CHUNK = 256 * 1024    # bytes per chunk when streaming the XLSX temporary file
XLSX_MAX_ROWS = 1_048_576  # a worksheet's limit, header and closing note included
UTF8_BOM = "\ufeff".encode("utf-8")  # Excel reads a CSV as UTF-8 only with it
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(str, enum.Enum):
    csv = "csv"
    geojson = "geojson"
    xlsx = "xlsx"

    @property
    def mimetype(self):
        return {ExportFormat.csv: "text/csv; charset=utf-8",
                ExportFormat.geojson: "application/geo+json",
                ExportFormat.xlsx:
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                }[self]


class ExportKind(str, enum.Enum):
    rows = "rows"
    aggregates = "aggregates"

    @property
    def permission(self):
        return Permission.export_reports if self is ExportKind.rows else Permission.view_aggregates


def allowed_kinds(user):
    """The kinds of export `user` may take, rows first."""
    return [kind for kind in ExportKind if can(user, kind.permission)]


@dataclass(frozen=True)
class Column:
    key: str          # GeoJSON property name: stable, for machines
    label: object     # CSV/XLSX header: translated, for people


ROW_COLUMNS = (
    Column("tracking_code", _l("Tracking code")), Column("state", _l("Status")),
    Column("outcome", _l("Outcome")), Column("action_taken", _l("Action taken")),
    Column("category", _l("Category")), Column("description", _l("Description")),
    Column("people_count", _l("People")), Column("nationality", _l("Nationality")),
    Column("place_kind", _l("Kind of place")), Column("channel", _l("Channel")),
    Column("observed_at", _l("Observed at")), Column("received_at", _l("Received at")),
    Column("due_at", _l("Due")), Column("overdue", _l("Overdue")),
    Column("kabupaten_kode", _l("Regency/City code")), Column("kabupaten", _l("Regency/City")),
    Column("kecamatan_kode", _l("District code")), Column("kecamatan", _l("District")),
    Column("office", _l("Office")), Column("assignee", _l("Assigned to")),
    Column("duplicate_of", _l("Duplicate of")), Column("address", _l("Address or landmark")),
    Column("accuracy_m", _l("Location accuracy (m)")),
    Column("longitude", _l("Longitude")), Column("latitude", _l("Latitude")),
)
AGGREGATE_COLUMNS = (
    Column("kabupaten_kode", _l("Regency/City code")), Column("kabupaten", _l("Regency/City")),
    Column("state", _l("Status")), Column("category", _l("Category")),
    Column("reports", _l("Reports")),
)


# --- report rows ---------------------------------------------------------------------------------

class Export:
    """What one export reads, and how much of it has gone out (for the audit).

    Report rows come from `query` (a server-side cursor for GeoJSON/XLSX; for CSV `csv_query`,
    the same rows with formula-looking text neutralised, run as a COPY); aggregates are a few
    hundred `lines` computed up front. A row may carry (longitude, latitude) at `points` beyond
    its columns, for GeoJSON."""

    def __init__(self, columns, query=None, csv_query=None, lines=None, points=None):
        self.columns, self.query, self.csv_query = columns, query, csv_query
        self.lines, self.points = lines, points
        self.count = 0
        self.truncated = False

    def batches(self):
        """Lists of rows, counted as they are handed out."""
        if self.lines is not None:
            self.count = len(self.lines)
            yield self.lines
            return
        with closing(cursor_batches(self.query, BATCH_ROWS)) as batches:
            for batch in batches:
                self.count += len(batch)
                yield batch


def report_export(user, filters, now=None):
    """The reports `user` may export, narrowed by `filters`, oldest first, in ROW_COLUMNS.
    NotFound when the user may not export rows at all."""
    if not can(user, Permission.export_reports):
        raise NotFound()
    now = now or datetime.now(timezone.utc)

    def narrowed(query):
        return visible(filtered(query, filters, user, now), user,
                       permission=Permission.export_reports)
    return Export(ROW_COLUMNS, query=narrowed(row_query(now)),
                  csv_query=narrowed(row_query(now, for_csv=True)),
                  points=(len(ROW_COLUMNS) - 2, len(ROW_COLUMNS) - 1))


def row_query(now, for_csv=False):
    """Every column of a row as the file shows it, computed by PostgreSQL: titles in the user's
    language, local times as text, names of the small tables joined. Never the contact, the
    reporter or the history. `for_csv` prefixes formula-looking free text with an apostrophe."""
    kab, kec, assignee, original = aliased(Region), aliased(Region), aliased(User), aliased(Report)
    countries = _titles_table("country", Locale.parse(str(get_locale())).territories.items())
    duplicate_of = case((Report.duplicate_of_id.is_not(None),
                         select(original.tracking_code).where(original.id == Report.duplicate_of_id)
                         .scalar_subquery()))
    safe = _formula_safe if for_csv else (lambda column: column)
    yes, no = _("Yes"), _("No")
    return (select(_display_code(Report.tracking_code), _title(State, Report.state),
                   _title(Outcome, Report.outcome), _title(ActionTaken, Report.action_taken),
                   safe(_category_name()), safe(Report.description),
                   Report.people_count, func.coalesce(countries.c.title, Report.nationality_guess),
                   _title(PlaceKind, Report.place_kind), _title(Channel, Report.channel),
                   _local(Report.observed_at), _local(Report.created_at), _local(Report.due_at),
                   case((overdue_clause(now), yes), else_=no),
                   kab.kode, kab.nama, kec.kode, kec.nama,
                   Office.code, safe(assignee.name), duplicate_of, safe(Report.address_text),
                   Report.accuracy_m, func.ST_X(Report.location), func.ST_Y(Report.location))
            .join(Category, Category.id == Report.category_id)
            .outerjoin(kab, kab.id == Report.kab_id).outerjoin(kec, kec.id == Report.kec_id)
            .outerjoin(Office, Office.id == Report.office_id)
            .outerjoin(assignee, assignee.id == Report.assignee_id)
            .outerjoin(countries, countries.c.code == Report.nationality_guess)
            .order_by(Report.id))


def _title(enum_, column):
    """The stored code's translated title (a CASE over the few members)."""
    return case({member.value: str(member.title) for member in enum_}, value=column)


def _titles_table(name, pairs):
    """A VALUES table (code, title) to join: a CASE over some 250 countries would be tested row
    by row, a join is one hash lookup."""
    return values(sql_column("code", String), sql_column("title", String),
                  name=name).data(list(pairs))


def _display_code(code):
    # ABCDE-FGHJK-MNPQ, as tracking.display() shows it
    return func.concat_ws("-", func.substr(code, 1, 5), func.substr(code, 6, 5),
                          func.substr(code, 11))


def _category_name():
    return Category.name_en if str(get_locale()) == "en" else Category.name_id


def _local(column):
    """A timestamp as local text ("2026-10-05 14:30:00", the interface's time zone), a form every
    spreadsheet reads as a date. (A cast, not to_char(): half the cost at a million rows.)"""
    zone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    return cast(cast(func.timezone(zone, column), TIMESTAMP(precision=0)), Text)


def _formula_safe(column):
    """Text a spreadsheet would run as a formula, prefixed with an apostrophe (CSV injection).
    Applied to text people type (descriptions, addresses, names, categories), not to region names
    and codes from official data."""
    return case((func.left(column, 1).in_(FORMULA_STARTS), literal("'") + column), else_=column)


# --- aggregates ----------------------------------------------------------------------------------

def aggregate_export(user, filters, now=None, today=None):
    """Counts per kabupaten/kota × state × category of the reports received in the month of
    `filters` in `user`'s jurisdiction (for the aggregate permission), suppressed as the module
    docstring says, in AGGREGATE_COLUMNS. NotFound when the user may not see aggregates;
    UserValueError for dates that are not one ended month, or a district or overdue filter."""
    if not can(user, Permission.view_aggregates):
        raise NotFound()
    month = aggregate_month(filters, today or local_today())
    if filters.kec_id or filters.overdue:
        raise UserValueError(_l("Aggregates are not narrowed to a district or to overdue reports: "
                                "leave those filters empty."))
    kab = aliased(Region)
    category = _category_name()
    query = (select(Report.kab_id, kab.kode, kab.nama, kab.label_lon, kab.label_lat,
                    Report.state, Report.category_id, category, func.count())
             .select_from(Report).join(Category, Category.id == Report.category_id)
             .outerjoin(kab, kab.id == Report.kab_id)
             .where(Report.created_at >= month.starts_at, Report.created_at < month.ends_at)
             .group_by(Report.kab_id, kab.kode, kab.nama, kab.label_lon, kab.label_lat,
                       Report.state, Report.category_id, category)
             .order_by(kab.kode.nulls_last(), Report.state, category))
    query = visible(query, user, permission=Permission.view_aggregates)
    page = figures.shared_figures(user, month, now=now)
    lines = [line for key, line in suppressed(db.session.execute(query).all(), page)
             if _picked(key, filters)]
    return Export(AGGREGATE_COLUMNS, lines=lines,
                  points=(len(AGGREGATE_COLUMNS), len(AGGREGATE_COLUMNS) + 1))


def aggregate_month(filters, today):
    """The month an aggregate export counts: last month without received dates, else the month
    the two dates span, if they are its first and last day and it has ended."""
    first, last = filters.received_from, filters.received_to
    if first is None and last is None:
        return month_of(add_months(today.replace(day=1), -1))
    if first is not None and last is not None and first.day == 1:
        month = month_of(first)
        if month.last == last and is_shared_month(month, today):
            return month
    example = month_of(add_months(today.replace(day=1), -1))
    raise UserValueError(_l("Aggregates count one whole month that has ended: leave the received "
                            "dates empty for last month, or give its first and last day (for "
                            "example %(first)s and %(last)s).", first=example.first.isoformat(),
                            last=example.last.isoformat()))


def _picked(key, filters):
    kab_id, state, category_id = key
    return ((not filters.kab_id or kab_id == filters.kab_id)
            and (not filters.state or state in (None, filters.state))
            and (not filters.category_id or category_id in (None, filters.category_id)))


def suppressed(groups, page):
    """[((kab_id, state, category_id), line)] from (kab_id, kode, nama, lon, lat, state,
    category_id, category, n) groups, as the module docstring says, against `page` (the month's
    shared Summary): a kabupaten/kota in one line (state and category None) or one line per cell.
    Each line ends with the area's label point (lon, lat) for GeoJSON."""
    state_titles = {s.value: str(s.title) for s in State}
    areas = defaultdict(list)
    for kab_id, kode, nama, lon, lat, state, category_id, category, n in groups:
        areas[(kab_id, kode, nama, lon, lat)].append((state, category_id, category, n))
    on_page = {row.key: row.received for row in page.by_kabupaten}
    grid = _cells_grid(areas, page)
    collapsed = {kab_id for kab_id, *_rest in areas
                 if on_page.get(kab_id, _NONE).hidden or grid.values[("kab", kab_id)] < K_ANONYMITY}
    while True:
        # A kabupaten in one line shows none of its cells: unknown to the reader.
        grid.set_unknown(key for key in grid.values if key[0] == "cell" and key[1] in collapsed)
        more = {key[1] for line in grid.unsafe_lines() for key in line[0]
                if key[0] == "cell" and key[1] not in collapsed and grid.is_hidden(key)}
        if not more:
            break
        collapsed.add(min(more, key=lambda kab_id: grid.order[("kab", kab_id)]))
    lines = []
    for (kab_id, kode, nama, lon, lat), cells in areas.items():
        nama = nama or _("Outside any regency/city")
        if kab_id in collapsed:
            count = on_page.get(kab_id) or figures.Count.of(grid.values[("kab", kab_id)], True)
            lines.append(((kab_id, None, None), (kode, nama, "—", "—", _text(count), lon, lat)))
            continue
        for state, category_id, category, n in cells:
            key = ("cell", kab_id, state, category_id)
            lines.append(((kab_id, state, category_id),
                          (kode, nama, state_titles[state], category,
                           _text(figures.shown_count(grid, key)), lon, lat)))
    return lines


_NONE = figures.Count(0)


def _cells_grid(areas, page):
    """The cells' Grid: each kabupaten's cells add up to its count on `page`, each category's to
    the category's, both fixed as the page shows them."""
    def give_way(key):
        return 0 if key[0] == "cell" else 2
    grid = Grid(give_way=give_way)
    by_category = defaultdict(list)
    for (kab_id, *_rest), cells in sorted(areas.items(), key=lambda item: repr(item[0][:2])):
        keys = []
        for state, category_id, _category, n in sorted(cells, key=lambda c: (c[0], c[1])):
            key = ("cell", kab_id, state, category_id)
            grid.set(key, n)
            keys.append(key)
            by_category[category_id].append(key)
        grid.set(("kab", kab_id), sum(grid.values[k] for k in keys))
        grid.add_sum(keys, ("kab", kab_id))
    for category_id, keys in sorted(by_category.items()):
        grid.set(("cat", category_id), sum(grid.values[k] for k in keys))
        grid.add_sum(keys, ("cat", category_id))
    shown = {("kab", row.key): row.received for row in page.by_kabupaten}
    shown.update({("cat", row.key): row.received for row in page.by_category})
    for key in grid.values:
        if key[0] != "cell":
            (grid.fixed_hidden if shown.get(key, _NONE).hidden else grid.fixed_shown).add(key)
    return grid


def _text(count):
    """A Count as an export cell: the number, "< 3" or "–"."""
    if count.withheld:
        return WITHHELD
    return SUPPRESSED if count.suppressed else count.value


# --- writers: each takes an Export and yields bytes ----------------------------------------------

def write_csv(export):
    """CSV (comma, UTF-8 with a BOM) with a translated header. Report rows are written by
    PostgreSQL (COPY, see streaming.py); the few aggregate lines by Python's csv module."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(column.label) for column in export.columns])
    yield UTF8_BOM + _take(buffer)
    if export.csv_query is not None:
        with closing(copy_csv(export.csv_query)) as chunks:
            for chunk, count in chunks:
                export.count += count
                yield chunk
        return
    width = len(export.columns)
    with closing(export.batches()) as batches:
        for batch in batches:
            writer.writerows(_csv_safe(row[:width]) for row in batch)
            yield _take(buffer)


def _csv_safe(row):
    return [("'" + value) if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value
            for value in row]


def _take(buffer):
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def write_geojson(export):
    """A GeoJSON FeatureCollection, one Point feature per row (properties keyed by column)."""
    keys = [column.key for column in export.columns]
    yield b'{"type":"FeatureCollection","features":[\n'
    separator = b""
    with closing(export.batches()) as batches:
        for batch in batches:
            yield separator + ",\n".join(_feature(keys, row, export.points)
                                         for row in batch).encode("utf-8")
            separator = b",\n"
    yield b"\n]}\n"


def _feature(keys, row, points):
    lon, lat = row[points[0]], row[points[1]]
    geometry = ({"type": "Point", "coordinates": [lon, lat]}
                if lon is not None and lat is not None else None)
    return json.dumps({"type": "Feature", "geometry": geometry, "properties": dict(zip(keys, row))},
                      ensure_ascii=False, separators=(",", ":"))


def write_xlsx(export):
    """An XLSX workbook written row by row to a temporary file (constant memory), then streamed."""
    with tempfile.TemporaryFile() as file:
        _fill_workbook(file, export)
        file.seek(0)
        while chunk := file.read(FILE_CHUNK):
            yield chunk


def _fill_workbook(file, export):
    """A worksheet holds at most XLSX_MAX_ROWS lines: past that the sheet ends with a note saying
    it was cut (and the export is marked truncated), the CSV having no such limit."""
    workbook = xlsxwriter.Workbook(file, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
    sheet = workbook.add_worksheet(_("Reports")[:31])
    sheet.write_row(0, 0, [str(c.label) for c in export.columns],
                    workbook.add_format({"bold": True}))
    sheet.freeze_panes(1, 0)
    # The last line is kept for the note.
    width, line, last = len(export.columns), 1, XLSX_MAX_ROWS - 1
    with closing(export.batches()) as batches:
        for batch in batches:
            if line + len(batch) > last:
                export.count -= line + len(batch) - last
                export.truncated = True
                batch = batch[:last - line]
            for row in batch:
                sheet.write_row(line, 0, row[:width])
                line += 1
            if export.truncated:
                sheet.write_string(line, 0,
                                   _("The sheet is full: use the CSV export for every row."))
                break
    workbook.close()


WRITERS = {ExportFormat.csv: write_csv, ExportFormat.geojson: write_geojson,
           ExportFormat.xlsx: write_xlsx}


def csv_rows(user, filters, now=None):
    """The CSV export of the reports `user` may export, as byte chunks. Not audited (the views
    use `audited_export`); the benchmark calls this directly."""
    return write_csv(report_export(user, filters, now))


# --- the audited export --------------------------------------------------------------------------

SOURCES = {ExportKind.rows: report_export, ExportKind.aggregates: aggregate_export}


def audited_export(user, kind, fmt, filters):
    """Start an export for `user`: returns the body, a generator of byte chunks to stream.

    The audit gets two entries under one object name ("export:<id>"). "export.start" (who, kind,
    format, filters) is recorded now, in the request's transaction, so it is committed before the
    first byte leaves: no data goes out unrecorded. The row count is only known at the end, so
    "export.finish" (rows sent, complete or not) is recorded by the body when it ends (finished,
    cut off by the client, or failed) in a transaction of its own. A start without a finish means
    the body never ran to an end that could be recorded (the server process died, say).
    NotFound when the user may not take this kind of export (nothing is recorded then)."""
    export = SOURCES[kind](user, filters)
    export_id = uuid.uuid4().hex
    record("export.start", f"export:{export_id}",
           {"kind": kind.value, "format": fmt.value, "filters": filters_for_audit(filters)},
           actor=user)
    log.info("user %s started %s export %s as %s", user.id, kind.value, export_id, fmt.value)
    # The body runs after the request's session is gone (Flask pops the context between the view
    # and the body): it keeps the actor's id, not the ORM object.
    return _finishing(export_id, ActorRef(user.id), export, WRITERS[fmt](export))


@dataclass(frozen=True)
class ActorRef:
    id: int


def _finishing(export_id, actor, export, chunks):
    complete = False
    try:
        yield from chunks
        complete = not export.truncated
    finally:
        chunks.close()  # ends the cursor or the COPY before the audit uses the connection
        record_independently("export.finish", f"export:{export_id}",
                             {"rows": export.count, "complete": complete}, actor=actor)
        log.info("export %s ended: %d rows, complete=%s", export_id, export.count, complete)


def filters_for_audit(filters):
    """The filters as JSON-able values, only those set (ids and dates: no personal data)."""
    defaults = QueueFilters()
    return {name: value.isoformat() if isinstance(value, date) else value
            for name, value in asdict(filters).items()
            if value != getattr(defaults, name) and name != "sort"}
