"""Reads of maps, summaries and exports from the streaming replica (apoa/core/replica.py), on the
real topology of `make scale-demo`.

- An officer who has just changed a report reads it in its new state on a replica-routed page
  even while the replica replays nothing (pg_wal_replay_pause()): their reads go to the primary
  until the replica has replayed their write. A supervisor who wrote nothing is still served by
  the paused replica, and sees the older state and not a report made since: the routing is real.
- A replica that is down sends the reads to the primary, at once and without errors.
"""
import csv
import io
import time
import uuid

import pytest

from tests.scale.conftest import csrf_token
from tests.scale.test_failover import report_body

pytestmark = [pytest.mark.slow, pytest.mark.no_db_transaction]

EXPORT = "/ekspor/laporan.csv"
# A replica-routed page answers within this many seconds when the replica is down (its connect
# attempt is refused at once, and the replica is then left alone for a few seconds).
DOWN_ANSWER_SECONDS = 3


def exported_states(session, url):
    """{tracking code: state} of the reports in the user's CSV export."""
    answer = session.get(url + EXPORT, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    rows = csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))
    return {row["Tracking code"]: row["Status"] for row in rows}


def a_new_karawang_report(topology):
    return topology.query(
        "SELECT r.id, r.tracking_code FROM report r JOIN office o ON o.id = r.office_id "
        "WHERE o.code = 'KANIM-KARAWANG' AND r.state = 'new' ORDER BY r.id LIMIT 1")[0]


def display(code):
    return f"{code[:5]}-{code[5:10]}-{code[10:]}"


@pytest.fixture
def paused_replica(topology):
    topology.replica_caught_up()
    topology.query("SELECT pg_wal_replay_pause()", which="REPLICA")
    deadline = time.monotonic() + 10
    while topology.query("SELECT pg_get_wal_replay_pause_state()", which="REPLICA")[0][0] != "paused":
        assert time.monotonic() < deadline, "the replica did not pause"
        time.sleep(0.05)
    try:
        yield
    finally:
        topology.query("SELECT pg_wal_replay_resume()", which="REPLICA")


def test_an_officer_reads_their_own_change_while_the_replica_lags(topology, officer, supervisor,
                                                                  paused_replica):
    report_id, code = a_new_karawang_report(topology)
    before = exported_states(supervisor, topology.url)
    assert display(code) in before

    page = officer.get(f"{topology.url}/laporan/{report_id}", timeout=10)
    acted = officer.post(f"{topology.url}/laporan/{report_id}/aksi/screen", timeout=10,
                         allow_redirects=False, data={"csrf_token": csrf_token(page.text)})
    assert acted.status_code == 303, acted.text[:500]
    assert topology.query("SELECT state FROM report WHERE id = %s", (report_id,))[0][0] == "screening"
    # A report made while the replica is paused: on the primary only.
    category = topology.query("SELECT id FROM category WHERE code = 'illegal_work'")[0][0]
    made = officer.post(f"{topology.url}/api/v1/reports", json=report_body(category), timeout=10,
                        headers={"Idempotency-Key": str(uuid.uuid4())})
    assert made.status_code == 201, made.text[:300]

    # The officer's own change, on the page that reads from the replica: from the primary.
    mine = exported_states(officer, topology.url)
    assert mine[display(code)] != before[display(code)]
    assert made.json()["tracking_code"] in mine
    # The supervisor wrote nothing: the paused replica serves them the state before.
    theirs = exported_states(supervisor, topology.url)
    assert theirs[display(code)] == before[display(code)]
    assert made.json()["tracking_code"] not in theirs
    # The officer again (a second read, still ahead of the replica): still the new state.
    assert exported_states(officer, topology.url)[display(code)] == mine[display(code)]

    topology.query("SELECT pg_wal_replay_resume()", which="REPLICA")
    topology.replica_caught_up()
    assert exported_states(supervisor, topology.url)[display(code)] == mine[display(code)]


REPLICA_PAGES = ("/ringkasan", "/peta", "/peta/wilayah", "/ekspor", EXPORT,
                 "/peta/data.json?bbox=107.0,-6.6,107.6,-6.0&zoom=10")


def test_a_replica_that_is_down_sends_the_reads_to_the_primary(topology, supervisor):
    topology.script("stop-replica")
    try:
        for path in REPLICA_PAGES:
            started = time.monotonic()
            answer = supervisor.get(topology.url + path, timeout=30)
            took = time.monotonic() - started
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
            assert took < DOWN_ANSWER_SECONDS, (path, took)
        logs = topology.log("app1") + topology.log("app2")
        assert f"read replica 127.0.0.1:{topology.ports['REPLICA_PORT']} unreachable" in logs
        assert "postgresql://" not in logs
    finally:
        topology.script("start-replica")
    # Back: once the replica streams again and the pause is over, reads return to it.
    topology.replica_caught_up()
