"""Driving the WhatsApp channel as Meta does: signed webhook deliveries to /whatsapp/webhook, the
delivery job run as the worker would (jobs.run_pending), and the answers read from wa_outbound.

`chat("6281234567890")` is one resident's phone: `.say(text)`, `.pick(choice_id)`,
`.share_location(lat, lon)`, `.send_photo(media_id)`, `.send(message)`; each returns the bot's
replies to that message as `Reply` objects (text, choice ids) and keeps them in `.replies`.
"""
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import select

from apoa import jobs
from apoa.extensions import db
from apoa.whatsapp import meta
from apoa.whatsapp.models import EMPTIED_PAYLOAD, Outbound
from apoa.whatsapp.numbers import sender_hash

WEBHOOK = "/whatsapp/webhook"


@dataclass
class Reply:
    text: str
    choices: tuple  # the ids of the buttons or list rows offered
    kind: str       # text, button, list, location_request_message or template
    payload: dict


def reply_of(payload):
    if payload["type"] == "text":
        return Reply(payload["text"]["body"], (), "text", payload)
    if payload["type"] == "template":
        return Reply(" ".join(p["text"] for c in payload["template"]["components"] for p in c["parameters"]),
                     (), "template", payload)
    interactive = payload["interactive"]
    action = interactive.get("action") or {}
    choices = tuple(b["reply"]["id"] for b in action.get("buttons", ()))
    choices += tuple(row["id"] for section in action.get("sections", ()) for row in section["rows"])
    return Reply(interactive["body"]["text"], choices, interactive["type"], payload)


def post_delivery(client, app, payload, secret=None):
    raw = meta.encode(payload)
    signature = meta.signature(raw, secret or app.config["WHATSAPP_APP_SECRET"])
    return client.post(WEBHOOK, data=raw, content_type="application/json",
                       headers={meta.SIGNATURE_HEADER: signature})


class Chat:
    def __init__(self, app, client, number):
        self.app, self.client, self.number = app, client, number
        self.seen = 0
        self.replies = []

    def send(self, message):
        payload = meta.delivery(self.app.config["WHATSAPP_PHONE_NUMBER_ID"], [message], sender=self.number)
        answer = post_delivery(self.client, self.app, payload)
        assert answer.status_code == 200, answer.text
        jobs.run_pending()
        return self.new_replies()

    def say(self, text, **kwargs):
        return self.send(meta.text_message(self.number, text, **kwargs))

    def pick(self, choice_id):
        return self.send(meta.list_reply(self.number, choice_id))

    def press(self, choice_id):
        return self.send(meta.button_reply(self.number, choice_id))

    def share_location(self, latitude, longitude, **kwargs):
        return self.send(meta.location_message(self.number, latitude, longitude, **kwargs))

    def send_photo(self, media_id, caption=None):
        return self.send(meta.image_message(self.number, media_id, caption=caption))

    def new_replies(self):
        rows = db.session.scalars(select(Outbound).where(Outbound.to_hash == sender_hash(self.number),
                                                         Outbound.id > self.seen)
                                  .order_by(Outbound.id)).all()
        if rows:
            self.seen = rows[-1].id
        fresh = [reply_of(self.payload_of(row)) for row in rows]
        self.replies.extend(fresh)
        return fresh


    def payload_of(self, row):
        """The message as queued; once sent, its text is emptied here and read from the fake."""
        if row.payload != EMPTIED_PAYLOAD:
            return row.payload
        sent = requests.get(f"{self.app.config['WHATSAPP_GRAPH_URL']}/_fake/sent",
                            params={"to": self.number}, timeout=10).json()["messages"]
        return next(entry["payload"] for entry in sent if entry["id"] == row.wa_message_id)


@pytest.fixture
def chat(app, client):
    """`chat(number)` → a Chat for that WhatsApp number."""
    return lambda number="6281234567890": Chat(app, client, number)


def texts(replies):
    return "\n".join(reply.text for reply in replies)
