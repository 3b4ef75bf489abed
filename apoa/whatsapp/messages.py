"""The words of the WhatsApp channel in both directions, free of HTTP and the database.

`Incoming` is one message as a resident sent it, taken out of Meta's webhook payload
(`incoming_messages`). The bot answers with `Text`, `Buttons`, `Menu` (an interactive list) or
`AskLocation`; a status change outside WhatsApp's 24-hour window goes as a `Template`.
`graph_payload(message)` turns each into the body the Graph API's /messages endpoint takes,
without "to" (the sending job adds the number).

WhatsApp's own limits are kept here, so the conversation can never build a message the API
refuses: at most 3 reply buttons of 20 characters, at most 10 list rows of 24 characters (72 for
the description), 1,024 characters of interactive body, 4,096 of text.
"""
from dataclasses import dataclass, field
from datetime import datetime, timezone

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
BUTTON_TITLE_LIMIT = 20
MAX_BUTTONS = 3
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
MAX_ROWS = 10
LIST_BUTTON_LIMIT = 20
CHOICE_ID_LIMIT = 200

# Message types WhatsApp delivers that the bot reads; anything else arrives as "unsupported".
READ_TYPES = ("text", "interactive", "button", "location", "image")


@dataclass(frozen=True, repr=False)
class Incoming:
    """One message from a resident. Its repr names the kind only: it never lands in a log."""

    message_id: str
    sender: str                         # the WhatsApp id: the number, digits only
    kind: str                           # text, choice, location, image or unsupported
    sent_at: datetime
    text: str | None = None             # text, or an image's caption
    choice: str | None = None           # the id of the button or list row picked
    latitude: float | None = None
    longitude: float | None = None
    place: str | None = None            # a shared location's name and address, if any
    media_id: str | None = None
    mime: str | None = None
    profile_name: str | None = None

    def __repr__(self):
        return f"Incoming({self.kind})"


@dataclass(frozen=True)
class Choice:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class Text:
    body: str


@dataclass(frozen=True)
class Buttons:
    body: str
    choices: tuple


@dataclass(frozen=True)
class Menu:
    body: str
    button: str
    choices: tuple


@dataclass(frozen=True)
class AskLocation:
    body: str


@dataclass(frozen=True)
class Template:
    """An approved message template, the only kind WhatsApp lets a business start a conversation
    with (outside the 24 hours after the resident's last message)."""

    name: str
    language: str
    parameters: tuple = field(default_factory=tuple)


def _cut(text, limit):
    text = " ".join(str(text).split()) if limit <= ROW_DESCRIPTION_LIMIT else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def graph_payload(message):
    """The Graph API body for `message`, without the recipient."""
    if isinstance(message, Text):
        body = _cut(message.body, TEXT_LIMIT)
        return {"type": "text", "text": {"preview_url": False, "body": body}}
    if isinstance(message, Buttons):
        buttons = [{"type": "reply", "reply": {"id": c.id[:CHOICE_ID_LIMIT],
                                               "title": _cut(c.title, BUTTON_TITLE_LIMIT)}}
                   for c in message.choices[:MAX_BUTTONS]]
        return _interactive("button", message.body, {"buttons": buttons})
    if isinstance(message, Menu):
        rows = [_row(choice) for choice in message.choices[:MAX_ROWS]]
        action = {"button": _cut(message.button, LIST_BUTTON_LIMIT),
                  "sections": [{"title": _cut(message.button, ROW_TITLE_LIMIT), "rows": rows}]}
        return _interactive("list", message.body, action)
    if isinstance(message, AskLocation):
        return _interactive("location_request_message", message.body, {"name": "send_location"})
    if isinstance(message, Template):
        components = []
        if message.parameters:
            components.append({"type": "body", "parameters": [
                {"type": "text", "text": str(value)} for value in message.parameters]})
        return {"type": "template", "template": {"name": message.name,
                                                 "language": {"code": message.language},
                                                 "components": components}}
    raise TypeError(f"not a WhatsApp message: {type(message).__name__}")


def _interactive(kind, body, action):
    return {"type": "interactive", "interactive": {
        "type": kind, "body": {"text": _cut(body, INTERACTIVE_BODY_LIMIT)}, "action": action}}


def _row(choice):
    row = {"id": choice.id[:CHOICE_ID_LIMIT], "title": _cut(choice.title, ROW_TITLE_LIMIT)}
    if choice.description:
        row["description"] = _cut(choice.description, ROW_DESCRIPTION_LIMIT)
    return row


# --- reading Meta's webhook payload ---------------------------------------------------------------

def incoming_messages(value):
    """The messages of one `entry[].changes[].value` as Incoming, oldest first."""
    names = {c.get("wa_id"): (c.get("profile") or {}).get("name")
             for c in value.get("contacts") or () if isinstance(c, dict)}
    found = []
    for raw in value.get("messages") or ():
        if isinstance(raw, dict) and raw.get("id") and raw.get("from"):
            found.append(_incoming(raw, names.get(raw["from"])))
    return sorted(found, key=lambda message: message.sent_at)


def _incoming(raw, profile_name):
    common = {"message_id": str(raw["id"]), "sender": _digits(raw["from"]),
              "sent_at": _timestamp(raw.get("timestamp")), "profile_name": profile_name}
    kind = raw.get("type")
    if kind == "text":
        return Incoming(kind="text", text=str((raw.get("text") or {}).get("body") or ""), **common)
    if kind == "interactive":
        picked = _picked(raw.get("interactive") or {})
        if picked:
            return Incoming(kind="choice", choice=picked, **common)
    if kind == "button":  # a quick-reply button of a template
        payload = (raw.get("button") or {}).get("payload")
        if payload:
            return Incoming(kind="choice", choice=str(payload), **common)
    if kind == "location":
        location = raw.get("location") or {}
        try:
            latitude, longitude = float(location["latitude"]), float(location["longitude"])
        except (KeyError, TypeError, ValueError):
            return Incoming(kind="unsupported", **common)
        place = ", ".join(str(location[k]) for k in ("name", "address") if location.get(k))
        return Incoming(kind="location", latitude=latitude, longitude=longitude,
                        place=place or None, **common)
    if kind == "image":
        image = raw.get("image") or {}
        if image.get("id"):
            return Incoming(kind="image", media_id=str(image["id"]), mime=image.get("mime_type"),
                            text=image.get("caption"), **common)
    return Incoming(kind="unsupported", **common)


def _picked(interactive):
    for key in ("button_reply", "list_reply"):
        reply = interactive.get(key)
        if isinstance(reply, dict) and reply.get("id"):
            return str(reply["id"])
    return None


def _digits(wa_id):
    return "".join(ch for ch in str(wa_id) if ch.isdigit())


def _timestamp(raw):
    try:
        return datetime.fromtimestamp(int(raw), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(timezone.utc)
