"""A check-in is one statement after the membership check (issue 16): the same guests already
checked in, the receipt numbers, the stays and the audit entry together; what it stores is what
the separate steps stored."""
import pytest
from sqlalchemy import event, func, select, text

from apoa.audit.chain import chain_pending
from apoa.audit.models import AuditEntry
from apoa.audit.services import verify
from apoa.extensions import db
from apoa.guests.models import Stay
from apoa.guests.services import GuestProblems, check_in
from tests.guests.test_stays import ANNA, JOHN, Lodgings, guest


@pytest.fixture
def lodgings(make, clock):
    return Lodgings(make, clock)


def counter(prefix):
    return db.session.scalar(text("SELECT max(last_number) FROM sttpoa_counter WHERE prefix = :p"), {"p": prefix})


def test_a_group_check_in_is_one_statement_after_the_membership_check(lodgings, clock, db_session):
    check_in(lodgings.hotel, lodgings.operator, [guest(clock, JOHN, hours_ago=5)], clock.now)
    group = [guest(clock, ANNA), guest(clock, JOHN), guest(clock, {**JOHN, "passport_number": "X98765432"})]
    sent = []

    def keep(_conn, _cursor, statement, *_rest):
        sent.append(statement)
    engine = db_session.connection().engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        stays = check_in(lodgings.hotel, lodgings.operator, group, clock.now)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(sent) <= 2, sent  # the membership (unless known already) and the check-in
    assert "INSERT INTO stay" in sent[-1]
    numbers = [int(stay.sttpoa_no.split("-")[-2]) for stay in stays]
    assert numbers == list(range(numbers[0], numbers[0] + 3)) and numbers[0] == 2
    assert [stay.passport_hash for stay in stays] == [s.passport_hash for s in
                                                      db.session.scalars(select(Stay).where(Stay.id.in_(
                                                          [x.id for x in stays])).order_by(Stay.id))]
    assert len({stay.group_id for stay in stays}) == 1 and stays[0].group_id is not None
    assert all(stay.sttpoa_no.startswith("STTPOA-KANIM-A-") for stay in stays)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "guest.check_in")
                              .order_by(AuditEntry.seq.desc()).limit(1))
    assert entry.detail == {"stays": [stay.id for stay in stays], "late": 0}
    assert entry.object == f"organisation:{lodgings.hotel.id}" and entry.actor_id == lodgings.operator.id
    chain_pending()
    assert verify().intact


def test_a_guest_already_checked_in_stores_nothing_and_reserves_no_number(lodgings, clock):
    john = guest(clock, JOHN)
    check_in(lodgings.hotel, lodgings.operator, [john], clock.now)
    before = (counter("KANIM-A"), db.session.scalar(select(func.count()).select_from(Stay)),
              db.session.scalar(select(func.count()).where(AuditEntry.action == "guest.check_in")))
    with pytest.raises(GuestProblems) as refused:
        check_in(lodgings.hotel, lodgings.operator, [guest(clock, ANNA), john], clock.now)
    assert [(p.index, p.field) for p in refused.value.problems] == [(1, "passport_number")]
    assert (counter("KANIM-A"), db.session.scalar(select(func.count()).select_from(Stay)),
            db.session.scalar(select(func.count()).where(AuditEntry.action == "guest.check_in"))) == before


def test_the_same_guest_at_the_same_time_in_another_lodging_is_no_duplicate(lodgings, clock):
    john = guest(clock, JOHN)
    check_in(lodgings.hotel, lodgings.operator, [john], clock.now)
    [other] = check_in(lodgings.other_hotel, lodgings.other_operator, [john], clock.now)
    assert other.organisation_id == lodgings.other_hotel.id


def test_a_late_check_in_is_counted_in_the_audit_detail(lodgings, clock):
    stays = check_in(lodgings.hotel, lodgings.operator, [guest(clock, JOHN, hours_ago=30), guest(clock, ANNA)],
                     clock.now)
    assert [stay.late for stay in stays] == [True, False]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "guest.check_in")
                              .order_by(AuditEntry.seq.desc()).limit(1))
    assert entry.detail["late"] == 1
