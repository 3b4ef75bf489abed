"""The map's rollup: report counts per grid cell, office, state and category, kept current by a
trigger on report (migration 0006). It has no primary key and no ORM class: it is only ever read
in aggregate, and written by the database itself. Also the hotspot snapshots, and the index on
report that the street-zoom tiles are read from (migration 0025)."""
from sqlalchemy import (Column, Date, DateTime, ForeignKey, Index, Integer, String,
                        UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import JSONB

from apoa.extensions import db
from apoa.reports.models import Report

report_grid = db.Table(
    "report_grid",
    Column("i", Integer, nullable=False),
    Column("j", Integer, nullable=False),
    Column("office_id", Integer),
    Column("state", String(20), nullable=False),
    Column("category_id", Integer, nullable=False),
    Column("reports", Integer, nullable=False),
    UniqueConstraint("i", "j", "office_id", "state", "category_id", name="uq_report_grid_key",
                     postgresql_nulls_not_distinct=True),
)

# The hotspots of each office's jurisdiction, computed by the refresh job every few minutes
# (apoa/maps/hotspots.py, migration 0009) so the map and the dashboard need not group the last
# 30 days of reports on every page view. `cells`: [[i, j, reports, kec_id, kab_id], ...], busiest
# first; `since`: the first day counted.
hotspot_snapshot = db.Table(
    "hotspot_snapshot",
    Column("office_id", Integer, ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
    Column("since", Date, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("cells", JSONB, nullable=False),
)

# A tile's reports as one range, with every column its answer needs (apoa/maps/point_tiles.py
# writes the same key expression; migration 0025 creates it). Declared here, with the map code,
# so the schema check knows it; written as PostgreSQL gives it back, which the check compares.
Index("ix_report_map_tile",
      text("(floor((st_x(location) + 180::double precision) / 360::double precision"
           " * 65536::double precision)::integer)"),
      text("st_y(location)"),
      postgresql_include=["location", "id", "tracking_code", "state", "office_id", "category_id",
                          "created_at"],
      _table=Report.__table__)
