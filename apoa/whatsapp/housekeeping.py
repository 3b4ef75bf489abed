"""Forgetting what the WhatsApp channel no longer needs, as a periodic job.

The ids of handled messages only guard against repeats, which WhatsApp makes within hours; a sent
message's text is emptied when it is sent (apoa/whatsapp/sending.py), and a failed one's, kept for
"send again", after KEEP. Neither is kept longer than KEEP.
"""
import logging
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import delete, select, update

from apoa import jobs
from apoa.extensions import db
from apoa.whatsapp.models import EMPTIED_PAYLOAD, Inbound, Outbound, SendState
from apoa.whatsapp.outbound import SEND_BATCH

log = logging.getLogger("apoa.whatsapp")

KEEP = timedelta(days=30)
# A message still queued, never tried, this long after it was made lost its job (Redis was down
# when the reply committed): the sweep queues it again.
LOST_AFTER = timedelta(minutes=10)
SWEEP_LIMIT = 500


def forget_old_messages(now=None):
    """Delete message ids older than KEEP and empty the texts of older sent messages; returns
    (ids deleted, texts emptied). Failed messages keep their text until an admin has seen them
    for KEEP too (they are counted from their creation like every other)."""
    cutoff = (now or datetime.now(timezone.utc)) - KEEP
    ids = db.session.execute(delete(Inbound).where(Inbound.received_at < cutoff)).rowcount
    texts = db.session.execute(
        update(Outbound).where(Outbound.created_at < cutoff,
                               Outbound.state != SendState.queued.value,
                               Outbound.payload != EMPTIED_PAYLOAD)
        .values(payload=EMPTIED_PAYLOAD)).rowcount
    log.info("WhatsApp housekeeping: %d message ids deleted, %d sent texts emptied", ids, texts)
    return ids, texts


def send_lost_messages(now=None):
    """Queue again the messages whose sending job never ran; returns how many."""
    if not current_app.config["WHATSAPP_GRAPH_URL"]:
        return 0  # nothing can be sent: they wait, queued, until the channel is configured
    cutoff = (now or datetime.now(timezone.utc)) - LOST_AFTER
    lost = db.session.scalars(
        select(Outbound.id).where(Outbound.state == SendState.queued.value,
                                  Outbound.attempts == 0, Outbound.created_at < cutoff)
        .order_by(Outbound.id).limit(SWEEP_LIMIT)).all()
    if lost:
        jobs.enqueue(SEND_BATCH, list(lost))
        log.warning("%d WhatsApp messages had lost their sending job: queued again", len(lost))
    return len(lost)
