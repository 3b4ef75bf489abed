"""Staff notifications: one row per person told of something about a report, and each user's
choice of e-mail (each one, a daily digest, none)."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column

from apoa.auth.models import User
from apoa.core.vocabulary import TitledEnum, titled
from apoa.extensions import db


class Kind(TitledEnum):
    new_report = "new_report"                # to the officers and supervisors of the report's
                                             # office
    assigned = "assigned"                    # to the assignee
    sent_back = "sent_back"                  # to whoever the decision came from
    awaiting_approval = "awaiting_approval"  # to the supervisors who may approve it
    due_soon = "due_soon"                    # to whoever must act next, within DUE_SOON of due_at
    overdue = "overdue"                      # to the supervisors of the office


class EmailChoice(TitledEnum):
    each = "each"
    digest = "digest"
    none = "none"


titled(Kind, {
    Kind.new_report: _l("New report in your area"),
    Kind.assigned: _l("Assigned to you"),
    Kind.sent_back: _l("Sent back to you"),
    Kind.awaiting_approval: _l("Awaiting your approval"),
    Kind.due_soon: _l("Due within 4 hours"),
    Kind.overdue: _l("Overdue"),
})
titled(EmailChoice, {
    EmailChoice.each: _l("An e-mail for each notification"),
    EmailChoice.digest: _l("One e-mail a day with all of them (07.00 WIB)"),
    EmailChoice.none: _l("No e-mail: the bell only"),
})


class Notification(db.Model):
    """Something a user should know about a report. Written in the transaction of the change that
    causes it, so the bell is never ahead of the data nor behind it. It holds no text: the page
    and the mail name the report by its tracking code, category, kecamatan and current state,
    never the description, the reporter, contact details or coordinates.

    `key` names the cause ("assigned:e42" for event 42, "overdue:r7:1764740000" for report 7's
    due time): one notification per user and cause, so the due-time scan every 5 minutes and a
    retried job never tell anyone twice.
    """

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint(f"kind IN ({Kind.sql_list()})", name="kind_known"),
        UniqueConstraint("key", "user_id"),
        Index("ix_notification_user_id_id", "user_id", "id"),
        # The bell: one user's unread count.
        Index("ix_notification_unread", "user_id", postgresql_where=text("read_at IS NULL")),
        CheckConstraint(f"email_plan IS NULL OR email_plan IN ('{EmailChoice.each.value}', "
                        f"'{EmailChoice.digest.value}')", name="email_plan_known"),
        # The mail sweeps: rows still to be mailed.
        Index("ix_notification_unmailed", "created_at",
              postgresql_where=text("emailed_at IS NULL AND email_plan IS NOT NULL")),
        Index("ix_notification_report_id", "report_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # How it is to be mailed, from the user's choice when it was made: 'each' or 'digest'; NULL
    # for none (the user chose the bell only, or the mail server refused the address for good).
    # A user who changes their choice later is not mailed a backlog of old notifications.
    email_plan: Mapped[str | None] = mapped_column(String(10))
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def kind_enum(self):
        return Kind(self.kind)

    def __repr__(self):
        return f"<Notification {self.id} {self.kind} user {self.user_id}>"


# Each user's e-mail choice is a column of user_account (migration 0008). It is declared here,
# beside the notifications it governs, and so joins the User model when apoa.models imports
# this module.
User.email_notifications = mapped_column(String(10), nullable=False, default=EmailChoice.each.value,
                                         server_default=EmailChoice.each.value)
User.__table__.append_constraint(CheckConstraint(
    f"email_notifications IN ({EmailChoice.sql_list()})", name="email_notifications_known"))
