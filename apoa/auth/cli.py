"""`flask --app apoa users ...`: manage staff accounts from the command line."""
import click
from flask.cli import AppGroup

from apoa.auth.models import Role
from apoa.auth.services import create_user
from apoa.errors import UserValueError
from apoa.extensions import db

users_cli = AppGroup("users", help="Create and manage user accounts.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--office", "office_code", help="Office code (required for officer, supervisor, regional_head).")
@click.password_option(help="Asked for when not given.")
def create(email, name, role, office_code, password):
    """Create a user with a role (and an office for staff who act for one)."""
    try:
        user = create_user(email, name, password, role, office_code)
    except UserValueError as error:
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    click.echo(f"created user {user.id} <{user.email}> as {user.role}")
