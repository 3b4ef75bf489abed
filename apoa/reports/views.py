"""The officers' side of reports: the queue, "my tasks", finding a report by its tracking code,
the report page, its photos, nearby reports, its printable field sheet, the contact reveal, and
one POST endpoint per workflow action.

Every view that names a report loads it through `visible()`: a missing report and one the user may
not see get the same 404, and the refusal is audited in a transaction of its own (the 404 rolls the
request back). Every answer is `Cache-Control: private, no-store`: report content and a revealed
contact must not stay in a browser's or a proxy's cache.
"""
import logging
from datetime import datetime, timezone

from babel import Locale
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, gettext as _

from apoa.audit.services import record_independently
from apoa.auth.guards import actor, guard_staff_pages
from apoa.auth.permissions import Permission, can, has_permission
from apoa.errors import NotAllowed, UserValueError
from apoa.forms import without_controls
from apoa.guests.countries import country_name as nationality_name
from apoa.guests.queries import NEARBY_METRES, lodgings_near
from apoa.reports import queries
from apoa.reports.contact import reveal_contact
from apoa.reports.duplicates import (DEFAULT_DAYS, DEFAULT_METRES, coordinates, corroborations,
                                     nearby_candidates)
from apoa.reports.field_sheet import print_field_sheet
from apoa.reports.officer_forms import NearbyForm, QueueFilterForm, RevealContactForm, action_form
from apoa.reports.pending import discard_once_sent
from apoa.reports.photos import open_stored
from apoa.reports.services import attach_photos, upload_dir
from apoa.reports.states import ActionTaken, Channel, Outcome, PlaceKind, State
from apoa.reports.tasks import MAX_TASKS, my_tasks, parse_near
from apoa.reports.tracking import display, normalise as normalise_code
from apoa.reports.workflow import (FINDING_OUTCOMES, Action, InvalidTransition, apply,
                                   available_actions, next_step, transition_for)
from apoa.whatsapp.questions import EVENT_TITLES as WHATSAPP_EVENT_TITLES

bp = Blueprint("officer", __name__)
log = logging.getLogger("apoa.reports")


guard_staff_pages(bp)


# --- the queue -----------------------------------------------------------------------------------

@bp.get("/laporan")
def queue():
    if not can(actor(), Permission.view_report):
        raise NotAllowed()
    form = QueueFilterForm(actor(), formdata=request.args)
    valid = form.validate()
    page = queries.queue_page(actor(), form.filters(), request.args.get("page", 1, type=int),
                              include_closed=bool(form.closed.data))
    return render_template("reports/queue.html", form=form, page=page, display=display,
                           page_url=page_url), 200 if valid else 400


def page_url(number):
    """The queue's address with the same filters, at page `number`."""
    return url_for(".queue", **{**request.args.to_dict(), "page": number})


# --- my tasks, and finding a report by its code ---------------------------------------------------

@bp.get("/tugas-saya")
def my_tasks_page():
    """My tasks ("Tugas saya"): the reports waiting for the signed-in user, by due time or by
    distance from where they stand (tasks.py)."""
    user = actor()
    if not can(user, Permission.view_report):
        raise NotAllowed()
    task_list = my_tasks(user, parse_near(request.args))
    return render_template("reports/tasks.html", task_list=task_list, max_tasks=MAX_TASKS,
                           now=datetime.now(timezone.utc), is_overdue=queries.is_overdue,
                           display=display, State=State)


@bp.get("/laporan/cari")
def find_by_code():
    """The staff header's search: a tracking code typed in any spacing or case opens the report
    if the user may see it. Any other code gets the same "not found", whether or not a report
    has it elsewhere: the answer never tells that a report exists outside the jurisdiction."""
    user = actor()
    if not can(user, Permission.view_report):
        raise NotAllowed()
    typed = request.args.get("code", "").strip()
    report = queries.find_visible_by_code(typed, user) if typed else None
    if report is not None:
        return redirect(url_for(".report_page", report_id=report.id))
    if typed:
        audit_code_miss(typed)
    return render_template("reports/code_search.html", typed=typed[:40]), 404 if typed else 200


def audit_code_miss(typed):
    """Audit the miss of a well-formed code as a refused access: naming the report when one has
    the code outside the user's sight, nothing otherwise. Both cost the same audit write, so not
    even the time taken tells them apart. A mistyped code (its check symbol fails) names no report
    and is not looked up."""
    if normalise_code(typed) is None:
        return
    hidden_id = queries.report_id_by_code(typed)
    record_independently("access.refused", f"report:{hidden_id}" if hidden_id else None,
                         {"path": audited_path()}, actor=actor())
    if hidden_id is not None:
        log.warning("user %s refused access to report %s by its code", actor().id, hidden_id)


