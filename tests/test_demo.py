"""The demo seed used by `make run`: offices over the three kabupaten, one user per role, reports,
and verified lodgings with their foreign guests' stays."""
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from apoa.auth.models import Role, User
from apoa.auth.permissions import Permission, can_for_organisation
from apoa.demo.guests import LODGING_USER, LODGINGS
from apoa.demo.seed import DEMO_PASSWORD, REPORT_WEIGHTS, seed_demo
from apoa.extensions import db, limiter
from apoa.guests.models import Organisation, OrganisationMember, Stay
from apoa.guests.services import StayFlag, check_in, flags
from apoa.regions.models import Region
from apoa.reports.models import Report
from tests.guests.test_stays import guest


def test_demo_seed_creates_everything_once():
    first = seed_demo(report_count=60)
    assert first.offices == 7 and first.users == len(Role)
    assert 50 <= first.reports <= 60
    assert first.lodgings == len(LODGINGS) and 250 <= first.stays <= 400
    second = seed_demo(report_count=60)
    assert (second.offices, second.users, second.reports, second.lodgings, second.stays) == (0,) * 5


def test_demo_reports_lie_in_the_demo_kabupaten_and_have_an_office():
    seed_demo(report_count=60)
    kabupaten = db.session.scalars(
        select(Region.kode).join(Report, Report.kab_id == Region.id).distinct()).all()
    assert set(kabupaten) == set(REPORT_WEIGHTS)
    assert db.session.scalar(select(func.count()).where(Report.office_id.is_(None))) == 0


def test_every_demo_user_can_sign_in(client):
    seed_demo(report_count=5)
    for user in db.session.scalars(select(User)).all():
        limiter.reset()  # more demo accounts than one address may try in a minute
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


def test_demo_lodgings_are_verified_lodgings_inside_the_three_kabupaten(clock):
    seed_demo(report_count=5)
    lodgings = db.session.scalars(select(Organisation)).all()
    assert len(lodgings) == len(LODGINGS)
    for lodging in lodgings:
        assert lodging.is_verified and lodging.kind == "lodging" and lodging.office_id is not None
        assert lodging.licence_no.isdigit() and len(lodging.licence_no) == 13
        assert lodging.lodging_kind and lodging.address
        inside = db.session.scalar(select(func.ST_Contains(Region.geom, lodging.location))
                                   .where(Region.id == lodging.kab_id))
        assert inside
    assert {lodging.kabupaten.kode for lodging in lodgings} == set(REPORT_WEIGHTS)
    assert len({lodging.lodging_kind for lodging in lodgings}) >= 4


def test_demo_stays_are_varied_and_some_are_present_now(clock):
    seed_demo(report_count=5)
    stays = db.session.scalars(select(Stay)).all()
    states = Counter(stay.state for stay in stays)
    assert states["present"] >= 30 and states["checked_out"] >= 150 and not states["cancelled"]
    assert len({stay.nationality for stay in stays}) >= 10
    assert len({stay.permit_kind for stay in stays}) == 6
    assert 5 <= sum(stay.late for stay in stays) <= 60
    assert all(stay.checked_in_at <= clock.now for stay in stays)
    assert {stay.kab_id for stay in stays} == {lodging.kab_id for lodging in
                                               db.session.scalars(select(Organisation))}
    assert any(stay.group_id for stay in stays) and any(stay.group_id is None for stay in stays)


def test_demo_stays_raise_each_of_the_officers_leads(clock):
    seed_demo(report_count=5)
    stays = db.session.scalars(select(Stay)).all()
    week_ago = clock.now - timedelta(days=7)
    lodgings_by_passport = {}
    for stay in stays:
        if stay.checked_in_at >= week_ago:
            lodgings_by_passport.setdefault(stay.passport_hash, set()).add(stay.organisation_id)
    assert any(len(lodgings) >= 3 for lodgings in lodgings_by_passport.values())
    present = [stay for stay in stays if stay.state == "present"]
    assert any(stay.permit_expiry is not None and stay.checked_in_at.date() < stay.permit_expiry
               < clock.today for stay in present)
    assert any(stay.planned_check_out <= clock.today - timedelta(days=7) for stay in present)
    assert any(StayFlag.passport_expired in flags(stay) for stay in stays)


def test_the_lodging_demo_user_is_in_charge_of_a_karawang_lodging_and_can_check_guests_in(clock):
    seed_demo(report_count=5)
    user = db.session.scalar(select(User).where(User.email == LODGING_USER))
    [membership] = db.session.scalars(select(OrganisationMember).where(OrganisationMember.user_id == user.id))
    hotel = membership.organisation
    assert membership.is_person_in_charge and user.role == Role.lodging.value
    assert hotel.kabupaten.kode == "32.15" and hotel.is_verified
    assert can_for_organisation(user, Permission.report_guests, hotel)
    assert db.session.scalar(select(func.count()).where(Stay.organisation_id == hotel.id,
                                                        Stay.state == "present")) > 0
    [stay] = check_in(hotel, user, [guest(clock)], clock.now)
    assert stay.sttpoa_no


def test_the_demo_imports_the_example_indicators_once_for_the_regional_map():
    from apoa.indicators.models import IndicatorSeries

    seed_demo(report_count=10)
    names = set(db.session.scalars(select(IndicatorSeries.name)).all())
    assert {"population", "lodgings"} <= names  # what the two rate layers need
    count = db.session.scalar(select(func.count()).select_from(IndicatorSeries))
    seed_demo(report_count=10)
    assert db.session.scalar(select(func.count()).select_from(IndicatorSeries)) == count
