"""One app instance killed under load loses no report whose client retries.

Twelve clients submit reports through nginx with the JSON API (POST /api/v1/reports), each report
with its own Idempotency-Key; a dropped connection, a 502/503/504 or a timeout is retried with the
same key and body, as the offline form does. Midway app instance 1 is killed with SIGKILL (its
gunicorn master and workers at once). nginx sends what it can to instance 2; what was in flight on
instance 1 fails and is retried. Afterwards every client has its tracking code for every report,
and the primary holds each report exactly once under its key and code.
"""
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import requests

pytestmark = [pytest.mark.slow, pytest.mark.no_db_transaction]

CLIENTS = 12
LOAD_SECONDS = 8
RECEIPTS_BEFORE_KILL = 24
RETRY_ON = {502, 503, 504}
WIB = timezone(timedelta(hours=7))


def report_body(category_id):
    """An anonymous report seen two hours ago in Kabupaten Karawang (the demo's office)."""
    return {"category_id": category_id, "description": "Lima orang asing bekerja di proyek tanpa izin.",
            "people_count": 5, "nationality": "CN", "place_kind": "project_site",
            "observed_at": (datetime.now(WIB) - timedelta(hours=2)).isoformat(timespec="seconds"),
            "latitude": -6.30, "longitude": 107.30, "address": "Jl. Industri", "consent": True}


class Client(threading.Thread):
    def __init__(self, url, body, stop_at, tally):
        super().__init__(daemon=True)
        self.url, self.body, self.stop_at, self.tally = url, body, stop_at, tally
        self.session = requests.Session()

    def run(self):
        try:
            while time.monotonic() < self.stop_at:
                key = str(uuid.uuid4())
                self.tally.add(key, self.submit(key))
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.tally.failures.append(f"{type(error).__name__}: {error}")

    def submit(self, key):
        give_up_at = time.monotonic() + 60
        while time.monotonic() < give_up_at:
            try:
                answer = self.session.post(f"{self.url}/api/v1/reports", json=self.body, timeout=15,
                                           headers={"Idempotency-Key": key})
            except requests.RequestException:
                self.tally.retried()
                time.sleep(0.1)
                continue
            if answer.status_code in RETRY_ON:
                self.tally.retried()
                time.sleep(0.1)
                continue
            assert answer.status_code == 201, f"{answer.status_code}: {answer.text[:300]}"
            return answer.json()["tracking_code"]
        raise TimeoutError("no answer within 60 s")


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.codes = {}
        self.retries = 0
        self.failures = []

    def add(self, key, code):
        with self.lock:
            self.codes[key] = code

    def retried(self):
        with self.lock:
            self.retries += 1

    def count(self):
        with self.lock:
            return len(self.codes)


def wait_until(check, what, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(what)


def test_no_report_is_lost_when_an_app_instance_is_killed(topology):
    category = topology.query("SELECT id FROM category WHERE code = 'illegal_work'")[0][0]
    before = topology.query("SELECT coalesce(max(id), 0) FROM report")[0][0]
    tally = Tally()
    stop_at = time.monotonic() + LOAD_SECONDS
    clients = [Client(topology.url, report_body(category), stop_at, tally) for _ in range(CLIENTS)]
    for client in clients:
        client.start()
    try:
        wait_until(lambda: tally.count() >= RECEIPTS_BEFORE_KILL, "receipts before the kill")
        topology.kill_instance("app1")
        killed_at_count = tally.count()
    finally:
        for client in clients:
            client.join(timeout=90)
    assert not any(client.is_alive() for client in clients)
    assert tally.failures == []
    assert tally.count() > killed_at_count, "nothing was answered after the kill"

    stored = topology.query("SELECT submission_key::text, tracking_code FROM report WHERE id > %s",
                            (before,))
    assert [key for key, count in Counter(key for key, _code in stored).items() if count > 1] == []
    by_key = dict(stored)
    # Every client's report once, under the code the client was given (shown with dashes).
    assert set(by_key) == set(tally.codes)
    assert {key: code.replace("-", "") for key, code in tally.codes.items()} == by_key
    # nginx balanced the load over both instances (its log names the one that answered).
    access = topology.folder.joinpath("nginx", "access.log").read_text()
    assert f":{topology.ports['APP1_PORT']}" in access and f":{topology.ports['APP2_PORT']}" in access

    topology.script("app", "app1")   # back for the tests after this one
