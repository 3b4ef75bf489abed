"""The officers' and organisations' reads of stays: who may see which, guests present now, at a
moment or on a date with the officers' filters, one foreigner's stays across lodgings, the
organisations to verify and their late and missing check-outs, the lodgings with guests present
(the officers' map, a report's surroundings), the passport search and the audited reveal.

Every read of guest records by immigration staff is audited: the reveal and the passport search
with their reason, the lists and pages with the ids of the stays shown. Audit entries and logs
hold ids and counts, never a name or a passport number.

Speed (bench/guests.py, 1,000,000 stays): the reads of guests present now go through the partial
indexes of present stays (a few percent of the table), never through all stays: the officers'
first page by ix_stay_present_checked_in (the Ditjen) or ix_stay_office_present (an office), the
counts per nationality and per organisation (with the missing check-outs) by index-only scans of
ix_stay_office_present's included columns. A past moment or day adds the stays checked out since
(ix_stay_checked_out); the late check-ins of LATE_WINDOW come from ix_stay_checked_in.
"""
import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta

from flask_babel import gettext as _
from geoalchemy2 import Geography
from sqlalchemy import and_, cast, exists, func, or_, select
from sqlalchemy.orm import joinedload

from apoa.audit.services import record
from apoa.auth.models import Role
from apoa.auth.permissions import (Permission, can_for_stay, has_permission,
                                   visible_organisations, visible_stays)
from apoa.errors import NotAllowed, UserValueError
from apoa.extensions import db
from apoa.guests.models import (Organisation, OrganisationMember, OrganisationState, Stay,
                                StayState)
from apoa.guests.passports import decrypt_personal, passport_hash
from apoa.guests.services import (EARLIEST_ZONE, MIN_REASON_LENGTH, nationality_code,
                                  passport_number_ok, required_reason)
from apoa.reports.duplicates import box_degrees

log = logging.getLogger("apoa.guests")
PER_PAGE = 50
MAX_PAGE = 200
# No check-out this long after the planned date: a missing check-out (officers' counts, leads).
OVERDUE_AFTER = timedelta(days=7)
# The organisations' list counts late check-ins of this many days back.
LATE_WINDOW = timedelta(days=30)
NEARBY_METRES = 300
MAX_LODGINGS = 2000
MAX_HISTORY = 200
MAX_PENDING = 200
PRESENT, CANCELLED = StayState.present.value, StayState.cancelled.value
CHECKED_OUT = StayState.checked_out.value


@dataclass(frozen=True)
class GuestFilters:
    """The officers' filters on guests present at a moment."""

    nationality: str | None = None
    permit_kind: str | None = None
    permit_expiring_within_days: int | None = None
    permit_expired: bool = False
    organisation_id: int | None = None


def local_date(moment):
    """The date of `moment` in Jakarta (WIB), the zone of the officers' dates."""
    return moment.astimezone(EARLIEST_ZONE).date()


def stays_visible_to(user):
    """A query of the stays `user` may see: an organisation's staff their own, officers and
    supervisors their jurisdiction's."""
    permission = (Permission.report_guests if user.role == Role.lodging.value
                  else Permission.view_guests)
    return visible_stays(select(Stay), user, permission)


def present_at(user, moment, filters=GuestFilters()):
    """A query of the guests staying at `moment` that `user` may see, with the officers'
    filters (permit dates against `moment`'s date in Jakarta): checked in by then and still
    checked in, or checked out after it. Cancelled entries never count.

    When no stay at all was checked out after `moment` (a moment of now: the usual case), this
    is present_now(moment), which the partial indexes of present stays answer; the look costs
    one probe of ix_stay_checked_out. A guest checked out between that probe and the read is
    not listed, as by present_now."""
    if not _checked_out_after(moment):
        return present_now(user, moment, filters)
    query = stays_visible_to(user).where(Stay.checked_in_at <= moment, _staying_after(moment))
    return _filtered(query, filters, local_date(moment))


def present_now(user, now, filters=GuestFilters()):
    """The guests still checked in at `now`: the same as present_at(now), written so that the
    partial indexes of present stays answer it."""
    query = stays_visible_to(user).where(Stay.state == PRESENT, Stay.checked_in_at <= now)
    return _filtered(query, filters, local_date(now))


