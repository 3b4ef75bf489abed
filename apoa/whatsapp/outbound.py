"""Queueing messages to a WhatsApp number: one row per message in wa_outbound, sent in order by
one job (apoa/whatsapp/sending.py) once the transaction that asked for them commits.

Everything that talks to a resident goes through `queue()`: the bot's replies, status changes,
officers' questions, answers to cases. Nothing here calls the Graph API.
"""
from datetime import datetime, timedelta, timezone

from apoa import jobs
from apoa.extensions import db
from apoa.whatsapp.messages import graph_payload
from apoa.whatsapp.models import Outbound
from apoa.whatsapp.numbers import encrypt_number, sender_hash

SEND_BATCH = "apoa.whatsapp.sending.send_batch"
# WhatsApp lets a business write freely for 24 hours after the resident's last message; after
# that only an approved template may start the conversation again.
SERVICE_WINDOW = timedelta(hours=24)


def queue(number, messages, purpose, report_id=None):
    """Queue `messages` (apoa.whatsapp.messages) to `number`, in order; returns the rows.

    The messages go as one job, so a reply of two messages never arrives the wrong way round and
    a retry resumes where the last try stopped."""
    if not messages:
        return []
    to_hash, phone = sender_hash(number), encrypt_number(number)
    rows = [Outbound(to_hash=to_hash, phone=phone, report_id=report_id, purpose=purpose,
                     payload=graph_payload(message)) for message in messages]
    db.session.add_all(rows)
    db.session.flush()
    jobs.enqueue(SEND_BATCH, [row.id for row in rows])
    return rows


def within_service_window(last_inbound_at, now=None):
    """Whether free text may still be sent: the resident wrote within the last 24 hours."""
    if last_inbound_at is None:
        return False
    return (now or datetime.now(timezone.utc)) - last_inbound_at < SERVICE_WINDOW
