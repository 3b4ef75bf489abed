"""Report retention (apoa/privacy/retention.py, UU PDP 27/2022).

- report.anonymised_at: when the retention job anonymised an unfounded or duplicate report.
- ix_report_closed_to_anonymise, ix_report_closed_with_contact: partial indexes on what the job
  still has to look at (closed unfounded/duplicate reports not anonymised yet; closed reports
  still holding a contact), so its daily run and the admin's dry run read small sets, not every
  closed report.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("report", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_report_closed_to_anonymise",
        "report",
        ["id"],
        unique=False,
        postgresql_where=sa.text(
            "state = 'closed' AND outcome IN ('unfounded', 'duplicate') AND anonymised_at IS NULL"
        ),
    )
    op.create_index(
        "ix_report_closed_with_contact",
        "report",
        ["id"],
        unique=False,
        postgresql_where=sa.text("state = 'closed' AND contact IS NOT NULL"),
    )


def downgrade():
    op.drop_index(
        "ix_report_closed_with_contact",
        table_name="report",
        postgresql_where=sa.text("state = 'closed' AND contact IS NOT NULL"),
    )
    op.drop_index(
        "ix_report_closed_to_anonymise",
        table_name="report",
        postgresql_where=sa.text(
            "state = 'closed' AND outcome IN ('unfounded', 'duplicate') AND anonymised_at IS NULL"
        ),
    )
    op.drop_column("report", "anonymised_at")
