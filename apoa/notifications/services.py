"""Who is told what: the notifications a report's history and its due times cause.

`notify(report, event)` runs inside the service that appended `event` (workflow.apply; a
submission's are written by submit_report's one statement, apoa/reports/services.py, which asks
ON_EVENT["submit"] and must stay in step with `screeners`), so the notifications commit or roll
back with the change itself; the mail job is queued for after that commit. `notify_due(now)` is the
periodic scan for reports due soon or overdue. Who may act is always asked of
apoa/auth/permissions.py, never decided here; and only staff of the report's own office are told (a
Kanwil supervisor may approve too, but is not pinged for every report of every Kantor below). The
one who caused an event is not told of it.

Services flush and never commit.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import BigInteger, String, cast, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from apoa import jobs
from apoa.auth.models import User
from apoa.auth.permissions import Permission, can, decided_by, roles_with
from apoa.extensions import db
from apoa.notifications.models import EmailChoice, Kind, Notification
from apoa.reports.models import Report

log = logging.getLogger("apoa.notifications")

SEND_EMAILS = "apoa.notifications.jobs.send_pending_emails"
DUE_SOON = timedelta(hours=4)
# A report that went overdue longer ago than this while the scheduler was down is not announced
# late (the queue shows it as overdue); this also spares a new installation a flood of old ones.
OVERDUE_LOOKBACK = timedelta(days=1)
# Reports handled per kind and scan; the next scan, 5 minutes later, takes the rest.
SCAN_LIMIT = 1000


# --- who hears of an event ------------------------------------------------------------------------

def screeners(report, event=None):
    """The active officers and supervisors of the report's office: whoever may screen it.

    Asked in one query, since this runs with every submission: for a user of the report's own
    office, can(user, screen, report) is exactly "the role grants screen" (the office is in its
    own jurisdiction and screening has no rule about the report itself); a test holds the two equal.
    """
    return office_staff(report, roles_with(Permission.screen))


def assignee(report, event=None):
    return [db.session.get(User, report.assignee_id)] if report.assignee_id else []


def decider(report, event=None):
    """Whom a sent-back report returns to: who proposed the decision now refused."""
    user_id = decided_by(report) or report.assignee_id
    return [db.session.get(User, user_id)] if user_id else []


def approvers(report, event=None):
    return office_staff_who_can(report, Permission.approve)


def supervisors(report, event=None):
    """Those who hand out the office's work (and so chase it when it is late)."""
    return office_staff_who_can(report, Permission.assign)


def next_actors(report, event=None):
    """Whoever may move the report on now: the assignee while it is assigned or in the field, the
    office's officers while it is new or in screening, the approvers while it waits for approval."""
    from apoa.reports.workflow import available_actions  # the workflow calls notify(): import late

    return [user for user in office_staff(report) if available_actions(report, user)]


def office_staff(report, roles=None):
    """The active users of the report's office, in id order; only those with `roles` if given."""
    if report.office_id is None:
        return []
    query = select(User).where(User.office_id == report.office_id, User.active.is_(True))
    if roles is not None:
        query = query.where(User.role.in_(roles))
    return db.session.scalars(query.order_by(User.id)).all()


def office_staff_who_can(report, permission):
    return [user for user in office_staff(report, roles_with(permission))
            if can(user, permission, report)]


# What each step of a report's history tells, and to whom. A report transferred to another
# office is new there; one moved to pending_approval awaits a second pair of eyes.
ON_EVENT = {
    "submit": (Kind.new_report, screeners),
    "transfer": (Kind.new_report, screeners),
    "assign": (Kind.assigned, assignee),
    "send_back": (Kind.sent_back, decider),
    "dismiss": (Kind.awaiting_approval, approvers),
    "mark_duplicate": (Kind.awaiting_approval, approvers),
    "record_finding": (Kind.awaiting_approval, approvers),
}
ON_DUE = {
    Kind.due_soon: next_actors,
    Kind.overdue: supervisors,
}


def notify(report, event, now=None):
    """Tell whoever `event` (just appended to the report's history) concerns; returns how many
    were told. Call it in the transaction of the event; the mail job follows its commit."""
    if event.action not in ON_EVENT:
        return 0
    kind, who = ON_EVENT[event.action]
    users = [user for user in who(report, event) if user is not None and user.id != event.actor_id]
    told = write(kind, report, users, f"{kind.value}:e{event.id}",
                 now or datetime.now(timezone.utc))
    log.info("report %s, event %s (%s): %d told", report.id, event.id, event.action, len(told))
    return len(told)


# --- writing -----------------------------------------------------------------------------------

def write(kind, report, users, key, now):
    """Insert one notification of `kind` per user for the cause `key` (skipping users already told
    of it); queue the mail job if one of them wants each mail. Returns the users told now."""
    if not users:
        return []
    rows = [{"user_id": user.id, "kind": kind.value, "report_id": report.id, "key": key,
             "created_at": now, "email_plan": email_plan(user)} for user in users]
    statement = insert(Notification).values(rows).on_conflict_do_nothing(
        index_elements=["key", "user_id"]).returning(Notification.user_id)
    told = set(db.session.scalars(statement).all())
    users = [user for user in users if user.id in told]
    if any(email_plan(user) == EmailChoice.each.value for user in users):
        jobs.enqueue(SEND_EMAILS)
    return users


def email_plan(user):
    choice = EmailChoice(user.email_notifications or EmailChoice.each.value)
    return None if choice is EmailChoice.none else choice.value


# --- the due-time scan ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DueScan:
    due_soon: int = 0
    overdue: int = 0


def notify_due(now):
    """Tell who must act of reports due within DUE_SOON, and the supervisors of those that went
    overdue (within OVERDUE_LOOKBACK). Each report's due time is told once per kind: running the
    scan again, every 5 minutes, tells nobody twice. Returns how many notifications it wrote."""
    windows = {Kind.due_soon: (now, now + DUE_SOON), Kind.overdue: (now - OVERDUE_LOOKBACK, now)}
    told = {kind: _notify_due(kind, *windows[kind], now) for kind in ON_DUE}
    return DueScan(due_soon=told[Kind.due_soon], overdue=told[Kind.overdue])


def _notify_due(kind, after, until, now):
    told = 0
    for report, key in untold_due(kind, after, until):
        told += len(write(kind, report, ON_DUE[kind](report), key, now))
    return told


def untold_due(kind, after, until):
    """(report, key) of the open reports due in (after, until] whose due time has not caused a
    notification of `kind` yet, soonest first. The key names report and due time, so a new due
    time (the next state's) is a new cause."""
    key = (literal(f"{kind.value}:r") + cast(Report.id, String) + literal(":")
           + cast(cast(func.floor(func.extract("epoch", Report.due_at)), BigInteger), String))
    query = (select(Report, key.label("key"))
             .where(Report.due_at > after, Report.due_at <= until, Report.office_id.is_not(None),
                    ~exists().where(Notification.key == key))
             .order_by(Report.due_at, Report.id).limit(SCAN_LIMIT))
    return db.session.execute(query).all()
