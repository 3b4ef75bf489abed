"""Users, their roles, and what staff sign-in keeps about them (second factor, failed attempts)."""
import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import (BigInteger, CheckConstraint, DateTime, ForeignKey, LargeBinary, String,
                        UniqueConstraint, func)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from apoa.extensions import db


class Role(str, enum.Enum):
    resident = "resident"
    officer = "officer"
    supervisor = "supervisor"
    regional_head = "regional_head"
    admin = "admin"
    # Staff of a lodging, a company/sponsor or a private host reporting foreign guests
    # (apoa/guests): not immigration staff, so no office and no second factor.
    lodging = "lodging"
    # A member of a Tim PORA partner agency (Polri, TNI, Kejaksaan, BNN, Kesbangpol, Satpol PP,
    # camat) on an office's team (apoa/partners): sees only what that office shares.
    partner = "partner"

    @property
    def title(self):
        return ROLE_TITLES[self]

    @property
    def is_staff(self):
        return self not in (Role.resident, Role.lodging)

    @property
    def needs_office(self):
        """Officers, supervisors and heads act for an office: their jurisdiction comes from it. A
        Tim PORA partner belongs to one office's team: the office says which team, and grants
        nothing by itself (what a role may do is ROLE_PERMISSIONS' alone)."""
        return self in OFFICE_ROLES

    @property
    def assigned_by_admin(self):
        """Whether the administration pages offer this role: staff roles, except partners, whose
        accounts are made by their office's supervisors together with the agency they belong to
        (apoa/partners), so that no partner account is ever without one."""
        return self.is_staff and self is not Role.partner


OFFICE_ROLES = (Role.officer, Role.supervisor, Role.regional_head, Role.partner)
ROLE_TITLES = {
    Role.resident: _l("Resident"),
    Role.officer: _l("Officer"),
    Role.supervisor: _l("Supervisor"),
    Role.regional_head: _l("Regional head"),
    Role.admin: _l("Administrator"),
    Role.lodging: _l("Lodging operator or sponsor"),
    Role.partner: _l("Tim PORA partner"),
}

ROLES_SQL = ", ".join(f"'{r.value}'" for r in Role)
OFFICE_ROLES_SQL = ", ".join(f"'{r.value}'" for r in OFFICE_ROLES)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLES_SQL})", name="role_known"),
        # Officers, supervisors and heads act for an office: their jurisdiction comes from it;
        # a partner for the office whose team they are on.
        CheckConstraint(f"role NOT IN ({OFFICE_ROLES_SQL}) OR office_id IS NOT NULL",
                        name="office_for_staff"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("totp_enabled_at IS NULL OR totp_secret IS NOT NULL",
                        name="totp_enabled_has_secret"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"),
                                                  index=True)
    active: Mapped[bool] = mapped_column(default=True, server_default="true")
    # Bumped on sign-out and disabling so that an old session cookie stops working.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The TOTP secret, Fernet-encrypted (apoa.auth.totp). Set with totp_enabled_at still NULL while
    # an enrolment waits for its first code.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The time step of the last accepted code: each code works once, and never one older than that.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Failed sign-ins since the last success or lock-out (apoa.auth.signin).
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    office = relationship("Office")

    @property
    def role_enum(self):
        return Role(self.role)

    @property
    def is_active(self):
        return self.active

    @property
    def is_staff(self):
        """Staff sign in with a second factor and get shorter sessions."""
        return self.role_enum.is_staff

    @property
    def is_immigration_staff(self):
        """Staff of an immigration office (not a Tim PORA partner): the API tokens and the
        notification inbox are theirs."""
        return self.role_enum.is_staff and self.role_enum is not Role.partner

    @property
    def totp_enrolled(self):
        return self.totp_enabled_at is not None

    def is_locked(self, now):
        return self.locked_until is not None and self.locked_until > now

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    def __repr__(self):
        return f"<User {self.id} {self.role}>"


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app. Only its sha256 is kept: the codes
    are random (80 bits), so a slow password hash would add nothing but waiting."""

    __tablename__ = "recovery_code"
    __table_args__ = (
        UniqueConstraint("user_id", "code_hash"),
        CheckConstraint("code_hash ~ '^[0-9a-f]{64}$'", name="code_hash_hex"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
