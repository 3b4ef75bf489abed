"""Guests' stays: check-in of one guest or a group, check-out, corrections with history,
cancellation that keeps the row, the late flag, personal data only encrypted, the audited passport
search and reveal, who sees which stays, and STTPOA numbers."""
import base64
import json
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from apoa.audit.models import AuditEntry
from apoa.errors import Conflict, NotAllowed, UserValueError
from apoa.guests.models import Stay, StayChange
from apoa.guests.passports import passport_hash, unseal
from apoa.guests.queries import GuestFilters, find_by_passport, present_at, reveal, stays_visible_to
from apoa.guests.services import (GuestData, GuestProblems, StayFlag, cancel, check_in, check_out, correct, flags,
                                  is_late, register_organisation, verify_organisation)
from apoa.guests.sttpoa import normalise_number
from tests.factories import World

KARAWANG = (107.30, -6.30)
REASON = "Pemeriksaan lapangan atas laporan warga."
ANNA = dict(surname="Mueller", given_names="Anna Maria", sex="F", date_of_birth=date(1990, 1, 2),
            nationality="D", passport_number="C01X00T47", passport_expiry=timedelta(days=1500),
            permit_kind="visa_on_arrival", permit_expiry=timedelta(days=29))
JOHN = dict(surname="Smith", given_names="John", sex="M", date_of_birth=date(1985, 6, 30),
            nationality="GBR", passport_number="123456789", passport_expiry=timedelta(days=1200),
            permit_kind="itas", permit_number="2C21AB1234", permit_expiry=timedelta(days=200))
# Expiry dates are given as days from the clock's today (guest() turns them into dates).


class Lodgings:
    """Two verified hotels of KANIM-A (Karawang), each with its operator, and World's staff."""

    def __init__(self, make, clock):
        self.world = World(make)
        self.staff = self.world.actors
        self.operator, self.hotel = self._verified_hotel(make, clock, "Hotel Melati")
        self.other_operator, self.other_hotel = self._verified_hotel(make, clock, "Wisma Kenanga")

    def _verified_hotel(self, make, clock, name):
        person = make.user("resident")
        hotel = register_organisation(person, "lodging", name, "Jl. Tuparev 12, Karawang", KARAWANG,
                                      licence_no="9120001234567", lodging_kind="hotel")
        verify_organisation(hotel, self.staff["supervisor"], approve=True, note=None, now=clock.now)
        return person, hotel


@pytest.fixture
def lodgings(make, clock):
    return Lodgings(make, clock)


def guest(clock, person=ANNA, hours_ago=2, **changes):
    """A guest who arrived in Indonesia the day before checking in `hours_ago` hours before the
    clock."""
    checked_in = clock.now - timedelta(hours=hours_ago)
    person = {name: clock.today + value if isinstance(value, timedelta) else value
              for name, value in person.items()}
    data = GuestData(**person, arrived_in_indonesia=checked_in.date() - timedelta(days=1),
                     checked_in_at=checked_in, planned_check_out=clock.today + timedelta(days=3),
                     room="12")
    return replace(data, **changes)


