"""Information, questions and complaints: the conversation's side of the offices' service cases.

Each asks for the resident's kabupaten/kota (or kecamatan) to find the office whose jurisdiction
holds it: to tell its address and hours, or to open a case for its supervisors
(apoa/feedback/services.py) that they answer on WhatsApp.
"""
import logging

from flask_babel import gettext as _

from apoa.whatsapp.flow_regions import KABUPATEN_OR_KECAMATAN, office_of_region, region_steps
from apoa.whatsapp.flow_steps import (MENU, Next, Step, Wrong, choice, picked, remember,
                                      text_between)
from apoa.whatsapp.messages import Menu, Text
from apoa.whatsapp.numbers import normalise

log = logging.getLogger("apoa.whatsapp")

INFO = "info"
COMPLAINT_LENGTH = (10, 2000)
QUESTION_LENGTH = (1, 2000)


# --- the information menu -------------------------------------------------------------------------

def _info_choices():
    return [choice("info:about", _("What is APOA?")),
            choice("info:process", _("What happens to a report")),
            choice("info:offices", _("Office address & hours")),
            choice("info:question", _("Ask a question")),
            choice("info:back", _("Back to the menu"))]


def ask_info(turn):
    return [Menu(_("What would you like to know?"), _("Choose"), tuple(_info_choices()))]


def handle_info(turn):
    chosen = picked(turn, _info_choices())
    if chosen is None:
        raise Wrong(_("Choose one of the options in the list."))
    return INFO_ANSWERS[chosen]()


def _about():
    return Next(INFO, say=(Text(_(
        "APOA (Aplikasi Pelaporan Orang Asing) is how residents tell the immigration office about "
        "foreign nationals whose presence or activity may break the rules, for example working "
        "without a permit or staying longer than their permit allows. Officers check every "
        "report together with the Tim PORA. You may report anonymously.")),))


def _process():
    return Next(INFO, say=(Text(_(
        "What happens to a report:\n"
        "1. Received: the office receives it and you get a tracking code.\n"
        "2. In progress: officers check it, often on the spot.\n"
        "3. Done: the check is finished.\n\n"
        "For the safety of everyone involved, you are not told the result in detail. You may "
        "stay anonymous; if you allow it, an officer may send you a question here without ever "
        "seeing your number.")),))


INFO_ANSWERS = {
    "info:about": _about,
    "info:process": _process,
    "info:offices": lambda: Next("office_place"),
    "info:question": lambda: Next("question_place"),
    "info:back": lambda: Next(MENU),
}


# --- an office's address and hours ----------------------------------------------------------------

def ask_office_place(turn):
    return [Text(_("Which area do you live in? Type the name of your kabupaten/kota or "
                   "kecamatan, e.g. Karawang."))]


def office_found(turn, region):
    office = office_of_region(region["id"])
    if office is None:
        return Next(INFO, say=(Text(_no_office(region)),))
    lines = [_("The immigration office for %(place)s:", place=region["title"]), office.name,
             _("Address: %(address)s", address=office.address or _("not recorded")),
             _("Opening hours: %(hours)s", hours=office.hours or _("not recorded"))]
    return Next(INFO, say=(Text("\n".join(lines)),))


def _no_office(region):
    return _("No immigration office is recorded for %(place)s yet.", place=region["title"])


# --- questions and complaints ---------------------------------------------------------------------

def ask_question_place(turn):
    return [Text(_("Your question goes to the immigration office of your area. Type the name of "
                   "your kabupaten/kota or kecamatan, e.g. Karawang."))]


def ask_complaint_place(turn):
    return [Text(_("We are sorry something went wrong. Which office is it about? Type the name of "
                   "the kabupaten/kota or kecamatan, e.g. Karawang."))]


def _case_office_found(next_step):
    def found(turn, region):
        office = office_of_region(region["id"])
        if office is None:
            raise Wrong(_no_office(region) + " " + _("Please type another place."))
        remember(turn.conversation, office_id=office.id, office_name=office.name)
        return Next(next_step)
    return found


def ask_question_text(turn):
    return [Text(_("Type your question for %(office)s in one message (at most %(max)d "
                   "characters). An officer will answer here on WhatsApp.",
                   office=turn.data.get("office_name", ""), max=QUESTION_LENGTH[1]))]


def ask_complaint_text(turn):
    return [Text(_("Tell us what went wrong at %(office)s: what happened, when and where "
                   "(%(min)d to %(max)d characters).", office=turn.data.get("office_name", ""),
                   min=COMPLAINT_LENGTH[0], max=COMPLAINT_LENGTH[1]))]


def handle_question_text(turn):
    case = _open_case(turn, "question", text_between(turn, *QUESTION_LENGTH))
    return Next(MENU, say=(Text(_("Thank you. Your question has been received with number "
                                  "%(number)s. The office will answer here on WhatsApp.",
                                  number=case.id)),))


def handle_complaint_text(turn):
    case = _open_case(turn, "complaint", text_between(turn, *COMPLAINT_LENGTH))
    return Next(MENU, say=(Text(_("Thank you. Your complaint has been received with number "
                                  "%(number)s. The office will reply here on WhatsApp.",
                                  number=case.id)),))


def _open_case(turn, kind, body):
    from apoa.feedback.services import open_case  # written beside this module

    case = open_case(turn.data["office_id"], kind, body, "whatsapp",
                     number=normalise(turn.incoming.sender))
    log.info("conversation %s opened %s case %s", turn.conversation.id, kind, case.id)
    return case


STEPS = {
    INFO: Step(MENU, ask_info, handle_info),
    **region_steps("office_place", INFO, ask_office_place, KABUPATEN_OR_KECAMATAN, office_found,
                   pick_single=True),
    **region_steps("question_place", "question", ask_question_place, KABUPATEN_OR_KECAMATAN,
                   _case_office_found("question_text"), pick_single=True),
    "question_text": Step("question", ask_question_text, handle_question_text, free_text=True),
    **region_steps("complaint_place", "complaint", ask_complaint_place, KABUPATEN_OR_KECAMATAN,
                   _case_office_found("complaint_text"), pick_single=True),
    "complaint_text": Step("complaint", ask_complaint_text, handle_complaint_text,
                           free_text=True),
}
