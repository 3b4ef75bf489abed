"""What a Tim PORA member reads: the reports forwarded to their team and the team's joint
operations, each read audited.

A forwarded report reaches the page only as a SharedReport, built here from the few fields the team
needs to act: what was seen (description, category, how many people, their presumed nationality,
the kind of place), when (the day, not the hour) and where, coarsely: the kecamatan and
kabupaten/kota, never the point. A point, even rounded, can fall on one house in a village, and the
team plans its operations by kecamatan anyway. The reporter is never in it: no contact, no
account, no channel, no address text (a resident often writes their own street there), no photos
(a photo can show where it was taken from), and not the tracking code either, which is the
reporter's key to the status page; the team knows a report by its forwarding number.
"""
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import to_user_timezone
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from apoa.audit.services import record
from apoa.auth.permissions import (Permission, can_for_team, partner_team_office,
                                   visible_for_team, visible_forwarded)
from apoa.extensions import db
from apoa.partners.models import (ForwardedReport, JointOperation, JointOperationReport,
                                  OperationState, PartnerAgency, PartnerMember)
from apoa.regions.models import Office
from apoa.reports.models import Report
from apoa.reports.states import PlaceKind

PAGE_SIZE = 50


@dataclass(frozen=True)
class SharedReport:
    id: int                     # the forwarded report's number, never the tracking code
    forwarded_at: datetime
    note: str | None
    category: object            # apoa.reports.models.Category (its name in either language)
    description: str
    people_count: int
    nationality: str | None     # ISO code, as guessed by the reporter
    place_kind: PlaceKind
    observed_on: date
    kecamatan: str | None
    kabupaten: str | None


def shared_report(forwarded):
    report = forwarded.report
    return SharedReport(
        id=forwarded.id, forwarded_at=forwarded.forwarded_at, note=forwarded.note,
        category=report.category, description=report.description,
        people_count=report.people_count, nationality=report.nationality_guess,
        place_kind=PlaceKind(report.place_kind),
        observed_on=to_user_timezone(report.observed_at).date(),
        kecamatan=report.kecamatan.nama if report.kecamatan else None,
        kabupaten=report.kabupaten.nama if report.kabupaten else None)


_REPORT_PARTS = selectinload(ForwardedReport.report).options(
    selectinload(Report.category), selectinload(Report.kecamatan), selectinload(Report.kabupaten))


# --- the member's team ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Team:
    office: Office
    agency: PartnerAgency


def team_of(user):
    """The member's team (their office and their agency), or None when they have none any more."""
    office_id = partner_team_office(user)
    if office_id is None:
        return None
    agency = db.session.scalar(select(PartnerAgency).join(PartnerMember)
                               .where(PartnerMember.user_id == user.id))
    return Team(db.session.get(Office, office_id), agency)


@dataclass(frozen=True)
class TeamCounts:
    forwarded: int
    planned: int
    done: int


def team_counts(user):
    forwarded = db.session.scalar(visible_forwarded(select(func.count(ForwardedReport.id)), user))
    by_state = dict(db.session.execute(
        visible_for_team(select(JointOperation.state, func.count()), user, JointOperation)
        .group_by(JointOperation.state)).all())
    return TeamCounts(forwarded or 0, by_state.get(OperationState.planned.value, 0),
                      by_state.get(OperationState.done.value, 0))


# --- forwarded reports ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SharedPage:
    reports: list
    number: int
    has_next: bool


def forwarded_page(user, number=1):
    """One page of the reports forwarded to the member's team, newest first. Audited as
    "partner.forwarded_list" (the team and how many were shown)."""
    number = max(1, min(number, 10_000))
    query = (visible_forwarded(select(ForwardedReport), user).options(_REPORT_PARTS)
             .order_by(ForwardedReport.forwarded_at.desc(), ForwardedReport.id.desc())
             .limit(PAGE_SIZE + 1).offset((number - 1) * PAGE_SIZE))
    rows = db.session.scalars(query).all()
    shown = [shared_report(f) for f in rows[:PAGE_SIZE]]
    record("partner.forwarded_list", f"office:{partner_team_office(user)}",
           {"page": number, "count": len(shown)}, actor=user)
    return SharedPage(shown, number, len(rows) > PAGE_SIZE)


def find_forwarded(user, forwarded_id):
    """The forwarded report if `user` may read it (their team's), else None."""
    if not 0 < forwarded_id <= 2**31 - 1:
        return None
    forwarded = db.session.scalar(
        visible_forwarded(select(ForwardedReport), user)
        .where(ForwardedReport.id == forwarded_id).options(_REPORT_PARTS))
    if forwarded is None or not can_for_team(user, Permission.view_shared, forwarded.office_id):
        return None
    return forwarded


def read_forwarded(user, forwarded):
    """The SharedReport of `forwarded` and the operations acting on it, for the member.
    Audited as "partner.forwarded_view"."""
    shared = shared_report(forwarded)
    links = db.session.scalars(
        select(JointOperationReport).where(JointOperationReport.forwarded_report_id == forwarded.id)
        .options(selectinload(JointOperationReport.operation))).all()
    record("partner.forwarded_view", f"forwarded_report:{forwarded.id}",
           {"report": forwarded.report_id}, actor=user)
    return shared, sorted(links, key=lambda link: link.operation.planned_on, reverse=True)


# --- joint operations ----------------------------------------------------------------------------

def team_operations(user):
    """The team's operations, the latest planned first."""
    return db.session.scalars(
        visible_for_team(select(JointOperation), user, JointOperation)
        .options(selectinload(JointOperation.agencies), selectinload(JointOperation.kecamatan))
        .order_by(JointOperation.planned_on.desc(), JointOperation.id.desc())).all()


def find_operation(user, operation_id, permission=Permission.view_shared):
    """The operation if `user` may see it with `permission`, else None."""
    if not 0 < operation_id <= 2**31 - 1:
        return None
    operation = db.session.get(JointOperation, operation_id)
    if operation is None or not can_for_team(user, permission, operation.office_id):
        return None
    return operation


def read_operation(user, operation):
    """The operation's forwarded reports as SharedReports with their outcomes, for the member.
    Audited as "partner.operation_view"."""
    links = db.session.scalars(
        select(JointOperationReport).where(JointOperationReport.operation_id == operation.id)
        .options(selectinload(JointOperationReport.forwarded).options(_REPORT_PARTS))
        .order_by(JointOperationReport.forwarded_report_id)).all()
    record("partner.operation_view", f"joint_operation:{operation.id}",
           {"reports": len(links)}, actor=user)
    return [(shared_report(link.forwarded), link.outcome) for link in links]
