"""Leads for immigration officers: stays that look wrong and deserve a look. A lead is never a
decision about the guest (DESIGN.md: no decision about a person is automated); the officer opens
the stay, checks, and acts or not.

Three kinds, each for the stays of the user's jurisdiction as seen at a moment `now` (injected, so
tests and reports can ask "as of when"):

- hopping: the same passport (its keyed hash) checked in at HOPPING_PLACES or more different
  organisations within HOPPING_WINDOW, for windows starting in the last LOOKBACK. Only stays the
  user may see count: a lead never tells an officer about another office's guests.
- permit expired: still checked in at `now` with the stay permit expired before today.
- overdue check-out: still checked in OVERDUE_AFTER or more after the planned check-out.

The hopping query first keeps the passports checked in often enough in the whole lookback
(GROUP BY passport_hash over the jurisdiction's recent check-ins: an index-only scan of
ix_stay_checked_in, whose included columns hold what it reads), then slides the window only over
those few passports' stays (a self-join on passport_hash, which counts the organisations), so
the join stays small however many check-ins the jurisdiction has. The other two choose the
present stays' ids from ix_stay_office_present alone, then read only the stays shown.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import joinedload

from apoa.audit.services import record
from apoa.auth.permissions import Permission, has_permission, visible_stays
from apoa.core.vocabulary import TitledEnum, titled
from apoa.errors import NotAllowed
from apoa.extensions import db
from apoa.guests.models import Stay, StayState
from apoa.guests.queries import (OVERDUE_AFTER, GuestFilters, local_date, overdue_check_out,
                                 present_now)

HOPPING_PLACES = 3
HOPPING_WINDOW = timedelta(days=7)
LOOKBACK = timedelta(days=30)
MAX_LEADS = 100


class LeadKind(TitledEnum):
    hopping = "hopping"
    permit_expired = "permit_expired"
    overdue_check_out = "overdue_check_out"


titled(LeadKind, {
    LeadKind.hopping: _l("Checked in at %(n)d or more places within %(days)d days",
                         n=HOPPING_PLACES, days=HOPPING_WINDOW.days),
    LeadKind.permit_expired: _l("Stay permit expired while still checked in"),
    LeadKind.overdue_check_out: _l("No check-out %(days)d days after the planned date",
                                   days=OVERDUE_AFTER.days),
})


@dataclass(frozen=True)
class Lead:
    """One stay to look at. For hopping, `stay` is the first check-in of the window, `places`
    the number of organisations and `last_at` the window's last check-in."""

    kind: LeadKind
    stay: Stay
    places: int | None = None
    last_at: datetime | None = None


def hopping(user, now, limit=MAX_LEADS):
    """Passports checked in at HOPPING_PLACES or more organisations within HOPPING_WINDOW, the
    most places first, then the latest; one lead per passport (its busiest window)."""
    recent = (Stay.state != StayState.cancelled.value, Stay.checked_in_at <= now,
              Stay.checked_in_at > now - LOOKBACK)
    suspects = _suspects(user, recent)
    if not suspects:
        return []
    stays = visible_stays(
        select(Stay.id, Stay.passport_hash, Stay.organisation_id, Stay.checked_in_at)
        .where(*recent, Stay.passport_hash.in_(suspects)), user).cte("suspect_stays")
    windows = _windows(stays).subquery()
    busiest = (select(windows).ext(distinct_on(windows.c.passport_hash))
               .order_by(windows.c.passport_hash, windows.c.places.desc(),
                         windows.c.last_at.desc())).subquery()
    rows = db.session.execute(select(busiest).order_by(busiest.c.places.desc(),
                                                       busiest.c.last_at.desc())
                              .limit(limit)).all()
    stays = _stays_by_id([row.first_id for row in rows])
    return [Lead(LeadKind.hopping, stays[row.first_id], row.places, row.last_at) for row in rows]


def _suspects(user, recent):
    """The passports (keyed hashes) with HOPPING_PLACES or more recent check-ins: a superset of
    those seen at as many organisations, found by one hash aggregation of the recent check-ins
    (counting distinct organisations would sort them all). Read into Python: a handful, whose
    stays ix_stay_passport_hash then finds, where the planner could not foresee how few."""
    # Bytewise ("C"): hex digits need no language's collation, and the sort is much cheaper.
    passport = Stay.passport_hash.collate("C")
    query = visible_stays(select(passport).where(*recent), user)
    return db.session.scalars(query.group_by(passport)
                              .having(func.count() >= HOPPING_PLACES)).all()


def _windows(stays):
    """For each check-in of a suspect passport, the organisations of the check-ins in the
    HOPPING_WINDOW that starts with it; only windows reaching HOPPING_PLACES."""
    start, other = stays.alias("start"), stays.alias("other")
    places = func.count(other.c.organisation_id.distinct())
    return (select(start.c.passport_hash, start.c.id.label("first_id"), places.label("places"),
                   func.max(other.c.checked_in_at).label("last_at"))
            .join(other, and_(other.c.passport_hash == start.c.passport_hash,
                              other.c.checked_in_at >= start.c.checked_in_at,
                              other.c.checked_in_at <= start.c.checked_in_at + HOPPING_WINDOW))
            .group_by(start.c.passport_hash, start.c.id)
            .having(places >= HOPPING_PLACES))


def _stays_by_id(ids):
    query = select(Stay).where(Stay.id.in_(ids)).options(joinedload(Stay.organisation))
    return {stay.id: stay for stay in db.session.scalars(query)}


def permit_expired(user, now, limit=MAX_LEADS):
    """Guests still checked in whose stay permit expired before today, the longest expired
    first."""
    query = present_now(user, now, GuestFilters(permit_expired=True))
    return [Lead(LeadKind.permit_expired, stay)
            for stay in _first(query, (Stay.permit_expiry, Stay.id), limit)]


def overdue(user, now, limit=MAX_LEADS):
    """Guests still checked in OVERDUE_AFTER or more after their planned check-out, the longest
    overdue first."""
    query = visible_stays(select(Stay), user).where(overdue_check_out(local_date(now)),
                                                    Stay.checked_in_at <= now)
    return [Lead(LeadKind.overdue_check_out, stay)
            for stay in _first(query, (Stay.planned_check_out, Stay.id), limit)]


def _first(query, order, limit):
    """The first `limit` stays of `query` (present stays) by `order`, with their organisations.
    Their ids are chosen first from ix_stay_office_present's included columns alone (an
    index-only scan of the present stays), then only those stays are read."""
    chosen = query.with_only_columns(Stay.id).order_by(*order).limit(limit).subquery()
    return db.session.scalars(select(Stay).where(Stay.id.in_(select(chosen.c.id)))
                              .options(joinedload(Stay.organisation)).order_by(*order)).all()


FINDERS = {LeadKind.hopping: hopping, LeadKind.permit_expired: permit_expired,
           LeadKind.overdue_check_out: overdue}


def all_leads(user, now, limit=MAX_LEADS):
    """{kind: [Lead, ...]} for every kind, each list at most `limit` long, for immigration staff
    only. Audited with the ids of the stays shown."""
    if not has_permission(user, Permission.view_guests):
        raise NotAllowed()
    found = {kind: finder(user, now, limit) for kind, finder in FINDERS.items()}
    record("guest.leads", None, {kind.value: [lead.stay.id for lead in leads]
                                 for kind, leads in found.items()}, actor=user)
    return found
