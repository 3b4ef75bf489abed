"""The job behind the webhook: read one delivery, handle each message once, record each status.

Each message runs in the job's one transaction: its id is recorded as handled, the sender's
conversation row is locked (two deliveries from one number never interleave), the conversation
answers, and the answer is queued to be sent after the commit. If anything fails the whole
delivery rolls back and the job is tried again, so the conversation never moves half a step and a
report is never made twice (its submission key lives in the conversation).
"""
import json
import logging
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from apoa.extensions import db
from apoa.reports import abuse
from apoa.whatsapp import outbound
from apoa.whatsapp.messages import incoming_messages
from apoa.whatsapp.models import Block, Conversation, Inbound
from apoa.whatsapp.numbers import encrypt_number, sender_hash

log = logging.getLogger("apoa.whatsapp")

# Far more than a person types; a number beyond it is flooding, and its messages are dropped.
MESSAGE_LIMITS = "30 per minute;300 per hour;1000 per day"


def handle_delivery(body):
    """The job: every status and message of one webhook delivery. Returns how many messages were
    handled (repeats and blocked numbers not counted)."""
    try:
        payload = json.loads(body)
    except ValueError:
        log.warning("webhook delivery is not JSON: dropped")
        return 0
    handled = 0
    for value in _values(payload):
        if not _for_this_number(value):
            log.warning("webhook delivery for another phone number id: dropped")
            continue
        _record_statuses(value)
        for incoming in incoming_messages(value):
            handled += handle_message(incoming)
    return handled


def _values(payload):
    if not isinstance(payload, dict):
        return
    for entry in payload.get("entry") or ():
        for change in (entry.get("changes") or ()) if isinstance(entry, dict) else ():
            value = change.get("value") if isinstance(change, dict) else None
            if isinstance(value, dict):
                yield value


def _for_this_number(value):
    metadata = value.get("metadata") or {}
    return str(metadata.get("phone_number_id")) == current_app.config["WHATSAPP_PHONE_NUMBER_ID"]


def _record_statuses(value):
    from apoa.whatsapp.sending import record_status

    for status in value.get("statuses") or ():
        if isinstance(status, dict) and status.get("id") and status.get("status"):
            record_status(str(status["id"]), str(status["status"]), _status_time(status),
                          _status_error_code(status))


def _status_time(status):
    try:
        return datetime.fromtimestamp(int(status.get("timestamp")), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(timezone.utc)


def _status_error_code(status):
    errors = status.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0].get("code")
    return None


def handle_message(incoming, now=None):
    """Answer one message unless it was handled before, its number is blocked or flooding.
    Returns 1 if it was handled, else 0."""
    from apoa.whatsapp.conversation import respond

    now = now or datetime.now(timezone.utc)
    hashed = sender_hash(incoming.sender)
    if not _first_time(incoming, hashed):
        log.info("message %s delivered again: already handled", incoming.message_id)
        return 0
    if db.session.get(Block, hashed) is not None:
        log.info("message %s from a blocked number: dropped", incoming.message_id)
        return 0
    if not _within_message_limits(hashed):
        log.info("message %s from a number over its message limit: dropped", incoming.message_id)
        return 0
    conversation = conversation_for(incoming.sender, hashed)
    conversation.last_inbound_at = now
    replies = respond(conversation, incoming, now)
    conversation.updated_at = now
    outbound.queue(incoming.sender, replies, "reply")
    log.info("message %s (%s) handled: %d replies", incoming.message_id, incoming.kind,
             len(replies))
    return 1


def _first_time(incoming, hashed):
    inserted = db.session.execute(
        insert(Inbound).values(message_id=incoming.message_id[:200], sender_hash=hashed,
                               kind=incoming.kind)
        .on_conflict_do_nothing(index_elements=["message_id"]).returning(Inbound.message_id))
    return inserted.first() is not None


def _within_message_limits(hashed):
    budget = abuse.Budget("whatsapp-messages", MESSAGE_LIMITS, lambda: f"whatsapp:{hashed}")
    try:
        if abuse.exhausted_until([budget]) is not None:
            return False
    except Exception:  # noqa: BLE001 - any store failure: the message is still answered
        log.exception("rate-limit store failed while checking WhatsApp messages")
        return True
    abuse.spend([budget])
    return True


def conversation_for(number, hashed=None):
    """The number's conversation, locked for this transaction; made on its first message."""
    hashed = hashed or sender_hash(number)
    db.session.execute(
        insert(Conversation).values(sender_hash=hashed, phone=encrypt_number(number))
        .on_conflict_do_nothing(index_elements=["sender_hash"]))
    return db.session.scalars(select(Conversation).where(Conversation.sender_hash == hashed)
                              .with_for_update()
                              .execution_options(populate_existing=True)).one()
