"""The WhatsApp channel (apoa/whatsapp) and the offices' service cases (apoa/feedback).

- wa_conversation: one per WhatsApp number (keyed hash; the number itself encrypted), the step
  it is at and the answers of a report in progress; cleared when it ends or expires.
- wa_inbound: ids of messages already handled, so a delivery repeated by WhatsApp is handled once.
- wa_outbound: each message sent, queued → sent → delivered/read, or failed (the admin sees it).
- wa_block: numbers an admin has blocked (keyed hash and last digits only).
- service_case: complaints and questions for an office's supervisors, received → answered.
- office.address, office.hours: what the information menu tells residents.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "wa_inbound",
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("sender_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_wa_inbound")),
    )
    op.create_index("ix_wa_inbound_received_at", "wa_inbound", ["received_at"], unique=False)
    op.create_table(
        "service_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("contact", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=12), server_default="received", nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(state = 'answered') = (answer IS NOT NULL)", name=op.f("ck_service_case_answer_iff_answered")
        ),
        sa.CheckConstraint("kind IN ('complaint', 'question')", name=op.f("ck_service_case_kind_known")),
        sa.CheckConstraint("state IN ('received', 'answered')", name=op.f("ck_service_case_state_known")),
        sa.CheckConstraint("char_length(body) BETWEEN 1 AND 2000", name=op.f("ck_service_case_body_length")),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["user_account.id"],
            name=op.f("fk_service_case_answered_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_service_case_office_id_office"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_case")),
    )
    op.create_index(
        "ix_service_case_office_state_created",
        "service_case",
        ["office_id", "state", "created_at"],
        unique=False,
    )
    op.create_table(
        "wa_block",
        sa.Column("sender_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("blocked_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["blocked_by_id"],
            ["user_account.id"],
            name=op.f("fk_wa_block_blocked_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("sender_hash", name=op.f("pk_wa_block")),
    )
    op.create_table(
        "wa_conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_hash", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.LargeBinary(), nullable=False),
        sa.Column("locale", sa.String(length=2), server_default="id", nullable=False),
        sa.Column("flow", sa.String(length=20), server_default="menu", nullable=False),
        sa.Column("step", sa.String(length=30), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("question_report_id", sa.Integer(), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_report_id"],
            ["report.id"],
            name=op.f("fk_wa_conversation_question_report_id_report"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wa_conversation")),
        sa.UniqueConstraint("sender_hash", name=op.f("uq_wa_conversation_sender_hash")),
    )
    op.create_table(
        "wa_outbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_hash", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.LargeBinary(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.String(length=12), server_default="queued", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("wa_message_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'sent', 'delivered', 'read', 'failed')",
            name=op.f("ck_wa_outbound_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_wa_outbound_report_id_report"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wa_outbound")),
        sa.UniqueConstraint("wa_message_id", name=op.f("uq_wa_outbound_wa_message_id")),
    )
    op.create_index(
        "ix_wa_outbound_report_id",
        "wa_outbound",
        ["report_id"],
        unique=False,
        postgresql_where=sa.text("report_id IS NOT NULL"),
    )
    op.create_index("ix_wa_outbound_state_created", "wa_outbound", ["state", "created_at"], unique=False)
    op.add_column("office", sa.Column("address", sa.Text(), nullable=True))
    op.add_column("office", sa.Column("hours", sa.String(length=200), nullable=True))


def downgrade():
    op.drop_column("office", "hours")
    op.drop_column("office", "address")
    op.drop_index("ix_wa_outbound_state_created", table_name="wa_outbound")
    op.drop_index(
        "ix_wa_outbound_report_id",
        table_name="wa_outbound",
        postgresql_where=sa.text("report_id IS NOT NULL"),
    )
    op.drop_table("wa_outbound")
    op.drop_table("wa_conversation")
    op.drop_table("wa_block")
    op.drop_index("ix_service_case_office_state_created", table_name="service_case")
    op.drop_table("service_case")
    op.drop_index("ix_wa_inbound_received_at", table_name="wa_inbound")
    op.drop_table("wa_inbound")
