"""Crash tests: no receipt a resident was shown is ever lost, and no retry makes a second report.

Sixteen phones send reports over HTTP to the app served by gunicorn (deploy/gunicorn.conf.py), on
a durable PostgreSQL cluster of the test's own (fsync, synchronous_commit and full_page_writes
on, as `make run` keeps them). Mid-load PostgreSQL is killed with SIGKILL, postmaster and
children at once, and restarted; in the other test a gunicorn worker is killed. The phones retry
with the same submission key, as a phone does. Afterwards every receipt names a report stored
exactly once under its key and code, every stored report was answered with a receipt, each has
one submit event and one audit entry, and `flask --app apoa audit verify` passes.

Everything runs on loopback ports of this test's own processes; the suite's cluster and Redis are
never touched.
"""
import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from collections import Counter

import pytest
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy.engine import make_url

from apoa import create_app
from apoa.extensions import db, limiter
from apoa.regions import importer, offices
from apoa.regions.cli import STANDARD_FILES
from apoa.reports.models import Category
from tests.conftest import REGIONS_DIR, app_environ
from tests.ops.phones import Load, report_fields
from tests.ops.services import (DURABLE_SETTINGS, VENV_BIN, DurableCluster, Folder, Gunicorn,
                                PrivateRedis, wait_for)

pytestmark = [pytest.mark.slow, pytest.mark.no_db_transaction]

DATABASE = "apoa_crash"
WORKERS, THREADS = 3, 4
LOAD_SECONDS = 12
# Receipts handed out before anything is killed, so the kill lands in the middle of the load.
RECEIPTS_BEFORE_KILL = 16


class CrashSite:
    """The test's own PostgreSQL and Redis, and an instance folder for the served app."""

    def __init__(self, root):
        for name in ("pg", "redis", "instance", "regions"):
            (root / name).mkdir()
        self.root = root
        self.cluster = DurableCluster(root / "pg")
        self.redis = PrivateRedis(root / "redis")
        self.secret_key = secrets.token_urlsafe(32)
        self.category_id = None

    def served_environ(self):
        """What the served app and the CLI see: this site's services and nothing of the suite's."""
        environ = {name: value for name, value in os.environ.items()
                   if not name.startswith(("APOA_", "PG"))}
        environ.update(APOA_ENV="development", APOA_SECRET_KEY=self.secret_key,
                       APOA_DATABASE_URL=self.cluster.url(DATABASE),
                       APOA_REDIS_URL=self.redis.url(),
                       APOA_INSTANCE_DIR=str(self.root / "instance"), APOA_LOG_LEVEL="WARNING",
                       APOA_REGIONS_DIR=str(REGIONS_DIR),
                       # Phones post at once and all from 127.0.0.1: no fill time, no limits.
                       APOA_MIN_FILL_SECONDS="0", APOA_RATELIMIT_ENABLED="false")
        return environ

    def query(self, sql, parameters=None):
        connection = self.cluster.connect(DATABASE)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, parameters)
                return cursor.fetchall()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def site(app):
    """A durable cluster with the schema, Karawang's real outlines and an office over it."""
    folder = Folder()
    site = CrashSite(folder.path)
    try:
        site.cluster.create()
        site.cluster.start()
        site.redis.start()
        site.cluster.create_database(DATABASE)
        prepare_database(site)
        yield site
    finally:
        # The limiter is one object for every app of this process: back to the suite's Redis.
        limiter.init_app(app)
        site.cluster.kill()
        site.redis.kill()
        folder.remove()


def prepare_database(site):
    environ = app_environ(make_url(site.cluster.url(DATABASE)), APOA_REDIS_URL=site.redis.url(),
                          APOA_INSTANCE_DIR=str(site.root / "instance"))
    app = create_app(environ=environ)
    with app.app_context():
        upgrade()
        importer.import_regions(karawang_region_files(site.root / "regions"))
        offices.create_office("DITJEN", "Direktorat Jenderal Imigrasi", "ditjen")
        offices.create_office("KANWIL-JABAR", "Kanwil Jawa Barat", "kanwil", "DITJEN")
        offices.create_office("KANIM-KARAWANG", "Kantor Imigrasi Karawang", "kantor",
                              "KANWIL-JABAR")
        offices.set_jurisdiction("KANIM-KARAWANG", ["32.15"])
        db.session.commit()
        site.category_id = db.session.scalar(
            select(Category.id).where(Category.code == "illegal_work"))
        db.session.remove()
        db.engine.dispose()


