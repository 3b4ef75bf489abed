"""The officers' map data, loaded by bounding box: grid-cell clusters when zoomed out, individual
reports when zoomed in, so no answer ever carries every point.

Access is decided here from apoa/auth/permissions.py only:
- individual points (zoom >= POINTS_ZOOM) go to users with view_report, over `visible()` reports;
- clusters go to users with view_report (over `visible()`) or view_aggregates (over the reports of
  their jurisdiction, `jurisdiction_office_ids()`), and carry cell centres and counts only, never a
  report's coordinates, id or reporter; for who sees aggregates only, a cell or state with fewer
  than MIN_SHOWN_COUNT reports is shown as "few" without its count.
The bounding box only narrows what the jurisdiction already allows: a crafted box over another
office's area returns nothing.
"""
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from flask import url_for
from flask_babel import lazy_gettext as _l, to_user_timezone
from sqlalchemy import func, select

from apoa.auth.permissions import Permission, can, visible
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.maps.models import report_grid
from apoa.reports import tracking
from apoa.reports.models import Report
from apoa.reports.queries import QueueFilters, filtered

POINTS_ZOOM = 14        # from this zoom on, users who may view reports get individual points
MAX_ZOOM = 20
# Cells never get finer than at this zoom (about 1.2 km at the equator): a cell of a few metres
# holding one report would give away where it is, which a regional head must not learn.
FINEST_CLUSTER_ZOOM = POINTS_ZOOM - 1
CELLS_PER_TILE = 4      # a 256 px tile split 4 × 4: cells of about 64 px
MAX_POINTS = 2000
# A point's popup names its category and how long ago it was received (minutes before the
# answer, so the browser's clock does not matter), besides its code, status and link.
POINT_COLUMNS = ("id", "code", "state", "lat", "lon", "category", "age_minutes")
POINT_DIGITS = 5        # about a metre: what a field team can walk to
MAX_CELLS = 5000
# At this zoom and coarser, clusters are summed from the report_grid rollup (migration 0006).
GRID_ZOOM = 9
HEAT_DAYS = 30
MIN_SHOWN_COUNT = 3     # DESIGN's k: fewer reports than this are shown as "< 3" to regional heads


