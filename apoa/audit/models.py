"""The audit log table: one row per audited act, each row chained to the one before by its hash.

`detail` holds what an auditor needs to understand the act (a reason, a state change, a count) and
never contact details, exact coordinates, passwords or other personal data: the log is kept for
ever and cannot be edited, so anything written here can never be removed again.
"""
from datetime import datetime

from sqlalchemy import (CHAR, BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index,
                        String, func)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apoa.extensions import db

GENESIS_HASH = "0" * 64


class AuditEntry(db.Model):
    """One audited act. Rows are only ever added; a trigger refuses UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("hash ~ '^[0-9a-f]{64}$'", name="hash_hex"),
        CheckConstraint("prev_hash ~ '^[0-9a-f]{64}$'", name="prev_hash_hex"),
        Index("ix_audit_log_object", "object"),
        Index("ix_audit_log_actor_id", "actor_id"),
    )

    # BY DEFAULT, not ALWAYS: the service takes the number from the sequence first, because the
    # number is part of what the hash covers.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # RESTRICT, not SET NULL: setting the column to NULL would rewrite a hashed, append-only row.
    # Users who have acted are disabled, never deleted.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(60))
    object: Mapped[str | None] = mapped_column(String(80))
    # none_as_null: no detail is SQL NULL, not the JSON value null.
    detail: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True))
    # Unique: two entries naming the same predecessor would be a fork of the chain.
    prev_hash: Mapped[str] = mapped_column(CHAR(64), unique=True)
    hash: Mapped[str] = mapped_column(CHAR(64), unique=True)

    actor = relationship("User")

    def __repr__(self):
        return f"<AuditEntry {self.seq} {self.action} {self.object}>"