# --- one report ----------------------------------------------------------------------------------

def load_report(report_id):
    """The report if the signed-in user may see it; otherwise an audited 404."""
    report = queries.find_visible_report(report_id, actor())
    if report is None:
        refuse(f"report:{report_id}")
    return report


def audited_path():
    """The request's path as the audit log can keep it: PostgreSQL's JSONB cannot store a NUL,
    and anyone can put one in an address."""
    return without_controls(request.path)


def refuse(object_name):
    user = actor()
    user_id = user.id
    record_independently("access.refused", object_name, {"path": audited_path()}, actor=user)
    log.warning("user %s refused access to %s", user_id, object_name)
    abort(404)


@bp.get("/laporan/<int:report_id>")
def report_page(report_id):
    return render_report(load_report(report_id))


def render_report(report, status=200, submitted=None, reveal_form=None, contact=None):
    """The report page; `submitted` is an action form to show with its errors."""
    user = actor()
    candidates = nearby_candidates(report, user)
    forms = {action: action_form(action, report, user, candidates)
             for action in available_actions(report, user)}
    if submitted is not None:
        forms[submitted.action] = submitted
    lon, lat = coordinates(report)
    events = queries.history(report)
    context = dict(
        report=report, code=display(report.tracking_code), lat=lat, lon=lon, forms=forms,
        forms_by_name={action.value for action in forms}, awaiting=awaiting_decision(report),
        events=events, photos=queries.attachments_of(report), candidates=candidates,
        nearby_points=[map_point(c.report) for c in candidates],
        corroborations=corroborations(report),
        assignee=queries.user_name(report.assignee_id), original=original_of(report, user),
        overdue=queries.is_overdue(report, datetime.now(timezone.utc)),
        can_reveal=report.contact is not None and can(user, Permission.reveal_contact, report),
        reveal_form=reveal_form or RevealContactForm(formdata=None), contact=contact,
        failed_action=submitted.action.value if submitted is not None else None,
        **guest_lodgings(report, user, lon, lat), **vocabulary())
    return render_template("reports/report.html", **context), status


def guest_lodgings(report, user, lon, lat):
    """The lodgings near the report with foreign guests staying when it was seen: only for who
    may see guests (apoa/guests/queries.py lodgings_near narrows them to the jurisdiction)."""
    if not has_permission(user, Permission.view_guests):
        return {"guest_lodgings": None}
    return {"guest_lodgings": lodgings_near(user, lon, lat, report.observed_at),
            "guest_metres": NEARBY_METRES, "nationality_name": nationality_name}


def awaiting_decision(report):
    """The event that proposed the decision now awaiting approval, shown beside approve/send
    back."""
    if report.state != State.pending_approval.value:
        return None
    return queries.pending_decision(report)


def original_of(report, user):
    if report.duplicate_of_id is None:
        return None
    return queries.find_visible_report(report.duplicate_of_id, user)


def map_point(report):
    lon, lat = coordinates(report)
    return {"lat": lat, "lon": lon, "label": display(report.tracking_code),
            "url": url_for(".report_page", report_id=report.id)}


def vocabulary():
    """Titles the report templates look up by stored value."""
    return dict(State=State, Outcome=Outcome, ActionTaken=ActionTaken, PlaceKind=PlaceKind,
                Channel=Channel, display=display, metres=DEFAULT_METRES, days=DEFAULT_DAYS,
                event_title=event_title, event_actor=event_actor, country_name=country_name,
                country_names=country_names)


def event_title(event):
    """The history's name for an event: the reporter's steps, or the workflow action's title."""
    reporter_steps = {"submit": _("Received"), "follow_up": _("Additional information")}
    if event.action in reporter_steps:
        return reporter_steps[event.action]
    if event.action in WHATSAPP_EVENT_TITLES:
        return WHATSAPP_EVENT_TITLES[event.action]
    return Action(event.action).title if event.action in Action.__members__ else event.action


def event_actor(event):
    """Who acted. The reporter is never named: their identity is hidden from everyone by default."""
    if event.action in ("submit", "follow_up", "reporter_answer"):
        return _("Reporter")
    return event.actor.name if event.actor else None


