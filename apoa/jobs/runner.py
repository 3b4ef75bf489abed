"""What a worker runs for every job: the job's function inside an app context, with one commit
after it returns and a rollback if it raises (the job's "request"). RQ sees only `run`; the
function's dotted path is its first argument, so a failed job keeps what it was asked to do."""
import json
import logging
from functools import cache

from flask import current_app, has_app_context

from apoa.extensions import db
from apoa.jobs.queueing import resolve

log = logging.getLogger("apoa.jobs")


def run(path, *args, **kwargs):
    """Call the function at `path` with the job's arguments; commit once, or roll back and raise."""
    app = _application()
    with app.app_context():
        try:
            result = resolve(path)(*args, **kwargs)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
    return _plain(result)


def _application():
    # `flask jobs worker` runs inside the app's context; a bare `rq worker` gets an app of its own.
    if has_app_context():
        return current_app._get_current_object()
    return _own_app()


@cache
def _own_app():
    from apoa import create_app

    return create_app()


def _plain(result):
    """The result for RQ to keep (as JSON): counts and ids as they are; anything else is not kept,
    since its text could hold what a log must not."""
    try:
        json.dumps(result)
    except (TypeError, ValueError):
        return None
    return result
