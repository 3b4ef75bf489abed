"""`flask --app apoa audit ...`: chain and check the audit log."""
from datetime import timezone

import click
from flask.cli import AppGroup

from apoa.audit.chain import BATCH_SIZE, chain_pending
from apoa.audit.services import STALE_AFTER, verify

audit_cli = AppGroup("audit", help="The hash-chained audit log.")


@audit_cli.command("verify")
def verify_command():
    """Check every chained entry's hash and link; exit 1 naming the first broken entry. Entries
    not chained yet are counted; those waiting too long are a warning (is the chainer running?)."""
    result = verify()
    if not result.intact:
        raise click.ClickException(
            f"audit chain broken at entry {result.broken_seq}: {result.reason}")
    click.echo(f"audit chain intact: {result.entries} entries")
    # Written down elsewhere, the head hash later shows whether the newest entries were removed.
    click.echo(f"head hash: {result.head_hash}")
    if result.unchained:
        oldest = result.oldest_unchained_at.astimezone(timezone.utc)
        click.echo(f"not chained yet: {result.unchained} entries, the oldest recorded "
                   f"{oldest:%Y-%m-%d %H:%M:%S} UTC")
    if result.stale:
        minutes = int(STALE_AFTER.total_seconds() // 60)
        click.echo(f"warning: {result.stale} entries recorded more than {minutes} minutes ago are "
                   "not chained: is the job worker running? `flask --app apoa audit chain` "
                   "chains them now", err=True)


@audit_cli.command("chain")
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, type=click.IntRange(1),
              help="Entries sealed per transaction.")
def chain_command(batch_size):
    """Link every committed entry not chained yet into the hash chain (the job worker does this
    every minute; safe to run while it does)."""
    chained = chain_pending(batch_size)
    click.echo(f"chained {chained} entries")
