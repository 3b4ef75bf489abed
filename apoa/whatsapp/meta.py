"""Webhook deliveries shaped exactly as Meta's WhatsApp Business Cloud API sends them, and their
signature.

The webhook (views.py) checks `signature()` against X-Hub-Signature-256. The simulator page, the
tests and bench/whatsapp.py build their deliveries with `delivery()` and the `*_message()` makers,
so everything that drives the bot speaks Meta's format, not a private one.
"""
import hashlib
import hmac
import itertools
import json
import secrets
import time

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
BUSINESS_ACCOUNT_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"

_counter = itertools.count(1)


def signature(raw_body, app_secret):
    """The X-Hub-Signature-256 value of `raw_body` (bytes): HMAC-SHA256 with the app secret."""
    digest = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signature_matches(raw_body, header, app_secret):
    """Constant-time check of a delivery's X-Hub-Signature-256 header."""
    if not app_secret or not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(signature(raw_body, app_secret), header)


def encode(payload):
    return json.dumps(payload, separators=(",", ":")).encode()


def new_message_id():
    """An id in the shape WhatsApp gives ("wamid." and base64), unique per call."""
    return f"wamid.HBgN{secrets.token_hex(12).upper()}{next(_counter)}"


def delivery(phone_number_id, messages=(), statuses=(), sender=None, profile_name="Pelapor"):
    """One webhook POST body: an entry with one change whose value holds `messages` (from
    `sender`) and/or `statuses`."""
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": DISPLAY_NUMBER,
                          "phone_number_id": phone_number_id}}
    if messages:
        value["contacts"] = [{"profile": {"name": profile_name}, "wa_id": sender}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": BUSINESS_ACCOUNT_ID,
                       "changes": [{"value": value, "field": "messages"}]}]}


def _message(sender, kind, body, message_id=None, at=None):
    return {"from": sender, "id": message_id or new_message_id(),
            "timestamp": str(int(at if at is not None else time.time())), "type": kind, **body}


def text_message(sender, text, **kwargs):
    return _message(sender, "text", {"text": {"body": text}}, **kwargs)


def button_reply(sender, choice_id, title="", **kwargs):
    return _message(sender, "interactive", {"interactive": {
        "type": "button_reply", "button_reply": {"id": choice_id, "title": title}}}, **kwargs)


def list_reply(sender, choice_id, title="", **kwargs):
    return _message(sender, "interactive", {"interactive": {
        "type": "list_reply", "list_reply": {"id": choice_id, "title": title}}}, **kwargs)


def location_message(sender, latitude, longitude, name=None, address=None, **kwargs):
    location = {"latitude": latitude, "longitude": longitude}
    if name:
        location["name"] = name
    if address:
        location["address"] = address
    return _message(sender, "location", {"location": location}, **kwargs)


def image_message(sender, media_id, mime="image/jpeg", caption=None, **kwargs):
    image = {"id": media_id, "mime_type": mime, "sha256": "", }
    if caption:
        image["caption"] = caption
    return _message(sender, "image", {"image": image}, **kwargs)


def other_message(sender, kind, body=None, **kwargs):
    """A message of a type the bot does not read (sticker, audio, reaction, ...)."""
    return _message(sender, kind, {kind: body or {}}, **kwargs)


def status(wa_message_id, recipient, state, at=None):
    """A status update of a message the business sent: sent, delivered, read or failed."""
    entry = {"id": wa_message_id, "status": state, "recipient_id": recipient,
             "timestamp": str(int(at if at is not None else time.time()))}
    if state == "failed":
        entry["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    return entry
