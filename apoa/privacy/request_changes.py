"""Answering a reporter's request to correct or to erase their personal data.

What is a reporter's personal data here: the account (name, e-mail), and of each report they made
the contact they left, the description and follow-up notes they wrote, the address text they
typed, the photos they sent (attached to the submission or a follow-up, never the officers'
photos) and the comment of their service rating. What is theirs to correct: the contact and the
account's name and e-mail, never what officers found. An erasure keeps the report's non-personal
facts (category, place, dates, states, outcome) for the statistics.

Reports still being handled may be kept when the admin decides so, with a reason the requester
reads; the account is then kept too, so the requester can still follow those reports.
Services flush, never commit.
"""
import logging
import secrets

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from apoa.auth.models import RecoveryCode, User
from apoa.errors import Conflict, NotAllowed, UserValueError
from apoa.extensions import db
from apoa.feedback.models import ServiceRating
from apoa.privacy.models import RequestKind, RequestState, Via
from apoa.privacy.requests import (_audit_answer, can_answer, close_request, lock_open,
                                   reports_in_scope, required_reason)
from apoa.reports.contact import Contact, _decrypt, encrypt_contact
from apoa.reports.models import Attachment, ReportEvent
from apoa.reports.photos import open_stored
from apoa.reports.services import upload_dir
from apoa.reports.states import State

log = logging.getLogger("apoa.privacy")

# What an erased report's description says (the column requires 10 to 2,000 characters); stored
# data, so in the interface's default language rather than the admin's.
ERASED_DESCRIPTION = "[Dihapus atas permintaan pelapor (UU PDP 27/2022)]"
ERASED_ACCOUNT_NAME = "Akun dihapus"
# The reporter's own steps of a report's history: what they wrote and sent.
REPORTER_ACTIONS = ("submit", "follow_up")
ACCOUNT_FIELDS = ("account_name", "account_email")
CONTACT_FIELDS = ("contact_name", "contact_phone", "contact_email")


def _check(subject_request, actor, kind):
    if not can_answer(actor, subject_request):
        raise NotAllowed()
    check_kind(subject_request, kind)


def check_kind(subject_request, kind):
    if subject_request.kind != kind.value:
        raise Conflict(_("This request asks for something else: %(kind)s.",
                         kind=subject_request.kind_enum.title))


# --- correction ----------------------------------------------------------------------------------

def current_values(subject_request):
    """The values a correction may change, as they are now: the account's name and e-mail, and
    the contact of a request by tracking code (an account's reports may carry several)."""
    values = {}
    if subject_request.via == Via.account.value and subject_request.user is not None:
        values.update(account_name=subject_request.user.name,
                      account_email=subject_request.user.email)
    report = subject_request.report
    if subject_request.via == Via.tracking_code.value and report is not None and report.contact:
        contact = _decrypt(report.contact, report.id)
        values.update(contact_name=contact.name, contact_phone=contact.phone,
                      contact_email=contact.email)
    return values


def apply_correction(subject_request, actor, changes):
    """Apply the corrected values (empty ones leave a value as it is) and close the request."""
    _check(subject_request, actor, RequestKind.correction)
    changes = {name: value.strip() for name, value in changes.items()
               if name in ACCOUNT_FIELDS + CONTACT_FIELDS and value and value.strip()}
    if not changes:
        raise UserValueError(_("Fill in at least one corrected value."))
    lock_open(subject_request)
    if any(name in ACCOUNT_FIELDS for name in changes):
        _correct_account(subject_request, changes)
    corrected = _correct_contacts(subject_request, changes)
    close_request(subject_request, actor, RequestState.done)
    _audit_answer(subject_request, actor, fields=sorted(changes), reports=corrected)
    return subject_request


def _correct_account(subject_request, changes):
    user = subject_request.user
    if subject_request.via != Via.account.value or user is None:
        raise UserValueError(_("This request was not made with an account."))
    email = changes.get("account_email", "").lower()
    if email and email != user.email:
        taken = db.session.scalar(select(User.id).where(func.lower(User.email) == email))
        if taken is not None:
            raise UserValueError(_("Another account already uses this e-mail address."))
        user.email = email
    user.name = changes.get("account_name") or user.name
    db.session.flush()


