"""Credentials of the open interfaces, stored only as hashes.

- `ApiToken`: a staff member's personal access token for /api/v1, made after signing in with the
  second factor; a scope (read, act), an expiry, revocable. Shown once when made.
- `ApiSubmission`: the sha256 of the body an API submission came with, under its
  Idempotency-Key (which is the report's submission key): the same key with another body is
  refused (422) rather than answered with the first report.
- `PartnerKey`: an Open311 api_key an admin issues: to a partner application, which may only
  submit, or to a partner agency of an office, which may also read that office's jurisdiction's
  requests, coarsely. Shown once when made.

A secret is found by the sha256 of its value (it is random and long, so no salt or slow hash is
needed); `prefix` is its first characters, for people to tell their tokens apart.
"""
import uuid
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apoa.core.vocabulary import TitledEnum, titled
from apoa.extensions import db


class TokenScope(TitledEnum):
    read = "read"  # the queue, a report, its history and the actions allowed
    act = "act"    # also applying an action


class PartnerKind(TitledEnum):
    app = "app"        # a partner application: submits requests, reads nothing
    agency = "agency"  # a partner agency of an office: also reads its jurisdiction, coarsely


titled(TokenScope, {TokenScope.read: _l("Read only"), TokenScope.act: _l("Read and act")})
titled(PartnerKind, {PartnerKind.app: _l("Partner application (submits only)"),
                     PartnerKind.agency: _l("Partner agency (reads its office's area)")})


class ApiToken(db.Model):
    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint(f"scope IN ({TokenScope.sql_list()})", name="scope_known"),
        Index("ix_api_token_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    scope: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user = relationship("User")


class PartnerKey(db.Model):
    __tablename__ = "partner_key"
    __table_args__ = (
        CheckConstraint(f"kind IN ({PartnerKind.sql_list()})", name="kind_known"),
        # An agency reads one office's jurisdiction; an application reads nothing.
        CheckConstraint("(kind = 'agency') = (office_id IS NOT NULL)", name="office_iff_agency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    office = relationship("Office")


class ApiSubmission(db.Model):
    __tablename__ = "api_submission"

    submission_key: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
