"""Sending the queued WhatsApp messages (wa_outbound) through the Graph API, and following them
by WhatsApp's status webhook. The jobs run in a worker (apoa/jobs/runner.py).

`send_batch(ids)` sends the messages of one `outbound.queue()` call in order. Its rules:
- A message the Graph API accepted is committed as sent at once: it has reached the resident's
  phone, and no later failure in the batch may roll that back and send it twice.
- A passing failure (429, 5xx, timeout, Meta's throttling codes) stops the batch: the attempt is
  committed, and the job raises so that RQ tries it again after the next of
  JOBS_RETRY_INTERVALS (the backoff). The next try skips what was sent and resumes at the same
  message, so the order holds.
- On the job's last try the message fails for good; so do the messages after it in the batch,
  without being tried ("not sent: an earlier message failed"), since a second message without
  the first would read wrongly, and a row left queued with no job to send it would never go.
  The admin sees them all among the failed messages and may `resend()` them, in order.
- A refusal for good (a 4xx other than 429: bad number, bad token, a malformed message) fails
  that message alone; the rest of the batch goes on.
- Without a Graph API URL nothing is tried: the messages stay queued, with one warning.
Logs name message ids and reasons only, never the number, the text or the token.
"""
import logging
from datetime import datetime, timezone

from flask import current_app
from rq import get_current_job
from sqlalchemy import select

from apoa import jobs
from apoa.extensions import db
from apoa.whatsapp import graph
from apoa.whatsapp.models import EMPTIED_PAYLOAD, Outbound, SendState
from apoa.whatsapp.numbers import decrypt_number

log = logging.getLogger("apoa.whatsapp")

SEND_BATCH = "apoa.whatsapp.sending.send_batch"
EARLIER_FAILED = "not sent: an earlier message failed"
UNDELIVERABLE = "undeliverable"
# What WhatsApp's status webhook may move a message to, in the order it happens; a status that
# arrives late (webhooks come in any order) never moves a message back.
PROGRESS = (SendState.queued, SendState.sent, SendState.delivered, SendState.read)


class RetryLater(Exception):
    """A message of the batch could not be sent this time: the job is to be tried again."""

    def __init__(self, outbound_id, reason):
        super().__init__(f"WhatsApp message {outbound_id} not sent ({reason}): to be retried")


def send_batch(outbound_ids):
    """The job of `outbound.queue()`: send the queued messages among `outbound_ids`, in order.
    Returns how many were sent. Raises RetryLater for RQ to try again (see the module's rules)."""
    sent = 0
    for position, outbound_id in enumerate(outbound_ids):
        row = _locked(outbound_id)
        if row is None or row.state != SendState.queued.value:
            continue
        try:
            _send(row)
            sent += 1
        except graph.NotConfigured:
            log.warning("WhatsApp messages %s left queued: no Graph API URL is configured",
                        list(outbound_ids[position:]))
            return sent
        except graph.GraphError as error:
            if error.retryable and not _last_try(row):
                _retry_later(row, error)  # raises
            _fail(row, error.reason)
            if error.retryable:
                _fail_rest(outbound_ids[position + 1:])
                return sent
    return sent


def _locked(outbound_id):
    """The row, locked until the job's end (another job sending it waits, then skips it)."""
    query = (select(Outbound).where(Outbound.id == outbound_id).with_for_update()
             .execution_options(populate_existing=True))
    return db.session.scalars(query).first()


def _send(row):
    number = decrypt_number(row.phone, owner=f"wa_outbound {row.id}")
    try:
        wa_message_id = graph.send_message(number, row.payload)
    except graph.NotConfigured:
        raise  # nothing was tried: not an attempt
    except graph.GraphError:
        row.attempts += 1
        raise
    row.attempts += 1
    row.wa_message_id = wa_message_id
    row.state = SendState.sent.value
    row.sent_at = datetime.now(timezone.utc)
    row.last_error = None
    # Its text is no longer needed, and a receipt's would tie an anonymous report's tracking code
    # to the number; a failed message keeps its text for "send again".
    row.payload = EMPTIED_PAYLOAD
    db.session.commit()  # it is on the phone now: no later failure may undo the record of it
    log.info("WhatsApp message %s sent (%s)", row.id, row.purpose)


def _last_try(row):
    """Whether this is the job's last try: RQ has no retry left for it, or (run outside RQ, as
    the tests run jobs) the message has had as many tries as a job gets."""
    job = get_current_job()
    if job is not None:
        return not job.retries_left
    return row.attempts > len(current_app.config["JOBS_RETRY_INTERVALS"])


def _retry_later(row, error):
    row.last_error = error.reason
    db.session.commit()  # the attempt counts even though the job's own transaction rolls back
    if error.retry_after:
        log.warning("WhatsApp message %s not sent (%s, retry after %s s): will retry", row.id,
                    error.reason, error.retry_after)
    else:
        log.warning("WhatsApp message %s not sent (%s): will retry", row.id, error.reason)
    raise RetryLater(row.id, error.reason)


def _fail(row, reason):
    row.state = SendState.failed.value
    row.last_error = reason
    db.session.flush()
    log.error("WhatsApp message %s failed after %s attempt(s): %s", row.id, row.attempts, reason)


def _fail_rest(outbound_ids):
    for outbound_id in outbound_ids:
        row = _locked(outbound_id)
        if row is not None and row.state == SendState.queued.value:
            _fail(row, EARLIER_FAILED)


# --- WhatsApp's status webhook -----------------------------------------------------------------

def record_status(wa_message_id, state, at, error_code=None):
    """Note a status update of a sent message: sent, delivered, read (never backwards) or failed
    (`error_code`: Meta's, if the update gave one). Returns the row, or None for a message id
    that is not ours (or not yet recorded) and a status not understood."""
    row = db.session.scalars(select(Outbound).where(Outbound.wa_message_id == wa_message_id)
                             .with_for_update().execution_options(populate_existing=True)).first()
    if row is None:
        return None
    if state == SendState.failed.value:
        return _undeliverable(row, at, error_code)
    new = next((step for step in PROGRESS if step.value == state), None)
    if new is None or row.state not in _values(PROGRESS[:PROGRESS.index(new)]):
        return row
    row.state, row.status_at = new.value, at
    db.session.flush()
    return row


def _undeliverable(row, at, error_code):
    # Only a message not yet known to have arrived can fail: a late "failed" after "delivered"
    # would contradict what WhatsApp already said.
    if row.state not in _values(PROGRESS[:2]):
        return row
    row.state, row.status_at = SendState.failed.value, at
    row.last_error = UNDELIVERABLE + (f" (Meta error {error_code})" if error_code else "")
    db.session.flush()
    log.warning("WhatsApp message %s undeliverable", row.id)
    return row


def _values(states):
    return {state.value for state in states}


# --- the admin's "send again" ------------------------------------------------------------------

def resend(outbound_id):
    """Queue a failed message again with fresh tries; returns the row (None if there is none).
    A message that has not failed is left as it is, so a second click sends nothing twice."""
    row = _locked(outbound_id)
    if row is None or row.state != SendState.failed.value:
        return row
    row.state, row.attempts, row.last_error = SendState.queued.value, 0, None
    db.session.flush()
    jobs.enqueue(SEND_BATCH, [row.id])
    log.info("WhatsApp message %s queued again", row.id)
    return row
