"""`flask --app apoa jobs ...`: the worker, the scheduler and the queue's state."""
import signal
import threading
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import AppGroup

from apoa.jobs.monitor import QueueUnavailable, overview
from apoa.jobs.queueing import redis_client
from apoa.jobs.scheduler import Scheduler
from apoa.jobs.worker import run_worker

jobs_cli = AppGroup("jobs", help="The job queue: worker, scheduler and status.")


def _app_with_redis():
    app = current_app._get_current_object()
    if redis_client(app) is None:
        raise click.ClickException("APOA_REDIS_URL is not set: the job queue lives in Redis")
    return app


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
def worker_command(burst):
    """Run jobs from the queue (APOA_JOBS_QUEUE) until stopped; any number may run, anywhere."""
    run_worker(_app_with_redis(), burst=burst)


@jobs_cli.command("scheduler")
def scheduler_command():
    """Queue the periodic jobs when due (apoa/jobs/schedule.py); one leads, others stand by."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    Scheduler(_app_with_redis()).run(stop)


@jobs_cli.command("status")
def status_command():
    """Print the queue's length, the failed jobs, the workers' and the scheduler's last signs."""
    _app_with_redis()
    now = datetime.now(timezone.utc)
    try:
        state = overview()
    except QueueUnavailable as error:
        raise click.ClickException(str(error.message)) from None
    click.echo(f"queue {state.queue}: {state.waiting} waiting, {state.scheduled} waiting to retry, "
               f"{state.running} running, {state.failed_count} failed")
    for beat in state.workers:
        click.echo(f"worker {beat.name} on {beat.host} (pid {beat.pid}): "
                   f"last heartbeat {beat.age(now):.0f} s ago")
    if not state.workers:
        click.echo("no worker has been seen")
    leader = state.scheduler
    if leader:
        seconds = (now - leader["at"]).total_seconds()
        click.echo(f"scheduler {leader['name']}: last round {seconds:.0f} s ago")
    else:
        click.echo("no scheduler is running")
