"""Leads for officers (apoa/guests/leads.py): the same passport at 3 or more places within 7 days,
a stay permit expired while the guest is still checked in, no check-out 7 days after the planned
date; each only within the officer's jurisdiction, at the `now` asked for, and audited."""
from datetime import timedelta

import pytest

from apoa.errors import NotAllowed
from apoa.guests.leads import LeadKind, all_leads, hopping, overdue, permit_expired
from apoa.guests.services import check_in, check_out, register_organisation, verify_organisation
from tests.guests.test_stays import JOHN, KARAWANG, Lodgings, audit, guest

DAY = 24  # hours


@pytest.fixture
def lodgings(make, clock):
    """Two verified hotels of KANIM-A and World's staff (tests/guests/test_stays.py)."""
    return Lodgings(make, clock)


def lodging(lodgings, make, clock, name, point=KARAWANG):
    """One more verified lodging (of KANIM-A at Karawang's point) with its operator."""
    operator = make.user("resident")
    place = register_organisation(operator, "lodging", name, "Jl. Kertabumi 3, Karawang", point,
                                  licence_no="9120007654321", lodging_kind="guesthouse")
    verify_organisation(place, lodgings.staff["supervisor"], approve=True, note=None, now=clock.now)
    return operator, place


def stay_at(clock, operator, place, days_ago, person=None, **changes):
    """A guest checked in at `place` `days_ago` days before the clock (reported at once)."""
    data = guest(clock, **({"person": person} if person else {}), hours_ago=days_ago * DAY + 1, **changes)
    [stay] = check_in(place, operator, [data], data.checked_in_at + timedelta(minutes=5))
    return stay


@pytest.fixture
def three_places(lodgings, make, clock):
    """The two hotels of `lodgings` and a guesthouse, as (operator, organisation) pairs."""
    return [(lodgings.operator, lodgings.hotel), (lodgings.other_operator, lodgings.other_hotel),
            lodging(lodgings, make, clock, "Wisma Anggrek")]


@pytest.mark.date_sensitive
def test_three_places_within_seven_days_is_a_lead(lodgings, three_places, clock):
    stays = [stay_at(clock, operator, place, days_ago) for (operator, place), days_ago
             in zip(three_places, (6, 3, 0))]
    stay_at(clock, lodgings.operator, lodgings.hotel, 2, person=JOHN)       # another guest, one place
    [lead] = hopping(lodgings.staff["officer"], clock.now)
    assert (lead.kind, lead.stay, lead.places) == (LeadKind.hopping, stays[0], 3)
    assert lead.last_at == stays[2].checked_in_at
    assert hopping(lodgings.staff["kanwil_supervisor"], clock.now) == [lead]
    assert hopping(lodgings.staff["foreign_officer"], clock.now) == []


def test_two_places_or_three_spread_over_more_than_seven_days_are_not(lodgings, three_places, clock):
    (op_a, hotel_a), (op_b, hotel_b), (op_c, house_c) = three_places
    for operator, place, days_ago in ((op_a, hotel_a, 5), (op_b, hotel_b, 3), (op_a, hotel_a, 1)):
        stay_at(clock, operator, place, days_ago)
    for operator, place, days_ago in ((op_a, hotel_a, 20), (op_b, hotel_b, 16), (op_c, house_c, 12)):
        stay_at(clock, operator, place, days_ago, person=JOHN)
    assert hopping(lodgings.staff["officer"], clock.now) == []


def test_hopping_is_seen_as_of_the_moment_asked(lodgings, three_places, clock):
    for (operator, place), days_ago in zip(three_places, (6, 3, 0)):
        stay_at(clock, operator, place, days_ago)
    officer = lodgings.staff["officer"]
    assert hopping(officer, clock.now - timedelta(days=1)) == []       # the third check-in came later
    assert len(hopping(officer, clock.now + timedelta(days=20))) == 1
    assert hopping(officer, clock.now + timedelta(days=40)) == []      # out of the 30 days looked back


def test_a_cancelled_check_in_does_not_count(lodgings, three_places, clock):
    from apoa.guests.services import cancel

    stays = [stay_at(clock, operator, place, days_ago) for (operator, place), days_ago
             in zip(three_places, (6, 3, 0))]
    cancel(stays[1], lodgings.other_operator, "Tamu salah dimasukkan ke hotel ini.", clock.now)
    assert hopping(lodgings.staff["officer"], clock.now) == []


@pytest.mark.date_sensitive
def test_a_permit_expired_while_still_checked_in(lodgings, clock):
    operator, hotel = lodgings.operator, lodgings.hotel
    expiring = stay_at(clock, operator, hotel, 0, permit_expiry=clock.today + timedelta(days=2))
    left = stay_at(clock, operator, hotel, 0, person=JOHN, permit_expiry=clock.today + timedelta(days=1))
    check_out([left], operator, clock.now + timedelta(hours=1))
    officer = lodgings.staff["officer"]
    assert permit_expired(officer, clock.now + timedelta(days=2)) == []        # expires that day
    [lead] = permit_expired(officer, clock.now + timedelta(days=3))
    assert (lead.kind, lead.stay) == (LeadKind.permit_expired, expiring)
    assert permit_expired(lodgings.staff["foreign_supervisor"], clock.now + timedelta(days=3)) == []


@pytest.mark.date_sensitive
def test_no_check_out_seven_days_after_the_planned_date(lodgings, clock):
    operator, hotel = lodgings.operator, lodgings.hotel
    staying = stay_at(clock, operator, hotel, 0, planned_check_out=clock.today + timedelta(days=1))
    gone = stay_at(clock, operator, hotel, 0, person=JOHN, planned_check_out=clock.today + timedelta(days=1))
    check_out([gone], operator, clock.now + timedelta(days=2))
    officer = lodgings.staff["officer"]
    assert overdue(officer, clock.now + timedelta(days=7)) == []
    [lead] = overdue(officer, clock.now + timedelta(days=8))
    assert (lead.kind, lead.stay) == (LeadKind.overdue_check_out, staying)
    assert overdue(lodgings.staff["foreign_officer"], clock.now + timedelta(days=8)) == []


def test_all_leads_are_audited_by_stay_ids_and_only_for_immigration_staff(lodgings, three_places, clock,
                                                                            db_session):
    stays = [stay_at(clock, operator, place, days_ago) for (operator, place), days_ago
             in zip(three_places, (6, 3, 0))]
    found = all_leads(lodgings.staff["officer"], clock.now + timedelta(days=1))
    assert [lead.stay for lead in found[LeadKind.hopping]] == [stays[0]]
    [entry] = audit(db_session, "guest.leads")
    assert entry.detail == {"hopping": [stays[0].id], "permit_expired": [], "overdue_check_out": []}
    for who in (lodgings.operator, lodgings.staff["regional_head"], lodgings.staff["resident"]):
        with pytest.raises(NotAllowed):
            all_leads(who, clock.now)