def present_on(user, day, filters=GuestFilters()):
    """The guests staying at any time of `day` (in Jakarta): checked in before it ended and not
    checked out before it began."""
    start = datetime.combine(day, time(0), tzinfo=EARLIEST_ZONE)
    query = stays_visible_to(user).where(Stay.checked_in_at < start + timedelta(days=1),
                                         _staying_after(start, since=True))
    return _filtered(query, filters, day)


def _staying_after(moment, since=False):
    """SQL: still checked in, or checked out after `moment` (`since`: at or after it). The same
    as "not cancelled and not checked out by then" (a present stay has no check-out time, a
    checked-out one has one), written as two parts that each have a partial index, which the
    planner combines (BitmapOr) instead of reading every stay checked in before `moment`."""
    left = Stay.checked_out_at >= moment if since else Stay.checked_out_at > moment
    return or_(Stay.state == PRESENT, and_(Stay.state == CHECKED_OUT, left))


def _checked_out_after(moment):
    """Whether any stay was checked out after `moment` (one probe of ix_stay_checked_out)."""
    return db.session.scalar(select(
        exists().where(Stay.state == CHECKED_OUT, Stay.checked_out_at > moment)))


def _filtered(query, filters, on):
    if filters.nationality:
        query = query.where(Stay.nationality == nationality_code(filters.nationality))
    if filters.permit_kind:
        query = query.where(Stay.permit_kind == filters.permit_kind)
    if filters.permit_expiring_within_days is not None:
        last = on + timedelta(days=filters.permit_expiring_within_days)
        query = query.where(Stay.permit_expiry.between(on, last))
    if filters.permit_expired:
        query = query.where(Stay.permit_expiry < on)
    if filters.organisation_id is not None:
        query = query.where(Stay.organisation_id == filters.organisation_id)
    return query


def overdue_check_out(today):
    """SQL: still checked in OVERDUE_AFTER or more after the planned check-out."""
    return and_(Stay.state == PRESENT, Stay.planned_check_out <= today - OVERDUE_AFTER)


# --- the officers' list of guests -------------------------------------------------------------

@dataclass
class Page:
    """One page of a list; for guests also how many match in all (`total`) and how many of each
    nationality, most first (`nationalities`: (code, count) pairs)."""

    rows: list
    number: int
    has_next: bool
    total: int | None = None
    nationalities: tuple = ()

    @property
    def has_previous(self):
        return self.number > 1


def guest_list(user, now, filters=GuestFilters(), day=None, page=1):
    """The guests present now (or on `day`) in `user`'s jurisdiction, one page of them. Audited
    with the filters and the ids of the stays shown."""
    if not has_permission(user, Permission.view_guests):
        raise NotAllowed()
    query = present_on(user, day, filters) if day else present_now(user, now, filters)
    result = _page(query, page)
    record("guest.list", None, {"on": day.isoformat() if day else None,
                                "filters": {k: v for k, v in asdict(filters).items() if v},
                                "total": result.total, "page": result.number,
                                "stays": [stay.id for stay in result.rows]}, actor=user)
    return result


def _page(query, number, per_page=PER_PAGE):
    number = min(max(number, 1), MAX_PAGE)
    matching = query.subquery()
    by_nationality = db.session.execute(
        select(matching.c.nationality, func.count()).group_by(matching.c.nationality)
        .order_by(func.count().desc(), matching.c.nationality)).all()
    rows = db.session.scalars(
        query.options(joinedload(Stay.organisation))
        .order_by(Stay.checked_in_at.desc(), Stay.id.desc())
        .offset((number - 1) * per_page).limit(per_page + 1)).all()
    return Page(rows=rows[:per_page], number=number,
                has_next=len(rows) > per_page and number < MAX_PAGE,
                total=sum(n for _code, n in by_nationality),
                nationalities=tuple(tuple(row) for row in by_nationality))


# --- one stay, one foreigner ------------------------------------------------------------------

def find_stay_for_staff(user, stay_id):
    """The stay if `user` sees it as immigration staff (view_guests), else None."""
    query = visible_stays(select(Stay).where(Stay.id == stay_id), user)
    return db.session.scalar(query.options(joinedload(Stay.organisation)))


def read_stay(stay, user):
    """Audit an officer's look at one stay's clear fields (the page of the stay)."""
    record("guest.view", f"stay:{stay.id}", None, actor=user)
    return stay


