"""Deleting foreign guests' records after the retention period (issue 14, item 9), keeping only
anonymous counts.

A stay has ended at its check-out; a cancelled entry at its check-in (it never was a stay); a
stay never checked out at its planned check-out, or at its check-in without one. Once it ended
more than APOA_GUEST_RETENTION_DAYS (default 730) ago, the daily job (apoa/jobs/schedule.py)
deletes it with its history (`stay_change`) and passport photo (`stay_document`), after adding
its check-in and guest nights to GuestTally by the same rules the heads' figures count kept stays
with (apoa/guests/figures.py): the figures of a past month are the same before and after.

The job works in batches of stays, each tallied and deleted in one transaction and committed on
its own, so a large backlog (the first run after years) never holds long locks; rows locked by a
request at that moment are left for the next run. Running it again deletes nothing more and adds
nothing twice. It also empties the encrypted rows of bulk uploads once they are done, or
abandoned (apoa/guests/uploads.py). One audit entry and the log hold counts only.
"""
import logging
from collections import Counter
from datetime import datetime, timedelta, timezone

from flask import current_app
from flask_babel import to_user_timezone
from sqlalchemy import (Date, DateTime, and_, cast, delete, func, literal, literal_column, or_,
                        select, union_all, update)
from sqlalchemy.dialects.postgresql import insert

from apoa.audit.services import record
from apoa.extensions import db
from apoa.guests.figures import local_day, night_end
from apoa.guests.models import (GuestTally, GuestUpload, Stay, StayChange, StayDocument, StayState,
                                UploadState)
from apoa.guests.uploads import ABANDONED_AFTER

log = logging.getLogger("apoa.guests")
BATCH_SIZE = 1000


def delete_old_stays(now=None, batch_size=BATCH_SIZE):
    """Job: tally and delete the stays that ended before the retention period, batch by batch
    (each committed), and empty finished or abandoned uploads. Returns the counts."""
    now = now or datetime.now(timezone.utc)
    days = current_app.config["GUEST_RETENTION_DAYS"]
    cutoff = now - timedelta(days=days)
    today = to_user_timezone(now).date()
    counts = Counter(stays=0, stay_changes=0, stay_documents=0)
    while batch := _ended_before(cutoff, batch_size):
        counts.update(retire(batch, today))
        # Each batch its own transaction: the job's runner commits the last one.
        db.session.commit()
    counts["uploads_emptied"] = empty_uploads(now)
    result = {**counts, "retention_days": days}
    record("guest.retention", None, result)
    log.info("guest retention: %(stays)d stays, %(stay_changes)d changes, %(stay_documents)d "
             "photos deleted; %(uploads_emptied)d uploads emptied", result)
    return result


def ended_before(cutoff):
    """SQL: the stay ended before `cutoff` (an aware datetime; see the module docstring)."""
    cutoff_day = to_user_timezone(cutoff).date()
    return or_(
        and_(Stay.state == StayState.cancelled.value, Stay.checked_in_at < cutoff),
        and_(Stay.state == StayState.checked_out.value, Stay.checked_out_at < cutoff),
        and_(Stay.state == StayState.present.value,
             or_(Stay.planned_check_out < cutoff_day,
                 and_(Stay.planned_check_out.is_(None), Stay.checked_in_at < cutoff))))


def _ended_before(cutoff, batch_size):
    # Every stay that ended before the cutoff was checked in before it: a narrowing on the
    # check-in time the planner can use.
    query = (select(Stay.id).where(Stay.checked_in_at < cutoff, ended_before(cutoff))
             .order_by(Stay.id).limit(batch_size).with_for_update(skip_locked=True))
    return db.session.scalars(query).all()


def retire(stay_ids, today):
    """Add the stays to GuestTally, then delete them with their changes and photos; flushes,
    never commits. Returns the counts deleted."""
    db.session.execute(_tally_statement(stay_ids, today))
    counts = {
        "stay_documents": _delete(StayDocument, StayDocument.stay_id.in_(stay_ids)),
        "stay_changes": _delete(StayChange, StayChange.stay_id.in_(stay_ids)),
        "stays": _delete(Stay, Stay.id.in_(stay_ids)),
    }
    db.session.flush()
    return counts


def _delete(model, condition):
    return db.session.execute(delete(model).where(condition)
                              .execution_options(synchronize_session="fetch")).rowcount


def _tally_statement(stay_ids, today):
    """INSERT ... ON CONFLICT adding the stays' check-ins (on their check-in day) and guest nights
    (one per night) to the tally of their day, kabupaten/kota and nationality."""
    gone = select(
        Stay.kab_id, Stay.office_id, Stay.nationality, local_day(Stay.checked_in_at).label("ci"),
        night_end(today).label("ne"),
    ).where(Stay.id.in_(stay_ids), Stay.state != StayState.cancelled.value).subquery("gone")
    check_ins = select(gone.c.ci.label("day"), gone.c.kab_id, gone.c.nationality,
                       gone.c.office_id, literal(1).label("check_ins"),
                       literal(0).label("nights"))
    night = cast(func.generate_series(cast(gone.c.ci, DateTime), cast(gone.c.ne - 1, DateTime),
                                      literal_column("interval '1 day'")), Date)
    nights = select(night.label("day"), gone.c.kab_id, gone.c.nationality, gone.c.office_id,
                    literal(0).label("check_ins"), literal(1).label("nights"))
    facts = union_all(check_ins, nights).subquery("facts")
    summed = (select(facts.c.day, facts.c.kab_id, facts.c.nationality, func.max(facts.c.office_id),
                     func.sum(facts.c.check_ins), func.sum(facts.c.nights))
              .group_by(facts.c.day, facts.c.kab_id, facts.c.nationality))
    statement = insert(GuestTally).from_select(
        ["day", "kab_id", "nationality", "office_id", "check_ins", "guest_nights"], summed)
    return statement.on_conflict_do_update(
        index_elements=["day", "kab_id", "nationality"],
        set_={"check_ins": GuestTally.check_ins + statement.excluded.check_ins,
              "guest_nights": GuestTally.guest_nights + statement.excluded.guest_nights,
              "office_id": func.coalesce(statement.excluded.office_id, GuestTally.office_id)})


def empty_uploads(now):
    """Drop the encrypted rows of finished uploads, and of uploads left unfinished (or failed and
    never confirmed again) for ABANDONED_AFTER, as apoa/guests/uploads.py defines abandoned: a
    safety net beside its own clean-up. Returns how many uploads were emptied."""
    finished_or_abandoned = or_(GuestUpload.state == UploadState.done.value,
                                GuestUpload.created_at < now - ABANDONED_AFTER)
    emptied = db.session.execute(
        update(GuestUpload).where(GuestUpload.sealed.is_not(None), finished_or_abandoned)
        .values(sealed=None).execution_options(synchronize_session="fetch")).rowcount
    return emptied
