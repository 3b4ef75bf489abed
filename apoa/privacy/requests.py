"""Data-subject requests (UU PDP 27/2022): receiving them, finding them, and answering them
within their 3 × 24-hour clock.

Three ways in, each proving whose data it is about:
- a signed-in resident asks about their account and the reports they made with it;
- anyone with a tracking code and the phone number or e-mail address given on that report asks
  about that report (a wrong contact and an unknown code get the same answer, and both count as
  a miss of the tracking-code budget, as on the status page);
- someone who believes they were reported gives their name, contact and kabupaten/kota: the
  request goes to the supervisors of the office whose jurisdiction holds it, who decide with a
  reason (the law's exemptions for law enforcement apply), never automatically.

The admin (Permission.manage_privacy) answers reporters' requests: the export (request_export.py),
the correction or the erasure (request_changes.py), or a refusal with a reason. Who may do what is
asked of apoa/auth/permissions.py. Every step is audited with ids and counts only. Services flush,
never commit.
"""
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask_babel import gettext as _
from sqlalchemy import false, func, select, true
from sqlalchemy.orm import joinedload

from apoa.audit.services import record
from apoa.auth.models import Role
from apoa.auth.permissions import (ALL_OFFICES, Permission, can_for_office, has_permission,
                                   offices_visible)
from apoa.errors import Conflict, NotAllowed, UserValueError
from apoa.extensions import db
from apoa.forms import without_controls
from apoa.privacy.models import (ANSWER_WITHIN, RequestKind, RequestState, Subject,
                                 SubjectRequest, Via)
from apoa.privacy.request_secrets import (decrypt_details, encrypt_details, new_reference,
                                          new_secret, normalise_reference, secret_hash)
from apoa.regions.models import Office, Region, RegionLevel, office_region
from apoa.reports.contact import _decrypt
from apoa.reports.models import Report
from apoa.reports.services import find_by_code
from apoa.whatsapp.numbers import normalise as normalise_phone

log = logging.getLogger("apoa.privacy")

MAX_TEXT = 2000
MIN_REASON = 10
DUE_SOON = timedelta(hours=24)
LIST_LIMIT = 200


class NotVerified(UserValueError):
    """The tracking code and contact do not prove a report: one message whatever was wrong."""


def not_verified_message():
    return _("We could not match this tracking code with this phone number or e-mail address. "
             "Check both and try again.")


def _clean_text(text, required=False):
    text = without_controls(text or "").strip()
    if len(text) > MAX_TEXT:
        raise UserValueError(_("Write at most %(max)d characters.", max=MAX_TEXT))
    if required and not text:
        raise UserValueError(_("Say what should be corrected."))
    return text or None


# --- receiving -----------------------------------------------------------------------------------

def _new_request(kind, subject, via, details, now=None, **links):
    kind = RequestKind(kind)
    received = now or datetime.now(timezone.utc)
    subject_request = SubjectRequest(
        reference=new_reference(), kind=kind.value, subject=subject.value, via=via.value,
        state=RequestState.received.value, details=encrypt_details(details),
        received_at=received, due_at=received + ANSWER_WITHIN, **links)
    db.session.add(subject_request)
    db.session.flush()
    record("subject_request.receive", f"subject_request:{subject_request.id}",
           {"kind": kind.value, "subject": subject.value, "via": via.value,
            "office_id": subject_request.office_id})
    log.info("subject request %s (%s, %s) received", subject_request.id, kind.value, via.value)
    return subject_request


def _with_secret(kind, subject, via, details, **links):
    secret = new_secret()
    subject_request = _new_request(kind, subject, via, details, secret_hash=secret_hash(secret),
                                   **links)
    return subject_request, secret


def _text_for(kind, text):
    return _clean_text(text, required=RequestKind(kind) is RequestKind.correction)


def request_by_account(user, kind, text):
    """A signed-in resident's request about their account and reports. Returns the request."""
    if user.role != Role.resident.value:
        raise NotAllowed()
    return _new_request(kind, Subject.reporter, Via.account, {"text": _text_for(kind, text)},
                        user_id=user.id)


def request_by_code(code, contact, kind, text):
    """A request about one report, proven by its tracking code and the contact given on it.
    Returns (request, secret); raises NotVerified for an unknown code and a wrong contact alike."""
    text = _text_for(kind, text)
    report = find_by_code(code)
    if report is None or not contact_matches(report, contact):
        raise NotVerified(not_verified_message())
    return _with_secret(kind, Subject.reporter, Via.tracking_code, {"text": text},
                        report_id=report.id)


def contact_matches(report, typed):
    """Whether `typed` (a phone number in any usual format, or an e-mail address) is the phone or
    e-mail given on the report. Compared in constant time; nothing is logged or audited."""
    typed = str(typed or "").strip()
    if report.contact is None or not typed:
        return False
    given = _decrypt(report.contact, report.id)
    if "@" in typed:
        return bool(given.email) and hmac.compare_digest(typed.lower().encode(),
                                                         given.email.strip().lower().encode())
    phone, stored = normalise_phone(typed), normalise_phone(given.phone)
    return bool(phone and stored) and hmac.compare_digest(phone.encode(), stored.encode())