def foreigner_stays(stay, user):
    """Every stay in `user`'s jurisdiction of the passport of `stay` (through its keyed hash),
    newest first: one foreigner across lodgings. Audited with the ids of the stays shown."""
    if not can_for_stay(user, Permission.view_guests, stay):
        raise NotAllowed()
    query = visible_stays(select(Stay), user).where(Stay.passport_hash == stay.passport_hash)
    stays = db.session.scalars(query.options(joinedload(Stay.organisation))
                               .order_by(Stay.checked_in_at.desc(), Stay.id.desc())
                               .limit(MAX_HISTORY)).all()
    record("guest.history", f"stay:{stay.id}", {"stays": [s.id for s in stays]}, actor=user)
    return stays


# --- organisations ----------------------------------------------------------------------------

def organisations_to_verify(user):
    """The organisations of `user`'s jurisdiction waiting for verification, oldest first."""
    query = visible_organisations(select(Organisation), user).where(
        Organisation.state == OrganisationState.pending.value)
    return db.session.scalars(
        query.options(joinedload(Organisation.kabupaten),
                      joinedload(Organisation.members).joinedload(OrganisationMember.user))
        .order_by(Organisation.created_at, Organisation.id).limit(MAX_PENDING)).unique().all()


def find_organisation_for_staff(user, organisation_id):
    query = visible_organisations(select(Organisation), user)
    return db.session.scalar(query.where(Organisation.id == organisation_id))


@dataclass(frozen=True)
class OrganisationCounts:
    organisation: Organisation
    present: int
    late: int      # check-ins reported late within LATE_WINDOW
    overdue: int   # guests still checked in OVERDUE_AFTER past the planned check-out


def organisation_counts(user, now, page=1, per_page=PER_PAGE):
    """The verified organisations of `user`'s jurisdiction with their guests present, late
    check-ins of the last LATE_WINDOW and missing check-outs, the most missing first.

    Two grouped reads, each an index-only scan: the present stays (with the missing check-outs)
    through ix_stay_office_present, the late check-ins through ix_stay_checked_in."""
    overdue_by = local_date(now) - OVERDUE_AFTER
    present = visible_stays(select(
        Stay.organisation_id, func.count().label("present"),
        # Not overdue_check_out(): its state test would need the table, the index implies it.
        func.count().filter(Stay.planned_check_out <= overdue_by).label("overdue"),
    ).where(Stay.state == PRESENT, Stay.checked_in_at <= now)
        .group_by(Stay.organisation_id), user).subquery()
    late = visible_stays(select(Stay.organisation_id, func.count().label("late")).where(
        Stay.state != CANCELLED, Stay.late, Stay.checked_in_at >= now - LATE_WINDOW,
        Stay.checked_in_at <= now).group_by(Stay.organisation_id), user).subquery()
    number = min(max(page, 1), MAX_PAGE)
    figures = [func.coalesce(column, 0) for column in (present.c.present, late.c.late,
                                                        present.c.overdue)]
    query = visible_organisations(
        select(Organisation, *figures)
        .outerjoin(present, present.c.organisation_id == Organisation.id)
        .outerjoin(late, late.c.organisation_id == Organisation.id)
        .where(Organisation.state == OrganisationState.verified.value), user)
    rows = db.session.execute(
        query.options(joinedload(Organisation.kabupaten))
        .order_by(figures[2].desc(), figures[1].desc(), Organisation.name, Organisation.id)
        .offset((number - 1) * per_page).limit(per_page + 1)).all()
    return Page(rows=[OrganisationCounts(*row) for row in rows[:per_page]], number=number,
                has_next=len(rows) > per_page and number < MAX_PAGE)


# --- lodgings with guests present: the map layer, a report's surroundings ---------------------

@dataclass(frozen=True)
class LodgingGuests:
    organisation_id: int
    name: str
    kind: str
    lodging_kind: str | None
    geometry: dict           # GeoJSON point
    guests: int
    nationalities: list      # (code, count), most first
    distance_m: int | None = None


def lodgings_present_now(user, now, bbox=None):
    """The organisations of `user`'s jurisdiction with guests checked in at `now`, with their
    count and nationalities; `bbox` (apoa/maps/clusters.py BBox) narrows them to the map's view.
    Exact counts: officers may list these guests one by one, so "< 3" would hide nothing."""
    stays, places = present_now(user, now), []
    if bbox is not None:
        places.append(Organisation.location.op("&&")(func.ST_MakeEnvelope(
            bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat, 4326)))
        # Only the view's stays are counted (the GiST index finds its organisations).
        stays = stays.where(Stay.organisation_id.in_(select(Organisation.id).where(*places)))
    return _lodgings(stays, places)


