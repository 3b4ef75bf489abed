"""The foreigner-supervision map ("peta pengawasan orang asing", Permenimipas 2/2025 Pasal 53) of
an office's jurisdiction for one calendar month: per kecamatan, the reports received, the foreign
guests checked in by lodgings, companies and hosts, and the joint operations (Tim PORA) held; as a
page with an SVG choropleth and a table, a printable PDF and GeoJSON (apoa/partners/map_views.py).

What is counted, per kecamatan of the kabupaten/kota of the office's jurisdiction (the office and
those below it, as everywhere: apoa/auth/permissions.py):
- reports: received (created) in the month, by the kecamatan their location lies in;
- foreign guests: stays checked in during the month (not cancelled), by the kecamatan of the
  lodging; stays already deleted by the retention job (apoa/guests/retention.py) are counted from
  GuestTally, which keeps their kabupaten but not their kecamatan: a row "district not known";
- joint operations: done, planned for a day of the month, by the team of the office or of an
  office below it, by the kecamatan named when it was planned.
A report or guest without a kecamatan (a coast, an organisation placed before kecamatan were
known) counts in its kabupaten's row "district not known"; an operation without one in the row
"no district".

Privacy: the map is made to be shared outside the office (with a Tim PORA team), so every count is
the aggregate view whoever reads it: 1 and 2 read "< 3" (summaries' K and Count) and, where a
"< 3" could be worked out by subtraction, another count is withheld too ("–", JSON null), chosen by
apoa/summaries/suppression.py's `Grid`. The sums it is told of: each measure's kecamatan add up to
its total, and each kabupaten's kecamatan to the kabupaten's count (which the shared summary and
the guests' figures show), the kabupaten and the row without one to the total again. Months only,
and only ended ones (`parse_month`): two readings of a running month, or of overlapping periods,
would tell by subtraction what was added between them.

Speed: one grouped query per measure, two for the names, and for a drawing two (the extent, then
the outlines simplified by PostGIS to about a pixel); the GeoJSON's outlines are simplified in the
same statement that reads them. A Kanwil of five kabupaten (172 kecamatan) takes about 0.1 s for
all of it; the Ditjen's map of every kecamatan (7,285) about 1–3 s, most of it the suppression
(python) and the 2 MB SVG, 6 MB GeoJSON.
"""
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from flask_babel import format_date, gettext as _, lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, literal, null, or_, select, union_all
from sqlalchemy.orm import aliased

from apoa.auth.permissions import (ALL_OFFICES, can_see_supervision_map,
                                   office_jurisdiction_ids, partner_team_office)
from apoa.errors import NotFound, UserValueError
from apoa.extensions import db
from apoa.guests.models import GuestTally, Organisation, Stay, StayState
from apoa.partners.models import JointOperation, OperationState
from apoa.periods import bounds_message, local_today
from apoa.regions.models import Office, Region, RegionLevel, office_region
from apoa.reports.models import Report
from apoa.summaries.figures import K, Count, parse_office
from apoa.summaries.monthly import (LEGEND_ROW, MAP_WIDTH, band_of, count_bands,
                                    kabupaten_outlines, months_to_choose, parse_month)
from apoa.summaries.suppression import Grid

REPORTS, GUESTS, OPERATIONS = "reports", "guests", "operations"
MEASURES = (REPORTS, GUESTS, OPERATIONS)
MEASURE_TITLES = {REPORTS: _l("Reports received"), GUESTS: _l("Foreign guests checked in"),
                  OPERATIONS: _l("Joint operations held")}
# The GeoJSON's property names: stable, English, like the API's.
GEOJSON_NAMES = {REPORTS: "reports_received", GUESTS: "foreign_guests",
                 OPERATIONS: "joint_operations"}
# Outlines to read a map by, not to survey: simplified to about 1/GEOJSON_DETAIL of the map's
# width, and never finer than GEOJSON_TOLERANCE degrees (about 100 m).
GEOJSON_TOLERANCE = 0.001
GEOJSON_DETAIL = 4000
GEOJSON_DIGITS = 4          # decimal places (about 11 m)
MONTHS_OFFERED = 24
BAD_LAYER = _l("Unknown map layer: choose one of the layers offered.")


# --- what the pages show -------------------------------------------------------------------------

@dataclass(frozen=True)
class MapRow:
    """One kecamatan (or a "district not known" row) with its counts."""

    kab_id: int | None
    kec_id: int | None
    kode: str | None            # the kecamatan's Kemendagri code; None for the unknown rows
    name: str                   # the kecamatan's name, or what the row stands for
    kab_kode: str | None
    kabupaten: str
    counts: dict                # measure → Count (maybe "< 3", or withheld: "–")

    @property
    def empty(self):
        return all(c.value == 0 for c in self.counts.values())


