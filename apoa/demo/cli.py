"""`flask --app apoa demo seed`: offices, one user per role and a few hundred reports for trying APOA."""
import click
from flask.cli import AppGroup

from apoa.demo.seed import DEMO_PASSWORD, seed_demo
from apoa.errors import UserValueError
from apoa.extensions import db

demo_cli = AppGroup("demo", help="Demonstration data.")


@demo_cli.command("seed")
@click.option("--reports", default=300, show_default=True, help="Reports to create when there are none.")
def seed_command(reports):
    """Create the demo offices, users and reports; anything that already exists is left as it is."""
    try:
        result = seed_demo(report_count=reports)
    except UserValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    click.echo(f"demo data: {result.offices} offices, {result.users} users and {result.reports} reports created")
    click.echo(f"demo users (password for all: {DEMO_PASSWORD}):")
    for email, role, office in result.accounts:
        click.echo(f"  {role:14} {email:32} {office or ''}")
