"""The Graph API client (apoa/whatsapp/graph.py) against the local fake of the Graph API, a real
process: what is sent arrives exactly, and every failure says whether trying again may help,
with a reason that holds neither the number nor the token."""
import http.server
import json
import socket
import threading
import time

import pytest

from apoa.whatsapp import graph, meta
from apoa.whatsapp.messages import AskLocation, Buttons, Choice, Menu, Template, Text, graph_payload
from tests.whatsapp.fakegraph import start_fake_graph, stop_fake_graph

NUMBER = "6281234567890"
MESSAGES = {
    "text": Text("Laporan Anda sudah kami terima."),
    "buttons": Buttons("Kirim laporan ini?", (Choice("ya", "Ya, kirim"), Choice("ubah", "Ubah"),
                                               Choice("batal", "Batalkan laporan sekarang juga"))),
    "menu": Menu("Pilih kategori", "Kategori", tuple(Choice(f"c{n}", f"Kategori nomor {n} yang panjang sekali",
                                                            "Keterangan") for n in range(12))),
    "location": AskLocation("Bagikan lokasi kejadian."),
    "template": Template("apoa_status_update", "id", ("APOA-7Q2X", "Diproses")),
    "long text": Text("x" * 10_000),
}


@pytest.mark.parametrize("name", list(MESSAGES))
def test_a_message_is_sent_and_arrives_exactly_as_built(graph_for_app, name):
    payload = graph_payload(MESSAGES[name])
    wamid = graph.send_message(NUMBER, payload)
    assert wamid.startswith("wamid.")
    assert [(entry["id"], entry["to"], entry["payload"]) for entry in graph_for_app.sent()] == [
        (wamid, NUMBER, payload)]


def test_a_wrong_token_is_refused_for_good_and_the_reason_holds_no_secret(graph_for_app, harness, monkeypatch):
    monkeypatch.setitem(harness.config, "WHATSAPP_TOKEN", "not-the-token-123")
    with pytest.raises(graph.GraphError) as caught:
        graph.send_message(NUMBER, graph_payload(Text("Halo")))
    error = caught.value
    assert (error.status, error.code, error.retryable, error.retry_after) == (401, 190, False, None)
    assert error.reason == str(error) == "HTTP 401, Meta error 190"
    assert graph_for_app.sent() == []


def test_another_phone_number_id_is_refused_for_good(graph_for_app, harness, monkeypatch):
    monkeypatch.setitem(harness.config, "WHATSAPP_PHONE_NUMBER_ID", "999999999999999")
    with pytest.raises(graph.GraphError) as caught:
        graph.send_message(NUMBER, graph_payload(Text("Halo")))
    assert (caught.value.status, caught.value.code, caught.value.retryable) == (400, 100, False)


@pytest.mark.parametrize("payload", [
    {"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pilih"}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": f"b{n}", "title": f"Tombol {n}"}} for n in range(4)]}}},
    {"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pilih"}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": "b", "title": "Judul tombol yang terlalu panjang"}}]}}},
    {"type": "text", "text": {"body": "x" * 4097}},
    {"type": "sticker", "sticker": {"id": "1"}},
], ids=["four buttons", "long button title", "long text", "unknown type"])
def test_a_message_whatsapp_would_refuse_is_refused_for_good(graph_for_app, payload):
    with pytest.raises(graph.GraphError) as caught:
        graph.send_message(NUMBER, payload)
    assert (caught.value.status, caught.value.code, caught.value.retryable) == (400, 100, False)
    assert graph_for_app.sent() == []


def test_a_rate_limit_may_be_retried_after_the_time_meta_gives(graph_for_app):
    graph_for_app.fail_next(1, 429, retry_after=7)
    with pytest.raises(graph.GraphError) as caught:
        graph.send_message(NUMBER, graph_payload(Text("Halo")))
    error = caught.value
    assert (error.status, error.code, error.retryable, error.retry_after) == (429, 130429, True, 7)
    assert error.reason == "HTTP 429, Meta error 130429"
    graph.send_message(NUMBER, graph_payload(Text("Halo")))  # only the next send was refused
    assert len(graph_for_app.sent()) == 1


def test_a_server_error_may_be_retried(graph_for_app):
    graph_for_app.fail_next(1, 503)
    with pytest.raises(graph.GraphError) as caught:
        graph.send_message(NUMBER, graph_payload(Text("Halo")))
    assert (caught.value.status, caught.value.retryable) == (503, True)


