"""The office's side of Tim PORA: its team's partner agencies and their members, forwarding a
report to the team, and joint operations from plan to result.

Each service takes the actor, checks the rule of apoa/auth/permissions.py (manage_partners within
the actor's jurisdiction), changes, flushes and writes one audit entry with ids and counts only;
the view commits. Bad input raises UserValueError with a message for the person who typed it.

A member's account is made here, never by an administrator (apoa/auth/models.py
Role.assigned_by_admin), so that every partner account belongs to an agency. Like an
administrator's new staff account it gets a first password shown once to who made it, and its
owner sets up the second factor at the first sign-in, as every staff member does.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from flask_babel import gettext as _
from sqlalchemy import func, select

from apoa.audit.services import record
from apoa.auth.models import Role
from apoa.auth.permissions import (ALL_OFFICES, Permission, can_for_team, can_forward,
                                   jurisdiction_office_ids, office_subtree_ids)
from apoa.auth.services import create_user, find_user_by_email, new_password
from apoa.errors import Conflict, NotAllowed, UserValueError
from apoa.extensions import db
from apoa.partners.models import (MAX_NOTE, MAX_RESULT, AgencyKind, ForwardedReport,
                                  JointOperation, JointOperationReport, OperationState,
                                  PartnerAgency, PartnerMember)
from apoa.periods import local_today
from apoa.regions.models import Office, Region, RegionLevel, office_region

log = logging.getLogger("apoa.partners")


def _require(actor, office_id):
    if not can_for_team(actor, Permission.manage_partners, office_id):
        raise NotAllowed()


def _clean(text):
    return (text or "").strip()


# --- teams and agencies --------------------------------------------------------------------------

def teams_to_manage(user):
    """The offices whose teams `user` manages (their jurisdiction), by name."""
    office_ids = jurisdiction_office_ids(user)
    query = select(Office).order_by(Office.name)
    if office_ids is not ALL_OFFICES:
        query = query.where(Office.id.in_(sorted(office_ids) or [-1]))
    return db.session.scalars(query).all()


def agencies_of(office_id, active_only=False):
    query = (select(PartnerAgency).where(PartnerAgency.office_id == office_id)
             .order_by(PartnerAgency.active.desc(), PartnerAgency.name))
    if active_only:
        query = query.where(PartnerAgency.active)
    return db.session.scalars(query).all()


def create_agency(office, actor, kind, name):
    """A new partner agency on `office`'s team. Audited as "partner.agency_create"."""
    _require(actor, office.id)
    name = _clean(name)
    if kind not in {k.value for k in AgencyKind}:
        raise UserValueError(_("Choose the kind of agency."))
    if not 2 <= len(name) <= 200:
        raise UserValueError(_("Write the agency's name, 2 to 200 characters."))
    if _agency_named(office.id, name) is not None:
        raise UserValueError(_("The team already has an agency of this name."))
    agency = PartnerAgency(office_id=office.id, kind=kind, name=name)
    db.session.add(agency)
    db.session.flush()
    record("partner.agency_create", f"partner_agency:{agency.id}",
           {"office": office.id, "kind": kind}, actor=actor)
    log.info("user %s added partner agency %s to the team of office %s", actor.id, agency.id,
             office.id)
    return agency


def _agency_named(office_id, name):
    return db.session.scalar(select(PartnerAgency).where(
        PartnerAgency.office_id == office_id, func.lower(PartnerAgency.name) == name.lower()))


def deactivate_agency(agency, actor):
    """The agency leaves the team: its members see nothing from now on (the access rule asks for
    an active agency) and their open sessions end. Audited as "partner.agency_deactivate"."""
    _require(actor, agency.office_id)
    if not agency.active:
        raise Conflict(_("This agency already no longer takes part."))
    agency.active = False
    for member in agency.members:
        member.user.session_version += 1
    db.session.flush()
    record("partner.agency_deactivate", f"partner_agency:{agency.id}",
           {"office": agency.office_id, "members": len(agency.members)}, actor=actor)
    log.info("user %s deactivated partner agency %s", actor.id, agency.id)
    return agency


@dataclass(frozen=True)
class AddedMember:
    """A member's new account and its first password, to be shown once."""

    user: object
    first_password: str


