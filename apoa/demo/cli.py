"""`flask --app apoa demo seed`: offices, one user per role and a few hundred reports for
trying APOA."""
import click
from flask.cli import AppGroup

import pyotp
from flask import current_app

from apoa.demo.seed import DEMO_PASSWORD, DEMO_TOTP_SECRETS, seed_demo
from apoa.errors import UserValueError
from apoa.extensions import db

demo_cli = AppGroup("demo", help="Demonstration data.")


@demo_cli.command("seed")
@click.option("--reports", default=300, show_default=True,
              help="Reports to create when there are none.")
def seed_command(reports):
    """Create the demo offices, users and reports; anything that already exists is left as it is."""
    try:
        result = seed_demo(report_count=reports)
    except UserValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    click.echo(f"demo data: {result.offices} offices, {result.users} users, "
               f"{result.reports} reports, {result.lodgings} lodgings and {result.stays} guests' "
               "stays created")
    click.echo(f"demo users (password for all: {DEMO_PASSWORD}):")
    for email, role, office in result.accounts:
        key = DEMO_TOTP_SECRETS.get(email, "")
        click.echo(f"  {role:14} {email:26} {office or '-':16} {key}")
    click.echo("staff sign in with a code: add the key above to an authenticator app, or run "
               "`.venv/bin/flask --app apoa demo totp EMAIL` for the current code")


@demo_cli.command("totp")
@click.argument("email")
def totp_command(email):
    """Print the current sign-in code of a demo staff account (its secret is public anyway)."""
    if current_app.config["APOA_ENV"] == "production":
        raise click.ClickException("demo accounts do not exist in production")
    secret = DEMO_TOTP_SECRETS.get(email.strip().lower())
    if secret is None:
        raise click.ClickException(f"{email} is not a demo staff account "
                                   f"({', '.join(DEMO_TOTP_SECRETS)})")
    click.echo(pyotp.TOTP(secret).now())
