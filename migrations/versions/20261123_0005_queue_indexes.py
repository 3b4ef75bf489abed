"""Indexes for the officers' queue at a million reports: "assigned to me", corroborating duplicates,
and deep pages of one office's queue sorted by date or due time.

Measured on 1,000,000 synthetic reports: "assigned to me" 929 ms → 1.6 ms; corroboration count
184 ms → 0.01 ms; a Kantor's last capped page 149 ms → 1 ms (with visible() filtering by a literal
list of office ids).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_report_assignee_created", "report", ["assignee_id", "created_at"],
                    postgresql_where=sa.text("assignee_id IS NOT NULL"))
    op.create_index("ix_report_duplicate_of_id", "report", ["duplicate_of_id"],
                    postgresql_where=sa.text("duplicate_of_id IS NOT NULL"))
    op.create_index("ix_report_office_created_id", "report", ["office_id", "created_at", "id"])
    op.create_index("ix_report_office_due_id", "report", ["office_id", "due_at", "id"])


def downgrade():
    op.drop_index("ix_report_office_due_id", table_name="report")
    op.drop_index("ix_report_office_created_id", table_name="report")
    op.drop_index("ix_report_duplicate_of_id", table_name="report")
    op.drop_index("ix_report_assignee_created", table_name="report")
