"""The WhatsApp simulator: outside production, a page /dev/whatsapp where one chats with the bot
in the browser as any number, so a developer or a new user can try the channel without a phone.

Nothing here shortcuts the channel. What the page "sends" is built by meta.py exactly as Meta
delivers it, signed with the app secret and posted to the app's own webhook in-process
(`test_client()`), so it passes the real signature check and the job queue like Meta's would.
The bot's answers are read back from the local fake of the Graph API (fake_graph.py), which
keeps what the sending job sent: the page shows what a phone would have received, and no real
WhatsApp message is ever sent. A photo is first uploaded to the fake, as a phone's photo is to
Meta, and then sent by its media id.

The blueprint is registered only when WHATSAPP_SIMULATOR is on (never in production, config.py)
and refuses every request with 404 if the flag is off all the same. Logs name kinds and HTTP
statuses only, never the number or what was typed.
"""
import logging

import requests
from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from apoa.whatsapp import meta
from apoa.whatsapp.numbers import normalise

simulator_bp = Blueprint("whatsapp_simulator", __name__, url_prefix="/dev/whatsapp")
log = logging.getLogger("apoa.whatsapp")

DEFAULT_NUMBER = "6281200000001"
PROFILE_NAME = "Simulator"
# Seconds: the fake runs on this machine, so a slow answer means it is not there.
FAKE_TIMEOUTS = (2, 5)
# WhatsApp lets a person type this much in one message.
MAX_TEXT = 65536
MAX_CHOICE_ID = 256
MAX_CHOICE_TITLE = 24
# Enough to scroll back through a conversation after reloading the page.
HISTORY_SHOWN = 50
# Where the page's latitude and longitude fields start: Kabupaten Karawang.
KARAWANG_POINT = (-6.30, 107.30)


class Unusable(Exception):
    """The page's input cannot make a message; `message` says why, in the user's language."""

    def __init__(self, message):
        super().__init__("unusable input")
        self.message = message


class FakeUnavailable(Exception):
    """The local fake of the Graph API is not configured or does not answer."""


@simulator_bp.before_request
def refuse_unless_simulator_on():
    # Registered only with the flag on; checked again so that turning it off always closes it.
    if not current_app.config.get("WHATSAPP_SIMULATOR"):
        abort(404)


@simulator_bp.get("")
def page():
    typed = request.args.get("nomor", DEFAULT_NUMBER)
    number = normalise(typed)
    return render_template("whatsapp/simulator.html", typed=typed, number=number,
                           number_error=None if number else invalid_number_message(),
                           fake_problem=None if fake_answers() else fake_not_running_message(),
                           start_point=KARAWANG_POINT)


@simulator_bp.post("/kirim")
def send():
    """Post one message of the page to the webhook as Meta would: {"ok": true} or an error."""
    data = submitted()
    number = normalise(data.get("number"))
    if number is None:
        return refused(invalid_number_message())
    try:
        message = message_of(str(data.get("kind") or "text"), number, data)
    except Unusable as error:
        return refused(error.message)
    except FakeUnavailable:
        return refused(fake_not_running_message(), 503)
    answer = post_to_webhook(number, message)
    if answer.status_code == 200:
        return jsonify(ok=True)
    log.warning("simulator: the webhook answered %s to a %s message", answer.status_code,
                message["type"])
    return refused(webhook_refusal_message(answer.status_code), 502)


@simulator_bp.get("/pesan")
def bot_messages():
    """The bot's messages to a number since sequence number `after`, from the fake."""
    number = normalise(request.args.get("nomor"))
    if number is None:
        return refused(invalid_number_message())
    after = max(request.args.get("after", 0, type=int), 0)
    try:
        sent = sent_by_the_bot(number, after)
    except FakeUnavailable:
        return refused(fake_not_running_message(), 503)
    last = max([after] + [entry["seq"] for entry in sent])
    return jsonify(ok=True, last=last, messages=[shown(entry) for entry in sent[-HISTORY_SHOWN:]])


def refused(message, status=400):
    return jsonify(ok=False, error=str(message)), status


def submitted():
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form


# --- the resident's side: messages as Meta delivers them ----------------------------------------

def message_of(kind, number, data):
    makers = {"text": text_of, "choice": choice_of, "location": location_of, "photo": photo_of}
    if kind not in makers:
        raise Unusable(_("The simulator cannot send this kind of message."))
    return makers[kind](number, data)


def text_of(number, data):
    text = str(data.get("text") or "")
    if not text.strip():
        raise Unusable(_("Type a message first."))
    if len(text) > MAX_TEXT:
        raise Unusable(_("The message is too long: WhatsApp allows at most %(limit)s characters.",
                         limit=MAX_TEXT))
    return meta.text_message(number, text)


def choice_of(number, data):
    choice_id = str(data.get("choice_id") or "").strip()
    if not choice_id or len(choice_id) > MAX_CHOICE_ID:
        raise Unusable(_("Pick one of the buttons or list rows of the bot's message."))
    title = str(data.get("choice_title") or "")[:MAX_CHOICE_TITLE]
    # A reply button and a list row come back in different shapes; the page says which it was.
    if data.get("choice_type") == "button":
        return meta.button_reply(number, choice_id, title)
    return meta.list_reply(number, choice_id, title)


