"""The vocabulary of reports: states, outcomes, channels, kinds of place, with translated titles.

The workflow (which action moves a report between states) lives in workflow.py; this module only
names things, so models, forms and migrations can share one list.
"""
from flask_babel import lazy_gettext as _l

from apoa.core.vocabulary import TitledEnum, titled


class State(TitledEnum):
    new = "new"
    screening = "screening"
    assigned = "assigned"
    in_field = "in_field"
    pending_approval = "pending_approval"
    closed = "closed"


class Outcome(TitledEnum):
    violation_found = "violation_found"
    compliant = "compliant"
    not_found = "not_found"
    unfounded = "unfounded"
    duplicate = "duplicate"
    out_of_scope = "out_of_scope"


class ActionTaken(TitledEnum):
    administrative = "administrative"
    deportation = "deportation"
    pro_justitia = "pro_justitia"
    referral = "referral"


class Channel(TitledEnum):
    web = "web"
    android = "android"
    whatsapp = "whatsapp"
    api = "api"
    officer = "officer"


class PlaceKind(TitledEnum):
    residence = "residence"
    lodging = "lodging"
    workplace = "workplace"
    project_site = "project_site"
    public_place = "public_place"
    other = "other"


class PublicStatus(TitledEnum):
    """What a resident sees: never the outcome or the officers' notes."""

    received = "received"
    in_progress = "in_progress"
    done = "done"


PUBLIC_STATUS_OF_STATE = {
    State.new: PublicStatus.received,
    State.screening: PublicStatus.in_progress,
    State.assigned: PublicStatus.in_progress,
    State.in_field: PublicStatus.in_progress,
    State.pending_approval: PublicStatus.in_progress,
    State.closed: PublicStatus.done,
}

TITLES = {
    State: {
        State.new: _l("New"),
        State.screening: _l("Screening"),
        State.assigned: _l("Assigned"),
        State.in_field: _l("Field check"),
        State.pending_approval: _l("Awaiting approval"),
        State.closed: _l("Closed"),
    },
    Outcome: {
        Outcome.violation_found: _l("Violation found"),
        Outcome.compliant: _l("Compliant (valid permit)"),
        Outcome.not_found: _l("Not found"),
        Outcome.unfounded: _l("Unfounded"),
        Outcome.duplicate: _l("Duplicate"),
        Outcome.out_of_scope: _l("Out of scope"),
    },
    ActionTaken: {
        ActionTaken.administrative: _l("Administrative action (TAK)"),
        ActionTaken.deportation: _l("Deportation"),
        ActionTaken.pro_justitia: _l("Pro justitia"),
        ActionTaken.referral: _l("Referral to a Tim PORA partner"),
    },
    Channel: {
        Channel.web: _l("Web"),
        Channel.android: _l("Android"),
        Channel.whatsapp: _l("WhatsApp"),
        Channel.api: _l("API"),
        Channel.officer: _l("Entered by an officer"),
    },
    PlaceKind: {
        PlaceKind.residence: _l("Residence"),
        PlaceKind.lodging: _l("Lodging"),
        PlaceKind.workplace: _l("Workplace"),
        PlaceKind.project_site: _l("Project site"),
        PlaceKind.public_place: _l("Public place"),
        PlaceKind.other: _l("Other"),
    },
    PublicStatus: {
        PublicStatus.received: _l("Received"),
        PublicStatus.in_progress: _l("In progress"),
        PublicStatus.done: _l("Done"),
    },
}

for _enum_class, _titles in TITLES.items():
    titled(_enum_class, _titles)
