"""The Tim PORA world: Karawang and Purwakarta under one Kanwil, each with its team, their
supervisors, a partner agency of Karawang's team with a member, and reports in both areas."""
import pytest
from sqlalchemy import func, select

from apoa.extensions import db
from apoa.partners.models import ForwardedReport, PartnerAgency, PartnerMember
from apoa.regions.models import Region

KARAWANG_POINT = (107.30, -6.30)
DESCRIPTION = "Lima orang asing bekerja di pabrik tanpa izin, setiap malam sejak bulan lalu."


def point_in(kode):
    """A point inside the region `kode` (PostGIS's point on its surface)."""
    point = db.session.scalar(select(func.ST_AsText(func.ST_PointOnSurface(Region.geom)))
                              .where(Region.kode == kode))
    lon, lat = point.removeprefix("POINT(").removesuffix(")").split()
    return float(lon), float(lat)


class Teams:
    def __init__(self, make):
        self.make = make
        self.kanwil = make.office(kind="kanwil", code="KANWIL-JABAR")
        self.karawang = make.office(parent=self.kanwil, code="KANIM-KARAWANG",
                                    name="Kantor Imigrasi Karawang", regions=["32.15"])
        self.purwakarta = make.office(parent=self.kanwil, code="KANIM-PURWAKARTA",
                                      name="Kantor Imigrasi Purwakarta", regions=["32.14"])
        self.supervisor = make.user("supervisor", self.karawang)
        self.officer = make.user("officer", self.karawang)
        self.kanwil_supervisor = make.user("supervisor", self.kanwil)
        self.other_supervisor = make.user("supervisor", self.purwakarta)
        self.admin = make.user("admin")
        self.polri = self.agency(self.karawang, "Polres Karawang", "polri")
        self.member = self.partner(self.polri, name="Bripka Anton")
        self.satpol = self.agency(self.purwakarta, "Satpol PP Purwakarta", "satpol_pp")
        self.other_member = self.partner(self.satpol)

    def agency(self, office, name, kind="polri"):
        agency = PartnerAgency(office_id=office.id, kind=kind, name=name)
        db.session.add(agency)
        db.session.flush()
        return agency

    def partner(self, agency, **fields):
        user = self.make.user("partner", agency.office, **fields)
        db.session.add(PartnerMember(user_id=user.id, agency_id=agency.id))
        db.session.flush()
        return user

    def report(self, office=None, **fields):
        point = KARAWANG_POINT if office in (None, self.karawang) else point_in("32.14")
        return self.make.report(point=point, description=fields.pop("description", DESCRIPTION),
                                **fields)

    def forward(self, report, office=None, note=None):
        forwarded = ForwardedReport(report_id=report.id, office_id=(office or self.karawang).id,
                                    forwarded_by_id=self.supervisor.id, note=note)
        db.session.add(forwarded)
        db.session.flush()
        return forwarded


@pytest.fixture
def teams(make):
    return Teams(make)
