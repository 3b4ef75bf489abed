"""The open interfaces (apoa/api): staff's personal access tokens, partners' Open311 keys, and the
digest of an API submission's body under its Idempotency-Key.

- api_token: a user's token for /api/v1, stored as sha256; scope read or act, expiry, revocation.
- partner_key: an Open311 api_key, stored as sha256; an application submits only, an agency also
  reads its office's jurisdiction (office_id set exactly for agencies).
- api_submission: the sha256 of an API submission's body under its Idempotency-Key, so the same
  key with another body is refused (422).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'act')", name=op.f("ck_api_token_scope_known")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_api_token_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_token_secret_hash")),
    )
    op.create_index("ix_api_token_user_id", "api_token", ["user_id"], unique=False)
    op.create_table(
        "partner_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(kind = 'agency') = (office_id IS NOT NULL)", name=op.f("ck_partner_key_office_iff_agency")
        ),
        sa.CheckConstraint("kind IN ('app', 'agency')", name=op.f("ck_partner_key_kind_known")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_partner_key_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_partner_key_office_id_office"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_key")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_partner_key_secret_hash")),
    )
    op.create_table(
        "api_submission",
        sa.Column("submission_key", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_api_submission_report_id_report"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("submission_key", name=op.f("pk_api_submission")),
    )


def downgrade():
    op.drop_table("api_submission")
    op.drop_table("partner_key")
    op.drop_index("ix_api_token_user_id", table_name="api_token")
    op.drop_table("api_token")
