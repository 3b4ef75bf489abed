"""The webhook as Meta uses it: the subscription check, signed deliveries, repeats, statuses and
deliveries that must never reach the conversation."""
import json

import pytest
from redis import Redis
from sqlalchemy import func, select

from apoa import jobs
from apoa.extensions import db
from apoa.jobs.queueing import EXTENSION
from apoa.whatsapp import meta
from apoa.whatsapp.models import Inbound, Outbound
from tests.whatsapp.conftest import WEBHOOK, post_delivery

NUMBER = "6281234567890"


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def delivery(app, *messages, **kwargs):
    return meta.delivery(app.config["WHATSAPP_PHONE_NUMBER_ID"], messages, sender=NUMBER, **kwargs)


def test_the_subscription_check_echoes_the_challenge_for_the_right_token(client, app):
    answer = client.get(WEBHOOK, query_string={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                               "hub.verify_token": app.config["WHATSAPP_VERIFY_TOKEN"]})
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    assert answer.mimetype == "text/plain"


def test_the_subscription_check_refuses_a_wrong_token_or_mode(client, app):
    wrong_token = client.get(WEBHOOK, query_string={"hub.mode": "subscribe", "hub.challenge": "1",
                                                    "hub.verify_token": "guess"})
    wrong_mode = client.get(WEBHOOK, query_string={"hub.mode": "unsubscribe", "hub.challenge": "1",
                                                   "hub.verify_token": app.config["WHATSAPP_VERIFY_TOKEN"]})
    assert wrong_token.status_code == 403 and "1" not in wrong_token.text.split()
    assert wrong_mode.status_code == 403


def test_an_unsigned_or_wrongly_signed_delivery_is_refused_and_nothing_is_kept(client, app):
    payload = delivery(app, meta.text_message(NUMBER, "halo"))
    raw = meta.encode(payload)
    unsigned = client.post(WEBHOOK, data=raw, content_type="application/json")
    forged = post_delivery(client, app, payload, secret="not-the-app-secret")
    tampered = client.post(WEBHOOK, data=raw.replace(b"halo", b"hallo"), content_type="application/json",
                           headers={meta.SIGNATURE_HEADER: meta.signature(raw, app.config["WHATSAPP_APP_SECRET"])})
    assert [unsigned.status_code, forged.status_code, tampered.status_code] == [401, 401, 401]
    assert jobs.pending() == []
    assert count(Inbound) == 0 and count(Outbound) == 0


def test_a_signed_delivery_is_acknowledged_at_once_and_handed_to_the_job_queue(client, app):
    answer = post_delivery(client, app, delivery(app, meta.text_message(NUMBER, "halo")))
    assert answer.status_code == 200
    assert [call.path for call in jobs.pending()] == ["apoa.whatsapp.inbound.handle_delivery"]
    assert count(Inbound) == 0  # nothing is read before the job runs
    jobs.run_pending()
    assert count(Inbound) == 1
    assert count(Outbound) >= 1  # the menu


def test_a_message_delivered_twice_is_answered_once(client, app):
    message = meta.text_message(NUMBER, "halo")
    for _ in range(2):
        assert post_delivery(client, app, delivery(app, message)).status_code == 200
    jobs.run_pending()
    first = count(Outbound)
    assert count(Inbound) == 1
    assert post_delivery(client, app, delivery(app, message)).status_code == 200
    jobs.run_pending()
    assert count(Outbound) == first


def test_a_delivery_that_is_not_json_or_not_ours_changes_nothing(client, app):
    raw = b"{not json"
    answer = client.post(WEBHOOK, data=raw, content_type="application/json",
                         headers={meta.SIGNATURE_HEADER: meta.signature(raw, app.config["WHATSAPP_APP_SECRET"])})
    assert answer.status_code == 200
    other_number = meta.delivery("999999999", [meta.text_message(NUMBER, "halo")], sender=NUMBER)
    assert post_delivery(client, app, other_number).status_code == 200
    jobs.run_pending()
    assert count(Inbound) == 0 and count(Outbound) == 0


def test_a_delivery_too_large_for_meta_is_refused(client, app):
    payload = delivery(app, meta.text_message(NUMBER, "x" * 300_000))
    assert post_delivery(client, app, payload).status_code == 413
    assert jobs.pending() == []


@pytest.mark.no_db_transaction
def test_the_webhook_answers_503_when_the_queue_cannot_take_the_delivery(app, monkeypatch):
    # The job queue's Redis refuses connections (nothing listens on port 9): Meta delivers again later.
    monkeypatch.setitem(app.extensions, EXTENSION, Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1))
    payload = meta.delivery(app.config["WHATSAPP_PHONE_NUMBER_ID"], [meta.text_message(NUMBER, "halo")],
                            sender=NUMBER)
    answer = post_delivery(app.test_client(), app, payload)
    assert answer.status_code == 503


def test_the_log_of_a_delivery_holds_neither_the_number_nor_the_text(client, app, caplog):
    caplog.set_level("DEBUG", logger="apoa")
    post_delivery(client, app, delivery(app, meta.text_message(NUMBER, "rahasia sekali")))
    jobs.run_pending()
    logged = caplog.text + json.dumps([r.args for r in caplog.records], default=str)
    assert NUMBER not in logged and NUMBER[2:] not in logged
    assert "rahasia" not in logged
