"""The worker dying in the middle of a conversation: the message it was handling is handled once,
by the next worker, and the conversation moves one step, not two and not none.

A real worker process handles the deliveries of its own queue on the jobs database. To kill it at
a known point, the test holds the conversation's row lock from another connection: the worker's
job has recorded the message id and waits for the lock inside its transaction; SIGKILL then ends
it there. RQ's maintenance later finds the job abandoned and retries it (the test runs that
maintenance at once rather than waiting for its round).
"""
import os
import signal
import time

import pytest
from rq.registry import StartedJobRegistry
from rq.scheduler import SCHEDULER_LOCKING_KEY_TEMPLATE
from sqlalchemy import create_engine, func, select, text

from apoa import create_app
from apoa.extensions import db
from apoa.jobs.queueing import job_queue
from apoa.whatsapp import meta
from apoa.whatsapp.models import Conversation, Inbound, Outbound
from apoa.whatsapp.numbers import sender_hash
from tests.conftest import app_environ
from tests.jobs.worker import JOBS_CONFIG, purge_queue, start_worker
from tests.whatsapp.conftest import post_delivery, reply_of

NUMBER = "6281299990001"


@pytest.fixture
def kill_app(jobs_app, jobs_database_url, tmp_path):
    """The jobs database's app on a queue of its own, so killing its worker touches no other test."""
    app = create_app({**JOBS_CONFIG, "JOBS_QUEUE": f"apoa-test-{os.getpid()}-whatsapp-kill"},
                     environ=app_environ(jobs_database_url, APOA_INSTANCE_DIR=str(tmp_path)))
    yield app
    purge_queue(app)
    with app.app_context():
        hashed = sender_hash(NUMBER)
        db.session.execute(Outbound.__table__.delete().where(Outbound.to_hash == hashed))
        db.session.execute(Inbound.__table__.delete().where(Inbound.sender_hash == hashed))
        db.session.execute(Conversation.__table__.delete().where(Conversation.sender_hash == hashed))
        db.session.commit()
        db.engine.dispose()


def replies_to(app, after_id=0):
    with app.app_context():
        rows = db.session.scalars(select(Outbound).where(Outbound.to_hash == sender_hash(NUMBER),
                                                         Outbound.id > after_id).order_by(Outbound.id)).all()
        return [(row.id, reply_of(row.payload).text) for row in rows]


def send(app, text_):
    message = meta.text_message(NUMBER, text_)
    payload = meta.delivery(app.config["WHATSAPP_PHONE_NUMBER_ID"], [message], sender=NUMBER)
    assert post_delivery(app.test_client(), app, payload).status_code == 200
    return message["id"]


def handled(app, message_id):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Inbound)
                                 .where(Inbound.message_id == message_id))


@pytest.mark.no_db_transaction
def test_a_message_whose_worker_was_killed_is_handled_once_by_the_next(kill_app, jobs_database_url, tmp_path):
    worker = start_worker(kill_app, jobs_database_url, log_path=tmp_path / "first.log")
    try:
        send(kill_app, "halo")
        worker.wait_until(lambda: replies_to(kill_app), what="the answer to the first message")
        first = replies_to(kill_app)
        engine = create_engine(kill_app.config["SQLALCHEMY_DATABASE_URI"])
        with kill_app.app_context():
            hashed = sender_hash(NUMBER)
        with engine.connect() as holder:
            holder.execute(text("SELECT 1 FROM wa_conversation WHERE sender_hash = :h FOR UPDATE"), {"h": hashed})
            second_id = send(kill_app, "menu")
            worker.wait_until(lambda: waiting_for_a_lock(holder), what="the job waiting for the conversation")
            kill_with_children(worker.process)
            holder.rollback()
        engine.dispose()
        assert handled(kill_app, second_id) == 0  # the killed job's transaction left nothing
        assert replies_to(kill_app, first[-1][0]) == []
        # What RQ's maintenance does in its own time: the killed scheduler's lease lapses (after a
        # minute) and the abandoned job is retried (at the next ten-minute round).
        queue = job_queue(kill_app)
        queue.connection.delete(SCHEDULER_LOCKING_KEY_TEMPLATE % queue.name)
        StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 10 ** 6)
        worker = start_worker(kill_app, jobs_database_url, log_path=tmp_path / "second.log")
        worker.wait_until(lambda: replies_to(kill_app, first[-1][0]), timeout=90, what="the answer after the restart")
        time.sleep(2)  # a second handling, were there one, would have answered by now
        again = replies_to(kill_app, first[-1][0])
        assert [reply for _id, reply in again] == [reply for _id, reply in first]
        assert handled(kill_app, second_id) == 1
    finally:
        worker.stop()


def waiting_for_a_lock(holder):
    return holder.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                               " AND datname = current_database()")).scalar() > 0


def kill_with_children(process):
    """SIGKILL the worker and the scheduler it forked, as a machine's crash would: the scheduler
    must not live on as an orphan."""
    children = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and parent_of(pid) == process.pid]
    process.kill()
    process.wait(timeout=10)
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
