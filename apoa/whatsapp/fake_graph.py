"""A local stand-in for the WhatsApp Business Cloud API (Meta's Graph API), for `make run`, the
simulator page and the tests:

    python -m apoa.whatsapp.fake_graph --host 127.0.0.1 --port 8790 --data DIR --token T \
        --phone-number-id ID [--webhook URL --app-secret S]

It answers as Meta does, errors included: the Bearer token is checked (401, code 190), the
phone number id must be its own (400, code 100), and a message is validated against WhatsApp's
rules (text length, at most 3 buttons of 20 characters, at most 10 list rows of 24, ...) so a
message the real API would refuse is refused here too. What it accepts is kept in DIR/sent.jsonl;
with --webhook it then posts the "sent" and "delivered" statuses to the app, signed with
--app-secret, as Meta does. Media uploaded through its controls are served like Meta's: their
details at /<version>/<media id>, their bytes at the URL those name.

Controls (not Meta's, for tests and the simulator): POST /_fake/media, GET and DELETE
/_fake/sent, POST /_fake/fail, GET /_fake/health. This runs on the developer's machine only; its
log names message ids, never numbers or text.
"""
import argparse
import hashlib
import hmac
import itertools
import json
import logging
import secrets
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import requests
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from apoa.whatsapp import meta

log = logging.getLogger("apoa.whatsapp.fake_graph")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

STATUS_DELAYS = (0.3, 0.3)  # seconds before "sent", then before "delivered"
WEBHOOK_TIMEOUT = 5
TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
MAX_BUTTONS = 3
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
ROW_ID_LIMIT = 200
MAX_ROWS = 10
LIST_BUTTON_LIMIT = 20
MESSAGE_TYPES = ("text", "interactive", "template", "image")