def audit(session, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_a_group_checks_in_with_one_receipt_each(lodgings, clock, db_session):
    anna, john = check_in(lodgings.hotel, lodgings.operator, [guest(clock), guest(clock, JOHN)], clock.now)
    assert anna.group_id is not None and anna.group_id == john.group_id
    assert anna.sttpoa_no != john.sttpoa_no
    assert anna.state == john.state == "present" and not anna.late
    assert (anna.office_id, anna.kab_id) == (lodgings.hotel.office_id, lodgings.hotel.kab_id)
    assert anna.nationality == "D" and anna.reported_at == clock.now
    [entry] = audit(db_session, "guest.check_in")
    assert entry.detail == {"stays": [anna.id, john.id], "late": 0}
    [single] = check_in(lodgings.hotel, lodgings.operator, [guest(clock, hours_ago=1, room=None)], clock.now)
    assert single.group_id is None


def test_personal_data_is_not_readable_in_the_tables(lodgings, clock, db_session):
    [stay] = check_in(lodgings.hotel, lodgings.operator, [guest(clock, JOHN)], clock.now)
    correct(stay, lodgings.operator, {"surname": "Smythe"}, "Ejaan nama salah ketik.", clock.now)
    db_session.flush()
    rows = db_session.execute(text("SELECT s::text, s.personal FROM stay s WHERE id = :id"), {"id": stay.id}).one()
    change = db_session.execute(text("SELECT c::text, c.sealed FROM stay_change c WHERE stay_id = :id"),
                                {"id": stay.id}).one()
    for row_text, token in (rows, change):
        opened = base64.urlsafe_b64decode(bytes(token))
        for secret in ("SMITH", "Smith", "SMYTHE", "123456789", "JOHN", "2C21AB1234", "1985-06-30"):
            assert secret not in row_text
            assert secret.encode() not in bytes(token) and secret.encode() not in opened
    assert reveal(stay, lodgings.operator).surname == "SMYTHE"


def test_a_passport_is_found_only_through_its_keyed_hash_with_a_reason_and_audited(lodgings, clock, db_session):
    [stay] = check_in(lodgings.hotel, lodgings.operator, [guest(clock, JOHN)], clock.now)
    officer = lodgings.staff["officer"]
    assert stay.passport_hash == passport_hash("123 456 789") != passport_hash("123456788")
    with pytest.raises(UserValueError):
        find_by_passport(officer, "123456789", "cek")
    assert find_by_passport(officer, " 1234-56789< ", REASON) == [stay]
    assert find_by_passport(officer, "123456788", REASON) == []
    entries = audit(db_session, "guest.passport_search")
    assert [entry.detail for entry in entries] == [{"reason": REASON, "matches": 1},
                                                   {"reason": REASON, "matches": 0}]
    assert all("123456789" not in json.dumps(entry.detail) for entry in entries)
    assert find_by_passport(lodgings.staff["foreign_officer"], "123456789", REASON) == []
    with pytest.raises(NotAllowed):
        find_by_passport(lodgings.operator, "123456789", REASON)


def test_an_organisation_sees_only_its_own_stays(lodgings, clock, db_session):
    [mine] = check_in(lodgings.hotel, lodgings.operator, [guest(clock)], clock.now)
    [theirs] = check_in(lodgings.other_hotel, lodgings.other_operator, [guest(clock, JOHN)], clock.now)
    assert db_session.scalars(stays_visible_to(lodgings.operator)).all() == [mine]
    assert db_session.scalars(present_at(lodgings.other_operator, clock.now)).all() == [theirs]
    for act in (lambda: reveal(mine, lodgings.other_operator),
                lambda: check_out([mine], lodgings.other_operator, clock.now),
                lambda: cancel(mine, lodgings.other_operator, REASON, clock.now),
                lambda: check_in(lodgings.hotel, lodgings.other_operator, [guest(clock, JOHN)], clock.now)):
        with pytest.raises(NotAllowed):
            act()


@pytest.mark.parametrize("actor, sees", [
    ("officer", True), ("supervisor", True), ("kanwil_supervisor", True), ("foreign_officer", False),
    ("foreign_supervisor", False), ("regional_head", False), ("admin", False), ("resident", False),
])
def test_staff_see_the_stays_of_their_jurisdiction_only(lodgings, clock, db_session, actor, sees):
    stays = check_in(lodgings.hotel, lodgings.operator, [guest(clock), guest(clock, JOHN)], clock.now)
    found = db_session.scalars(present_at(lodgings.staff[actor], clock.now).order_by(Stay.id)).all()
    assert found == (stays if sees else [])


def test_an_officer_reads_a_guest_with_a_reason_and_it_is_audited(lodgings, clock, db_session):
    [stay] = check_in(lodgings.hotel, lodgings.operator, [guest(clock)], clock.now)
    officer = lodgings.staff["officer"]
    with pytest.raises(UserValueError):
        reveal(stay, officer, "lihat")
    personal = reveal(stay, officer, REASON)
    assert (personal.surname, personal.given_names, personal.passport_number) == ("MUELLER", "ANNA MARIA",
                                                                                "C01X00T47")
    assert "MUELLER" not in repr(personal)
    [entry] = audit(db_session, "guest.reveal")
    assert entry.object == f"stay:{stay.id}" and entry.detail == {"reason": REASON}
    with pytest.raises(NotAllowed):
        reveal(stay, lodgings.staff["foreign_supervisor"], REASON)
    assert audit(db_session, "guest.reveal") == [entry]


def test_check_out_of_several_guests(lodgings, clock, db_session):
    anna, john = check_in(lodgings.hotel, lodgings.operator, [guest(clock), guest(clock, JOHN)], clock.now)
    before = clock.now
    clock.advance(timedelta(days=2))
    with pytest.raises(GuestProblems) as refused:
        check_out([anna], lodgings.operator, anna.checked_in_at - timedelta(minutes=1))
    assert refused.value.problems[0].field == "checked_out_at"
    check_out([anna, john], lodgings.operator, clock.now)
    assert anna.state == john.state == "checked_out" and anna.checked_out_at == clock.now
    assert db_session.scalars(present_at(lodgings.staff["officer"], clock.now)).all() == []
    assert len(db_session.scalars(present_at(lodgings.staff["officer"], before)).all()) == 2
    assert [(c.field, c.new_value) for c in anna.changes] == [("checked_out_at", clock.now.isoformat())]
    with pytest.raises(GuestProblems):
        check_out([anna], lodgings.operator, clock.now)


def test_corrections_keep_their_history(lodgings, clock, db_session):
    [stay] = check_in(lodgings.hotel, lodgings.operator, [guest(clock)], clock.now)
    with pytest.raises(UserValueError):
        correct(stay, lodgings.operator, {"room": "14"}, "salah", clock.now)
    changed = correct(stay, lodgings.operator, {"room": "14", "passport_number": "C01X00T48", "surname": "Müller"},
                      "Data paspor diketik ulang dari dokumen asli.", clock.now)
    assert changed == ["surname", "passport_number", "room"]
    history = {c.field: c for c in db_session.scalars(select(StayChange).where(StayChange.stay_id == stay.id))}
    assert (history["room"].old_value, history["room"].new_value) == ("12", "14")
    assert history["room"].actor_id == lodgings.operator.id and history["room"].at == clock.now
    assert history["surname"].old_value is None
    assert unseal(history["surname"].sealed, "test") == {"v": 1, "old": "MUELLER", "new": "MÜLLER"}
    assert stay.passport_hash == passport_hash("C01X00T48")
    assert find_by_passport(lodgings.staff["officer"], "C01X00T47", REASON) == []
    assert reveal(stay, lodgings.operator).surname == "MÜLLER"
    with pytest.raises(UserValueError):
        correct(stay, lodgings.operator, {"sttpoa_no": "X"}, REASON, clock.now)


def test_a_correction_is_checked_like_a_check_in(lodgings, clock):
    [stay] = check_in(lodgings.hotel, lodgings.operator, [guest(clock)], clock.now)
    with pytest.raises(GuestProblems) as refused:
        correct(stay, lodgings.operator, {"date_of_birth": clock.today + timedelta(days=2)}, REASON, clock.now)
    assert [p.field for p in refused.value.problems] == ["date_of_birth"]
    assert stay.changes == []


def test_cancellation_keeps_the_row_with_its_reason(lodgings, clock, db_session):
    [stay] = check_in(lodgings.hotel, lodgings.operator, [guest(clock)], clock.now)
    with pytest.raises(UserValueError):
        cancel(stay, lodgings.operator, "salah", clock.now)
    cancel(stay, lodgings.operator, "Tamu salah dimasukkan ke hotel ini.", clock.now)
    assert db_session.get(Stay, stay.id).state == "cancelled"
    assert stay.cancel_reason == "Tamu salah dimasukkan ke hotel ini."
    assert [(c.field, c.old_value, c.new_value) for c in stay.changes] == [("state", "present", "cancelled")]
    assert db_session.scalars(present_at(lodgings.staff["officer"], clock.now)).all() == []
    assert len(audit(db_session, "guest.cancel")) == 1
    with pytest.raises(Conflict):
        correct(stay, lodgings.operator, {"room": "1"}, REASON, clock.now)
    with pytest.raises(Conflict):
        cancel(stay, lodgings.operator, REASON, clock.now)
    # The cancelled entry does not stand in the way of entering the guest again.
    check_in(lodgings.hotel, lodgings.operator, [guest(clock)], clock.now)


def test_the_same_guest_at_the_same_time_is_not_checked_in_twice(lodgings, clock):
    anna = guest(clock)
    check_in(lodgings.hotel, lodgings.operator, [anna], clock.now)
    with pytest.raises(GuestProblems) as refused:
        check_in(lodgings.hotel, lodgings.operator, [guest(clock, JOHN), anna], clock.now)
    assert [(p.index, p.field) for p in refused.value.problems] == [(1, "passport_number")]


@pytest.mark.parametrize("delay, late", [
    (timedelta(hours=24), False), (timedelta(hours=24, seconds=1), True), (timedelta(hours=23), False),
], ids=["24h", "24h-and-1s", "23h"])
def test_late_means_reported_more_than_24_hours_after_the_check_in(lodgings, clock, delay, late):
    assert is_late(clock.now - delay, clock.now) is late
    arrived = (clock.now - delay).date() - timedelta(days=5)
    [stay] = check_in(lodgings.hotel, lodgings.operator,
                      [guest(clock, checked_in_at=clock.now - delay, arrived_in_indonesia=arrived)], clock.now)
    assert stay.late is late
    assert (StayFlag.late in flags(stay)) is late


def test_a_correction_can_make_a_stay_late_but_never_on_time_again(lodgings, clock):
    [stay] = check_in(lodgings.hotel, lodgings.operator, [guest(clock, hours_ago=30)], clock.now)
    assert stay.late
    correct(stay, lodgings.operator, {"checked_in_at": clock.now - timedelta(hours=1)}, REASON, clock.now)
    assert stay.late
    [other] = check_in(lodgings.hotel, lodgings.operator, [guest(clock, JOHN, hours_ago=1)], clock.now)
    correct(other, lodgings.operator, {"checked_in_at": clock.now - timedelta(hours=25)}, REASON, clock.now)
    assert other.late


def test_impossible_dates_are_refused_each_at_its_field(lodgings, clock, db_session):
    bad = guest(clock, date_of_birth=clock.today + timedelta(days=1),
                planned_check_out=clock.today - timedelta(days=3),
                arrived_in_indonesia=clock.today + timedelta(days=2),
                checked_in_at=clock.now + timedelta(hours=2), nationality="1X", passport_number="?")
    with pytest.raises(GuestProblems) as refused:
        check_in(lodgings.hotel, lodgings.operator, [guest(clock, JOHN), bad], clock.now)
    assert {(p.index, p.field) for p in refused.value.problems} == {
        (1, "date_of_birth"), (1, "planned_check_out"), (1, "arrived_in_indonesia"), (1, "checked_in_at"),
        (1, "nationality"), (1, "passport_number")}
    assert db_session.scalars(stays_visible_to(lodgings.operator)).all() == []
    with pytest.raises(UserValueError):
        check_in(lodgings.hotel, lodgings.operator, [], clock.now)


def test_an_expired_passport_or_permit_is_accepted_and_flagged(lodgings, clock):
    expired = guest(clock, passport_expiry=clock.today - timedelta(days=10),
                    permit_expiry=clock.today - timedelta(days=1))
    [stay] = check_in(lodgings.hotel, lodgings.operator, [expired], clock.now)
    assert flags(stay) == {StayFlag.passport_expired, StayFlag.permit_expired}
    [fine] = check_in(lodgings.hotel, lodgings.operator, [guest(clock, JOHN)], clock.now)
    assert flags(fine) == set()


def test_officers_filter_guests_present(lodgings, clock, db_session):
    anna, john = check_in(lodgings.hotel, lodgings.operator, [guest(clock), guest(clock, JOHN)], clock.now)
    officer = lodgings.staff["officer"]

    def present(**filters):
        return db_session.scalars(present_at(officer, clock.now, GuestFilters(**filters)).order_by(Stay.id)).all()

    assert present(nationality="gbr") == [john]
    assert present(permit_kind="visa_on_arrival") == [anna]
    expiry_in_days = ANNA["permit_expiry"].days
    assert present(permit_expiring_within_days=expiry_in_days) == [anna]
    assert present(permit_expiring_within_days=expiry_in_days - 1) == []
    assert present(permit_expired=True) == []
    later = clock.now + timedelta(days=expiry_in_days + 1)
    assert db_session.scalars(present_at(officer, later, GuestFilters(permit_expired=True))).all() == [anna]
    assert db_session.scalars(present_at(officer, anna.checked_in_at - timedelta(seconds=1))).all() == []


def test_sttpoa_numbers_are_unique_and_cannot_be_guessed_from_another(lodgings, clock, db_session):
    stays = check_in(lodgings.hotel, lodgings.operator,
                     [guest(clock, passport_number=f"X{n:08d}") for n in range(6)], clock.now)
    numbers = [stay.sttpoa_no for stay in stays]
    shape = re.compile(rf"^STTPOA-KANIM-A-{clock.local.year}-(\d{{7}})-([0-9A-Z]{{6}})$")
    parts = [shape.match(number).groups() for number in numbers]
    assert len(set(numbers)) == 6
    sequence = [int(seq) for seq, _ in parts]
    assert sequence == list(range(sequence[0], sequence[0] + 6))
    assert len({check for _, check in parts}) == 6
    # The next number's counter with this one's check part is not a receipt.
    guessed = f"STTPOA-KANIM-A-{clock.local.year}-{sequence[-1] + 1:07d}-{parts[-1][1]}"
    [next_stay] = check_in(lodgings.other_hotel, lodgings.other_operator, [guest(clock)], clock.now)
    assert next_stay.sttpoa_no.rsplit("-", 1)[0] == guessed.rsplit("-", 1)[0]
    assert next_stay.sttpoa_no != guessed
    typed = numbers[0][:-6] + parts[0][1].replace("0", "O").lower()
    assert normalise_number(typed) == numbers[0]
    assert normalise_number("STTPOA-1") is None
