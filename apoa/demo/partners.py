"""The demo's Tim PORA: the Karawang office's team with two partner agencies, a member account
(mitra@demo.apoa.id, in USERS of apoa/demo/seed.py), a few reports forwarded to the team and two
joint operations — one held last month with its result (so the supervision map of last month
shows it), one planned — made through the same services the supervisors' pages use."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from apoa.auth.models import User
from apoa.extensions import db
from apoa.partners.models import PartnerAgency, PartnerMember
from apoa.partners.services import (OperationPlan, create_agency, forward_report, kecamatan_choices,
                                    plan_operation, record_result)
from apoa.periods import local_today
from apoa.regions.models import Office
from apoa.reports.models import Report

TEAM_OFFICE = "KANIM-KARAWANG"
SUPERVISOR = "penyelia@demo.apoa.id"
MEMBER = "mitra@demo.apoa.id"
AGENCIES = (("polri", "Polres Karawang (demo)"),
            ("satpol_pp", "Satpol PP Kabupaten Karawang (demo)"))
FORWARDED = 5


def seed_partners():
    """Create the demo team once (nothing when its first agency exists). Returns the number of
    agencies created."""
    office = db.session.scalar(select(Office).where(Office.code == TEAM_OFFICE))
    supervisor = db.session.scalar(select(User).where(User.email == SUPERVISOR))
    member = db.session.scalar(select(User).where(User.email == MEMBER))
    if office is None or supervisor is None or member is None or _team_exists(office):
        return 0
    agencies = [create_agency(office, supervisor, kind, name) for kind, name in AGENCIES]
    db.session.add(PartnerMember(user_id=member.id, agency_id=agencies[0].id))
    forwarded = [forward_report(report, office, supervisor,
                                note="Mohon dukungan pengecekan bersama (data demo).")
                 for report in _reports_to_forward(office)]
    _joint_operations(office, supervisor, agencies, forwarded)
    db.session.flush()
    return len(agencies)


def _team_exists(office):
    return db.session.scalar(select(PartnerAgency.id).where(PartnerAgency.office_id == office.id)
                             .limit(1)) is not None


def _reports_to_forward(office):
    newest_first = (Report.created_at.desc(), Report.id.desc())
    return db.session.scalars(select(Report).where(Report.office_id == office.id)
                              .order_by(*newest_first).limit(FORWARDED)).all()


def _joint_operations(office, supervisor, agencies, forwarded):
    today = local_today()
    held_on = today.replace(day=1) - timedelta(days=10)      # in last month
    places = [kec_id for kec_id, _name in kecamatan_choices(office)]
    agency_ids = tuple(agency.id for agency in agencies)
    held = plan_operation(office, supervisor, OperationPlan(
        title="Operasi gabungan kawasan industri (demo)", planned_on=held_on,
        kecamatan_id=places[0] if places else None, agency_ids=agency_ids,
        forwarded_ids=tuple(f.id for f in forwarded[:3])))
    record_result(held, supervisor, "Tiga lokasi diperiksa bersama; dua WNA diminta melengkapi "
                  "izin tinggal (data demo).", {f.id: "Diperiksa bersama (data demo)."
                                                 for f in forwarded[:3]},
                  now=datetime.now(timezone.utc), today=today)
    plan_operation(office, supervisor, OperationPlan(
        title="Patroli bersama permukiman (demo)", planned_on=today + timedelta(days=7),
        kecamatan_id=places[-1] if places else None, agency_ids=agency_ids[:1],
        forwarded_ids=tuple(f.id for f in forwarded[3:])))