@dataclass(frozen=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


def parse_bbox(raw):
    """`minlon,minlat,maxlon,maxlat` as a BBox, clamped to the world; UserValueError otherwise."""
    parts = (raw or "").split(",")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise UserValueError(_l("The map area (bbox) must be four numbers: "
                                "west longitude, south latitude, east longitude, north latitude."))
    min_lon, min_lat, max_lon, max_lat = values
    # A map panned past the date line or the poles asks for more than the world: clamp it.
    bbox = BBox(_clamp(min_lon, 180), _clamp(min_lat, 90), _clamp(max_lon, 180),
                _clamp(max_lat, 90))
    if not (bbox.min_lon < bbox.max_lon and bbox.min_lat < bbox.max_lat):
        raise UserValueError(_l("The map area (bbox) is empty: the west and south edges must be "
                                "smaller than the east and north edges."))
    return bbox


def _clamp(value, limit):
    return max(-limit, min(limit, value))


def parse_zoom(raw):
    try:
        zoom = int(raw)
    except (TypeError, ValueError):
        zoom = None
    if zoom is None or not 0 <= zoom <= MAX_ZOOM:
        raise UserValueError(_l("The zoom level must be a whole number from 0 to %(max)d.",
                                max=MAX_ZOOM))
    return zoom


def cell_size(zoom):
    """The side of a grid cell in degrees at `zoom` (about 64 px on screen), never finer than at
    FINEST_CLUSTER_ZOOM."""
    return 360.0 / 2 ** min(zoom, FINEST_CLUSTER_ZOOM) / CELLS_PER_TILE


def map_data(user, bbox, zoom, filters=None, heat=False):
    """What the map shows of `bbox` at `zoom` for `user`: a JSON-ready dict, or None when the user
    may see neither reports nor aggregates. `heat` asks for the heat map: cells of the last
    HEAT_DAYS days at any zoom."""
    filters = filters or QueueFilters()
    if heat:
        filters = replace(filters, received_from=heat_since(), received_to=None)
    if can(user, Permission.view_report):
        if zoom >= POINTS_ZOOM and not heat:
            return points(user, bbox, filters)
        return clusters(user, bbox, zoom, filters, Permission.view_report)
    if can(user, Permission.view_aggregates):
        data = clusters(user, bbox, zoom, filters, Permission.view_aggregates)
        return suppress_small_counts(data)
    return None


def heat_since():
    """The first day the heat map counts (the interface's time zone)."""
    return to_user_timezone(datetime.now(timezone.utc)).date() - timedelta(days=HEAT_DAYS - 1)


def _in_bbox(bbox):
    # `&&` against an envelope: the GiST index on report.location answers it.
    envelope = func.ST_MakeEnvelope(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat, 4326)
    return Report.location.op("&&")(envelope)


def points(user, bbox, filters):
    """The newest MAX_POINTS reports in the box, as compact rows (the answer of a dense street
    stays small): `columns` names the fields, `url` + id opens a report, `category` is a
    category id (the page has their names)."""
    now = datetime.now(timezone.utc)
    # The box is searched first and the jurisdiction tested on what it finds: tested together,
    # the planner builds a bitmap of every report of the office before intersecting it with
    # the box.
    in_box = (select(Report.id, Report.tracking_code, Report.state, Report.office_id,
                     Report.category_id, Report.created_at,
                     func.ST_X(Report.location).label("lon"),
                     func.ST_Y(Report.location).label("lat"))
              .where(_in_bbox(bbox)))
    in_box = filtered(in_box, filters, user, now).cte("in_box").prefix_with("MATERIALIZED")
    c = in_box.c
    query = (select(c.id, c.tracking_code, c.state, c.lat, c.lon, c.category_id, c.created_at)
             .order_by(c.id.desc()).limit(MAX_POINTS + 1))
    rows = db.session.execute(visible(query, user, report_entity=c)).all()
    return {"kind": "points", "columns": list(POINT_COLUMNS),
            "url": url_for("officer.report_page", report_id=0).removesuffix("0"),
            "rows": [[id_, tracking.display(code), state, round(lat, POINT_DIGITS),
                      round(lon, POINT_DIGITS), category_id, _minutes_between(created, now)]
                     for id_, code, state, lat, lon, category_id, created in rows[:MAX_POINTS]],
            "truncated": len(rows) > MAX_POINTS}


def _minutes_between(earlier, later):
    return max(0, int((later - earlier).total_seconds() // 60))


def clusters(user, bbox, zoom, filters, permission):
    """Counts per grid cell, split by state, computed in PostGIS; each cell is named by its centre.
    Zoomed out with only state and category filters, the counts come from the report_grid rollup;
    otherwise from the reports themselves."""
    if zoom <= GRID_ZOOM and answerable_from_grid(filters):
        per_state = _grid_counts(user, bbox, zoom, filters, permission)
    else:
        per_state = _report_counts(user, bbox, zoom, filters, permission)
    total = func.sum(per_state.c.n).label("total")
    query = (select(per_state.c.i, per_state.c.j, total,
                    func.jsonb_object_agg(per_state.c.state, per_state.c.n))
             .group_by(per_state.c.i, per_state.c.j).having(total > 0)
             .order_by(total.desc(), per_state.c.i, per_state.c.j).limit(MAX_CELLS + 1))
    rows = db.session.execute(query).all()
    cell = cell_size(zoom)
    cells = [{"lon": _centre(ci, cell), "lat": _centre(cj, cell), "count": int(n),
              "states": {state: int(count) for state, count in states.items() if count}}
             for ci, cj, n, states in rows[:MAX_CELLS]]
    return {"kind": "clusters", "cell": cell, "cells": cells, "truncated": len(rows) > MAX_CELLS}


def answerable_from_grid(filters):
    """Whether the rollup holds what these filters ask: it knows state and category, not dates,
    regions, due times or assignees."""
    return filters == QueueFilters(state=filters.state, category_id=filters.category_id,
                                   sort=filters.sort)


def _report_counts(user, bbox, zoom, filters, permission):
    cell = cell_size(zoom)
    i = func.floor(func.ST_X(Report.location) / cell).label("i")
    j = func.floor(func.ST_Y(Report.location) / cell).label("j")
    query = select(i, j, Report.state.label("state"), func.count().label("n")).where(_in_bbox(bbox))
    query = filtered(query, filters, user, datetime.now(timezone.utc))
    return visible(query, user, permission=permission).group_by(i, j, Report.state).subquery()


def _grid_counts(user, bbox, zoom, filters, permission):
    # A cell at `zoom` spans 2^shift grid cells: its index is the grid index shifted right, which
    # is floor division for negative indexes too.
    shift = GRID_ZOOM - zoom
    grid = report_grid.c
    i = grid.i.op(">>")(shift).label("i")
    j = grid.j.op(">>")(shift).label("j")
    query = (select(i, j, grid.state.label("state"), func.sum(grid.reports).label("n"))
             .where(grid.i.between(*_grid_span(bbox.min_lon, bbox.max_lon)),
                    grid.j.between(*_grid_span(bbox.min_lat, bbox.max_lat))))
    if filters.state:
        query = query.where(grid.state == filters.state)
    if filters.category_id:
        query = query.where(grid.category_id == filters.category_id)
    return (visible(query, user, report_entity=grid, permission=permission)
            .group_by(i, j, grid.state).subquery())


def _grid_span(low, high):
    cell = cell_size(GRID_ZOOM)
    return math.floor(low / cell), math.floor(high / cell)


def suppress_small_counts(data):
    """Cells for who sees aggregates only: a cell, or a state within it, with fewer than
    MIN_SHOWN_COUNT reports is shown as "few", never with its exact count (DESIGN: privacy)."""
    for cell in data["cells"]:
        if cell["count"] < MIN_SHOWN_COUNT:
            cell["count"] = None
            cell["few"] = True
            cell["states"] = {}
        else:
            cell["states"] = {state: n for state, n in cell["states"].items()
                              if n >= MIN_SHOWN_COUNT}
    return data


def _centre(index, cell):
    return round((int(index) + 0.5) * cell, 6)
