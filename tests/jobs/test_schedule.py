"""The periodic jobs: when each runs, and the scheduler that queues them (one leader at a time,
a missing target skipped, a job still waiting not queued twice)."""
import logging
import os
import re
import uuid
from datetime import datetime, time, timedelta, timezone

import pytest

from apoa.jobs.queueing import job_queue
from apoa.jobs.schedule import SCHEDULE, TIME_ZONE, Periodic
from apoa.jobs.scheduler import Scheduler
from tests.conftest import AuthActions
from tests.jobs.worker import purge_queue

WIB = TIME_ZONE
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)      # 16.00 WIB
EVERY_MINUTE = Periodic("tests.jobs.targets.add_office", every=timedelta(minutes=1))
DAILY = Periodic("tests.jobs.targets.fail_while", daily_at=time(7, 0))
MISSING = Periodic("apoa.nowhere.jobs.nothing", every=timedelta(minutes=5))


def test_the_table_names_every_periodic_job():
    assert {entry.path: entry.every or entry.daily_at for entry in SCHEDULE} == {
        "apoa.notifications.jobs.notify_due_soon_and_overdue": timedelta(minutes=5),
        "apoa.notifications.jobs.send_pending_emails": timedelta(minutes=1),
        "apoa.notifications.jobs.send_daily_digests": time(7, 0),
        "apoa.jobs.cleanup.delete_orphan_photos": timedelta(hours=1),
        "apoa.maps.hotspots.refresh_hotspots": timedelta(minutes=5),
        "apoa.whatsapp.conversation.expire_idle": timedelta(minutes=10),
        "apoa.whatsapp.housekeeping.send_lost_messages": timedelta(minutes=5),
        "apoa.whatsapp.housekeeping.forget_old_messages": time(3, 30),
        "apoa.guests.retention.delete_old_stays": time(2, 30),
        "apoa.privacy.retention.run_retention": time(2, 30),
        "apoa.guests.uploads.purge_abandoned_uploads": timedelta(hours=1),
        "apoa.privacy.request_export.purge_expired_exports": timedelta(hours=1),
        "apoa.audit.chain.chain_pending": timedelta(minutes=1),
        "apoa.summaries.stored.fill_month_figures": timedelta(minutes=15),
    }


@pytest.mark.parametrize("now, expected", [
    (datetime(2026, 12, 4, 6, 59, tzinfo=WIB), datetime(2026, 12, 4, 7, 0, tzinfo=WIB)),
    (datetime(2026, 12, 4, 7, 0, tzinfo=WIB), datetime(2026, 12, 5, 7, 0, tzinfo=WIB)),
    (datetime(2026, 12, 31, 23, 30, tzinfo=WIB), datetime(2027, 1, 1, 7, 0, tzinfo=WIB)),
    (datetime(2028, 2, 28, 8, 0, tzinfo=WIB), datetime(2028, 2, 29, 7, 0, tzinfo=WIB)),
    # 23.30 UTC on 3 December is already 06.30 WIB on the 4th.
    (datetime(2026, 12, 3, 23, 30, tzinfo=timezone.utc), datetime(2026, 12, 4, 7, 0, tzinfo=WIB)),
])
def test_the_daily_digest_runs_at_seven_in_jakarta(now, expected):
    assert DAILY.next_after(now) == expected
    assert DAILY.first_run(now) == expected


def test_an_interval_job_runs_at_once_then_every_interval():
    assert EVERY_MINUTE.first_run(T0) == T0
    assert EVERY_MINUTE.next_after(T0) == T0 + timedelta(minutes=1)


@pytest.fixture
def scheduler_app(other_app):
    """An app with a queue of its own that no worker reads, emptied at the end."""
    app = other_app({"JOBS_QUEUE": f"apoa-test-{os.getpid()}-schedule-{uuid.uuid4().hex[:6]}"})
    yield app
    purge_queue(app)


def queued_paths(app):
    return [job.args[0] for job in job_queue(app).jobs]


def test_one_scheduler_leads_and_queues_what_is_due(scheduler_app):
    first = Scheduler(scheduler_app, entries=(EVERY_MINUTE, DAILY))
    second = Scheduler(scheduler_app, entries=(EVERY_MINUTE, DAILY))
    assert first.tick(T0) == [EVERY_MINUTE.path]      # the daily job waits for 07.00 WIB
    assert second.tick(T0) == []                       # not the leader
    assert first.tick(T0 + timedelta(seconds=30)) == []
    # A minute later the previous run still waits in the queue (no worker): not queued again.
    assert first.tick(T0 + timedelta(minutes=1)) == []
    job_queue(scheduler_app).empty()                    # a worker took it
    assert first.tick(T0 + timedelta(minutes=2)) == [EVERY_MINUTE.path]

    first.release()                                     # it stops: the other takes over ...
    assert second.tick(T0 + timedelta(minutes=2, seconds=5)) == []   # ... where it left off
    tomorrow_seven = datetime(2026, 12, 5, 7, 0, tzinfo=WIB)
    job_queue(scheduler_app).empty()
    assert second.tick(tomorrow_seven) == [EVERY_MINUTE.path, DAILY.path]
    assert queued_paths(scheduler_app).count(DAILY.path) == 1


def test_a_job_that_cannot_be_imported_is_logged_and_the_rest_run(scheduler_app, caplog):
    scheduler = Scheduler(scheduler_app, entries=(MISSING, EVERY_MINUTE))
    with caplog.at_level(logging.ERROR, logger="apoa.jobs"):
        assert scheduler.tick(T0) == [EVERY_MINUTE.path]
    assert "apoa.nowhere.jobs.nothing" in caplog.text
    assert queued_paths(scheduler_app) == [EVERY_MINUTE.path]
    scheduler.release()


def test_the_admin_page_shows_the_next_runs(scheduler_app, make):
    scheduler = Scheduler(scheduler_app)
    scheduler.tick(T0)
    scheduler.release()
    client = scheduler_app.test_client()
    AuthActions(client).login(make.user("admin"))
    page = client.get("/admin/tugas?lang=en").text
    # 07.00 WIB the next day for the digest; the interval jobs one interval after T0 (16.00 WIB).
    assert next_run_shown(page, "apoa.notifications.jobs.send_daily_digests").startswith("12/5/26, 7:00")
    assert next_run_shown(page, "apoa.maps.hotspots.refresh_hotspots").startswith("12/4/26, 4:05")
    assert next_run_shown(page, "apoa.jobs.cleanup.delete_orphan_photos").startswith("12/4/26, 5:00")


def next_run_shown(page, path):
    row = re.search(rf"{re.escape(path)}</span></td>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>([^<]*)</td>", page)
    return row.group(1)
