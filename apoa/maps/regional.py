"""The regional heads' choropleth: report counts per kabupaten/kota (per kecamatan when zoomed in)
for a period and an optional state, over the areas of the user's jurisdiction. The other layers
(an indicator, or a rate such as reports per 100,000 residents) are apoa/indicators/layers.py's,
drawn with this module's jurisdiction, counts and outlines.

Privacy. An area with 1 or 2 reports (fewer than SUPPRESS_BELOW) is "< 3": its features and
table rows carry that label and band 0, never the number, and nothing else tells 1 from 2 —
features are ordered by code and the table sorts all suppressed areas by name, never by their
count. An area without any report shows 0 (band "none"): zero names no one, and a map that called
an empty regency "< 3" sent heads looking for reports that were not there. No total is given here
(a total minus the shown counts would give the suppressed ones back; the dashboard's is taken
into account below).

Access. Counts come from `visible(..., permission=view_aggregates)`; the areas drawn are those
of the user's jurisdiction (a Kantor's kabupaten/kota in office_region, a Kanwil's Kantor's, all
of them for the Ditjen), so a bounding box over another office's area finds nothing to draw and
no count to put on it.

Shared figures (issue 15, item 4). Who sees aggregates only (no view_report: a regional head) is
shown figures that leave the office, so the map gives such a user whole calendar months that have
ended (`bulan=YYYY-MM`, last month by default; apoa/summaries/suppression.py: figures of
overlapping periods subtract), and hides more than the "< 3": the month's reports are counted per
area and state in one `Grid` (`shared_counts`), whose lines are what a reader can subtract — an
area's states add up to its "all states" count, a kabupaten/kota's kecamatan to the
kabupaten/kota (in every column), and the kabupaten/kota's "all states" counts to the month's
total, which the dashboard shows. A state's total over the areas is shown nowhere (the
dashboard's states are those of the reports open now, not of those received in the month), so
its line would bind nothing. The Grid withholds ("–") enough counts beside each "< 3" that no
line gives one back, and every view of the month (any state, either level, the table and the
rates) shows the requested column of that one Grid: asking for "all states" and then each state,
at both zooms, hides the same cells. The "all states" counts and the total are the dashboard's
received per kabupaten/kota and in all, so each is hidden or shown as the month's dashboard
shows it (`dashboard_counts`): neither page shows what the other withholds. A withheld area is
drawn like a "< 3" one (band 0) with the label "–", and the legend's bands are cut from the
counts shown only. Staff who may view reports keep every period and see every count from 3 on.

Class breaks are computed here, on the server: quantiles of the counts (>= 3) of *every* area of
the jurisdiction at the level shown, not only of those in view. The legend therefore stays put
while the user pans, the page's table and the map use the same classes, and the browser never
needs the counts of areas it does not draw.

Speed. One GROUP BY over the period's reports (index on created_at, or on office_id and
created_at for a Kantor or Kanwil) and one query for the outlines in view. Outlines are simplified
to about a pixel with ST_Simplify, which drops the islets that shrink below it: at country zoom
ST_SimplifyPreserveTopology keeps every one of the ~18,700 parts of the kabupaten/kota (1.7 MB
and ~700 ms), ST_Simplify ~170 KB in ~60 ms. An area that collapses whole (a small kota seen from
far away) is drawn as its simplified convex hull, so it still shows as a dot with its colour.
"""
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from flask_babel import format_number, lazy_gettext as _l
from sqlalchemy import func, select, text

from apoa.auth.permissions import ALL_OFFICES, Permission, can, jurisdiction_office_ids, visible
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.maps.basemap import KECAMATAN_FROM_ZOOM, pixel_degrees
from apoa.periods import Preset, custom_period, preset_period
from apoa.summaries.suppression import WITHHELD, Grid
from apoa.regions.models import Region, RegionLevel, office_region
from apoa.reports.models import Report
from apoa.reports.states import State

SUPPRESS_BELOW = 3
SUPPRESSED_LABEL = f"< {SUPPRESS_BELOW}"
NO_REPORTS_BAND = "none"
CLASSES = 4