def test_a_closed_port_may_be_retried(harness, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setitem(harness.config, "WHATSAPP_GRAPH_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(graph.GraphError) as caught:
        graph.send_message(NUMBER, graph_payload(Text("Halo")))
    assert (caught.value.reason, caught.value.status, caught.value.retryable) == ("connection failed", None, True)


def test_a_server_that_never_answers_is_a_timeout_that_may_be_retried(harness, monkeypatch):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are accepted by the kernel and never answered
        monkeypatch.setitem(harness.config, "WHATSAPP_GRAPH_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setattr(graph, "TIMEOUTS", (1, 0.3))
        with pytest.raises(graph.GraphError) as caught:
            graph.send_message(NUMBER, graph_payload(Text("Halo")))
    assert (caught.value.reason, caught.value.retryable) == ("timeout", True)


def test_without_a_graph_url_nothing_is_sent(harness, monkeypatch):
    monkeypatch.setitem(harness.config, "WHATSAPP_GRAPH_URL", "")
    with pytest.raises(graph.NotConfigured):
        graph.send_message(NUMBER, graph_payload(Text("Halo")))


# --- media ---------------------------------------------------------------------------------------

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def test_a_medium_is_fetched_with_its_type(graph_for_app):
    media_id = graph_for_app.upload_media(PHOTO, "image/jpeg")
    assert graph.fetch_media(media_id, max_bytes=len(PHOTO)) == (PHOTO, "image/jpeg")


def test_an_unknown_medium_is_unavailable(graph_for_app):
    with pytest.raises(graph.MediaUnavailable) as caught:
        graph.fetch_media("1234567890123456", max_bytes=10_000)
    assert (caught.value.status, caught.value.code, caught.value.retryable) == (404, 100, False)


def test_a_medium_larger_than_allowed_is_unavailable(graph_for_app):
    media_id = graph_for_app.upload_media(PHOTO, "image/jpeg")
    with pytest.raises(graph.MediaUnavailable) as caught:
        graph.fetch_media(media_id, max_bytes=len(PHOTO) - 1)
    assert (caught.value.reason, caught.value.retryable) == ("too large", False)


def test_a_medium_with_a_wrong_token_is_unavailable(graph_for_app, harness, monkeypatch):
    media_id = graph_for_app.upload_media(PHOTO, "image/png")
    monkeypatch.setitem(harness.config, "WHATSAPP_TOKEN", "not-the-token-123")
    with pytest.raises(graph.MediaUnavailable) as caught:
        graph.fetch_media(media_id, max_bytes=len(PHOTO))
    assert (caught.value.status, caught.value.code) == (401, 190)


# --- the fake's status updates ---------------------------------------------------------------------

class WebhookCatcher(http.server.BaseHTTPRequestHandler):
    """Keeps each POST (signature header, raw body) in the server's `deliveries`."""

    def do_POST(self):
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.deliveries.append((self.headers.get(meta.SIGNATURE_HEADER), raw))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_catcher():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), WebhookCatcher)
    server.deliveries = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_the_fake_posts_signed_sent_and_delivered_statuses_to_the_webhook(webhook_catcher, harness, monkeypatch,
                                                                         tmp_path):
    secret = "webhook-secret-of-this-test"
    fake = start_fake_graph(tmp_path, webhook=f"http://127.0.0.1:{webhook_catcher.server_port}/whatsapp/webhook",
                            app_secret=secret)
    try:
        for name, value in fake.settings().items():
            monkeypatch.setitem(harness.config, name, value)
        wamid = graph.send_message(NUMBER, graph_payload(Text("Halo")))
        deadline = time.monotonic() + 10
        while len(webhook_catcher.deliveries) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_fake_graph(fake)
    statuses = []
    for signature, raw in webhook_catcher.deliveries:
        assert meta.signature_matches(raw, signature, secret)
        value = json.loads(raw)["entry"][0]["changes"][0]["value"]
        assert value["metadata"]["phone_number_id"] == fake.phone_number_id
        statuses += [(status["id"], status["status"], status["recipient_id"]) for status in value["statuses"]]
    assert statuses == [(wamid, "sent", NUMBER), (wamid, "delivered", NUMBER)]
