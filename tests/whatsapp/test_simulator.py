"""The simulator page /dev/whatsapp: there outside production only, it posts what is typed to the
real webhook as a signed delivery shaped like Meta's, and it shows the bot's messages as the
local fake of the Graph API received them."""
import io
import json
import re
import socket

import pytest
import requests
from PIL import Image

from apoa import create_app, jobs
from apoa.extensions import db
from apoa.whatsapp import graph
from apoa.whatsapp.messages import AskLocation, Buttons, Choice, Menu, Template, Text, graph_payload
from tests.conftest import TEST_CONFIG, app_environ

PAGE = "/dev/whatsapp"
SEND = "/dev/whatsapp/kirim"
MESSAGES = "/dev/whatsapp/pesan"
HANDLE_DELIVERY = "apoa.whatsapp.inbound.handle_delivery"
NUMBER = "6281200000001"
JSON = {"Accept": "application/json"}


def delivered():
    """The webhook deliveries handed to the job queue, as the JSON Meta would have posted."""
    return [json.loads(call.args[0]) for call in jobs.pending() if call.path == HANDLE_DELIVERY]


def only_message(deliveries, app):
    assert len(deliveries) == 1, deliveries
    (entry,) = deliveries[0]["entry"]
    (change,) = entry["changes"]
    value = change["value"]
    assert value["metadata"]["phone_number_id"] == app.config["WHATSAPP_PHONE_NUMBER_ID"]
    assert [contact["wa_id"] for contact in value["contacts"]] == [NUMBER]
    (message,) = value["messages"]
    assert message["from"] == NUMBER and message["id"].startswith("wamid.")
    return message


def small_png():
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 120, 80)).save(buffer, "PNG")
    return buffer.getvalue()


# --- the page -------------------------------------------------------------------------------------

def test_the_page_opens_outside_production_as_the_default_number_with_its_banner(client):
    answer = client.get(PAGE)
    assert answer.status_code == 200
    html = answer.text
    assert 'id="sim-banner"' in html
    assert f'data-number="{NUMBER}"' in html
    assert 'name="csrf_token"' in html
    # The app's Content-Security-Policy allows no inline script: every script is a file.
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "/static/js/whatsapp-simulator.js" in html


def test_the_number_in_the_address_is_read_as_whatsapp_writes_it(client):
    answer = client.get(PAGE, query_string={"nomor": "0812-3456-7890"})
    assert answer.status_code == 200
    assert 'data-number="6281234567890"' in answer.text


def test_an_impossible_number_in_the_address_says_so_and_offers_no_chat(client):
    answer = client.get(PAGE, query_string={"nomor": "12ab"})
    assert answer.status_code == 200
    assert 'id="sim-number-error"' in answer.text and 'aria-invalid="true"' in answer.text
    assert 'id="simulator"' not in answer.text


def test_without_the_fake_graph_api_the_page_says_make_run_starts_it(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WHATSAPP_GRAPH_URL", "")
    answer = client.get(PAGE)
    assert answer.status_code == 200
    assert 'id="sim-fake-problem"' in answer.text and "make run" in answer.text


def test_with_the_fake_running_the_page_reports_no_problem(client, graph_for_app):
    answer = client.get(PAGE)
    assert answer.status_code == 200
    assert 'id="sim-fake-problem"' not in answer.text


@pytest.mark.parametrize("method, path", [("get", PAGE), ("post", SEND), ("get", MESSAGES)])
def test_every_view_refuses_with_404_when_the_flag_is_off(client, app, monkeypatch, method, path):
    monkeypatch.setitem(app.config, "WHATSAPP_SIMULATOR", False)
    answer = getattr(client, method)(path, json={"number": NUMBER, "kind": "text", "text": "halo"}
                                     if method == "post" else None, headers=JSON)
    assert answer.status_code == 404
    assert jobs.pending() == []


@pytest.fixture
def other_app(app, database_url):
    """`other_app(config=None, **variables)`: an app on the test database with other settings.
    Flask-Limiter keeps one storage for all apps, set by the app made last: an app with the
    suite's settings is made again at the end, so the next tests' limits work as before."""
    made = []

    def make(config=None, **variables):
        environ = app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"], **variables)
        made.append(create_app({**TEST_CONFIG, **(config or {})}, environ=environ))
        return made[-1]
    yield make
    for each in made:
        with each.app_context():
            db.engine.dispose()
    if made:
        create_app(dict(TEST_CONFIG), environ=app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))


def test_an_app_made_with_the_flag_off_has_no_simulator_at_all(other_app):
    without = other_app(APOA_WHATSAPP_SIMULATOR="false")
    assert without.config["WHATSAPP_SIMULATOR"] is False
    assert "whatsapp_simulator" not in without.blueprints
    client = without.test_client()
    assert client.get(PAGE).status_code == 404
    assert client.post(SEND, json={"number": NUMBER, "kind": "text", "text": "halo"}).status_code == 404