# The map's period keys, short for bookmarked addresses, and the preset (apoa/periods.py) each
# stands for, in the order the chooser offers them.
PERIODS = {
    "7d": Preset.last_7_days, "30d": Preset.last_30_days, "90d": Preset.last_90_days,
    "365d": Preset.last_365_days, "this_month": Preset.this_month,
    "last_month": Preset.last_month, "custom": Preset.custom,
}
KEY_OF_PRESET = {preset: key for key, preset in PERIODS.items()}
DEFAULT_PERIOD = "30d"
REPORTS_LAYER = "reports"
MONTH_KEY = "month"         # the period key of a month shared outside the office
ALL_STATES = "all"          # the Grid's column of every state together


# --- what the user chose -------------------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    period: object          # an apoa.periods.Period
    state: str | None = None
    # What the areas are coloured by: REPORTS_LAYER (drawn here), else an indicator or a rate
    # (apoa/indicators/layers.py), of `year` (None: the latest imported).
    layer: str = REPORTS_LAYER
    year: int | None = None
    # A month shared outside the office (see the module docstring): counted through its Grid.
    shared: bool = False

    @property
    def period_key(self):
        return MONTH_KEY if self.shared else KEY_OF_PRESET[self.period.preset]

    @property
    def column(self):
        """The Grid column this selection shows."""
        return self.state or ALL_STATES

    def period_json(self):
        """The period as the map's data says it."""
        period = {"key": self.period_key, "first": self.period.first.isoformat(),
                  "last": self.period.last.isoformat()}
        if self.shared:
            period["month"] = self.period.start.strftime("%Y-%m")
        return period

    def conditions(self):
        state = [Report.state == self.state] if self.state else []
        return [Report.created_at >= self.period.starts_at,
                Report.created_at < self.period.ends_at] + state


def resolve_period(key, today, first=None, last=None):
    """The Period the map's `key` names as seen on `today`; `first` and `last` only for "custom".
    UserValueError with a message saying what to change otherwise."""
    preset = PERIODS.get(key)
    if preset is None:
        raise UserValueError(_l("Unknown period: choose one of the periods offered."))
    if preset is not Preset.custom:
        return preset_period(preset, today)
    if first is None or last is None:
        raise UserValueError(_l("A period between two dates needs both the start and the end "
                                "date."))
    return custom_period(first, last)


def parse_state(raw):
    """None for "all states", else a known state's value; UserValueError otherwise."""
    if not raw:
        return None
    if raw not in {s.value for s in State}:
        raise UserValueError(_l("Unknown report state."))
    return raw


def area_level(zoom):
    """Kabupaten/kota, or kecamatan from KECAMATAN_FROM_ZOOM on (as the outlines switch)."""
    return RegionLevel.kecamatan if zoom >= KECAMATAN_FROM_ZOOM else RegionLevel.kabupaten_kota


# --- whose areas ---------------------------------------------------------------------------------

def may_view(user):
    return can(user, Permission.view_aggregates)


def shares_outside(user):
    """Whether the map's figures leave the office for `user` (aggregates only): whole ended months
    and complementary suppression."""
    return not can(user, Permission.view_report)


@dataclass(frozen=True)
class Jurisdiction:
    """The kabupaten/kota a user's counts are drawn over: every one (`everywhere`, the Ditjen), or
    those of the offices the user oversees."""

    everywhere: bool
    kab_ids: tuple = ()
    kab_kodes: tuple = ()


def jurisdiction_of(user):
    offices = jurisdiction_office_ids(user)
    if offices is ALL_OFFICES:
        return Jurisdiction(everywhere=True)
    rows = db.session.execute(
        select(Region.id, Region.kode).join(office_region, office_region.c.region_id == Region.id)
        .where(office_region.c.office_id.in_(sorted(offices)),
               Region.level == RegionLevel.kabupaten_kota.value)
        .order_by(Region.kode)).all()
    return Jurisdiction(everywhere=False, kab_ids=tuple(r.id for r in rows),
                        kab_kodes=tuple(r.kode for r in rows))


# --- counts and classes --------------------------------------------------------------------------

def area_counts(user, jurisdiction, level, selection):
    """{region id: number of reports} for the areas of `level` with at least one report that
    `user` may count, in the selection. Areas outside the jurisdiction are left out (a report
    transferred to one of the user's offices from elsewhere is counted where it lies, which is
    not the user's area to draw)."""
    area = Report.kec_id if level is RegionLevel.kecamatan else Report.kab_id
    query = (select(area, func.count())
             .where(area.is_not(None), *selection.conditions()).group_by(area))
    if not jurisdiction.everywhere:
        query = query.where(Report.kab_id.in_(jurisdiction.kab_ids))
    query = visible(query, user, permission=Permission.view_aggregates)
    return dict(db.session.execute(query).all())


