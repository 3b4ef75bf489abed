"""Complaints and questions for an office's supervisors: opening a case, answering it, and what
the case list and the dashboard count.

A case is opened by a channel (the WhatsApp conversation; the web page and the API through
apoa/feedback/public_cases.py) with the office it belongs to; a supervisor of that office (or of
one above it) answers it once, and the answer goes back by the channel it came from: on WhatsApp
to the number, by e-mail (a job: apoa/feedback/mail.py) to the address a web or API resident left,
and always on the page a web or API resident reads their case on. Access is decided by
apoa/auth/permissions.py alone: `can_for_office()` for one case and `offices_visible()` for lists
and counts, so the list, the page and the dashboard can never disagree. The number or address a
case came from is kept encrypted and never shown to staff.

Due time: 3 working days (Monday to Friday on Jakarta's calendar, apoa/reports/sla.py) after the
case was received, as long as a report's field check may take; public holidays are not counted.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from flask_babel import force_locale, gettext as _
from sqlalchemy import case as sql_case, false, func, select, true
from sqlalchemy.orm import joinedload

from apoa import jobs
from apoa.audit.services import record
from apoa.auth.permissions import ALL_OFFICES, Permission, can_for_office, offices_visible
from apoa.errors import Conflict, NotAllowed, UserValueError
from apoa.extensions import db
from apoa.feedback.models import CaseKind, CaseState, ServiceCase
from apoa.forms import without_controls
from apoa.reports.contact import Contact, encrypt_contact
from apoa.reports.sla import add_working_days
from apoa.reports.states import Channel
from apoa.whatsapp.messages import Template, Text
from apoa.whatsapp.models import Conversation
from apoa.whatsapp.numbers import decrypt_number, normalise, sender_hash
from apoa.whatsapp.outbound import queue, within_service_window

log = logging.getLogger("apoa.feedback")

DUE_WORKING_DAYS = 3
MAX_TEXT = 2000
MIN_ANSWER = 2
LIST_LIMIT = 200
# The answer's lead line is in the resident's language: the one they chose on WhatsApp, else
# Bahasa Indonesia (not the language of the supervisor's screen).
DEFAULT_RESIDENT_LOCALE = "id"
# The approved WhatsApp template for an answer given after the 24-hour window (office, answer).
CASE_ANSWER_TEMPLATE = "apoa_case_answer"
MAIL_ANSWER_JOB = "apoa.feedback.mail.mail_answer"


# --- opening and answering ---------------------------------------------------------------------

def open_case(office_id, kind, body, channel, number=None, email=None, report_id=None):
    """Open a received case for `office_id`; returns it. Flushes, never commits.

    `number` (any Indonesian format) is where the answer goes on WhatsApp, `email` where it goes
    from the web or the API: either kept encrypted only. `report_id`: the report the case is
    about. The audit entry names the kind and channel, never the text, the number or the
    address."""
    kind, channel, body = _known_kind(kind), _known_channel(channel), _case_body(body)
    received = datetime.now(timezone.utc)
    service_case = ServiceCase(office_id=office_id, kind=kind.value, channel=channel, body=body,
                               contact=_contact_of(number, email), report_id=report_id,
                               state=CaseState.received.value, created_at=received,
                               due_at=add_working_days(received, DUE_WORKING_DAYS))
    db.session.add(service_case)
    db.session.flush()
    record("case.open", f"case:{service_case.id}",
           {"kind": kind.value, "channel": channel, "office_id": office_id})
    log.info("case %s (%s) opened for office %s", service_case.id, kind.value, office_id)
    return service_case


def answer_case(service_case, user, text):
    """Answer a received case as `user` and send the answer back by its channel. Flushes, never
    commits. The row is locked first, so two supervisors answering at once send one answer."""
    if not can_for_office(user, Permission.answer_cases, service_case.office_id):
        raise NotAllowed()
    text = _answer_text(text)
    db.session.refresh(service_case, with_for_update=True)
    if service_case.state != CaseState.received.value:
        raise Conflict(_("This case has already been answered."))
    service_case.answer, service_case.answered_by = text, user
    service_case.answered_at = datetime.now(timezone.utc)
    service_case.state = CaseState.answered.value
    db.session.flush()
    sent_by = _send_answer(service_case)
    record("case.answer", f"case:{service_case.id}",
           {"kind": service_case.kind, "sent_by": sent_by}, actor=user)
    log.info("case %s answered by user %s", service_case.id, user.id)
    return service_case


def _known_kind(kind):
    try:
        return CaseKind(kind)
    except ValueError:
        raise UserValueError(_("Choose whether this is a complaint or a question.")) from None


def _known_channel(channel):
    try:
        return Channel(channel).value
    except ValueError:
        raise UserValueError(_("This channel is not known.")) from None


def _case_body(body):
    body = without_controls(body or "").strip()
    if not 1 <= len(body) <= MAX_TEXT:
        raise UserValueError(_("Write between %(min)d and %(max)d characters.",
                               min=1, max=MAX_TEXT))
    return body


def _answer_text(text):
    text = without_controls(text or "").strip()
    if not MIN_ANSWER <= len(text) <= MAX_TEXT:
        raise UserValueError(_("Write between %(min)d and %(max)d characters.",
                               min=MIN_ANSWER, max=MAX_TEXT))
    return text


def _contact_of(number, email=None):
    if not number:
        return encrypt_contact(Contact(email=email.strip())) if email else None
    phone = normalise(number)
    if phone is None:
        raise UserValueError(_("This is not a phone number: write it as 0812 3456 7890 or "
                               "+62 812 3456 7890."))
    return encrypt_contact(Contact(phone=phone))


# --- the answer back to the resident -------------------------------------------------------------

def _send_answer(service_case):
    """Queue the answer by the case's channel; returns how it goes ("whatsapp", "email"), or None
    (nowhere to send: the case came without a number or an address; the resident of the web or
    the API reads it on their case's page)."""
    if service_case.contact is None:
        return None
    if service_case.channel != Channel.whatsapp.value:
        jobs.enqueue(MAIL_ANSWER_JOB, service_case.id)  # the address is read by the job only
        return "email"
    number = decrypt_number(service_case.contact, owner=f"case {service_case.id}")
    if not number:
        return None
    queue(number, [_answer_message(service_case, number)], "case_answer")
    return Channel.whatsapp.value


def _answer_message(service_case, number):
    """Free text in the resident's language within WhatsApp's 24-hour window; after it only an
    approved template may be sent: CASE_ANSWER_TEMPLATE, in Indonesian, with the office's name
    and the answer as its two parameters."""
    from apoa.whatsapp.questions import conversation_of, template_parameter

    conversation = conversation_of(number)
    if not within_service_window(conversation.last_inbound_at if conversation else None):
        return Template(name=CASE_ANSWER_TEMPLATE, language=DEFAULT_RESIDENT_LOCALE,
                        parameters=(service_case.office.name,
                                    template_parameter(service_case.answer)))
    with force_locale(_resident_locale(number)):
        lead = answer_lead(service_case)
    return Text(f"{lead}\n\n{service_case.answer}")


def answer_lead(service_case):
    """The line before the answer, in the current locale: "Jawaban <office> atas keluhan Anda:".
    Offices are named in full ("Kantor Imigrasi Kelas II TPI Karawang")."""
    office = service_case.office.name
    if service_case.kind == CaseKind.complaint.value:
        return _("Answer of %(office)s to your complaint:", office=office)
    return _("Answer of %(office)s to your question:", office=office)


def _resident_locale(number):
    chosen = db.session.scalar(select(Conversation.locale)
                               .where(Conversation.sender_hash == sender_hash(number)))
    return chosen or DEFAULT_RESIDENT_LOCALE


# --- lists and counts ----------------------------------------------------------------------------

@dataclass(frozen=True)
class OpenCases:
    """Received cases not yet answered, by kind, and how many of them are past their due time."""

    complaints: int = 0
    questions: int = 0
    overdue: int = 0

    @property
    def total(self):
        return self.complaints + self.questions


def open_cases_count(user, now=None):
    """The open cases of the offices `user` answers for (answer_cases), or, for a user who only
    sees aggregates (a regional head), of the offices of their jurisdiction: counts only, never a
    case. None for a user who may see neither."""
    offices = offices_visible(user, Permission.answer_cases) or offices_visible(
        user, Permission.view_aggregates)
    if not offices:
        return None
    now = now or datetime.now(timezone.utc)
    complaint = ServiceCase.kind == CaseKind.complaint.value
    query = (select(func.count().filter(complaint), func.count().filter(~complaint),
                    func.count().filter(ServiceCase.due_at < now))
             .where(ServiceCase.state == CaseState.received.value, _in_offices(offices)))
    complaints, questions, overdue = db.session.execute(query).one()
    return OpenCases(complaints, questions, overdue)


def cases_for(user, state=None, limit=LIST_LIMIT):
    """The cases `user` may answer, newest first (at most `limit`), of one state if given."""
    offices = offices_visible(user, Permission.answer_cases)
    query = (select(ServiceCase).where(_in_offices(offices))
             .options(joinedload(ServiceCase.office), joinedload(ServiceCase.answered_by))
             .order_by(ServiceCase.created_at.desc(), ServiceCase.id.desc()).limit(limit))
    if state is not None:
        query = query.where(ServiceCase.state == CaseState(state).value)
    return db.session.scalars(query).all()


def case_counts_by_state(user):
    """How many cases `user` may answer are in each state: {"received": n, "answered": m}."""
    offices = offices_visible(user, Permission.answer_cases)
    received = ServiceCase.state == CaseState.received.value
    query = select(func.count(sql_case((received, 1))), func.count(sql_case((~received, 1))))
    counts = db.session.execute(query.where(_in_offices(offices))).one()
    return {CaseState.received.value: counts[0], CaseState.answered.value: counts[1]}


def find_case(user, case_id):
    """The case if `user` may answer it, else None (missing and hidden look the same)."""
    service_case = db.session.get(ServiceCase, case_id)
    if service_case is None:
        return None
    if not can_for_office(user, Permission.answer_cases, service_case.office_id):
        return None
    return service_case


def is_overdue(service_case, now):
    return service_case.state == CaseState.received.value and service_case.due_at < now


def _in_offices(offices):
    if offices is ALL_OFFICES:
        return true()
    if not offices:
        return false()
    # A literal list (not a subquery) lets the planner use the office index.
    return ServiceCase.office_id.in_(sorted(offices))
