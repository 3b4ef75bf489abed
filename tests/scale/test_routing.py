"""Which server a query goes to (apoa/core/replica.py), without the topology: in this process, on
the suite's database.

- APOA_REPLICA_DATABASE_URL unset (the default): no replica, every query of every view on the
  primary, exactly as before.
- Set: a `@reads_from_replica` view reads from the replica and writes to the primary; other
  views never use the replica; a replica that cannot be reached sends reads to the primary within
  the connect timeout, says so once in the log without the URL's password, and is not tried again
  for a few seconds.
"""
import logging
import time

import pytest
from sqlalchemy import insert, select, text

from apoa import create_app
from apoa.audit.models import AuditEntry
from apoa.config import ConfigError, build_config
from apoa.core import replica
from apoa.core.replica import reads_from_replica
from apoa.extensions import db, limiter
from apoa.regions.models import Region
from tests.conftest import TEST_CONFIG, app_environ
from tests.ops.services import free_port

pytestmark = pytest.mark.no_db_transaction


@reads_from_replica
def routed_view():
    return db.session()


def plain_view():
    return db.session()


@pytest.fixture
def app_with_replica(app, database_url, tmp_path):
    """`app_with_replica(url)`: the app with APOA_REPLICA_DATABASE_URL=url. The limiter is one
    object shared by every app in this process: bound back to the suite's app afterwards."""
    made = []

    def app_with_replica(url):
        made.append(create_app(dict(TEST_CONFIG), environ=app_environ(
            database_url, APOA_INSTANCE_DIR=str(tmp_path), APOA_REPLICA_DATABASE_URL=url)))
        return made[-1]
    yield app_with_replica
    for other in made:
        with other.app_context():
            db.session.remove()
        if replica.replica(other) is not None:
            replica.replica(other).engine.dispose()
    limiter.init_app(app)


@pytest.fixture
def replica_log():
    """The records of the apoa.replica logger (apoa's loggers do not propagate to pytest's)."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("apoa.replica")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_without_the_setting_there_is_no_replica_and_everything_reads_the_primary(app):
    assert build_config({"APOA_DATABASE_URL": "postgresql://x@127.0.0.1/apoa"})[
        "REPLICA_DATABASE_URI"] is None
    assert replica.replica(app) is None
    with app.test_request_context("/ringkasan"):
        session = routed_view()
        for clause in (select(Region.id), text("SELECT 1"), None):
            assert session.get_bind(clause=clause) is db.engine
        assert session.get_bind(mapper=Region) is db.engine
        assert session.execute(select(Region.id).limit(1)).all()
        session.rollback()


def test_the_setting_must_be_a_postgresql_url():
    with pytest.raises(ConfigError, match="APOA_REPLICA_DATABASE_URL"):
        build_config({"APOA_DATABASE_URL": "postgresql://x@127.0.0.1/apoa",
                      "APOA_REPLICA_DATABASE_URL": "mysql://x@127.0.0.1/apoa"})
    assert build_config({"APOA_DATABASE_URL": "postgresql://x@127.0.0.1/apoa",
                         "APOA_REPLICA_DATABASE_URL": "postgresql://r@10.0.0.2/apoa"})[
        "REPLICA_DATABASE_URI"] == "postgresql+psycopg2://r@10.0.0.2/apoa"


def test_a_marked_view_reads_from_the_replica_and_writes_to_the_primary(app_with_replica,
                                                                        database_url):
    # The suite's database stands in for the replica: not in recovery, so always caught up, and
    # read-only through the replica's engine like a real standby.
    served = app_with_replica(database_url.render_as_string(hide_password=False))
    standby = replica.replica(served).engine
    with served.test_request_context("/ringkasan"):
        session = routed_view()
        assert session.get_bind(clause=select(Region.id)) is standby
        assert session.get_bind(mapper=Region) is standby
        assert session.get_bind() is standby   # what the exports' COPY runs on
        assert session.get_bind(clause=text("SET LOCAL jit = off")) is standby
        for write in (insert(AuditEntry), text("INSERT INTO audit_log DEFAULT VALUES"),
                      text("UPDATE report SET state = state"), select(Region.id).with_for_update()):
            assert session.get_bind(clause=write) is db.engine, write
        assert session.execute(text("SHOW transaction_read_only")).scalar() == "on"
        session.rollback()
    with served.test_request_context("/laporan/1"):
        session = plain_view()
        assert session.get_bind(clause=select(Region.id)) is db.engine


def test_an_unreachable_replica_sends_reads_to_the_primary_quickly(app_with_replica, replica_log):
    served = app_with_replica(f"postgresql://apoa:s3cret-pw@127.0.0.1:{free_port()}/apoa")
    with served.test_request_context("/ringkasan"):
        started = time.monotonic()
        assert routed_view().get_bind(clause=select(Region.id)) is db.engine
        assert time.monotonic() - started < replica.REPLICA_CONNECT_TIMEOUT + 1
    messages = [record.getMessage() for record in replica_log]
    assert len(messages) == 1 and "unreachable" in messages[0] and "primary" in messages[0]
    assert "s3cret-pw" not in messages[0]
    # Left alone for a while: the next request does not try again, and logs nothing new.
    with served.test_request_context("/ringkasan"):
        started = time.monotonic()
        assert routed_view().get_bind(clause=select(Region.id)) is db.engine
        assert time.monotonic() - started < 0.05
    assert len(replica_log) == 1
