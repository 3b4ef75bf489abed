"""/admin/tugas: an administrator sees the queue, the workers, the periodic jobs and the failed
jobs (input as ids and sizes only), and runs a failed job again with a CSRF-protected button."""
import os
import re
import uuid

import pytest
from rq import SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import select

from apoa import create_app
from apoa.audit.models import AuditEntry
from apoa.extensions import db
from apoa.jobs.queueing import QueuedCall, job_queue, send
from tests.conftest import TEST_CONFIG, TEST_PASSWORD, AuthActions, app_environ, totp_code
from tests.jobs.worker import find_failed, purge_queue


@pytest.fixture(scope="module")
def csrf_app(app, database_url):
    """The suite's app with CSRF checked, as in production (the suite's own switches it off)."""
    twin = create_app({**TEST_CONFIG, "WTF_CSRF_ENABLED": True},
                      environ=app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))
    yield twin
    with twin.app_context():
        db.engine.dispose()


def csrf_token(page):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def sign_in_with_csrf(app, user):
    client = app.test_client()
    client.post("/masuk", data={"email": user.email, "password": TEST_PASSWORD,
                                "csrf_token": csrf_token(client.get("/masuk").text)})
    answer = client.post("/masuk/kode", data={"code": totp_code(user),
                                              "csrf_token": csrf_token(client.get("/masuk/kode").text)})
    assert answer.status_code == 302, answer.text
    return client


def attempt_times(path):
    return [float(line) for line in path.read_text().split()]


def test_a_failed_job_is_shown_without_contact_details_and_try_again_runs_it(
        job_worker, csrf_app, make, db_session, tmp_path):
    cause, attempts, token = tmp_path / "cause", tmp_path / "attempts", uuid.uuid4().hex
    cause.write_text("the mail server is down")
    # Straight onto the real queue: this test's own transaction is rolled back, so whatever it
    # enqueued would only be held for it (jobs.pending()).
    send([QueuedCall("tests.jobs.targets.fail_while", (str(cause), str(attempts), 4242, token))],
         app=job_worker.app)
    job_worker.wait_until(lambda: find_failed(job_worker.app, token) is not None, what="the failure")
    failed = find_failed(job_worker.app, token)

    # Tried three times, waiting 1 s, then 4 s (JOBS_RETRY_INTERVALS of jobs_app): growing waits.
    # (RQ keeps the time of a retry in whole seconds: a wait may come up to a second short.)
    first, second, third = attempt_times(attempts)
    assert second - first < third - second and third - second >= 3

    admin = make.user("admin")
    client = sign_in_with_csrf(csrf_app, admin)
    page = client.get("/admin/tugas?lang=en")
    assert page.status_code == 200
    row = re.search(rf'<tr id="job-{failed.id}">.*?</tr>', page.text, re.S).group(0)
    assert "tests.jobs.targets.fail_while" in row and "4242" in row
    assert "RuntimeError: SMTP menolak […] untuk laporan 4242" in row
    assert token not in page.text and "contoh.id" not in page.text and str(tmp_path) not in page.text

    retry = f"/admin/tugas/gagal/{failed.id}/ulang"
    assert client.post(retry).status_code == 400          # no CSRF token: refused, nothing done
    assert find_failed(job_worker.app, token) is not None

    cause.unlink()                                        # the cause is fixed
    answer = client.post(retry + "?lang=en", data={"csrf_token": csrf_token(page.text)})
    assert answer.status_code == 303
    assert "tests.jobs.targets.fail_while is back in the queue" in client.get(answer.headers["Location"]).text

    def finished():
        job = Job.fetch(failed.id, connection=job_worker.queue.connection, serializer=job_worker.queue.serializer)
        return job.get_status() == JobStatus.FINISHED
    job_worker.wait_until(finished, what="the retried job's success")
    assert len(attempt_times(attempts)) == 4 and find_failed(job_worker.app, token) is None

    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "jobs.retry"))
    assert (entry.object, entry.actor_id) == (f"job:{failed.id}", admin.id)
    assert entry.detail == {"function": "tests.jobs.targets.fail_while"}


def test_the_page_lists_the_queue_workers_and_periodic_jobs(job_worker, make, sign_in):
    page = sign_in(make.user("admin")).get("/admin/tugas?lang=en").text
    assert "Background jobs" in page and "Workers" in page
    assert re.search(r'<tr class="worker">', page)        # the fixture's worker, fresh
    for path in ("apoa.notifications.jobs.send_pending_emails", "apoa.jobs.cleanup.delete_orphan_photos",
                 "apoa.maps.hotspots.refresh_hotspots"):
        assert path in page
    assert "every day at 07.00 WIB" in page and "every 5 minutes" in page


@pytest.mark.parametrize("role", ["officer", "supervisor", "regional_head", "resident"])
def test_only_administrators_see_the_page(role, make, sign_in, client):
    assert sign_in(make.user(role)).get("/admin/tugas").status_code == 404
    assert client.get("/admin/tugas").status_code == 404


def test_without_redis_the_page_says_so(make, other_app, closed_port):
    admin = make.user("admin")
    broken = other_app(APOA_REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    client = broken.test_client()
    AuthActions(client).login(admin)
    page = client.get("/admin/tugas?lang=en")
    assert page.status_code == 503 and "The job queue cannot be reached right now" in page.text


def test_flask_jobs_status_prints_the_queue_and_the_worker(job_worker, runner):
    result = runner.invoke(args=["jobs", "status"])
    assert result.exit_code == 0, result.output
    assert re.search(rf"queue {job_worker.queue.name}: \d+ waiting, \d+ waiting to retry, \d+ running, "
                     r"\d+ failed", result.output)
    assert re.search(r"worker \w+ on \S+ \(pid \d+\): last heartbeat \d+ s ago", result.output)


def test_delete_removes_a_failed_job_and_its_input_for_good(other_app, make, db_session, tmp_path):
    """A job without retries, failed by an in-process worker burst on a queue of its own."""
    app = other_app({"JOBS_QUEUE": f"apoa-test-{os.getpid()}-delete-{uuid.uuid4().hex[:6]}",
                     "JOBS_RETRY_INTERVALS": ()})
    (tmp_path / "cause").write_text("still broken")
    arguments = (str(tmp_path / "cause"), str(tmp_path / "attempts"), 7, "t")
    send([QueuedCall("tests.jobs.targets.fail_while", arguments)], app=app)
    with app.app_context():
        queue = job_queue()
        SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)
    try:
        failed = find_failed(app, "t")
        admin = make.user("admin")
        client = app.test_client()
        AuthActions(client).login(admin)
        assert client.post(f"/admin/tugas/gagal/{failed.id}/hapus").status_code == 303
        assert find_failed(app, "t") is None and not queue.connection.exists(failed.key)
        entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "jobs.delete"))
        assert (entry.object, entry.actor_id) == (f"job:{failed.id}", admin.id)
        again = client.post(f"/admin/tugas/gagal/{failed.id}/hapus?lang=en")
        assert "no longer among the failed jobs" in client.get(again.headers["Location"]).text
    finally:
        purge_queue(app)
