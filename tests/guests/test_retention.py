"""Guest records deleted after APOA_GUEST_RETENTION_DAYS (issue 14, item 9): only stays that ended
before it go, with their history and photos; their check-ins and guest nights stay as anonymous
counts, so the heads' figures are the same before and after; a second run changes nothing; one audit
entry and the log hold counts only; finished and abandoned bulk uploads lose their encrypted rows."""
import json
import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from apoa.audit.models import AuditEntry
from apoa.guests.figures import guest_figures
from apoa.guests.models import GuestTally, GuestUpload, Stay, StayChange, StayDocument
from apoa.guests.retention import delete_old_stays
from apoa.guests.services import cancel, check_in, check_out
from apoa.periods import custom_period
from tests.guests.test_figures import KAREN, Guests
from tests.guests.test_stays import ANNA, JOHN, guest

REASON = "Data tamu salah dimasukkan."


@pytest.fixture
def old(make, clock):
    """Stays of the Karawang hotel around the retention period's edge (730 days before the clock)."""
    g = Guests(make, clock)
    hotel = g.karawang
    g.gone = {
        "checked_out": g.stay(hotel, JOHN, days_ago=800, nights=2, number="GB0000001"),
        "cancelled": g.stay(hotel, ANNA, days_ago=800, number="DE0000001"),
        "planned_long_ago": g.stay(hotel, KAREN, days_ago=760),                 # planned: 758 days ago
        "no_plan": unplanned(g, hotel, days_ago=740),
    }
    cancel(g.gone["cancelled"], hotel.operator, REASON, clock.now)
    g.kept = {
        "left_recently": g.stay(hotel, JOHN, days_ago=800, nights=700, number="GB0000002"),
        "left_700_days_ago": g.stay(hotel, ANNA, days_ago=702, nights=2, number="DE0000002"),
        "staying": g.stay(hotel, KAREN, days_ago=3, number="PA0000003"),
        "bekasi_recent": g.stay(g.bekasi, ANNA, days_ago=20, nights=3, number="DE0000003"),
    }
    make.session.add(StayDocument(stay_id=g.gone["checked_out"].id, sealed=b"not a real token", width=1,
                                  height=1, added_at=clock.now))
    make.session.add(StayDocument(stay_id=g.kept["left_recently"].id, sealed=b"not a real token", width=1,
                                  height=1, added_at=clock.now))
    make.session.flush()
    return g


def unplanned(g, hotel, days_ago):
    data = replace(guest(g.clock, JOHN, hours_ago=24 * days_ago + 2), planned_check_out=None,
                   passport_number="GB0000009")
    [stay] = check_in(hotel, hotel.operator, [data], g.clock.now)
    return stay


def remaining(session, ids):
    return set(session.scalars(select(Stay.id).where(Stay.id.in_(ids))).all())


def ids_of(stays):
    return {stay.id for stay in stays.values()}


def test_only_stays_that_ended_before_the_retention_period_are_deleted_with_their_rows(old, clock, db_session):
    gone, kept = ids_of(old.gone), ids_of(old.kept)
    result = delete_old_stays(now=clock.now)
    assert remaining(db_session, gone | kept) == kept
    assert result == {"stays": 4, "stay_changes": 2, "stay_documents": 1, "uploads_emptied": 0,
                      "retention_days": 730}
    assert db_session.scalar(select(func.count()).select_from(StayChange).where(StayChange.stay_id.in_(gone))) == 0
    assert db_session.scalars(select(StayDocument.stay_id)).all() == [old.kept["left_recently"].id]
    # The cancelled entry counts nothing, so it left nothing in the tallies: 3 check-ins kept as counts.
    assert db_session.scalar(select(func.sum(GuestTally.check_ins))) == 3


def test_the_figures_are_the_same_before_and_after(old, clock, db_session):
    periods = [custom_period(clock.today - timedelta(days=810), clock.today - timedelta(days=700)),
               custom_period(clock.today - timedelta(days=800), clock.today - timedelta(days=800)),
               custom_period(clock.today - timedelta(days=365), clock.today)]

    def figures():
        return [guest_figures(user, period, suppress=suppress, today=clock.today)
                for period in periods for user in (old.ditjen_head, old.actors["regional_head"])
                for suppress in (False, True)]

    before, gone = figures(), ids_of(old.gone)
    assert before[0].check_ins.value == 5 and before[0].guest_nights.value > 100
    delete_old_stays(now=clock.now, batch_size=2)
    assert remaining(db_session, gone) == set()
    assert figures() == before


