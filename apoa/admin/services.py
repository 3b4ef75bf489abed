"""What the administration pages read: staff accounts and offices. Nothing here touches reports.

Changes to accounts are the services of apoa.auth.services (shared with the `flask users` CLI)."""
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from apoa.auth.models import Role, User
from apoa.extensions import db
from apoa.regions.models import Office

STAFF_ROLES = tuple(role.value for role in Role if role.is_staff)


def staff_users(office_code=None, role=None):
    """Staff accounts, by office and name; residents are never listed."""
    query = (select(User).outerjoin(User.office).options(joinedload(User.office))
             .where(User.role.in_(STAFF_ROLES))
             .order_by(Office.code.nulls_first(), User.name, User.id))
    if office_code:
        query = query.where(Office.code == office_code)
    if role in STAFF_ROLES:
        query = query.where(User.role == role)
    return db.session.scalars(query).all()


def staff_user(user_id):
    """One staff account, or None (residents are not the administration's business)."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.is_staff else None


def all_offices():
    return db.session.scalars(select(Office).order_by(Office.code)).all()
