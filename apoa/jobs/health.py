"""/healthz: for a load balancer or a monitoring probe.

200 {"status": "ok", ...} only when the database answers (with PostGIS: its version is in the
answer), Redis answers and a worker's heartbeat is younger than STALE_AFTER_SECONDS; otherwise
503 naming the failing parts ("database", "redis", "worker"). The answer never holds addresses,
URLs or error texts (they can name hosts and users): only the parts' states. No sign-in, no
session cookie, no rate limit: a probe asks often, from one address.
"""
import logging
from datetime import datetime, timezone

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from apoa.extensions import db, limiter
from apoa.jobs import heartbeats
from apoa.jobs.queueing import job_queue, redis_client

bp = Blueprint("health", __name__)
log = logging.getLogger("apoa.jobs")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    postgis = _postgis_version()
    checks = check_health(postgis, datetime.now(timezone.utc))
    failing = [part for part, state in checks.items() if state != "ok"]
    body = {"status": "unavailable" if failing else "ok", **checks, "postgis": postgis}
    if failing:
        body["failing"] = failing
    return jsonify(body), 503 if failing else 200


def check_health(postgis, now):
    """{"database": ..., "redis": ..., "worker": ...}, each "ok" or what is wrong with it."""
    redis_ok = _redis_answers()
    return {"database": "ok" if postgis else "down",
            "redis": "ok" if redis_ok else "down",
            "worker": _worker_state(now) if redis_ok else "unknown"}


def _postgis_version():
    """PostGIS's version, asked on a connection of its own; None when the database (or PostGIS in
    it) does not answer."""
    try:
        with db.engine.connect() as connection:
            return connection.execute(text("SELECT postgis_lib_version()")).scalar_one()
    except SQLAlchemyError as error:
        log.warning("health: the database does not answer (%s)", type(error).__name__)
        return None


def _redis_answers():
    client = redis_client()
    try:
        return client is not None and bool(client.ping())
    except RedisError as error:
        log.warning("health: Redis does not answer (%s)", type(error).__name__)
        return False


def _worker_state(now):
    try:
        beat = heartbeats.newest(redis_client(), job_queue().name)
    except RedisError:
        return "unknown"
    if beat is None:
        return "none"
    return "ok" if beat.fresh(now) else "stale"
