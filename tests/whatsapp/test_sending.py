"""Sending queued WhatsApp messages (apoa/whatsapp/sending.py) to the local fake of the Graph API, a
real process, with the rows in the real database: in order, retried with backoff on passing
failures, failed for good where WhatsApp refuses, followed by the status webhook, and never
logged with the number, the text or the token."""
import logging
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from apoa import jobs
from apoa.extensions import db
from apoa.jobs import runner
from apoa.jobs.queueing import QueuedCall
from apoa.whatsapp import sending
from apoa.whatsapp.messages import Buttons, Choice, Text, graph_payload
from apoa.whatsapp.models import EMPTIED_PAYLOAD, Outbound, SendState
from apoa.whatsapp.numbers import sender_hash
from apoa.whatsapp.outbound import SEND_BATCH, queue
from tests.jobs.worker import purge_queue, start_worker

NUMBER = "6281234567890"
TEXT = "Laporan Anda APOA-7Q2X sedang diproses oleh petugas kantor imigrasi."
QUESTION = Buttons("Apakah orang asing itu masih di lokasi?", (Choice("ya", "Masih"), Choice("tidak", "Sudah pergi")))
RATE_LIMIT_REASON = "HTTP 429, Meta error 130429"


@pytest.fixture
def queued(db_session):
    """`queued(*messages)`: the rows of one `outbound.queue()` call, committed (its job pending)."""
    def queued(*messages):
        rows = queue(NUMBER, list(messages or (Text(TEXT), QUESTION)), purpose="reply")
        db_session.commit()
        return rows
    return queued


@pytest.fixture
def app_log(caplog):
    """Records of the "apoa" loggers (they do not propagate to the root logger caplog watches)."""
    logger = logging.getLogger("apoa")
    caplog.set_level(logging.DEBUG, logger="apoa")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def run_job(ids):
    """Run send_batch as the worker does: its own app context, a commit after it, a rollback if it
    raises. Returns what the job returned; raises what it raised."""
    return runner.run(SEND_BATCH, ids)


def fresh(rows):
    for row in rows:
        db.session.refresh(row)
    return rows


def ids(rows):
    return [row.id for row in rows]


def test_a_batch_is_sent_in_order_and_each_row_keeps_its_wamid(graph_for_app, queued, clock):
    rows = queued()
    assert jobs.pending() == [QueuedCall(SEND_BATCH, (ids(rows),), {})]
    assert jobs.run_pending() == 1
    sent = graph_for_app.sent(to=NUMBER)
    assert [entry["payload"] for entry in sent] == [graph_payload(Text(TEXT)), graph_payload(QUESTION)]
    for row, entry in zip(fresh(rows), sent, strict=True):
        assert (row.state, row.wa_message_id, row.attempts, row.last_error) == ("sent", entry["id"], 1, None)
        assert row.sent_at == clock.now


def test_a_row_already_sent_is_not_sent_again(graph_for_app, queued):
    rows = queued()
    assert run_job(ids(rows)) == 2
    assert run_job(ids(rows)) == 0
    assert len(graph_for_app.sent()) == 2


def test_a_rate_limit_makes_the_job_retry_and_the_retry_keeps_the_order(graph_for_app, queued):
    first, second = queued()
    graph_for_app.fail_next(1, 429, retry_after=30)
    with pytest.raises(sending.RetryLater):
        run_job([first.id, second.id])
    fresh([first, second])
    assert (first.state, first.attempts, first.last_error) == ("queued", 1, RATE_LIMIT_REASON)
    assert (second.state, second.attempts) == ("queued", 0)   # not tried: it must not overtake the first
    assert graph_for_app.sent() == []

    assert run_job([first.id, second.id]) == 2                 # RQ's retry, after the backoff
    fresh([first, second])
    assert [(row.state, row.attempts) for row in (first, second)] == [("sent", 2), ("sent", 1)]
    assert [entry["id"] for entry in graph_for_app.sent()] == [first.wa_message_id, second.wa_message_id]


def test_a_failure_midway_resumes_after_what_was_sent(graph_for_app, queued):
    rows = queued(Text("satu"), Text("dua"), Text("tiga"))
    assert run_job(ids(rows[:1])) == 1                   # the first went earlier (another try)
    graph_for_app.fail_next(1, 500)
    with pytest.raises(sending.RetryLater):
        run_job(ids(rows))
    assert [row.state for row in fresh(rows)] == ["sent", "queued", "queued"]
    assert rows[1].last_error == "HTTP 500, Meta error 1"
    assert run_job(ids(rows)) == 2
    assert [entry["payload"]["text"]["body"] for entry in graph_for_app.sent()] == ["satu", "dua", "tiga"]


