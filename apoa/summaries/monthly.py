"""The monthly report: one calendar month of an office (a Kantor Imigrasi), of a region (a Kanwil
and the offices below it) or of the whole country (the Ditjen), as a printable page and a PDF of
the same HTML, so a head can send it upward without retyping anything.

The figures are the dashboard's (`figures.summary`), the charts its SVG charts (`charts.py`), and
the map an SVG drawn from PostGIS here: the kabupaten/kota outlines of the jurisdiction, filled by
the month's count band, with a legend — no tiles, so it renders offline and inside the PDF.

Its last section is the foreign guests reported by lodgings (apoa/guests/figures.py): check-ins
and guest nights per kabupaten/kota and nationality, the weeks of the month and the top
nationalities, with GUEST_COLUMNS nationalities given a column of their own (as many as fit A4).
Then the residents' satisfaction index of the month (IKM, apoa/feedback/skm.py), withheld below
3 answers.

A monthly report leaves the office (DESIGN.md, privacy): it is always the aggregate view, whoever
prints it (`figures.shared_figures`). Counts from 1 to 2 read "< 3", the counts that would give
one back by subtraction are withheld ("–", apoa/summaries/suppression.py), figures resting on
hidden counts are withheld, and no officer is named, also when a supervisor (who may view
reports) prints it. Only months that have ended are reported: a month still running would grow
day by day, and two printouts a day apart would give that day's counts.
"""
import logging
import math
import mimetypes
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from flask_babel import format_date, format_decimal, gettext as _, lazy_gettext as _l
from markupsafe import Markup
from PIL import ImageFile
from sqlalchemy import func, select
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from apoa.auth.permissions import ALL_OFFICES
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.feedback.skm import ikm
from apoa.guests.figures import guest_figures
from apoa.regions.models import Region, RegionLevel, office_region
from apoa.summaries import charts, figures
from apoa.summaries.figures import K, WITHHELD
from apoa.summaries.suppression import month_of
from apoa.periods import EARLIEST, Period, add_months, local_today

# WeasyPrint turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES when it is imported, which would
# let a resident's truncated photo through apoa/reports/photos.py. Our PDFs embed no raster image
# (charts and map are SVG), so the flag goes back to Pillow's safe default.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# The app's stylesheets are written for browsers: WeasyPrint warns about every screen-size media
# query and browser-only property in them (some twenty lines per PDF). Only its errors are kept.
logging.getLogger("weasyprint").setLevel(logging.ERROR)

MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
MAP_WIDTH = 600           # SVG user units (pixels at 100 %); the page scales it to fit
LEGEND_ROW = 24
NO_REPORTS_FILL, FEW_FILL, WITHHELD_FILL = "#f1f3f5", "#dbe5f0", "#c4c8cf"
BAND_FILLS = ("#9ecae1", "#6baed6", "#3182bd", "#08519c")
# Lower ends of the colour bands: nice numbers from 3 (below it a count is "< 3").
BAND_LADDER = (3, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000)
# Nationalities with a column of their own in the foreign guests' table: as many as fit A4.
GUEST_COLUMNS = 3


# --- the month asked for --------------------------------------------------------------------------

def parse_month(raw, today=None):
    """The month `raw` names ("2026-10") as a Period of its days; no value means last month.
    UserValueError with a message saying what to write for anything else, and for a month that
    has not ended (see the module docstring)."""
    today = today or local_today()
    raw = (raw or "").strip()
    if not raw:
        return month_period(add_months(today.replace(day=1), -1))
    match = MONTH_PATTERN.fullmatch(raw)
    if not match or not 1 <= int(match[2]) <= 12:
        raise UserValueError(_l("“%(value)s” is not a month: write the month as YYYY-MM, "
                                "for example 2026-10.", value=raw[:20]))
    # The year is checked before it makes a date: year 0 has none.
    if int(match[1]) < EARLIEST.year:
        raise UserValueError(_l("Choose a month from %(year)d on.", year=EARLIEST.year))
    first = date(int(match[1]), int(match[2]), 1)
    if add_months(first, 1) > today:
        raise UserValueError(_l("%(month)s is not over yet: figures shared outside the office "
                                "cover whole months only. Choose an earlier month.",
                                month=format_date(first, "MMMM yyyy")))
    return month_period(first)


def month_period(first):
    """The days of the month starting on `first`, compared with the month before."""
    return month_of(first)


