"""Users and their roles."""
import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from apoa.extensions import db


class Role(str, enum.Enum):
    resident = "resident"
    officer = "officer"
    supervisor = "supervisor"
    regional_head = "regional_head"
    admin = "admin"

    @property
    def title(self):
        return ROLE_TITLES[self]

    @property
    def is_staff(self):
        return self is not Role.resident


ROLE_TITLES = {
    Role.resident: _l("Resident"),
    Role.officer: _l("Officer"),
    Role.supervisor: _l("Supervisor"),
    Role.regional_head: _l("Regional head"),
    Role.admin: _l("Administrator"),
}

ROLES_SQL = ", ".join(f"'{r.value}'" for r in Role)
OFFICE_ROLES_SQL = "'officer', 'supervisor', 'regional_head'"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLES_SQL})", name="role_known"),
        # Officers, supervisors and heads act for an office: their jurisdiction comes from it.
        CheckConstraint(f"role NOT IN ({OFFICE_ROLES_SQL}) OR office_id IS NOT NULL", name="office_for_staff"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(default=True, server_default="true")
    # Bumped on sign-out and disabling so that an old session cookie stops working.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    office = relationship("Office")

    @property
    def role_enum(self):
        return Role(self.role)

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    def __repr__(self):
        return f"<User {self.id} {self.role}>"