@dataclass
class SupervisionMap:
    office: Office
    month: object               # apoa.periods.Period of a calendar month
    title: str                  # "Oktober 2026"
    rows: list                  # every kecamatan of the jurisdiction, then the unknown rows
    totals: dict                # measure → Count
    generated_at: datetime
    _outlines: object = field(default=None, repr=False)

    @property
    def month_value(self):
        return self.month.start.strftime("%Y-%m")

    @property
    def listed_rows(self):
        """The rows the table lists: those with anything in the month."""
        return [row for row in self.rows if not row.empty]


# --- who and what was asked for ------------------------------------------------------------------

def map_office(user, raw_office):
    """The office whose map `user` asked for (`office=<id>`, by default the user's own), or
    NotFound when there is no such office or the user may not see its map."""
    try:
        office_id = parse_office(raw_office)
    except UserValueError:
        raise NotFound() from None
    if office_id is None:
        # A partner member's map is their team's; anyone else's their own office's.
        office_id = partner_team_office(user) or getattr(user, "office_id", None)
    if office_id is None or not can_see_supervision_map(user, office_id):
        raise NotFound()
    office = db.session.get(Office, office_id)
    if office is None:
        raise NotFound()
    return office


def parse_map_month(raw, today=None):
    """The month asked for (`bulan=YYYY-MM`; none: last month), an ended one (`parse_month`).
    UserValueError with a message saying what to choose."""
    try:
        return parse_month(raw, today or local_today())
    except ValueError:
        # A month past the calendar's end (9999-12) has no month after it.
        raise UserValueError(bounds_message()) from None


def default_month(today=None):
    return parse_month(None, today or local_today())


def months_offered(today=None):
    """The months that have ended, to choose from, newest first: (value, title)."""
    return months_to_choose(today or local_today(), MONTHS_OFFERED)


def parse_layer(raw):
    """The measure the page's map is filled by (`layer=`; none: reports)."""
    raw = (raw or "").strip()
    if not raw:
        return REPORTS
    if raw not in MEASURES:
        raise UserValueError(BAD_LAYER)
    return raw


# --- the figures ---------------------------------------------------------------------------------

def supervision_map(office, month, now=None):
    """The SupervisionMap of `office`'s jurisdiction for `month` (a Period), every count
    suppressed as for sharing (see the module docstring)."""
    office_ids = office_jurisdiction_ids(office)
    kab_ids = _territory(office_ids)
    counts = {REPORTS: _report_counts(kab_ids, month), GUESTS: _guest_counts(kab_ids, month),
              OPERATIONS: _operation_counts(office_ids, month)}
    places = _places(kab_ids, counts)
    shown = _suppressed(list(places), counts)
    rows = [replace(place, counts={m: shown[("cell", m, key)] for m in MEASURES})
            for key, place in places.items()]
    return SupervisionMap(
        office=office, month=month, title=format_date(month.start, "MMMM yyyy"), rows=rows,
        totals={m: shown[("total", m)] for m in MEASURES},
        generated_at=now or datetime.now(timezone.utc))


def _territory(office_ids):
    """The kabupaten/kota ids of the offices, or None for the whole country (the Ditjen)."""
    if office_ids is ALL_OFFICES:
        return None
    query = select(office_region.c.region_id).where(
        office_region.c.office_id.in_(sorted(office_ids) or [-1]))
    return sorted(db.session.scalars(query).all())


def _within(kab_column, kab_ids):
    return literal(True) if kab_ids is None else kab_column.in_(kab_ids or [-1])


def _grouped(statement):
    """{(kab_id, kec_id): count} from rows (kab_id, kec_id, count)."""
    return {(kab, kec): int(n) for kab, kec, n in db.session.execute(statement).all() if n}


def _report_counts(kab_ids, month):
    return _grouped(
        select(Report.kab_id, Report.kec_id, func.count())
        .where(Report.created_at >= month.starts_at, Report.created_at < month.ends_at,
               _within(Report.kab_id, kab_ids))
        .group_by(Report.kab_id, Report.kec_id))


def _guest_counts(kab_ids, month):
    """Check-ins of the month: the stays kept, by their lodging's kecamatan, and the tallies of
    deleted stays, which know their kabupaten only."""
    kept = (select(Stay.kab_id.label("kab_id"), Organisation.kec_id.label("kec_id"),
                   func.count().label("n"))
            .join(Organisation, Organisation.id == Stay.organisation_id)
            .where(Stay.state != StayState.cancelled.value,
                   Stay.checked_in_at >= month.starts_at, Stay.checked_in_at < month.ends_at,
                   _within(Stay.kab_id, kab_ids))
            .group_by(Stay.kab_id, Organisation.kec_id))
    tally = GuestTally.__table__.c
    deleted = (select(tally.kab_id, null().label("kec_id"), func.sum(tally.check_ins))
               .where(tally.day >= month.start, tally.day < month.end,
                      _within(tally.kab_id, kab_ids))
               .group_by(tally.kab_id))
    both = union_all(kept, deleted).subquery("check_ins")
    return _grouped(select(both.c.kab_id, both.c.kec_id, func.sum(both.c.n))
                    .group_by(both.c.kab_id, both.c.kec_id))