def location_of(number, data):
    latitude = coordinate(data.get("latitude"), 90)
    longitude = coordinate(data.get("longitude"), 180)
    if latitude is None or longitude is None:
        raise Unusable(_("Give a latitude between -90 and 90 and a longitude between -180 and "
                         "180."))
    return meta.location_message(number, latitude, longitude)


def coordinate(typed, limit):
    try:
        value = float(str(typed).strip().replace(",", "."))
    except ValueError:
        return None
    return value if -limit <= value <= limit else None


def photo_of(number, data):
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        raise Unusable(_("Choose a photo first."))
    if not (upload.mimetype or "").startswith("image/"):
        raise Unusable(_("Choose a photo (an image file)."))
    media_id = upload_to_fake(upload.read(), upload.mimetype)
    caption = str(data.get("text") or "").strip() or None
    return meta.image_message(number, media_id, mime=upload.mimetype, caption=caption)


def post_to_webhook(number, message):
    """POST a signed delivery of `message` to the app's own webhook; returns the answer."""
    config = current_app.config
    payload = meta.delivery(config["WHATSAPP_PHONE_NUMBER_ID"], [message], sender=number,
                            profile_name=PROFILE_NAME)
    raw = meta.encode(payload)
    signature = meta.signature(raw, config["WHATSAPP_APP_SECRET"] or "")
    return current_app.test_client().post(url_for("whatsapp.receive_delivery"), data=raw,
                                          content_type="application/json",
                                          headers={meta.SIGNATURE_HEADER: signature})


# --- the bot's side: what the fake Graph API received ------------------------------------------

def fake_url(control):
    base = (current_app.config.get("WHATSAPP_GRAPH_URL") or "").rstrip("/")
    if not base:
        raise FakeUnavailable()
    return f"{base}/_fake/{control}"


def fake_answers():
    try:
        return requests.get(fake_url("health"), timeout=FAKE_TIMEOUTS).ok
    except (FakeUnavailable, requests.RequestException):
        return False


def upload_to_fake(data, mime):
    """The media id the fake gives the uploaded bytes, as Meta gives one to a resident's photo."""
    try:
        answer = requests.post(fake_url("media"), data=data, headers={"Content-Type": mime},
                               timeout=FAKE_TIMEOUTS)
        answer.raise_for_status()
        return str(answer.json()["id"])
    except (requests.RequestException, ValueError, KeyError, TypeError):
        raise FakeUnavailable() from None


def sent_by_the_bot(number, after):
    try:
        answer = requests.get(fake_url("sent"), params={"to": number, "after": after},
                              timeout=FAKE_TIMEOUTS)
        answer.raise_for_status()
        sent = answer.json()["messages"]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        raise FakeUnavailable() from None
    if not isinstance(sent, list):
        raise FakeUnavailable()
    return [entry for entry in sent
            if isinstance(entry, dict) and isinstance(entry.get("seq"), int)]


def shown(entry):
    """One sent message as the page draws it: {seq, kind, text, choices, button, template}."""
    try:
        return drawn(entry)
    except (AttributeError, KeyError, TypeError):
        # The fake only keeps what WhatsApp would accept; should that change, say so, never 500.
        return {"seq": entry["seq"], "kind": "unknown", "text": "", "choices": []}


def drawn(entry):
    payload = entry.get("payload") if isinstance(entry.get("payload"), dict) else {}
    kind = payload.get("type") or "text"
    message = {"seq": entry["seq"], "kind": kind, "text": "", "choices": []}
    part = payload.get(kind) if isinstance(payload.get(kind), dict) else {}
    if kind == "text":
        message["text"] = str(part.get("body") or "")
    elif kind == "interactive":
        message.update(interactive_shown(part))
    elif kind == "template":
        message["template"] = template_shown(part)
    elif kind == "image":
        message["text"] = str(part.get("caption") or "")
    return message


def interactive_shown(interactive):
    kinds = {"button": "buttons", "list": "list", "location_request_message": "location_request"}
    action = interactive.get("action") or {}
    body = (interactive.get("body") or {}).get("text")
    buttons = [{"id": button["reply"]["id"], "title": button["reply"].get("title", ""),
                "type": "button"}
               for button in action.get("buttons") or () if (button.get("reply") or {}).get("id")]
    rows = [{"id": row["id"], "title": row.get("title", ""),
             "description": row.get("description", ""), "type": "list"}
            for section in action.get("sections") or () for row in section.get("rows") or ()
            if row.get("id")]
    return {"kind": kinds.get(interactive.get("type"), "interactive"), "text": str(body or ""),
            "choices": buttons + rows, "button": str(action.get("button") or "")}


def template_shown(template):
    parameters = [str(parameter.get("text", ""))
                  for component in template.get("components") or ()
                  for parameter in component.get("parameters") or ()]
    return {"name": str(template.get("name") or ""),
            "language": str((template.get("language") or {}).get("code") or ""),
            "parameters": parameters}


# --- the page's words ---------------------------------------------------------------------------

def invalid_number_message():
    return _("This is not a WhatsApp number. Give it with the country code, for example "
             "%(example)s.", example=DEFAULT_NUMBER)


def fake_not_running_message():
    return _("The local fake of WhatsApp is not running, so nothing can be sent or shown: "
             "make run starts it.")


def webhook_refusal_message(status):
    if status == 503:
        return _("The job queue did not take the message: is Redis running? make run starts it.")
    return _("The webhook refused the message (HTTP %(status)s).", status=status)
