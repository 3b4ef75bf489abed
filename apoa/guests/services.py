"""Organisations and their guests' stays: registration, verification, check-in, check-out,
corrections, cancellation, and the officers' audited reads.

Services take the actor, check the permission (apoa/auth/permissions.py), change rows, flush and
write the audit entry; they never commit. Audit entries and logs hold ids and counts, never a
guest's name or passport number.

Decisions:
- Late: a check-in is late when it reached APOA more than 24 hours after the guest checked in at
  the lodging (`is_late`). The operator's duty starts when the guest arrives at the lodging, not
  when the guest entered Indonesia, which may have been weeks earlier. Exactly 24 hours is on time.
  A correction may make a stay late, never on time again: the history shows a typo, and an
  operator cannot hide a late report by moving the check-in time.
- A passport or permit already expired at check-in is accepted and flagged (`flags`): the guest
  is there, and refusing the entry would hide exactly the foreigner officers most need to see.
  A future birth date, a check-out (planned or done) before the check-in, an arrival in Indonesia
  after the check-in and a check-in in the future are refused: they cannot be true.
"""
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, String, column, func, select, text
from sqlalchemy.dialects import postgresql

from apoa.audit.services import record
from apoa.auth.models import Role
from apoa.auth.permissions import (Permission, can_for_organisation, can_for_stay)
from apoa.core.vocabulary import TitledEnum, titled
from apoa.errors import Conflict, NotAllowed, UserValueError
from apoa.extensions import db
from apoa.guests.models import (LodgingKind, Organisation, OrganisationKind, OrganisationMember,
                                OrganisationState, PermitKind, Sex, Stay, StayChange, StayState)
from apoa.guests.passports import (PERSONAL_FIELDS, Personal, decrypt_personal, encrypt_personal,
                                   normalise_passport, passport_hash, seal)
from apoa.guests import sttpoa
from apoa.guests.sttpoa import JAKARTA
from apoa.regions.lookup import locate

log = logging.getLogger("apoa.guests")
MIN_REASON_LENGTH = 10
LATE_AFTER = timedelta(hours=24)
# A device clock a little ahead of the server's is not a check-in in the future.
CLOCK_SKEW = timedelta(minutes=15)
# Indonesia's time zones run from UTC+7 to UTC+9; dates compared with a check-in time are read
# in whichever zone gives the guest the benefit of the doubt.
EARLIEST_ZONE, LATEST_ZONE = timezone(timedelta(hours=7)), timezone(timedelta(hours=9))
SELF_REGISTERING_ROLES = (Role.resident.value, Role.lodging.value)


class OutsideIndonesia(UserValueError):
    default_message = _l("The place is not in Indonesia: choose it on the map again.")


class NotVerified(Conflict):
    default_message = _l("The immigration office has not verified this organisation yet: it "
                         "cannot report guests until then.")


@dataclass(frozen=True)
class Problem:
    """One bad value: which guest of the list (0 for a single guest), which field, and why."""

    index: int
    field: str
    message: str


class GuestProblems(UserValueError):
    """Every problem found in a check-in or correction, each tied to its field."""

    def __init__(self, problems):
        super().__init__(problems[0].message)
        self.problems = problems


@dataclass(frozen=True, repr=False)
class GuestData:
    """One guest's check-in as the form, the MRZ reader or a bulk file hands it over."""

    surname: str
    given_names: str | None
    sex: str
    date_of_birth: date
    nationality: str
    passport_number: str
    passport_expiry: date
    permit_kind: str
    arrived_in_indonesia: date
    checked_in_at: datetime
    planned_check_out: date | None = None
    permit_number: str | None = None
    permit_expiry: date | None = None
    room: str | None = None

    def __repr__(self):
        return "GuestData(<hidden>)"

    @property
    def personal(self):
        return Personal(surname=self.surname.strip().upper(),
                        given_names=(self.given_names or "").strip().upper() or None,
                        sex=self.sex, date_of_birth=self.date_of_birth,
                        passport_number=normalise_passport(self.passport_number),
                        permit_number=(self.permit_number or "").strip().upper() or None)