def months_to_choose(today=None, count=24):
    """The latest `count` months that have ended as (value, title), newest first, for the month
    chooser."""
    first = (today or local_today()).replace(day=1)
    months = [add_months(first, -k) for k in range(1, count + 1)]
    return [(m.strftime("%Y-%m"), format_date(m, "MMMM yyyy")) for m in months]


# --- the report ----------------------------------------------------------------------------------

@dataclass
class MonthlyReport:
    month: Period
    title: str                  # "Oktober 2026"
    office_id: int | None
    summary: figures.Summary    # the aggregate view (as_shared)
    charts: dict                # charts.summary_charts(summary)
    map: Markup                 # the choropleth SVG with its legend
    generated_at: datetime
    month_complete: bool        # False while the month is still running
    guests: object = None       # apoa.guests.figures.GuestFigures, always suppressed
    ikm: object = None          # apoa.feedback.skm.Ikm of the month


def monthly_report(user, month, office_id=None, today=None):
    """The MonthlyReport of `month` for `user`, over the user's jurisdiction or `office_id` within
    it. NotFound when the user may not see aggregates (or that office)."""
    scope = figures.scope_for(user, office_id)
    summary = figures.shared_figures(user, month, office_id)
    title = format_date(month.start, "MMMM yyyy")
    return MonthlyReport(
        month=month, title=title, office_id=office_id, summary=summary,
        charts=charts.summary_charts(summary),
        map=kabupaten_map(scope, summary.by_kabupaten,
                          _("Reports received per regency/city, %(month)s", month=title)),
        generated_at=datetime.now(timezone.utc),
        month_complete=month.end <= (today or local_today()),
        guests=guest_figures(user, month, office_id, suppress=True, today=today,
                             table_columns=GUEST_COLUMNS),
        ikm=ikm(scope.office_ids, month.start, month.end))


# --- the map -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Band:
    label: str
    fill: str
    low: int | None = None      # None: the "no reports" and "< 3" bands
    high: int | None = None     # excluded; None: open-ended


def count_bands(top):
    """The colour bands for counts up to `top`: "0", "< 3", withheld ("–", beside a "< 3"), then
    up to four ranges from 3."""
    lows = [v for v in BAND_LADDER if v <= max(top, K)]
    if len(lows) > len(BAND_FILLS):
        rest = lows[1:]
        step = (len(rest) - 1) / (len(BAND_FILLS) - 2)
        lows = [lows[0]] + [rest[round(k * step)] for k in range(len(BAND_FILLS) - 1)]
    bands = [Band(_("No reports"), NO_REPORTS_FILL), Band(f"< {K}", FEW_FILL),
             Band(_("%(mark)s (left out)", mark=WITHHELD), WITHHELD_FILL)]
    for index, low in enumerate(lows):
        high = lows[index + 1] if index + 1 < len(lows) else None
        label = (f"{format_decimal(low)}–{format_decimal(high - 1)}" if high
                 else f"≥ {format_decimal(low)}")
        bands.append(Band(label, BAND_FILLS[index], low, high))
    return bands


def band_of(count, bands):
    """The band of a Count (None: no row, i.e. no reports)."""
    if count is None or count.value == 0:
        return bands[0]
    if count.suppressed:
        return bands[1]
    if count.withheld:
        return bands[2]
    return next(b for b in bands[3:]
                if b.low <= count.value and (b.high is None or count.value < b.high))


def kabupaten_map(scope, rows, title):
    """An SVG map of the kabupaten/kota of `scope` (figures.Scope), each filled by the band of its
    received count in `rows` (Summary.by_kabupaten), with a legend; Markup."""
    counts = {row.key: row.received for row in rows if row.key is not None}
    outlines = kabupaten_outlines(jurisdiction_kabupaten(scope) | set(counts))
    top = max([c.shown for c in counts.values() if c.shown is not None] + [0])
    bands = count_bands(top)
    if outlines is None:
        return Markup('<p class="map-empty">{}</p>').format(
            _("This jurisdiction has no regency/city to draw."))
    height, paths = outlines
    shapes = Markup("").join(
        Markup('<path d="{d}" fill="{fill}" stroke="#ffffff" stroke-width="0.6" '
               'stroke-linejoin="round"><title>{name}: {count}</title></path>').format(
            d=d, fill=band_of(counts.get(region_id), bands).fill, name=name,
            count=counts.get(region_id) or 0)
        for region_id, name, d in paths)
    return _map_svg(title, height, shapes, bands)


