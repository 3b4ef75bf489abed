"""Staff e-mail: a plain-text mail per notification, or one daily digest, over SMTP (APOA_SMTP_*).

Sending is idempotent: a notification's `emailed_at` is set after the server accepted its mail,
in the job's one commit, and the rows being mailed are locked (SKIP LOCKED), so two workers never
send the same one. A mail the server could not take stays unmailed for the next try: when nothing
of a run went out, the job raises and RQ retries it; when some went out first, the run ends
there, keeps those, and the sweep a minute later tries the rest. An address the server refuses
for good (5xx) is logged and not tried again.

A mail names the report as the bell does (tracking code, category, kecamatan, state, due time)
with a link into the app; never the description, the reporter, contact details or coordinates.
It is written in the interface's default language (APOA_DEFAULT_LOCALE: Bahasa Indonesia).
"""
import logging
import smtplib
import ssl
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from email.utils import make_msgid, parseaddr
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from apoa.auth.models import User
from apoa.extensions import db
from apoa.notifications import inbox
from apoa.notifications.models import EmailChoice, Notification

log = logging.getLogger("apoa.notifications")

# Mails not sent within this time (the mail server was down) are dropped; the bell keeps them.
MAIL_WINDOW = timedelta(days=2)
BATCH = 200
SMTP_TIMEOUT = 30  # seconds


def mail_configured():
    return bool(current_app.config["SMTP_HOST"])


# --- sending -------------------------------------------------------------------------------------

def send_each_pending(now):
    """Mail every unsent notification of users who want each one; returns how many went out."""
    if not mail_configured():
        return 0
    pending = db.session.execute(locked(_pending(EmailChoice.each, now).limit(BATCH))).all()
    if not pending:
        return 0
    described = {item.id: item for item in inbox.items([n.id for n, _user in pending])}
    sent = 0
    with smtp_session() as smtp:
        for notification, user in pending:
            outcome = _deliver(smtp, single_mail(user, described[notification.id]), sent)
            if outcome is STOP:
                break
            _settle([notification], outcome, now)
            sent += outcome is SENT
    db.session.flush()
    log.info("%d notification mails sent", sent)
    return sent


def digest_recipients(now):
    """The ids of users who want a digest and have something unsent for it."""
    query = _pending(EmailChoice.digest, now).with_only_columns(Notification.user_id)
    return sorted(set(db.session.scalars(query)))


def send_digest(user_id, now):
    """Mail the user their digest of unsent notifications; returns how many it held."""
    if not mail_configured():
        return 0
    pending = db.session.execute(locked(_pending(EmailChoice.digest, now)
                                        .where(User.id == user_id))).all()
    if not pending:
        return 0
    notifications = [notification for notification, _user in pending]
    mail = digest_mail(pending[0][1], inbox.items([n.id for n in notifications]))
    with smtp_session() as smtp:
        outcome = _deliver(smtp, mail, sent_before=0)
    _settle(notifications, outcome, now)
    db.session.flush()
    log.info("digest of %d notifications for user %s: %s", len(notifications), user_id, outcome)
    return len(notifications) if outcome is SENT else 0


def _pending(choice, now):
    """Unsent notifications planned for `choice` of active users who still want it, oldest first."""
    return (select(Notification, User).join(User, User.id == Notification.user_id)
            .where(Notification.email_plan == choice.value, Notification.emailed_at.is_(None),
                   Notification.created_at > now - MAIL_WINDOW,
                   User.email_notifications == choice.value, User.active.is_(True))
            .order_by(Notification.id))


def locked(query):
    """Lock the rows for this run; rows another worker is mailing are skipped, not waited for."""
    return query.with_for_update(of=Notification, skip_locked=True)


SENT, REFUSED, STOP = "sent", "refused", "stop"


def _deliver(smtp, mail, sent_before):
    """SENT, REFUSED (the address, for good), or STOP (the server failed after others went out).
    A failure before anything went out raises, so that the job fails and is retried."""
    try:
        smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as error:
        if all(code >= 500 for code, _message in error.recipients.values()):
            return REFUSED
        return _failed(error, sent_before)
    except (smtplib.SMTPException, OSError) as error:
        return _failed(error, sent_before)
    return SENT


def _failed(error, sent_before):
    if not sent_before:
        raise error
    log.warning("mail server failed after %d mails (%s): the rest waits for the next run",
                sent_before, type(error).__name__)
    return STOP


def _settle(notifications, outcome, now):
    for notification in notifications:
        if outcome is SENT:
            notification.emailed_at = now
        elif outcome is REFUSED:
            notification.email_plan = None
            log.warning("mail server refused the address of user %s for good (notification %s)",
                        notification.user_id, notification.id)


@contextmanager
def smtp_session():
    """A connection to APOA_SMTP_HOST as configured (plain, STARTTLS or TLS; signed in if a user
    is set). Closing it never hides what happened while it was open."""
    config = current_app.config
    host, port, tls = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TLS"]
    if tls == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    try:
        if tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        yield smtp
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


# --- the mails -----------------------------------------------------------------------------------

def single_mail(user, item):
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = _("[APOA] %(title)s: %(code)s", title=item.kind.title, code=item.code or "—")
        lines = [_("Hello %(name)s,", name=user.name), "", str(item.kind.title) + ".", "",
                 *facts(item), "", _("Open the report: %(url)s", url=report_url(item.report_id)),
                 "", *footer()]
        return message(user, subject, lines)


def digest_mail(user, items):
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = ngettext("[APOA] %(num)d notification", "[APOA] %(num)d notifications",
                           len(items))
        lines = [_("Hello %(name)s,", name=user.name), "",
                 ngettext("You have %(num)d notification since the last digest:",
                          "You have %(num)d notifications since the last digest:", len(items)), ""]
        for item in items:
            lines += [f"* {item.kind.title} ({format_datetime(item.created_at, 'short')})",
                      *(f"  {line}" for line in facts(item)), f"  {report_url(item.report_id)}", ""]
        return message(user, subject, [*lines, *footer()])


def facts(item):
    """What a mail says of the report: nothing a bell would not show."""
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    lines = [_("Report: %(code)s (no. %(id)s)", code=item.code or "—", id=item.report_id),
             _("Category: %(name)s", name=item.category(locale) or "—"),
             _("District: %(name)s", name=item.place or "—")]
    if item.state is not None:
        lines.append(_("Status: %(state)s", state=item.state.title))
    if item.due_at is not None:
        lines.append(_("Due: %(time)s", time=format_datetime(item.due_at, "short")))
    return lines


def footer():
    return ["-- ", _("An automatic message from APOA. Choose which e-mails you get: %(url)s",
                         url=app_url("notifications.settings"))]


def message(user, subject, lines):
    sender = current_app.config["SMTP_FROM"]
    mail = EmailMessage()
    mail["Subject"] = str(subject)
    mail["From"] = sender
    mail["To"] = user.email
    mail["Date"] = rfc2822_date(datetime.now(timezone.utc))
    mail["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "localhost")
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content("\n".join(str(line) for line in lines) + "\n")
    # Set after set_content, which clears it.
    mail["Content-Language"] = current_app.config["BABEL_DEFAULT_LOCALE"]
    return mail


def report_url(report_id):
    return app_url("officer.report_page", report_id=report_id) if report_id else ""


def app_url(endpoint, **values):
    """An absolute link into the app at APOA_BASE_URL (a worker has no request to take it from)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
