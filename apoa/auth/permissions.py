"""Who may do what: the one place for access rules.

A role grants permissions (ROLE_PERMISSIONS); an office's jurisdiction limits them to reports of
the office and the offices below it (a Kanwil sees its Kantor Imigrasi, the Ditjen sees all).
`can()` answers for one object and `visible()` narrows a query, both from the same rules, so a list
and a detail page can never disagree. Views turn "not visible" into 404, never 403, so nobody learns
that another office's report exists.

Foreign guests (apoa/guests) follow two rules: staff reach organisations and stays through the
organisation's office, as for reports; an organisation's own staff (Role.lodging) reach only the
organisations they are members of (`can_for_organisation`, `can_for_stay`, `visible_stays`).
"""
import enum
import logging

from sqlalchemy import literal, select, true
from sqlalchemy.orm import aliased

from apoa.auth.models import Role
from apoa.extensions import db
from apoa.regions.models import Office, OfficeKind

log = logging.getLogger("apoa.auth")


class Permission(str, enum.Enum):
    view_report = "view_report"
    screen = "screen"                    # screen, dismiss, mark as duplicate, transfer
    assign = "assign"
    field_work = "field_work"            # start a field check, record a finding (the assignee only)
    approve = "approve"                  # approve or send back a decision (not one's own)
    reopen = "reopen"
    reveal_contact = "reveal_contact"
    view_aggregates = "view_aggregates"  # summaries, choropleths, cells: never individual reports
    export_reports = "export_reports"    # rows of the filtered reports as CSV/GeoJSON/XLSX
                                         # (no contact)
    manage_users = "manage_users"
    manage_offices = "manage_offices"
    manage_jobs = "manage_jobs"          # the job queue at /admin/tugas: failures, retries
    ask_reporter = "ask_reporter"        # send a WhatsApp reporter a question (never the number)
    answer_cases = "answer_cases"        # complaints and questions to the office (apoa/feedback)
    manage_whatsapp = "manage_whatsapp"  # failed WhatsApp sends, blocked numbers
    # Foreign guests (apoa/guests). Staff act on organisations and stays of their jurisdiction;
    # an organisation's members act on that organisation's own stays only.
    view_guests = "view_guests"          # stays in the clear fields: never names or passports
    reveal_guest = "reveal_guest"        # a guest's personal data, with a reason, audited
    search_passport = "search_passport"  # exact passport search, with a reason, audited
    verify_organisation = "verify_organisation"
    report_guests = "report_guests"      # check in, check out, correct, cancel: members only
    manage_members = "manage_members"    # add staff to an organisation: its person in charge
    # Tim PORA (apoa/partners): the office's side and the partner members' side.
    manage_partners = "manage_partners"  # partner agencies, their members, forwarding, operations
    view_shared = "view_shared"          # what the member's office shares: aggregates, the
                                         # supervision map, forwarded reports without the reporter
    # UU PDP 27/2022 (apoa/privacy).
    manage_privacy = "manage_privacy"    # retention runs, data-subject requests, the record of
                                         # processing, breach support
    decide_subject_requests = "decide_subject_requests"  # requests about a reported person


_OFFICER = {Permission.view_report, Permission.screen, Permission.field_work,
            Permission.export_reports, Permission.ask_reporter, Permission.view_guests,
            Permission.reveal_guest, Permission.search_passport}
ROLE_PERMISSIONS = {
    Role.resident: frozenset(),
    Role.officer: frozenset(_OFFICER),
    Role.supervisor: frozenset(_OFFICER | {Permission.assign, Permission.approve, Permission.reopen,
                                            Permission.reveal_contact, Permission.view_aggregates,
                                            Permission.answer_cases,
                                            Permission.verify_organisation,
                                            Permission.manage_partners,
                                            Permission.decide_subject_requests}),
    Role.regional_head: frozenset({Permission.view_aggregates}),
    # The admin configures the system and reads no report content.
    Role.admin: frozenset({Permission.manage_users, Permission.manage_offices,
                           Permission.manage_jobs, Permission.manage_whatsapp,
                           Permission.manage_privacy}),
    # Staff of a lodging, company or host: their own organisation's guests, nothing of reports.
    Role.lodging: frozenset({Permission.report_guests, Permission.manage_members}),
    # A Tim PORA partner member: only what their office's team is given (apoa/partners).
    Role.partner: frozenset({Permission.view_shared}),
}
# Permissions that reach an organisation's stays through membership, not through an office.
MEMBER_PERMISSIONS = frozenset({Permission.report_guests, Permission.manage_members})


def roles_with(permission):
    """The roles (their stored values) whose permissions include `permission`: to find in a query
    the users who could act, from the same table as `can()`."""
    return sorted(role.value for role, granted in ROLE_PERMISSIONS.items()
                  if Permission(permission) in granted)


