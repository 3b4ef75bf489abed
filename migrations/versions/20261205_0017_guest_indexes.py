"""Indexes for the officers' reads of stays at a million stays (issue 14 item 13, bench/guests.py).

- ix_stay_office_present (present stays per office, in check-in order) re-created with included
  columns (id, organisation, nationality, planned check-out, permit expiry): the counts per
  nationality and organisation, the map layer and the leads' choice of stays become index-only
  scans of the present stays.
- ix_stay_present_checked_in: the present stays of the whole country, newest first (the Ditjen's
  first page).
- ix_stay_checked_out: stays checked out after a past moment (guests present then).
- ix_stay_checked_in: check-ins of the last days in the whole country, with what the hopping
  leads and the late check-ins per organisation read (index-only).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

PRESENT = sa.text("state = 'present'")


def upgrade():
    op.drop_index("ix_stay_office_present", table_name="stay", postgresql_where=PRESENT)
    op.create_index(
        "ix_stay_office_present",
        "stay",
        ["office_id", "checked_in_at"],
        unique=False,
        postgresql_include=["id", "organisation_id", "nationality", "planned_check_out", "permit_expiry"],
        postgresql_where=PRESENT,
    )
    op.create_index(
        "ix_stay_present_checked_in",
        "stay",
        [sa.literal_column("checked_in_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=PRESENT,
    )
    op.create_index(
        "ix_stay_checked_out",
        "stay",
        ["checked_out_at"],
        unique=False,
        postgresql_where=sa.text("state = 'checked_out'"),
    )
    op.create_index(
        "ix_stay_checked_in",
        "stay",
        ["checked_in_at"],
        unique=False,
        postgresql_include=["office_id", "organisation_id", "passport_hash", "late"],
        postgresql_where=sa.text("state <> 'cancelled'"),
    )


def downgrade():
    op.drop_index("ix_stay_checked_in", table_name="stay")
    op.drop_index("ix_stay_checked_out", table_name="stay")
    op.drop_index("ix_stay_present_checked_in", table_name="stay")
    op.drop_index("ix_stay_office_present", table_name="stay")
    op.create_index(
        "ix_stay_office_present",
        "stay",
        ["office_id", "checked_in_at"],
        unique=False,
        postgresql_where=PRESENT,
    )
