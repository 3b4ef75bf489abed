"""Staff sign-in security: a TOTP second factor (secret encrypted, last used time step), one-time
recovery codes (hashed, one row each so that using one is a single conditional UPDATE), and the
failed-attempt counter and lock of each account.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("user_account", sa.Column("totp_secret", sa.LargeBinary(), nullable=True))
    op.add_column("user_account", sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("user_account", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.add_column("user_account", sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
    op.add_column("user_account", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("user_account", sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f("ck_user_account_totp_enabled_has_secret"), "user_account",
                               "totp_enabled_at IS NULL OR totp_secret IS NOT NULL")
    op.create_check_constraint(op.f("ck_user_account_failed_logins_non_negative"), "user_account",
                               "failed_logins >= 0")
    op.create_table("recovery_code",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("code_hash", sa.String(length=64), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    sa.CheckConstraint("code_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_recovery_code_code_hash_hex")),
    sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_recovery_code_user_id_user_account"),
                            ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
    sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_recovery_code_user_id_code_hash"))
    )


def downgrade():
    op.drop_table("recovery_code")
    op.drop_constraint(op.f("ck_user_account_failed_logins_non_negative"), "user_account", type_="check")
    op.drop_constraint(op.f("ck_user_account_totp_enabled_has_secret"), "user_account", type_="check")
    op.drop_column("user_account", "last_login_at")
    op.drop_column("user_account", "locked_until")
    op.drop_column("user_account", "failed_logins")
    op.drop_column("user_account", "totp_last_step")
    op.drop_column("user_account", "totp_enabled_at")
    op.drop_column("user_account", "totp_secret")
