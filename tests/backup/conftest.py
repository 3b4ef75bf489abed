"""Backup fixtures: a source database with committed reports and photos, a backup of it made
through the CLI, and fresh empty target databases to restore into.

pg_dump sees only committed data, so none of this can live in the suite's rolled-back
transaction: every database here is its own (`<test database>_backup_<purpose>`, dropped at the
end), and the tests that use them are marked `no_db_transaction` (otherwise `db.session` would be
the suite's).

The source holds the regions of DKI Jakarta only (cut from the real files): enough to route
reports to an office, and a dump of seconds rather than of the whole country.
"""
import base64
import hashlib
import io
import itertools
import json
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask_migrate import upgrade
from PIL import Image
from sqlalchemy import create_engine, select, text

from apoa import create_app
from apoa.audit.chain import chain_pending
from apoa.auth.services import create_user
from apoa.backup import postgres
from apoa.extensions import db
from apoa.regions import importer, offices
from apoa.regions.cli import STANDARD_FILES
from apoa.reports.models import Category
from apoa.reports.photos import sanitize_image
from apoa.reports.services import NewReport, submit_report

from tests.conftest import REGIONS_DIR, TEST_PASSWORD, app_environ, drop_database, recreate_database, \
    resolve_test_database_url

# Fixed, not random: pytest imports this module once as a conftest and once more from the tests.
KEY = base64.urlsafe_b64encode(hashlib.sha256(b"apoa backup tests").digest()).decode()
# Sent in the source's URL: the test cluster trusts local connections and ignores it, so it can be
# looked for in everything a backup writes and shows.
SOURCE_PASSWORD = "not-a-real-password-Q7x"
JAKARTA = "31"
JAKARTA_PUSAT = "31.71"
GAMBIR = (106.8271, -6.1754)
OBSERVED = datetime(2026, 11, 30, 9, 15, tzinfo=timezone.utc)
DESCRIPTIONS = ("Lima orang asing bekerja di proyek gedung tanpa izin kerja yang jelas.",
                "Warga asing menginap lama di rumah kos tanpa lapor ke RT setempat.",
                "Beberapa orang asing berjualan di pasar setiap pagi sejak bulan lalu.")


@dataclass
class Site:
    """An app on a database of its own, and its upload folder."""
    app: object
    url: object
    uploads: Path
    extra: dict = field(default_factory=dict)

    def cli(self, *args):
        return self.app.test_cli_runner().invoke(args=list(args))


def app_on(url, instance, key=KEY, **extra):
    """The app on `url`, keeping its uploads under `instance`; jobs dropped (no Redis), so
    nothing this app commits reaches the suite's job worker."""
    environ = app_environ(url, APOA_INSTANCE_DIR=str(instance), APOA_REDIS_URL="",
                          APOA_BACKUP_KEY=key or "", **extra)
    return create_app(environ=environ)


@pytest.fixture(scope="session")
def backup_databases():
    """`new(purpose)` → the URL of a new empty database `<test database>_backup_<purpose>`."""
    base = resolve_test_database_url()
    made = []

    def new(purpose):
        url = base.set(database=f"{base.database}_backup_{purpose}")
        recreate_database(url)
        made.append(url)
        return url
    yield new
    for url in made:
        drop_database(url)


@pytest.fixture(scope="session")
def jakarta_regions(tmp_path_factory):
    """The three standard region files cut down to DKI Jakarta."""
    folder = tmp_path_factory.mktemp("jakarta-regions")
    for name in STANDARD_FILES:
        collection = json.loads((REGIONS_DIR / name).read_text(encoding="utf-8"))
        collection["features"] = [f for f in collection["features"]
                                  if f["properties"]["kode"].split(".")[0] == JAKARTA]
        (folder / name).write_text(json.dumps(collection), encoding="utf-8")
    return [folder / name for name in STANDARD_FILES]


def photo(colour):
    raw = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(raw, "JPEG")
    return sanitize_image(raw.getvalue())