def area_figures(user, jurisdiction, level, selection):
    """{region id: (count, shown as "< 3", withheld)} of the areas of `level` with at least one
    report in the selection: the counts themselves for staff, the selection's column of the
    month's Grid for figures shared outside the office."""
    if selection.shared:
        return shared_counts(user, jurisdiction, selection.period).column(level, selection.column)
    return {area_id: (n, 0 < n < SUPPRESS_BELOW, False)
            for area_id, n in area_counts(user, jurisdiction, level, selection).items() if n}


def shown_values(figures):
    """The counts of `figures` (area_figures) a reader sees: those the legend's bands cut."""
    return [n for n, small, withheld in figures.values() if not small and not withheld]


# --- the month's Grid (figures shared outside the office) ----------------------------------------

class SharedCounts:
    """The month's reports per kabupaten/kota and kecamatan × state in one Grid (see the module
    docstring); `column` says how one column of one level is shown."""

    def __init__(self, grid):
        self.grid = grid
        self._shown = grid.shown()

    def column(self, level, column):
        """{region id: (count, shown as "< 3", withheld)} of the areas of `level` with reports."""
        prefix = "kec" if level is RegionLevel.kecamatan else "kab"
        return {key[1]: shown for key, shown in self._shown.items()
                if key[0] == prefix and key[2] == column and shown[0]}


def shared_counts(user, jurisdiction, month):
    """The SharedCounts of `month` over the jurisdiction, as `user` may count them."""
    query = (select(Report.kab_id, Report.kec_id, Report.state, func.count())
             .where(Report.kab_id.is_not(None), Report.created_at >= month.starts_at,
                    Report.created_at < month.ends_at)
             .group_by(Report.kab_id, Report.kec_id, Report.state))
    if not jurisdiction.everywhere:
        query = query.where(Report.kab_id.in_(jurisdiction.kab_ids))
    query = visible(query, user, permission=Permission.view_aggregates)
    rows = [(kab_id, kec_id, getattr(state, "value", state), n)
            for kab_id, kec_id, state, n in db.session.execute(query).all()]
    return SharedCounts(month_grid(rows, dashboard_counts(user, month)))


def dashboard_counts(user, month):
    """{kab id, or TOTAL: Count} of the month's reports received per kabupaten/kota and in all,
    as the user's dashboard (and monthly report) show them: the map agrees with them."""
    from apoa.summaries.figures import shared_received     # the dashboard imports the maps
    # The month's kept figures (apoa/summaries/stored.py): the same the dashboard shows.
    total, by_kabupaten = shared_received(user, month)
    return {TOTAL: total, **by_kabupaten}


STATE_COLUMNS = tuple(s.value for s in State)
TOTAL = ("total", ALL_STATES)     # the month's reports: the dashboard shows them


def month_grid(rows, dashboard=None):
    """The Grid of [(kab id, kec id or None, state, count)]: keys (level, region id, column) with
    level "kab" or "kec", TOTAL, and ("loose", kab id, column) for reports of a kabupaten/kota
    without a kecamatan (not shown anywhere: unknown to a reader).

    `dashboard` ({kab id or TOTAL: Count}, dashboard_counts) is how the dashboard of the month
    shows the "all states" counts and the total: each one counted alike here is hidden or shown
    as it is there (`fixed_hidden`, `fixed_shown`), so that neither page shows what the other
    withholds; the Grid withholds elsewhere what more it needs."""
    kab, kec, loose = defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
    kecamatan_of = defaultdict(set)
    for kab_id, kec_id, state, n in rows:
        for column in (state, ALL_STATES):
            kab[kab_id][column] += n
            if kec_id is None:
                loose[kab_id][column] += n
            else:
                kec[kec_id][column] += n
                kecamatan_of[kab_id].add(kec_id)
    columns = (*STATE_COLUMNS, ALL_STATES)
    grid = Grid(give_way=_give_way)
    for level, table in (("kab", kab), ("kec", kec)):
        for area_id in sorted(table):
            for column in columns:
                grid.set((level, area_id, column), table[area_id][column])
            grid.add_sum([(level, area_id, state) for state in STATE_COLUMNS],
                         (level, area_id, ALL_STATES))
    unknown = []
    for kab_id in sorted(kab):
        for column in columns:
            parts = [("kec", kec_id, column) for kec_id in sorted(kecamatan_of[kab_id])]
            if loose[kab_id][column]:
                grid.set(("loose", kab_id, column), loose[kab_id][column])
                unknown.append(("loose", kab_id, column))
                parts.append(("loose", kab_id, column))
            if parts:
                grid.add_sum(parts, ("kab", kab_id, column))
    # A state's total over the areas is shown nowhere: its line would bind nothing but itself.
    grid.set(TOTAL, sum(kab[kab_id][ALL_STATES] for kab_id in kab))
    grid.add_sum([("kab", kab_id, ALL_STATES) for kab_id in sorted(kab)], TOTAL)
    grid.set_unknown(unknown)
    for member, count in (dashboard or {}).items():
        key = member if member == TOTAL else ("kab", member, ALL_STATES)
        if key in grid.values and grid.values[key] == count.value and not count.suppressed:
            (grid.fixed_hidden if count.withheld else grid.fixed_shown).add(key)
    return grid


