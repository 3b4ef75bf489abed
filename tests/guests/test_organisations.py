"""Organisations reporting foreign guests: sign-up placed in the office of their place, verification
by that office's supervisors (audited), staff accounts, and no check-in before verification."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from apoa.audit.models import AuditEntry
from apoa.errors import Conflict, NotAllowed, UserValueError
from apoa.guests.models import Organisation, OrganisationMember
from apoa.reports.states import State
from apoa.guests.services import (GuestData, NotVerified, OutsideIndonesia, add_member, check_in,
                                  register_organisation, verify_organisation)
from tests.factories import World

KARAWANG = (107.30, -6.30)
NOTE = "Izin usaha dan lokasi sudah diperiksa petugas."


@pytest.fixture
def world(make):
    return World(make)


def register_hotel(person, point=KARAWANG):
    return register_organisation(person, "lodging", "Hotel Melati Karawang", "Jl. Tuparev 12, Karawang",
                                 point, licence_no="9120001234567", lodging_kind="hotel")


def audit(session, action, organisation):
    query = select(AuditEntry).where(AuditEntry.action == action,
                                     AuditEntry.object == f"organisation:{organisation.id}")
    return session.scalars(query).all()


def test_registration_places_the_organisation_in_the_office_of_its_place(world, make, db_session):
    person = make.user("resident")
    hotel = register_hotel(person)
    assert hotel.kabupaten.kode == "32.15"
    assert hotel.office_id == world.office.id
    assert hotel.state == "pending" and hotel.decided_at is None
    member = db_session.get(OrganisationMember, (hotel.id, person.id))
    assert member.is_person_in_charge
    assert person.role == "lodging" and not person.is_staff
    [entry] = audit(db_session, "organisation.register", hotel)
    assert entry.actor_id == person.id and entry.detail == {"kind": "lodging", "office_id": world.office.id}


def test_a_place_outside_indonesia_is_refused(world, make):
    with pytest.raises(OutsideIndonesia):
        register_hotel(make.user("resident"), point=(2.35, 48.85))


@pytest.mark.parametrize("fields", [
    {"kind": "lodging", "licence_no": "9120001234567", "lodging_kind": None},
    {"kind": "lodging", "licence_no": "", "lodging_kind": "villa"},
    {"kind": "company", "licence_no": None, "lodging_kind": None},
    {"kind": "embassy", "licence_no": "1", "lodging_kind": None},
], ids=["lodging-without-kind", "lodging-without-licence", "company-without-licence", "unknown-kind"])
def test_incomplete_sign_ups_are_refused(world, make, fields):
    with pytest.raises(UserValueError):
        register_organisation(make.user("resident"), name="Nama Usaha", address="Jl. Raya 1",
                              point=KARAWANG, **fields)


def test_a_private_host_needs_no_licence(world, make):
    host = register_organisation(make.user("resident"), "host", "Ibu Sari", "Jl. Kenanga 3", KARAWANG)
    assert host.licence_no is None and host.lodging_kind is None


def test_immigration_staff_cannot_register_an_organisation(world):
    with pytest.raises(UserValueError):
        register_hotel(world.actors["officer"])


def test_a_supervisor_of_the_office_verifies_and_it_is_audited(world, make, clock, db_session):
    hotel = register_hotel(make.user("resident"))
    supervisor = world.actors["supervisor"]
    verify_organisation(hotel, supervisor, approve=True, note=None, now=clock.now)
    assert hotel.state == "verified" and hotel.is_verified
    assert hotel.decided_by_id == supervisor.id and hotel.decided_at == clock.now
    [entry] = audit(db_session, "organisation.verified", hotel)
    assert entry.actor_id == supervisor.id


def test_a_rejection_needs_a_note_and_is_audited(world, make, clock, db_session):
    hotel = register_hotel(make.user("resident"))
    supervisor = world.actors["supervisor"]
    with pytest.raises(UserValueError):
        verify_organisation(hotel, supervisor, approve=False, note="tidak", now=clock.now)
    verify_organisation(hotel, supervisor, approve=False, note=NOTE, now=clock.now)
    assert hotel.state == "rejected" and hotel.decision_note == NOTE
    assert len(audit(db_session, "organisation.rejected", hotel)) == 1


@pytest.mark.parametrize("actor, allowed", [
    ("supervisor", True), ("kanwil_supervisor", True), ("officer", False),
    ("foreign_supervisor", False), ("regional_head", False), ("admin", False), ("resident", False),
])
def test_who_may_verify(world, make, clock, actor, allowed):
    hotel = register_hotel(make.user("resident"))
    if allowed:
        verify_organisation(hotel, world.actors[actor], approve=True, note=None, now=clock.now)
        assert hotel.state == "verified"
    else:
        with pytest.raises(NotAllowed):
            verify_organisation(hotel, world.actors[actor], approve=True, note=None, now=clock.now)
        assert hotel.state == "pending"


def test_the_organisation_cannot_verify_itself(world, make, clock):
    person = make.user("resident")
    hotel = register_hotel(person)
    with pytest.raises(NotAllowed):
        verify_organisation(hotel, person, approve=True, note=None, now=clock.now)


def test_a_decision_is_made_once(world, make, clock):
    hotel = register_hotel(make.user("resident"))
    verify_organisation(hotel, world.actors["supervisor"], approve=True, note=None, now=clock.now)
    with pytest.raises(Conflict):
        verify_organisation(hotel, world.actors["decider"], approve=False, note=NOTE, now=clock.now)


def test_a_pending_organisation_cannot_check_in(world, make, clock, db_session):
    person = make.user("resident")
    hotel = register_hotel(person)
    guest = GuestData(surname="MUELLER", given_names="ANNA", sex="F", date_of_birth=date(1990, 1, 2),
                      nationality="D", passport_number="C01X00T47", passport_expiry=date(2031, 1, 1),
                      permit_kind="visa_on_arrival", arrived_in_indonesia=clock.today,
                      checked_in_at=clock.now - timedelta(hours=1))
    with pytest.raises(NotVerified):
        check_in(hotel, person, [guest], clock.now)
    verify_organisation(hotel, world.actors["supervisor"], approve=True, note=None, now=clock.now)
    assert len(check_in(hotel, person, [guest], clock.now)) == 1


def test_the_person_in_charge_adds_staff_and_only_they_do(world, make, db_session):
    person = make.user("resident")
    hotel = register_hotel(person)
    receptionist, stranger = make.user("resident"), make.user("resident")
    add_member(hotel, receptionist, actor=person)
    assert receptionist.role == "lodging"
    assert not db_session.get(OrganisationMember, (hotel.id, receptionist.id)).is_person_in_charge
    assert len(audit(db_session, "organisation.add_member", hotel)) == 1
    with pytest.raises(NotAllowed):
        add_member(hotel, stranger, actor=receptionist)
    with pytest.raises(UserValueError):
        add_member(hotel, world.actors["officer"], actor=person)


def test_the_database_ties_the_state_to_the_decision(world, make, db_session):
    hotel = register_hotel(make.user("resident"))
    with pytest.raises(IntegrityError), db_session.begin_nested():
        hotel.state = "verified"
        db_session.flush()
    assert db_session.scalar(select(Organisation.state).where(Organisation.id == hotel.id)) == "pending"


def test_organisation_staff_sign_in_without_a_second_factor_and_see_no_reports(world, make, client, auth):
    person = make.user("resident")
    hotel = register_hotel(person)
    answer = auth.login(person)
    assert answer.status_code == 302 and answer.headers["Location"] == "/penginapan"
    landing = client.get(answer.headers["Location"], follow_redirects=True)
    assert landing.status_code == 200 and landing.request.path == f"/penginapan/{hotel.id}"
    report = world.report_in(State.new)
    assert client.get(f"/laporan/{report.id}").status_code == 404