def test_a_second_run_deletes_nothing_and_adds_nothing(old, clock, db_session):
    delete_old_stays(now=clock.now)
    tallies = db_session.execute(select(GuestTally.day, GuestTally.kab_id, GuestTally.nationality,
                                        GuestTally.check_ins, GuestTally.guest_nights).order_by(GuestTally.day)).all()
    assert delete_old_stays(now=clock.now)["stays"] == 0
    assert db_session.execute(select(GuestTally.day, GuestTally.kab_id, GuestTally.nationality, GuestTally.check_ins,
                                     GuestTally.guest_nights).order_by(GuestTally.day)).all() == tallies
    # A day later the stay that left 700 days ago is still within the period: nothing moves.
    assert delete_old_stays(now=clock.now + timedelta(days=1))["stays"] == 0


def test_the_retention_period_comes_from_the_setting(old, clock, app, harness, monkeypatch, db_session):
    for flask_app in (app, harness):
        monkeypatch.setitem(flask_app.config, "GUEST_RETENTION_DAYS", 2000)
    assert delete_old_stays(now=clock.now)["stays"] == 0
    assert remaining(db_session, ids_of(old.gone)) == ids_of(old.gone)


def test_one_audit_entry_and_the_log_hold_counts_only(old, clock, db_session, caplog):
    with caplog.at_level(logging.INFO, logger="apoa.guests"):
        delete_old_stays(now=clock.now)
    [entry] = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "guest.retention")).all()
    assert entry.actor_id is None and set(entry.detail) == {"stays", "stay_changes", "stay_documents",
                                                            "uploads_emptied", "retention_days"}
    said = json.dumps(entry.detail) + " ".join(r.getMessage() for r in caplog.records)
    for secret in ("SMITH", "MUELLER", "JONES", "GB0000001", "DE0000001", "GBR", "Karawang", "Melati"):
        assert secret not in said


def test_finished_and_abandoned_uploads_lose_their_encrypted_rows(old, clock, db_session):
    def upload(state, age, sealed=b"sealed rows"):
        row = GuestUpload(organisation_id=old.karawang.id, created_at=clock.now - age, filename="tamu.csv",
                          file_sha256="0" * 64, file_format="csv", sealed=sealed, state=state)
        db_session.add(row)
        return row

    done = upload("done", timedelta(minutes=5))
    abandoned = upload("checked", timedelta(days=3))
    failed_long_ago = upload("failed", timedelta(days=2))
    waiting = upload("checked", timedelta(hours=3))
    failed_today = upload("failed", timedelta(hours=1))     # may still be confirmed again
    db_session.flush()
    assert delete_old_stays(now=clock.now)["uploads_emptied"] == 3
    assert [u.sealed for u in (done, abandoned, failed_long_ago)] == [None, None, None]
    assert waiting.sealed == failed_today.sealed == b"sealed rows"
    assert (abandoned.state, waiting.state) == ("checked", "checked")


def test_a_stay_checked_out_later_than_planned_counts_until_its_check_out(old, clock, db_session):
    """Nights come from the check-out, not the plan, for a checked-out stay: the tally agrees with the figures."""
    [stay] = check_in(old.karawang, old.karawang.operator,
                      [guest(clock, ANNA, hours_ago=24 * 900 + 2, passport_number="DE0000077")], clock.now)
    check_out([stay], old.karawang.operator, stay.checked_in_at + timedelta(days=10))
    period = custom_period(clock.today - timedelta(days=905), clock.today - timedelta(days=880))
    before = guest_figures(old.ditjen_head, period, suppress=False, today=clock.today)
    assert before.guest_nights.value == 10
    delete_old_stays(now=clock.now)
    assert guest_figures(old.ditjen_head, period, suppress=False, today=clock.today) == before