def test_sending_needs_the_page_s_csrf_token_like_every_form(other_app):
    guarded = other_app({"WTF_CSRF_ENABLED": True})
    client = guarded.test_client()
    fields = {"number": NUMBER, "kind": "text", "text": "halo"}
    refused = client.post(SEND, data=fields, headers=JSON)
    assert refused.status_code == 400 and refused.get_json()["error"]["message"]
    page = client.get(PAGE).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    taken = client.post(SEND, data={**fields, "csrf_token": token}, headers=JSON)
    assert taken.status_code == 200 and taken.get_json() == {"ok": True}


# --- sending: the resident's side -----------------------------------------------------------------

def test_a_typed_text_reaches_the_webhook_as_a_signed_delivery_from_that_number(client, app):
    answer = client.post(SEND, json={"number": "0812 0000 0001", "kind": "text", "text": "halo"}, headers=JSON)
    assert answer.status_code == 200, answer.text
    assert answer.get_json() == {"ok": True}
    # Only a delivery whose signature the webhook accepted is put on the queue.
    message = only_message(delivered(), app)
    assert (message["type"], message["text"]) == ("text", {"body": "halo"})


def test_a_form_post_works_as_well_as_json(client, app):
    answer = client.post(SEND, data={"number": NUMBER, "kind": "text", "text": "menu"}, headers=JSON)
    assert answer.status_code == 200 and answer.get_json() == {"ok": True}
    assert only_message(delivered(), app)["text"] == {"body": "menu"}


@pytest.mark.parametrize("fields, expected", [
    ({"kind": "choice", "choice_id": "menu:status", "choice_title": "Cek status laporan"},
     {"type": "interactive", "interactive": {"type": "list_reply",
                                             "list_reply": {"id": "menu:status", "title": "Cek status laporan"}}}),
    ({"kind": "choice", "choice_id": "confirm:yes", "choice_title": "Ya", "choice_type": "button"},
     {"type": "interactive", "interactive": {"type": "button_reply",
                                             "button_reply": {"id": "confirm:yes", "title": "Ya"}}}),
    ({"kind": "location", "latitude": "-6,30", "longitude": "107.30"},
     {"type": "location", "location": {"latitude": -6.30, "longitude": 107.30}}),
])
def test_a_choice_or_a_location_is_delivered_in_meta_s_shape(client, app, fields, expected):
    answer = client.post(SEND, json={"number": NUMBER, **fields}, headers=JSON)
    assert answer.status_code == 200, answer.text
    message = only_message(delivered(), app)
    assert {key: message[key] for key in expected} == expected


def test_a_photo_is_uploaded_to_the_fake_and_sent_by_its_media_id(client, app, graph_for_app):
    data = {"number": NUMBER, "kind": "photo", "text": "di depan pabrik",
            "photo": (io.BytesIO(small_png()), "foto.png", "image/png")}
    answer = client.post(SEND, data=data, content_type="multipart/form-data", headers=JSON)
    assert answer.status_code == 200, answer.text
    message = only_message(delivered(), app)
    assert message["type"] == "image"
    image = message["image"]
    assert (image["mime_type"], image["caption"]) == ("image/png", "di depan pabrik")
    # The fake serves the medium under that id, as Meta would to the bot.
    info = requests.get(f"{graph_for_app.url}/{app.config['WHATSAPP_API_VERSION']}/{image['id']}",
                        headers={"Authorization": f"Bearer {graph_for_app.token}"}, timeout=10).json()
    assert (info["mime_type"], info["file_size"]) == ("image/png", len(small_png()))


@pytest.mark.parametrize("number", ["", "12345", "nomor saya", "+1 (234) 567 890 123 456"])
def test_a_number_that_cannot_be_whatsapp_s_gets_a_clear_message_and_nothing_is_sent(client, number):
    answer = client.post(SEND, json={"number": number, "kind": "text", "text": "halo"}, headers=JSON)
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["ok"] is False and "WhatsApp" in body["error"] and NUMBER in body["error"]
    assert jobs.pending() == []


@pytest.mark.parametrize("fields, words", [
    ({"kind": "text", "text": "   "}, "message"),
    ({"kind": "choice"}, "Pick"),
    ({"kind": "location", "latitude": "-95", "longitude": "107.3"}, "latitude"),
    ({"kind": "location", "latitude": "selatan", "longitude": ""}, "latitude"),
    ({"kind": "photo"}, "photo"),
    ({"kind": "sticker"}, "kind of message"),
])
def test_input_that_makes_no_message_is_refused_with_a_reason(client, english, fields, words):
    answer = client.post(SEND, json={"number": NUMBER, **fields}, headers={**JSON, "Accept-Language": "en"})
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["ok"] is False and words in body["error"]
    assert jobs.pending() == []


