"""A job is queued when the transaction that asked for it commits, and never when it rolls back."""
import os
import uuid

import pytest
from sqlalchemy import select, text

from apoa import create_app, jobs
from apoa.extensions import db
from apoa.jobs.queueing import QueuedCall, job_queue
from apoa.regions.models import Office
from tests.conftest import TEST_CONFIG, app_environ
from tests.jobs.worker import purge_queue

TARGET = "tests.jobs.targets.add_office"


def test_a_commit_queues_the_job_and_the_test_sees_it(db_session):
    db_session.execute(text("SELECT 1"))
    jobs.enqueue(TARGET, "KODE-1")
    assert jobs.pending() == []          # nothing before the commit
    db_session.commit()
    assert jobs.pending() == [QueuedCall(TARGET, ("KODE-1",), {})]


def test_a_rollback_queues_nothing(db_session):
    db_session.execute(text("SELECT 1"))
    jobs.enqueue(TARGET, "KODE-1")
    db_session.rollback()
    db_session.commit()
    assert jobs.pending() == []


def test_a_savepoint_rolled_back_drops_only_its_own_jobs(db_session):
    db_session.execute(text("SELECT 1"))
    jobs.enqueue(TARGET, "BEFORE")
    savepoint = db_session.begin_nested()
    jobs.enqueue(TARGET, "INSIDE")
    savepoint.rollback()
    with db_session.begin_nested():
        jobs.enqueue(TARGET, "RELEASED")
    assert jobs.pending() == []          # a released savepoint is not a commit
    db_session.commit()
    assert [call.args for call in jobs.pending()] == [("BEFORE",), ("RELEASED",)]


def test_a_function_is_named_by_its_path_and_arguments_must_be_json(db_session):
    from tests.jobs.targets import add_office

    db_session.execute(text("SELECT 1"))
    assert jobs.enqueue(add_office, "X").path == TARGET
    with pytest.raises(TypeError, match="JSON"):
        jobs.enqueue(TARGET, object())


def test_run_pending_runs_the_jobs_in_the_test_session(db_session):
    db_session.execute(text("SELECT 1"))
    jobs.enqueue(TARGET, "KODE-RUN")
    db_session.commit()
    assert jobs.run_pending() == 1
    assert db_session.scalar(select(Office.code).where(Office.code == "KODE-RUN")) == "KODE-RUN"
    assert jobs.pending() == []


@pytest.fixture
def quiet_app(jobs_app, jobs_database_url):
    """An app on the jobs database whose queue no worker reads: what gets queued stays there."""
    config = {**TEST_CONFIG, "JOBS_QUEUE": f"apoa-test-{os.getpid()}-quiet-{uuid.uuid4().hex[:6]}"}
    app = create_app(config, environ=app_environ(jobs_database_url,
                                                 APOA_INSTANCE_DIR=jobs_app.config["INSTANCE_DIR"]))
    yield app
    purge_queue(app)
    with app.app_context():
        db.engine.dispose()


@pytest.mark.no_db_transaction
def test_with_a_real_transaction_redis_gets_the_job_at_the_commit(quiet_app):
    with quiet_app.app_context():
        queue = job_queue()
        db.session.execute(text("SELECT 1"))
        jobs.enqueue(TARGET, "KODE-2")
        assert queue.count == 0
        db.session.commit()
        assert queue.count == 1
        job = queue.jobs[0]
        assert job.args == ["tests.jobs.targets.add_office", "KODE-2"]
        assert job.retries_left == 4           # JOBS_RETRY_INTERVALS of the default config

        db.session.execute(text("SELECT 1"))
        jobs.enqueue(TARGET, "KODE-3")
        db.session.rollback()
        db.session.commit()
        assert queue.count == 1

        jobs.enqueue(TARGET, "KODE-4")         # outside any transaction: at once
        assert queue.count == 2
        db.session.remove()


def test_outside_a_transaction_the_test_holds_the_job_too(db_session):
    db_session.commit()
    assert not db_session().in_transaction()
    jobs.enqueue(TARGET, "KODE-5")
    assert jobs.pending() == [QueuedCall(TARGET, ("KODE-5",), {})]