def request_about_me(kind, name, phone, email, kab_id, text):
    """A request of someone who believes they were reported. Returns (request, secret)."""
    kabupaten = kabupaten_kota(kab_id)
    office = office_of_kabupaten(kabupaten.id)
    details = {"name": _required_name(name), "phone": (phone or "").strip(),
               "email": (email or "").strip(), "text": _clean_text(text)}
    return _with_secret(kind, Subject.reported_person, Via.form, details, kab_id=kabupaten.id,
                        office_id=office.id if office else None)


def _required_name(name):
    name = without_controls(name or "").strip()
    if not name:
        raise UserValueError(_("Write your name."))
    return name


def kabupaten_kota(region_id):
    region = db.session.get(Region, region_id) if isinstance(region_id, int) else None
    if region is None or region.level != RegionLevel.kabupaten_kota.value:
        raise UserValueError(_("Choose a regency or city from the list."))
    return region


def office_of_kabupaten(region_id):
    """The office whose jurisdiction holds the kabupaten/kota, or None (then the Ditjen's
    supervisors decide, whose jurisdiction is everything)."""
    return db.session.scalar(select(Office).join(office_region,
                                                 office_region.c.office_id == Office.id)
                             .where(office_region.c.region_id == region_id))


def kabupaten_choices():
    """Every kabupaten/kota by name, with its province's name to tell namesakes apart."""
    province = db.aliased(Region)
    rows = db.session.execute(
        select(Region.id, Region.nama, province.nama)
        .outerjoin(province, province.kode == Region.parent_kode)
        .where(Region.level == RegionLevel.kabupaten_kota.value)
        .order_by(Region.nama, province.nama)).all()
    return [(row[0], f"{row[1]} ({row[2]})" if row[2] else row[1]) for row in rows]


# --- finding -------------------------------------------------------------------------------------

def find_by_reference(reference):
    """The request with this reference, or None: for callers that check ownership themselves."""
    reference = normalise_reference(reference)
    if reference is None:
        return None
    return db.session.scalar(select(SubjectRequest).where(SubjectRequest.reference == reference))


def find_by_secret(reference, secret):
    """The request with this reference if `secret` is its secret, else None (both look alike)."""
    subject_request = find_by_reference(reference) if secret else None
    if subject_request is None or subject_request.secret_hash is None:
        return None
    if not hmac.compare_digest(subject_request.secret_hash, secret_hash(secret)):
        return None
    return subject_request


def requests_of(user):
    """A resident's own requests (made while signed in), newest first."""
    return db.session.scalars(select(SubjectRequest).where(SubjectRequest.user_id == user.id)
                              .order_by(SubjectRequest.received_at.desc())).all()


def is_overdue(subject_request, now):
    return subject_request.is_open and subject_request.due_at < now


def time_left(subject_request, now):
    """The time until the deadline (negative once past it), for an open request; else None."""
    return subject_request.due_at - now if subject_request.is_open else None


def admin_requests(user, open_only=True, limit=LIST_LIMIT):
    """Reporters' requests, for the admin's clock: open ones by deadline (soonest first), then
    the answered ones."""
    if not has_permission(user, Permission.manage_privacy):
        return []
    query = (select(SubjectRequest).where(SubjectRequest.subject == Subject.reporter.value)
             .order_by(SubjectRequest.state != RequestState.received.value,
                       SubjectRequest.due_at, SubjectRequest.id).limit(limit))
    if open_only:
        query = query.where(SubjectRequest.state == RequestState.received.value)
    return db.session.scalars(query).all()


def decider_requests(user, open_only=True, limit=LIST_LIMIT):
    """The requests about reported persons routed to offices of `user`'s jurisdiction."""
    offices = offices_visible(user, Permission.decide_subject_requests)
    query = (select(SubjectRequest).options(joinedload(SubjectRequest.office))
             .where(SubjectRequest.subject == Subject.reported_person.value, _in(offices))
             .order_by(SubjectRequest.state != RequestState.received.value,
                       SubjectRequest.due_at, SubjectRequest.id).limit(limit))
    if open_only:
        query = query.where(SubjectRequest.state == RequestState.received.value)
    return db.session.scalars(query).all()


def _in(offices):
    if offices is ALL_OFFICES:
        return true()
    if not offices:
        return false()
    return SubjectRequest.office_id.in_(sorted(offices))


def find_for_admin(user, request_id):
    """A reporter's request the admin answers, or None (missing and not allowed look alike)."""
    subject_request = db.session.get(SubjectRequest, request_id)
    if subject_request is None or not can_answer(user, subject_request):
        return None
    return subject_request


