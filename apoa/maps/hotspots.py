"""Hotspots: the kecamatan with the most reports in the last HEAT_DAYS days, each named with its
kabupaten/kota and linking to the map at its busiest cell.

A hotspot used to be a map cell of about 5 km named by the kecamatan most of its reports fell in,
so a busy kecamatan spread over two cells was listed twice under the same name ("Telagasari,
Kabupaten Karawang" twice). Each place is now listed once, with all its reports; the link opens
the map on its cell of about 5 km (HOTSPOT_ZOOM) with the most of them, where a team would go.
Reports outside any kecamatan count for their kabupaten/kota alone. Jurisdiction and the
aggregate rule come from apoa/auth/permissions.py, as for the map: who sees aggregates only gets
"< 3" instead of an exact count below MIN_SHOWN_COUNT.

At a million reports the grouping takes 100-230 ms, so a job (`refresh_hotspots`, every 5
minutes) keeps each office's hotspots in `hotspot_snapshot`; pages read them while they are
fresh (SNAPSHOT_FRESH) and of the same 30 days, and compute live otherwise. The job runs the very
query the live path runs, narrowed to the office's jurisdiction as `visible()` narrows it.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import url_for
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg, insert

from apoa.auth.models import User
from apoa.auth.permissions import (ALL_OFFICES, ROLE_PERMISSIONS, Permission, can,
                                   office_jurisdiction_ids, visible)
from apoa.extensions import db
from apoa.maps.clusters import MIN_SHOWN_COUNT, cell_size, heat_since
from apoa.maps.models import hotspot_snapshot
from apoa.regions.models import Office, Region
from apoa.reports.models import Report
from apoa.periods import local_midnight

HOTSPOT_ZOOM = 11
LINK_ZOOM = 13
DEFAULT_LIMIT = 10
SNAPSHOT_LIMIT = 20                         # kept per office: more than any page shows
SNAPSHOT_FRESH = timedelta(minutes=15)      # three missed refreshes, then pages compute live
VIEWING = (Permission.view_report, Permission.view_aggregates)


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


@dataclass(frozen=True)
class Cell:
    """One hotspot as queried: the place (kecamatan and kabupaten/kota), its reports, and the
    indexes of its busiest grid cell (where its link opens the map)."""
    i: int
    j: int
    reports: int
    kec_id: int | None
    kab_id: int | None


def hotspots(user, limit=DEFAULT_LIMIT):
    """The `limit` places of the user's jurisdiction with the most reports over the last
    HEAT_DAYS days, each listed once."""
    permission = _permission_for(user)
    if permission is None:
        return []
    cells = snapshot_cells(user, limit)
    if cells is None:
        cells = live_cells(user, permission, limit)
    names = _region_names({c.kec_id for c in cells} | {c.kab_id for c in cells})
    exact = permission is Permission.view_report
    return [_hotspot(c, cell_size(HOTSPOT_ZOOM), names, exact) for c in cells]


def live_cells(user, permission, limit):
    query = _places_query(heat_since(), limit,
                          lambda reports: visible(reports, user, permission=permission))
    return [_cell(row) for row in db.session.execute(query)]


def _places_query(since, limit, narrow):
    """The `limit` places with the most reports since `since`, each with its busiest cell;
    `narrow` restricts the reports counted (a user's or an office's jurisdiction)."""
    cell = cell_size(HOTSPOT_ZOOM)
    i = func.floor(func.ST_X(Report.location) / cell).label("i")
    j = func.floor(func.ST_Y(Report.location) / cell).label("j")
    per_cell = narrow(select(Report.kec_id, Report.kab_id, i, j, func.count().label("n"))
                      .where(Report.created_at >= local_midnight(since))
                      .group_by(Report.kec_id, Report.kab_id, i, j)).subquery()
    c = per_cell.c
    reports = func.sum(c.n).label("reports")
    busiest = (c.n.desc(), c.i, c.j)
    return (select(c.kec_id, c.kab_id, reports,
                   array_agg(aggregate_order_by(c.i, *busiest))[1].label("i"),
                   array_agg(aggregate_order_by(c.j, *busiest))[1].label("j"))
            .group_by(c.kec_id, c.kab_id)
            .order_by(reports.desc(), c.kab_id.nulls_last(), c.kec_id.nulls_last())
            .limit(limit))


def _cell(row):
    return Cell(int(row.i), int(row.j), int(row.reports), row.kec_id, row.kab_id)


def _permission_for(user):
    for permission in VIEWING:
        if can(user, permission):
            return permission
    return None


def _hotspot(cell, size, names, exact):
    lon, lat = round((cell.i + 0.5) * size, 5), round((cell.j + 0.5) * size, 5)
    place = ", ".join(names[id_] for id_ in (cell.kec_id, cell.kab_id) if id_ in names) or "—"
    shown = cell.reports if exact or cell.reports >= MIN_SHOWN_COUNT else None
    return Hotspot(lon=lon, lat=lat, reports=shown, place=place,
                   url=url_for("maps.officer_map", lat=lat, lon=lon, zoom=LINK_ZOOM))


def _region_names(ids):
    ids = {id_ for id_ in ids if id_ is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Region.id, Region.nama).where(Region.id.in_(ids))).all())


# --- the snapshot, kept by a job ---------------------------------------------------------------

def snapshot_cells(user, limit):
    """The hotspots kept for the user's office, or None when there are none, they are older than
    SNAPSHOT_FRESH or count from another first day (the 30 days moved on at midnight)."""
    if user.office_id is None or limit > SNAPSHOT_LIMIT:
        return None
    row = db.session.execute(select(hotspot_snapshot).where(
        hotspot_snapshot.c.office_id == user.office_id)).first()
    stale = datetime.now(timezone.utc) - SNAPSHOT_FRESH
    if row is None or row.since != heat_since() or row.computed_at < stale:
        return None
    return [Cell(*values) for values in row.cells[:limit]]


def refresh_hotspots():
    """Job: recompute the kept hotspots of every office whose active staff see hotspots, and
    forget the others. Returns the number of offices refreshed."""
    since, now = heat_since(), datetime.now(timezone.utc)
    offices = db.session.scalars(select(Office).where(Office.id.in_(_offices_with_viewers()))).all()
    for office in offices:
        query = _places_query(since, SNAPSHOT_LIMIT,
                              lambda reports, office=office: _in_jurisdiction(reports, office))
        cells = [_cell(row) for row in db.session.execute(query)]
        kept = {"since": since, "computed_at": now,
                "cells": [[c.i, c.j, c.reports, c.kec_id, c.kab_id] for c in cells]}
        db.session.execute(insert(hotspot_snapshot).values(office_id=office.id, **kept)
                           .on_conflict_do_update(index_elements=["office_id"], set_=kept))
    db.session.execute(delete(hotspot_snapshot).where(
        hotspot_snapshot.c.office_id.not_in([office.id for office in offices])))
    return len(offices)


def _offices_with_viewers():
    roles = [role.value for role, granted in ROLE_PERMISSIONS.items() if granted & set(VIEWING)]
    return select(User.office_id).where(User.active, User.role.in_(roles),
                                        User.office_id.is_not(None))


def _in_jurisdiction(query, office):
    """`query` narrowed to the office's jurisdiction, as `visible()` narrows it for its staff."""
    office_ids = office_jurisdiction_ids(office)
    if office_ids is ALL_OFFICES:
        return query
    return query.where(Report.office_id.in_(sorted(office_ids)))
