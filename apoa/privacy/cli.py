"""`flask --app apoa privacy ...`: the UU PDP duties from the command line.

    flask --app apoa privacy retention --dry-run    what the report retention would change
    flask --app apoa privacy retention              apply it now (the daily job does the same)
"""
import click
from flask.cli import AppGroup
from flask_babel import to_user_timezone

from apoa.extensions import db
from apoa.privacy import retention

privacy_cli = AppGroup("privacy", help="Personal data (UU PDP 27/2022): retention and requests.")


@privacy_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Only say what would change; change nothing.")
def retention_command(dry_run):
    """Anonymise old unfounded/duplicate reports, remove old contacts and photos
    (APOA_RETENTION_* settings)."""
    if dry_run:
        _echo_preview(retention.preview(), retention.settings())
        return
    result = retention.run_retention()
    db.session.commit()
    click.echo(f"{result['anonymised']} reports anonymised, {result['contacts_removed']} contacts "
               f"removed, {result['photos_deleted']} photos deleted")


def _echo_preview(preview, days):
    click.echo("Dry run: nothing changed.")
    rows = (("anonymise unfounded/duplicate reports", preview.anonymise, days["unfounded_days"]),
            ("remove reporters' contacts", preview.contacts, days["contact_days"]),
            ("delete photos", preview.photos, days["photo_days"]))
    for what, rule, after in rows:
        oldest = (f", oldest closed {to_user_timezone(rule.oldest).date().isoformat()}"
                  if rule.oldest else "")
        click.echo(f"{what} (closed over {after} days ago): {rule.count}{oldest}")