def _operation_counts(office_ids, month):
    """Joint operations done, planned in the month, by the teams of the offices."""
    operation = JointOperation
    kec, kab = aliased(Region), aliased(Region)
    of_offices = (literal(True) if office_ids is ALL_OFFICES
                  else operation.office_id.in_(sorted(office_ids) or [-1]))
    return _grouped(
        select(kab.id, operation.kecamatan_id, func.count())
        .select_from(operation)
        .outerjoin(kec, kec.id == operation.kecamatan_id)
        .outerjoin(kab, kab.kode == kec.parent_kode)
        .where(operation.state == OperationState.done.value, operation.planned_on >= month.start,
               operation.planned_on < month.end, of_offices)
        .group_by(kab.id, operation.kecamatan_id))


def _places(kab_ids, counts):
    """{(kab_id, kec_id): MapRow without counts}: every kecamatan of the territory (and any other
    that holds a count), then the unknown rows that hold one, in Kemendagri order."""
    keys = {key for by_key in counts.values() for key in by_key}
    kec, kab = aliased(Region), aliased(Region)
    extra_kec = sorted(k for _kab, k in keys if k is not None)
    query = (select(kab.id, kec.id, kec.kode, kec.nama, kab.kode, kab.nama)
             .join(kab, kab.kode == kec.parent_kode)
             .where(kec.level == RegionLevel.kecamatan.value,
                    or_(_within(kab.id, kab_ids), kec.id.in_(extra_kec or [-1]))))
    places = {(kab_id, kec_id): MapRow(kab_id, kec_id, kode, name, kab_kode, kab_name, {})
              for kab_id, kec_id, kode, name, kab_kode, kab_name in db.session.execute(query)}
    unknown_kabs = sorted(kab_id for kab_id, kec_id in keys
                          if kec_id is None and kab_id is not None)
    for kab_id, kab_kode, kab_name in db.session.execute(
            select(Region.id, Region.kode, Region.nama).where(Region.id.in_(unknown_kabs or [-1]))):
        places[(kab_id, None)] = MapRow(kab_id, None, None, _("District not known"),
                                        kab_kode, kab_name, {})
    if (None, None) in keys:
        places[(None, None)] = MapRow(None, None, None, _("No district"), None, "", {})
    return dict(sorted(places.items(), key=lambda item: _order(item[1])))


def _order(place):
    # Unknown rows after their kabupaten's kecamatan, the row without a kabupaten last.
    return (place.kab_kode or "~", place.kode or "~")


def _give_way(key):
    # A kecamatan's count is withheld first, a kabupaten's next, a total last.
    return {"cell": 0, "kab": 1}.get(key[0], 2)


def _suppressed(keys, counts):
    """{grid key: Count}: the counts as shared (see the module docstring)."""
    grid = Grid(True, give_way=_give_way)
    for measure in MEASURES:
        cells_of = {}           # kab_id → the cells of its kecamatan (None: the row without one)
        for key in keys:
            grid.set(("cell", measure, key), counts[measure].get(key, 0))
            cells_of.setdefault(key[0], []).append(("cell", measure, key))
        total = ("total", measure)
        grid.set(total, sum(counts[measure].get(key, 0) for key in keys))
        grid.add_sum([cell for cells in cells_of.values() for cell in cells], total)
        kab_keys = []
        for kab_id, cells in cells_of.items():
            if kab_id is not None:
                kab_keys.append(("kab", measure, kab_id))
                grid.set(kab_keys[-1], sum(grid.values[cell] for cell in cells))
                grid.add_sum(cells, kab_keys[-1])
        grid.add_sum([*kab_keys, *cells_of.get(None, [])], total)
    withheld = grid.withheld()
    return {key: Count(value, 0 < value < K, key in withheld)
            for key, value in grid.values.items() if key[0] != "kab"}


# --- the map -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Outlines:
    height: float
    paths: list                 # [(kec_id, name, svg path)]


def outlines(smap):
    """The kecamatan outlines of the map projected for the SVG, read once per map (or None)."""
    if smap._outlines is None:
        drawn = kabupaten_outlines({row.kec_id for row in smap.rows if row.kec_id is not None})
        smap._outlines = _Outlines(*drawn) if drawn else False
    return smap._outlines or None


def layer_bands(smap, measure):
    """The colour bands of `measure` (the monthly map's, "0" first whatever is counted)."""
    top = max([c.shown for c in (row.counts[measure] for row in smap.rows)
               if c.shown is not None] + [0])
    bands = count_bands(top)
    bands[0] = replace(bands[0], label="0")
    return bands