class StayFlag(TitledEnum):
    late = "late"
    passport_expired = "passport_expired"
    permit_expired = "permit_expired"


titled(StayFlag, {StayFlag.late: _l("Reported more than 24 hours after check-in"),
                  StayFlag.passport_expired: _l("Passport expired at check-in"),
                  StayFlag.permit_expired: _l("Stay permit expired at check-in")})


# --- Organisations ---------------------------------------------------------------------------

def register_organisation(person, kind, name, address, point, licence_no=None, lodging_kind=None):
    """Sign up an organisation, pending verification by the office of its place; `person` (a
    resident or organisation account) becomes its person in charge. `point` is (lon, lat)."""
    if person.role not in SELF_REGISTERING_ROLES:
        raise UserValueError(_("Immigration staff accounts cannot register an organisation."))
    _check_organisation_fields(kind, name, licence_no, lodging_kind)
    place = locate(*point)
    if place is None:
        raise OutsideIndonesia()
    organisation = Organisation(
        kind=kind, name=name.strip(), licence_no=(licence_no or "").strip() or None,
        lodging_kind=lodging_kind if kind == OrganisationKind.lodging.value else None,
        address=address.strip(), location=func.ST_SetSRID(func.ST_MakePoint(*point), 4326),
        kab_id=place.kabupaten.id, kec_id=place.kecamatan.id if place.kecamatan else None,
        office_id=place.office_id, state=OrganisationState.pending.value)
    db.session.add(organisation)
    _join(organisation, person, in_charge=True)
    record("organisation.register", f"organisation:{organisation.id}",
           {"kind": kind, "office_id": organisation.office_id}, actor=person)
    log.info("organisation %s (%s) registered by user %s", organisation.id, kind, person.id)
    return organisation


def _check_organisation_fields(kind, name, licence_no, lodging_kind):
    if kind not in {k.value for k in OrganisationKind}:
        raise UserValueError(_("Choose what kind of organisation this is."))
    if not 2 <= len((name or "").strip()) <= 200:
        raise UserValueError(_("Give the organisation's name (2 to 200 characters)."))
    if kind != OrganisationKind.host.value and not (licence_no or "").strip():
        raise UserValueError(_("Give the business licence number (NIB)."))
    lodging = kind == OrganisationKind.lodging.value
    if lodging and lodging_kind not in {k.value for k in LodgingKind}:
        raise UserValueError(_("Choose what kind of lodging this is."))


def _join(organisation, user, in_charge):
    if user.role not in SELF_REGISTERING_ROLES:
        raise UserValueError(_("Immigration staff accounts cannot join an organisation."))
    user.role = Role.lodging.value
    db.session.add(OrganisationMember(organisation=organisation, user=user,
                                      is_person_in_charge=in_charge))
    db.session.flush()


def verify_organisation(organisation, actor, approve, note, now):
    """Approve or reject a pending organisation (a rejection needs a note). Audited."""
    if not can_for_organisation(actor, Permission.verify_organisation, organisation):
        raise NotAllowed()
    if organisation.state != OrganisationState.pending.value:
        raise Conflict(_("This organisation has already been decided on."))
    note = (note or "").strip() or None
    if not approve and (note is None or len(note) < MIN_REASON_LENGTH):
        raise UserValueError(_("Explain the rejection in at least %(n)d characters.",
                               n=MIN_REASON_LENGTH))
    decision = OrganisationState.verified if approve else OrganisationState.rejected
    organisation.state = decision.value
    organisation.decided_by_id, organisation.decided_at = actor.id, now
    organisation.decision_note = note
    db.session.flush()
    record(f"organisation.{organisation.state}", f"organisation:{organisation.id}",
           {"office_id": organisation.office_id}, actor=actor)
    log.info("organisation %s %s by user %s", organisation.id, organisation.state, actor.id)
    return organisation


def add_member(organisation, user, actor):
    """Give `user` (a resident or organisation account) a staff account of the organisation; the
    person in charge does this. Audited."""
    if not can_for_organisation(actor, Permission.manage_members, organisation):
        raise NotAllowed()
    if db.session.get(OrganisationMember, (organisation.id, user.id)) is not None:
        raise UserValueError(_("This person is already a member of the organisation."))
    _join(organisation, user, in_charge=False)
    record("organisation.add_member", f"organisation:{organisation.id}", {"user_id": user.id},
           actor=actor)
    return user