def karawang_region_files(folder):
    """The real outlines, cut down to Jawa Barat, Kabupaten Karawang (32.15) and its kecamatan:
    all that a report from Karawang is looked up in, imported in a second instead of ten."""
    paths = []
    for name in STANDARD_FILES:
        collection = json.loads((REGIONS_DIR / name).read_text())
        collection["features"] = [feature for feature in collection["features"]
                                  if in_karawang(feature["properties"]["kode"])]
        path = folder / name
        path.write_text(json.dumps(collection))
        paths.append(path)
    return paths


def in_karawang(kode):
    return kode in ("32", "32.15") or kode.startswith("32.15.")


@contextlib.contextmanager
def served(site):
    server = Gunicorn(site.root / "instance", site.served_environ(), WORKERS, THREADS)
    try:
        server.start()
        yield server
    except BaseException:
        print(server.log_tail())
        raise
    finally:
        server.stop()


def phones_on(server, site):
    return Load(server.port, report_fields(site.category_id), seconds=LOAD_SECONDS)


def last_report_id(site):
    return site.query("SELECT coalesce(max(id), 0) FROM report")[0][0]


def test_no_receipt_is_lost_when_postgresql_is_killed(site):
    assert site.cluster.settings(DATABASE) == DURABLE_SETTINGS
    before = last_report_id(site)
    with served(site) as server, phones_on(server, site) as load:
        wait_for(lambda: load.receipts_so_far() >= RECEIPTS_BEFORE_KILL, "receipts before")
        site.cluster.kill()
        time.sleep(1)  # the phones meet a database that is gone
        site.cluster.start()
        restarted_at = time.monotonic()
        tally = load.finish()
    assert tally.retries > 0, "no phone noticed the crash"
    assert any(receipt.at > restarted_at for receipt in tally.receipts), "none after the restart"
    assert_every_receipt_stored_once(site, tally, before)
    assert site.cluster.settings(DATABASE) == DURABLE_SETTINGS


def test_no_receipt_is_lost_when_a_gunicorn_worker_is_killed(site):
    before = last_report_id(site)
    with served(site) as server, phones_on(server, site) as load:
        for kill in (1, 2):
            wait_for(lambda: load.receipts_so_far() >= kill * RECEIPTS_BEFORE_KILL, "receipts")
            victim = server.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        tally = load.finish()
        # gunicorn replaced the killed workers
        server.wait_until(lambda: victim not in server.worker_pids()
                          and len(server.worker_pids()) == WORKERS, "replacement workers")
    assert tally.retries > 0, "no phone noticed the killed workers"
    assert any(receipt.at > killed_at for receipt in tally.receipts)
    assert_every_receipt_stored_once(site, tally, before)


def assert_every_receipt_stored_once(site, tally, before):
    assert tally.failures == []
    stored = site.query("SELECT submission_key::text, tracking_code FROM report WHERE id > %s",
                        (before,))
    assert repeated(key for key, _code in stored) == []
    assert repeated(code for _key, code in stored) == []
    by_key = dict(stored)
    lost = [receipt for receipt in tally.receipts
            if by_key.get(receipt.submission_key) != receipt.tracking_code]
    assert lost == []
    # Every phone finished its last report, so nothing stored went unanswered either.
    assert set(by_key) == {receipt.submission_key for receipt in tally.receipts}
    assert reports_without_one_submit_record(site, before) == []
    assert_audit_chain_verifies(site)


def repeated(values):
    return [value for value, count in Counter(values).items() if count > 1]


def reports_without_one_submit_record(site, before):
    """Reports lacking exactly one submit event and one audit entry (one transaction made all)."""
    return site.query(
        "SELECT r.id FROM report r WHERE r.id > %s AND ("
        " (SELECT count(*) FROM report_event e"
        "  WHERE e.report_id = r.id AND e.action = 'submit') <> 1"
        " OR (SELECT count(*) FROM audit_log a WHERE a.action = 'report.submit'"
        "     AND a.object = 'report:' || r.id) <> 1)", (before,))


def assert_audit_chain_verifies(site):
    """As README writes it: `flask --app apoa audit verify`."""
    result = subprocess.run([str(VENV_BIN / "flask"), "--app", "apoa", "audit", "verify"],
                            env=site.served_environ(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "audit chain intact" in result.stdout