def _map_svg(title, height, shapes, bands):
    """The map (y from −height to 0) with the legend below it (y from 0)."""
    legend = Markup("").join(
        Markup('<rect x="0" y="{y}" width="20" height="14" fill="{fill}" stroke="#8a8f98" '
               'stroke-width="0.5"/><text x="28" y="{ty}">{label}</text>').format(
            y=y, ty=y + 12, fill=band.fill, label=band.label)
        for y, band in ((LEGEND_ROW // 2 + k * LEGEND_ROW, band) for k, band in enumerate(bands)))
    description = _("Regencies/cities filled by the number of reports received: %(bands)s.",
                    bands=", ".join(b.label for b in bands))
    return Markup(
        '<figure class="monthly-map"><svg class="map-svg" xmlns="http://www.w3.org/2000/svg" '
        'role="img" aria-labelledby="monthly-map-title monthly-map-desc" '
        'viewBox="0 {top:.1f} {w} {h:.1f}" width="100%" '
        'font-size="15" font-family="DejaVu Sans, sans-serif" fill="#1f2430">'
        '<title id="monthly-map-title">{title}</title><desc id="monthly-map-desc">{desc}</desc>'
        '<g class="monthly-areas">{shapes}</g><g class="monthly-legend">{legend}</g></svg>'
        '<figcaption>{title}</figcaption></figure>'
    ).format(top=-height, w=MAP_WIDTH, h=height + (len(bands) + 1) * LEGEND_ROW, title=title,
             desc=description, shapes=shapes, legend=legend)


def jurisdiction_kabupaten(scope):
    """Ids of the kabupaten/kota in the offices of `scope` (all of them for ALL_OFFICES)."""
    if scope.office_ids is ALL_OFFICES:
        query = select(Region.id).where(Region.level == RegionLevel.kabupaten_kota.value)
    else:
        query = select(office_region.c.region_id).where(
            office_region.c.office_id.in_(sorted(scope.office_ids) or [-1]))
    return set(db.session.scalars(query).all())


def kabupaten_outlines(region_ids):
    """(height, [(id, nama, svg path)]) of the regions, projected by PostGIS into a MAP_WIDTH-wide
    picture (equirectangular, shrunk by the cosine of the middle latitude) and simplified to about
    a pixel; None when there is nothing to draw. ST_AsSVG flips y: the picture spans
    y ∈ [−height, 0]."""
    ids = sorted(region_ids)
    if not ids:
        return None
    box = func.ST_Extent(Region.geom)
    west, south, east, north = db.session.execute(
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
        .where(Region.id.in_(ids))).one()
    if west is None or east <= west or north <= south:
        return None
    shrink = math.cos(math.radians((south + north) / 2))
    scale = MAP_WIDTH / ((east - west) * shrink)
    shape = func.ST_TransScale(func.ST_SimplifyPreserveTopology(Region.geom, 1 / scale),
                               -west, -south, shrink * scale, scale)
    rows = db.session.execute(select(Region.id, Region.nama, func.ST_AsSVG(shape, 0, 1))
                              .where(Region.id.in_(ids)).order_by(Region.kode)).all()
    return (north - south) * scale, [(i, name, d) for i, name, d in rows if d]


# --- the PDF -------------------------------------------------------------------------------------

class StaticFilesOnly(URLFetcher):
    """What WeasyPrint may load while rendering: the app's own static files, read from disk.
    Anything else (another host, file:, data: beyond what the page holds) is refused, so a PDF
    never depends on the network and never reaches out of the app."""

    def __init__(self, static_url, static_folder):
        super().__init__(fail_on_errors=False)
        self.static_url, self.static_folder = static_url, Path(static_folder).resolve()

    def fetch(self, url, headers=None):
        if not url.startswith(self.static_url):
            raise ValueError(f"not a static file of the app: {url[:80]}")
        path = (self.static_folder / url[len(self.static_url):].split("?")[0]).resolve()
        if self.static_folder not in path.parents or not path.is_file():
            raise ValueError(f"no such static file: {url[:80]}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})


def render_pdf(html, root_url, static_url_path, static_folder):
    """The PDF of a page of the app (its HTML, with its stylesheets read from `static_folder`)."""
    fetcher = StaticFilesOnly(root_url.rstrip("/") + static_url_path.rstrip("/") + "/",
                              static_folder)
    return HTML(string=html, base_url=root_url, url_fetcher=fetcher).write_pdf()
