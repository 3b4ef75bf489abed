"""Fixtures of the job queue's own tests (those shared with every test are in worker.py)."""
import socket

import pytest

from apoa import create_app
from apoa.extensions import db
from tests.conftest import TEST_CONFIG, app_environ


@pytest.fixture
def closed_port():
    """A port of 127.0.0.1 where nothing listens: bound for a moment, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def other_app(app, database_url):
    """`other_app(config=None, **variables)`: an app on the test database with changed settings
    or APOA_* variables (a closed Redis port, a queue of its own, ...).

    Flask-Limiter keeps one storage for all apps, set by the app made last: at the end an app
    with the suite's own settings is made once more, so the next tests' limits work again."""
    made = []

    def make(config=None, **variables):
        environ = {**app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]), **variables}
        made.append(create_app({**TEST_CONFIG, **(config or {})}, environ=environ))
        return made[-1]
    yield make
    for each in made:
        with each.app_context():
            db.engine.dispose()
    if made:
        create_app(dict(TEST_CONFIG), environ=app_environ(database_url,
                                                          APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))
