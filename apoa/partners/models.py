"""Tim PORA: the partner agencies on an office's team and their members, the reports an office
forwards to its team, and the joint operations the team plans and records results of.

The team of an office is the office's partner agencies (`partner_agency.office_id`). A member is a
user of role partner who belongs to exactly one agency and, like its agency, acts for the team's
office (`user_account.office_id` is the same office). What a member sees is decided in
apoa/auth/permissions.py (view_shared): only rows of that one office.

A forwarded report is a pointer, not a copy: what the team may read of the report (never its
reporter) is chosen by the page that shows it (apoa/partners/shared.py).
"""
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (CheckConstraint, Date, DateTime, ForeignKey, Index, String, Text,
                        UniqueConstraint, func)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apoa.core.vocabulary import TitledEnum, titled
from apoa.extensions import db

MAX_NOTE = 1000       # an officer's note for the team, an operation's outcome for one report
MAX_RESULT = 4000     # an operation's overall result


class AgencyKind(TitledEnum):
    polri = "polri"
    tni = "tni"
    kejaksaan = "kejaksaan"
    bnn = "bnn"
    kesbangpol = "kesbangpol"
    satpol_pp = "satpol_pp"
    camat = "camat"
    other = "other"


titled(AgencyKind, {AgencyKind.polri: _l("Police (Polri)"),
                    AgencyKind.tni: _l("Armed forces (TNI)"),
                    AgencyKind.kejaksaan: _l("Public prosecutor (Kejaksaan)"),
                    AgencyKind.bnn: _l("National Narcotics Agency (BNN)"),
                    AgencyKind.kesbangpol: _l("National unity and politics agency (Kesbangpol)"),
                    AgencyKind.satpol_pp: _l("Civil service police (Satpol PP)"),
                    AgencyKind.camat: _l("District head (camat)"),
                    AgencyKind.other: _l("Other agency")})


class OperationState(TitledEnum):
    planned = "planned"
    done = "done"
    cancelled = "cancelled"


titled(OperationState, {OperationState.planned: _l("Planned"), OperationState.done: _l("Done"),
                        OperationState.cancelled: _l("Cancelled")})


class PartnerAgency(db.Model):
    __tablename__ = "partner_agency"
    __table_args__ = (
        CheckConstraint(f"kind IN ({AgencyKind.sql_list()})", name="kind_known"),
        CheckConstraint("char_length(name) BETWEEN 2 AND 200", name="name_length"),
        UniqueConstraint("office_id", "name"),
        Index("ix_partner_agency_office_id", "office_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    office = relationship("Office")
    members = relationship("PartnerMember", back_populates="agency",
                           order_by="PartnerMember.added_at")

    @property
    def kind_title(self):
        return AgencyKind(self.kind).title


class PartnerMember(db.Model):
    """A partner user's one agency (the user's office is the agency's office)."""

    __tablename__ = "partner_member"
    __table_args__ = (Index("ix_partner_member_agency_id", "agency_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("partner_agency.id", ondelete="CASCADE"))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    user = relationship("User")
    agency = relationship(PartnerAgency, back_populates="members")


class ForwardedReport(db.Model):
    """A report an office's staff shared with the office's team; once per report and team."""

    __tablename__ = "forwarded_report"
    __table_args__ = (
        UniqueConstraint("report_id", "office_id"),
        CheckConstraint(f"char_length(note) <= {MAX_NOTE}", name="note_length"),
        Index("ix_forwarded_report_office_forwarded", "office_id", "forwarded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    forwarded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    forwarded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())

    report = relationship("Report")
    office = relationship("Office")
    forwarded_by = relationship("User")


OPERATION_CHECKS = (
    (f"state IN ({OperationState.sql_list()})", "state_known"),
    ("char_length(title) BETWEEN 3 AND 200", "title_length"),
    # A done operation says what came of it and when; no other state has either.
    ("(state = 'done') = (result IS NOT NULL)", "result_iff_done"),
    ("(state = 'done') = (done_at IS NOT NULL)", "done_at_iff_done"),
    (f"char_length(result) <= {MAX_RESULT}", "result_length"),
)


class JointOperation(db.Model):
    __tablename__ = "joint_operation"
    __table_args__ = (
        *(CheckConstraint(sql, name=name) for sql, name in OPERATION_CHECKS),
        Index("ix_joint_operation_office_planned", "office_id", "planned_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    planned_on: Mapped[date] = mapped_column(Date)
    # Where it takes place, when it is one kecamatan.
    kecamatan_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    state: Mapped[str] = mapped_column(String(12), default=OperationState.planned.value,
                                       server_default=OperationState.planned.value)
    result: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    office = relationship("Office")
    kecamatan = relationship("Region")
    agencies = relationship(PartnerAgency, secondary="joint_operation_agency",
                            order_by=PartnerAgency.name)
    reports = relationship("JointOperationReport", back_populates="operation",
                           order_by="JointOperationReport.forwarded_report_id",
                           cascade="all, delete-orphan")

    @property
    def state_enum(self):
        return OperationState(self.state)


class JointOperationAgency(db.Model):
    __tablename__ = "joint_operation_agency"
    __table_args__ = (Index("ix_joint_operation_agency_agency_id", "agency_id"),)

    operation_id: Mapped[int] = mapped_column(
        ForeignKey("joint_operation.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("partner_agency.id", ondelete="RESTRICT"), primary_key=True)


class JointOperationReport(db.Model):
    """A forwarded report an operation acts on, and what the operation found about it."""

    __tablename__ = "joint_operation_report"
    __table_args__ = (
        CheckConstraint(f"char_length(outcome) <= {MAX_NOTE}", name="outcome_length"),
        Index("ix_joint_operation_report_forwarded", "forwarded_report_id"),
    )

    operation_id: Mapped[int] = mapped_column(
        ForeignKey("joint_operation.id", ondelete="CASCADE"), primary_key=True)
    forwarded_report_id: Mapped[int] = mapped_column(
        ForeignKey("forwarded_report.id", ondelete="CASCADE"), primary_key=True)
    outcome: Mapped[str | None] = mapped_column(Text)

    operation = relationship(JointOperation, back_populates="reports")
    forwarded = relationship(ForwardedReport)
