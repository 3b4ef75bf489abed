"""Reporting a foreign national on WhatsApp, one question at a time: category, what was seen, how
many people, when, the kind of place, the place, photos, whether an officer may make contact, and
a summary to confirm.

The rules are the web form's (apoa/reports/forms.py), read from its fields, and the report is
made by the same `submit_report` as every channel's, with channel "whatsapp". The submission key
is made when the report starts, so a job run again after a crash makes the same report.
"""
import logging
import re
import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from apoa.extensions import db
from apoa.reports.forms import MAX_PHOTOS, ReportForm
from apoa.reports.models import Category
from apoa.reports.queries import active_categories
from apoa.reports.states import PlaceKind
from apoa.whatsapp import flow_photos, flow_place, flow_send
from apoa.whatsapp.flow_steps import (Next, Step, Wrong, choice, forget, length_rule,
                                      number_rule, picked, remember, require_text, text_between)
from apoa.whatsapp.messages import ROW_TITLE_LIMIT, Buttons, Menu, Text

log = logging.getLogger("apoa.whatsapp")

FLOW = "report"
FIRST_STEP = "category"
DESCRIPTION_LENGTH = length_rule(ReportForm.description)
PEOPLE_RANGE = number_rule(ReportForm.people_count)
WIB = timezone(timedelta(hours=7))
# A typed date says the day, not the hour: noon of that day, never later than now.
TYPED_DATE_HOUR = time(12, 0)
DATE_PATTERN = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4}|\d{2})")
NUMBER_PATTERN = re.compile(r"(\d{1,7})(?:\s*(?:orang|people|persons?))?", re.IGNORECASE)
CATEGORY_ROWS = 9  # a list holds 10 rows; the 10th leads to the next page when there are more


def start(conversation):
    """A fresh report: its submission key is made now, once."""
    conversation.data = {"key": str(uuid.uuid4())}
    return Next(FIRST_STEP)


# --- category -------------------------------------------------------------------------------------

def _category_choices(turn):
    categories = active_categories()
    page = turn.data.get("page", 0)
    if page * CATEGORY_ROWS >= len(categories):  # the list has become shorter meanwhile
        page = 0
    rows = [_category_row(c) for c in categories[page * CATEGORY_ROWS:(page + 1) * CATEGORY_ROWS]]
    if len(categories) > (page + 1) * CATEGORY_ROWS:
        rows.append(choice("category:more", _("More…")))
    return rows


def _category_row(category):
    name = category.name_for(get_locale())
    # A row's title shows 24 characters: a longer name is given whole as its description.
    return choice(f"category:{category.id}", name, name if len(name) > ROW_TITLE_LIMIT else None)


def ask_category(turn):
    return [Menu(_("What do you want to report? Choose what fits best."), _("Choose"),
                 tuple(_category_choices(turn)))]


def handle_category(turn):
    chosen = picked(turn, _category_choices(turn))
    if chosen == "category:more":
        remember(turn.conversation, page=turn.data.get("page", 0) + 1)
        return Next("category")
    category = _active_category(chosen)
    if category is None:
        raise Wrong(_("Choose one of the options in the list."))
    forget(turn.conversation, "page")
    remember(turn.conversation, category_id=category.id)
    return Next("description")


def _active_category(chosen):
    if not chosen or not chosen.removeprefix("category:").isdigit():
        return None
    return db.session.scalar(select(Category).where(
        Category.id == int(chosen.removeprefix("category:")), Category.active))


# --- what was seen --------------------------------------------------------------------------------

def ask_description(turn):
    low, high = DESCRIPTION_LENGTH
    return [Text(_("What did you see? Describe it in your own words: what the people were doing, "
                   "since when, and anything that helps the officers (%(min)d to %(max)d "
                   "characters).", min=low, max=high))]


def handle_description(turn):
    remember(turn.conversation, description=text_between(turn, *DESCRIPTION_LENGTH))
    return Next("people")


# --- how many people ------------------------------------------------------------------------------

def _people_choices():
    return [choice("people:1", "1"), choice("people:2", "2"),
            choice("people:more", _("3 or more"))]


def ask_people(turn):
    return [Buttons(_("How many people did you see?"), tuple(_people_choices()))]


def handle_people(turn):
    if turn.incoming.kind == "text":  # a typed "3" is three people, not the third button
        typed = _typed_number(turn)
        if typed is not None:
            return _people(turn, typed)
    chosen = picked(turn, _people_choices())
    if chosen == "people:more":
        return Next("people_number")
    if chosen is None:
        raise Wrong(_("Enter a number from %(min)s to %(max)s.", min=PEOPLE_RANGE[0],
                      max=PEOPLE_RANGE[1]))
    return _people(turn, int(chosen.removeprefix("people:")))


def ask_people_number(turn):
    return [Text(_("How many people? Type the number, e.g. 5."))]


def handle_people_number(turn):
    return _people(turn, _typed_number(turn))


def _typed_number(turn):
    match = NUMBER_PATTERN.fullmatch(require_text(turn))
    return int(match.group(1)) if match else None


def _people(turn, count):
    low, high = PEOPLE_RANGE
    if count is None or not low <= count <= high:
        raise Wrong(_("Enter a number from %(min)s to %(max)s.", min=low, max=high))
    remember(turn.conversation, people=count)
    return Next("when")


# --- when -----------------------------------------------------------------------------------------

def _when_choices():
    return [choice("when:today", _("Today")), choice("when:yesterday", _("Yesterday")),
            choice("when:other", _("Another date"))]


def ask_when(turn):
    return [Buttons(_("When did you see them?"), tuple(_when_choices()))]