def test_a_photo_without_the_fake_says_that_make_run_starts_it(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WHATSAPP_GRAPH_URL", "")
    data = {"number": NUMBER, "kind": "photo", "photo": (io.BytesIO(small_png()), "foto.png", "image/png")}
    answer = client.post(SEND, data=data, content_type="multipart/form-data", headers=JSON)
    assert answer.status_code == 503
    assert "make run" in answer.get_json()["error"]
    assert jobs.pending() == []


def test_a_webhook_refusal_is_reported_not_hidden(client, app, monkeypatch):
    # A simulator whose secret is not the webhook's: the real signature check refuses it.
    monkeypatch.setitem(app.config, "WHATSAPP_APP_SECRET", "")
    answer = client.post(SEND, json={"number": NUMBER, "kind": "text", "text": "halo"}, headers=JSON)
    assert answer.status_code == 502
    assert "401" in answer.get_json()["error"]
    assert jobs.pending() == []


# --- reading: the bot's side ----------------------------------------------------------------------

def test_the_bot_s_messages_are_read_from_the_fake_in_a_shape_the_page_draws(client, graph_for_app):
    sent = [Text("Halo!\nAda yang bisa kami bantu?"),
            Buttons("Kirim laporan ini?", (Choice("confirm:yes", "Ya, kirim"), Choice("confirm:no", "Ubah"))),
            Menu("Pilih layanan", "Pilih", (Choice("menu:status", "Cek status laporan", "Kirim kode pelacakan"),)),
            AskLocation("Bagikan lokasi kejadian."),
            Template("apoa_status_update", "id", ("ABCDE-FGHJK-MNPQ", "Diproses"))]
    for message in sent:
        graph.send_message(NUMBER, graph_payload(message))
    graph.send_message("6289999999999", graph_payload(Text("untuk orang lain")))

    answer = client.get(MESSAGES, query_string={"nomor": NUMBER, "after": 0})
    assert answer.status_code == 200
    body = answer.get_json()
    shown = body["messages"]
    assert body["ok"] is True and body["last"] == shown[-1]["seq"]
    assert [(m["kind"], m["text"]) for m in shown] == [
        ("text", "Halo!\nAda yang bisa kami bantu?"), ("buttons", "Kirim laporan ini?"),
        ("list", "Pilih layanan"), ("location_request", "Bagikan lokasi kejadian."), ("template", "")]
    assert shown[1]["choices"] == [{"id": "confirm:yes", "title": "Ya, kirim", "type": "button"},
                                   {"id": "confirm:no", "title": "Ubah", "type": "button"}]
    assert shown[2]["choices"] == [{"id": "menu:status", "title": "Cek status laporan",
                                    "description": "Kirim kode pelacakan", "type": "list"}]
    assert shown[2]["button"] == "Pilih"
    assert shown[4]["template"] == {"name": "apoa_status_update", "language": "id",
                                    "parameters": ["ABCDE-FGHJK-MNPQ", "Diproses"]}

    later = client.get(MESSAGES, query_string={"nomor": NUMBER, "after": body["last"]}).get_json()
    assert later == {"ok": True, "last": body["last"], "messages": []}


def test_reading_without_the_fake_or_for_a_bad_number_is_a_clear_error(client, app, monkeypatch):
    bad_number = client.get(MESSAGES, query_string={"nomor": "123"})
    assert bad_number.status_code == 400 and NUMBER in bad_number.get_json()["error"]
    monkeypatch.setitem(app.config, "WHATSAPP_GRAPH_URL", "")
    no_fake = client.get(MESSAGES, query_string={"nomor": NUMBER})
    assert no_fake.status_code == 503 and "make run" in no_fake.get_json()["error"]


def closed_port():
    """A port of 127.0.0.1 where nothing listens: bound for a moment, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_fake_that_does_not_answer_is_a_clear_error(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WHATSAPP_GRAPH_URL", f"http://127.0.0.1:{closed_port()}")
    answer = client.get(MESSAGES, query_string={"nomor": NUMBER})
    assert answer.status_code == 503 and "make run" in answer.get_json()["error"]


# --- the whole round ------------------------------------------------------------------------------

def test_halo_typed_on_the_page_comes_back_as_the_bot_s_menu(client, graph_for_app):
    assert client.post(SEND, json={"number": NUMBER, "kind": "text", "text": "halo"}, headers=JSON).status_code == 200
    jobs.run_pending()  # the delivery, then the sending of the replies, as the worker would
    shown = client.get(MESSAGES, query_string={"nomor": NUMBER}).get_json()["messages"]
    assert shown, graph_for_app.log()[-2000:]
    menu = shown[-1]
    assert menu["kind"] == "list"
    assert "menu:status" in [choice["id"] for choice in menu["choices"]]