def _correct_contacts(subject_request, changes):
    """The new contact on every report of the request that carries one; returns how many."""
    given = {name.removeprefix("contact_"): changes[name] for name in CONTACT_FIELDS
             if name in changes}
    if not given:
        return 0
    reports = [report for report in reports_in_scope(subject_request) if report.contact]
    for report in reports:
        old = _decrypt(report.contact, report.id)
        report.contact = encrypt_contact(Contact(name=given.get("name", old.name),
                                                 phone=given.get("phone", old.phone),
                                                 email=given.get("email", old.email)))
    db.session.flush()
    return len(reports)


# --- erasure -------------------------------------------------------------------------------------

def still_handled(report):
    """A report not yet closed: officers may still need to reach its reporter."""
    return report.state != State.closed.value


def erase(subject_request, actor, keep_handled=False, reason=None):
    """Erase the requester's personal data. With `keep_handled`, reports still being handled (and
    then the account) are kept, with the reason the requester reads; the decision is audited."""
    _check(subject_request, actor, RequestKind.erasure)
    reports = reports_in_scope(subject_request)
    kept = [report for report in reports if keep_handled and still_handled(report)]
    reason = required_reason(reason) if kept else None
    lock_open(subject_request)
    erased = [report for report in reports if report not in kept]
    erase_account = subject_request.via == Via.account.value and not kept
    photos = erase_reports(erased, unlink_reporter=erase_account)
    if erase_account and subject_request.user is not None:
        erase_user(subject_request.user)
    state = RequestState.partly_done if kept else RequestState.done
    close_request(subject_request, actor, state, reason)
    _audit_answer(subject_request, actor, reports=len(erased), photos=photos,
                  kept=[report.id for report in kept], account=erase_account)
    return subject_request


def erase_reports(reports, unlink_reporter=False):
    """Remove the reporter's personal data from `reports`; returns how many photos went."""
    if not reports:
        return 0
    ids = [report.id for report in reports]
    for report in reports:
        report.contact = None
        report.description = ERASED_DESCRIPTION
        report.address_text = None
        if unlink_reporter:
            report.reporter_id = None
    db.session.execute(update(ReportEvent).where(ReportEvent.report_id.in_(ids),
                                                 ReportEvent.action == "follow_up")
                       .values(note=None))
    db.session.execute(update(ServiceRating).where(ServiceRating.report_id.in_(ids))
                       .values(comment=None))
    db.session.flush()
    return delete_photos(reporter_photos(ids))


def reporter_photos(report_ids):
    """The photos the reporter sent with these reports (not the officers'), in id order."""
    return db.session.scalars(
        select(Attachment).join(ReportEvent, ReportEvent.id == Attachment.event_id)
        .where(Attachment.report_id.in_(report_ids), ReportEvent.action.in_(REPORTER_ACTIONS))
        .order_by(Attachment.id)).all()


def delete_photos(attachments):
    """Delete the rows, then the files. A file is gone even if the transaction later rolls back:
    the photo view answers 404 for a missing file, and the erasure was asked for anyway."""
    paths = [attachment.stored_path for attachment in attachments]
    if not paths:
        return 0
    db.session.execute(delete(Attachment).where(
        Attachment.id.in_([attachment.id for attachment in attachments])))
    db.session.flush()
    for relative in paths:
        try:
            open_stored(upload_dir(), relative).unlink(missing_ok=True)
        except (ValueError, OSError):
            log.warning("a stored photo of an erased report could not be removed")
    return len(paths)


def erase_user(user):
    """The account's name and e-mail replaced, its password and second factor gone, signed out
    everywhere, disabled. The row stays (other rows name it), holding nothing personal."""
    user.name = ERASED_ACCOUNT_NAME
    user.email = f"dihapus-{user.id}@akun.invalid"
    user.set_password(secrets.token_urlsafe(32))
    user.active = False
    user.session_version = (user.session_version or 1) + 1
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()
