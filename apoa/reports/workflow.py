"""The report workflow as data: one table of (state, action) → transition, applied by one function.

Every change of state goes through `apply()`: it locks the report, finds the transition (anything
not in the table is an InvalidTransition, answered 409), checks the permission in
apoa.auth.permissions, lets the action's effect validate its input and set the columns it owns,
moves the state and due time, appends a ReportEvent and writes the audit entry. The database's
CHECK constraints (models.REPORT_CHECKS) refuse any combination the table could get wrong.

Departure from DESIGN.md: marking a duplicate goes to pending_approval rather than straight to
closed, because the issue requires every closing outcome to be approved by a second person.
"""
import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from flask_babel import gettext as _, lazy_gettext as _l

from apoa.audit.services import record
from apoa.auth.models import User
from apoa.auth.permissions import Permission, can, in_jurisdiction
from apoa.errors import Conflict, NotAllowed, UserValueError
from apoa.extensions import db
from apoa.notifications.services import notify
from apoa.regions.models import Office
from apoa.reports.models import ReportEvent
from apoa.reports.queries import pending_decision
from apoa.reports.sla import due_at
from apoa.reports.states import ActionTaken, Outcome, State
from apoa.whatsapp.status import tell_reporter

log = logging.getLogger("apoa.reports")


class Action(str, enum.Enum):
    screen = "screen"
    mark_duplicate = "mark_duplicate"
    transfer = "transfer"
    assign = "assign"
    dismiss = "dismiss"
    start_field_check = "start_field_check"
    record_finding = "record_finding"
    approve = "approve"
    send_back = "send_back"
    reopen = "reopen"

    @property
    def title(self):
        return ACTION_TITLES[self]


ACTION_TITLES = {
    Action.screen: _l("Start screening"),
    Action.mark_duplicate: _l("Mark as duplicate"),
    Action.transfer: _l("Transfer to another office"),
    Action.assign: _l("Assign for a field check"),
    Action.dismiss: _l("Dismiss as unfounded"),
    Action.start_field_check: _l("Start the field check"),
    Action.record_finding: _l("Record the finding"),
    Action.approve: _l("Approve"),
    Action.send_back: _l("Send back"),
    Action.reopen: _l("Reopen"),
}

# The state a decision came from: where send_back returns it.
BACK = "back"


@dataclass(frozen=True)
class Transition:
    action: Action
    from_states: frozenset
    to_state: object  # a State, or BACK
    permission: Permission


TRANSITIONS = (
    Transition(Action.screen, frozenset({State.new}), State.screening, Permission.screen),
    Transition(Action.mark_duplicate, frozenset({State.new, State.screening}),
               State.pending_approval, Permission.screen),
    Transition(Action.transfer, frozenset({State.screening}), State.new, Permission.screen),
    Transition(Action.assign, frozenset({State.screening}), State.assigned, Permission.assign),
    Transition(Action.dismiss, frozenset({State.screening}), State.pending_approval,
               Permission.screen),
    Transition(Action.start_field_check, frozenset({State.assigned}), State.in_field,
               Permission.field_work),
    Transition(Action.record_finding, frozenset({State.in_field}), State.pending_approval,
               Permission.field_work),
    Transition(Action.approve, frozenset({State.pending_approval}), State.closed,
               Permission.approve),
    Transition(Action.send_back, frozenset({State.pending_approval}), BACK, Permission.approve),
    Transition(Action.reopen, frozenset({State.closed}), State.screening, Permission.reopen),
)
TABLE = {(state, t.action): t for t in TRANSITIONS for state in t.from_states}


class InvalidTransition(Conflict):
    pass


def transition_for(report, action):
    return TABLE.get((State(report.state), Action(action)))


def available_actions(report, user):
    """The actions `user` may take on `report` now, in the table's order (for the report page)."""
    return [t.action for t in TRANSITIONS
            if State(report.state) in t.from_states and can(user, t.permission, report)]


def apply(report, action, actor, **params):
    """Apply `action` to `report` for `actor`; returns the new ReportEvent. Flushes, never
    commits."""
    action = Action(action)
    db.session.refresh(report, with_for_update=True)  # one action at a time on a report
    transition = transition_for(report, action)
    if transition is None:
        raise InvalidTransition(_("“%(action)s” is not possible while the report is “%(state)s”.",
                                  action=action.title, state=State(report.state).title))
    if not can(actor, transition.permission, report):
        raise NotAllowed()
    from_state = report.state
    to_state = _target(report, transition)  # before the effect: it reads the history
    note, detail = EFFECTS[action](report, actor, params)
    report.state = to_state.value
    report.due_at = params.get("due") or due_at(to_state, datetime.now(timezone.utc))
    return _record(report, actor, action, from_state, note, detail)


def _target(report, transition):
    if transition.to_state is BACK:
        return State(pending_decision(report).from_state)
    return transition.to_state


def _record(report, actor, action, from_state, note, detail):
    event = ReportEvent(report_id=report.id, actor_id=actor.id, action=action.value,
                        from_state=from_state, to_state=report.state, note=note,
                        detail=detail or None)
    db.session.add(event)
    db.session.flush()
    notify(report, event)  # in this transaction: the bell is never ahead of the data nor behind it
    tell_reporter(report, event)  # a WhatsApp reporter hears of a new public status
    record(f"report.{action.value}", f"report:{report.id}",
           {"from": from_state, "to": report.state, **(detail or {})}, actor=actor)
    log.info("user %s: %s on report %s (%s -> %s)", actor.id, action.value, report.id, from_state,
             report.state)
    return event


# --- the effect of each action: validate its input, set the columns it owns --------------------
# Each returns (note, detail): the event's free text and its structured, non-personal detail.

