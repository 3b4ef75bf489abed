"""Accounts of the people who report foreign guests: a lodging account signed up by the person in
charge themselves, and staff accounts that the person in charge adds to an organisation.

Sign-up follows the residents' registration (apoa/auth/services.py register_resident): the answer
is the same whether the email had an account, so the page cannot be used to learn who has one;
the owner of a known address is told by email instead.

A colleague is added by email. A new address gets a lodging account with a first password made
here and shown once to the person in charge, who hands it over in person, as an administrator does
for staff accounts (apoa/admin/views.py new_user); the colleague changes nothing else to start.
An address that already has a lodging account is simply added to the organisation. Any other
account (a resident's, immigration staff's) is never turned into a lodging account by somebody
else: its owner would lose what their account was for without being asked.
"""
import logging
from dataclasses import dataclass

from flask_babel import gettext as _

from apoa.auth.models import Role
from apoa.auth.services import (create_user, find_user_by_email, new_password,
                                register_resident)
from apoa.errors import NotAllowed, UserValueError
from apoa.auth.permissions import Permission, can_for_organisation
from apoa.guests.services import add_member

log = logging.getLogger("apoa.guests")


def sign_up_lodging_account(email, name, password):
    """A person in charge signs up: a new address gets a lodging account (returned); for a known
    one nothing changes, its owner is told by email and None is returned (register_resident)."""
    user = register_resident(email, name, password)
    if user is not None:
        user.role = Role.lodging.value
        log.info("lodging account %s signed up", user.id)
    return user


@dataclass(frozen=True)
class AddedStaff:
    """A colleague added to an organisation, with the first password when the account is new."""

    user: object
    first_password: str | None = None


def add_staff(organisation, actor, email, name):
    """Add a colleague to `organisation` by email (the person in charge does this): a new lodging
    account with a first password to hand over, or an existing lodging account. Audited by
    add_member."""
    if not can_for_organisation(actor, Permission.manage_members, organisation):
        raise NotAllowed()
    existing = find_user_by_email(email)
    if existing is None:
        return _new_colleague(organisation, actor, email, name)
    if existing.role != Role.lodging.value:
        raise UserValueError(_("This email address cannot be added as a colleague. Ask them to "
                               "sign up a lodging account with another address, then add that."))
    add_member(organisation, existing, actor)
    return AddedStaff(existing)


def _new_colleague(organisation, actor, email, name):
    if not (name or "").strip():
        raise UserValueError(_("Give your colleague's name."))
    password = new_password()
    user = create_user(email, name, password, Role.lodging.value)
    add_member(organisation, user, actor)
    log.info("lodging account %s created by user %s", user.id, actor.id)
    return AddedStaff(user, password)
