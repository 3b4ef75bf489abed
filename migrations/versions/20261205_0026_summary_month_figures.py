"""Shared figures of whole ended months, kept (issue 16, item 3: the heads' dashboard at a million
reports).

Since issue 15, who sees aggregates only (regional heads, Tim PORA partners, the monthly report,
aggregate exports, the regional map's totals) is shown whole calendar months that have ended,
suppressed (apoa/summaries/suppression.py). Those figures no longer grow day by day, so they are
computed once per scope of offices and month and kept here (apoa/summaries/stored.py); what is
open and overdue now is still counted per request.

- summary_month_figures: one row per (scope_key, month, version): the scope's offices ("*" for
  every office), the month's first day, and a hash of the code that computed them (a change of the
  suppression or of the figures makes old rows unread, then forgotten by the job). `figures` holds
  the month's suppressed flow (received, screened, closed, by kabupaten/kota, office, category,
  channel, outcome, the month's weeks, the month before), counted from summary_flow's days
  [flow_from, flow_to) (the month before and the month); `anomalies` the anomalies of the month's
  last week, counted from [anomaly_from, anomaly_to) (twelve weeks before it, and that week, which
  may end up to six days into the next month): NULL until that week has ended. `checked`: whether
  the job has computed the row again after it was written (a report changed by a transaction that
  committed while the row was being computed would otherwise stay unseen).
- Triggers on summary_flow: a changed day row (grain 'd'; each change writes its week row too)
  forgets every row counted from that day (a report reopened, transferred, reclassified or deleted
  after its month ended), and TRUNCATE (summary_rebuild()) forgets them all. Two index probes per
  changed day row, which find nothing for today's writes: every kept row's days lie in the past.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05
"""
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE TABLE summary_month_figures (
            scope_key text NOT NULL,
            month date NOT NULL,
            version varchar(16) NOT NULL,
            flow_from date NOT NULL,
            flow_to date NOT NULL,
            anomaly_from date NOT NULL,
            anomaly_to date NOT NULL,
            figures json NOT NULL,
            anomalies json,
            checked boolean NOT NULL DEFAULT false,
            computed_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_summary_month_figures PRIMARY KEY (scope_key, month, version)
        )
    """)
    op.execute("CREATE INDEX ix_summary_month_figures_flow_to ON summary_month_figures (flow_to)")
    op.execute("CREATE INDEX ix_summary_month_figures_anomaly_to ON summary_month_figures (anomaly_to)"
               " WHERE anomalies IS NOT NULL")
    op.execute("""
        CREATE FUNCTION summary_month_figures_forget() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            changed date := CASE WHEN TG_OP = 'DELETE' THEN OLD.period_start ELSE NEW.period_start END;
        BEGIN
            DELETE FROM summary_month_figures WHERE flow_to > changed AND flow_from <= changed;
            UPDATE summary_month_figures SET anomalies = NULL, checked = false
            WHERE anomalies IS NOT NULL AND anomaly_to > changed AND anomaly_from <= changed;
            RETURN NULL;
        END
        $$
    """)
    op.execute("""
        CREATE FUNCTION summary_month_figures_forget_all() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE summary_month_figures;
            RETURN NULL;
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER summary_flow_forgets_months AFTER INSERT OR UPDATE ON summary_flow
        FOR EACH ROW WHEN (NEW.grain = 'd') EXECUTE FUNCTION summary_month_figures_forget()
    """)
    op.execute("""
        CREATE TRIGGER summary_flow_deleted_forgets_months AFTER DELETE ON summary_flow
        FOR EACH ROW WHEN (OLD.grain = 'd') EXECUTE FUNCTION summary_month_figures_forget()
    """)
    op.execute("""
        CREATE TRIGGER summary_flow_truncated_forgets_months AFTER TRUNCATE ON summary_flow
        FOR EACH STATEMENT EXECUTE FUNCTION summary_month_figures_forget_all()
    """)


def downgrade():
    op.execute("DROP TRIGGER summary_flow_truncated_forgets_months ON summary_flow")
    op.execute("DROP TRIGGER summary_flow_deleted_forgets_months ON summary_flow")
    op.execute("DROP TRIGGER summary_flow_forgets_months ON summary_flow")
    op.execute("DROP FUNCTION summary_month_figures_forget_all()")
    op.execute("DROP FUNCTION summary_month_figures_forget()")
    op.execute("DROP TABLE summary_month_figures")
