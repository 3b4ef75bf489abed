"""pg_dump, pg_restore and the figures a backup's manifest records (row counts, the audit head).

The tools get the connection through libpq's environment (PGHOST, PGPASSWORD, ...), never on
their command line, where `ps` would show the password to every user of the machine.
"""
import logging
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from apoa.backup.errors import BackupError

log = logging.getLogger("apoa.backup")

# Debian installs the tools per version here; /usr/bin holds wrappers that pick one.
DEBIAN_PG_BINS = "/usr/lib/postgresql"
# URL query parameters that libpq also reads from the environment.
LIBPQ_PARAMETERS = {"host": "PGHOST", "port": "PGPORT", "sslmode": "PGSSLMODE",
                    "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
                    "connect_timeout": "PGCONNECT_TIMEOUT", "application_name": "PGAPPNAME"}
# Entries of pg_restore's list left out: what only PostGIS's owner (a superuser) may write, so
# that a database owner can restore into a database whose PostGIS a superuser created. Neither
# carries anything of ours: the comment on the extension, and the rows of its spatial_ref_sys
# (only SRIDs added by hand are dumped there, and APOA adds none).
SKIPPED_LIST_ENTRIES = ("COMMENT - EXTENSION ", "TABLE DATA public spatial_ref_sys ")

# Tables of our own: not catalogs, not members of an extension (PostGIS's spatial_ref_sys),
# partitions counted through their parent.
USER_TABLES = text("""
    SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2""")
# The last chained entry (entries not chained yet have no hash; apoa/audit/chain.py).
AUDIT_HEAD = text("SELECT seq, hash FROM audit_log WHERE chain_pos IS NOT NULL"
                  " ORDER BY chain_pos DESC LIMIT 1")
ALEMBIC_REVISION = text(
    "SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version")


def libpq_environment(url):
    """The PG* variables that connect pg_dump/pg_restore where the SQLAlchemy `url` points."""
    env = {"PGDATABASE": url.database, "PGUSER": url.username, "PGPASSWORD": url.password,
           "PGHOST": url.host, "PGPORT": str(url.port) if url.port else None}
    for name, variable in LIBPQ_PARAMETERS.items():
        value = url.query.get(name)
        if value:
            env[variable] = value if isinstance(value, str) else value[-1]
    return {name: value for name, value in env.items() if value}


def tool(name):
    """The path of pg_dump or pg_restore: the one on PATH, else Debian's newest."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path(DEBIAN_PG_BINS).glob(f"*/bin/{name}"),
                      key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0)
    if not versions:
        raise BackupError(f"{name} is not installed: install PostgreSQL's client tools "
                          "(Debian: postgresql-client-15)")
    return str(versions[-1])


def run(name, arguments, url):
    """Run a PostgreSQL tool against `url`; BackupError with the end of its message on failure."""
    environment = {**os.environ, **libpq_environment(url), "PGCONNECT_TIMEOUT": "10"}
    finished = subprocess.run([tool(name), "--no-password", *arguments], env=environment,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if finished.returncode != 0:
        # The tools name the host, user and object that failed, never the password.
        detail = "\n".join(finished.stderr.strip().splitlines()[-5:])
        raise BackupError(f"{name} failed (exit {finished.returncode}): {detail}")
    return finished.stdout


@contextmanager
def exported_snapshot(engine):
    """A read-only REPEATABLE READ connection and the id of its exported snapshot.

    pg_dump given the id (--snapshot) dumps exactly what this connection sees, so the row counts
    and audit head read here describe the dump itself, even while the app keeps writing.
    """
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ",
                                                  postgresql_readonly=True)
        with connection.begin():
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            yield connection, snapshot


def dump(url, path, snapshot):
    """pg_dump's custom format (compressed; pg_restore picks what to restore) into `path`."""
    run("pg_dump", ["--format=custom", f"--snapshot={snapshot}", f"--file={path}"], url)


def restore(url, dump_path, workdir):
    """Restore `dump_path` in one transaction: it all arrives, or nothing does.

    Objects belong to whoever restores (--no-owner): the owner role of the new server. Triggers
    are created after the data is loaded, so the rollup triggers do not fire on restored rows.
    """
    listing = Path(workdir) / "restore.list"
    entries = run("pg_restore", ["--list", str(dump_path)], url).splitlines(keepends=True)
    listing.write_text("".join(line for line in entries
                               if not any(skip in line for skip in SKIPPED_LIST_ENTRIES)))
    run("pg_restore", ["--single-transaction", "--exit-on-error", "--no-owner",
                       f"--use-list={listing}", f"--dbname={url.database}", str(dump_path)], url)


def user_tables(connection):
    """[(schema, table)] of the database's own tables (see USER_TABLES)."""
    return [(row.schema, row.name) for row in connection.execute(USER_TABLES)]


def row_counts(connection):
    """{"schema.table": rows} for every table of ours."""
    quote = connection.dialect.identifier_preparer.quote
    counts = {}
    for schema, name in user_tables(connection):
        # Names come from the catalog, not from input, and are quoted as identifiers.
        counts[f"{schema}.{name}"] = connection.scalar(
            text(f"SELECT count(*) FROM {quote(schema)}.{quote(name)}"))
    return counts


def audit_head(connection):
    """{"seq", "hash"} of the last chained audit entry, or None for an empty chain."""
    row = connection.execute(AUDIT_HEAD).first()
    return {"seq": row.seq, "hash": row.hash} if row else None


def alembic_revision(connection):
    return connection.scalar(ALEMBIC_REVISION)
