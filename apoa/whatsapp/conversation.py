"""The WhatsApp bot's side of a conversation: what to answer to one message.

`respond(conversation, incoming, now)` is called by the inbound job (apoa/whatsapp/inbound.py)
with the conversation row locked; it reads and updates the row (never commits) and returns the
replies for the job to queue. Before the current step reads the message, a few things apply at
any step: an expired conversation is said so, "batal" cancels, "menu" goes back to the menu, (at
the menu) an officer's pending question takes its answer (apoa/whatsapp/questions.py), and a
tracking code gets its status. The steps themselves are the tables of the flow_* modules.

`expire_idle(now)` is the periodic job that clears conversations left in the middle of a flow for
24 hours. WhatsApp allows no free text to a resident more than 24 hours after their last message,
so the expiry is told on the resident's next message.
"""
import logging
from datetime import datetime, timedelta, timezone

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from apoa.extensions import db
from apoa.i18n import LANGUAGE_NAMES
from apoa.whatsapp import flow_cases, flow_photos, flow_report, flow_status
from apoa.whatsapp.flow_steps import LONGEST_TEXT, MENU, Next, Step, Turn, Wrong, choice, picked
from apoa.whatsapp.messages import Menu, Text
from apoa.whatsapp.models import Conversation

log = logging.getLogger("apoa.whatsapp")

IDLE_LIMIT = timedelta(hours=24)
CANCEL_WORDS = {"batal", "cancel", "batalkan", "stop"}
MENU_WORDS = {"menu", "kembali", "back", "main menu", "menu utama"}
CANCEL_CHOICE = "cancel"


# --- the main menu --------------------------------------------------------------------------------

def _menu_choices(conversation):
    other = "en" if conversation.locale != "en" else "id"
    return [choice("menu:report", _("Report a foreigner"),
                   _("Tell us about a foreign national you saw")),
            choice("menu:status", _("Check report status"), _("Send your tracking code")),
            choice("menu:info", _("Information"),
                   _("What APOA is, office addresses, questions")),
            choice("menu:complaint", _("Complain about service"),
                   _("Tell us what went wrong with our service")),
            choice(f"lang:{other}", LANGUAGE_NAMES[other])]


def ask_menu(turn):
    return [Menu(_("Hello! This is APOA, the community reporting service of the immigration "
                   "office. What would you like to do?"), _("Choose"),
                 tuple(_menu_choices(turn.conversation)))]


def handle_menu(turn):
    chosen = picked(turn, _menu_choices(turn.conversation))
    if chosen is None:
        return Next(MENU)  # a greeting, or anything else: the menu is the answer
    if chosen.startswith("lang:"):
        turn.conversation.locale = chosen.removeprefix("lang:")
        return Next(MENU)
    return MENU_ACTIONS[chosen](turn)


MENU_ACTIONS = {
    "menu:report": lambda turn: flow_report.start(turn.conversation),
    "menu:status": lambda turn: Next("status_code"),
    "menu:info": lambda turn: Next(flow_cases.INFO),
    "menu:complaint": lambda turn: Next("complaint_place"),
}

STEPS = {
    MENU: Step(MENU, ask_menu, handle_menu, accepts=("text", "choice", "location", "image",
                                                     "unsupported")),
    **flow_status.STEPS,
    **flow_report.STEPS,
    **flow_cases.STEPS,
}


# --- answering one message ------------------------------------------------------------------------

def respond(conversation, incoming, now):
    """The replies to `incoming` (apoa.whatsapp.messages), in the conversation's language; moves
    the conversation to its next step. Flushes at most, never commits."""
    with force_locale(conversation.locale or "id"):
        replies = _respond(Turn(conversation, incoming, now))
    conversation.updated_at = now
    log.info("conversation %s: %s message answered at step %s", conversation.id, incoming.kind,
             conversation.step)
    return replies


def _respond(turn):
    conversation = turn.conversation
    expired = _expiry_notice(conversation, turn.now)
    if expired:
        # The message most likely answers a question of the expired flow: it is not read as
        # anything else (a "2" would pick from the menu), unless an officer's question waits.
        answer = _officer_question_answer(turn)
        return expired + (answer if answer is not None else go_to(turn, Next(MENU)))
    if _is_command(turn, CANCEL_WORDS) or turn.choice == CANCEL_CHOICE:
        return _cancel(turn)
    if _is_command(turn, MENU_WORDS):
        return go_to(turn, Next(MENU))
    if conversation.flow == MENU:
        answer = _officer_question_answer(turn)
        if answer is not None:
            return answer
    return _answer_at_step(turn)


