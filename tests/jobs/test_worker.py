"""The real worker (`flask --app apoa jobs worker`, started by the job_worker fixture) runs queued
jobs against committed data, commits once, rolls back and retries with growing waits on failure,
and leaves a job that failed every time in RQ's failed registry with its input."""
import uuid

import pytest
from rq.job import JobStatus
from sqlalchemy import select, text

from apoa import jobs
from apoa.extensions import db
from apoa.regions.models import Office
from tests.jobs.worker import find_failed

pytestmark = pytest.mark.no_db_transaction


def office_exists(app, code):
    with app.app_context():
        found = db.session.scalar(select(Office.id).where(Office.code == code))
        db.session.remove()
    return found is not None


def test_a_job_runs_in_the_worker_and_its_write_is_committed(job_worker):
    app, code = job_worker.app, f"JOB-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        jobs.enqueue("tests.jobs.targets.add_office", code)
        db.session.commit()
        db.session.remove()
    job_worker.wait_until(lambda: office_exists(app, code), what="the job's office")


def test_a_failing_job_is_retried_rolled_back_and_kept_with_its_input(job_worker):
    app, code = job_worker.app, f"FAIL-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        jobs.enqueue("tests.jobs.targets.add_office_then_fail", code)
    job_worker.wait_until(lambda: find_failed(app, code) is not None, what="the job's last failure")
    job = find_failed(app, code)
    assert job.get_status() == JobStatus.FAILED and job.retries_left == 0
    assert job.args == ["tests.jobs.targets.add_office_then_fail", code]
    assert "RuntimeError: gagal setelah menulis" in job.latest_result().exc_string
    assert not office_exists(app, code)      # each attempt's write was rolled back
