"""A report's status by its tracking code, as the /status page shows it and nothing more: the coarse
status, when it was received, its last change and (once done) when it was completed.

A code may be sent at any step where free text is not expected, in any spacing or case. Codes that
find nothing are counted per number with the web's budget of misses (apoa/reports/abuse.py), so
the channel gives no more guesses than the status page.
"""
import logging
import math
import time

from flask_babel import format_datetime
from flask_babel import gettext as _

from apoa.reports import abuse, tracking
from apoa.reports.services import find_by_code, public_status
from apoa.whatsapp.flow_steps import MENU, Next, Step, Wrong, require_text
from apoa.whatsapp.messages import Text

log = logging.getLogger("apoa.whatsapp")


def looks_like_code(typed):
    """Whether `typed` is meant as a tracking code: 14 symbols of the codes' alphabet once spaces
    and dashes are gone (a mistyped code too, which then finds nothing)."""
    compact = "".join((typed or "").split()).replace("-", "").upper().translate(tracking.CONFUSABLE)
    return (len(compact) == tracking.DATA_LENGTH + 1
            and all(symbol in tracking.ALPHABET for symbol in compact))


def status_reply(conversation, typed):
    """The messages answering a tracking code."""
    report = find_by_code(typed)
    if report is None:
        return _miss(conversation)
    status = public_status(report)
    lines = [_("Report %(code)s", code=tracking.display(status.code)),
             _("Status: %(status)s", status=status.status.title),
             _("Received: %(when)s", when=format_datetime(status.received_at, "medium")),
             _("Last update: %(when)s", when=format_datetime(status.updated_at, "medium"))]
    if status.closed_at:
        lines.append(_("Completed: %(when)s", when=format_datetime(status.closed_at, "medium")))
    lines += ["", _("For the safety of everyone involved, the result of the check is not "
                    "published.")]
    return [Text("\n".join(lines))]


def misses_budget(conversation):
    """The web's budget of codes that find nothing, counted for this WhatsApp number."""
    key = f"whatsapp:{conversation.sender_hash}"
    return abuse.Budget(abuse.CODE_MISSES_PER_REQUESTER.name,
                        abuse.CODE_MISSES_PER_REQUESTER.limits, lambda: key)


def _miss(conversation):
    budget = misses_budget(conversation)
    try:
        reset_at = abuse.exhausted_until([budget])
    except Exception:  # noqa: BLE001 - a store failure must not stop the answer
        log.exception("rate-limit store failed while checking WhatsApp code misses")
        reset_at = None
    if reset_at is not None:
        log.info("conversation %s: code misses used up", conversation.id)
        wait = abuse.wait_text(max(1, math.ceil(reset_at - time.time())))
        return [Text(_("You have sent too many codes that we could not find. Please try again "
                       "in %(wait)s.", wait=wait))]
    abuse.spend([budget])
    return [Text(_("We could not find a report with this code. Check the code and try again."))]


# --- "Check a report's status" from the menu -------------------------------------------------

def ask_code(turn):
    return [Text(_("Send the tracking code of your report, e.g. ABCDE-FGHJK-MNPQ. You find it on "
                   "the receipt you got when you reported."))]


def handle_code(turn):
    typed = require_text(turn)
    if not looks_like_code(typed):
        raise Wrong(_("That does not look like a tracking code: it has 14 letters and digits, "
                      "e.g. ABCDE-FGHJK-MNPQ."))
    return Next(MENU, say=tuple(status_reply(turn.conversation, typed)))


# free_text: this step reads the code itself (and goes back to the menu once it is answered).
STEPS = {"status_code": Step("status", ask_code, handle_code, free_text=True)}
