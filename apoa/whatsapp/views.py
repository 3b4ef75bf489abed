"""The webhook of the WhatsApp Business Cloud API: Meta's subscription check and its deliveries.

A delivery is answered as soon as its signature is checked and its body is on the job queue:
Meta waits for nothing else, and a slow answer makes it deliver again. A delivery without a
valid X-Hub-Signature-256 is refused with 401 and nothing of it is kept. If the queue cannot take
the delivery the answer is 503, so that Meta delivers it again later rather than it being lost.
The job (inbound.py) reads the messages; each is handled once, however often it is delivered.
"""
import hmac
import logging

from flask import Blueprint, Response, abort, current_app, request

from apoa import jobs
from apoa.extensions import csrf, limiter
from apoa.whatsapp import meta

bp = Blueprint("whatsapp", __name__)
log = logging.getLogger("apoa.whatsapp")

HANDLE_DELIVERY = "apoa.whatsapp.inbound.handle_delivery"
# Meta's deliveries are a few kilobytes (media come by id, never inline).
MAX_DELIVERY_BYTES = 256 * 1024


@bp.get("/whatsapp/webhook")
@limiter.exempt
def verify_subscription():
    """Meta's check when the webhook is set up: echo hub.challenge for the right verify token."""
    expected = current_app.config["WHATSAPP_VERIFY_TOKEN"] or ""
    given = request.args.get("hub.verify_token", "")
    if (request.args.get("hub.mode") != "subscribe" or not expected
            or not hmac.compare_digest(given.encode(), expected.encode())):
        log.warning("webhook subscription check refused")
        abort(403)
    return Response(request.args.get("hub.challenge", ""), mimetype="text/plain")


@bp.post("/whatsapp/webhook")
@csrf.exempt
@limiter.exempt
def receive_delivery():
    if (request.content_length or 0) > MAX_DELIVERY_BYTES:
        abort(413)
    raw = request.get_data(cache=False)
    if len(raw) > MAX_DELIVERY_BYTES:
        abort(413)
    if not meta.signature_matches(raw, request.headers.get(meta.SIGNATURE_HEADER),
                                  current_app.config["WHATSAPP_APP_SECRET"]):
        log.warning("webhook delivery refused: missing or wrong signature")
        return Response("", status=401)
    if not jobs.enqueue_now(HANDLE_DELIVERY, raw.decode("utf-8", errors="replace")):
        abort(503)
    return Response("EVENT_RECEIVED", mimetype="text/plain")
