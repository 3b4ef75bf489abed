"""The end of a report on WhatsApp: the summary to confirm, changing one answer from it, and
sending, which makes the report with the same `submit_report` as every channel (channel
"whatsapp") and answers with the tracking code and the receipt's link.

A number's reports draw on the web's budget per requester (apoa/reports/abuse.py), keyed by the
number's hash; like the web form, sending fails closed when the budget store cannot be asked.
"""
import logging
from datetime import datetime, timezone

from flask import current_app
from flask_babel import format_date, format_time, get_locale
from flask_babel import gettext as _

from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.reports import abuse, tracking
from apoa.reports.contact import Contact
from apoa.reports.models import Category
from apoa.reports.services import NewReport, submit_report
from apoa.reports.states import PlaceKind
from apoa.whatsapp import flow_photos
from apoa.whatsapp.flow_steps import MENU, Next, Step, Wrong, choice, forget, picked, remember
from apoa.whatsapp.messages import Buttons, Menu, Text
from apoa.whatsapp.numbers import normalise

log = logging.getLogger("apoa.whatsapp")

FLOW = "report"


# --- the summary ----------------------------------------------------------------------------------

def _confirm_choices():
    return [choice("confirm:send", _("Send")), choice("confirm:change", _("Change an answer")),
            choice("cancel", _("Cancel"))]


def ask_confirm(turn):
    return [Text(summary(turn.data)),
            Buttons(_("Send this report to the immigration office?"), tuple(_confirm_choices()))]


def summary(data):
    """The report's answers, one per line, for the resident to check before sending."""
    category = db.session.get(Category, data["category_id"])
    place = data.get("address") or _("Location shared")
    if data.get("area"):
        place = f"{place} ({data['area']})"
    contact = _("May be contacted") if data.get("contact") else _("Anonymous")
    lines = [_("Your report:"),
             _("Category: %(value)s", value=category.name_for(get_locale()) if category else "-"),
             _("What you saw: %(value)s", value=data["description"]),
             _("People: %(value)s", value=data["people"]),
             _("When: %(value)s", value=_moment(datetime.fromisoformat(data["observed_at"]))),
             _("Kind of place: %(value)s", value=PlaceKind(data["place_kind"]).title),
             _("Place: %(value)s", value=place),
             _("Photos: %(value)s", value=len(data.get("photos", []))),
             _("Contact: %(value)s", value=contact)]
    return "\n".join(lines)


def _moment(observed):
    """The date and the hour and minute, in the interface's time zone."""
    return f"{format_date(observed, 'medium')} {format_time(observed, 'short')}"


def handle_confirm(turn):
    chosen = picked(turn, _confirm_choices())
    if chosen == "confirm:change":
        return Next("change")
    if chosen != "confirm:send":
        raise Wrong(_("Tap Send to send the report, Change an answer to correct it, or Cancel "
                      "to delete it."))
    return send(turn)


# --- changing one answer from the summary ---------------------------------------------------------

def _change_choices():
    return [choice("change:category", _("Category")),
            choice("change:description", _("What you saw")),
            choice("change:people", _("Number of people")),
            choice("change:when", _("When")),
            choice("change:place_kind", _("Kind of place")),
            choice("change:place", _("Place")),
            choice("change:photos", _("Photos (start again)")),
            choice("change:contact", _("Contact")),
            choice("change:back", _("Back to the summary"))]


def ask_change(turn):
    return [Menu(_("What do you want to change?"), _("Choose"), tuple(_change_choices()))]


def handle_change(turn):
    chosen = picked(turn, _change_choices())
    if chosen is None:
        raise Wrong(_("Choose one of the options in the list."))
    step = chosen.removeprefix("change:")
    if step == "back":
        return Next("confirm")
    if step == "photos":
        flow_photos.discard_after_commit(turn.conversation.id, turn.data.get("photos", []))
        forget(turn.conversation, "photos")
    remember(turn.conversation, editing=True)
    return Next(step)


# --- sending --------------------------------------------------------------------------------------

def send(turn):
    """Make the report from the answers (within the number's budget); the reply carries its
    tracking code and receipt link. A place the service refuses is asked again."""
    conversation, data = turn.conversation, turn.data
    budget = reports_budget(conversation)
    _refuse_when_exhausted(budget)
    photos, lost = flow_photos.read_back(conversation.id, data.get("photos", []))
    if lost:
        remember(conversation, photos=[p for p in data["photos"] if p not in lost])
        return Next("photos", say=(Text(_("Some photos were lost on our side. Please send them "
                                          "again, or go on without them.")),))
    try:
        report = submit_report(_new_report(turn, photos))
    except UserValueError as error:
        forget(conversation, "lon", "lat", "accuracy_m", "area")
        remember(conversation, editing=True)  # once the place is given again: the summary
        return Next("place", say=(Text(str(error.message)),))
    abuse.spend([budget])
    # Not the conversation's id: it would tie an anonymous report to the number in the log.
    log.info("report %s made on WhatsApp", report.id)
    return Next(MENU, say=(Text(_receipt(report)),))


def reports_budget(conversation):
    """The web's budget of reports per requester, counted for this WhatsApp number."""
    key = f"whatsapp:{conversation.sender_hash}"
    return abuse.Budget(abuse.REPORTS_PER_REQUESTER.name, abuse.REPORTS_PER_REQUESTER.limits,
                        lambda: key)


def _refuse_when_exhausted(budget):
    try:
        reset_at = abuse.exhausted_until([budget])
    except Exception:  # noqa: BLE001 - like the web form, sending fails closed without the store
        log.exception("rate-limit store failed while checking WhatsApp reports")
        raise Wrong(_("We cannot take reports right now. Please tap Send again in a few "
                      "minutes.")) from None
    if reset_at is not None:
        wait = abuse.wait_text(max(1, round(reset_at - datetime.now(timezone.utc).timestamp())))
        raise Wrong(_("You have sent many reports in a short time. Please try again in "
                      "%(wait)s.", wait=wait))


def _new_report(turn, photos):
    data = turn.data
    contact = Contact(phone=normalise(turn.incoming.sender)) if data.get("contact") else None
    return NewReport(
        category_id=data["category_id"], description=data["description"],
        people_count=data["people"], place_kind=data["place_kind"],
        observed_at=datetime.fromisoformat(data["observed_at"]), point=(data["lon"], data["lat"]),
        submission_key=data["key"], accuracy_m=data.get("accuracy_m"),
        address=data.get("address"), photos=photos, contact=contact, channel="whatsapp")


def _receipt(report):
    return _("Thank you. Your report has been sent to the immigration office.\n\n"
             "Tracking code: %(code)s\nReceipt: %(link)s\n\n"
             "Send the code here at any time to see the status of your report.",
             code=tracking.display(report.tracking_code), link=receipt_link(report))


def receipt_link(report):
    """The receipt page's absolute address (BASE_URL + its path: no request to build it from)."""
    adapter = current_app.url_map.bind("localhost")
    path = adapter.build("public.receipt", {"code": report.tracking_code})
    return current_app.config["BASE_URL"] + path


STEPS = {
    "confirm": Step(FLOW, ask_confirm, handle_confirm),
    "change": Step(FLOW, ask_change, handle_change),
}
