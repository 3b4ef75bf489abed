"""Reading reports for officers: the queue, one report with what its page shows, and the choices
its action forms offer. Every query of reports goes through `visible()` (apoa/auth/permissions.py),
so a list and a detail page can never disagree about what a user may see.

The queue is read one page at a time with OFFSET, capped at MAX_PAGE pages: a capped offset walks
at most MAX_PAGE × PER_PAGE index entries, which stays fast at a million reports, and nobody pages
through thousands of reports by hand (they narrow the filters). No COUNT(*) is taken: one row more
than a page is fetched to know whether there is a next page.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased, defaultload, defer, joinedload, selectinload

from apoa.auth.models import User
from apoa.auth.permissions import (ALL_OFFICES, Permission, jurisdiction_office_ids, roles_with,
                                   visible)
from apoa.extensions import db
from apoa.periods import local_midnight
from apoa.regions.models import Office, OfficeKind, Region, RegionLevel, office_region
from apoa.reports import tracking
from apoa.reports.models import Attachment, Category, Report, ReportEvent
from apoa.reports.states import State

PER_PAGE = 25
MAX_PAGE = 200

# Sort keys users may ask for, and what each means. Anything else falls back to DEFAULT_SORT:
# user input never reaches ORDER BY. Each ends with the id so that pages never overlap.
SORTS = {
    "newest": (_l("Newest first"), (Report.created_at.desc(), Report.id.desc())),
    "oldest": (_l("Oldest first"), (Report.created_at.asc(), Report.id.asc())),
    "due": (_l("Due soonest"), (Report.due_at.asc().nulls_last(), Report.id.asc())),
}
DEFAULT_SORT = "newest"


def sort_key(requested):
    """The allowlisted sort key for what the user asked, or the default."""
    return requested if requested in SORTS else DEFAULT_SORT


@dataclass(frozen=True)
class QueueFilters:
    """What the officer narrowed the queue to; None means "any"."""

    state: str | None = None
    category_id: int | None = None
    kab_id: int | None = None
    kec_id: int | None = None
    received_from: date | None = None
    received_to: date | None = None
    overdue: bool = False
    mine: bool = False
    sort: str = DEFAULT_SORT


@dataclass(frozen=True)
class QueueRow:
    report: Report
    assignee_name: str | None
    overdue: bool


@dataclass
class QueuePage:
    rows: list
    number: int
    has_next: bool
    capped: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def has_previous(self):
        return self.number > 1


def overdue_clause(now):
    """SQL: due before `now` and not closed (a closed report has no due time)."""
    return and_(Report.due_at < now, Report.state != State.closed.value)


def is_overdue(report, now):
    return report.due_at is not None and report.due_at < now and report.state != State.closed.value


def queue_page(user, filters, page=1, per_page=None, include_closed=False):
    """One page of the reports `user` may see, filtered and sorted, with everything the queue
    shows loaded in the same statement (category, kabupaten, kecamatan, assignee's name).

    Closed reports are left out unless `include_closed` or a state is chosen: the queue is the
    work still to do, and closed reports soon outnumber it many times over."""
    per_page = per_page or PER_PAGE
    page = min(max(page, 1), MAX_PAGE)
    now = datetime.now(timezone.utc)
    assignee = aliased(User)
    query = (select(Report, assignee.name)
             .outerjoin(assignee, assignee.id == Report.assignee_id)
             .options(joinedload(Report.category), *region_names(joinedload), defer(Report.contact))
             .order_by(*SORTS[sort_key(filters.sort)][1])
             .offset((page - 1) * per_page).limit(per_page + 1))
    query = visible(filtered(query, filters, user, now), user)
    if not (include_closed or filters.state):
        query = query.where(Report.state != State.closed.value)
    rows = db.session.execute(query).all()
    return QueuePage(rows=[QueueRow(r, name, is_overdue(r, now)) for r, name in rows[:per_page]],
                     number=page, has_next=len(rows) > per_page and page < MAX_PAGE,
                     capped=len(rows) > per_page and page == MAX_PAGE, now=now)


def filtered(query, filters, user, now):
    """`query` narrowed by the queue's filters (shared by the queue and the map data)."""
    conditions = []
    if filters.state:
        conditions.append(Report.state == filters.state)
    if filters.category_id:
        conditions.append(Report.category_id == filters.category_id)
    if filters.kab_id:
        conditions.append(Report.kab_id == filters.kab_id)
    if filters.kec_id:
        conditions.append(Report.kec_id == filters.kec_id)
    if filters.received_from:
        conditions.append(Report.created_at >= local_midnight(filters.received_from))
    if filters.received_to:
        conditions.append(
            Report.created_at < local_midnight(filters.received_to + timedelta(days=1)))
    if filters.overdue:
        conditions.append(overdue_clause(now))
    if filters.mine:
        conditions.append(Report.assignee_id == user.id)
    return query.where(*conditions)


# --- one report ----------------------------------------------------------------------------------

def region_names(loader):
    """Loader options for a report's kabupaten and kecamatan: names only, never the boundaries
    (a kabupaten's polygon can weigh hundreds of kilobytes)."""
    return [loader(relation).load_only(Region.id, Region.kode, Region.nama)
            for relation in (Report.kabupaten, Report.kecamatan)]


def find_visible_report(report_id, user):
    """The report with this id if `user` may see it, else None (missing and hidden look alike).

    Loaded without eager joins on purpose: workflow.apply() refreshes the report FOR UPDATE with
    the options it was loaded with, and PostgreSQL refuses FOR UPDATE on an outer join's nullable
    side. Its few many-to-one relations load lazily (from the identity map when already there).
    """
    query = select(Report).where(Report.id == report_id).options(*region_names(defaultload))
    return db.session.scalar(visible(query, user))


def find_visible_by_code(typed, user):
    """The report with this tracking code (typed in any form) if `user` may see it, else None."""
    code = tracking.normalise(typed)
    if code is None:
        return None
    return db.session.scalar(visible(select(Report).where(Report.tracking_code == code), user))


def report_id_by_code(typed):
    """The id of the report with this code whoever may see it, or None: only for auditing a
    refused lookup, never for an answer."""
    code = tracking.normalise(typed)
    if code is None:
        return None
    return db.session.scalar(select(Report.id).where(Report.tracking_code == code))


def history(report):
    """The report's events, oldest first, with their actors."""
    return db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)
                              .options(joinedload(ReportEvent.actor)).order_by(ReportEvent.id)).all()