def country_name(code):
    return Locale.parse(str(get_locale())).territories.get(code, code) if code else None


def country_names(codes):
    return ", ".join(country_name(code) for code in codes or ())


@bp.get("/laporan/<int:report_id>/foto/<int:attachment_id>")
def photo(report_id, attachment_id):
    report = load_report(report_id)
    attachment = queries.find_attachment(report, attachment_id)
    if attachment is None:
        refuse(f"attachment:{attachment_id}")
    try:
        path = open_stored(upload_dir(), attachment.stored_path)
    except ValueError:
        log.error("attachment %s has a stored path outside the upload directory", attachment.id)
        abort(404)
    if not path.is_file():
        log.error("attachment %s of report %s is missing on disk", attachment.id, report.id)
        abort(404)
    return send_file(path, mimetype=attachment.mime, conditional=False, etag=False,
                     download_name=f"{report.tracking_code}-{attachment.id}.jpg")


@bp.get("/laporan/<int:report_id>/sekitar")
def nearby(report_id):
    report = load_report(report_id)
    user = actor()
    search = NearbyForm(formdata=request.args)
    search.validate()
    metres, days = search.search()
    candidates = nearby_candidates(report, user, metres, days)
    duplicate_form = None
    if Action.mark_duplicate in available_actions(report, user):
        duplicate_form = action_form(Action.mark_duplicate, report, user, candidates)
    return render_template("reports/nearby.html", report=report, code=display(report.tracking_code),
                           search=search, metres=metres, days=days, candidates=candidates,
                           duplicate_form=duplicate_form, display=display)


# --- the field sheet -----------------------------------------------------------------------------

@bp.get("/laporan/<int:report_id>/lembar-lapangan")
def field_sheet(report_id):
    """The printable sheet for a field check (field_sheet.py); audited as a document printed."""
    report = load_report(report_id)
    sheet = print_field_sheet(report, actor(), queries.user_name(report.assignee_id))
    return render_template("reports/field_sheet.html", sheet=sheet, outcomes=FINDING_OUTCOMES,
                           code=display(report.tracking_code), **vocabulary())


# --- the contact reveal --------------------------------------------------------------------------

@bp.post("/laporan/<int:report_id>/kontak")
def reveal(report_id):
    report = load_report(report_id)
    user = actor()
    if not can(user, Permission.reveal_contact, report):
        raise NotAllowed()
    if report.contact is None:
        raise UserValueError(_("This report has no contact details."))
    form = RevealContactForm()
    if not form.validate():
        return render_report(report, 400, reveal_form=form)
    contact = reveal_contact(report, user, form.reason.data)
    # Shown on this answer only: not flashed, not kept in the session, not logged.
    return render_report(report, reveal_form=RevealContactForm(formdata=None), contact=contact)


# --- workflow actions ----------------------------------------------------------------------------

@bp.post("/laporan/<int:report_id>/aksi/<action_name>")
def act(report_id, action_name):
    report = load_report(report_id)
    action = Action.__members__.get(action_name) or abort(404)
    user = actor()
    if action not in available_actions(report, user):
        refuse_action(report, action)
    candidates = nearby_candidates(report, user) if action is Action.mark_duplicate else ()
    form = action_form(action, report, user, candidates, submitted=True)
    if not form.validate():
        return render_report(report, 400, submitted=form)
    try:
        event = apply(report, action, user, **form.params())
    except UserValueError as error:
        form.form_errors.append(error.message)
        return render_report(report, 400, submitted=form)
    if getattr(form, "clean_photos", None):
        attach_photos(report, event, form.clean_photos)
        discard_once_sent(form.form_key())  # the copies kept across the form's errors
    flash(done_message(action, report), "success")
    return redirect(after_action_url(report, user), 303)


def refuse_action(report, action):
    """An action the user cannot take now: 409 if the state does not allow it (the workflow's own
    message), else 403. Nothing is changed."""
    if transition_for(report, action) is None:
        raise InvalidTransition(_("“%(action)s” is not possible while the report is “%(state)s”.",
                                  action=action.title, state=State(report.state).title))
    raise NotAllowed()


def done_message(action, report):
    """What was done, then what happens next and who must act (workflow.next_step)."""
    return _("Done: %(action)s.", action=action.title) + " " + next_step(report)


def after_action_url(report, user):
    # After a transfer the report may have left the user's sight: back to the queue then.
    if can(user, Permission.view_report, report):
        return url_for(".report_page", report_id=report.id)
    return url_for(".queue")
