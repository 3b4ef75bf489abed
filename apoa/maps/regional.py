"""The regional heads' choropleth: report counts per kabupaten/kota (per kecamatan when zoomed in)
for a period and an optional state, over the areas of the user's jurisdiction. The other layers
(an indicator, or a rate such as reports per 100,000 residents) are apoa/indicators/layers.py's,
drawn with this module's jurisdiction, counts and outlines.

Privacy. An area with 1 or 2 reports (fewer than SUPPRESS_BELOW) is "< 3": its features and
table rows carry that label and band 0, never the number, and nothing else tells 1 from 2 —
features are ordered by code and the table sorts all suppressed areas by name, never by their
count. An area without any report shows 0 (band "none"): zero names no one, and a map that called
an empty regency "< 3" sent heads looking for reports that were not there. No total is given (a
total minus the shown counts would give the suppressed ones back).

Access. Counts come from `visible(..., permission=view_aggregates)`; the areas drawn are those
of the user's jurisdiction (a Kantor's kabupaten/kota in office_region, a Kanwil's Kantor's, all
of them for the Ditjen), so a bounding box over another office's area finds nothing to draw and
no count to put on it.

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
from dataclasses import dataclass

from flask_babel import format_number, lazy_gettext as _l
from sqlalchemy import func, select, text

from apoa.auth.permissions import ALL_OFFICES, Permission, can, jurisdiction_office_ids, visible
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.maps.basemap import KECAMATAN_FROM_ZOOM, pixel_degrees
from apoa.periods import Preset, custom_period, preset_period
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


# --- what the user chose -------------------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    period: object          # an apoa.periods.Period
    state: str | None = None
    # What the areas are coloured by: REPORTS_LAYER (drawn here), else an indicator or a rate
    # (apoa/indicators/layers.py), of `year` (None: the latest imported).
    layer: str = REPORTS_LAYER
    year: int | None = None

    @property
    def period_key(self):
        return KEY_OF_PRESET[self.period.preset]

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


def legend(bands):
    """The legend's entries: no reports, then the suppressed band, then the counted ones."""
    return ([{"band": NO_REPORTS_BAND, "label": format_number(0)},
             {"band": 0, "label": SUPPRESSED_LABEL}]
            + [{"band": b.number, "label": b.label, "min": b.low, "max": b.high} for b in bands])


def area_properties(count, bands):
    """What a map feature or a table row says about an area's count: band and label, and the
    count itself only when it is at least SUPPRESS_BELOW (0 is labelled "0", never "< 3")."""
    if count == 0:
        return {"band": NO_REPORTS_BAND, "label": format_number(0)}
    if count < SUPPRESS_BELOW:
        return {"band": 0, "label": SUPPRESSED_LABEL}
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
    counts = area_counts(user, jurisdiction, level, selection)
    bands = class_breaks(counts.values())
    counted = {str(area_id): area_properties(n, bands) for area_id, n in counts.items() if n}
    head = json.dumps({
        "level": level.value, "state": selection.state, "legend": legend(bands),
        "period": {"key": selection.period_key, "first": selection.period.first.isoformat(),
                   "last": selection.period.last.isoformat()},
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
    """Every kabupaten/kota of the user's jurisdiction with its band and count, "< 3" or 0:
    counted areas by count (most first), then the suppressed ones by name alone, then those
    without reports by name."""
    jurisdiction = jurisdiction_of(user)
    counts = area_counts(user, jurisdiction, RegionLevel.kabupaten_kota, selection)
    bands = class_breaks(counts.values())
    keyed = []
    for area_id, kode, nama in jurisdiction_areas(jurisdiction):
        props = area_properties(counts.get(area_id, 0), bands)
        # A suppressed area sorts with count 0, whatever it really holds.
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
