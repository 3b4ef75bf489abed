"""A user's own notifications: the bell's count, the list page, marking read, the e-mail choice.

Every query here is narrowed to one user's rows; nobody reads or marks another's. What a
notification shows of its report is read when it is shown (`Item`): tracking code, category,
kecamatan and kabupaten names, state and due time, never the description, the reporter, contact
details or coordinates.

Services flush and never commit.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from apoa.extensions import db
from apoa.notifications.models import EmailChoice, Kind, Notification
from apoa.regions.models import Region
from apoa.reports.models import Category, Report
from apoa.reports.states import State
from apoa.reports.tracking import display

PER_PAGE = 20
MAX_PAGE = 100
# The bell counts up to this many and then shows "99+": a cheap count however much is unread.
BELL_CAP = 100


def unread_count(user):
    """How many of the user's notifications are unread, counted up to BELL_CAP (one index scan)."""
    unread = (select(Notification.id).where(Notification.user_id == user.id,
                                            Notification.read_at.is_(None))
              .limit(BELL_CAP).subquery())
    return db.session.scalar(select(func.count()).select_from(unread))


@dataclass(frozen=True)
class Item:
    """One notification as the list and the mails show it."""

    id: int
    kind: Kind
    created_at: datetime
    read_at: datetime | None
    report_id: int | None
    tracking_code: str | None
    state: State | None
    due_at: datetime | None
    category_id_name: str | None
    category_en_name: str | None
    kecamatan: str | None
    kabupaten: str | None

    @property
    def unread(self):
        return self.read_at is None

    @property
    def code(self):
        return display(self.tracking_code) if self.tracking_code else None

    @property
    def place(self):
        return ", ".join(name for name in (self.kecamatan, self.kabupaten) if name) or None

    def category(self, locale):
        return self.category_en_name if str(locale) == "en" else self.category_id_name


def items_query():
    """Notifications with what is shown of their report: one statement for a whole page."""
    kec, kab = aliased(Region), aliased(Region)
    return (select(Notification.id, Notification.kind, Notification.created_at,
                   Notification.read_at, Notification.report_id, Report.tracking_code,
                   Report.state, Report.due_at,
                   Category.name_id, Category.name_en, kec.nama, kab.nama)
            .outerjoin(Report, Report.id == Notification.report_id)
            .outerjoin(Category, Category.id == Report.category_id)
            .outerjoin(kec, kec.id == Report.kec_id)
            .outerjoin(kab, kab.id == Report.kab_id))


def to_item(row):
    (id_, kind, created_at, read_at, report_id, code, state, due_at, name_id, name_en, kec,
     kab) = row
    return Item(id=id_, kind=Kind(kind), created_at=created_at, read_at=read_at,
                report_id=report_id, tracking_code=code, state=State(state) if state else None,
                due_at=due_at, category_id_name=name_id, category_en_name=name_en, kecamatan=kec,
                kabupaten=kab)


def items(notification_ids):
    """The Items of these notifications, in id order."""
    query = items_query().where(Notification.id.in_(notification_ids)).order_by(Notification.id)
    return [to_item(row) for row in db.session.execute(query)]


@dataclass
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self):
        return self.number > 1


def page_of(user, number=1):
    """Page `number` of the user's notifications, newest first (one row more than a page is read
    to know whether another follows; pages beyond MAX_PAGE show the last one)."""
    number = min(max(number or 1, 1), MAX_PAGE)
    query = (items_query().where(Notification.user_id == user.id)
             .order_by(Notification.id.desc()).offset((number - 1) * PER_PAGE).limit(PER_PAGE + 1))
    rows = [to_item(row) for row in db.session.execute(query)]
    return Page(items=rows[:PER_PAGE], number=number, has_next=len(rows) > PER_PAGE)


def mark_read(user, notification_id, now):
    """Mark one of the user's notifications read. False when the user has no such notification
    (another user's looks the same as a missing one)."""
    mine = select(Notification.id).where(Notification.id == notification_id,
                                         Notification.user_id == user.id)
    if db.session.scalar(mine) is None:
        return False
    db.session.execute(update(Notification).where(Notification.id == notification_id,
                                                  Notification.read_at.is_(None))
                       .values(read_at=now))
    return True


def mark_all_read(user, now):
    """Mark every unread notification of the user read; returns how many."""
    result = db.session.execute(update(Notification).where(Notification.user_id == user.id,
                                                           Notification.read_at.is_(None))
                                .values(read_at=now))
    return result.rowcount


def set_email_choice(user, choice):
    """each, digest or none (EmailChoice): how the user hears of notifications by e-mail."""
    user.email_notifications = EmailChoice(choice).value
    db.session.flush()