# --- Check-in --------------------------------------------------------------------------------

def check_in(organisation, actor, guests, now):
    """Check in one guest or a group; returns their stays, each with its STTPOA number. Guests
    of one call share a group id. Every problem of every guest is reported at once
    (GuestProblems), and then nothing is stored.

    Valid guests are stored by one statement (CHECK_IN_SQL): the check for the same guests
    already checked in at the same times, the receipt numbers, the stays and the audit entry. The
    membership check before it is its own statement; a refused group asks for the duplicates
    separately, to report every problem at once."""
    _require_member(actor, organisation)
    if not organisation.is_verified:
        raise NotVerified()
    if not guests:
        raise UserValueError(_("Add at least one guest."))
    problems = [p for index, guest in enumerate(guests) for p in guest_problems(guest, now, index)]
    keys = [(passport_hash(g.personal.passport_number), g.checked_in_at) for g in guests]
    if problems or len(set(keys)) < len(keys):
        problems += _duplicates(organisation, guests)
        raise GuestProblems(problems)
    rows = db.session.execute(_CHECK_IN_STATEMENT, _check_in_parameters(
        organisation, actor, guests, keys, now)).all()
    taken = {(row.dup_hash, row.dup_at) for row in rows if row.Stay is None}
    if taken:
        raise GuestProblems([Problem(index, "passport_number",
                                     _("This guest is already checked in at this time."))
                             for index, key in enumerate(keys) if key in taken])
    by_number = {row.Stay.sttpoa_no: row.Stay for row in rows}
    stays = sorted(by_number.values(), key=lambda stay: stay.id)
    log.info("organisation %s checked in %s guests", organisation.id, len(stays))
    return stays


def _check_in_parameters(organisation, actor, guests, keys, now):
    year = now.astimezone(JAKARTA).year
    return {
        "org": organisation.id, "office_id": organisation.office_id, "kab_id": organisation.kab_id,
        "prefix": sttpoa.prefix_of(organisation.office), "year": year, "count": len(guests),
        "group_id": str(uuid.uuid4()) if len(guests) > 1 else None,
        "reported_at": now, "actor": actor.id,
        "personals": [encrypt_personal(g.personal) for g in guests],
        "hashes": [key[0] for key in keys],
        "nationalities": [nationality_code(g.nationality) for g in guests],
        "passport_expiries": [g.passport_expiry for g in guests],
        "permit_kinds": [g.permit_kind for g in guests],
        "permit_expiries": [g.permit_expiry for g in guests],
        "arrivals": [g.arrived_in_indonesia for g in guests],
        "checked_ins": [g.checked_in_at for g in guests],
        "planned": [g.planned_check_out for g in guests],
        "rooms": [(g.room or "").strip() or None for g in guests],
        "lates": [is_late(g.checked_in_at, now) for g in guests],
        "checks": [sttpoa.check_part() for _guest in guests],
    }


_STAY_NAMES = ", ".join(c.name for c in Stay.__table__.columns)
_NO_STAY = ", ".join(f"NULL::{c.type.compile(dialect=postgresql.dialect())}"
                     for c in Stay.__table__.columns)
