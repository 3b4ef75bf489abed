"""Officers' questions to a WhatsApp reporter, and the reporter's answers, in the report's history.

An officer asks from the report page (officer_views.py); `ask()` decrypts the number from the
report's contact only to queue the message, so the number never reaches the officer, the page,
the history, the audit log or the logs. The question waits on the reporter's Conversation
(`question_report_id`): their next text message, when they are not in the middle of a report,
is handed to `take_answer()` by the conversation and becomes a "reporter_answer" event.

Inside WhatsApp's 24-hour window the question goes as text in the reporter's language; outside
it, as the approved template QUESTION_TEMPLATE, in Indonesian, whose body takes two parameters:
the tracking code and the question ("Pertanyaan dari petugas imigrasi tentang laporan {{1}}:
{{2}} — balas pesan ini untuk menjawab.").

A number asked about two reports waits for the answer to the later question only.
"""
import logging
from datetime import datetime, timezone

from flask import current_app
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import select

from apoa.audit.services import record
from apoa.auth.permissions import Permission, can
from apoa.errors import NotAllowed, UserValueError
from apoa.extensions import db
from apoa.forms import without_controls
from apoa.notifications.services import notify
from apoa.reports.models import Report, ReportEvent
from apoa.reports.tracking import display
from apoa.whatsapp.inbound import conversation_for
from apoa.whatsapp.messages import Template, Text
from apoa.whatsapp.models import Conversation
from apoa.whatsapp.numbers import decrypt_number, normalise, sender_hash
from apoa.whatsapp.outbound import queue, within_service_window

log = logging.getLogger("apoa.whatsapp")

ASK = "ask_reporter"
ANSWER = "reporter_answer"
# The report history's names for the two events (reports/views.py event_title looks them up).
EVENT_TITLES = {ASK: _l("Question to the reporter"), ANSWER: _l("Reporter's answer")}

MIN_QUESTION = 5
MAX_QUESTION = 1000
MAX_ANSWER = 2000
QUESTION_TEMPLATE = "apoa_officer_question"
TEMPLATE_LANGUAGE = "id"
# Meta refuses a template parameter with a line break, a tab or a run of spaces, and the whole
# body may not pass 1,024 characters: the question goes flattened and cut to fit.
TEMPLATE_QUESTION_LIMIT = 700
DEFAULT_LOCALE = "id"
# Words that leave a question unanswered: the resident wants the menu, not to answer with them.
LEAVING_WORDS = frozenset({"batal", "menu", "cancel"})


# --- the officer's question ----------------------------------------------------------------------

def ask(report, officer, text, now=None):
    """Send the reporter of `report` (a WhatsApp report with a contact) `officer`'s question and
    add it to the history; returns the "ask_reporter" event. Flushes, never commits.

    The question waits on the reporter's conversation for their answer (take_answer)."""
    question = valid_question(text)
    if not can(officer, Permission.ask_reporter, report):
        raise NotAllowed()
    number = reporter_number(report)
    if number is None:
        raise UserValueError(_("This reporter cannot be reached on WhatsApp."))
    conversation = conversation_for(number)
    event = _add_event(report, officer.id, ASK, question)
    message = question_message(report, question, conversation, now)
    queue(number, [message], "question", report_id=report.id)
    conversation.question_report_id = report.id
    sent_as = "template" if isinstance(message, Template) else "text"
    record("whatsapp.question", f"report:{report.id}", {"event": event.id, "sent_as": sent_as},
           actor=officer)
    log.info("user %s asked the reporter of report %s a question (%s)", officer.id, report.id,
             sent_as)
    return event


def valid_question(text):
    """The question without surrounding space and control characters, or a UserValueError."""
    question = without_controls(text or "").strip()
    if not MIN_QUESTION <= len(question) <= MAX_QUESTION:
        raise UserValueError(_("Write a question of between %(min)d and %(max)d characters.",
                               min=MIN_QUESTION, max=MAX_QUESTION))
    return question


def reporter_number(report):
    """The reporter's WhatsApp number, decrypted for sending only; None if the report has none."""
    if report.contact is None:
        return None
    return normalise(decrypt_number(report.contact, report.id))


def conversation_of(number):
    """The number's conversation with the bot, or None if it never wrote."""
    return db.session.scalar(select(Conversation)
                             .where(Conversation.sender_hash == sender_hash(number)))


def resident_locale(conversation):
    return (conversation.locale if conversation is not None else None) or DEFAULT_LOCALE


def question_message(report, question, conversation, now=None):
    """Free text in the reporter's language within the 24-hour window, else the template."""
    code = display(report.tracking_code)
    last_inbound = conversation.last_inbound_at if conversation is not None else None
    if not within_service_window(last_inbound, now or datetime.now(timezone.utc)):
        return Template(name=question_template(), language=TEMPLATE_LANGUAGE,
                        parameters=(code, template_parameter(question)))
    with force_locale(resident_locale(conversation)):
        return Text(_("Question from an immigration officer about report %(code)s:\n\n"
                      "%(question)s\n\nReply to this message to answer.",
                      code=code, question=question))


def question_template():
    # The approved template's name; configurable like WHATSAPP_STATUS_TEMPLATE if ever needed.
    return current_app.config.get("WHATSAPP_QUESTION_TEMPLATE") or QUESTION_TEMPLATE


def template_parameter(text):
    flat = " ".join(text.split())
    if len(flat) <= TEMPLATE_QUESTION_LIMIT:
        return flat
    return flat[:TEMPLATE_QUESTION_LIMIT - 1] + "…"


# --- the reporter's answer -----------------------------------------------------------------------

def take_answer(conversation, incoming):
    """The reporter's answer to the question waiting on `conversation`; returns the replies, or
    None when the message is no answer and the conversation should handle it as usual.

    Called by the conversation when `question_report_id` is set and no report is in progress.
    A text becomes a "reporter_answer" event on the report and the question is settled; a text
    too long is explained and the question keeps waiting. Flushes, never commits."""
    report = _asked_report(conversation)
    if report is None or incoming.kind != "text":
        return None
    answer = without_controls(incoming.text or "").strip()
    if answer.lower() in LEAVING_WORDS:
        conversation.question_report_id = None
        return None
    with force_locale(resident_locale(conversation)):
        if not 1 <= len(answer) <= MAX_ANSWER:
            return [Text(_("Please answer in one text message of at most %(max)d characters.",
                           max=MAX_ANSWER))]
        _record_answer(report, answer)
        conversation.question_report_id = None
        return [Text(_("Thank you, your answer has been passed on to the officer."))]


def _asked_report(conversation):
    """The report the waiting question is about; a question about a report that is gone is
    dropped."""
    report_id = conversation.question_report_id
    report = db.session.get(Report, report_id) if report_id is not None else None
    if report is None:
        conversation.question_report_id = None
    return report


def _record_answer(report, answer):
    event = _add_event(report, None, ANSWER, answer)
    notify(report, event)  # whoever the notifications name for an answer, in this transaction
    record("whatsapp.answer", f"report:{report.id}", {"event": event.id})
    log.info("the reporter of report %s answered a question (event %s)", report.id, event.id)
    return event


def _add_event(report, actor_id, action, note):
    # The state stays as it is: a question and its answer move nothing in the workflow.
    event = ReportEvent(report_id=report.id, actor_id=actor_id, action=action,
                        from_state=report.state, to_state=report.state, note=note)
    db.session.add(event)
    db.session.flush()
    return event