def _give_way(key):
    """Kecamatan first, then kabupaten/kota, the total last; within each a state's count before
    the count of all states (the one shown by default)."""
    return {"kec": 0, "kab": 2}.get(key[0], 4) + (key[-1] == ALL_STATES)


# --- classes -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Band:
    """A class of the legend: counts from `low` to `high`, both included."""

    number: int
    low: int
    high: int

    @property
    def label(self):
        if self.low == self.high:
            return format_number(self.low)
        return f"{format_number(self.low)}–{format_number(self.high)}"


def class_breaks(counts, classes=CLASSES):
    """Up to `classes` bands over the counts >= SUPPRESS_BELOW, split at their quantiles (equal
    numbers of areas per band; ties merge bands). The suppressed band 0 is not among them."""
    values = sorted(n for n in counts if n >= SUPPRESS_BELOW)
    if not values:
        return []
    highs = sorted({values[math.ceil(len(values) * k / classes) - 1]
                    for k in range(1, classes + 1)})
    bands, low = [], SUPPRESS_BELOW
    for number, high in enumerate(highs, start=1):
        bands.append(Band(number, low, high))
        low = high + 1
    return bands


def legend(bands, shared=False):
    """The legend's entries: no reports, then the suppressed band (and, for figures shared outside
    the office, the withheld counts drawn like it), then the counted ones."""
    withheld = ([{"band": 0, "label": WITHHELD,
                  "note": str(_l("withheld, so that no “< 3” can be worked out"))}]
                if shared else [])
    return ([{"band": NO_REPORTS_BAND, "label": format_number(0)},
             {"band": 0, "label": SUPPRESSED_LABEL}] + withheld
            + [{"band": b.number, "label": b.label, "min": b.low, "max": b.high} for b in bands])


def area_properties(count, bands, withheld=False):
    """What a map feature or a table row says about an area's count: band and label, and the
    count itself only when it is at least SUPPRESS_BELOW and not `withheld` (0 is labelled "0",
    never "< 3"; a withheld count "–", drawn like "< 3")."""
    if count == 0:
        return {"band": NO_REPORTS_BAND, "label": format_number(0)}
    if count < SUPPRESS_BELOW:
        return {"band": 0, "label": SUPPRESSED_LABEL}
    if withheld:
        return {"band": 0, "label": WITHHELD}
    band = next(b.number for b in bands if count <= b.high)
    return {"band": band, "label": format_number(count), "count": count}


# --- the map's data ------------------------------------------------------------------------------

_AREAS_SQL = text("""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
         json_build_object(
           'type', 'Feature', 'id', kode,
           'properties', jsonb_build_object('kode', kode, 'nama', nama)
                         || coalesce(CAST(:counted AS jsonb) -> CAST(id AS text),
                                     CAST(:no_reports AS jsonb)),
           'geometry', ST_AsGeoJSON(outline, :digits)::json)
         ORDER BY kode), '[]'::json))::text
FROM (
  SELECT id, kode, nama,
         CASE WHEN simple IS NULL OR ST_IsEmpty(simple)
              THEN ST_Simplify(ST_ConvexHull(geom), :tolerance, true) ELSE simple END AS outline
  FROM region, LATERAL (SELECT ST_Simplify(geom, :tolerance) AS simple) simplified
  WHERE level = :level AND geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
    AND (CAST(:everywhere AS boolean) OR kode = ANY(CAST(:kab_kodes AS text[]))
         OR parent_kode = ANY(CAST(:kab_kodes AS text[])))
) areas
""")


