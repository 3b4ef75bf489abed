"""The answer to a web or API resident's complaint or question, by e-mail: a job queued when a
supervisor answers (apoa/feedback/services.py), run by the worker, which commits once it returns.

Sent once: the case's row is locked for the run (another worker skips it) and `answer_mailed_at`
is set in the job's commit after the server accepted the mail. A server that fails raises, so RQ
tries again (APOA config JOBS_RETRY_INTERVALS); an address it refuses for good (5xx) is logged by
the case's id and not tried again. Without SMTP configured nothing is sent: the answer is on the
case's page all the same.

The mail holds the answer and the case's reference, never the secret (a forwarded mail must not
open the page) nor the resident's text. It is written in the language the resident wrote in.
"""
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import select

from apoa.extensions import db
from apoa.feedback.models import CaseKind, CaseState, ServiceCase
from apoa.feedback.public_cases import show_reference
from apoa.feedback.services import answer_lead
from apoa.notifications.mail import app_url, mail_configured, message, smtp_session
from apoa.reports.contact import _decrypt

log = logging.getLogger("apoa.feedback")


@dataclass(frozen=True, repr=False)
class Recipient:
    """The one thing notifications.mail.message() reads of a user; its repr hides the address."""

    email: str

    def __repr__(self):
        return "Recipient(<hidden>)"


def mail_answer(case_id):
    """The job: mail the answer of case `case_id` to the address its resident left. Returns 1
    when a mail went out, else 0 (already sent, no address, no SMTP, refused for good)."""
    service_case = _locked_unmailed(case_id)
    if service_case is None or service_case.contact is None:
        return 0
    if not mail_configured():
        log.warning("answer of case %s not mailed: no SMTP server is configured", case_id)
        return 0
    address = _decrypt(service_case.contact, f"case {case_id}").email
    if not address:
        return 0
    try:
        with smtp_session() as smtp:
            smtp.send_message(answer_mail(service_case, Recipient(address)))
    except smtplib.SMTPRecipientsRefused as error:
        if any(code < 500 for code, _text in error.recipients.values()):
            raise
        log.warning("mail server refused the address of case %s for good", case_id)
        return 0
    service_case.answer_mailed_at = datetime.now(timezone.utc)
    db.session.flush()
    log.info("answer of case %s mailed", case_id)
    return 1


def _locked_unmailed(case_id):
    query = (select(ServiceCase)
             .where(ServiceCase.id == case_id, ServiceCase.state == CaseState.answered.value,
                    ServiceCase.answer_mailed_at.is_(None))
             .with_for_update(skip_locked=True))
    return db.session.scalar(query)


def answer_mail(service_case, recipient):
    """The e-mail with the answer, in the resident's language (else the default)."""
    locale = service_case.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        reference = show_reference(service_case.reference) if service_case.reference else None
        subject = (_("[APOA] Answer to your complaint %(reference)s", reference=reference)
                   if service_case.kind == CaseKind.complaint.value else
                   _("[APOA] Answer to your question %(reference)s", reference=reference))
        lines = [answer_lead(service_case), "", service_case.answer, "", "-- ",
                 _("Read it again with your reference and secret code: %(url)s",
                   url=app_url("complaints.lookup")),
                 _("An automatic message from APOA: replies to it are not read.")]
        mail = message(recipient, subject, lines)
    mail.replace_header("Content-Language", locale)
    return mail
