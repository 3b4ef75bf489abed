"""The summaries' rollups (migration 0007): counts kept current by triggers on report and
report_event, read only in aggregate, written only by the database itself, so they are Core tables
without ORM classes. The migration's docstring explains what each holds and why it is shaped so."""
from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, Date, DateTime, Index, Integer,
                        SmallInteger, String, Text, UniqueConstraint, func, text)

from apoa.extensions import db

# Upper edges of the duration histograms' buckets, in hours; bucket b counts durations in
# [edge b-1, edge b), the last bucket everything from 60 days on (migration 0007 freezes the same).
DURATION_EDGES_HOURS = (1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 336, 720, 1440)
BUCKETS = len(DURATION_EDGES_HOURS) + 1
OUTCOME_COLUMNS = ("violation_found", "compliant", "not_found", "unfounded", "duplicate",
                   "out_of_scope")

SCREEN_H = tuple(f"screen_h{b}" for b in range(BUCKETS))
CLOSE_H = tuple(f"close_h{b}" for b in range(BUCKETS))
CLOSED_BY = tuple(f"closed_{o}" for o in OUTCOME_COLUMNS)
FLOW_MEASURES = ("received", "screened", "screened_on_time", "closed", "closed_on_time",
                 *CLOSED_BY, *SCREEN_H, *CLOSE_H)

# Dimensions of the rows: which member column names the kabupaten, category, channel or assignee.
KAB, CATEGORY, CHANNEL, ASSIGNEE = "kab", "category", "channel", "assignee"
DAY, WEEK = "d", "w"

summary_flow = db.Table(
    "summary_flow",
    Column("grain", String(1), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("dimension", String(10), nullable=False),
    Column("office_id", Integer),
    Column("member_id", Integer),
    Column("member_code", String(20)),
    *(Column(name, Integer, nullable=False, server_default="0") for name in FLOW_MEASURES),
    UniqueConstraint("grain", "period_start", "dimension", "office_id", "member_id", "member_code",
                     name="uq_summary_flow_key", postgresql_nulls_not_distinct=True),
    CheckConstraint("grain IN ('d', 'w')", name="ck_summary_flow_grain_known"),
)

summary_open = db.Table(
    "summary_open",
    Column("dimension", String(10), nullable=False),
    Column("office_id", Integer),
    Column("member_id", Integer),
    Column("member_code", String(20)),
    Column("state", String(20), nullable=False),
    Column("reports", Integer, nullable=False),
    UniqueConstraint("dimension", "office_id", "member_id", "member_code", "state",
                     name="uq_summary_open_key", postgresql_nulls_not_distinct=True),
)

summary_due = db.Table(
    "summary_due",
    Column("dimension", String(10), nullable=False),
    Column("office_id", Integer),
    Column("member_id", Integer),
    Column("member_code", String(20)),
    Column("due_day", Date),
    Column("reports", Integer, nullable=False),
    UniqueConstraint("dimension", "office_id", "member_id", "member_code", "due_day",
                     name="uq_summary_due_key", postgresql_nulls_not_distinct=True),
    Index("ix_summary_due_due_day", "due_day"),
)

summary_report = db.Table(
    "summary_report",
    Column("report_id", Integer, primary_key=True, autoincrement=False),
    Column("office_id", Integer),
    Column("kab_id", Integer),
    Column("category_id", Integer, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("assignee_id", Integer),
    Column("due_day", Date),
    Column("received_day", Date, nullable=False),
    Column("screened_day", Date),
    Column("screen_bucket", SmallInteger),
    Column("screened_on_time", Boolean),
    Column("closed_day", Date),
    Column("outcome", String(20)),
    Column("close_bucket", SmallInteger),
    Column("closed_on_time", Boolean),
)

# The shared (suppressed) figures of a whole ended month per scope of offices, kept so a head's
# page does not recompute them (migration 0026, apoa/summaries/stored.py): written by the app,
# forgotten by triggers on summary_flow when a day they were counted from changes.
summary_month_figures = db.Table(
    "summary_month_figures",
    Column("scope_key", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    Column("version", String(16), primary_key=True),
    Column("flow_from", Date, nullable=False),
    Column("flow_to", Date, nullable=False),
    Column("anomaly_from", Date, nullable=False),
    Column("anomaly_to", Date, nullable=False),
    Column("figures", JSON(none_as_null=True), nullable=False),
    Column("anomalies", JSON(none_as_null=True)),
    Column("checked", Boolean, nullable=False, server_default="false"),
    Column("computed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_summary_month_figures_flow_to", "flow_to"),
    Index("ix_summary_month_figures_anomaly_to", "anomaly_to",
          postgresql_where=text("anomalies IS NOT NULL")),
)