def areas_geojson(jurisdiction, level, bbox, zoom, counted):
    """The jurisdiction's areas of `level` touching `bbox`, simplified to about a pixel, as a
    GeoJSON FeatureCollection (text, built by PostGIS). `counted` maps a region id (as text) to the
    properties of an area with reports (suppressed or not); every other area has none: 0."""
    tolerance = pixel_degrees(zoom)
    return db.session.execute(_AREAS_SQL, {
        "counted": json.dumps(counted), "no_reports": json.dumps(area_properties(0, [])),
        "digits": max(2, min(6, len(str(int(1 / tolerance))))), "tolerance": tolerance,
        "level": level.value, "everywhere": jurisdiction.everywhere,
        "kab_kodes": list(jurisdiction.kab_kodes),
        "west": bbox.min_lon, "south": bbox.min_lat, "east": bbox.max_lon, "north": bbox.max_lat,
    }).scalar_one()


def choropleth_json(user, bbox, zoom, selection):
    """The map's answer for `bbox` at `zoom` as JSON text: the level, the period, the legend and
    the areas in view with their bands."""
    level = area_level(zoom)
    jurisdiction = jurisdiction_of(user)
    figures = area_figures(user, jurisdiction, level, selection)
    bands = class_breaks(shown_values(figures))
    counted = {str(area_id): area_properties(n, bands, withheld)
               for area_id, (n, _small, withheld) in figures.items()}
    head = json.dumps({
        "level": level.value, "state": selection.state,
        "legend": legend(bands, selection.shared), "period": selection.period_json(),
    }, ensure_ascii=False)
    # The outlines are already JSON text from PostGIS: spliced in, never parsed and re-written.
    return f'{head[:-1]}, "areas": {areas_geojson(jurisdiction, level, bbox, zoom, counted)}}}'


# --- the page: the table and where the map starts ------------------------------------------------

@dataclass(frozen=True)
class AreaRow:
    kode: str
    nama: str
    band: int | str         # a class number, 0 for "< 3", NO_REPORTS_BAND for 0
    label: str


def area_table(user, selection):
    """Every kabupaten/kota of the user's jurisdiction with its band and count, "< 3", "–" or 0:
    counted areas by count (most first), then the hidden ones by name alone, then those without
    reports by name."""
    jurisdiction = jurisdiction_of(user)
    figures = area_figures(user, jurisdiction, RegionLevel.kabupaten_kota, selection)
    bands = class_breaks(shown_values(figures))
    keyed = []
    for area_id, kode, nama in jurisdiction_areas(jurisdiction):
        n, _small, withheld = figures.get(area_id, (0, False, False))
        props = area_properties(n, bands, withheld)
        # A hidden area sorts with count 0, whatever it really holds.
        row = AreaRow(kode, nama, props["band"], props["label"])
        empty = props["band"] == NO_REPORTS_BAND
        keyed.append(((-props.get("count", 0), empty, nama, kode), row))
    return [row for _key, row in sorted(keyed, key=lambda pair: pair[0])]


def jurisdiction_areas(jurisdiction):
    """[(id, kode, nama)] of the jurisdiction's kabupaten/kota, by code."""
    return db.session.execute(_of_jurisdiction(
        select(Region.id, Region.kode, Region.nama), jurisdiction).order_by(Region.kode)).all()


def _of_jurisdiction(query, jurisdiction):
    """`query` of regions narrowed to the jurisdiction's kabupaten/kota."""
    query = query.where(Region.level == RegionLevel.kabupaten_kota.value)
    if not jurisdiction.everywhere:
        query = query.where(Region.id.in_(jurisdiction.kab_ids))
    return query


def jurisdiction_bounds(user):
    """[[south, west], [north, east]] around the user's kabupaten/kota, or None without any."""
    extent = _of_jurisdiction(select(func.ST_Extent(Region.geom).label("box")),
                              jurisdiction_of(user)).subquery()
    box = extent.c.box
    west, south, east, north = db.session.execute(select(
        func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))).one()
    if west is None:
        return None
    return [[round(south, 4), round(west, 4)], [round(north, 4), round(east, 4)]]
