"""Test fixtures: a real PostGIS database built by the migrations once per run, each test inside a
transaction rolled back at its end, factories that return callables, and a signed-in client helper.

Each run gets its own database, `<dev database>_test_<pid>` on the same server (or the database of
APOA_TEST_DATABASE_URL), created afresh and dropped at the end, so two runs never disturb each other.
"""
import os
from datetime import datetime, timezone
from pathlib import Path

import pyotp
import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker
from flask_sqlalchemy.session import _app_ctx_id

from apoa import create_app
from apoa.auth.totp import decrypt_secret
from apoa.config import with_driver
from apoa.extensions import db, limiter
from apoa.regions import importer
from apoa.regions.cli import STANDARD_FILES

from tests.factories import Factories

# The job queue's fixtures (job_worker, jobs_app, ...): tests/jobs/worker.py; the fixed clock
# (`clock`, the `date_sensitive` marker, --today): tests/clock.py; the local SMTP server
# (smtp_sink, mail_to_sink): tests/notifications/mailsink.py.
pytest_plugins = ["tests.jobs.worker", "tests.clock", "tests.notifications.mailsink", "tests.whatsapp.fakegraph"]

REGIONS_DIR = Path(os.environ.get("APOA_REGIONS_DIR") or Path(__file__).resolve().parents[2] / "shared/data/regions")
TEST_PASSWORD = "correct-horse-battery"
# Rate-limit keys of this run only: each test resets the limits, and a reset must not wipe the
# counters of another run sharing the same Redis (two checkouts, or two engineers, at once).
TEST_CONFIG = {"WTF_CSRF_ENABLED": False,
               "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"LIMITS-test-{os.getpid()}"}}


def resolve_test_database_url():
    explicit = os.environ.get("APOA_TEST_DATABASE_URL")
    if explicit:
        return make_url(with_driver(explicit))
    base = os.environ.get("APOA_DATABASE_URL")
    if not base:
        pytest.exit("APOA_DATABASE_URL is not set: run the tests with `make test`", returncode=2)
    url = make_url(with_driver(base))
    return url.set(database=f"{url.database}_test_{os.getpid()}")


def _admin_engine(url):
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def recreate_database(url):
    """Drop and create the database named by `url`, connecting to the server's `postgres` database.

    The cluster is durable (scripts/dev.sh); a test database, dropped at the end of the run, does
    not wait for its commits to reach the disk.
    """
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        conn.execute(text(f'ALTER DATABASE "{url.database}" SET synchronous_commit = off'))
    admin.dispose()


def drop_database(url):
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def drop_abandoned_test_databases(url):
    """Test databases of runs that were killed before their clean-up (their process is gone)."""
    prefix, _sep, _pid = url.database.rpartition("_")
    admin = _admin_engine(url)
    with admin.connect() as conn:
        names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                             {"p": f"{prefix}\\_%"}).scalars().all()
    admin.dispose()
    for name in names:
        # <base>_test_<pid>, or <base>_test_<pid>_<purpose> for the extra databases of a run
        pid = name[len(prefix) + 1:].split("_")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            drop_database(url.set(database=name))


def app_environ(url, **extra):
    return {
        "APOA_ENV": "test",
        "APOA_DATABASE_URL": url.render_as_string(hide_password=False),
        "APOA_REDIS_URL": os.environ.get("APOA_REDIS_URL", ""),
        "APOA_REGIONS_DIR": str(REGIONS_DIR),
        "APOA_LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture(scope="session")
def database_url():
    url = resolve_test_database_url()
    if not os.environ.get("APOA_TEST_DATABASE_URL"):
        drop_abandoned_test_databases(url)
    recreate_database(url)
    yield url
    drop_database(url)


def pytest_sessionstart(session):
    """Without the boundary files every test would fail on its own with the same error: say it once."""
    missing = [name for name in STANDARD_FILES if not (REGIONS_DIR / name).is_file()]
    if missing:
        pytest.exit(f"the region boundaries are not in {REGIONS_DIR} (missing {', '.join(missing)}): "
                    "clone beside shared/ or set APOA_REGIONS_DIR", returncode=1)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The application on the test database, schema from the migrations, real regions imported."""
    app = create_app(dict(TEST_CONFIG),
                     environ=app_environ(database_url, APOA_INSTANCE_DIR=str(tmp_path_factory.mktemp("instance"))))
    with app.app_context():
        upgrade()
        importer.import_regions([REGIONS_DIR / name for name in STANDARD_FILES])
        db.session.commit()
        db.session.remove()
    return app


@pytest.fixture(scope="session")
def harness(app, database_url, tmp_path_factory):
    """A twin of the app whose context the test code runs in. Flask reuses an already pushed
    context of the same app for a request, which would carry `g` and cached translations from one
    request to the next; with the twin's context pushed, every request gets a fresh one, as in
    production."""
    return create_app(dict(TEST_CONFIG),
                      environ=app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))


@pytest.fixture(autouse=True)
def db_session(request, app, harness):
    """Every test runs in a transaction that is rolled back: commits inside become savepoints."""
    if "no_db_transaction" in request.keywords:
        yield None
        return
    with harness.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        # A plain SQLAlchemy session: Flask-SQLAlchemy's own would ignore `bind` and use the engine.
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        db.session = scoped_session(factory, scopefunc=_app_ctx_id)
        limiter.reset()
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app, db_session):
    """Factories: `make.office(...)`, `make.user(...)`, `make.report(...)` each return a new row."""
    return Factories(db_session, TEST_PASSWORD)


SECOND_STEP = "/masuk/kode"


def totp_code(user):
    """A code for `user`'s authenticator that the server has not seen yet (each is good once).

    The server accepts the current 30-second step and one either side, each only after the last
    one it accepted; so this takes the current step, or the one after the last used. A test that
    signs the same user in a third time within 30 seconds gets the record of used steps cleared.
    """
    db.session.expire(user, ["totp_secret", "totp_last_step"])
    totp = pyotp.TOTP(decrypt_secret(user.totp_secret))
    now = totp.timecode(datetime.now(timezone.utc))
    step = max(now, (user.totp_last_step or 0) + 1)
    if step > now + 1:
        user.totp_last_step = None
        db.session.flush()
        step = now
    return totp.generate_otp(step)


class AuthActions:
    """Signs a user in through the real pages: the password, then for staff with an authenticator
    enrolled (every staff user from `make.user()` unless `totp=False`) a fresh TOTP code."""

    def __init__(self, client):
        self._client = client

    def login(self, user, password=TEST_PASSWORD, next=None):
        """The answer of the last step: a redirect (302) once signed in, 400 for a wrong password,
        a redirect to the enrolment page for staff made with `totp=False`."""
        answer = self._client.post("/masuk", query_string={"next": next} if next else None,
                                   data={"email": user.email, "password": password})
        if answer.status_code != 302 or answer.headers["Location"] != SECOND_STEP:
            return answer
        return self._client.post(SECOND_STEP, data={"code": totp_code(user)})

    def logout(self):
        return self._client.post("/keluar")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def english(app, harness, monkeypatch):
    """Messages in English for this test (outside a request the configured default decides)."""
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "en")
    monkeypatch.setitem(harness.config, "BABEL_DEFAULT_LOCALE", "en")


@pytest.fixture
def sign_in(app):
    """`sign_in(user)` → a new client signed in as `user` through the real sign-in pages."""
    def sign_in(user):
        client = app.test_client()
        answer = AuthActions(client).login(user)
        assert answer.status_code == 302, answer.text
        return client
    return sign_in
