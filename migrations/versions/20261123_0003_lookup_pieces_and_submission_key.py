"""Lookup pieces carry their code and kabupaten, with one spatial index per level; reports keep the
idempotency key of the form that made them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("region_part", sa.Column("kode", sa.String(length=16), nullable=True))
    op.add_column("region_part", sa.Column("kab_id", sa.Integer(), nullable=True))
    # Fill them for pieces made before this revision, then require them.
    op.execute("""
        UPDATE region_part p SET kode = r.kode,
               kab_id = CASE WHEN r.level = 'kecamatan' THEN kab.id ELSE r.id END
        FROM region r LEFT JOIN region kab ON kab.kode = r.parent_kode
        WHERE r.id = p.region_id
    """)
    op.execute("DELETE FROM region_part WHERE kab_id IS NULL")
    op.alter_column("region_part", "kode", nullable=False)
    op.alter_column("region_part", "kab_id", nullable=False)
    op.create_foreign_key(op.f("fk_region_part_kab_id_region"), "region_part", "region", ["kab_id"], ["id"],
                          ondelete="CASCADE")
    op.drop_index("ix_region_part_geom", table_name="region_part", postgresql_using="gist")
    op.create_index("ix_region_part_kecamatan_geom", "region_part", ["geom"], postgresql_using="spgist",
                    postgresql_where=sa.text("level = 'kecamatan'"))
    op.create_index("ix_region_part_kabupaten_geom", "region_part", ["geom"], postgresql_using="spgist",
                    postgresql_where=sa.text("level = 'kabupaten_kota'"))

    op.add_column("report", sa.Column("submission_key", sa.Uuid(), nullable=True))
    op.create_unique_constraint(op.f("uq_report_submission_key"), "report", ["submission_key"])


def downgrade():
    op.drop_constraint(op.f("uq_report_submission_key"), "report", type_="unique")
    op.drop_column("report", "submission_key")
    op.drop_index("ix_region_part_kabupaten_geom", table_name="region_part")
    op.drop_index("ix_region_part_kecamatan_geom", table_name="region_part")
    op.create_index("ix_region_part_geom", "region_part", ["geom"], postgresql_using="gist")
    op.drop_constraint(op.f("fk_region_part_kab_id_region"), "region_part", type_="foreignkey")
    op.drop_column("region_part", "kab_id")
    op.drop_column("region_part", "kode")
