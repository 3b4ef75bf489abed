"""Cases for an office's supervisors that are not reports: complaints about the service and
questions residents ask (from WhatsApp, the web page /keluhan and the API). Each goes from received
to answered, with a due time, and the answer goes back by the channel it came from. Beside them, a
reporter's rating of the service once their report is closed (`ServiceRating`, the SKM survey of
PermenPAN-RB 14/2017: apoa/feedback/skm.py), and the WhatsApp invitation to give it, sent once
(`RatingInvitation`)."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, SmallInteger,
                        String, Text, func)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apoa.core.vocabulary import TitledEnum, titled
from apoa.extensions import db


class CaseKind(TitledEnum):
    complaint = "complaint"
    question = "question"


class CaseState(TitledEnum):
    received = "received"
    answered = "answered"


titled(CaseKind, {CaseKind.complaint: _l("Complaint about the service"),
                  CaseKind.question: _l("Question")})
titled(CaseState, {CaseState.received: _l("Received"), CaseState.answered: _l("Answered")})


class ServiceCase(db.Model):
    __tablename__ = "service_case"
    __table_args__ = (
        CheckConstraint(f"kind IN ({CaseKind.sql_list()})", name="kind_known"),
        CheckConstraint(f"state IN ({CaseState.sql_list()})", name="state_known"),
        CheckConstraint("(state = 'answered') = (answer IS NOT NULL)", name="answer_iff_answered"),
        CheckConstraint("char_length(body) BETWEEN 1 AND 2000", name="body_length"),
        # A case from the web or the API is read back with its reference and secret, both or none.
        CheckConstraint("(reference IS NULL) = (secret_hash IS NULL)",
                        name="reference_with_secret"),
        Index("ix_service_case_office_state_created", "office_id", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    # How to answer: the encrypted contact (apoa/reports/contact.py), never shown to staff.
    contact: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(12), default=CaseState.received.value,
                                       server_default=CaseState.received.value)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # What a resident of the web or the API reads their case with (apoa/feedback/public_cases.py):
    # a random reference and the sha256 of a secret shown to them only.
    reference: Mapped[str | None] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # The retry of a submission (the same key) answers with this case, never a second one. Only the
    # key's sha256 is kept: the secret is derived from the key (apoa/feedback/public_cases.py).
    submission_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    submission_digest: Mapped[str | None] = mapped_column(String(64))
    # The report the resident named by its tracking code; its office is the case's.
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id", ondelete="SET NULL"))
    # The language the resident wrote in: the answer's e-mail is in it.
    locale: Mapped[str | None] = mapped_column(String(8))
    answer_mailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    office = relationship("Office")
    answered_by = relationship("User")
    report = relationship("Report")

    @property
    def kind_enum(self):
        return CaseKind(self.kind)

    @property
    def state_enum(self):
        return CaseState(self.state)


# The nine SKM elements' columns (apoa/feedback/skm.py, SkmElement): one score 1..4 each.
SKM_COLUMNS = ("requirements", "procedure", "duration", "cost", "product", "competence",
               "conduct", "complaints", "facilities")


class ServiceRating(db.Model):
    """A reporter's rating of the service for one closed report: the nine SKM elements scored 1
    (not appropriate) to 4 (very appropriate) and an optional comment (the reporter's own words:
    never logged nor audited). The report's office is copied at rating time, so a later transfer
    does not move the answer to another office's IKM."""

    __tablename__ = "service_rating"
    __table_args__ = (
        *(CheckConstraint(f"{name} BETWEEN 1 AND 4", name=f"{name}_score") for name in SKM_COLUMNS),
        CheckConstraint("char_length(comment) <= 1000", name="comment_length"),
        Index("ix_service_rating_office_rated", "office_id", "rated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"),
                                           unique=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    rated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    requirements: Mapped[int] = mapped_column(SmallInteger)
    procedure: Mapped[int] = mapped_column(SmallInteger)
    duration: Mapped[int] = mapped_column(SmallInteger)
    cost: Mapped[int] = mapped_column(SmallInteger)
    product: Mapped[int] = mapped_column(SmallInteger)
    competence: Mapped[int] = mapped_column(SmallInteger)
    conduct: Mapped[int] = mapped_column(SmallInteger)
    complaints: Mapped[int] = mapped_column(SmallInteger)
    facilities: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)


class RatingInvitation(db.Model):
    """That a WhatsApp reporter was invited to rate the service for a report (at its first
    closure that could carry the invitation): a report's reporter is invited once."""

    __tablename__ = "rating_invitation"

    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"),
                                           primary_key=True)
    invited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
