"""The worker behind `flask --app apoa jobs worker`: RQ's SimpleWorker on the app's queue.

SimpleWorker runs the jobs in the worker's own process, one after the other, inside the app
context the `flask` command already set up (apoa/jobs/runner.py pushes a fresh one per job): no
fork per job, so no database connection is ever shared between processes. RQ's own scheduler
(which puts jobs waiting for a retry back on the queue) is forked once; the engine's pool is
dropped in any forked child so that child never touches the parent's connections.
"""
import logging
import os

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from apoa.extensions import db
from apoa.jobs.heartbeats import Heartbeat
from apoa.jobs.queueing import job_queue, redis_client

log = logging.getLogger("apoa.jobs")


def run_worker(app, burst=False):
    """Work the queue until stopped (SIGTERM/SIGINT: finish the current job, then stop), or until
    it is empty with `burst`. Returns whether any job ran."""
    queue = job_queue(app)
    worker = SimpleWorker([queue], connection=redis_client(app), serializer=JSONSerializer)
    _drop_pool_in_forked_children(db.engine)
    heartbeat = Heartbeat(redis_client(app), queue.name, worker.name)
    heartbeat.start()
    log.info("worker %s on queue %s", worker.name, queue.name)
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level=app.config["LOG_LEVEL"])
    finally:
        heartbeat.stop()


def _drop_pool_in_forked_children(engine):
    # SQLAlchemy's advice for forks: the child forgets the parent's pooled connections (without
    # closing them, which would close the parent's too).
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