# `g`: the guests in order. `dup`: the same guests already checked in at the same times (then
# nothing else happens). `pfx`/`num`: the office's receipt prefix (sttpoa.prefix_of) and the
# numbers reserved as sttpoa.new_numbers does. `ins`: the stays, numbered in the guests' order.
# `aud`: what record("guest.check_in", ...) writes. Constants come from the code's enums.
CHECK_IN_SQL = f"""
WITH g AS (
  SELECT * FROM unnest(CAST(:personals AS bytea[]), CAST(:hashes AS text[]),
                       CAST(:nationalities AS text[]), CAST(:passport_expiries AS date[]),
                       CAST(:permit_kinds AS text[]), CAST(:permit_expiries AS date[]),
                       CAST(:arrivals AS date[]), CAST(:checked_ins AS timestamptz[]),
                       CAST(:planned AS date[]), CAST(:rooms AS text[]),
                       CAST(:lates AS boolean[]), CAST(:checks AS text[]))
  WITH ORDINALITY AS g(personal, passport_hash, nationality, passport_expiry, permit_kind,
                       permit_expiry, arrived_in_indonesia, checked_in_at, planned_check_out,
                       room, late, check_part, i)
),
dup AS (
  SELECT s.passport_hash, s.checked_in_at FROM stay s
  JOIN g ON s.passport_hash = g.passport_hash AND s.checked_in_at = g.checked_in_at
  WHERE s.organisation_id = :org AND s.state <> '{StayState.cancelled.value}'
),
pfx AS (SELECT CAST(:prefix AS text) AS prefix),
num AS (
  INSERT INTO sttpoa_counter (prefix, year, last_number)
  SELECT pfx.prefix, :year, :count FROM pfx WHERE NOT EXISTS (SELECT FROM dup)
  ON CONFLICT (prefix, year)
  DO UPDATE SET last_number = sttpoa_counter.last_number + EXCLUDED.last_number
  RETURNING last_number
),
ins AS (
  INSERT INTO stay (organisation_id, office_id, kab_id, sttpoa_no, group_id, personal,
                    passport_hash, nationality, passport_expiry, permit_kind, permit_expiry,
                    arrived_in_indonesia, checked_in_at, planned_check_out, room, reported_at,
                    late, state, created_by_id)
  SELECT :org, :office_id, :kab_id,
         'STTPOA-' || pfx.prefix || '-' || CAST(:year AS text) || '-'
           || lpad(n.v::text, greatest(7, length(n.v::text)), '0') || '-' || g.check_part,
         CAST(:group_id AS uuid), g.personal, g.passport_hash, g.nationality, g.passport_expiry,
         g.permit_kind, g.permit_expiry, g.arrived_in_indonesia, g.checked_in_at,
         g.planned_check_out, g.room, :reported_at, g.late, '{StayState.present.value}', :actor
  FROM num, pfx, g, LATERAL (SELECT num.last_number - :count + g.i) AS n(v)
  ORDER BY g.i
  RETURNING {_STAY_NAMES}
),
aud AS (
  INSERT INTO audit_log (at, actor_id, action, object, detail)
  SELECT clock_timestamp(), :actor, 'guest.check_in', 'organisation:' || CAST(:org AS text),
         jsonb_build_object('stays', jsonb_agg(id ORDER BY id),
                            'late', count(*) FILTER (WHERE late))
  FROM ins HAVING count(*) > 0
)
SELECT {_STAY_NAMES}, NULL::text AS dup_hash, NULL::timestamptz AS dup_at FROM ins
UNION ALL
SELECT {_NO_STAY}, dup.passport_hash, dup.checked_in_at FROM dup
"""
_CHECK_IN_STATEMENT = select(Stay, column("dup_hash", String), column("dup_at")).from_statement(
    text(CHECK_IN_SQL).columns(*Stay.__table__.columns, column("dup_hash", String),
                               column("dup_at", DateTime(timezone=True))))


def is_late(checked_in_at, reported_at):
    """Whether a check-in reached APOA more than 24 hours after the guest checked in."""
    return reported_at - checked_in_at > LATE_AFTER


def flags(stay):
    """The leads a stay raises for an officer (never a decision about the guest)."""
    checked_in_on = stay.checked_in_at.astimezone(EARLIEST_ZONE).date()
    found = set()
    if stay.late:
        found.add(StayFlag.late)
    if stay.passport_expiry < checked_in_on:
        found.add(StayFlag.passport_expired)
    if stay.permit_expiry is not None and stay.permit_expiry < checked_in_on:
        found.add(StayFlag.permit_expired)
    return found


def guest_problems(guest, now, index=0):
    """What is wrong with one guest's data: a list of Problems, empty when it can be stored."""
    checks = (_name_problems, _document_problems, _date_problems)
    return [Problem(index, field, message)
            for check in checks for field, message in check(guest, now)]


