"""Data-subject requests under UU PDP 27/2022 (apoa/privacy/models.py, SubjectRequest).

- subject_request: a request to see, correct or erase personal data, by a reporter (signed in, or
  with a tracking code and the contact given on that report) or by someone who believes they were
  reported (routed to the office of the kabupaten/kota they name); its 3 x 24-hour clock (due_at =
  received_at + 72 hours, a CHECK), the requester's words encrypted, the answer and its reason, and
  the export of a request to see, encrypted, until it expires.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "subject_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=12), server_default="received", nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("kab_id", sa.Integer(), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("export_data", sa.LargeBinary(), nullable=True),
        sa.Column("export_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(state = 'received') = (answered_at IS NULL)",
            name=op.f("ck_subject_request_answered_iff_not_open"),
        ),
        sa.CheckConstraint(
            "(subject = 'reported_person') = (via = 'form')",
            name=op.f("ck_subject_request_form_iff_reported"),
        ),
        sa.CheckConstraint(
            "due_at = received_at + interval '72 hours'", name=op.f("ck_subject_request_due_in_72_hours")
        ),
        sa.CheckConstraint(
            "export_data IS NULL OR (kind = 'access' AND export_expires_at IS NOT NULL)",
            name=op.f("ck_subject_request_export_for_access"),
        ),
        sa.CheckConstraint(
            "kind IN ('access', 'correction', 'erasure')", name=op.f("ck_subject_request_kind_known")
        ),
        sa.CheckConstraint(
            "state IN ('received', 'done', 'partly_done', 'refused')",
            name=op.f("ck_subject_request_state_known"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('refused', 'partly_done') OR answer IS NOT NULL",
            name=op.f("ck_subject_request_reason_when_not_granted"),
        ),
        sa.CheckConstraint(
            "subject IN ('reporter', 'reported_person')", name=op.f("ck_subject_request_subject_known")
        ),
        sa.CheckConstraint(
            "via <> 'form' OR kab_id IS NOT NULL", name=op.f("ck_subject_request_form_names_region")
        ),
        sa.CheckConstraint(
            "via = 'account' OR secret_hash IS NOT NULL",
            name=op.f("ck_subject_request_secret_without_account"),
        ),
        sa.CheckConstraint(
            "via IN ('account', 'tracking_code', 'form')", name=op.f("ck_subject_request_via_known")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["user_account.id"],
            name=op.f("fk_subject_request_answered_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["kab_id"], ["region.id"], name=op.f("fk_subject_request_kab_id_region"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_subject_request_office_id_office"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_subject_request_report_id_report"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_subject_request_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_request")),
        sa.UniqueConstraint("reference", name=op.f("uq_subject_request_reference")),
    )
    op.create_index("ix_subject_request_office_id", "subject_request", ["office_id"], unique=False)
    op.create_index(
        "ix_subject_request_open_due",
        "subject_request",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("state = 'received'"),
    )
    op.create_index("ix_subject_request_user_id", "subject_request", ["user_id"], unique=False)


def downgrade():
    op.drop_index("ix_subject_request_user_id", table_name="subject_request")
    op.drop_index(
        "ix_subject_request_open_due",
        table_name="subject_request",
        postgresql_where=sa.text("state = 'received'"),
    )
    op.drop_index("ix_subject_request_office_id", table_name="subject_request")
    op.drop_table("subject_request")
