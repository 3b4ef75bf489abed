"""The local fake of the WhatsApp Graph API for tests (a plugin: `pytest_plugins` in tests/conftest.py).

- `fake_graph`: a real `python -m apoa.whatsapp.fake_graph` process on a free port of 127.0.0.1,
  started once per run, stopped at its end. `.settings()` are the app's WHATSAPP_* settings for it;
  `.sent(to=None)` what it accepted (oldest first: {"seq", "id", "to", "payload", "at"});
  `.upload_media(data, mime)` a medium a resident "sent", by its media id; `.fail_next(count,
  status, retry_after=None, code=None)` makes the next sends fail as Meta does; `.clear()` forgets
  what was sent and the failures planned.
- `graph_for_app`: this test's app (its requests and the jobs the test runs) sends to the fake,
  which starts empty.
"""
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from tests.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 30
TOKEN = "test-graph-token-5f0c2a9e"
PHONE_NUMBER_ID = "100000000000042"
CONTROL_TIMEOUT = 10


@dataclass
class FakeGraph:
    url: str
    token: str
    phone_number_id: str
    process: subprocess.Popen
    log_path: Path

    def settings(self):
        """The app's settings that point it at this fake."""
        return {"WHATSAPP_GRAPH_URL": self.url, "WHATSAPP_TOKEN": self.token,
                "WHATSAPP_PHONE_NUMBER_ID": self.phone_number_id}

    def sent(self, to=None):
        """The messages the fake accepted, oldest first; only those to `to` (digits)."""
        answer = requests.get(f"{self.url}/_fake/sent", params={"to": to} if to else None,
                              timeout=CONTROL_TIMEOUT)
        answer.raise_for_status()
        return answer.json()["messages"]

    def upload_media(self, data, mime):
        answer = requests.post(f"{self.url}/_fake/media", data=data, headers={"Content-Type": mime},
                               timeout=CONTROL_TIMEOUT)
        answer.raise_for_status()
        return answer.json()["id"]

    def fail_next(self, count, status, retry_after=None, code=None):
        """The next `count` sends fail with HTTP `status` (429: Meta's code 130429 and a
        Retry-After header of `retry_after` seconds; or Meta's `code` if given)."""
        plan = {"count": count, "status": status, "retry_after": retry_after, "code": code}
        requests.post(f"{self.url}/_fake/fail", json=plan, timeout=CONTROL_TIMEOUT).raise_for_status()

    def clear(self):
        requests.delete(f"{self.url}/_fake/sent", timeout=CONTROL_TIMEOUT).raise_for_status()
        self.fail_next(0, 500)

    def log(self):
        return self.log_path.read_text(errors="replace")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_fake_graph(directory, webhook=None, app_secret=None):
    """Start the fake with its data and log under `directory` (posting status updates to `webhook`,
    signed with `app_secret`, if given); return once it answers."""
    port = free_port()
    log_path = directory / "fake-graph.log"
    command = [sys.executable, "-m", "apoa.whatsapp.fake_graph", "--host", "127.0.0.1", "--port", str(port),
               "--data", str(directory / "data"), "--token", TOKEN, "--phone-number-id", PHONE_NUMBER_ID]
    if webhook:
        command += ["--webhook", webhook, "--app-secret", app_secret]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                                   stdout=log_file, stderr=subprocess.STDOUT)
    fake = FakeGraph(f"http://127.0.0.1:{port}", TOKEN, PHONE_NUMBER_ID, process, log_path)
    _wait_until_healthy(fake)
    return fake


def _wait_until_healthy(fake):
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if fake.process.poll() is not None:
            pytest.fail(f"the fake Graph API exited ({fake.process.returncode}):\n{fake.log()}")
        try:
            if requests.get(f"{fake.url}/_fake/health", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    stop_fake_graph(fake)
    pytest.fail(f"the fake Graph API did not answer within {START_SECONDS} s:\n{fake.log()}")


def stop_fake_graph(fake):
    stop_process(fake.process)


@pytest.fixture(scope="session")
def fake_graph(tmp_path_factory):
    """A real local fake of the Graph API for the whole run (see the module's docstring)."""
    fake = start_fake_graph(tmp_path_factory.mktemp("fake-graph"))
    yield fake
    stop_fake_graph(fake)


@pytest.fixture
def graph_for_app(fake_graph, app, harness, monkeypatch):
    """The app sends WhatsApp messages to the empty fake. Both the app and its twin `harness` are
    pointed at it: requests run in the app, the test (and the jobs it runs) in the harness's
    context. monkeypatch puts the settings back after the test."""
    fake_graph.clear()
    for each in (app, harness):
        for name, value in fake_graph.settings().items():
            monkeypatch.setitem(each.config, name, value)
    return fake_graph
