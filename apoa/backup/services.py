"""Making a backup and restoring one.

A backup is one encrypted file (encryption.py) holding a tar archive (archive.py) of
- `database.dump`: pg_dump's custom format of the whole database;
- `uploads/...`: every file of the upload folder (UPLOAD_DIR, the photos), under its own name;
- `manifest.json`, last: when, which app version and schema revision, the row count of every
  table and the audit chain's head (seq and hash), all as of the dump's snapshot, and the sha256
  and size of every other part. It never holds the key, a password or a connection address.

The database is dumped first, then the photos are copied: every photo an attachment row of the
dump names is already on disk by then (photos are written before their row, and never changed).

A restore goes into an empty database only, and touches nothing until the whole file has been
decrypted (every chunk authenticated) into a private temporary folder and every part matches
its checksum in the manifest. Then pg_restore loads the dump in one transaction, the photos are
copied into the upload folder, and the restored row counts and audit head are compared with
the manifest. Temporary folders (owner-only, under $TMPDIR) hold the dump unencrypted while a
backup or restore runs, and are deleted at its end.
"""
import hashlib
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timezone
from importlib import metadata
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from apoa.audit.services import record
from apoa.backup import postgres
from apoa.backup.archive import (COPY_BUFFER, DUMP, FORMAT, FORMAT_VERSION, UPLOADS, Progress,
                                 unpack, write_archive)
from apoa.backup.encryption import parse_key
from apoa.backup.errors import BackupError, NoKey
from apoa.extensions import db

log = logging.getLogger("apoa.backup")

# What apoa/reports/photos.py leaves while a write is under way: never a finished photo.
UNFINISHED_UPLOAD = (".upload-", ".tmp")


def configured_key():
    """The 32 bytes of APOA_BACKUP_KEY (checked at start-up), or NoKey."""
    configured = current_app.config.get("BACKUP_KEY")
    if not configured:
        raise NoKey("APOA_BACKUP_KEY is not set: backups are always encrypted. Generate a key with "
                    "`python -c \"from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())\"`, keep a copy away from the backups "
                    "(without it they cannot be read), and set APOA_BACKUP_KEY to it")
    return parse_key(configured)


def upload_dir():
    return Path(current_app.config["UPLOAD_DIR"])


def code_schema_revision():
    """The schema revision this code's migrations lead to (their head)."""
    config = current_app.extensions["migrate"].migrate.get_config()
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


@contextmanager
def reaching(which):
    """Turn a failed connection into a BackupError naming the database's role and the reason
    (libpq's message names the host and user, never the password)."""
    try:
        yield
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0]
        raise BackupError(f"cannot connect to the {which} database: {reason}") from None


def app_version():
    try:
        return metadata.version("apoa")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- create ----------------------------------------------------------------------------------

def create_backup(output, progress=None):
    """Write an encrypted backup to `output` (which must not exist); returns the manifest.

    Records `backup.create` in the audit log (flushes; the caller commits): a backup is a copy
    of every personal record, so who made one, and when, is kept.
    """
    progress = progress or Progress()
    key = configured_key()
    output = Path(output)
    if output.exists():
        raise BackupError(f"{output} already exists: choose another --output")
    with tempfile.TemporaryDirectory(prefix="apoa-backup-") as work:
        dump_path = Path(work) / DUMP
        facts = _dump_with_facts(dump_path, progress)
        sources = [(DUMP, dump_path), *upload_sources(upload_dir())]
        manifest = write_archive(output, key, sources, facts, progress)
    _record_creation(output, manifest)
    return manifest


def _dump_with_facts(dump_path, progress):
    """Dump the database, and read the manifest's figures from the very snapshot dumped."""
    progress.step("reading row counts and the audit head")
    with reaching("source"), postgres.exported_snapshot(db.engine) as (connection, snapshot):
        taken_at = connection.scalar(text("SELECT now()"))
        facts = {"format": FORMAT, "format_version": FORMAT_VERSION,
                 "created_at": taken_at.astimezone(timezone.utc).isoformat(),
                 "app_version": app_version(),
                 "alembic_revision": postgres.alembic_revision(connection),
                 "row_counts": postgres.row_counts(connection),
                 "audit_head": postgres.audit_head(connection)}
        progress.step("dumping the database (pg_dump)")
        postgres.dump(db.engine.url, dump_path, snapshot)
    return facts


def upload_sources(directory):
    """[(name in the archive, path)] of every finished file under `directory`, sorted.

    Symbolic links are skipped: what they point to is not ours to copy.
    """
    if not directory.is_dir():
        return []
    found = []
    for folder, subfolders, files in os.walk(directory):
        subfolders.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file() or _unfinished(name):
                continue
            found.append((f"{UPLOADS}/{path.relative_to(directory).as_posix()}", path))
    return found


def _unfinished(name):
    prefix, suffix = UNFINISHED_UPLOAD
    return name.startswith(prefix) and name.endswith(suffix)


def _record_creation(output, manifest):
    head = manifest["audit_head"]
    photos = sum(1 for name in manifest["parts"] if name.startswith(f"{UPLOADS}/"))
    record("backup.create", None, {"file": output.name, "bytes": output.stat().st_size,
                                   "uploads": photos, "audit_seq": head and head["seq"]})
    log.info("backup written to %s: %d bytes, %d tables, %d uploads, audit seq %s",
             output, output.stat().st_size, len(manifest["row_counts"]), photos,
             head and head["seq"])


