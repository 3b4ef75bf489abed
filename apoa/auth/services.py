"""Creating users, granting roles, disabling and enabling accounts. Services flush; the caller
commits. Every change to an account is audited; changes that alter what a user may do (role,
office, disabling, a reset second factor) also end the user's sessions."""
import logging
import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from apoa import jobs
from apoa.audit.services import record
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


def create_user(email, name, password, role, office_code=None, actor=None):
    """Create a user; staff roles that act for an office must name one by its code. Staff accounts
    are audited as "user.create" (residents registering themselves are not)."""
    email = normalise_email(email)
    role = _parse_role(role)
    if find_user_by_email(email):
        raise UserValueError(_("A user with the email %(email)s already exists.", email=email))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserValueError(_("The password must have at least %(n)d characters.",
                               n=MIN_PASSWORD_LENGTH))
    user = User(email=email, name=name.strip(), role=role.value,
                office=_office_for_role(role, office_code))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    if role.is_staff:
        record("user.create", f"user:{user.id}", {"role": role.value, "office": _office_code(user)},
               actor=actor)
    log.info("created user %s with role %s", user.id, role.value)
    return user


def register_resident(email, name, password):
    """A resident's own registration, which must not tell whether the email already has an
    account: a new address gets a resident account (returned); for a known one nothing changes,
    its owner is told by email (a job, after the commit) and None is returned. Both hash the
    password, so that the time taken does not tell either."""
    existing = find_user_by_email(email)
    if existing is None:
        user = create_user(email, name, password, "resident")
        log.info("resident %s registered", user.id)
        return user
    User().set_password(password)  # the work of a creation, thrown away
    jobs.enqueue("apoa.auth.jobs.send_account_exists_notice", existing.id)
    log.info("registration with the email of user %s: its owner is told", existing.id)
    return None


def new_password():
    """A first password for an account made by an administrator: shown once, never stored."""
    return secrets.token_urlsafe(12)


def grant_role(user, role, office_code=None, actor=None):
    """Give `user` a role (and the office it needs; a staff user keeps theirs when none is named).
    Ends the user's sessions, since what they may do has changed. Audited as "user.grant"."""
    if actor is not None and actor.id == user.id:
        raise UserValueError(_("You cannot change your own role or office."))
    role = _parse_role(role)
    if Role.partner in (role, user.role_enum):
        # A partner's account exists with its agency (apoa/partners): never made or unmade here.
        raise UserValueError(_("A Tim PORA partner's account is managed with its agency, on the "
                               "Tim PORA pages."))
    office = (_office_for_role(role, office_code) if office_code or not user.office_id
              else user.office)
    before = {"role": user.role, "office": _office_code(user)}
    user.role = role.value
    user.office = office if role is not Role.resident else None
    _end_sessions(user)
    record("user.grant", f"user:{user.id}",
           {"from": before, "to": {"role": user.role, "office": _office_code(user)}}, actor=actor)
    log.info("user %s now has role %s", user.id, user.role)
    return user


def disable_user(user, actor=None):
    """Disable an account and end its sessions at once. Audited as "user.disable"."""
    if actor is not None and actor.id == user.id:
        raise UserValueError(_("You cannot disable your own account."))
    user.active = False
    _end_sessions(user)
    record("user.disable", f"user:{user.id}", None, actor=actor)
    log.info("user %s disabled", user.id)
    return user


def enable_user(user, actor=None):
    """Enable an account again (and lift a lock-out). Audited as "user.enable"."""
    user.active = True
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    record("user.enable", f"user:{user.id}", None, actor=actor)
    log.info("user %s enabled", user.id)
    return user


def unlock_user(user, actor=None):
    """Lift a lock-out before its time. Audited as "user.unlock"."""
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    record("user.unlock", f"user:{user.id}", None, actor=actor)
    log.info("user %s unlocked", user.id)
    return user


def reset_second_factor(user, actor=None):
    """Forget the user's authenticator and recovery codes (a lost phone) and end their sessions;
    their next sign-in enrols again. Audited as "auth.totp_reset"."""
    from apoa.auth.totp import clear_totp

    clear_totp(user)
    _end_sessions(user)
    record("auth.totp_reset", f"user:{user.id}", None, actor=actor)
    log.info("second factor of user %s reset", user.id)
    return user


def _end_sessions(user):
    user.session_version += 1
    db.session.flush()


def _office_code(user):
    return user.office.code if user.office is not None else None


def _parse_role(role):
    try:
        return Role(role)
    except ValueError:
        raise UserValueError(_("Unknown role %(role)s.", role=role)) from None


def _office_for_role(role, office_code):
    if not office_code:
        if role.needs_office:
            raise UserValueError(_("The role %(role)s needs an office.", role=role.value))
        return None
    office = db.session.scalar(select(Office).where(Office.code == office_code))
    if office is None:
        raise UserValueError(_("There is no office with the code %(code)s.", code=office_code))
    return office