def add_member(agency, actor, email, name):
    """A new partner account for `agency`, acting for the agency's office. An address that
    already has an account is refused: nobody's account becomes a partner's without them.
    Audited as "user.create" (apoa.auth.services) and "partner.member_add"."""
    _require(actor, agency.office_id)
    if not agency.active:
        raise Conflict(_("This agency no longer takes part: it cannot get new members."))
    if not _clean(name):
        raise UserValueError(_("Write the member's name."))
    if find_user_by_email(email) is not None:
        raise UserValueError(_("This email address already has an account. Ask the member for "
                               "another address (their office address, for instance)."))
    password = new_password()
    user = create_user(email, _clean(name), password, Role.partner.value,
                       office_code=agency.office.code, actor=actor)
    db.session.add(PartnerMember(user_id=user.id, agency_id=agency.id))
    db.session.flush()
    record("partner.member_add", f"user:{user.id}", {"agency": agency.id}, actor=actor)
    log.info("user %s added partner member %s to agency %s", actor.id, user.id, agency.id)
    return AddedMember(user, password)


# --- forwarding ----------------------------------------------------------------------------------

def teams_to_forward_to(user, report):
    """The offices whose teams `user` may forward `report` to, the report's own office first: the
    report's office and those above it, where the user manages the team and it has an active
    agency."""
    teams, office = [], report.office
    while office is not None:
        # The agencies first: most offices have none, and that is one small query.
        if agencies_of(office.id, active_only=True) and can_forward(user, report, office):
            teams.append(office)
        office = office.parent
    return teams


def forwards_of(report):
    """The teams `report` was forwarded to, oldest first."""
    return db.session.scalars(select(ForwardedReport).where(ForwardedReport.report_id == report.id)
                              .order_by(ForwardedReport.forwarded_at)).all()


def forward_report(report, team_office, actor, note=None):
    """Share `report` with `team_office`'s team (once), with an optional note for the team.
    Audited as "partner.forward"."""
    if not can_forward(actor, report, team_office):
        raise NotAllowed()
    note = _clean(note) or None
    if note is not None and len(note) > MAX_NOTE:
        raise UserValueError(_("Write at most %(max)d characters.", max=MAX_NOTE))
    if _forwarded(report.id, team_office.id) is not None:
        raise Conflict(_("This report has already been forwarded to this team."))
    forwarded = ForwardedReport(report_id=report.id, office_id=team_office.id,
                                forwarded_by_id=actor.id, note=note)
    db.session.add(forwarded)
    db.session.flush()
    record("partner.forward", f"report:{report.id}",
           {"team": team_office.id, "forwarded_report": forwarded.id}, actor=actor)
    log.info("user %s forwarded report %s to the team of office %s", actor.id, report.id,
             team_office.id)
    return forwarded


def _forwarded(report_id, office_id):
    return db.session.scalar(select(ForwardedReport).where(
        ForwardedReport.report_id == report_id, ForwardedReport.office_id == office_id))


def forwarded_to_team(office_id):
    """The reports forwarded to a team, newest first."""
    return db.session.scalars(select(ForwardedReport).where(ForwardedReport.office_id == office_id)
                              .order_by(ForwardedReport.forwarded_at.desc(),
                                        ForwardedReport.id.desc())).all()


# --- joint operations ----------------------------------------------------------------------------

def kecamatan_choices(office):
    """(id, "Kecamatan, Kabupaten") of the kecamatan in `office`'s jurisdiction, by name."""
    kabupaten = (select(Region.kode).join(office_region, office_region.c.region_id == Region.id)
                 .where(office_region.c.office_id.in_(sorted(office_subtree_ids(office.id))
                                                      or [-1])))
    parent = Region.__table__.alias("kab")
    query = (select(Region.id, Region.nama, parent.c.nama)
             .join(parent, parent.c.kode == Region.parent_kode)
             .where(Region.level == RegionLevel.kecamatan.value,
                    Region.parent_kode.in_(kabupaten))
             .order_by(Region.nama, parent.c.nama))
    return [(id_, f"{name}, {kab}") for id_, name, kab in db.session.execute(query).all()]


@dataclass(frozen=True)
class OperationPlan:
    title: str
    planned_on: object
    kecamatan_id: int | None
    agency_ids: tuple
    forwarded_ids: tuple


