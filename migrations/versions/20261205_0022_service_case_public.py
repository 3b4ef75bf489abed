"""Complaints and questions from the web and the API, and the WhatsApp invitation to rate the
service (apoa/feedback/models.py).

- service_case: a reference and the sha256 of a secret to read a web or API case back with (both
  or none), the sha256 of the submission key and the body's digest that make a retry answer with
  the same case, the report the resident named by its tracking code, the resident's language, and
  when the answer was mailed.
- rating_invitation: that a WhatsApp reporter was invited to rate the service for a report, so
  that they are invited once.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rating_invitation",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_rating_invitation_report_id_report"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_rating_invitation")),
    )
    op.add_column("service_case", sa.Column("reference", sa.String(length=16), nullable=True))
    op.add_column("service_case", sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=True))
    op.add_column("service_case", sa.Column("submission_hash", sa.LargeBinary(length=32), nullable=True))
    op.add_column("service_case", sa.Column("submission_digest", sa.String(length=64), nullable=True))
    op.add_column("service_case", sa.Column("report_id", sa.Integer(), nullable=True))
    op.add_column("service_case", sa.Column("locale", sa.String(length=8), nullable=True))
    op.add_column("service_case", sa.Column("answer_mailed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_unique_constraint(op.f("uq_service_case_reference"), "service_case", ["reference"])
    op.create_unique_constraint(op.f("uq_service_case_submission_hash"), "service_case", ["submission_hash"])
    op.create_foreign_key(
        op.f("fk_service_case_report_id_report"),
        "service_case",
        "report",
        ["report_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_check_constraint(
        op.f("ck_service_case_reference_with_secret"),
        "service_case",
        "(reference IS NULL) = (secret_hash IS NULL)",
    )


def downgrade():
    op.drop_constraint(op.f("ck_service_case_reference_with_secret"), "service_case", type_="check")
    op.drop_constraint(op.f("fk_service_case_report_id_report"), "service_case", type_="foreignkey")
    op.drop_constraint(op.f("uq_service_case_submission_hash"), "service_case", type_="unique")
    op.drop_constraint(op.f("uq_service_case_reference"), "service_case", type_="unique")
    op.drop_column("service_case", "answer_mailed_at")
    op.drop_column("service_case", "locale")
    op.drop_column("service_case", "report_id")
    op.drop_column("service_case", "submission_digest")
    op.drop_column("service_case", "submission_hash")
    op.drop_column("service_case", "secret_hash")
    op.drop_column("service_case", "reference")
    op.drop_table("rating_invitation")