# The fewest characters of a reason or note an action requires (the action forms say so too).
MIN_TEXT = 5


def _required_text(params, key, message):
    text = (params.get(key) or "").strip()
    if len(text) < MIN_TEXT:
        raise UserValueError(message)
    return text


def _clear_decision(report):
    report.outcome = None
    report.action_taken = None
    report.duplicate_of_id = None


def _screen(report, actor, params):
    return params.get("note"), None


def _mark_duplicate(report, actor, params):
    original = params.get("original")
    if original is None or original.id == report.id:
        raise UserValueError(_("Choose the original report this one repeats."))
    if not in_jurisdiction(actor, original):
        raise UserValueError(_("The original report must be one you can see."))
    root = original
    while root.duplicate_of_id is not None and root.outcome == Outcome.duplicate.value:
        root = db.session.get(type(report), root.duplicate_of_id)
    report.outcome = Outcome.duplicate.value
    report.duplicate_of_id = root.id
    return params.get("note"), {"original": root.id}


def _transfer(report, actor, params):
    office = params.get("office")
    if office is None or office.id == report.office_id:
        raise UserValueError(_("Choose another office to transfer the report to."))
    reason = _required_text(params, "reason", _("Say why the report is transferred."))
    detail = {"from_office": report.office_id, "to_office": office.id}
    report.office_id = office.id
    report.assignee_id = None
    return reason, detail


def _assign(report, actor, params):
    assignee = params.get("assignee")
    if assignee is None or not assignee.active or not can(assignee, Permission.view_report, report):
        raise UserValueError(_("Choose an active officer of this office."))
    due = params.get("due")
    if due is not None and due <= datetime.now(timezone.utc):
        raise UserValueError(_("The due time must be in the future."))
    report.assignee_id = assignee.id
    # The due time typed here is kept in the history: the summaries judge "within due time" from it.
    return params.get("note"), {"assignee": assignee.id,
                                **({"due": due.isoformat()} if due else {})}


def _dismiss(report, actor, params):
    reason = _required_text(params, "reason", _("Say why the report is unfounded."))
    report.outcome = Outcome.unfounded.value
    return reason, {"outcome": Outcome.unfounded.value}


def _start_field_check(report, actor, params):
    return params.get("note"), None


FINDING_OUTCOMES = (Outcome.violation_found, Outcome.compliant, Outcome.not_found,
                    Outcome.unfounded, Outcome.out_of_scope)


def _record_finding(report, actor, params):
    finding = params.get("finding")
    if finding is None or Outcome(finding.outcome) not in FINDING_OUTCOMES:
        raise UserValueError(_("Choose the outcome of the field check."))
    violation = Outcome(finding.outcome) is Outcome.violation_found
    if violation != (finding.action_taken is not None):
        raise UserValueError(_("Record the action taken exactly when a violation was found."))
    report.outcome = finding.outcome
    report.action_taken = ActionTaken(finding.action_taken).value if violation else None
    return finding.notes, finding.detail()


def _approve(report, actor, params):
    return params.get("note"), {"outcome": report.outcome}


def _send_back(report, actor, params):
    note = _required_text(params, "note", _("Say what needs to be done again."))
    _clear_decision(report)
    return note, None


def _reopen(report, actor, params):
    reason = _required_text(params, "reason", _("Say why the report is reopened."))
    _clear_decision(report)
    report.assignee_id = None
    return reason, None


EFFECTS = {
    Action.screen: _screen,
    Action.mark_duplicate: _mark_duplicate,
    Action.transfer: _transfer,
    Action.assign: _assign,
    Action.dismiss: _dismiss,
    Action.start_field_check: _start_field_check,
    Action.record_finding: _record_finding,
    Action.approve: _approve,
    Action.send_back: _send_back,
    Action.reopen: _reopen,
}


@dataclass(frozen=True)
class Finding:
    """What the assignee found in the field."""

    outcome: str
    action_taken: str | None = None
    people_found: int = 0
    nationalities: tuple = ()
    documents_checked: int = 0
    notes: str | None = None

    def detail(self):
        return {"outcome": self.outcome, "action_taken": self.action_taken,
                "people_found": self.people_found, "nationalities": list(self.nationalities),
                "documents_checked": self.documents_checked}


# --- what happens next: the message after each action ----------------------------------------
# One sentence per state, saying who moves the report on from there (the transitions above that
# leave the state, and the permissions they need). The views show it after every action.

def next_step(report):
    """What happens next to `report` and who must act, from its (new) state."""
    return NEXT_STEPS[State(report.state)](report)


def _assignee_name(report):
    user = db.session.get(User, report.assignee_id) if report.assignee_id else None
    return user.name if user else _("the assigned officer")


def _office_name(report):
    office = db.session.get(Office, report.office_id) if report.office_id else None
    return office.name if office else _("the responsible office")


NEXT_STEPS = {
    State.new: lambda report: _("Next, the officers of %(office)s must screen it.",
                                office=_office_name(report)),
    State.screening: lambda report: _(
        "Next, a supervisor must assign it for a field check, unless an officer dismisses it, "
        "transfers it or marks it as a duplicate."),
    State.assigned: lambda report: _("Next, %(name)s must start the field check.",
                                     name=_assignee_name(report)),
    State.in_field: lambda report: _("Next, %(name)s must record the finding.",
                                     name=_assignee_name(report)),
    State.pending_approval: lambda report: _(
        "Next, a supervisor other than the one who proposed this decision must approve it or "
        "send it back."),
    State.closed: lambda report: _("The report is closed: nobody needs to act unless a "
                                   "supervisor reopens it."),
}