def plan_operation(office, actor, plan):
    """A joint operation of `office`'s team, planned. Audited as "partner.operation_plan"."""
    _require(actor, office.id)
    title = _clean(plan.title)
    if not 3 <= len(title) <= 200:
        raise UserValueError(_("Write a title, 3 to 200 characters."))
    agencies = _team_agencies(office.id, plan.agency_ids)
    forwarded = _team_forwards(office.id, plan.forwarded_ids)
    if plan.kecamatan_id is not None and plan.kecamatan_id not in dict(kecamatan_choices(office)):
        raise UserValueError(_("Choose a district (kecamatan) of the team's area."))
    operation = JointOperation(office_id=office.id, title=title, planned_on=plan.planned_on,
                               kecamatan_id=plan.kecamatan_id, created_by_id=actor.id,
                               state=OperationState.planned.value, agencies=agencies)
    operation.reports = [JointOperationReport(forwarded=f) for f in forwarded]
    db.session.add(operation)
    db.session.flush()
    record("partner.operation_plan", f"joint_operation:{operation.id}",
           {"office": office.id, "agencies": len(agencies), "reports": len(forwarded)},
           actor=actor)
    log.info("user %s planned joint operation %s", actor.id, operation.id)
    return operation


def _team_agencies(office_id, agency_ids):
    if not agency_ids:
        raise UserValueError(_("Choose at least one agency taking part."))
    agencies = db.session.scalars(select(PartnerAgency).where(
        PartnerAgency.id.in_(agency_ids), PartnerAgency.office_id == office_id,
        PartnerAgency.active)).all()
    if len(agencies) != len(set(agency_ids)):
        raise UserValueError(_("Choose agencies that take part in the team."))
    return list(agencies)


def _team_forwards(office_id, forwarded_ids):
    if not forwarded_ids:
        return []
    forwarded = db.session.scalars(select(ForwardedReport).where(
        ForwardedReport.id.in_(forwarded_ids), ForwardedReport.office_id == office_id)).all()
    if len(forwarded) != len(set(forwarded_ids)):
        raise UserValueError(_("Choose reports forwarded to this team."))
    return list(forwarded)


def record_result(operation, actor, result, outcomes, now=None, today=None):
    """The operation was carried out: its overall result (required) and what it found about each
    of its forwarded reports (`outcomes`: forwarded report id → text, optional each).
    Audited as "partner.operation_done"."""
    _require(actor, operation.office_id)
    _must_be_planned(operation)
    result = _clean(result)
    if not result:
        raise UserValueError(_("Write what the operation found or did."))
    if len(result) > MAX_RESULT:
        raise UserValueError(_("Write at most %(max)d characters.", max=MAX_RESULT))
    if operation.planned_on > (today or local_today()):
        raise UserValueError(_("The operation is planned for a later day: record its result "
                               "once it has taken place."))
    written = _set_outcomes(operation, outcomes)
    operation.state, operation.result = OperationState.done.value, result
    operation.done_at = now or datetime.now(timezone.utc)
    db.session.flush()
    record("partner.operation_done", f"joint_operation:{operation.id}",
           {"office": operation.office_id, "reports": len(operation.reports),
            "outcomes": written}, actor=actor)
    log.info("user %s recorded the result of joint operation %s", actor.id, operation.id)
    return operation


def _set_outcomes(operation, outcomes):
    written = 0
    for link in operation.reports:
        text = _clean(outcomes.get(link.forwarded_report_id)) or None
        if text is not None and len(text) > MAX_NOTE:
            raise UserValueError(_("Write at most %(max)d characters.", max=MAX_NOTE))
        link.outcome = text
        written += text is not None
    return written


def cancel_operation(operation, actor):
    """A planned operation that will not take place. Audited as "partner.operation_cancel"."""
    _require(actor, operation.office_id)
    _must_be_planned(operation)
    operation.state = OperationState.cancelled.value
    db.session.flush()
    record("partner.operation_cancel", f"joint_operation:{operation.id}",
           {"office": operation.office_id}, actor=actor)
    log.info("user %s cancelled joint operation %s", actor.id, operation.id)
    return operation


def _must_be_planned(operation):
    if operation.state != OperationState.planned.value:
        raise Conflict(_("This operation is no longer planned: it is %(state)s.",
                         state=operation.state_enum.title))


def operations_of(office_id):
    """A team's operations, the latest planned first."""
    return db.session.scalars(select(JointOperation).where(JointOperation.office_id == office_id)
                              .order_by(JointOperation.planned_on.desc(),
                                        JointOperation.id.desc())).all()