class MetaError(Exception):
    """An error answer in Meta's shape."""

    def __init__(self, status, code, message, kind="OAuthException", headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.kind = status, code, message, kind
        self.headers = headers or {}

    def response(self):
        body = {"error": {"message": self.message, "type": self.kind, "code": self.code,
                          "fbtrace_id": secrets.token_urlsafe(16)}}
        return json_response(body, self.status, self.headers)


def invalid(message):
    return MetaError(400, 100, f"(#100) {message}")


def json_response(body, status=200, headers=None):
    return Response(json.dumps(body), status=status, headers=headers,
                    mimetype="application/json")


# --- what WhatsApp accepts -------------------------------------------------------------------

def validate_message(body):
    """Raise MetaError(400, code 100) for a body the real /messages endpoint would refuse."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    if body.get("messaging_product") != "whatsapp":
        raise invalid("The parameter messaging_product is required and must be 'whatsapp'.")
    if body.get("recipient_type", "individual") != "individual":
        raise invalid("Param recipient_type must be 'individual'.")
    to = body.get("to")
    if not isinstance(to, str) or not to.isdigit() or not 8 <= len(to) <= 15:
        raise invalid("The parameter to must be a phone number (digits with the country code).")
    kind = body.get("type", "text")
    if kind not in MESSAGE_TYPES:
        raise invalid(f"Param type must be one of {', '.join(MESSAGE_TYPES)}.")
    if not isinstance(body.get(kind), dict):
        raise invalid(f"The parameter {kind} is required for a message of type {kind}.")
    VALIDATORS[kind](body[kind])


def _text(text):
    _string(text.get("body"), "text.body", TEXT_LIMIT)
    if not isinstance(text.get("preview_url", False), bool):
        raise invalid("Param text.preview_url must be a boolean.")


def _interactive(interactive):
    kind = interactive.get("type")
    if kind not in INTERACTIVE_ACTIONS:
        raise invalid(f"Param interactive.type must be one of {', '.join(INTERACTIVE_ACTIONS)}.")
    _string((interactive.get("body") or {}).get("text"), "interactive.body.text",
            INTERACTIVE_BODY_LIMIT)
    action = interactive.get("action")
    if not isinstance(action, dict):
        raise invalid("The parameter interactive.action is required.")
    INTERACTIVE_ACTIONS[kind](action)


def _buttons(action):
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise invalid(f"Param interactive.action.buttons must hold 1 to {MAX_BUTTONS} buttons.")
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if button.get("type") != "reply" or not isinstance(reply, dict):
            raise invalid("Param interactive.action.buttons[].type must be 'reply'.")
        _string(reply.get("id"), "interactive.action.buttons[].reply.id", BUTTON_ID_LIMIT)
        _string(reply.get("title"), "interactive.action.buttons[].reply.title", BUTTON_TITLE_LIMIT)
    _unique([button["reply"]["id"] for button in buttons], "button ids")
    _unique([button["reply"]["title"] for button in buttons], "button titles")


def _list(action):
    _string(action.get("button"), "interactive.action.button", LIST_BUTTON_LIMIT)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_ROWS:
        raise invalid("Param interactive.action.sections must hold 1 to 10 sections.")
    rows = []
    for section in sections:
        if not isinstance(section, dict) or not isinstance(section.get("rows"), list):
            raise invalid("Param interactive.action.sections[].rows is required.")
        if len(sections) > 1 or "title" in section:
            _string(section.get("title"), "interactive.action.sections[].title", ROW_TITLE_LIMIT)
        rows.extend(section["rows"])
    if not 1 <= len(rows) <= MAX_ROWS:
        raise invalid(f"A list message must hold 1 to {MAX_ROWS} rows in all.")
    for row in rows:
        _row(row)
    _unique([row["id"] for row in rows], "row ids")


def _row(row):
    if not isinstance(row, dict):
        raise invalid("Param interactive.action.sections[].rows[] must be an object.")
    _string(row.get("id"), "interactive.action.sections[].rows[].id", ROW_ID_LIMIT)
    _string(row.get("title"), "interactive.action.sections[].rows[].title", ROW_TITLE_LIMIT)
    if "description" in row:
        _string(row["description"], "interactive.action.sections[].rows[].description",
                ROW_DESCRIPTION_LIMIT)


def _location_request(action):
    if action.get("name") != "send_location":
        raise invalid("Param interactive.action.name must be 'send_location'.")


def _template(template):
    _string(template.get("name"), "template.name", 512)
    _string((template.get("language") or {}).get("code"), "template.language.code", 15)
    if not isinstance(template.get("components", []), list):
        raise invalid("Param template.components must be a list.")


def _image(image):
    if not (isinstance(image.get("id"), str) and image["id"]) and not (
            isinstance(image.get("link"), str) and image["link"].startswith("https://")):
        raise invalid("Param image must have an id or an https link.")


def _string(value, name, limit):
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"The parameter {name} is required.")
    if len(value) > limit:
        raise invalid(f"Param {name} must be at most {limit} characters long.")


def _unique(values, what):
    if len(set(values)) != len(values):
        raise invalid(f"The {what} must be unique.")


VALIDATORS = {"text": _text, "interactive": _interactive, "template": _template, "image": _image}
INTERACTIVE_ACTIONS = {"button": _buttons, "list": _list,
                       "location_request_message": _location_request}


# --- what the fake keeps ------------------------------------------------------------------------

class Record:
    """The sent messages (DIR/sent.jsonl, each with a sequence number), the media (DIR/media/) and
    the failures asked for; shared by the server's threads."""

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir)
        self.media_dir = self.data_dir / "media"
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self.sent_path = self.data_dir / "sent.jsonl"
        self.lock = threading.Lock()
        self.sent = self._read_sent()
        self.sequence = itertools.count(max((entry["seq"] for entry in self.sent), default=0) + 1)
        self.failures = {"count": 0}

    def _read_sent(self):
        if not self.sent_path.exists():
            return []
        lines = self.sent_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def add_sent(self, to, payload):
        with self.lock:
            entry = {"seq": next(self.sequence), "id": meta.new_message_id(), "to": to,
                     "payload": payload, "at": datetime.now(timezone.utc).isoformat()}
            with open(self.sent_path, "a") as file:
                file.write(json.dumps(entry) + "\n")
            self.sent.append(entry)
        return entry

    def sent_since(self, after=0, to=None):
        with self.lock:
            return [entry for entry in self.sent
                    if entry["seq"] > after and (to is None or entry["to"] == to)]

    def clear_sent(self):
        # The sequence goes on, so a client polling with `after` never misses what comes next.
        with self.lock:
            self.sent = []
            self.sent_path.write_text("")

    def plan_failures(self, count, status, retry_after=None, code=None):
        with self.lock:
            self.failures = {"count": count, "status": status, "retry_after": retry_after,
                             "code": code}

    def next_failure(self):
        """The failure planned for this send, if any (each planned one is used once)."""
        with self.lock:
            if self.failures["count"] <= 0:
                return None
            self.failures["count"] -= 1
            return dict(self.failures)

    def add_media(self, data, mime):
        media_id = str(secrets.randbelow(9 * 10**15) + 10**15)
        (self.media_dir / media_id).write_bytes(data)
        (self.media_dir / f"{media_id}.json").write_text(json.dumps({"mime_type": mime}))
        return media_id

    def media(self, media_id):
        """(bytes, mime) of an uploaded medium, or None."""
        if not media_id.isdigit() or not (self.media_dir / media_id).is_file():
            return None
        info = json.loads((self.media_dir / f"{media_id}.json").read_text())
        return (self.media_dir / media_id).read_bytes(), info["mime_type"]


