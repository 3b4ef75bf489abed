"""Fixtures for the job queue, available to every test (`pytest_plugins` in tests/conftest.py).

A worker runs jobs in another process, so it sees only committed data: the jobs get a database of
their own, `<test database>_jobs`, built by the migrations once per run (without the regions;
ask for `jobs_regions` to have them imported) and dropped at the end.

- `jobs_app`: the app on that database, CSRF on, retries after 1 and 4 seconds. Tests that write
  to it are marked `no_db_transaction` (otherwise `db.session` is the suite's rolled-back one).
- `job_worker`: a real `flask --app apoa jobs worker` process on this run's queue
  (APOA_JOBS_QUEUE = the test apps' own `apoa-test-<pid>`, so two runs sharing one Redis never
  take each other's jobs), started once, stopped at the end. Extra environment for it (SMTP
  settings, ...) comes from the `job_worker_environ` fixture, which a top-level plugin or
  conftest may override.
- `start_worker(app, database_url, environ)`: another worker, e.g. for another database (give
  that app its own JOBS_QUEUE).
"""
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask_migrate import upgrade
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import (CanceledJobRegistry, DeferredJobRegistry, FailedJobRegistry,
                         FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry)

from apoa import create_app
from apoa.extensions import db
from apoa.jobs import heartbeats
from apoa.jobs.queueing import job_queue, redis_client
from apoa.regions import importer
from apoa.regions.cli import STANDARD_FILES
from tests.conftest import (REGIONS_DIR, app_environ, drop_database, recreate_database,
                            resolve_test_database_url)

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_START_SECONDS = 30
JOBS_CONFIG = {"JOBS_RETRY_INTERVALS": (1, 4),
               "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"LIMITS-test-{os.getpid()}-jobs"}}
REGISTRIES = (FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry, FinishedJobRegistry,
              DeferredJobRegistry, CanceledJobRegistry)


@pytest.fixture(scope="session")
def jobs_database_url():
    """`<test database>_jobs`, created afresh for the run and dropped at its end."""
    url = resolve_test_database_url()
    url = url.set(database=f"{url.database}_jobs")
    recreate_database(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def jobs_app(jobs_database_url, tmp_path_factory):
    """The app on the jobs database (schema from the migrations, no regions), CSRF on. Its queue
    is emptied, failed jobs included, at the end of the run."""
    instance = tmp_path_factory.mktemp("jobs-instance")
    app = create_app(dict(JOBS_CONFIG), environ=app_environ(jobs_database_url,
                                                            APOA_INSTANCE_DIR=str(instance)))
    with app.app_context():
        upgrade()
        db.session.remove()
    yield app
    purge_queue(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def jobs_regions(jobs_app):
    """The real region boundaries in the jobs database (about 10 s, once per run)."""
    with jobs_app.app_context():
        importer.import_regions([REGIONS_DIR / name for name in STANDARD_FILES])
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="session")
def job_worker_environ():
    """Extra environment variables for the worker process (override to add, e.g., SMTP)."""
    return {}


@pytest.fixture(scope="session")
def job_worker(jobs_app, jobs_database_url, job_worker_environ, tmp_path_factory):
    """A real worker process on this run's queue and the jobs database, for the whole run."""
    worker = start_worker(jobs_app, jobs_database_url, job_worker_environ,
                          log_path=tmp_path_factory.mktemp("jobs-worker") / "worker.log")
    yield worker
    worker.stop()


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    app: object
    log_path: Path

    @property
    def queue(self):
        return job_queue(self.app)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_until(self, condition, timeout=30, what="the condition"):
        """Poll `condition()` until it is true; fail with the worker's log after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}):\n{self.log()}")
            time.sleep(0.1)
        pytest.fail(f"{what} did not happen within {timeout} s; worker log:\n{self.log()[-4000:]}")

    def stop(self):
        """Stop as an operator would (SIGTERM: finish the job at hand), kill if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_worker(app, database_url, environ=None, log_path=None):
    """Start `flask --app apoa jobs worker` for `app`'s queue on `database_url`; return once its
    first heartbeat is in Redis."""
    env = {**os.environ, **app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]),
           "APOA_JOBS_QUEUE": app.config["JOBS_QUEUE"], "APOA_LOG_LEVEL": "INFO",
           "PYTHONPATH": str(REPO_ROOT), "FLASK_SKIP_DOTENV": "1", **(environ or {})}
    log_path = Path(log_path or REPO_ROOT / "test-artifacts" / "worker.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "apoa", "jobs", "worker"],
                                   cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    worker = WorkerProcess(process=process, app=app, log_path=log_path)
    names_before = {beat.name for beat in _beats(app)}
    worker.wait_until(lambda: {beat.name for beat in _beats(app)} - names_before,
                      timeout=WORKER_START_SECONDS, what="the worker's first heartbeat")
    return worker


def _beats(app):
    return heartbeats.workers(redis_client(app), app.config["JOBS_QUEUE"])


def purge_queue(app):
    """Delete the queue of `app`, every job in its registries and its apoa:jobs:<queue>: keys."""
    queue = job_queue(app)
    if queue is None:
        return
    connection = queue.connection
    for registry_class in REGISTRIES:
        registry = registry_class(queue=queue)
        for job_id in registry.get_job_ids():
            registry.remove(job_id)
            try:
                Job.fetch(job_id, connection=connection, serializer=queue.serializer).delete()
            except NoSuchJobError:
                pass
    queue.delete(delete_jobs=True)
    pattern = heartbeats.prefix(queue.name).replace("*", "\\*") + "*"
    for key in connection.scan_iter(match=pattern, count=500):
        connection.delete(key)


def find_failed(app, token):
    """The failed job of `app`'s queue whose arguments include `token`, or None."""
    registry = FailedJobRegistry(queue=job_queue(app))
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=registry.connection, serializer=registry.serializer)
        if token in (job.args or []):
            return job
    return None
