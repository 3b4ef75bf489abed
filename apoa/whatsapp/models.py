"""What the WhatsApp channel keeps: conversations in progress, the ids of messages already handled,
every message sent (its number encrypted) and the numbers an admin has blocked.

A number is never stored in the clear. Rows are found by `sender_hash` (a keyed hash, see
numbers.py); where the number itself is needed to answer, it is encrypted with the contact keys.
"""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, SmallInteger,
                        String, Text, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from apoa.core.vocabulary import TitledEnum, titled
from apoa.extensions import db


class SendState(TitledEnum):
    queued = "queued"        # waiting for the sending job (or for its next try)
    sent = "sent"            # the Graph API accepted it
    delivered = "delivered"  # WhatsApp's status webhook: on the phone
    read = "read"
    failed = "failed"        # refused for good, or every try failed: the admin sees it


titled(SendState, {SendState.queued: _l("Waiting to be sent"), SendState.sent: _l("Sent"),
                   SendState.delivered: _l("Delivered"), SendState.read: _l("Read"),
                   SendState.failed: _l("Failed")})


# What a message's payload becomes once its text is no longer needed (sent, or old).
EMPTIED_PAYLOAD = {"emptied": True}


class Conversation(db.Model):
    """One WhatsApp number's conversation with the bot: where it is and what it has collected.

    `data` holds the answers of a report in progress until it is sent, cancelled or expires; a
    question from an officer waiting for its answer is `question_report_id`.
    """

    __tablename__ = "wa_conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[bytes] = mapped_column(LargeBinary)
    locale: Mapped[str] = mapped_column(String(2), default="id", server_default="id")
    flow: Mapped[str] = mapped_column(String(20), default="menu", server_default="menu")
    step: Mapped[str | None] = mapped_column(String(30))
    data: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    question_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("report.id", ondelete="SET NULL"))
    # Set when an unfinished conversation was cleared for its age; the next message is told so.
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Inbound(db.Model):
    """A message id already handled: WhatsApp may deliver the same message more than once."""

    __tablename__ = "wa_inbound"
    __table_args__ = (Index("ix_wa_inbound_received_at", "received_at"),)

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    sender_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())


class Outbound(db.Model):
    """A message to a WhatsApp number, from queued to sent, delivered and read, or failed."""

    __tablename__ = "wa_outbound"
    __table_args__ = (
        CheckConstraint(f"state IN ({SendState.sql_list()})", name="state_known"),
        Index("ix_wa_outbound_state_created", "state", "created_at"),
        Index("ix_wa_outbound_report_id", "report_id",
              postgresql_where=text("report_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_hash: Mapped[str] = mapped_column(String(64))
    phone: Mapped[bytes] = mapped_column(LargeBinary)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id", ondelete="SET NULL"))
    # reply, status, question, case_answer: why it was sent (the admin's list groups by it).
    purpose: Mapped[str] = mapped_column(String(20))
    # The Graph API message without its "to": text, interactive or template.
    payload: Mapped[dict] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(12), default=SendState.queued.value,
                                       server_default=SendState.queued.value)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(200))
    wa_message_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def state_enum(self):
        return SendState(self.state)


class Block(db.Model):
    """A number an admin has blocked: its messages are dropped without an answer."""

    __tablename__ = "wa_block"

    sender_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The last digits only, so the admin can tell entries apart without the list holding numbers.
    hint: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    blocked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
