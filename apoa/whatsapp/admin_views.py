"""/admin/whatsapp: the WhatsApp channel for administrators (manage_whatsapp): how many messages
went out in the last 7 days and in which state, the sends that failed with "send again", and the
numbers blocked, with a form to block one and "unblock".

Everyone else gets 404, as for the rest of /admin. A number is never shown: failed sends show
their purpose, error and report; blocked numbers their last digits (`numbers.hint`). Neither the
message text nor the number reaches the page, the audit log or the logs.
"""
import logging
import re
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from apoa.admin.forms import ConfirmForm
from apoa.audit.services import record
from apoa.auth.guards import actor, never_store
from apoa.auth.models import User
from apoa.auth.permissions import Permission, has_permission
from apoa.extensions import db
from apoa.reports.models import Report
from apoa.reports.tracking import display
from apoa.whatsapp.admin_forms import BlockForm
from apoa.whatsapp.models import Block, Outbound, SendState
from apoa.whatsapp.numbers import hint, sender_hash

admin_bp = Blueprint("whatsapp_admin", __name__, url_prefix="/admin/whatsapp")
admin_bp.after_request(never_store)
log = logging.getLogger("apoa.whatsapp")

RECENT_DAYS = 7
KEY_PATTERN = re.compile(r"[0-9a-f]{64}")  # numbers.sender_hash: sha256 in hex
FAILED_SHOWN = 100
PURPOSE_TITLES = {
    "reply": _l("Bot's reply"),
    "status": _l("Status change"),
    "question": _l("Officer's question"),
    "case_answer": _l("Answer to a complaint or question"),
}


@admin_bp.before_request
def only_whatsapp_managers():
    if not has_permission(current_user, Permission.manage_whatsapp):
        abort(404)


@admin_bp.get("/", strict_slashes=False)
def index():
    return _render(BlockForm(formdata=None))


@admin_bp.post("/blokir")
def block():
    form = BlockForm()
    if not form.validate():
        return _render(form, 400)
    blocked = block_number(form.normalised_number, form.note.data, actor())
    if blocked is None:
        flash(_("The number ending in %(hint)s was already blocked.",
                hint=hint(form.normalised_number)), "info")
    else:
        flash(_("The number ending in %(hint)s is blocked: its messages are dropped without an "
                "answer.", hint=blocked.hint), "success")
    return redirect(url_for(".index"), 303)


@admin_bp.post("/blokir/<key>/buka")
def unblock(key):
    _confirmed()
    if not KEY_PATTERN.fullmatch(key):
        abort(404)
    lifted = unblock_number(key, actor())
    if lifted is None:
        flash(_("That number is no longer blocked."), "info")
    else:
        flash(_("The number ending in %(hint)s is unblocked.", hint=lifted.hint), "success")
    return redirect(url_for(".index"), 303)


@admin_bp.post("/gagal/<int:outbound_id>/kirim-ulang")
def resend(outbound_id):
    _confirmed()
    from apoa.whatsapp.sending import resend as queue_again

    state = db.session.scalar(select(Outbound.state).where(Outbound.id == outbound_id))
    if state is None:
        abort(404)
    # resend() leaves a message that has not failed as it is: only a failed one was sent again.
    row = queue_again(outbound_id) if state == SendState.failed.value else None
    if row is not None and row.state == SendState.queued.value:
        record("whatsapp.resend", f"wa_outbound:{row.id}", {"purpose": row.purpose},
               actor=actor())
        flash(_("The message is back in the queue and is sent again shortly."), "success")
    else:
        flash(_("That message is no longer among the failed ones."), "info")
    return redirect(url_for(".index"), 303)


def _confirmed():
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _render(form, status=200):
    return render_template(
        "whatsapp/admin.html", form=form, counts=counts_by_state(), failed=failed_sends(),
        blocks=blocked_numbers(), days=RECENT_DAYS, SendState=SendState,
        purpose_title=purpose_title, display=display), status


def purpose_title(purpose):
    return PURPOSE_TITLES.get(purpose, purpose)


# --- what the page shows (columns chosen so that no number or text is ever read) ---------------

def counts_by_state():
    """{SendState: n} of the messages queued in the last RECENT_DAYS days, every state listed.
    Counted on the database's clock, the one that stamped the rows."""
    since = func.now() - timedelta(days=RECENT_DAYS)
    query = (select(Outbound.state, func.count()).where(Outbound.created_at >= since)
             .group_by(Outbound.state))
    found = dict(db.session.execute(query).all())
    return {state: found.get(state.value, 0) for state in SendState}


def failed_sends():
    """The failed messages, newest first, with their report's tracking code if any."""
    query = (select(Outbound.id, Outbound.created_at, Outbound.purpose, Outbound.last_error,
                    Outbound.attempts, Report.tracking_code)
             .outerjoin(Report, Report.id == Outbound.report_id)
             .where(Outbound.state == SendState.failed.value)
             .order_by(Outbound.created_at.desc(), Outbound.id.desc()).limit(FAILED_SHOWN))
    return db.session.execute(query).all()


def blocked_numbers():
    query = (select(Block.sender_hash, Block.hint, Block.note, Block.created_at,
                    User.name.label("blocked_by"))
             .outerjoin(User, User.id == Block.blocked_by_id).order_by(Block.created_at.desc()))
    return db.session.execute(query).all()


# --- blocking (services: flush, audit, never commit) ---------------------------------------------

def block_number(number, note, user):
    """Block `number` (normalised); returns the new Block, or None if it was blocked already.
    The audit entry holds the last digits only: the log can never be cleaned of a number."""
    key = sender_hash(number)
    if db.session.get(Block, key) is not None:
        return None
    blocked = Block(sender_hash=key, hint=hint(number), note=(note or "").strip() or None,
                    blocked_by_id=user.id)
    db.session.add(blocked)
    db.session.flush()
    record("whatsapp.block", "wa_block", {"hint": blocked.hint}, actor=user)
    log.info("a WhatsApp number was blocked by user %s", user.id)
    return blocked


def unblock_number(key, user):
    """Lift the block whose keyed hash is `key`; returns it, or None if there was none."""
    blocked = db.session.get(Block, key)
    if blocked is None:
        return None
    db.session.delete(blocked)
    db.session.flush()
    record("whatsapp.unblock", "wa_block", {"hint": blocked.hint}, actor=user)
    log.info("a WhatsApp number was unblocked by user %s", user.id)
    return blocked
