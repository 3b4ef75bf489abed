"""The hotspots of each office's jurisdiction, refreshed by a job every few minutes.

At a million reports, grouping the last 30 days into hotspot cells takes 100-230 ms; the map and
the dashboard did it on every page view. The refresh job (apoa.maps.hotspots.refresh_hotspots)
keeps one row per office whose staff look at hotspots; the pages read it while it is fresh and
compute live otherwise. `cells` holds [i, j, reports, kec_id, kab_id] per cell, busiest first.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "hotspot_snapshot",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cells", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name="fk_hotspot_snapshot_office_id_office",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("office_id", name="pk_hotspot_snapshot"),
    )


def downgrade():
    op.drop_table("hotspot_snapshot")
