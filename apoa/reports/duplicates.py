"""Near-duplicate reports: the same thing seen by several residents, close in place and time.

Candidates are found in two steps so the GiST index on report.location does the work: a bounding
box in degrees (`location && ST_Expand(point, dx, dy)`, answered by the index) that is sure to hold
every point within the distance, then the exact test on the spheroid
(`ST_DWithin(location::geography, point::geography, metres)`) for the few rows left. A geography
cast of the column alone could not use the geometry index, and a distance in degrees alone would
be wrong by up to a factor of cos(latitude).

Candidates are only ever reports the user may see (`visible()`): another office's reports never
appear, not even as a count of candidates.
"""
import math
from dataclasses import dataclass
from datetime import timedelta

from geoalchemy2 import Geography
from geoalchemy2.shape import to_shape
from sqlalchemy import case, cast, func, select
from sqlalchemy.orm import defer, joinedload

from apoa.auth.permissions import visible
from apoa.extensions import db
from apoa.reports.models import Report

DEFAULT_METRES = 300
DEFAULT_DAYS = 14
MAX_CANDIDATES = 20
# Metres in one degree: of latitude at least 110,574 (at the equator), of longitude at most
# 111,320 × cos(latitude). Dividing by the smallest length gives the widest box; the margin covers
# the spheroid's small differences from these figures.
METRES_PER_DEGREE_LATITUDE = 110_574
METRES_PER_DEGREE_LONGITUDE_AT_EQUATOR = 111_320
BOX_MARGIN = 1.02


@dataclass(frozen=True)
class Candidate:
    report: Report
    distance_m: int
    same_category: bool


def coordinates(report):
    """(lon, lat) of the report's point, read from the loaded geometry (no query)."""
    point = to_shape(report.location)
    return point.x, point.y


def box_degrees(lat, metres):
    """Half-width and half-height in degrees of a box holding every point within `metres`."""
    cos_lat = max(math.cos(math.radians(min(abs(lat), 89.0))), 1e-6)
    dx = metres / (METRES_PER_DEGREE_LONGITUDE_AT_EQUATOR * cos_lat) * BOX_MARGIN
    dy = metres / METRES_PER_DEGREE_LATITUDE * BOX_MARGIN
    return dx, dy


def nearby_candidates(report, user, metres=DEFAULT_METRES, days=DEFAULT_DAYS, limit=MAX_CANDIDATES):
    """Reports `user` may see within `metres` of `report` and `days` of when it was observed,
    the report itself excluded; same category first, then nearest first."""
    rows = db.session.execute(candidates_query(report, user, metres, days, limit)).all()
    return [Candidate(r, round(d), r.category_id == report.category_id) for r, d in rows]


def candidates_query(report, user, metres=DEFAULT_METRES, days=DEFAULT_DAYS, limit=MAX_CANDIDATES):
    """The query behind nearby_candidates(): rows of (Report, distance in metres)."""
    lon, lat = coordinates(report)
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    dx, dy = box_degrees(lat, metres)
    distance = func.ST_Distance(cast(Report.location, Geography), cast(point, Geography))
    window = timedelta(days=days)
    query = (select(Report, distance.label("distance"))
             .where(Report.id != report.id,
                    Report.location.op("&&")(func.ST_Expand(point, dx, dy)),  # the GiST index
                    func.ST_DWithin(cast(Report.location, Geography), cast(point, Geography),
                                    metres),
                    Report.observed_at.between(report.observed_at - window,
                                               report.observed_at + window))
             .options(joinedload(Report.category), defer(Report.contact))
             .order_by(case((Report.category_id == report.category_id, 0), else_=1), distance,
                       Report.id)
             .limit(limit))
    return visible(query, user)


def corroborations(report):
    """How many reports were marked as duplicates of this one (decided or awaiting approval).

    A count of every such report, whichever office it belongs to: it says how many residents saw
    the same thing, and names none of them.
    """
    return db.session.scalar(select(func.count()).where(Report.duplicate_of_id == report.id))
