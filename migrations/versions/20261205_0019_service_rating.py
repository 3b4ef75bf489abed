"""The SKM service ratings (apoa/feedback/models.py, ServiceRating).

- service_rating: a reporter's rating of the service for one closed report (one per report): the
  nine SKM elements of PermenPAN-RB 14/2017 scored 1..4, the office copied from the report and an
  optional comment of at most 1,000 characters.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("requirements", sa.SmallInteger(), nullable=False),
        sa.Column("procedure", sa.SmallInteger(), nullable=False),
        sa.Column("duration", sa.SmallInteger(), nullable=False),
        sa.Column("cost", sa.SmallInteger(), nullable=False),
        sa.Column("product", sa.SmallInteger(), nullable=False),
        sa.Column("competence", sa.SmallInteger(), nullable=False),
        sa.Column("conduct", sa.SmallInteger(), nullable=False),
        sa.Column("complaints", sa.SmallInteger(), nullable=False),
        sa.Column("facilities", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.CheckConstraint("char_length(comment) <= 1000", name=op.f("ck_service_rating_comment_length")),
        sa.CheckConstraint("competence BETWEEN 1 AND 4", name=op.f("ck_service_rating_competence_score")),
        sa.CheckConstraint("complaints BETWEEN 1 AND 4", name=op.f("ck_service_rating_complaints_score")),
        sa.CheckConstraint("conduct BETWEEN 1 AND 4", name=op.f("ck_service_rating_conduct_score")),
        sa.CheckConstraint("cost BETWEEN 1 AND 4", name=op.f("ck_service_rating_cost_score")),
        sa.CheckConstraint("duration BETWEEN 1 AND 4", name=op.f("ck_service_rating_duration_score")),
        sa.CheckConstraint("facilities BETWEEN 1 AND 4", name=op.f("ck_service_rating_facilities_score")),
        sa.CheckConstraint("procedure BETWEEN 1 AND 4", name=op.f("ck_service_rating_procedure_score")),
        sa.CheckConstraint("product BETWEEN 1 AND 4", name=op.f("ck_service_rating_product_score")),
        sa.CheckConstraint("requirements BETWEEN 1 AND 4", name=op.f("ck_service_rating_requirements_score")),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_service_rating_office_id_office"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_service_rating_report_id_report"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_rating")),
        sa.UniqueConstraint("report_id", name=op.f("uq_service_rating_report_id")),
    )
    op.create_index(
        "ix_service_rating_office_rated", "service_rating", ["office_id", "rated_at"], unique=False
    )


def downgrade():
    op.drop_index("ix_service_rating_office_rated", table_name="service_rating")
    op.drop_table("service_rating")