def _name_problems(guest, now):
    if not (guest.surname or "").strip() or len(guest.surname) > 100:
        yield "surname", _("Give the surname as printed in the passport (at most 100 characters).")
    if guest.given_names and len(guest.given_names) > 150:
        yield "given_names", _("The given names are too long (at most 150 characters).")
    if guest.sex not in {s.value for s in Sex}:
        yield "sex", _("Choose the sex as printed in the passport.")


def _document_problems(guest, now):
    nationality = nationality_code(guest.nationality)
    if not (1 <= len(nationality) <= 3 and nationality.isascii() and nationality.isalpha()):
        yield "nationality", _("Give the nationality as the passport's three-letter code.")
    if not passport_number_ok(guest.passport_number):
        yield "passport_number", _("Give the passport number: 3 to 20 letters and digits.")
    if guest.permit_kind not in {k.value for k in PermitKind}:
        yield "permit_kind", _("Choose the kind of visa or stay permit.")
    if guest.room and len(guest.room.strip()) > 20:
        yield "room", _("The room is too long (at most 20 characters).")


def _date_problems(guest, now):
    checked_in_on = guest.checked_in_at.astimezone(EARLIEST_ZONE).date()
    if guest.date_of_birth > now.astimezone(LATEST_ZONE).date():
        yield "date_of_birth", _("The date of birth is in the future.")
    if guest.checked_in_at > now + CLOCK_SKEW:
        yield "checked_in_at", _("The check-in time is in the future.")
    if guest.arrived_in_indonesia > guest.checked_in_at.astimezone(LATEST_ZONE).date():
        yield "arrived_in_indonesia", _("The arrival in Indonesia is after the check-in.")
    if guest.planned_check_out is not None and guest.planned_check_out < max(
            checked_in_on, guest.arrived_in_indonesia):
        yield "planned_check_out", _("The planned check-out is before the check-in.")


def passport_number_ok(typed):
    number = normalise_passport(typed)
    return 3 <= len(number) <= 20 and number.isascii() and number.isalnum()


def nationality_code(code):
    return str(code or "").upper().replace("<", "").strip()


def _duplicates(organisation, guests):
    keys = [(passport_hash(g.personal.passport_number), g.checked_in_at) for g in guests]
    query = select(Stay.passport_hash, Stay.checked_in_at).where(
        Stay.organisation_id == organisation.id, Stay.state != StayState.cancelled.value,
        Stay.passport_hash.in_([key[0] for key in keys]))
    taken = {tuple(row) for row in db.session.execute(query)}
    problems, seen = [], set()
    for index, key in enumerate(keys):
        if key in taken or key in seen:
            problems.append(Problem(index, "passport_number",
                                    _("This guest is already checked in at this time.")))
        seen.add(key)
    return problems


def _require_member(actor, organisation):
    if not can_for_organisation(actor, Permission.report_guests, organisation):
        raise NotAllowed()


def _require_stay_member(actor, stay):
    if not can_for_stay(actor, Permission.report_guests, stay):
        raise NotAllowed()


# --- After check-in: check-out, corrections, cancellation ------------------------------------

def check_out(stays, actor, at):
    """Check out one or many guests at `at` (each must be present and checked in before `at`)."""
    problems = []
    for index, stay in enumerate(stays):
        _require_stay_member(actor, stay)
        if stay.state != StayState.present.value:
            problems.append(Problem(index, "state", _("This guest is not staying any more.")))
        elif at < stay.checked_in_at:
            problems.append(Problem(index, "checked_out_at",
                                    _("The check-out is before the check-in.")))
    if problems:
        raise GuestProblems(problems)
    for stay in stays:
        _note_change(stay, actor, at, "checked_out_at", None, at)
        stay.checked_out_at, stay.state = at, StayState.checked_out.value
    db.session.flush()
    record("guest.check_out", None, {"stays": [stay.id for stay in stays]}, actor=actor)
    return stays


# Fields a correction may change; the check-out time only once the guest has checked out.
CORRECTABLE = (*PERSONAL_FIELDS, "nationality", "passport_expiry", "permit_kind",
               "permit_expiry", "arrived_in_indonesia", "checked_in_at", "planned_check_out",
               "room")


