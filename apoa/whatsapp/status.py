"""Telling a WhatsApp reporter that their report's public status changed.

workflow._record() calls `tell_reporter()` for every event it appends. Only a report made on
WhatsApp by a reporter who agreed to be contacted (its encrypted contact holds the number) is
told, and only when the coarse status a resident sees (received, in progress, done; as on
/status) changes: screening → assigned says nothing, new → screening does. The message names
the tracking code and the new status, never the outcome or the officers' notes.

Inside WhatsApp's 24-hour window it is free text in the reporter's language with the status
page's link; outside it, the approved template WHATSAPP_STATUS_TEMPLATE, in Indonesian, with two
parameters: the tracking code and the status.

The message that tells a report is done also invites the reporter to rate the service on
/status/<code>/nilai (apoa/feedback/invitations.py: once per report, only while it is not rated):
inside the window in the same text; outside it as a second approved template right after the
status, RATING_TEMPLATE, with the tracking code and the rating page's link. Both go in one batch,
so the invitation never arrives before the news.
"""
import logging
from datetime import datetime, timezone

from flask import current_app
from flask_babel import force_locale, gettext as _

from apoa.feedback.invitations import invited, to_invite
from apoa.notifications.mail import app_url
from apoa.reports.contact import ContactKeyError
from apoa.reports.states import PUBLIC_STATUS_OF_STATE, Channel, PublicStatus, State
from apoa.reports.tracking import display
from apoa.whatsapp.messages import Template, Text
from apoa.whatsapp.outbound import queue, within_service_window
from apoa.whatsapp.questions import conversation_of, reporter_number, resident_locale

log = logging.getLogger("apoa.whatsapp")

TEMPLATE_LANGUAGE = "id"
# The approved template inviting a reporter to rate the service (code, link); configurable like
# WHATSAPP_STATUS_TEMPLATE if ever needed.
RATING_TEMPLATE = "apoa_rating_invitation"


def tell_reporter(report, event, now=None):
    """Queue the status message `event` calls for, if any; returns the queued rows (or [])."""
    if report.channel != Channel.whatsapp.value or report.contact is None:
        return []
    status = changed_public_status(event)
    if status is None:
        return []
    try:
        number = reporter_number(report)
    except ContactKeyError:
        # Logged by the decryption; a message that cannot be sent must not stop the workflow.
        return []
    if number is None:
        return []
    invite = status is PublicStatus.done and to_invite(report)
    messages = status_messages(report, status, conversation_of(number), now, invite)
    rows = queue(number, messages, "status", report_id=report.id)
    if invite:
        invited(report, now)
    log.info("reporter of report %s told of its status %s (event %s)", report.id, status.value,
             event.id)
    return rows


def changed_public_status(event):
    """The public status `event` moved the report into, or None if a resident sees no change."""
    before, after = public_status(event.from_state), public_status(event.to_state)
    if before is None or after is None or before is after:
        return None
    return after


def public_status(state):
    return PUBLIC_STATUS_OF_STATE[State(state)] if state else None


def status_messages(report, status, conversation, now=None, invite=False):
    """The status message, with the invitation to rate the service when `invite`: inside the
    window within the text, outside it as a template of its own after the status."""
    message = status_message(report, status, conversation, now, invite)
    if invite and isinstance(message, Template):
        return [message, rating_template(report)]
    return [message]


def status_message(report, status, conversation, now=None, invite=False):
    """Free text in the reporter's language within the 24-hour window (inviting them to rate the
    service when `invite`), else the status template."""
    code = display(report.tracking_code)
    if not _within_window(conversation, now):
        with force_locale(TEMPLATE_LANGUAGE):
            title = str(status.title)
        return Template(name=current_app.config["WHATSAPP_STATUS_TEMPLATE"],
                        language=TEMPLATE_LANGUAGE, parameters=(code, title))
    with force_locale(resident_locale(conversation)):
        text = _("The status of your report %(code)s is now: %(status)s.\n"
                 "Follow it at %(url)s",
                 code=code, status=status.title,
                 url=app_url("public.status", code=report.tracking_code))
        if invite:
            text += "\n\n" + _("How was our service? Please rate it; it takes two minutes and "
                                "changes nothing about your report: %(url)s",
                                url=rating_url(report))
        return Text(text)


def rating_template(report):
    """The approved template inviting the reporter to rate the service: the tracking code and the
    rating page's link."""
    name = current_app.config.get("WHATSAPP_RATING_TEMPLATE") or RATING_TEMPLATE
    return Template(name=name, language=TEMPLATE_LANGUAGE,
                    parameters=(display(report.tracking_code), rating_url(report)))


def rating_url(report):
    return app_url("public.rate_service", code=report.tracking_code)


def _within_window(conversation, now):
    last_inbound = conversation.last_inbound_at if conversation is not None else None
    return within_service_window(last_inbound, now or datetime.now(timezone.utc))