def has_permission(user, permission):
    """Whether the user's role grants the permission at all (no object, no jurisdiction)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    return Permission(permission) in ROLE_PERMISSIONS[Role(user.role)]


def can(user, permission, report=None):
    """Whether `user` may use `permission` on `report` (or in general when no report is given)."""
    if not has_permission(user, permission):
        return False
    if report is None:
        return True
    if not in_jurisdiction(user, report):
        return False
    return _object_rule(user, Permission(permission), report)


def can_for_office(user, permission, office_id):
    """Whether `user` may use `permission` on something that belongs to an office rather than to
    a report (a complaint, a question): the same jurisdiction rule as for reports."""
    if not has_permission(user, permission):
        return False
    office_ids = jurisdiction_office_ids(user)
    return office_ids is ALL_OFFICES or office_id in office_ids


def offices_visible(user, permission):
    """The office ids whose cases `user` may see with `permission`, or ALL_OFFICES."""
    if not has_permission(user, permission):
        return set()
    return jurisdiction_office_ids(user)


def _object_rule(user, permission, report):
    if permission is Permission.ask_reporter:
        # Only a WhatsApp reporter who agreed to be contacted can be asked; the number stays hidden.
        return report.channel == "whatsapp" and report.contact is not None
    if permission is Permission.field_work:
        return report.assignee_id == user.id
    if permission is Permission.approve:
        return decided_by(report) != user.id
    return True


def decided_by(report):
    """Who proposed the decision now awaiting approval: who moved the report to pending_approval."""
    from apoa.reports.queries import pending_decision

    proposal = pending_decision(report)
    return proposal.actor_id if proposal is not None else None


def in_jurisdiction(user, report):
    office_ids = jurisdiction_office_ids(user)
    if office_ids is ALL_OFFICES:
        return True
    return report.office_id is not None and report.office_id in office_ids


ALL_OFFICES = object()


def jurisdiction_office_ids(user):
    """The ids of the offices whose reports the user's office oversees, or ALL_OFFICES for the
    Ditjen (which also sees reports outside every office's jurisdiction)."""
    return office_jurisdiction_ids(user.office)


def office_jurisdiction_ids(office):
    """The same for an office: itself and the offices below it, or ALL_OFFICES for the Ditjen."""
    if office is None:
        return set()
    if office.kind == OfficeKind.ditjen.value:
        return ALL_OFFICES
    return office_subtree_ids(office.id)


def office_subtree_ids(office_id):
    """The ids of the office and of every office below it (empty if there is no such office)."""
    tree = select(Office.id).where(Office.id == office_id).cte("office_tree", recursive=True)
    child = aliased(Office)
    tree = tree.union_all(select(child.id).where(child.parent_id == tree.c.id))
    return set(db.session.scalars(select(tree.c.id)).all())


def visible(query, user, report_entity=None, permission=Permission.view_report):
    """Narrow a query of reports to those of the user's jurisdiction, if the user has `permission`:
    view_report for lists of reports (the same rule as can(view_report)), view_aggregates for
    counts that never show a report (maps' cells, summaries)."""
    from apoa.reports.models import Report

    report_entity = report_entity or Report
    if not has_permission(user, permission):
        return query.where(literal(False))
    office_ids = jurisdiction_office_ids(user)
    if office_ids is ALL_OFFICES:
        return query.where(true())
    # A literal list (not a subquery) lets the planner use the office indexes.
    return query.where(report_entity.office_id.in_(sorted(office_ids)))


def member_organisation_ids(user, in_charge_only=False):
    """The ids of the organisations `user` reports guests for (or is the person in charge of)."""
    from apoa.guests.models import OrganisationMember

    query = select(OrganisationMember.organisation_id).where(OrganisationMember.user_id == user.id)
    if in_charge_only:
        query = query.where(OrganisationMember.is_person_in_charge)
    return set(db.session.scalars(query).all())


def can_for_organisation(user, permission, organisation):
    """Whether `user` may use `permission` on an organisation (or on its stays): a member through
    membership, staff through the office of the organisation's jurisdiction."""
    return _member_or_office_rule(user, permission, organisation.id, organisation.office_id)


def can_for_stay(user, permission, stay):
    """The same rule for one stay (which carries its organisation's office)."""
    return _member_or_office_rule(user, permission, stay.organisation_id, stay.office_id)


def _member_or_office_rule(user, permission, organisation_id, office_id):
    permission = Permission(permission)
    if permission in MEMBER_PERMISSIONS:
        # Any member reports guests; only the person in charge adds colleagues.
        in_charge_only = permission is Permission.manage_members
        return (has_permission(user, permission)
                and organisation_id in member_organisation_ids(user, in_charge_only))
    return can_for_office(user, permission, office_id)


def visible_organisations(query, user, permission=Permission.view_guests, entity=None):
    """Narrow a query of organisations by the same rule as can_for_organisation()."""
    from apoa.guests.models import Organisation

    return _narrow(query, user, Permission(permission), entity or Organisation, "id")


def visible_stays(query, user, permission=Permission.view_guests, entity=None):
    """Narrow a query of stays by the same rule as can_for_stay(): a member sees their
    organisations' stays under report_guests, staff their jurisdiction's under view_guests."""
    from apoa.guests.models import Stay

    return _narrow(query, user, Permission(permission), entity or Stay, "organisation_id")


def _narrow(query, user, permission, entity, organisation_column):
    if not has_permission(user, permission):
        return query.where(literal(False))
    if permission in MEMBER_PERMISSIONS:
        own = sorted(member_organisation_ids(user))
        return query.where(getattr(entity, organisation_column).in_(own))
    office_ids = jurisdiction_office_ids(user)
    if office_ids is ALL_OFFICES:
        return query.where(true())
    return query.where(entity.office_id.in_(sorted(office_ids)))


# --- Tim PORA (apoa/partners) ---------------------------------------------------------------------
# A team is an office's partner agencies; its agencies, the reports forwarded to it and its joint
# operations all carry the team's office_id. The office's side (manage_partners) reaches a team by
# the jurisdiction rule, as for reports. A member (view_shared) reaches their own team only, and
# only while their agency takes part: deactivating an agency ends its members' access at once.

def partner_team_office(user):
    """The id of the office whose team `user` is a member of; None for anyone else, and for a
    member whose agency no longer takes part."""
    from apoa.partners.models import PartnerAgency, PartnerMember

    if not has_permission(user, Permission.view_shared):
        return None
    return db.session.scalar(
        select(PartnerAgency.office_id)
        .join(PartnerMember, PartnerMember.agency_id == PartnerAgency.id)
        .where(PartnerMember.user_id == user.id, PartnerAgency.active))


def can_for_team(user, permission, office_id):
    """Whether `user` may use `permission` on the team of office `office_id` (or on its rows)."""
    permission = Permission(permission)
    if permission is Permission.view_shared:
        team = partner_team_office(user)
        return team is not None and team == office_id
    return can_for_office(user, permission, office_id)


def can_for_forwarded(user, permission, forwarded):
    """The same rule for one forwarded report (or one operation: both carry the team's office)."""
    return can_for_team(user, permission, forwarded.office_id)


def visible_for_team(query, user, entity, permission=Permission.view_shared):
    """Narrow a query of a team's rows (`entity` has office_id) by the same rule as
    can_for_team(): a member sees their team's, the office's side its jurisdiction's."""
    permission = Permission(permission)
    if permission is Permission.view_shared:
        team = partner_team_office(user)
        return query.where(entity.office_id == team if team is not None else literal(False))
    if not has_permission(user, permission):
        return query.where(literal(False))
    office_ids = jurisdiction_office_ids(user)
    if office_ids is ALL_OFFICES:
        return query.where(true())
    return query.where(entity.office_id.in_(sorted(office_ids)))


def visible_forwarded(query, user, permission=Permission.view_shared, entity=None):
    """Narrow a query of forwarded reports by can_for_forwarded()'s rule."""
    from apoa.partners.models import ForwardedReport

    return visible_for_team(query, user, entity or ForwardedReport, permission)


def can_forward(user, report, team_office):
    """Whether `user` may forward `report` to `team_office`'s team: they manage that team and may
    see the report, and the report lies within the team office's jurisdiction (a Kanwil's team may
    get the reports of the offices below it, a Kantor's team never another Kantor's)."""
    if not (can(user, Permission.manage_partners, report)
            and can_for_office(user, Permission.manage_partners, team_office.id)):
        return False
    return in_office_jurisdiction(team_office, report.office_id)


def in_office_jurisdiction(office, office_id):
    """Whether `office_id` is `office` or an office below it (any office for the Ditjen)."""
    office_ids = office_jurisdiction_ids(office)
    return office_ids is ALL_OFFICES or office_id in office_ids


# Supervision map
def can_see_supervision_map(user, office_id):
    """Whether `user` may see the supervision map of the office `office_id`
    (apoa/partners/supervision_map.py): heads and supervisors (view_aggregates) for the offices of
    their jurisdiction, a Tim PORA partner member (view_shared) for their own team's office only.
    Whoever reads it gets the shared, suppressed counts."""
    if has_permission(user, Permission.view_shared):
        return can_for_team(user, Permission.view_shared, office_id)
    return can_for_office(user, Permission.view_aggregates, office_id)