def find_for_decider(user, request_id):
    subject_request = db.session.get(SubjectRequest, request_id)
    if subject_request is None or not can_decide(user, subject_request):
        return None
    return subject_request


def can_answer(user, subject_request):
    return (subject_request.subject == Subject.reporter.value
            and has_permission(user, Permission.manage_privacy))


def can_decide(user, subject_request):
    """A supervisor of the office the request was routed to (or of one above it); a request no
    office's jurisdiction holds goes to the Ditjen's supervisors."""
    if subject_request.subject != Subject.reported_person.value:
        return False
    if subject_request.office_id is None:
        return offices_visible(user, Permission.decide_subject_requests) is ALL_OFFICES
    return can_for_office(user, Permission.decide_subject_requests, subject_request.office_id)


def read_details(subject_request, actor):
    """What the requester wrote (and a reported person's name and contact), for the one who
    answers; the read is audited."""
    details = decrypt_details(subject_request)
    record("subject_request.read", f"subject_request:{subject_request.id}", None, actor=actor)
    return details


# --- clocks and counts ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Waiting:
    """Open requests someone must answer: how many, how many within 24 hours of their deadline,
    how many past it."""

    open: int = 0
    due_soon: int = 0
    overdue: int = 0


def waiting_about_reported_persons(now=None):
    """The clocks of every open request about a reported person, counted only: the admin watches
    the deadlines of what the supervisors decide, without reading the requests."""
    return _waiting(SubjectRequest.subject == Subject.reported_person.value, now)


def waiting_for(user, now=None):
    """The open requests `user` answers (admin: reporters'; supervisor: reported persons' of
    their jurisdiction), or None for a user who answers none."""
    if has_permission(user, Permission.manage_privacy):
        scope = SubjectRequest.subject == Subject.reporter.value
    elif has_permission(user, Permission.decide_subject_requests):
        offices = offices_visible(user, Permission.decide_subject_requests)
        scope = (SubjectRequest.subject == Subject.reported_person.value) & _in(offices)
    else:
        return None
    return _waiting(scope, now)


def _waiting(scope, now=None):
    now = now or datetime.now(timezone.utc)
    query = (select(func.count(), func.count().filter(SubjectRequest.due_at.between(
                 now, now + DUE_SOON)), func.count().filter(SubjectRequest.due_at < now))
             .where(SubjectRequest.state == RequestState.received.value, scope))
    return Waiting(*db.session.execute(query).one())


# --- answering -----------------------------------------------------------------------------------

def lock_open(subject_request):
    """Lock the request's row; a request answered meanwhile (another tab) is a Conflict."""
    db.session.refresh(subject_request, with_for_update=True)
    if not subject_request.is_open:
        raise Conflict(_("This request has already been answered."))


def required_reason(reason):
    reason = without_controls(reason or "").strip()
    if not MIN_REASON <= len(reason) <= MAX_TEXT:
        raise UserValueError(_("Give a reason of %(min)d to %(max)d characters.", min=MIN_REASON,
                               max=MAX_TEXT))
    return reason


def close_request(subject_request, actor, state, answer=None):
    subject_request.state = RequestState(state).value
    subject_request.answer = answer
    subject_request.answered_at = datetime.now(timezone.utc)
    subject_request.answered_by_id = actor.id
    db.session.flush()


def refuse(subject_request, actor, reason):
    """Refuse a reporter's request, with the reason the requester will read."""
    if not can_answer(actor, subject_request):
        raise NotAllowed()
    reason = required_reason(reason)
    lock_open(subject_request)
    close_request(subject_request, actor, RequestState.refused, reason)
    _audit_answer(subject_request, actor)
    return subject_request


def decide(subject_request, actor, state, reason):
    """A supervisor's decision on a request about a reported person: granted in part or refused,
    always with a reason (the law's exemptions for law enforcement are a person's judgement)."""
    if not can_decide(actor, subject_request):
        raise NotAllowed()
    state = RequestState(state)
    if state not in (RequestState.partly_done, RequestState.refused):
        raise UserValueError(_("Choose whether the request is granted in part or refused."))
    reason = required_reason(reason)
    lock_open(subject_request)
    close_request(subject_request, actor, state, reason)
    _audit_answer(subject_request, actor)
    return subject_request


def _audit_answer(subject_request, actor, **counts):
    record("subject_request.answer", f"subject_request:{subject_request.id}",
           {"state": subject_request.state, "kind": subject_request.kind, **counts}, actor=actor)
    log.info("subject request %s answered (%s) by user %s", subject_request.id,
             subject_request.state, actor.id)


def reports_in_scope(subject_request):
    """The reports a reporter's request is about: the account's, or the one of the code."""
    if subject_request.via == Via.account.value:
        if subject_request.user_id is None:
            return []
        return db.session.scalars(select(Report).where(
            Report.reporter_id == subject_request.user_id).order_by(Report.id)).all()
    if subject_request.via == Via.tracking_code.value and subject_request.report is not None:
        return [subject_request.report]
    return []
