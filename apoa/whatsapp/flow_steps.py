"""What every step of the WhatsApp conversation is made of.

A step asks one question (`ask`) and reads the answer (`handle`). An answer that does not fit
raises `Wrong` with a short explanation; the conversation then says it and asks the same question
again, so no step repeats that logic. A good answer returns `Next`: the step to ask next and what
to say before its question.

`conversation.data` is a JSONB column without change tracking: it is always replaced, never
changed in place (`remember`, `forget`).
"""
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask_babel import gettext as _
from wtforms.validators import Length, NumberRange

from apoa.forms import without_controls
from apoa.whatsapp.messages import Choice, Incoming
from apoa.whatsapp.models import Conversation

MENU = "menu"
# The longest text any step reads; longer is refused before any step looks at it.
LONGEST_TEXT = 2000


class Wrong(Exception):
    """The message does not answer the step's question; `message` says why, in the resident's
    language."""

    def __init__(self, message):
        super().__init__("wrong answer")  # the resident's words never go into an exception
        self.message = str(message)


@dataclass(frozen=True)
class Next:
    step: str
    say: tuple = ()


@dataclass(frozen=True)
class Turn:
    """One message being answered: the conversation, the message, and the time it is handled."""

    conversation: Conversation
    incoming: Incoming
    now: datetime

    @property
    def data(self):
        return self.conversation.data or {}

    @property
    def text(self):
        """The typed text (or a photo's caption), trimmed and without control characters."""
        return without_controls(self.incoming.text or "").strip()

    @property
    def choice(self):
        return self.incoming.choice


@dataclass(frozen=True)
class Step:
    """`ask(turn)` → messages; `handle(turn)` → Next, or raises Wrong. `accepts` are the message
    kinds the step reads; `free_text` steps take whatever is typed (no tracking-code lookup)."""

    flow: str
    ask: Callable
    handle: Callable
    accepts: tuple = ("text", "choice")
    free_text: bool = False


def remember(conversation, **values):
    conversation.data = {**(conversation.data or {}), **values}


def forget(conversation, *keys):
    conversation.data = {k: v for k, v in (conversation.data or {}).items() if k not in keys}


def picked(turn, choices):
    """The id of the choice the resident picked: tapped, or typed as its title or its number in
    the list ("2"); None if the message picks none of them."""
    ids = [choice.id for choice in choices]
    if turn.choice is not None:
        return turn.choice if turn.choice in ids else None
    typed = " ".join(turn.text.split()).casefold()
    for number, choice in enumerate(choices, start=1):
        if typed in (str(number), str(choice.title).casefold(), choice.id.casefold()):
            return choice.id
    return None


def choice(id_, title, description=None):
    """A Choice whose titles are plain strings (lazy translations rendered now)."""
    return Choice(id_, str(title), str(description) if description else None)


def require_text(turn):
    if turn.incoming.kind != "text" or not turn.text:
        raise Wrong(_("Please type your answer."))
    return turn.text


def text_between(turn, low, high):
    """The typed text if it has `low` to `high` characters, else Wrong with the length rule."""
    text = require_text(turn)
    if not low <= len(text) <= high:
        raise Wrong(_("Write between %(min)d and %(max)d characters.", min=low, max=high))
    return text


def length_rule(unbound_field):
    """(min, max) of a form field's Length validator: the web form's rule, reused as it is."""
    return _validator(unbound_field, Length)


def number_rule(unbound_field):
    """(min, max) of a form field's NumberRange validator."""
    return _validator(unbound_field, NumberRange)


def _validator(unbound_field, kind):
    rule = next(v for v in unbound_field.kwargs["validators"] if isinstance(v, kind))
    return rule.min, rule.max
