"""The notifications' jobs. The worker runs each in an app context and commits once when it
returns (apoa/jobs/runner.py); the scheduler calls the first three by these dotted paths
(apoa/jobs/schedule.py). Each returns a count for RQ to keep, never names or addresses."""
from datetime import datetime, timezone

from apoa import jobs
from apoa.notifications import mail, services


def notify_due_soon_and_overdue():
    """Every 5 minutes: reports due within 4 hours, and those gone overdue."""
    scan = services.notify_due(now())
    return {"due_soon": scan.due_soon, "overdue": scan.overdue}


def send_pending_emails():
    """After each commit that made notifications, and every minute as a sweep: the mails of users
    who want each one."""
    return mail.send_each_pending(now())


def send_daily_digests():
    """Daily at 07.00 WIB: one job per user who wants a digest, so that one failed mail is
    retried alone and a sent one is never sent again."""
    users = mail.digest_recipients(now())
    for user_id in users:
        jobs.enqueue(send_digest, user_id)
    return len(users)


def send_digest(user_id):
    return mail.send_digest(user_id, now())


def now():
    return datetime.now(timezone.utc)