def test_after_every_try_the_row_fails_and_the_rest_of_the_batch_with_it(graph_for_app, queued, harness, monkeypatch):
    monkeypatch.setitem(harness.config, "JOBS_RETRY_INTERVALS", (1, 4))   # a job gets 3 tries
    first, second = queued()
    graph_for_app.fail_next(3, 500)
    for _try in range(2):
        with pytest.raises(sending.RetryLater):
            run_job([first.id, second.id])
    assert run_job([first.id, second.id]) == 0           # the last try: no exception, nothing sent
    fresh([first, second])
    assert (first.state, first.attempts, first.last_error) == ("failed", 3, "HTTP 500, Meta error 1")
    assert (second.state, second.attempts, second.last_error) == ("failed", 0, sending.EARLIER_FAILED)
    failed = db.session.scalars(select(Outbound.id).where(Outbound.state == SendState.failed.value)
                                .order_by(Outbound.id)).all()
    assert failed == [first.id, second.id]
    assert graph_for_app.sent() == []


def test_a_failed_row_sent_again_by_the_admin_goes(graph_for_app, queued, db_session, harness, monkeypatch):
    monkeypatch.setitem(harness.config, "JOBS_RETRY_INTERVALS", ())      # one try only
    first, second = queued()
    graph_for_app.fail_next(1, 500)
    assert jobs.run_pending() == 1
    assert [row.state for row in fresh([first, second])] == ["failed", "failed"]

    for row in (first, second):
        assert sending.resend(row.id) is row
        assert (row.state, row.attempts, row.last_error) == ("queued", 0, None)
        db_session.commit()
        assert jobs.pending() == [QueuedCall(SEND_BATCH, ([row.id],), {})]
        assert jobs.run_pending() == 1
    assert [row.state for row in fresh([first, second])] == ["sent", "sent"]
    assert [entry["id"] for entry in graph_for_app.sent()] == [first.wa_message_id, second.wa_message_id]


def test_sending_again_a_row_that_has_not_failed_does_nothing(graph_for_app, queued, db_session):
    rows = queued()
    jobs.run_pending()
    assert sending.resend(rows[0].id).state == "sent"
    db_session.commit()
    assert jobs.pending() == []


def test_a_refusal_for_good_fails_that_row_and_the_next_is_still_sent(graph_for_app, queued):
    first, second = queued()
    graph_for_app.fail_next(1, 400, code=131030)   # Meta: recipient not in the allowed list
    assert run_job([first.id, second.id]) == 1
    fresh([first, second])
    assert (first.state, first.attempts, first.last_error) == ("failed", 1, "HTTP 400, Meta error 131030")
    assert (second.state, second.attempts) == ("sent", 1)
    assert [entry["id"] for entry in graph_for_app.sent()] == [second.wa_message_id]


def test_a_sent_message_keeps_no_text_and_a_failed_one_keeps_it_for_sending_again(graph_for_app, queued):
    # A receipt's text names the tracking code: kept beside the number it would tie an anonymous
    # report to its reporter.
    first, second = queued()
    graph_for_app.fail_next(1, 400, code=131030)
    run_job([first.id, second.id])
    fresh([first, second])
    assert first.payload == graph_payload(Text(TEXT))
    assert second.payload == EMPTIED_PAYLOAD


def test_a_wrong_token_fails_every_row_without_a_retry(graph_for_app, queued, harness, monkeypatch):
    monkeypatch.setitem(harness.config, "WHATSAPP_TOKEN", "not-the-token-123")
    rows = queued()
    assert run_job(ids(rows)) == 0
    assert [(row.state, row.last_error) for row in fresh(rows)] == [("failed", "HTTP 401, Meta error 190")] * 2


