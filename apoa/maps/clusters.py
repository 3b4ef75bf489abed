"""The officers' map data, loaded by bounding box: grid-cell clusters when zoomed out, individual
reports when zoomed in, so no answer ever carries every point.

Access is decided here from apoa/auth/permissions.py only:
- individual points (zoom >= POINTS_ZOOM) go to users with view_report, over `visible()` reports;
- clusters go to users with view_report (over `visible()`) or view_aggregates (over the reports of
  their jurisdiction, `jurisdiction_office_ids()`), and carry cell centres and counts only, never a
  report's coordinates, id or reporter.
The bounding box only narrows what the jurisdiction already allows: a crafted box over another
office's area returns nothing.
"""
import math
from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from apoa.auth.permissions import Permission, can, visible
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.reports.models import Report
from apoa.reports.queries import QueueFilters, filtered
from apoa.reports.states import State

POINTS_ZOOM = 14        # from this zoom on, users who may view reports get individual points
MAX_ZOOM = 20
# Cells never get finer than at this zoom (about 1.2 km at the equator): a cell of a few metres
# holding one report would give away where it is, which a regional head must not learn.
FINEST_CLUSTER_ZOOM = POINTS_ZOOM - 1
CELLS_PER_TILE = 4      # a 256 px tile split 4 × 4: cells of about 64 px
MAX_POINTS = 2000
MAX_CELLS = 5000


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
    bbox = BBox(_clamp(min_lon, 180), _clamp(min_lat, 90), _clamp(max_lon, 180), _clamp(max_lat, 90))
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
        raise UserValueError(_l("The zoom level must be a whole number from 0 to %(max)d.", max=MAX_ZOOM))
    return zoom


def parse_filters(args):
    """The map's filters (state, category) as the queue's QueueFilters; UserValueError if unknown."""
    state = args.get("state") or None
    if state is not None and state not in {s.value for s in State}:
        raise UserValueError(_l("Unknown report state."))
    category = args.get("category") or None
    if category is not None:
        try:
            category = int(category)
        except ValueError:
            raise UserValueError(_l("Unknown category.")) from None
    return QueueFilters(state=state, category_id=category)


def cell_size(zoom):
    """The side of a grid cell in degrees at `zoom` (about 64 px on screen), never finer than at
    FINEST_CLUSTER_ZOOM."""
    return 360.0 / 2 ** min(zoom, FINEST_CLUSTER_ZOOM) / CELLS_PER_TILE


def map_data(user, bbox, zoom, filters=None):
    """What the map shows of `bbox` at `zoom` for `user`: a JSON-ready dict, or None when the user
    may see neither reports nor aggregates."""
    filters = filters or QueueFilters()
    if can(user, Permission.view_report):
        if zoom >= POINTS_ZOOM:
            return points(user, bbox, filters)
        return clusters(user, bbox, zoom, filters, lambda q: visible(q, user))
    if can(user, Permission.view_aggregates):
        return clusters(user, bbox, zoom, filters, lambda q: visible(q, user, permission=Permission.view_aggregates))
    return None


def _in_bbox(bbox):
    # `&&` against an envelope: the GiST index on report.location answers it.
    envelope = func.ST_MakeEnvelope(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat, 4326)
    return Report.location.op("&&")(envelope)


def points(user, bbox, filters):
    query = (select(Report.id, Report.state, func.ST_X(Report.location), func.ST_Y(Report.location))
             .where(_in_bbox(bbox)).order_by(Report.id.desc()).limit(MAX_POINTS + 1))
    query = visible(filtered(query, filters, user, None), user)
    rows = db.session.execute(query).all()
    features = [{"id": id_, "lat": lat, "lon": lon, "state": state,
                 "url": url_for("officer.report_page", report_id=id_)}
                for id_, state, lon, lat in rows[:MAX_POINTS]]
    return {"kind": "points", "features": features, "truncated": len(rows) > MAX_POINTS}


def clusters(user, bbox, zoom, filters, narrow):
    """Counts per grid cell, split by state, computed in PostGIS; each cell is named by its centre."""
    cell = cell_size(zoom)
    i = func.floor(func.ST_X(Report.location) / cell).label("i")
    j = func.floor(func.ST_Y(Report.location) / cell).label("j")
    per_state = (select(i, j, Report.state.label("state"), func.count().label("n"))
                 .where(_in_bbox(bbox)))
    per_state = narrow(filtered(per_state, filters, user, None)).group_by(i, j, Report.state).subquery()
    total = func.sum(per_state.c.n).label("total")
    query = (select(per_state.c.i, per_state.c.j, total,
                    func.jsonb_object_agg(per_state.c.state, per_state.c.n))
             .group_by(per_state.c.i, per_state.c.j)
             .order_by(total.desc(), per_state.c.i, per_state.c.j).limit(MAX_CELLS + 1))
    rows = db.session.execute(query).all()
    cells = [{"lon": _centre(ci, cell), "lat": _centre(cj, cell), "count": int(n),
              "states": {state: int(count) for state, count in states.items()}}
             for ci, cj, n, states in rows[:MAX_CELLS]]
    return {"kind": "clusters", "cell": cell, "cells": cells, "truncated": len(rows) > MAX_CELLS}


def _centre(index, cell):
    return round((int(index) + 0.5) * cell, 6)
