"""The job queue (RQ on Redis): work that runs after a request, and periodic work.

    from apoa import jobs
    jobs.enqueue("apoa.notifications.jobs.send_pending_emails")   # after the commit
    jobs.enqueue(notify_new_report, report.id)                      # a function works too

- `enqueue(func, *args, **kwargs)`: queued once the current transaction commits, dropped if it
  rolls back (queueing.py); JSON-able arguments only: ids, never rows or contact details.
- A worker (`flask --app apoa jobs worker`) runs each job through runner.run: an app context, one
  commit after the function returns, a rollback if it raises, retries with growing waits
  (APOA config JOBS_RETRY_INTERVALS); a job that fails every time stays in RQ's failed registry
  with its input, for /admin/tugas to run again.
- `enqueue_now(func, *args)`: queued at once, True or False; for input that is in no database
  (the WhatsApp webhook answers 503 on False, so Meta delivers again).
- `flask --app apoa jobs scheduler` queues the periodic jobs of schedule.py.
- Tests: inside the suite's rolled-back transaction nothing reaches Redis; `pending()` lists what
  was committed and `run_pending()` runs it in the test's session.
"""
from apoa.jobs.queueing import QueuedCall, enqueue, enqueue_now, init_app, pending, run_pending

__all__ = ["QueuedCall", "enqueue", "enqueue_now", "init_app", "pending", "run_pending"]