def handle_when(turn):
    chosen = picked(turn, _when_choices())
    if chosen == "when:other":
        return Next("when_date")
    if chosen == "when:today":
        return _observed(turn, turn.now)
    if chosen == "when:yesterday":
        return _observed(turn, turn.now - timedelta(days=1))
    return _observed(turn, _typed_date(turn))


def ask_when_date(turn):
    example = (turn.now.astimezone(WIB) - timedelta(days=3)).strftime("%d-%m-%Y")
    return [Text(_("On which date? Type it as day-month-year, e.g. %(example)s.",
                   example=example))]


def handle_when_date(turn):
    return _observed(turn, _typed_date(turn))


def _typed_date(turn):
    """Noon (WIB) of the typed day, never later than now. A typed day has no hour, so its age is
    counted in days: the whole of the oldest day allowed is accepted."""
    day = _parsed_day(require_text(turn))
    today = turn.now.astimezone(WIB).date()
    if day > today:
        raise Wrong(_("The time cannot be in the future."))
    days = current_app.config["REPORT_MAX_AGE_DAYS"]
    if day < today - timedelta(days=days):
        raise Wrong(_("Reports can be made up to %(days)d days after the event.", days=days))
    return min(datetime.combine(day, TYPED_DATE_HOUR, tzinfo=WIB).astimezone(timezone.utc),
               turn.now)


def _parsed_day(typed):
    match = DATE_PATTERN.fullmatch(typed)
    if match is None:
        raise Wrong(_("Type the date as day-month-year, e.g. 25-11-2026."))
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year + 2000 if year < 100 else year, month, day)
    except ValueError:
        raise Wrong(_("That date does not exist. Type it as day-month-year, e.g. 25-11-2026.")) \
            from None


def _observed(turn, moment):
    remember(turn.conversation, observed_at=moment.isoformat())
    return Next("place_kind")


# --- kind of place --------------------------------------------------------------------------------

def _place_kind_choices():
    return [choice(f"kind:{kind.value}", kind.title) for kind in PlaceKind]


def ask_place_kind(turn):
    return [Menu(_("What kind of place was it?"), _("Choose"), tuple(_place_kind_choices()))]


def handle_place_kind(turn):
    chosen = picked(turn, _place_kind_choices())
    if chosen is None:
        raise Wrong(_("Choose one of the options in the list."))
    remember(turn.conversation, place_kind=chosen.removeprefix("kind:"))
    return Next("place")


# --- photos ---------------------------------------------------------------------------------------

def ask_photos(turn):
    count = len(turn.data.get("photos", []))
    if count == 0:
        return [Buttons(_("You may add up to %(n)d photos. Send them one at a time, or tap "
                          "Skip.", n=MAX_PHOTOS), (choice("photos:done", _("Skip")),))]
    return [Buttons(ngettext("%(num)d photo received. Send another, or tap Done.",
                             "%(num)d photos received. Send another, or tap Done.", count),
                    (choice("photos:done", _("Done")),))]


def handle_photos(turn):
    if turn.incoming.kind == "image":
        return _photo(turn)
    if picked(turn, [choice("photos:done", _("Done")), choice("photos:done", _("Skip"))]):
        return Next("contact")
    raise Wrong(_("Send a photo, or tap the button to go on."))


def _photo(turn):
    photos = turn.data.get("photos", [])
    entry = flow_photos.receive(turn.conversation, turn.incoming.media_id)
    if any(kept["sha256"] == entry["sha256"] for kept in photos):
        raise Wrong(_("You have already sent this photo."))
    photos = [*photos, entry]
    remember(turn.conversation, photos=photos)
    if len(photos) >= MAX_PHOTOS:
        return Next("contact", say=(Text(ngettext("%(num)d photo received.",
                                                  "%(num)d photos received.", len(photos))),))
    return Next("photos")


# --- contact --------------------------------------------------------------------------------------

def _contact_choices():
    return [choice("contact:yes", _("May contact me")), choice("contact:no", _("Stay anonymous"))]


def ask_contact(turn):
    return [Buttons(_("May an officer contact you if they need one more detail? They would send "
                      "you a question here on WhatsApp and never see your number. If you stay "
                      "anonymous, your number is not kept with the report."),
                    tuple(_contact_choices()))]


def handle_contact(turn):
    chosen = picked(turn, _contact_choices())
    if chosen is None:
        raise Wrong(_("Choose one of the buttons."))
    remember(turn.conversation, contact=chosen == "contact:yes")
    return Next("confirm")


# --- while an answer is being changed from the summary -------------------------------------------

# The questions in their order; the other steps follow up one of these.
MAIN_STEPS = ("category", "description", "people", "when", "place_kind", "place", "photos",
              "contact", "confirm")


def _back_to_summary_when_editing(name, handle):
    """While an answer is being changed, the step that would come next is the summary."""
    def handle_then_summary(turn):
        result = handle(turn)
        if turn.data.get("editing") and result.step in MAIN_STEPS and result.step != name:
            return Next("confirm", result.say)
        return result
    return handle_then_summary


_QUESTIONS = {
    "category": Step(FLOW, ask_category, handle_category),
    "description": Step(FLOW, ask_description, handle_description, free_text=True),
    "people": Step(FLOW, ask_people, handle_people),
    "people_number": Step(FLOW, ask_people_number, handle_people_number),
    "when": Step(FLOW, ask_when, handle_when),
    "when_date": Step(FLOW, ask_when_date, handle_when_date),
    "place_kind": Step(FLOW, ask_place_kind, handle_place_kind),
    **flow_place.STEPS,
    "photos": Step(FLOW, ask_photos, handle_photos, accepts=("text", "choice", "image")),
    "contact": Step(FLOW, ask_contact, handle_contact),
}
STEPS = {**{name: replace(step, handle=_back_to_summary_when_editing(name, step.handle))
            for name, step in _QUESTIONS.items()},
         **flow_send.STEPS}
