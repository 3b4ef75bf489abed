"""`flask --app apoa users ...`: manage staff accounts from the command line. Each command calls
one service of apoa.auth.services and commits; the audit log names no actor (the console)."""
import click
from flask.cli import AppGroup

from apoa.auth.models import Role
from apoa.auth.services import (create_user, disable_user, enable_user, find_user_by_email,
                                grant_role, reset_second_factor)
from apoa.errors import UserValueError
from apoa.extensions import db

# A Tim PORA partner's account is made with its agency, on the Tim PORA pages (apoa/partners).
CLI_ROLES = [role.value for role in Role if role is not Role.partner]

users_cli = AppGroup("users", help="Create and manage user accounts.")


def _run(change):
    try:
        result = change()
    except UserValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    return result


def _user(email):
    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"there is no user with the email {email}")
    return user


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(CLI_ROLES))
@click.option("--office", "office_code",
              help="Office code (required for officer, supervisor, regional_head).")
@click.password_option(help="Asked for when not given.")
def create(email, name, role, office_code, password):
    """Create a user with a role (and an office for staff who act for one)."""
    user = _run(lambda: create_user(email, name, password, role, office_code))
    click.echo(f"created user {user.id} <{user.email}> as {user.role}")


@users_cli.command("disable")
@click.argument("email")
def disable(email):
    """Disable an account; its sessions end at once."""
    user = _run(lambda: disable_user(_user(email)))
    click.echo(f"disabled user {user.id} <{user.email}>")


@users_cli.command("enable")
@click.argument("email")
def enable(email):
    """Enable a disabled account again (and lift a lock-out)."""
    user = _run(lambda: enable_user(_user(email)))
    click.echo(f"enabled user {user.id} <{user.email}>")


@users_cli.command("grant")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(CLI_ROLES))
@click.option("--office", "office_code",
              help="Office code; staff who have one keep it when not given.")
def grant(email, role, office_code):
    """Give a user a role (and an office); their sessions end."""
    user = _run(lambda: grant_role(_user(email), role, office_code))
    office = f" at {user.office.code}" if user.office else ""
    click.echo(f"user {user.id} <{user.email}> is now {user.role}{office}")


@users_cli.command("reset-totp")
@click.argument("email")
def reset_totp(email):
    """Forget a user's authenticator app and recovery codes; they enrol again at next sign-in."""
    user = _run(lambda: reset_second_factor(_user(email)))
    click.echo(f"sign-in codes of user {user.id} <{user.email}> reset")
