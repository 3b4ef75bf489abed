"""Hotspots: the map cells with the most reports in the last HEAT_DAYS days, each named by the
kecamatan most of its reports fall in and linking to the map there.

Cells of about 5 km (HOTSPOT_ZOOM) are coarse enough to name a place and fine enough to send a
team to. Jurisdiction and the aggregate rule come from apoa/auth/permissions.py, as for the map:
who sees aggregates only gets "< 3" instead of an exact count below MIN_SHOWN_COUNT.
"""
from dataclasses import dataclass

from flask import url_for
from sqlalchemy import func, select

from apoa.auth.permissions import Permission, can, visible
from apoa.extensions import db
from apoa.maps.clusters import MIN_SHOWN_COUNT, cell_size, heat_since
from apoa.regions.models import Region
from apoa.reports.models import Report
from apoa.reports.queries import local_midnight

HOTSPOT_ZOOM = 11
LINK_ZOOM = 13
DEFAULT_LIMIT = 10


@dataclass(frozen=True)
class Hotspot:
    lon: float
    lat: float
    reports: int | None     # None: fewer than MIN_SHOWN_COUNT, for who sees aggregates only
    place: str
    url: str

    @property
    def few(self):
        return self.reports is None


def hotspots(user, limit=DEFAULT_LIMIT):
    """The `limit` busiest cells of the user's jurisdiction over the last HEAT_DAYS days."""
    permission = _permission_for(user)
    if permission is None:
        return []
    cell = cell_size(HOTSPOT_ZOOM)
    i = func.floor(func.ST_X(Report.location) / cell).label("i")
    j = func.floor(func.ST_Y(Report.location) / cell).label("j")
    reports = func.count().label("reports")
    query = (select(i, j, reports, func.mode().within_group(Report.kec_id).label("kec_id"),
                    func.mode().within_group(Report.kab_id).label("kab_id"))
             .where(Report.created_at >= local_midnight(heat_since()))
             .group_by(i, j).order_by(reports.desc(), i, j).limit(limit))
    rows = db.session.execute(visible(query, user, permission=permission)).all()
    names = _region_names({row.kec_id for row in rows} | {row.kab_id for row in rows})
    exact = permission is Permission.view_report
    return [_hotspot(row, cell, names, exact) for row in rows]


def _permission_for(user):
    for permission in (Permission.view_report, Permission.view_aggregates):
        if can(user, permission):
            return permission
    return None


def _hotspot(row, cell, names, exact):
    lon, lat = round((int(row.i) + 0.5) * cell, 5), round((int(row.j) + 0.5) * cell, 5)
    place = ", ".join(names[id_] for id_ in (row.kec_id, row.kab_id) if id_ in names) or "—"
    shown = row.reports if exact or row.reports >= MIN_SHOWN_COUNT else None
    return Hotspot(lon=lon, lat=lat, reports=shown, place=place,
                   url=url_for("maps.officer_map", lat=lat, lon=lon, zoom=LINK_ZOOM))


def _region_names(ids):
    ids = {id_ for id_ in ids if id_ is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Region.id, Region.nama).where(Region.id.in_(ids))).all())
