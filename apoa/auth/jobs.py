"""Account jobs, run by the job worker after the request that asked for them has committed
(apoa/jobs). Each returns something small for RQ to keep, never a name or an address."""
import logging

from flask import current_app
from flask_babel import force_locale, gettext as _

from apoa.auth.models import User
from apoa.extensions import db
from apoa.notifications import mail

log = logging.getLogger("apoa.auth")


def send_account_exists_notice(user_id):
    """Tell the owner of an account that somebody tried to register with its email address.

    /daftar answers the same whether an address has an account or not, so that nobody learns
    who has one (a staff address included); the owner learns it here instead. Returns whether a
    mail went out (none without APOA_SMTP_HOST, or for an account gone since)."""
    user = db.session.get(User, user_id)
    if user is None or not mail.mail_configured():
        log.info("account-exists notice for user %s not mailed (no user or no mail server)",
                 user_id)
        return False
    with mail.smtp_session() as smtp:
        smtp.send_message(account_exists_mail(user))
    log.info("account-exists notice mailed to user %s", user_id)
    return True


def account_exists_mail(user):
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = _("[APOA] Someone tried to create an account with your email address")
        lines = [
            _("Hello %(name)s,", name=user.name), "",
            _("Someone, perhaps you, tried to create a new account on APOA with this email "
              "address. It already has an account, so nothing was created or changed."), "",
            _("If it was you, sign in with your password: %(url)s",
              url=mail.app_url("auth.login")),
            _("If it was not you, you need not do anything."), "",
            "-- ", _("An automatic message from APOA."),
        ]
        return mail.message(user, subject, lines)