def lodgings_near(user, lon, lat, moment, metres=NEARBY_METRES):
    """The organisations within `metres` of (lon, lat) whose guests `user` may see and who had
    guests staying at `moment`, nearest first. The GiST index on organisation.location answers
    the box; the exact distance is measured on the spheroid."""
    if not has_permission(user, Permission.view_guests):
        return []
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    dx, dy = box_degrees(lat, metres)
    distance = func.ST_Distance(cast(Organisation.location, Geography), cast(point, Geography))
    places = [Organisation.location.op("&&")(func.ST_Expand(point, dx, dy)),
              func.ST_DWithin(cast(Organisation.location, Geography), cast(point, Geography),
                              metres)]
    nearby = select(Organisation.id).where(*places)
    stays = present_at(user, moment).where(Stay.organisation_id.in_(nearby))
    return _lodgings(stays, places, distance)


def _lodgings(stays, places, distance=None):
    if distance is None:
        # The map shows the first MAX_LODGINGS by id: counting the nationalities of those
        # alone spares building thousands of JSON objects for the whole country.
        first = (stays.with_only_columns(Stay.organisation_id).distinct()
                 .order_by(Stay.organisation_id).limit(MAX_LODGINGS).subquery())
        stays = stays.where(Stay.organisation_id.in_(select(first.c.organisation_id)))
    per_nationality = (stays.with_only_columns(Stay.organisation_id, Stay.nationality,
                                               func.count().label("n"))
                       .group_by(Stay.organisation_id, Stay.nationality).subquery())
    per_place = (select(per_nationality.c.organisation_id,
                        func.sum(per_nationality.c.n).label("guests"),
                        func.jsonb_object_agg(per_nationality.c.nationality,
                                              per_nationality.c.n).label("nationalities"))
                 .group_by(per_nationality.c.organisation_id).subquery())
    extra = [distance.label("distance")] if distance is not None else []
    query = (select(Organisation.id, Organisation.name, Organisation.kind,
                    Organisation.lodging_kind, func.ST_AsGeoJSON(Organisation.location, 6),
                    per_place.c.guests, per_place.c.nationalities, *extra)
             .join(per_place, per_place.c.organisation_id == Organisation.id).where(*places)
             .order_by(distance if distance is not None else Organisation.id)
             .limit(MAX_LODGINGS))
    return [LodgingGuests(row[0], row[1], row[2], row[3], json.loads(row[4]), int(row[5]),
                          _most_first(row[6]), round(row[7]) if extra else None)
            for row in db.session.execute(query)]


def _most_first(counts):
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


# --- the passport search and the reveal -------------------------------------------------------

def find_by_passport(user, number, reason):
    """The stays in `user`'s jurisdiction of the passport `number` (exact, through the keyed
    hash), newest first. Needs a reason; audited with the reason and the count, never the
    number."""
    if not has_permission(user, Permission.search_passport):
        raise NotAllowed()
    reason = required_reason(reason, _("Give a reason of at least %(n)d characters for the search.",
                               n=MIN_REASON_LENGTH))
    if not passport_number_ok(number):
        raise UserValueError(_("Give the passport number: 3 to 20 letters and digits."))
    query = visible_stays(select(Stay), user, Permission.search_passport).where(
        Stay.passport_hash == passport_hash(number)).order_by(Stay.checked_in_at.desc())
    stays = db.session.scalars(query.options(joinedload(Stay.organisation))).all()
    record("guest.passport_search", None, {"reason": reason, "matches": len(stays)}, actor=user)
    log.info("user %s searched a passport number: %s stays", user.id, len(stays))
    return stays


def reveal(stay, user, reason=None):
    """A stay's personal data. The organisation's own staff read it freely (they typed it in);
    an officer or supervisor of the jurisdiction gives a reason, and the read is audited."""
    if can_for_stay(user, Permission.report_guests, stay):
        return decrypt_personal(stay.personal, f"stay:{stay.id}")
    if not can_for_stay(user, Permission.reveal_guest, stay):
        raise NotAllowed()
    reason = required_reason(reason, _("Give a reason of at least %(n)d characters for reading the "
                               "guest's data.", n=MIN_REASON_LENGTH))
    personal = decrypt_personal(stay.personal, f"stay:{stay.id}")
    record("guest.reveal", f"stay:{stay.id}", {"reason": reason}, actor=user)
    log.info("personal data of stay %s read by user %s", stay.id, user.id)
    return personal
