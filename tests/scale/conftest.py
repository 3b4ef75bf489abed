"""The scale-out topology of `make scale-demo`, started once for the tests of this folder by
scripts/scale-demo.sh itself (`start`, `stop`, `app`, `stop-replica`, `start-replica`), in a
temporary folder, on free ports, with a Redis of its own: nginx over two gunicorn instances, a job
worker and scheduler, a PostgreSQL primary and its streaming replica, the demo data seeded.

The suite's own cluster and Redis are never touched. Residents post at once and all from
127.0.0.1: the served app runs without the form's fill time and rate limits.
"""
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pyotp
import pytest
import requests

from apoa.demo.seed import DEMO_PASSWORD, DEMO_TOTP_SECRETS
from tests.ops.services import REPO_ROOT, Folder, PrivateRedis, free_port

SCRIPT = REPO_ROOT / "scripts" / "scale-demo.sh"
START_SECONDS = 300
CSRF = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')


@dataclass
class Topology:
    folder: Path
    ports: dict
    environ: dict

    @property
    def url(self):
        return f"http://127.0.0.1:{self.ports['NGINX_PORT']}"

    def script(self, *args, timeout=120):
        result = subprocess.run([str(SCRIPT), *args], env=self.environ, capture_output=True,
                                text=True, timeout=timeout)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def connect(self, which="PRIMARY"):
        return psycopg2.connect(host="127.0.0.1", port=self.ports[f"{which}_PORT"], user="postgres",
                                dbname="apoa", connect_timeout=3)

    def query(self, sql, parameters=None, which="PRIMARY"):
        connection = self.connect(which)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, parameters)
                return cursor.fetchall() if cursor.description else None
        finally:
            connection.close()

    def kill_instance(self, name):
        """SIGKILL to a gunicorn instance's master and workers at once (its own session)."""
        pid = int((self.folder / "run" / f"{name}.pid").read_text())
        os.killpg(pid, signal.SIGKILL)

    def log(self, name):
        return (self.folder / "log" / f"{name}.log").read_text(errors="replace")

    def replica_caught_up(self):
        """Wait until the replica has replayed everything the primary has written so far."""
        target = self.query("SELECT pg_current_wal_lsn()::text")[0][0]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,),
                          which="REPLICA")[0][0]:
                return
            time.sleep(0.05)
        raise TimeoutError("the replica did not catch up")


@pytest.fixture(scope="package")
def topology(app):
    folder = Folder()
    (folder.path / "redis").mkdir()
    redis = PrivateRedis(folder.path / "redis")
    scale = folder.path / "scale"
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith(("APOA_", "PG"))}
    environ.update(APOA_SCALE_DIR=str(scale), APOA_SCALE_WEB_WORKERS="2",
                   APOA_SCALE_ENV="\n".join(("APOA_MIN_FILL_SECONDS=0", "APOA_RATELIMIT_ENABLED=false",
                                             "APOA_LOG_LEVEL=INFO", "APOA_DEFAULT_LOCALE=en")))
    if os.environ.get("APOA_REGIONS_DIR"):
        environ["APOA_REGIONS_DIR"] = os.environ["APOA_REGIONS_DIR"]
    if os.environ.get("APOA_VENV"):
        environ["APOA_VENV"] = os.environ["APOA_VENV"]
    # Ports of this run, free now (the script keeps what ports.env names), so that two runs
    # starting at once do not both take the script's default ports.
    scale.mkdir()
    names = ("PRIMARY_PORT", "REPLICA_PORT", "APP1_PORT", "APP2_PORT", "NGINX_PORT")
    ports = {}
    while len(set(ports.values())) < len(names):
        ports = {name: free_port() for name in names}
    (scale / "ports.env").write_text("".join(f"{name}={port}\n" for name, port in ports.items()))
    try:
        redis.start()
        environ["APOA_REDIS_URL"] = redis.url()
        started = subprocess.run([str(SCRIPT), "start"], env=environ, capture_output=True, text=True,
                                 timeout=START_SECONDS)
        assert started.returncode == 0, started.stderr[-3000:]
        ports = dict(line.split("=", 1) for line in started.stdout.split() if "=" in line)
        yield Topology(scale, {name: int(port) for name, port in ports.items()}, environ)
    finally:
        subprocess.run([str(SCRIPT), "stop"], env=environ, capture_output=True, timeout=120)
        redis.kill()
        folder.remove()


def csrf_token(page):
    tag = CSRF.search(page)
    assert tag, "the page has no CSRF token"
    return re.search(r'\bvalue="([^"]*)"', tag.group(0)).group(1)


def signed_in(base_url, email):
    """A requests.Session signed in as a demo staff user through nginx: password, then TOTP."""
    session = requests.Session()
    page = session.get(f"{base_url}/masuk", timeout=10)
    answer = session.post(f"{base_url}/masuk", timeout=10, allow_redirects=False,
                          data={"csrf_token": csrf_token(page.text), "email": email,
                                "password": DEMO_PASSWORD})
    assert answer.status_code == 302 and answer.headers["Location"] == "/masuk/kode", answer.text[:500]
    page = session.get(f"{base_url}/masuk/kode", timeout=10)
    answer = session.post(f"{base_url}/masuk/kode", timeout=10, allow_redirects=False,
                          data={"csrf_token": csrf_token(page.text),
                                "code": pyotp.TOTP(DEMO_TOTP_SECRETS[email]).now()})
    assert answer.status_code == 302, answer.text[:500]
    return session


@pytest.fixture(scope="package")
def officer(topology):
    return signed_in(topology.url, "petugas@demo.apoa.id")


@pytest.fixture(scope="package")
def supervisor(topology):
    return signed_in(topology.url, "penyelia@demo.apoa.id")
