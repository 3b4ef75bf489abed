"""`flask --app apoa backup ...`: make an encrypted backup, restore one into an empty database.

Progress goes to stderr, the summary to stdout (a cron job can keep the one and mail the other).
"""
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from apoa.audit.chain import chain_pending
from apoa.backup.errors import BackupError
from apoa.backup.services import Progress, code_schema_revision, create_backup, restore_backup
from apoa.extensions import db

backup_cli = AppGroup("backup", help="Encrypted backups of the database and the uploaded photos.")


class ClickProgress(Progress):
    """Steps as lines, long work as a progress bar, on stderr."""

    def __init__(self):
        self._bar = None

    def step(self, message):
        click.echo(f"- {message}", err=True)

    def start(self, label, total):
        self._bar = click.progressbar(length=max(total, 1), label=f"- {label}",
                                      file=sys.stderr)
        self._bar.__enter__()

    def advance(self, amount):
        if self._bar is not None:
            self._bar.update(amount)

    def finish(self):
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def default_output():
    """instance/backups/apoa-<UTC time>.backup: copy it elsewhere, off this machine."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(current_app.config["INSTANCE_DIR"]) / "backups" / f"apoa-{stamp}.backup"


def _fail(error):
    db.session.rollback()
    raise click.ClickException(str(error)) from None


@backup_cli.command("create")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write (default: instance/backups/apoa-<time>.backup).")
def create_command(output):
    """Dump the database and the uploads into one file encrypted with APOA_BACKUP_KEY."""
    output = output or default_output()
    # The manifest's audit head then covers every entry committed so far, not only those the
    # chaining job has reached.
    chain_pending()
    try:
        manifest = create_backup(output, ClickProgress())
    except BackupError as error:
        _fail(error)
    db.session.commit()
    uploads = sum(1 for name in manifest["parts"] if name.startswith("uploads/"))
    click.echo(f"backup written: {output} ({output.stat().st_size} bytes)")
    counts = manifest["row_counts"]
    click.echo(f"{len(counts)} tables, {sum(counts.values())} rows, {uploads} uploaded files, "
               f"schema {manifest['alembic_revision']}")
    _echo_audit_head("audit head", manifest["audit_head"])


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(path):
    """Restore a backup into the configured database, which must be empty, and the upload folder."""
    try:
        restored = restore_backup(path, ClickProgress())
    except BackupError as error:
        _fail(error)
    db.session.commit()
    if restored.alembic_revision == code_schema_revision():
        # `backup.restore` linked right onto the backup's head: verifiable before the app starts.
        chain_pending()
    manifest = restored.manifest
    click.echo(f"restored the backup made at {manifest['created_at']} "
               f"(APOA {manifest['app_version']}, schema {manifest['alembic_revision']})")
    click.echo(f"uploaded files: {restored.uploads_written} written, "
               f"{restored.uploads_present} were already there")
    _report_schema(restored.alembic_revision)
    _report_comparison(restored)


def _report_schema(restored_revision):
    expected = code_schema_revision()
    if restored_revision != expected:
        click.echo(f"the restored schema is at revision {restored_revision}, this code's at "
                   f"{expected}: run `flask --app apoa db upgrade` before starting the app")


def _report_comparison(restored):
    tables = len(restored.manifest["row_counts"])
    for table, expected, found in restored.differences:
        click.echo(f"row count differs: {table}: {expected} in the backup, {found} restored")
    if not restored.differences:
        click.echo(f"row counts match the manifest in all {tables} tables")
    _echo_audit_head("audit head", restored.audit_head)
    if not restored.audit_matches:
        _echo_audit_head("the manifest says", restored.manifest["audit_head"])
        raise click.ClickException("the restored audit log does not end where the backup's did")
    if restored.differences:
        raise click.ClickException("the restored database does not match the backup's manifest")
    click.echo("audit head matches the manifest; "
               "`flask --app apoa audit verify` checks the whole chain")


def _echo_audit_head(label, head):
    if head is None:
        click.echo(f"{label}: the audit log is empty")
    else:
        click.echo(f"{label}: entry {head['seq']}, hash {head['hash']}")
