"""The bell's pages: a user's own notifications, marking them read, and the e-mail choice.

Only staff have notifications; each view reads and changes the signed-in user's rows only. The
bell itself is in templates/base.html: `unread_notifications()` (one capped COUNT on the unread
index, once per page) is given to every template by this blueprint.
"""
from datetime import datetime, timezone

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from apoa.auth.guards import actor, guard_staff_pages
from apoa.errors import NotAllowed
from apoa.notifications import inbox
from apoa.notifications.forms import EmailChoiceForm

bp = Blueprint("notifications", __name__)
guard_staff_pages(bp)


@bp.before_request
def staff_only():
    if not actor().is_immigration_staff:
        raise NotAllowed()


@bp.app_context_processor
def bell():
    return {"unread_notifications": unread_notifications}


def unread_notifications():
    """The signed-in user's unread count for the bell: "99+" past the cap, counted once a
    request."""
    if "unread_notifications" not in g:
        count = inbox.unread_count(current_user)
        g.unread_notifications = f"{inbox.BELL_CAP - 1}+" if count >= inbox.BELL_CAP else count
    return g.unread_notifications


@bp.get("/notifikasi")
def inbox_page():
    page = inbox.page_of(actor(), request.args.get("page", 1, type=int))
    return render_template("notifications/inbox.html", page=page)


@bp.post("/notifikasi/<int:notification_id>/dibaca")
def mark_read(notification_id):
    if not inbox.mark_read(actor(), notification_id, datetime.now(timezone.utc)):
        abort(404)
    return redirect(back_to_list())


@bp.post("/notifikasi/dibaca-semua")
def mark_all_read():
    count = inbox.mark_all_read(actor(), datetime.now(timezone.utc))
    if count:
        flash(_("All notifications are marked as read."), "success")
    return redirect(back_to_list())


def back_to_list():
    page = request.form.get("page", 1, type=int)
    return url_for(".inbox_page", page=page) if page and page > 1 else url_for(".inbox_page")


@bp.route("/notifikasi/pengaturan", methods=["GET", "POST"])
def settings():
    user = actor()
    form = EmailChoiceForm(data={"email": user.email_notifications})
    if form.validate_on_submit():
        inbox.set_email_choice(user, form.email.data)
        flash(_("Your choice is saved."), "success")
        return redirect(url_for(".settings"))
    return render_template("notifications/settings.html", form=form), 400 if form.errors else 200