def _is_command(turn, words):
    return turn.incoming.kind == "text" and " ".join(turn.text.split()).casefold() in words


def _officer_question_answer(turn):
    """The replies of apoa/whatsapp/questions.py when an officer's question takes this message as
    its answer, else None."""
    if turn.conversation.question_report_id is None:
        return None
    from apoa.whatsapp.questions import take_answer  # late: it imports the inbound job, our caller

    return take_answer(turn.conversation, turn.incoming)


def _cancel(turn):
    if turn.conversation.flow == MENU:
        return go_to(turn, Next(MENU))
    return go_to(turn, Next(MENU, say=(Text(_("Cancelled. What you had sent so far has been "
                                                "deleted.")),)))


def _answer_at_step(turn):
    step = current_step(turn.conversation)
    try:
        _check_kind(turn, step)
        if not step.free_text and turn.incoming.kind == "text" \
                and flow_status.looks_like_code(turn.text):
            return flow_status.status_reply(turn.conversation, turn.text) + step.ask(turn)
        result = step.handle(turn)
    except Wrong as wrong:
        return [Text(wrong.message), *step.ask(turn)]
    return go_to(turn, result)


def current_step(conversation):
    step = STEPS.get(conversation.step or MENU)
    if step is None:  # a step of an older version of the bot: start again
        clear(conversation)
        conversation.step, conversation.flow = MENU, MENU
        return STEPS[MENU]
    return step


def _check_kind(turn, step):
    kind = turn.incoming.kind
    if kind == "text" and len(turn.text) > LONGEST_TEXT and not step.free_text:
        raise Wrong(_("Your message is too long: write at most %(max)d characters.",
                      max=LONGEST_TEXT))
    if kind in step.accepts:
        return
    if kind == "image":
        raise Wrong(_("Thank you, but a photo is not needed here. You can add photos to a report "
                      "when we ask for them."))
    if kind == "location":
        raise Wrong(_("A location is not needed here."))
    raise Wrong(_("Sorry, we can only read text, buttons, locations and photos."))


def go_to(turn, result):
    """Say what `result` says, move to its step and ask that step's question (in the language
    the conversation speaks now: it may just have changed)."""
    conversation = turn.conversation
    step = STEPS[result.step]
    if (step.flow == MENU and conversation.flow != MENU) or result.step == MENU:
        clear(conversation)
    conversation.step, conversation.flow = result.step, step.flow
    with force_locale(conversation.locale or "id"):
        return [*result.say, *step.ask(turn)]


def clear(conversation):
    """Forget everything collected so far; its photos are deleted once this commits."""
    data = conversation.data or {}
    flow_photos.discard_after_commit(conversation.id, data.get("photos", []))
    conversation.data = {}


# --- expiry ---------------------------------------------------------------------------------------

def _expiry_notice(conversation, now):
    if conversation.flow != MENU and conversation.updated_at is not None \
            and now - conversation.updated_at >= IDLE_LIMIT:
        expire(conversation, now)
    if conversation.expired_at is None:
        return []
    conversation.expired_at = None
    return [Text(_("Your unfinished report or message expired after 24 hours without an answer, "
                   "and what you had sent was deleted. You can start again from the menu."))]


def expire(conversation, now):
    clear(conversation)
    conversation.flow, conversation.step = MENU, MENU
    conversation.expired_at = now
    log.info("conversation %s expired", conversation.id)


def expire_idle(now=None):
    """Job: clear conversations left in the middle of a flow for 24 hours (a conversation being
    answered right now is skipped: its own answer checks the same). Returns how many."""
    now = now or datetime.now(timezone.utc)
    idle = db.session.scalars(
        select(Conversation).where(Conversation.flow != MENU,
                                   Conversation.updated_at <= now - IDLE_LIMIT)
        .with_for_update(skip_locked=True)).all()
    for conversation in idle:
        expire(conversation, now)
    db.session.flush()
    flow_photos.sweep(now)
    log.info("idle WhatsApp conversations expired: %d", len(idle))
    return len(idle)
