"""/healthz: 200 only when the database, Redis and a worker's heartbeat (younger than 60 s) are
fine; otherwise 503 naming the failing parts, never an address or a secret."""
import os
import uuid
from datetime import datetime, timedelta, timezone

from apoa.jobs import heartbeats
from apoa.jobs.queueing import redis_client

FIXED_NOW = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)


def test_all_well_with_a_running_worker(job_worker, client):
    answer = client.get("/healthz")
    assert answer.status_code == 200, answer.json
    assert answer.json == {"status": "ok", "database": "ok", "redis": "ok", "worker": "ok",
                           "postgis": answer.json["postgis"]}
    assert answer.json["postgis"].startswith("3.")
    assert "Set-Cookie" not in answer.headers


def test_a_stale_heartbeat_names_the_worker(other_app, time_machine):
    queue = f"apoa-test-{os.getpid()}-health-{uuid.uuid4().hex[:6]}"
    lonely = other_app({"JOBS_QUEUE": queue})
    connection = redis_client(lonely)
    time_machine.move_to(FIXED_NOW, tick=False)
    try:
        assert lonely.test_client().get("/healthz").json["worker"] == "none"
        heartbeats.beat(connection, queue, "w1", at=FIXED_NOW - timedelta(seconds=59))
        assert lonely.test_client().get("/healthz").status_code == 200
        heartbeats.beat(connection, queue, "w1", at=FIXED_NOW - timedelta(seconds=61))
        answer = lonely.test_client().get("/healthz")
        assert answer.status_code == 503
        assert answer.json["status"] == "unavailable" and answer.json["failing"] == ["worker"]
        assert (answer.json["database"], answer.json["redis"], answer.json["worker"]) == ("ok", "ok", "stale")
    finally:
        heartbeats.forget(connection, queue, "w1")


def test_redis_down_is_named_without_its_address(other_app, closed_port):
    url = f"redis://:sekret-pw@127.0.0.1:{closed_port}/0"
    answer = other_app(APOA_REDIS_URL=url).test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.json["redis"] == "down" and answer.json["database"] == "ok"
    assert answer.json["failing"] == ["redis", "worker"]
    assert str(closed_port) not in answer.text and "sekret" not in answer.text


def test_the_database_down_is_named_without_its_address(other_app, closed_port, job_worker):
    url = f"postgresql://apoa:sekret-pw@127.0.0.1:{closed_port}/apoa"
    answer = other_app(APOA_DATABASE_URL=url).test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.json["failing"] == ["database"] and answer.json["postgis"] is None
    assert str(closed_port) not in answer.text and "sekret" not in answer.text


def test_a_probe_is_never_rate_limited(client, job_worker):
    assert {client.get("/healthz").status_code for _ in range(120)} == {200}
