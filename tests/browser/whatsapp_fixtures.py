"""Browser fixtures for the WhatsApp channel: the whole chain as `make run` starts it, around the
browser database (tests/browser/conftest.py).

- `whatsapp_live`: a second live server on the browser database whose app sends WhatsApp
  messages to the local fake of the Graph API (`fake_graph`, tests/whatsapp/fakegraph.py) and
  queues its jobs on a queue of its own, with a real job worker (tests/jobs/worker.py) on that
  queue and database. A message posted on the simulator page thus goes webhook → queue → worker
  (the conversation) → wa_outbound → worker (sending) → fake, and the page reads it back from the
  fake, as in development.
- `whatsapp_phone`: a phone-sized page on that server, watched like the `phone` fixture's.

Why a second app rather than the browser tests' `live_app`: that app is made without a Graph API
URL, and its queue is the run's test queue (`apoa-test-<pid>`), on which the jobs tests' worker
listens to the jobs database; a worker of the browser database on the same queue would take its
jobs. The second app differs from `live_app` only in those settings, so both serve the same data.
"""
import os

import pytest

from apoa import create_app
from apoa.extensions import db, limiter
from tests.browser.conftest import _watched_phone, served
from tests.browser.helpers import MIN_FILL_SECONDS
from tests.conftest import app_environ
from tests.jobs.worker import purge_queue, start_worker

# The fake Graph API's fixture (`fake_graph`), which these build on.
pytest_plugins = ["tests.whatsapp.fakegraph"]


def whatsapp_environ(fake_graph):
    """The APOA_* variables that point an app, or a worker, at the fake Graph API."""
    return {f"APOA_{name}": value for name, value in fake_graph.settings().items()}


@pytest.fixture(scope="session")
def whatsapp_live_app(live_app, browser_database_url, fake_graph):
    """The browser database's app, sending to the fake, with a job queue of its own. `live_app`
    comes first: it builds the database (migrations, regions, the Karawang office)."""
    environ = app_environ(browser_database_url, APOA_INSTANCE_DIR=live_app.config["INSTANCE_DIR"],
                          APOA_MIN_FILL_SECONDS=str(MIN_FILL_SECONDS),
                          APOA_JOBS_QUEUE=f"apoa-test-{os.getpid()}-whatsapp-browser",
                          **whatsapp_environ(fake_graph))
    app = create_app(environ=environ)
    assert app.config["WHATSAPP_SIMULATOR"], "the simulator page is on outside production"
    yield app
    purge_queue(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def whatsapp_worker(whatsapp_live_app, browser_database_url, fake_graph, tmp_path_factory):
    """A real `flask jobs worker` on the WhatsApp app's queue and the browser database."""
    worker = start_worker(whatsapp_live_app, browser_database_url, whatsapp_environ(fake_graph),
                          log_path=tmp_path_factory.mktemp("whatsapp-worker") / "worker.log")
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def whatsapp_server(whatsapp_live_app, whatsapp_worker):
    """The WhatsApp app served on a free port of 127.0.0.1, its worker running."""
    with served(whatsapp_live_app, "apoa-whatsapp-server") as server:
        yield server


@pytest.fixture
def whatsapp_live(whatsapp_server):
    """The WhatsApp live server with fresh rate limits."""
    with whatsapp_server.app.app_context():
        limiter.reset()
    return whatsapp_server


@pytest.fixture
def whatsapp_phone(chromium, whatsapp_live, whatsapp_worker, request):
    """A fresh phone-sized page that may only talk to the WhatsApp live server; checked for
    problems when the test passes, its screenshot (and the worker's log) kept when it fails."""
    context, device = _watched_phone(chromium, whatsapp_live)
    try:
        yield device
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.passed:
            assert device.problems() == [], "the page had problems the test did not check"
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            try:
                device.screenshot(f"failure-{request.node.name}")
                print(f"worker log (end):\n{whatsapp_worker.log()[-4000:]}")
            except Exception:  # noqa: BLE001 - a failed screenshot must not hide the real failure
                pass
        context.close()
