"""The printable field sheet of a report: what an officer takes to a field check on paper.

The facts of the report (never the reporter's identity or contact: those leave the app only
through the audited reveal), a small map drawn by PostGIS as SVG (the point within its kecamatan's
outline; the app may have no internet, so no tiles), and a QR code back to the report's page.
Printing it is audited like every document that leaves the app.
"""
import math
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import url_for
from sqlalchemy import func, select

from apoa.audit.services import record
from apoa.auth.totp import qr_svg
from apoa.extensions import db
from apoa.regions.models import Region
from apoa.reports.duplicates import coordinates
from apoa.reports.models import Report, ReportEvent
from apoa.reports.workflow import Action

# The map is drawn in Web Mercator (EPSG:3857), whose units are metres at the equator: at
# Indonesia's latitudes (within 11° of it) its scale differs from the ground's by under 2%, and
# the scale bar corrects even that.
MERCATOR = 3857
# Room around the kecamatan, as a share of its size; the frame without a kecamatan, in metres.
MARGIN = 0.08
NO_OUTLINE_HALF_SIDE = 1000
# The outline is simplified to about this many steps across the frame: enough for paper.
OUTLINE_DETAIL = 600
SCALE_LENGTHS_M = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)


@dataclass(frozen=True)
class SheetMap:
    """An SVG map in view-box units (Mercator metres, y pointing down as SVG wants)."""

    view_box: tuple      # (x, y, width, height)
    outline: str | None  # SVG path data of the kecamatan, or None
    x: float
    y: float
    scale_length: float  # the scale bar's length in view-box units
    scale_label: str     # "500 m", "2 km"

    @property
    def side(self):
        return self.view_box[2]

    def view_box_text(self):
        return " ".join(f"{value:.1f}" for value in self.view_box)


@dataclass(frozen=True)
class FieldSheet:
    report: Report
    lat: float
    lon: float
    map: SheetMap
    qr: str
    url: str
    assignee: str | None
    instructions: str | None
    printed_at: datetime


def print_field_sheet(report, actor, assignee_name=None):
    """The field sheet of `report` for `actor` (who may see it: the view checked); audited as
    "report.field_sheet". Flushes, never commits."""
    lon, lat = coordinates(report)
    url = url_for("officer.report_page", report_id=report.id, _external=True)
    sheet = FieldSheet(report=report, lat=lat, lon=lon, map=sheet_map(report, lat), qr=qr_svg(url),
                       url=url, assignee=assignee_name, instructions=assignment_note(report),
                       printed_at=datetime.now(timezone.utc))
    record("report.field_sheet", f"report:{report.id}", None, actor=actor)
    return sheet


def assignment_note(report):
    """The supervisor's note of the latest assignment: the instructions for the field check."""
    return db.session.scalar(select(ReportEvent.note).where(
        ReportEvent.report_id == report.id, ReportEvent.action == Action.assign.value)
        .order_by(ReportEvent.id.desc()).limit(1))


def sheet_map(report, lat):
    """The point within its kecamatan (or within 1 km around it when it has none), framed square."""
    x, y = _mercator_point(report)
    outline, box = _kecamatan_outline(report.kec_id) if report.kec_id else (None, None)
    if box is None:
        box = (x - NO_OUTLINE_HALF_SIDE, y - NO_OUTLINE_HALF_SIDE,
               x + NO_OUTLINE_HALF_SIDE, y + NO_OUTLINE_HALF_SIDE)
    xmin, ymin = min(box[0], x), min(box[1], y)
    xmax, ymax = max(box[2], x), max(box[3], y)
    side = max(xmax - xmin, ymax - ymin) * (1 + 2 * MARGIN)
    centre_x, centre_y = (xmin + xmax) / 2, (ymin + ymax) / 2
    length_m = scale_length(side, lat)
    return SheetMap(view_box=(centre_x - side / 2, -(centre_y + side / 2), side, side),
                    outline=outline, x=x, y=-y, scale_length=length_m / ground_factor(lat),
                    scale_label=metres_label(length_m))


def _mercator_point(report):
    point = func.ST_Transform(Report.location, MERCATOR)
    return tuple(db.session.execute(select(func.ST_X(point), func.ST_Y(point))
                                    .where(Report.id == report.id)).one())


def _kecamatan_outline(region_id):
    """(SVG path data, (xmin, ymin, xmax, ymax)) of a region in Mercator metres, simplified for a
    small map; the path's y is negated (ST_AsSVG), as SVG's y points down."""
    shape = (select(func.ST_Transform(Region.geom, MERCATOR).label("g"))
             .where(Region.id == region_id).cte("shape"))
    g = shape.c.g
    size = func.greatest(func.ST_XMax(g) - func.ST_XMin(g), func.ST_YMax(g) - func.ST_YMin(g))
    row = db.session.execute(select(
        func.ST_AsSVG(func.ST_SimplifyPreserveTopology(g, size / OUTLINE_DETAIL), 0, 1),
        func.ST_XMin(g), func.ST_YMin(g), func.ST_XMax(g), func.ST_YMax(g))).first()
    if row is None:
        return None, None
    return row[0], tuple(row[1:])


def ground_factor(lat):
    """Ground metres per Mercator metre at latitude `lat`."""
    return math.cos(math.radians(lat))


def scale_length(side, lat):
    """A round length on the ground (metres) about a quarter of the map's width or less."""
    ground_side = side * ground_factor(lat)
    fitting = [length for length in SCALE_LENGTHS_M if length <= ground_side / 4]
    return fitting[-1] if fitting else SCALE_LENGTHS_M[0]


def metres_label(metres):
    return f"{metres // 1000} km" if metres >= 1000 else f"{metres} m"