# --- the server -------------------------------------------------------------------------------

class FakeGraph:
    """The WSGI application."""

    def __init__(self, data_dir, token, phone_number_id, webhook=None, app_secret=None):
        self.record = Record(data_dir)
        self.token, self.phone_number_id = token, phone_number_id
        self.webhook, self.app_secret = webhook, app_secret
        self.urls = Map([
            Rule("/_fake/health", endpoint="health", methods=["GET"]),
            Rule("/_fake/media", endpoint="upload_media", methods=["POST"]),
            Rule("/_fake/sent", endpoint="list_sent", methods=["GET"]),
            Rule("/_fake/sent", endpoint="clear_sent", methods=["DELETE"]),
            Rule("/_fake/fail", endpoint="plan_failures", methods=["POST"]),
            Rule("/_media/<media_id>", endpoint="media_bytes", methods=["GET"]),
            Rule("/<version>/<phone_number_id>/messages", endpoint="send", methods=["POST"]),
            Rule("/<version>/<media_id>", endpoint="media_info", methods=["GET"]),
        ], strict_slashes=False)

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, arguments = self.urls.bind_to_environ(environ).match()
            response = getattr(self, endpoint)(request, **arguments)
        except MetaError as error:
            response = error.response()
        except HTTPException as error:
            response = MetaError(error.code, 100, f"Unsupported request: {error.name}").response()
        return response(environ, start_response)

    # Meta's endpoints

    def send(self, request, version, phone_number_id):
        self._check_token(request)
        if phone_number_id != self.phone_number_id:
            raise MetaError(400, 100, f"Unsupported post request. Object with ID "
                                      f"'{phone_number_id}' does not exist.",
                            kind="GraphMethodException")
        body = request.get_json(silent=True)
        validate_message(body)
        self._planned_failure()
        payload = {key: value for key, value in body.items()
                   if key not in ("messaging_product", "recipient_type", "to")}
        entry = self.record.add_sent(body["to"], payload)
        log.info("message %s accepted (%s)", entry["id"], payload.get("type", "text"))
        if self.webhook:
            threading.Thread(target=self._post_statuses, args=(entry,), daemon=True).start()
        return json_response({"messaging_product": "whatsapp",
                              "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                              "messages": [{"id": entry["id"]}]})

    def media_info(self, request, version, media_id):
        self._check_token(request)
        found = self.record.media(media_id)
        if found is None:
            raise MetaError(404, 100, f"Unsupported get request. Object with ID '{media_id}' "
                                      "does not exist.", kind="GraphMethodException")
        data, mime = found
        return json_response({"messaging_product": "whatsapp",
                              "url": f"{request.host_url.rstrip('/')}/_media/{media_id}",
                              "mime_type": mime, "sha256": hashlib.sha256(data).hexdigest(),
                              "file_size": len(data), "id": media_id})

    def media_bytes(self, request, media_id):
        self._check_token(request)
        found = self.record.media(media_id)
        if found is None:
            raise MetaError(404, 100, "Media not found.", kind="GraphMethodException")
        data, mime = found
        return Response(data, mimetype=mime)

    # controls

    def health(self, request):
        return json_response({"status": "ok"})

    def upload_media(self, request):
        mime = (request.mimetype or "application/octet-stream")
        return json_response({"id": self.record.add_media(request.get_data(), mime)})

    def list_sent(self, request):
        after = request.args.get("after", 0, type=int)
        return json_response({"messages": self.record.sent_since(after, request.args.get("to"))})

    def clear_sent(self, request):
        self.record.clear_sent()
        return Response(status=204)

    def plan_failures(self, request):
        plan = request.get_json(silent=True) or {}
        try:
            count, status = int(plan.get("count") or 0), int(plan.get("status") or 500)
        except (TypeError, ValueError):
            raise invalid("count and status must be numbers.") from None
        self.record.plan_failures(count, status, plan.get("retry_after"), plan.get("code"))
        return json_response({"planned": count})

    # helpers

    def _check_token(self, request):
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            raise MetaError(401, 190, "Invalid OAuth access token - Cannot parse access token")

    def _planned_failure(self):
        failure = self.record.next_failure()
        if failure is None:
            return
        status = failure["status"]
        if status == 429:
            retry_after = failure["retry_after"]
            headers = {"Retry-After": str(retry_after)} if retry_after else {}
            raise MetaError(429, failure["code"] or 130429, "(#130429) Rate limit hit",
                            headers=headers)
        if status >= 500:
            raise MetaError(status, failure["code"] or 1, "An unknown error occurred")
        raise MetaError(status, failure["code"] or 100, "(#100) Invalid parameter")

    def _post_statuses(self, entry):
        for delay, state in zip(STATUS_DELAYS, ("sent", "delivered")):
            time.sleep(delay)
            update = meta.status(entry["id"], entry["to"], state)
            raw = meta.encode(meta.delivery(self.phone_number_id, statuses=[update]))
            headers = {"Content-Type": "application/json",
                       meta.SIGNATURE_HEADER: meta.signature(raw, self.app_secret or "")}
            try:
                requests.post(self.webhook, data=raw, headers=headers, timeout=WEBHOOK_TIMEOUT)
            except requests.RequestException:
                log.info("status %s of message %s not delivered to the webhook", state,
                         entry["id"])


def main(argv=None):
    parser = argparse.ArgumentParser(description="A local fake of the WhatsApp Cloud API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--data", required=True, help="folder for what was sent and the media")
    parser.add_argument("--token", required=True, help="the access token to accept")
    parser.add_argument("--phone-number-id", required=True)
    parser.add_argument("--webhook", help="the app's webhook URL, for status updates")
    parser.add_argument("--app-secret", help="the app secret that signs the status updates")
    args = parser.parse_args(argv)
    if args.webhook and not args.app_secret:
        parser.error("--webhook needs --app-secret")
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # werkzeug's request log would show query strings, and /_fake/sent?to= holds a number.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    fake = FakeGraph(args.data, args.token, args.phone_number_id, args.webhook, args.app_secret)
    server = make_server(args.host, args.port, fake, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("fake Graph API listening on http://%s:%s", args.host, server.server_port)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        log.info("fake Graph API stopped")


if __name__ == "__main__":
    main()
