"""The record of processing activities (UU PDP 27/2022 Pasal 31), generated, not written.

Each activity below declares only what the code cannot tell by itself: the data and whose it is,
the purpose and legal basis, its tables, the settings or constants that limit how long it is kept,
and the permissions that reach it. Everything else is read when the record is asked for:

- how long: the live values of app.config (APOA_RETENTION_*, APOA_GUEST_RETENTION_DAYS, ...) and
  the modules' own constants (WhatsApp housekeeping, idle conversations, abandoned uploads);
- who can see it: the roles of apoa/auth/permissions.py ROLE_PERMISSIONS holding each permission,
  so a change of a role's permissions changes the record;
- protection: the tables' columns in the models' metadata. Binary columns hold Fernet tokens under
  APOA_CONTACT_KEYS (reports/contact.py, auth/totp.py, guests/passports.py, whatsapp/numbers.py);
  columns named *_hash hold a hash, never the value.

Tables of the metadata that no activity names and that are not listed as holding no personal data
appear in the record as undescribed: a new table cannot slip past the record unnoticed.
"""
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import LargeBinary

from apoa.auth.models import Role
from apoa.auth.permissions import Permission, ROLE_PERMISSIONS
from apoa.extensions import db


@dataclass(frozen=True)
class Keep:
    """One rule on how long something is kept: `text` with %(days)s, %(hours)s or nothing, the
    number read from app.config[`setting`] or from `constant()` (a timedelta) at record time."""

    text: object
    setting: str | None = None
    constant: object = None

    def resolve(self, config):
        if self.setting:
            return str(self.text) % {"days": config[self.setting]}
        if self.constant:
            span = self.constant()
            return str(self.text) % {"days": span.days, "hours": int(span.total_seconds() // 3600)}
        return str(self.text)


@dataclass(frozen=True)
class Access:
    """Who reaches the data through `permission`, and what it lets them see."""

    permission: Permission
    reaches: object


@dataclass(frozen=True)
class Activity:
    key: str
    title: object
    data: tuple
    subjects: tuple
    purpose: object
    bases: tuple
    tables: tuple
    keep: tuple
    access: tuple
    also_seen_by: tuple = ()
    recipients: tuple = ()


# --- the legal bases (UU PDP Pasal 20 ayat 2, and the laws that give the office its task) ----

PUBLIC_TASK = _l("UU PDP Pasal 20(2)(e): a task in the public interest and the exercise of "
                 "the office's authority")
LEGAL_DUTY = _l("UU PDP Pasal 20(2)(c): a legal obligation of the controller")
CONSENT = _l("UU PDP Pasal 20(2)(a): the data subject's explicit consent")
LEGITIMATE = _l("UU PDP Pasal 20(2)(f): the office's legitimate interest in running a secure "
                "system")
SUPERVISION = _l("UU 6/2011 on Immigration: immigration supervision of foreigners (Pasal 66-71)")
LODGING_DUTY = _l("UU 6/2011 on Immigration Pasal 72: lodgings give the data of the foreigners "
                  "staying with them")
TIM_PORA = _l("Permenimipas 2/2025 Pasal 53: the joint team for the supervision of foreigners "
              "(Tim PORA)")
PUBLIC_SERVICE = _l("UU 25/2009 on Public Services: complaints about a public service")
SKM = _l("PermenPAN-RB 14/2017: the public satisfaction survey (SKM)")
UU_PDP_RIGHTS = _l("UU PDP Pasal 5-13: the rights of data subjects")

# --- recipients outside the office ----

@dataclass(frozen=True)
class Recipient:
    """Who else receives the data; a processor of a channel counts only while the channel is
    configured (app.config[`needs`] set)."""

    text: object
    needs: str | None = None


META = Recipient(_l("Meta Platforms (WhatsApp Business Cloud API), as processor for the "
                    "WhatsApp channel"), needs="WHATSAPP_GRAPH_URL")
SMTP = Recipient(_l("The mail provider of APOA_SMTP_HOST, as processor for e-mail to staff"),
                 needs="SMTP_HOST")
PARTNERS = Recipient(_l("Tim PORA partner agencies (Polri, TNI, Kejaksaan, BNN, Kesbangpol, "
                        "Satpol PP, camat): forwarded reports, without the reporter's identity"))
REPORTER = _l("The reporter: their own reports, by account or tracking code, as coarse statuses")


def _whatsapp_keep():
    from apoa.whatsapp.housekeeping import KEEP
    return KEEP


def _idle_conversation():
    from apoa.whatsapp.conversation import IDLE_LIMIT
    return IDLE_LIMIT


def _abandoned_upload():
    from apoa.guests.uploads import ABANDONED_AFTER
    return ABANDONED_AFTER


def _orphan_photo():
    from apoa.jobs.cleanup import MIN_AGE
    return MIN_AGE


P = Permission
ACTIVITIES = (
    Activity(
        "reports", _l("Resident reports"),
        data=(_l("what was seen: category, description, number of people, guessed nationality"),
              _l("where and when: map point, address, kecamatan, time observed"),
              _l("the handling: states, findings, officers' notes")),
        subjects=(_l("reporters"), _l("the foreigners reported (third parties)")),
        purpose=_l("Immigration supervision: screening, field checks and outcomes of reports "
                   "from the public (APOA)"),
        bases=(PUBLIC_TASK, SUPERVISION),
        tables=("report", "report_event", "api_submission"),
        keep=(Keep(_l("Unfounded and duplicate reports anonymised %(days)s days after closure"),
                   setting="RETENTION_UNFOUNDED_DAYS"),
              Keep(_l("Other reports kept as the office's case record")),
              Keep(_l("Reports accepted about events up to %(days)s days old"),
                   setting="REPORT_MAX_AGE_DAYS")),
        access=(Access(P.view_report, _l("reports of their office's jurisdiction")),
                Access(P.export_reports, _l("rows of reports, without contact")),
                Access(P.view_aggregates, _l("counts only, never a single report"))),
        also_seen_by=(REPORTER,),
        recipients=(PARTNERS,)),
    Activity(
        "contacts", _l("Reporters' contact details and accounts"),
        data=(_l("name, telephone or WhatsApp number, e-mail address (optional)"),
              _l("resident accounts: e-mail address, name, password hash")),
        subjects=(_l("reporters"),),
        purpose=_l("Asking a reporter about their report and telling them its status"),
        bases=(CONSENT, PUBLIC_TASK),
        tables=("report", "user_account"),
        keep=(Keep(_l("Contact removed %(days)s days after the report is closed"),
                   setting="RETENTION_CONTACT_DAYS"),
              Keep(_l("Accounts kept until the resident asks for erasure"))),
        access=(Access(P.reveal_contact, _l("a contact, with a reason, each reveal audited")),
                Access(P.ask_reporter, _l("sends a question by WhatsApp without seeing the "
                                          "number")),
                Access(P.manage_users, _l("staff accounts only, never residents' contacts"))),
        also_seen_by=(REPORTER,),
        recipients=(META,)),
    Activity(
        "photos", _l("Photos attached to reports"),
        data=(_l("images of places and people, re-encoded without metadata (no EXIF, no GPS)"),),
        subjects=(_l("the foreigners reported"), _l("bystanders in the picture")),
        purpose=_l("Evidence for screening and field checks"),
        bases=(PUBLIC_TASK, SUPERVISION),
        tables=("attachment",),
        keep=(Keep(_l("Removed %(days)s days after the report is closed"),
                   setting="RETENTION_PHOTO_DAYS"),
              Keep(_l("Files that no report links to deleted after %(hours)s hours"),
                   constant=_orphan_photo)),
        access=(Access(P.view_report, _l("photos of reports of their jurisdiction")),),
        recipients=(PARTNERS,)),
    Activity(
        "whatsapp", _l("WhatsApp conversations"),
        data=(_l("WhatsApp number (encrypted, found by a keyed hash)"),
              _l("answers of a report in progress, messages sent and their delivery state")),
        subjects=(_l("reporters and residents writing to the office by WhatsApp"),),
        purpose=_l("Taking reports, status updates, questions and complaints over WhatsApp"),
        bases=(CONSENT, PUBLIC_TASK),
        tables=("wa_conversation", "wa_inbound", "wa_outbound", "wa_block"),
        keep=(Keep(_l("An unfinished conversation cleared after %(hours)s hours without a "
                      "message"), constant=_idle_conversation),
              Keep(_l("Message ids deleted and texts of sent messages emptied after %(days)s "
                      "days"), constant=_whatsapp_keep)),
        access=(Access(P.manage_whatsapp, _l("failed messages and blocked numbers (last digits "
                                             "only)")),
                Access(P.ask_reporter, _l("questions to a reporter, never the number"))),
        recipients=(META,)),
    Activity(
        "guests", _l("Foreign guests' stays and passport photos"),
        data=(_l("surname, given names, sex, date of birth, passport and permit numbers "
                 "(encrypted)"),
              _l("nationality, permit kind and expiry, arrival, check-in and check-out, room"),
              _l("photo of the passport data page (encrypted)"),
              _l("lodgings, companies and hosts: name, licence number, address, staff")),
        subjects=(_l("foreign guests"), _l("staff of lodgings, companies and hosts")),
        purpose=_l("Reports of foreigners' stays by lodgings and sponsors (STTPOA) and their "
                   "supervision"),
        bases=(LEGAL_DUTY, LODGING_DUTY, SUPERVISION),
        tables=("organisation", "organisation_member", "stay", "stay_change", "stay_document",
                "guest_upload", "guest_tally", "sttpoa_counter"),
        keep=(Keep(_l("Stays deleted %(days)s days after they ended; anonymous counts kept"),
                   setting="GUEST_RETENTION_DAYS"),
              Keep(_l("Rows of bulk uploads emptied when done, or %(hours)s hours after being "
                      "abandoned"), constant=_abandoned_upload)),
        access=(Access(P.view_guests, _l("stays of their jurisdiction, without names or "
                                         "passports")),
                Access(P.reveal_guest, _l("a guest's personal data and passport photo, with a "
                                          "reason, audited")),
                Access(P.search_passport, _l("exact passport search, with a reason, audited")),
                Access(P.report_guests, _l("their own organisation's guests"))),
        recipients=(PARTNERS,)),
    Activity(
        "staff", _l("Staff accounts and second factor (TOTP)"),
        data=(_l("name, e-mail address, role, office"),
              _l("password hash, TOTP secret (encrypted), recovery code hashes, sign-in times"),
              _l("notifications, API tokens and partner keys (hashes only)")),
        subjects=(_l("immigration staff"), _l("Tim PORA partner members")),
        purpose=_l("Signing in, access control and accountability of staff"),
        bases=(LEGAL_DUTY, LEGITIMATE),
        tables=("user_account", "recovery_code", "notification", "api_token", "partner_key"),
        keep=(Keep(_l("Kept while the person works with APOA; disabled, never deleted, since "
                      "the audit log names them")),),
        access=(Access(P.manage_users, _l("staff accounts, roles and offices")),),
        recipients=(SMTP,)),
    Activity(
        "audit", _l("Audit log"),
        data=(_l("who did what and when: user ids, object ids, reasons and counts; no contact "
                 "details, coordinates or passport data"),),
        subjects=(_l("staff"),),
        purpose=_l("Accountability: every read of personal data and every change is recorded"),
        bases=(LEGAL_DUTY, LEGITIMATE),
        tables=("audit_log",),
        keep=(Keep(_l("Kept for ever (append-only, hash-chained); it holds no personal data "
                      "beyond user ids")),),
        access=(),
        also_seen_by=(_l("Server operators, through `flask audit verify`"),)),
    Activity(
        "cases", _l("Complaints and questions about the service"),
        data=(_l("the complaint or question, the answer, the number to answer to (encrypted)"),),
        subjects=(_l("residents who complain or ask"),),
        purpose=_l("Handling complaints about the service and answering questions"),
        bases=(PUBLIC_TASK, PUBLIC_SERVICE),
        tables=("service_case",),
        keep=(Keep(_l("No retention period is set: kept until deleted by hand")),),
        access=(Access(P.answer_cases, _l("cases of their jurisdiction, never the number")),),
        recipients=(META,)),
    Activity(
        "ratings", _l("Service ratings (SKM)"),
        data=(_l("nine scores from 1 to 4 and an optional comment"),),
        subjects=(_l("reporters"),),
        purpose=_l("The office's public satisfaction index (IKM)"),
        bases=(PUBLIC_TASK, SKM),
        tables=("service_rating", "rating_invitation"),
        keep=(Keep(_l("Kept with its report; erased when the report is")),),
        access=(Access(P.view_aggregates, _l("the index and the number of answers, withheld "
                                             "below 3")),)),
    Activity(
        "tim_pora", _l("Reports forwarded to Tim PORA partners"),
        data=(_l("report content without the reporter's identity; joint operations and their "
                 "results"),),
        subjects=(_l("the foreigners reported"),),
        purpose=_l("Joint supervision of foreigners with partner agencies"),
        bases=(PUBLIC_TASK, TIM_PORA),
        tables=("partner_agency", "partner_member", "forwarded_report", "joint_operation",
                "joint_operation_agency", "joint_operation_report"),
        keep=(Keep(_l("As the report forwarded")),),
        access=(Access(P.manage_partners, _l("partners, forwarding and joint operations")),
                Access(P.view_shared, _l("what their office shares, each read audited"))),
        recipients=(PARTNERS,)),
    Activity(
        "subject_requests", _l("Data-subject requests"),
        data=(_l("the request, the requester's contact, the decision and its reason"),),
        subjects=(_l("reporters"), _l("the foreigners reported")),
        purpose=_l("Answering requests to see, correct or erase personal data"),
        bases=(LEGAL_DUTY, UU_PDP_RIGHTS),
        tables=("subject_request",),
        keep=(Keep(_l("Kept as proof of the answer")),),
        access=(Access(P.manage_privacy, _l("every request and its 3×24-hour clock")),
                Access(P.decide_subject_requests, _l("requests about a reported person")))),
)

# Tables that hold no personal data: configuration, geography and anonymous counts.
NOT_PERSONAL = frozenset({
    "category", "office", "office_region", "region", "region_part", "region_source",
    "indicator_series", "indicator_value", "hotspot_snapshot", "report_grid", "summary_due",
    "summary_flow", "summary_open", "summary_report", "summary_month_figures",
})


# --- the generated record ----

@dataclass
class ActivityRecord:
    key: str
    title: str
    data: list
    subjects: list
    purpose: str
    bases: list
    keep: list
    access: list           # [{"permission", "reaches", "roles": [role titles]}]
    also_seen_by: list
    encrypted: list        # ["table.column"]
    hashed: list
    recipients: list
    tables: list


@dataclass
class ProcessingRecord:
    generated_at: datetime
    activities: list
    undescribed_tables: list = field(default_factory=list)

    def as_dict(self):
        return {"generated_at": self.generated_at.isoformat(),
                "activities": [vars(activity) for activity in self.activities],
                "undescribed_tables": self.undescribed_tables}


def processing_record(config=None, role_permissions=None, now=None):
    """The record as it stands: the live settings, the role table and the models' columns.
    `config` and `role_permissions` default to the app's own (tests pass others)."""
    config = config if config is not None else current_app.config
    role_permissions = role_permissions if role_permissions is not None else ROLE_PERMISSIONS
    activities = [_resolve(activity, config, role_permissions) for activity in ACTIVITIES]
    return ProcessingRecord(generated_at=now or datetime.now(timezone.utc), activities=activities,
                            undescribed_tables=undescribed_tables())


def _resolve(activity, config, role_permissions):
    tables = [name for name in activity.tables if name in db.metadata.tables]
    return ActivityRecord(
        key=activity.key, title=str(activity.title), data=_texts(activity.data),
        subjects=_texts(activity.subjects), purpose=str(activity.purpose),
        bases=_texts(activity.bases), keep=[rule.resolve(config) for rule in activity.keep],
        access=[_access(entry, role_permissions) for entry in activity.access],
        also_seen_by=_texts(activity.also_seen_by), encrypted=encrypted_columns(tables),
        hashed=hashed_columns(tables), recipients=_recipients(activity, config), tables=tables)


def _texts(items):
    return [str(item) for item in items]


def _access(entry, role_permissions):
    return {"permission": entry.permission.value, "reaches": str(entry.reaches),
            "roles": roles_holding(entry.permission, role_permissions)}


def roles_holding(permission, role_permissions=None):
    """The titles of the roles whose permissions include `permission`, in the roles' order."""
    role_permissions = role_permissions if role_permissions is not None else ROLE_PERMISSIONS
    return [str(role.title) for role in Role if permission in role_permissions.get(role, ())]


def _recipients(activity, config):
    """The activity's recipients; a processor of a channel that is not configured is left out."""
    return [str(item.text) for item in activity.recipients
            if item.needs is None or config.get(item.needs)]


def encrypted_columns(tables):
    """Every binary column of the tables: APOA keeps binary columns only as Fernet tokens."""
    return [f"{name}.{column.name}" for name in tables
            for column in db.metadata.tables[name].columns if isinstance(column.type, LargeBinary)]


def hashed_columns(tables):
    return [f"{name}.{column.name}" for name in tables
            for column in db.metadata.tables[name].columns
            if column.name.endswith("_hash") and column.name != "prev_hash"]


def undescribed_tables():
    """Tables of the metadata that neither an activity nor NOT_PERSONAL names."""
    described = {name for activity in ACTIVITIES for name in activity.tables} | NOT_PERSONAL
    return sorted(set(db.metadata.tables) - described)


def as_markdown(record):
    """The record as a Markdown document (`flask privacy record`), in the current language."""
    lines = [f"# {_('Record of processing activities')}", "",
             _("UU PDP 27/2022 Pasal 31. Generated from the configuration on %(at)s.",
               at=record.generated_at.strftime("%Y-%m-%d %H:%M UTC")), ""]
    for activity in record.activities:
        lines += _activity_markdown(activity)
    if record.undescribed_tables:
        lines += [f"## {_('Tables not described in this record')}", "",
                  *(f"- {name}" for name in record.undescribed_tables), ""]
    return "\n".join(lines)


def _activity_markdown(activity):
    sections = ((_("Data"), activity.data), (_("Data subjects"), activity.subjects),
                (_("Purpose"), [activity.purpose]), (_("Legal basis"), activity.bases),
                (_("Kept"), activity.keep), (_("Who can see it"), _access_lines(activity)),
                (_("Encrypted"), activity.encrypted or [_("nothing")]),
                (_("Kept only as a hash"), activity.hashed or [_("nothing")]),
                (_("Recipients outside the office"), activity.recipients or [_("none")]))
    lines = [f"## {activity.title}", ""]
    for heading, items in sections:
        lines += [f"**{heading}**", "", *(f"- {item}" for item in items), ""]
    return lines


def _access_lines(activity):
    lines = [f"{', '.join(entry['roles']) or _('no role')} ({entry['permission']}): "
             f"{entry['reaches']}" for entry in activity.access]
    return lines + activity.also_seen_by or [_("nobody in the application")]
