"""Working days counted on Jakarta's calendar in SQL too, and the rollups recomputed with them.

Migration 0007 counted weekdays on UTC's calendar, like apoa/reports/sla.py did then: a step that
began on Friday before 07:00 in Jakarta (still Thursday in UTC) was due on Saturday instead of
Monday. sla.py now counts on Jakarta's calendar; this is the same rule in closed form, and the
rollups' on-time figures are rebuilt with it.

Revision ID: 0011
Revises: 0010
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def replace_add_working_days(zone):
    # n working days from a weekday wd (Monday 0) take n + 2 days per weekend crossed; from a
    # Saturday or Sunday, one or two days fewer than from the Friday before.
    wd = f"(extract(isodow FROM at AT TIME ZONE '{zone}')::integer - 1)"
    op.execute(f"""
        CREATE OR REPLACE FUNCTION summary_add_working_days(at timestamptz, n integer) RETURNS timestamptz
        LANGUAGE sql IMMUTABLE AS $$
            SELECT ((at AT TIME ZONE '{zone}')
                    + make_interval(days => n + 2 * ((least({wd}, 4) + n) / 5) - ({wd} - least({wd}, 4))))
                   AT TIME ZONE '{zone}'
        $$
    """)
    op.execute("SELECT summary_rebuild()")


def upgrade():
    replace_add_working_days("Asia/Jakarta")


def downgrade():
    replace_add_working_days("UTC")
