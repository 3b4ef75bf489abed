"""Telling a WhatsApp reporter that their report's public status changed.

workflow._record() calls `tell_reporter()` for every event it appends. Only a report made on
WhatsApp by a reporter who agreed to be contacted (its encrypted contact holds the number) is
told, and only when the coarse status a resident sees (received, in progress, done; as on
/status) changes: screening → assigned says nothing, new → screening does. The message names
the tracking code and the new status, never the outcome or the officers' notes.

Inside WhatsApp's 24-hour window it is free text in the reporter's language with the status
page's link; outside it, the approved template WHATSAPP_STATUS_TEMPLATE, in Indonesian, with two
parameters: the tracking code and the status.
"""
import logging
from datetime import datetime, timezone

from flask import current_app
from flask_babel import force_locale, gettext as _

from apoa.notifications.mail import app_url
from apoa.reports.contact import ContactKeyError
from apoa.reports.states import PUBLIC_STATUS_OF_STATE, Channel, State
from apoa.reports.tracking import display
from apoa.whatsapp.messages import Template, Text
from apoa.whatsapp.outbound import queue, within_service_window
from apoa.whatsapp.questions import conversation_of, reporter_number, resident_locale

log = logging.getLogger("apoa.whatsapp")

TEMPLATE_LANGUAGE = "id"


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
    message = status_message(report, status, conversation_of(number), now)
    rows = queue(number, [message], "status", report_id=report.id)
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


def status_message(report, status, conversation, now=None):
    """Free text in the reporter's language within the 24-hour window, else the template."""
    code = display(report.tracking_code)
    last_inbound = conversation.last_inbound_at if conversation is not None else None
    if not within_service_window(last_inbound, now or datetime.now(timezone.utc)):
        with force_locale(TEMPLATE_LANGUAGE):
            title = str(status.title)
        return Template(name=current_app.config["WHATSAPP_STATUS_TEMPLATE"],
                        language=TEMPLATE_LANGUAGE, parameters=(code, title))
    with force_locale(resident_locale(conversation)):
        return Text(_("The status of your report %(code)s is now: %(status)s.\n"
                      "Follow it at %(url)s",
                      code=code, status=status.title,
                      url=app_url("public.status", code=report.tracking_code)))