def correct(stay, actor, changes, reason, now):
    """Correct some fields of a stay (`changes`: field → new value) with a reason; every changed
    field becomes a stay_change row (personal values only encrypted). Returns the changed names."""
    _require_stay_member(actor, stay)
    if stay.state == StayState.cancelled.value:
        raise Conflict(_("A cancelled entry cannot be corrected."))
    reason = required_reason(reason, _("Explain the correction in at least %(n)d characters.",
                               n=MIN_REASON_LENGTH))
    unknown = set(changes) - set(CORRECTABLE)
    if unknown:
        raise UserValueError(_("These fields cannot be corrected: %(names)s",
                               names=", ".join(sorted(unknown))))
    before = _guest_data(stay)
    after = _normalised(replace(before, **changes))
    problems = guest_problems(after, now) + _check_out_problem(stay, after)
    if problems:
        raise GuestProblems(problems)
    changed = [name for name in CORRECTABLE if getattr(before, name) != getattr(after, name)]
    for name in changed:
        _note_change(stay, actor, now, name, getattr(before, name), getattr(after, name), reason)
    _store(stay, after)
    db.session.flush()
    record("guest.correct", f"stay:{stay.id}", {"fields": changed}, actor=actor)
    return changed


def _check_out_problem(stay, after):
    if stay.checked_out_at is not None and stay.checked_out_at < after.checked_in_at:
        return [Problem(0, "checked_in_at", _("The check-in is after the check-out."))]
    return []


def _normalised(guest):
    """The guest as stored: names and numbers in upper case, codes without fillers."""
    personal = guest.personal
    return replace(guest, **{name: getattr(personal, name) for name in PERSONAL_FIELDS},
                   nationality=nationality_code(guest.nationality),
                   room=(guest.room or "").strip() or None)


def _guest_data(stay):
    personal = decrypt_personal(stay.personal, f"stay:{stay.id}")
    clear = {name: getattr(stay, name) for name in
             ("nationality", "passport_expiry", "permit_kind", "permit_expiry",
              "arrived_in_indonesia", "checked_in_at", "planned_check_out", "room")}
    return GuestData(**{name: getattr(personal, name) for name in PERSONAL_FIELDS}, **clear)


def _store(stay, guest):
    personal = guest.personal
    stay.personal = encrypt_personal(personal)
    stay.passport_hash = passport_hash(personal.passport_number)
    for name in ("passport_expiry", "permit_kind", "permit_expiry", "arrived_in_indonesia",
                 "checked_in_at", "planned_check_out"):
        setattr(stay, name, getattr(guest, name))
    stay.nationality = nationality_code(guest.nationality)
    stay.room = (guest.room or "").strip() or None
    # Once late, always late: see the module's docstring.
    stay.late = stay.late or is_late(stay.checked_in_at, stay.reported_at)


def cancel(stay, actor, reason, now):
    """Cancel a wrong entry with a reason. The row stays (state cancelled); it is never deleted."""
    _require_stay_member(actor, stay)
    if stay.state == StayState.cancelled.value:
        raise Conflict(_("This entry is already cancelled."))
    reason = required_reason(reason, _("Explain the cancellation in at least %(n)d characters.",
                               n=MIN_REASON_LENGTH))
    _note_change(stay, actor, now, "state", stay.state, StayState.cancelled.value, reason)
    stay.state, stay.cancel_reason = StayState.cancelled.value, reason
    db.session.flush()
    record("guest.cancel", f"stay:{stay.id}", None, actor=actor)
    return stay


def _note_change(stay, actor, at, name, old, new, reason=None):
    change = StayChange(stay=stay, actor_id=actor.id, at=at, field=name, reason=reason)
    if name in PERSONAL_FIELDS:
        change.sealed = seal({"old": old, "new": new})
    else:
        change.old_value, change.new_value = _text(old), _text(new)
    db.session.add(change)


def _text(value):
    if value is None:
        return None
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def required_reason(reason, message):
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise UserValueError(message)
    return reason
