"""Reports, their append-only history, their photos, and the category list."""
import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, SmallInteger,
                        String, Text, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apoa.extensions import db
from apoa.reports.states import ActionTaken, Channel, Outcome, PlaceKind, State


class Category(db.Model):
    """An admin-editable report category; the names are kept in both interface languages."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_id: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True, server_default="true")

    def name_for(self, locale):
        return self.name_en if str(locale) == "en" else self.name_id


REPORT_CHECKS = (
    (f"state IN ({State.sql_list()})", "state_known"),
    (f"outcome IS NULL OR outcome IN ({Outcome.sql_list()})", "outcome_known"),
    (f"action_taken IS NULL OR action_taken IN ({ActionTaken.sql_list()})", "action_taken_known"),
    (f"channel IN ({Channel.sql_list()})", "channel_known"),
    (f"place_kind IN ({PlaceKind.sql_list()})", "place_kind_known"),
    # A closed report, or one waiting for approval of its outcome, has an outcome; others do not.
    ("(state IN ('closed', 'pending_approval')) = (outcome IS NOT NULL)", "outcome_iff_decided"),
    # A duplicate names its original, and only a duplicate does.
    ("(outcome IS NOT DISTINCT FROM 'duplicate') = (duplicate_of_id IS NOT NULL)",
     "duplicate_names_original"),
    ("duplicate_of_id IS NULL OR duplicate_of_id <> id", "not_duplicate_of_itself"),
    # The action taken is recorded exactly when a violation was found.
    ("(outcome IS NOT DISTINCT FROM 'violation_found') = (action_taken IS NOT NULL)",
     "action_iff_violation"),
    ("state NOT IN ('assigned', 'in_field') OR assignee_id IS NOT NULL", "assignee_when_assigned"),
    ("people_count BETWEEN 1 AND 1000", "people_count_range"),
    ("char_length(description) BETWEEN 10 AND 2000", "description_length"),
    ("accuracy_m IS NULL OR accuracy_m >= 0", "accuracy_non_negative"),
    ("consent", "consent_given"),
)


class Report(db.Model):
    __tablename__ = "report"
    __table_args__ = (
        *(CheckConstraint(sql, name=name) for sql, name in REPORT_CHECKS),
        Index("ix_report_location", "location", postgresql_using="gist"),
        Index("ix_report_state", "state"),
        Index("ix_report_created_at", "created_at"),
        # The officers' queue: one office's reports in a state, newest first.
        Index("ix_report_office_state_created", "office_id", "state", "created_at"),
        Index("ix_report_kab_id", "kab_id"),
        Index("ix_report_kec_id", "kec_id"),
        Index("ix_report_due_at", "due_at"),
        Index("ix_report_assignee_created", "assignee_id", "created_at",
              postgresql_where=text("assignee_id IS NOT NULL")),
        Index("ix_report_duplicate_of_id", "duplicate_of_id",
              postgresql_where=text("duplicate_of_id IS NOT NULL")),
        Index("ix_report_office_created_id", "office_id", "created_at", "id"),
        Index("ix_report_office_due_id", "office_id", "due_at", "id"),
        # What the retention job (apoa/privacy/retention.py) still has to look at: small sets.
        Index("ix_report_closed_to_anonymise", "id", postgresql_where=text(
            "state = 'closed' AND outcome IN ('unfounded', 'duplicate') "
            "AND anonymised_at IS NULL")),
        Index("ix_report_closed_with_contact", "id",
              postgresql_where=text("state = 'closed' AND contact IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(20), unique=True)
    # The idempotency key of the form that made the report: a resend returns this report.
    submission_key: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    state: Mapped[str] = mapped_column(String(20), default=State.new.value)
    outcome: Mapped[str | None] = mapped_column(String(20))
    action_taken: Mapped[str | None] = mapped_column(String(20))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(Text)
    people_count: Mapped[int] = mapped_column(SmallInteger, default=1)
    nationality_guess: Mapped[str | None] = mapped_column(String(2))
    place_kind: Mapped[str] = mapped_column(String(20))
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    address_text: Mapped[str | None] = mapped_column(String(500))
    accuracy_m: Mapped[float | None]
    kab_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    kec_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(20), default=Channel.web.value)
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    contact: Mapped[bytes | None] = mapped_column(LargeBinary)
    consent: Mapped[bool]
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("report.id", ondelete="RESTRICT"))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())
    # Set when retention anonymised the report (apoa/privacy/retention.py).
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    category = relationship(Category)
    kabupaten = relationship("Region", foreign_keys=[kab_id])
    kecamatan = relationship("Region", foreign_keys=[kec_id])
    office = relationship("Office")
    events = relationship("ReportEvent", back_populates="report", order_by="ReportEvent.id")

    @property
    def state_enum(self):
        return State(self.state)

    def __repr__(self):
        return f"<Report {self.id} {self.state}>"


class ReportEvent(db.Model):
    """One step in a report's history. Rows are only ever added; the latest names the state."""

    __tablename__ = "report_event"
    __table_args__ = (
        CheckConstraint(f"to_state IN ({State.sql_list()})", name="to_state_known"),
        CheckConstraint(f"from_state IS NULL OR from_state IN ({State.sql_list()})",
                        name="from_state_known"),
        Index("ix_report_event_report_id_id", "report_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    report = relationship(Report, back_populates="events")
    actor = relationship("User")


class Attachment(db.Model):
    """A re-encoded photo, stored outside the web root and served only through an authorised
    view."""

    __tablename__ = "attachment"
    __table_args__ = (
        CheckConstraint("mime IN ('image/jpeg', 'image/png', 'image/webp')", name="mime_allowed"),
        CheckConstraint("width > 0 AND height > 0 AND bytes > 0", name="dimensions_positive"),
        Index("ix_attachment_report_id", "report_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_event.id", ondelete="SET NULL"))
    sha256: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(20))
    width: Mapped[int]
    height: Mapped[int]
    bytes: Mapped[int]
    stored_path: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