def map_svg(smap, measure):
    """The SVG choropleth of the kecamatan filled by `measure`, with a legend; Markup."""
    drawn = outlines(smap)
    if drawn is None:
        return Markup('<p class="map-empty">{}</p>').format(
            _("This jurisdiction has no district to draw."))
    counts = {row.kec_id: row.counts[measure] for row in smap.rows if row.kec_id is not None}
    bands = layer_bands(smap, measure)
    shapes = Markup("").join(
        Markup('<path d="{d}" fill="{fill}" stroke="#ffffff" stroke-width="0.4" '
               'stroke-linejoin="round"><title>{name}: {count}</title></path>').format(
            d=d, fill=band_of(counts.get(kec_id), bands).fill, name=name,
            count=counts.get(kec_id) or 0)
        for kec_id, name, d in drawn.paths)
    title = _("%(measure)s per district, %(month)s", measure=MEASURE_TITLES[measure],
              month=smap.title)
    return _svg(measure, title, drawn.height, shapes, bands)




def _svg(measure, title, height, shapes, bands):
    legend = Markup("").join(
        Markup('<rect x="0" y="{y}" width="20" height="14" fill="{fill}" stroke="#8a8f98" '
               'stroke-width="0.5"/><text x="28" y="{ty}">{label}</text>').format(
            y=y, ty=y + 12, fill=band.fill, label=band.label)
        for y, band in ((LEGEND_ROW // 2 + k * LEGEND_ROW, band) for k, band in enumerate(bands)))
    description = _("Districts filled by their count: %(bands)s.",
                    bands=", ".join(str(b.label) for b in bands))
    return Markup(
        '<figure class="monthly-map supervision-map" id="map-{m}">'
        '<svg class="map-svg" xmlns="http://www.w3.org/2000/svg" role="img" '
        'aria-labelledby="map-{m}-title map-{m}-desc" viewBox="0 {top:.1f} {w} {h:.1f}" '
        'width="100%" font-size="15" font-family="DejaVu Sans, sans-serif" fill="#1f2430">'
        '<title id="map-{m}-title">{title}</title><desc id="map-{m}-desc">{desc}</desc>'
        '<g class="map-areas">{shapes}</g><g class="map-legend">{legend}</g></svg>'
        '<figcaption>{title}</figcaption></figure>'
    ).format(m=measure, top=-height, w=MAP_WIDTH, h=height + (len(bands) + 1) * LEGEND_ROW,
             title=title, desc=description, shapes=shapes, legend=legend)


# --- GeoJSON -------------------------------------------------------------------------------------

def shared_value(count):
    """A count as the GeoJSON gives it: a number, "< 3", or None (withheld)."""
    if count.withheld:
        return None
    return f"< {K}" if count.suppressed else count.value


def as_geojson(smap):
    """A FeatureCollection: one Feature per row, with the kecamatan outline simplified by PostGIS
    (rows without a kecamatan have no geometry), its code and name and the counts."""
    ids = sorted(row.kec_id for row in smap.rows if row.kec_id is not None) or [-1]
    box = select(func.ST_Extent(Region.geom).label("box")).where(Region.id.in_(ids)).subquery()
    tolerance = func.greatest(GEOJSON_TOLERANCE,
                              (func.ST_XMax(box.c.box) - func.ST_XMin(box.c.box)) / GEOJSON_DETAIL)
    shape = func.ST_AsGeoJSON(func.ST_Multi(func.ST_SimplifyPreserveTopology(
        Region.geom, tolerance)), GEOJSON_DIGITS)
    geometries = dict(db.session.execute(
        select(Region.id, shape).select_from(Region).join(box, literal(True))
        .where(Region.id.in_(ids))).all())
    return {
        "type": "FeatureCollection",
        "name": _("Foreigner supervision map"),
        "office": {"id": smap.office.id, "name": smap.office.name},
        "period": {"month": smap.month_value, "first": smap.month.first.isoformat(),
                   "last": smap.month.last.isoformat()},
        "totals": {GEOJSON_NAMES[m]: shared_value(smap.totals[m]) for m in MEASURES},
        "note": _("Counts from 1 to 2 are given as “< 3”; null: withheld so that no “< 3” can "
                  "be worked out from a total."),
        "features": [_feature(row, geometries.get(row.kec_id)) for row in smap.rows],
    }


def _feature(row, geometry):
    properties = {"kode": row.kode, "nama": row.name, "kabupaten_kode": row.kab_kode,
                  "kabupaten": row.kabupaten or None}
    properties.update({GEOJSON_NAMES[m]: shared_value(row.counts[m]) for m in MEASURES})
    return {"type": "Feature", "geometry": json.loads(geometry) if geometry else None,
            "properties": properties}