# --- restore ---------------------------------------------------------------------------------

@dataclass
class Restored:
    """What a restore found when it compared the restored database with the manifest."""

    manifest: dict
    row_counts: dict
    audit_head: dict | None
    alembic_revision: str | None
    uploads_written: int = 0
    uploads_present: int = 0
    differences: list = field(init=False)

    def __post_init__(self):
        expected = self.manifest["row_counts"]
        tables = sorted(set(expected) | set(self.row_counts))
        pairs = [(table, expected.get(table), self.row_counts.get(table)) for table in tables]
        self.differences = [pair for pair in pairs if pair[1] != pair[2]]

    @property
    def audit_matches(self):
        return self.audit_head == self.manifest["audit_head"]

    @property
    def complete(self):
        return not self.differences and self.audit_matches


def restore_backup(path, progress=None):
    """Restore the backup at `path` into the configured, empty database and the upload folder.

    Raises BackupError, having written nothing, when the key is missing or wrong, the file is
    damaged or altered, the database is not empty or a file in the upload folder would be
    overwritten by a different one. Records `backup.restore` in the restored audit log (the
    caller commits) and returns a Restored.
    """
    progress = progress or Progress()
    key = configured_key()
    progress.step("checking that the target database is empty")
    check_empty_database()
    with tempfile.TemporaryDirectory(prefix="apoa-restore-") as work:
        work = Path(work)
        manifest = unpack(Path(path), key, work, progress)
        missing, present = plan_uploads(manifest, upload_dir())
        check_empty_database()
        progress.step("restoring the database (pg_restore)")
        postgres.restore(db.engine.url, work / DUMP, work)
        progress.step(f"copying {len(missing)} uploaded files")
        copy_uploads(work / UPLOADS, upload_dir(), missing)
    progress.step("comparing the restored database with the manifest")
    restored = Restored(manifest, *_restored_facts(), uploads_written=len(missing),
                        uploads_present=present)
    _record_restore(manifest, restored)
    return restored


def check_empty_database():
    """BackupError unless the configured database has no tables of its own (those of an
    extension, such as PostGIS's spatial_ref_sys, do not count)."""
    with reaching("target"), db.engine.connect() as connection:
        tables = postgres.user_tables(connection)
        name = connection.scalar(text("SELECT current_database()"))
    if tables:
        shown = ", ".join(f"{schema}.{table}" for schema, table in tables[:5])
        more = f" and {len(tables) - 5} more" if len(tables) > 5 else ""
        raise BackupError(f"the database {name} is not empty (it has {shown}{more}): a backup is "
                          "restored into a new, empty database only. Create one (createdb) and "
                          "point APOA_DATABASE_URL at it")


def plan_uploads(manifest, directory):
    """([relative names to copy], count already there with the same content).

    A file of the same name but different content would be overwritten: BackupError, so that
    nothing is written at all.
    """
    missing, present, conflicts = [], 0, []
    for name, part in sorted(manifest["parts"].items()):
        if not name.startswith(f"{UPLOADS}/"):
            continue
        relative = name.removeprefix(f"{UPLOADS}/")
        target = directory / relative
        if not target.exists():
            missing.append(relative)
        elif _sha256_of(target) == part["sha256"]:
            present += 1
        else:
            conflicts.append(relative)
    if conflicts:
        raise BackupError(f"{len(conflicts)} files in the upload folder {directory} differ from "
                          f"the backup's (the first: {conflicts[0]}): move them away and restore "
                          "again")
    return missing, present


def _sha256_of(path):
    sha256 = hashlib.sha256()
    with open(path, "rb") as file:
        while data := file.read(COPY_BUFFER):
            sha256.update(data)
    return sha256.hexdigest()


def copy_uploads(source, directory, relatives):
    """Copy each file into the upload folder as photos.py writes them: owner-only folders and
    files, written to a temporary name, synced, then renamed into place."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for relative in relatives:
        target = directory / relative
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-",
                                                 suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as out, open(source / relative, "rb") as original:
                shutil.copyfileobj(original, out, COPY_BUFFER)
                out.flush()
                os.fsync(out.fileno())
            shutil.copystat(source / relative, temporary)
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _restored_facts():
    """Row counts, audit head and schema revision of the restored database, statistics fresh."""
    with db.engine.begin() as connection:
        # pg_restore leaves the planner without statistics until autovacuum comes by.
        connection.execute(text("ANALYZE"))
    with db.engine.connect() as connection:
        return (postgres.row_counts(connection), postgres.audit_head(connection),
                postgres.alembic_revision(connection))


def _record_restore(manifest, restored):
    head = manifest["audit_head"]
    record("backup.restore", None, {"backup_created_at": manifest["created_at"],
                                    "audit_seq": head and head["seq"],
                                    "matches_manifest": restored.complete})
    log.info("backup of %s restored: %d tables, %d uploads written, matches manifest: %s",
             manifest["created_at"], len(restored.row_counts), restored.uploads_written,
             restored.complete)