def test_without_a_graph_url_the_rows_wait_queued(queued, harness, monkeypatch, app_log):
    monkeypatch.setitem(harness.config, "WHATSAPP_GRAPH_URL", "")
    rows = queued()
    assert run_job(ids(rows)) == 0
    assert [(row.state, row.attempts) for row in fresh(rows)] == [("queued", 0)] * 2
    warnings = [record for record in app_log.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no Graph API URL" in warnings[0].getMessage()


# --- the status webhook ---------------------------------------------------------------------------

def test_statuses_move_forward_only(graph_for_app, queued, clock):
    row, _other = queued()
    jobs.run_pending()
    wamid, at = fresh([row])[0].wa_message_id, clock.now
    steps = [("delivered", at + timedelta(seconds=2), "delivered"),
             ("sent", at + timedelta(seconds=3), "delivered"),      # late: never backwards
             ("read", at + timedelta(seconds=4), "read"),
             ("delivered", at + timedelta(seconds=5), "read"),
             ("failed", at + timedelta(seconds=6), "read"),         # a read message did arrive
             ("deleted", at + timedelta(seconds=7), "read")]        # not a status we know
    for state, when, expected in steps:
        assert sending.record_status(wamid, state, when) is row
        assert row.state == expected
    assert row.status_at == at + timedelta(seconds=4)


def test_a_failed_status_marks_a_sent_row_undeliverable(graph_for_app, queued, clock):
    row, _other = queued()
    jobs.run_pending()
    sending.record_status(row.wa_message_id, "failed", clock.now, error_code=131026)
    assert (row.state, row.last_error, row.status_at) == ("failed", "undeliverable (Meta error 131026)", clock.now)


def test_a_status_of_an_unknown_message_is_ignored(db_session, clock):
    assert sending.record_status("wamid.NOTOURS", "delivered", clock.now) is None


# --- privacy ---------------------------------------------------------------------------------------

def test_no_number_text_or_token_reaches_the_logs(graph_for_app, queued, harness, app_log):
    rows = queued(Text(TEXT), QUESTION, Text(TEXT + " (2)"))
    graph_for_app.fail_next(1, 429, retry_after=5)
    with pytest.raises(sending.RetryLater) as retry:
        run_job(ids(rows))
    graph_for_app.fail_next(1, 400, code=131030)
    run_job(ids(rows))
    assert [row.state for row in fresh(rows)] == ["failed", "sent", "sent"]
    logged = app_log.text + str(retry.value)
    assert f"WhatsApp message {rows[0].id} not sent ({RATE_LIMIT_REASON}, retry after 5 s)" in logged
    assert f"WhatsApp message {rows[1].id} sent" in logged           # the log is seen...
    secrets = (NUMBER, "+62 812", "812-3456", TEXT[:20], QUESTION.body[:20], "Sudah pergi",
               harness.config["WHATSAPP_TOKEN"])
    for secret in secrets:
        assert secret not in logged                                  # ...and holds none of them


# --- in a real worker: RQ's retries and the rows' tries agree ------------------------------------------

WORKER_NUMBER = "6285700001111"


@pytest.fixture
def wa_worker(fake_graph, jobs_app, jobs_database_url, tmp_path, monkeypatch):
    """A real worker sending to the fake, on the jobs database and a queue of its own, which the
    jobs app (retries after 1 and 4 seconds) queues to during the test. Its rows are deleted at the
    end."""
    app = jobs_app
    monkeypatch.setitem(app.config, "JOBS_QUEUE", f"{app.config['JOBS_QUEUE']}-whatsapp")
    environ = {"APOA_WHATSAPP_GRAPH_URL": fake_graph.url, "APOA_WHATSAPP_TOKEN": fake_graph.token,
               "APOA_WHATSAPP_PHONE_NUMBER_ID": fake_graph.phone_number_id}
    worker = start_worker(app, jobs_database_url, environ, log_path=tmp_path / "worker.log")
    fake_graph.clear()
    yield worker
    worker.stop()
    fake_graph.clear()
    purge_queue(app)
    with app.app_context():
        db.session.execute(delete(Outbound).where(Outbound.to_hash == sender_hash(WORKER_NUMBER)))
        db.session.commit()
        db.session.remove()


def worker_rows(app, outbound_ids):
    with app.app_context():
        rows = db.session.scalars(select(Outbound).where(Outbound.id.in_(outbound_ids)).order_by(Outbound.id)).all()
        found = [(row.state, row.attempts, row.last_error) for row in rows]
        db.session.remove()
    return found


def queue_in(app, *messages):
    with app.app_context():
        rows = queue(WORKER_NUMBER, list(messages), purpose="reply")
        db.session.commit()
        found = ids(rows)
        db.session.remove()
    return found


@pytest.mark.slow
@pytest.mark.no_db_transaction
def test_in_the_worker_a_rate_limit_is_retried_and_the_last_try_fails_the_row(wa_worker, fake_graph):
    app = wa_worker.app
    fake_graph.fail_next(1, 429, retry_after=1)
    first = queue_in(app, Text("satu"), Text("dua"))
    wa_worker.wait_until(lambda: [state for state, _n, _e in worker_rows(app, first)] == ["sent", "sent"],
                         what="the batch sent after one retry")
    assert worker_rows(app, first) == [("sent", 2, None), ("sent", 1, None)]

    fake_graph.fail_next(3, 500)                  # the job gets 3 tries: each of them fails
    second = queue_in(app, Text("tiga"), Text("empat"))
    wa_worker.wait_until(lambda: worker_rows(app, second)[0][0] == "failed", timeout=40,
                         what="the row failed after the last try")
    assert worker_rows(app, second) == [("failed", 3, "HTTP 500, Meta error 1"),
                                        ("failed", 0, sending.EARLIER_FAILED)]
    assert [entry["payload"]["text"]["body"] for entry in fake_graph.sent(to=WORKER_NUMBER)] == ["satu", "dua"]
