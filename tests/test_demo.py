"""The demo seed used by `make run`: offices over the three kabupaten, one user per role, reports."""
from sqlalchemy import func, select

from apoa.auth.models import Role, User
from apoa.demo.seed import DEMO_PASSWORD, REPORT_WEIGHTS, seed_demo
from apoa.extensions import db
from apoa.regions.models import Region
from apoa.reports.models import Report


def test_demo_seed_creates_everything_once():
    first = seed_demo(report_count=60)
    assert first.offices == 7 and first.users == len(Role)
    assert 50 <= first.reports <= 60
    second = seed_demo(report_count=60)
    assert (second.offices, second.users, second.reports) == (0, 0, 0)


def test_demo_reports_lie_in_the_demo_kabupaten_and_have_an_office():
    seed_demo(report_count=60)
    kabupaten = db.session.scalars(
        select(Region.kode).join(Report, Report.kab_id == Region.id).distinct()).all()
    assert set(kabupaten) == set(REPORT_WEIGHTS)
    assert db.session.scalar(select(func.count()).where(Report.office_id.is_(None))) == 0


def test_every_demo_user_can_sign_in(client):
    seed_demo(report_count=5)
    for user in db.session.scalars(select(User)).all():
        answer = client.post("/masuk", data={"email": user.email, "password": DEMO_PASSWORD})
        assert answer.status_code == 302, user.email
        client.post("/keluar")


def test_demo_totp_prints_a_code_that_signs_the_demo_officer_in(client, runner):
    seed_demo(report_count=5)
    client.post("/masuk", data={"email": "petugas@demo.apoa.id", "password": DEMO_PASSWORD})
    code = runner.invoke(args=["demo", "totp", "petugas@demo.apoa.id"]).output.strip()
    assert code.isdigit() and len(code) == 6
    answer = client.post("/masuk/kode", data={"code": code})
    assert answer.status_code == 302 and "/masuk" not in answer.headers["Location"]


def test_demo_totp_refuses_other_accounts(runner):
    assert runner.invoke(args=["demo", "totp", "someone@example.com"]).exit_code == 1
