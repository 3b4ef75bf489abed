"""The local SMTP sink for tests, available to every test (`pytest_plugins` in tests/conftest.py).

- `smtp_sink`: a real `python -m apoa.notifications.sink` process on a free port of 127.0.0.1,
  started once per run; `.messages(to=None)` reads what it received (parsed, oldest first),
  `.wait_for(count, to=None)` waits for mail from another process, `.clear()` empties it.
- `mail_to_sink`: this test's app mails to the sink (APOA_SMTP_* in the config), which starts
  empty.
- `job_worker_environ`: the job worker (tests/jobs/worker.py) mails to the sink too.
"""
import email
import email.policy
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 30
BASE_URL = "https://apoa.example.go.id"


@dataclass
class SmtpSink:
    host: str
    port: int
    maildir: Path
    process: subprocess.Popen
    log_path: Path

    def settings(self):
        """The app's SMTP settings for this sink."""
        return {"SMTP_HOST": self.host, "SMTP_PORT": self.port, "SMTP_TLS": "none", "SMTP_USER": "",
                "SMTP_PASSWORD": "", "SMTP_FROM": "APOA <apoa@imigrasi.example.go.id>",
                "BASE_URL": BASE_URL}

    def environ(self):
        return {"APOA_SMTP_HOST": self.host, "APOA_SMTP_PORT": str(self.port), "APOA_SMTP_TLS": "none",
                "APOA_SMTP_FROM": "APOA <apoa@imigrasi.example.go.id>", "APOA_BASE_URL": BASE_URL}

    def files(self):
        stored = [path for path in (self.maildir / "new").iterdir() if path.is_file()]
        return sorted(stored, key=lambda path: (path.stat().st_mtime_ns, path.name))

    def messages(self, to=None):
        """The mails received (email.message.EmailMessage), oldest first; only those to `to`."""
        parsed = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                  for path in self.files()]
        return [mail for mail in parsed if to is None or mail["To"] == to]

    def wait_for(self, count, to=None, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(to)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        pytest.fail(f"{count} mail(s) to {to or 'anyone'} did not arrive within {timeout} s: "
                    f"{len(self.messages(to))} did; sink log:\n{self.log_path.read_text()[-3000:]}")

    def clear(self):
        for path in self.files():
            path.unlink()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sink(directory, login=None):
    """Start the sink with its Maildir and log under `directory`; return once it accepts."""
    port = free_port()
    log_path = directory / "sink.log"
    command = [sys.executable, "-m", "apoa.notifications.sink", "--host", "127.0.0.1",
               "--port", str(port), "--maildir", str(directory / "mail")]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command + (["--login", login] if login else []), cwd=REPO_ROOT,
                                   env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                                   stdout=log_file, stderr=subprocess.STDOUT)
    sink = SmtpSink("127.0.0.1", port, directory / "mail", process, log_path)
    _wait_until_listening(sink)
    return sink


def _wait_until_listening(sink):
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if sink.process.poll() is not None:
            pytest.fail(f"the SMTP sink exited:\n{sink.log_path.read_text()}")
        if "listening" in sink.log_path.read_text():
            return
        time.sleep(0.1)
    pytest.fail(f"the SMTP sink did not start within {START_SECONDS} s")


def stop_sink(sink):
    stop_process(sink.process)


@pytest.fixture(scope="session")
def smtp_sink(tmp_path_factory):
    """A real local SMTP server for the whole run (see the module's docstring)."""
    sink = start_sink(tmp_path_factory.mktemp("smtp-sink"))
    yield sink
    stop_sink(sink)


@pytest.fixture
def mail_to_sink(smtp_sink, app, harness, monkeypatch):
    """The app (requests and the jobs a test runs) mails to the empty sink."""
    smtp_sink.clear()
    for each in (app, harness):
        for name, value in smtp_sink.settings().items():
            monkeypatch.setitem(each.config, name, value)
    return smtp_sink


@pytest.fixture(scope="session")
def job_worker_environ(smtp_sink):
    """The job worker mails to the sink (overrides the empty default of tests/jobs/worker.py)."""
    return smtp_sink.environ()
