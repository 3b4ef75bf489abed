"""Creating users, checking credentials, granting roles. Services flush; the caller commits."""
import logging

from flask_babel import gettext as _
from sqlalchemy import select

from apoa.auth.models import Role, User
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.regions.models import Office

log = logging.getLogger("apoa.auth")
MIN_PASSWORD_LENGTH = 10


def normalise_email(email):
    return (email or "").strip().lower()


def find_user_by_email(email):
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def authenticate(email, password):
    """Return the active user with these credentials, or None (without saying which part was wrong)."""
    user = find_user_by_email(email)
    if user is None or not user.active or not user.check_password(password):
        log.info("failed sign-in for user %s", user.id if user else "unknown")
        return None
    return user


def create_user(email, name, password, role, office_code=None):
    """Create a user; staff roles that act for an office must name one by its code."""
    email = normalise_email(email)
    role = _parse_role(role)
    if find_user_by_email(email):
        raise UserValueError(_("A user with the email %(email)s already exists.", email=email))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserValueError(_("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    user = User(email=email, name=name.strip(), role=role.value, office=_office_for_role(role, office_code))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    log.info("created user %s with role %s", user.id, role.value)
    return user


def _parse_role(role):
    try:
        return Role(role)
    except ValueError:
        raise UserValueError(_("Unknown role %(role)s.", role=role)) from None


def _office_for_role(role, office_code):
    if not office_code:
        if role in (Role.officer, Role.supervisor, Role.regional_head):
            raise UserValueError(_("The role %(role)s needs an office.", role=role.value))
        return None
    office = db.session.scalar(select(Office).where(Office.code == office_code))
    if office is None:
        raise UserValueError(_("There is no office with the code %(code)s.", code=office_code))
    return office
