"""The officers' map at street zoom, in tiles: the reports of one z/x/y map tile (Leaflet's
numbering, 256 px), for who may view reports, narrowed by the queue's filters.

Why tiles rather than one answer per view: a tile is a fixed address, so its answer is small (the
densest 256 px tile at zoom 16 holds a few hundred reports, where a whole window held thousands
and was cut at 2,000), the browser asks for the tiles of a view in parallel and asks again only
for the tiles a pan uncovers, and a tile the page already holds is answered 304 by its ETag. The
rows are built as JSON text by PostgreSQL in the statement that finds them, from an index that
holds every column they need (migration 0025: a tile is one range of it, read without the table):
no Python per report.

Access is the same as for points by bounding box (apoa/maps/clusters.py): `visible()` over the
reports, only for view_report, only at zoom >= POINTS_ZOOM. Like every signed-in answer, a tile is
`private, no-store` (and `Vary: Cookie`): no browser or proxy cache keeps it, so a browser shared by
two officers never shows one the other's tile; the page's script keeps the tiles it loaded in
memory and revalidates them with If-None-Match.

A report's time is sent as whole minutes since 1970 (UTC), not as an age, so a tile's answer stays
the same from one minute to the next; the page gives the server's clock (`serverMinute`) for the
script to turn it into "3 days ago".
"""
import math
import threading
from datetime import datetime, timezone

from sqlalchemy import (Integer, Numeric, Text, and_, bindparam, cast, func, literal_column,
                        select)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from apoa.auth.permissions import ALL_OFFICES, jurisdiction_office_ids, visible
from apoa.extensions import db
from apoa.maps.clusters import POINT_DIGITS, POINTS_ZOOM
from apoa.reports.models import Report
from apoa.reports.queries import QueueFilters, filtered

MAX_ZOOM = 19
# Per tile: the densest 256 px tile of the benchmark's million reports holds ~300 at zoom 16;
# zoomed out to 14 a tile covers 16 of those, and its newest this many are shown (truncated).
MAX_TILE_POINTS = 500
_KEEPING = threading.Lock()
TILE_COLUMNS = ("id", "code", "state", "lat", "lon", "category", "received_minute")


# The report's map column at KEY_ZOOM, as migration 0025 indexes it (with the latitude, and every
# column an answer needs included): the planner matches the expression as written, so it is
# written once, here, exactly as in the migration.
KEY_ZOOM = 16
TILE_COLUMN = literal_column(
    "(floor((ST_X(report.location) + 180) / 360 * 65536)::integer)", Integer)
LON, LAT = func.ST_X(Report.location), func.ST_Y(Report.location)


def in_tile_conditions(z, x, y):
    """Tile z/x/y as conditions on the index: its columns at KEY_ZOOM (one at 16, a few zoomed
    out, part of one zoomed in, then cut by longitude) and a latitude range. Edges are half-open,
    so a report on an edge is in exactly one tile. Bound parameters: tile_values() gives them."""
    latitude = and_(LAT > bindparam("south"), LAT <= bindparam("north"))
    if z <= KEY_ZOOM:
        return [TILE_COLUMN.in_(bindparam("columns", expanding=True)), latitude]
    return [TILE_COLUMN == bindparam("column"), LON >= bindparam("west"), LON < bindparam("east"),
            latitude]


def tile_values(z, x, y):
    west, south, east, north = tile_bounds(z, x, y)
    if z <= KEY_ZOOM:
        shift = KEY_ZOOM - z
        return {"columns": list(range(x << shift, (x + 1) << shift)), "south": south,
                "north": north}
    return {"column": x >> (z - KEY_ZOOM), "west": west, "east": east, "south": south,
            "north": north}


def tile_exists(z, x, y):
    return POINTS_ZOOM <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z


def tile_bounds(z, x, y):
    """(west, south, east, north) in degrees of Web Mercator tile z/x/y."""
    n = 2 ** z

    def lat(row):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def tile_rows_json(user, z, x, y, filters):
    """(rows as JSON text, truncated): the newest MAX_TILE_POINTS reports of tile z/x/y that
    `user` may view, each [id, code for display, state, lat, lon, category id, received minute]."""
    if filters == QueueFilters(sort=filters.sort):
        statement = _unfiltered_statement(z > KEY_ZOOM, _jurisdiction_key(user), user)
    else:
        statement = tile_statement(user, z, filters)
    text, truncated = db.session.execute(statement, tile_values(z, x, y)).one()
    return text, bool(truncated)


def _jurisdiction_key(user):
    offices = jurisdiction_office_ids(user)
    return "all" if offices is ALL_OFFICES else tuple(sorted(offices))


# Building the statement took as long as running it: without filters it depends only on the
# tile's kind and the jurisdiction, so it is built once per pair (visible() still builds it).
_UNFILTERED = {}
_UNFILTERED_KEPT = 128


def _unfiltered_statement(zoomed_in, jurisdiction, user):
    key = (zoomed_in, jurisdiction, MAX_TILE_POINTS)
    statement = _UNFILTERED.get(key)
    if statement is None:
        statement = tile_statement(user, KEY_ZOOM + 1 if zoomed_in else KEY_ZOOM, QueueFilters())
        with _KEEPING:
            if len(_UNFILTERED) >= _UNFILTERED_KEPT:
                _UNFILTERED.pop(next(iter(_UNFILTERED)))
            _UNFILTERED[key] = statement
    return statement


def tile_statement(user, z, filters):
    """The statement answering a tile of zoom `z` (its place given as parameters), narrowed by
    `filters` and the user's jurisdiction: one row (rows as JSON text, truncated)."""
    in_tile = (select(Report.id, Report.tracking_code, Report.state, Report.office_id,
                      Report.category_id, Report.created_at, LON.label("lon"), LAT.label("lat"))
               .where(*in_tile_conditions(z, 0, 0)))
    # The tile is searched first and the jurisdiction tested on what it finds (see points()).
    in_tile = filtered(in_tile, filters, user, datetime.now(timezone.utc))
    in_tile = in_tile.cte("in_tile").prefix_with("MATERIALIZED")
    c = in_tile.c
    newest = visible(select(c, func.row_number().over(order_by=c.id.desc()).label("rank"))
                     .order_by(c.id.desc()).limit(MAX_TILE_POINTS + 1), user,
                     report_entity=c).subquery("newest")
    n = newest.c
    row = func.json_build_array(n.id, _display_code(n.tracking_code), n.state,
                                func.round(cast(n.lat, Numeric), POINT_DIGITS),
                                func.round(cast(n.lon, Numeric), POINT_DIGITS), n.category_id,
                                cast(func.floor(func.extract("epoch", n.created_at) / 60), Integer))
    rows = func.json_agg(aggregate_order_by(row, n.id.desc())).filter(n.rank <= MAX_TILE_POINTS)
    return select(cast(func.coalesce(rows, literal_column("'[]'::json")), Text),
                  func.count() > MAX_TILE_POINTS).select_from(newest)


def _display_code(code):
    """The tracking code as apoa.reports.tracking.display() writes it (ABCDE-FGHJK-MNPQ)."""
    return func.concat_ws("-", func.substr(code, 1, 5), func.substr(code, 6, 5),
                          func.substr(code, 11))