def fill(regions):
    """Regions, an office for Jakarta Pusat with an officer, and three reports with a photo each,
    submitted as residents do (events, audit entries, photos on disk): committed."""
    importer.import_regions(regions)
    offices.create_office("DITJEN", "Direktorat Jenderal Imigrasi", "ditjen")
    offices.create_office("KANWIL-DKI", "Kantor Wilayah DKI Jakarta", "kanwil", parent_code="DITJEN")
    offices.create_office("KANIM-JAKPUS", "Kantor Imigrasi Jakarta Pusat", "kantor", parent_code="KANWIL-DKI")
    offices.set_jurisdiction("KANIM-JAKPUS", [JAKARTA_PUSAT])
    create_user("petugas@jakpus.example", "Petugas Jakarta Pusat", TEST_PASSWORD, "officer",
                office_code="KANIM-JAKPUS")
    category = db.session.scalar(select(Category.id).where(Category.code == "illegal_work"))
    for n, description in enumerate(DESCRIPTIONS):
        submit_report(NewReport(category_id=category, description=description, people_count=n + 2,
                                place_kind="project_site", observed_at=OBSERVED, point=GAMBIR,
                                submission_key=f"00000000-0000-4000-8000-00000000000{n}",
                                photos=[photo((40 * n, 120, 200))]))
    db.session.commit()
    chain_pending()  # as the job worker would by the time a backup is made


@pytest.fixture(scope="session")
def source(backup_databases, jakarta_regions, tmp_path_factory):
    """The database that gets backed up, its password in its URL."""
    url = backup_databases("source").set(password=SOURCE_PASSWORD)
    instance = tmp_path_factory.mktemp("backup-source")
    app = app_on(url, instance)
    with app.app_context():
        upgrade()
        fill(jakarta_regions)
        db.session.remove()
    yield Site(app, url, Path(app.config["UPLOAD_DIR"]))
    with app.app_context():
        db.engine.dispose()


@dataclass
class Backup:
    path: Path
    output: str
    # What the source held when the backup was made (it records `backup.create` afterwards).
    tables: dict
    audit_head: tuple
    # (arguments, environment) of every PostgreSQL tool the backup ran.
    tool_calls: list


@pytest.fixture(scope="session")
def backup(source, tmp_path_factory):
    """`flask backup create --output FILE` on the source, watching the tools it starts."""
    before = contents(source.url)
    path = tmp_path_factory.mktemp("backups") / "apoa.backup"
    calls = []
    real_run = subprocess.run

    def watched_run(arguments, **options):
        calls.append((list(arguments), dict(options.get("env") or {})))
        return real_run(arguments, **options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(postgres.subprocess, "run", watched_run)
        result = source.cli("backup", "create", "--output", str(path))
    assert result.exit_code == 0, result.output
    return Backup(path, result.output, before.tables, before.audit_head, calls)


_targets = itertools.count(1)


@pytest.fixture
def target(backup_databases, tmp_path):
    """`target(key=KEY)` → a Site on a new, empty database with an empty instance folder."""
    made = []

    def make(key=KEY, url=None):
        url = url or backup_databases(f"target{next(_targets)}")
        site = Site(app_on(url, tmp_path / f"instance{len(made)}", key=key), url, None)
        site.uploads = Path(site.app.config["UPLOAD_DIR"])
        made.append(site)
        return site
    yield make
    for site in made:
        with site.app.app_context():
            db.engine.dispose()


# --- reading a database as it is, independently of the code under test ---------------------

@dataclass
class Contents:
    tables: dict
    audit_head: tuple | None
    photos: dict


def contents(url):
    """Row counts of every base table of `public` but PostGIS's, the newest audit entry, and
    {stored_path: sha256} of the attachments (only the counts when it has no APOA schema)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = connection.scalars(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                " AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys' ORDER BY 1")).all()
            if not names:
                return Contents({}, None, {})
            tables = {name: connection.scalar(text(f'SELECT count(*) FROM public."{name}"')) for name in names}
            if "audit_log" not in tables:
                return Contents(tables, None, {})
            head = connection.execute(text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")).first()
            photos = dict(connection.execute(text("SELECT stored_path, sha256 FROM attachment")).all())
        return Contents(tables, tuple(head) if head else None, photos)
    finally:
        engine.dispose()


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*") if p.is_file()) \
        if Path(folder).exists() else []


def admin_engine():
    """The test cluster's `postgres` database, as the suite's own (superuser) role."""
    return create_engine(resolve_test_database_url().set(database="postgres"), isolation_level="AUTOCOMMIT")
