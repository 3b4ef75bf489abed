"""The map's rollup: report counts per grid cell, office, state and category, kept current by a
trigger on report (migration 0006). It has no primary key and no ORM class: it is only ever read
in aggregate, and written by the database itself."""
from sqlalchemy import Column, Integer, String, UniqueConstraint

from apoa.extensions import db

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