def pending_decision(report):
    """The event that last moved `report` into pending_approval: the decision proposed for approval
    (its actor may not approve it; send_back returns the report to its from_state), or None."""
    return db.session.scalars(_latest_proposal(report.id)).first()


def proposer_column(report_entity=Report):
    """SQL, per report row: the actor of its pending_decision(), for lists that ask the same
    question of many reports at once (who may approve, to whom a decision was sent back)."""
    return (_latest_proposal(report_entity.id).with_only_columns(ReportEvent.actor_id)
            .scalar_subquery())


def _latest_proposal(report_id):
    waiting = State.pending_approval.value
    return (select(ReportEvent).where(ReportEvent.report_id == report_id,
                                      ReportEvent.to_state == waiting,
                                      ReportEvent.from_state != waiting)
            .order_by(ReportEvent.id.desc()).limit(1))


def latest_event_column(column, report_entity=Report):
    """SQL, per report row: `column` of the report's latest event (its history's last step)."""
    return (select(column).where(ReportEvent.report_id == report_entity.id)
            .order_by(ReportEvent.id.desc()).limit(1).scalar_subquery())


def attachments_of(report):
    return db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)
                              .order_by(Attachment.id)).all()


def find_attachment(report, attachment_id):
    return db.session.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                      Attachment.report_id == report.id))


def user_name(user_id):
    return db.session.scalar(select(User.name).where(User.id == user_id)) if user_id else None


# --- choices for filters and action forms --------------------------------------------------------

def active_categories():
    return db.session.scalars(select(Category).where(Category.active)
                              .order_by(Category.position)).all()


def jurisdiction_kabupaten(user):
    """The kabupaten/kota whose reports `user` may see, by name (all of them for the Ditjen)."""
    offices = jurisdiction_office_ids(user)
    query = (select(Region.id, Region.kode, Region.nama)
             .where(Region.level == RegionLevel.kabupaten_kota.value).order_by(Region.nama))
    if offices is not ALL_OFFICES:
        query = query.join(office_region, office_region.c.region_id == Region.id).where(
            office_region.c.office_id.in_(offices or [-1]))
    return db.session.execute(query).all()


def kecamatan_of(kabupaten):
    """The kecamatan of a kabupaten (a row with its `kode`), by name: ids and names only."""
    query = (select(Region.id, Region.nama)
             .where(Region.level == RegionLevel.kecamatan.value,
                    Region.parent_kode == kabupaten.kode)
             .order_by(Region.nama))
    return db.session.execute(query).all()


def transfer_targets(report):
    """The Kantor Imigrasi a report can be transferred to: every one but its own."""
    return db.session.scalars(select(Office).where(Office.kind == OfficeKind.kantor.value,
                                                   Office.id != report.office_id)
                              .order_by(Office.name)).all()


def assignable_staff(report):
    """Active staff who may do the field work and can see `report`: those of its office, of the
    offices above it, and of the Ditjen. (apply() checks each choice again with can().)"""
    chain = (select(Office.id, Office.parent_id).where(Office.id == report.office_id)
             .cte("chain", recursive=True))
    parent = aliased(Office)
    chain = chain.union_all(select(parent.id, parent.parent_id)
                            .where(parent.id == chain.c.parent_id))
    ditjen = select(Office.id).where(Office.kind == OfficeKind.ditjen.value)
    query = (select(User).where(User.active, User.role.in_(roles_with(Permission.field_work)),
                                or_(User.office_id.in_(select(chain.c.id)),
                                    User.office_id.in_(ditjen)))
             .options(selectinload(User.office))
             .order_by((User.office_id != report.office_id), User.name, User.id))
    return db.session.scalars(query).all()
