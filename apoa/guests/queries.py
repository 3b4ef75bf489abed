"""The officers' and organisations' reads of stays: who may see which, guests present at a
moment with the officers' filters, the passport search and the audited reveal of a guest's
personal data. Every read of a guest's identity is audited with its reason; audit entries and logs
hold ids and counts, never a name or a passport number."""
import logging
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select

from apoa.audit.services import record
from apoa.auth.models import Role
from apoa.auth.permissions import Permission, can_for_stay, has_permission, visible_stays
from apoa.errors import NotAllowed, UserValueError
from apoa.extensions import db
from apoa.guests.models import Stay, StayState
from apoa.guests.passports import decrypt_personal, passport_hash
from apoa.guests.services import (EARLIEST_ZONE, MIN_REASON_LENGTH, nationality_code,
                                  passport_number_ok, required_reason)

log = logging.getLogger("apoa.guests")


@dataclass(frozen=True)
class GuestFilters:
    """The officers' filters on guests present at a moment."""

    nationality: str | None = None
    permit_kind: str | None = None
    permit_expiring_within_days: int | None = None
    permit_expired: bool = False


def stays_visible_to(user):
    """A query of the stays `user` may see: an organisation's staff their own, officers and
    supervisors their jurisdiction's."""
    permission = (Permission.report_guests if user.role == Role.lodging.value
                  else Permission.view_guests)
    return visible_stays(select(Stay), user, permission)


def present_at(user, moment, filters=GuestFilters()):
    """A query of the guests staying at `moment` that `user` may see, with the officers'
    filters (permit dates against `moment`'s date in Jakarta)."""
    query = stays_visible_to(user).where(
        Stay.state != StayState.cancelled.value, Stay.checked_in_at <= moment,
        or_(Stay.checked_out_at.is_(None), Stay.checked_out_at > moment))
    return _filtered(query, filters, moment.astimezone(EARLIEST_ZONE).date())


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
    return query


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
    stays = db.session.scalars(query).all()
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
