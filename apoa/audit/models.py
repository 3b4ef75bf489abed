"""The audit log table: one row per audited act, each row chained to the one before by its hash.

A row is written unchained (no position, no hashes) by the request that acts, and sealed a little
later by the chainer (apoa/audit/chain.py), which gives it its place in the chain and its hashes.

`detail` holds what an auditor needs to understand the act (a reason, a state change, a count) and
never contact details, exact coordinates, passwords or other personal data: the log is kept for
ever and cannot be edited, so anything written here can never be removed again.
"""
from datetime import datetime

from sqlalchemy import (CHAR, BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index,
                        String, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apoa.extensions import db

GENESIS_HASH = "0" * 64


class AuditEntry(db.Model):
    """One audited act. Rows are only ever added; a trigger refuses DELETE, TRUNCATE and every
    UPDATE but the chainer's one: sealing an unchained row without touching its content."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("hash ~ '^[0-9a-f]{64}$'", name="hash_hex"),
        CheckConstraint("prev_hash ~ '^[0-9a-f]{64}$'", name="prev_hash_hex"),
        # Chained means all three set, unchained none of them.
        CheckConstraint("(chain_pos IS NULL) = (hash IS NULL)"
                        " AND (hash IS NULL) = (prev_hash IS NULL)", name="sealed_whole"),
        # Only the entries waiting for the chainer: a handful, however long the log.
        Index("ix_audit_log_unchained", "seq", postgresql_where=text("chain_pos IS NULL")),
        Index("ix_audit_log_object", "object"),
        Index("ix_audit_log_actor_id", "actor_id"),
    )

    # Numbered at the insert, so in the order the requests wrote, not the order they committed.
    # BY DEFAULT, not ALWAYS: entries written before the chainer existed took theirs explicitly.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # RESTRICT, not SET NULL: setting the column to NULL would rewrite a hashed, append-only row.
    # Users who have acted are disabled, never deleted.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(60))
    object: Mapped[str | None] = mapped_column(String(80))
    # none_as_null: no detail is SQL NULL, not the JSON value null.
    detail: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True))
    # The place in the chain, given by the chainer in the order entries became visible to it
    # (committed); NULL until then. Entries from before the chainer have their seq here.
    chain_pos: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # Unique: two entries naming the same predecessor would be a fork of the chain.
    prev_hash: Mapped[str | None] = mapped_column(CHAR(64), unique=True)
    hash: Mapped[str | None] = mapped_column(CHAR(64), unique=True)

    actor = relationship("User")

    def __repr__(self):
        return f"<AuditEntry {self.seq} {self.action} {self.object}>"
