"""The page where staff make and revoke their personal access tokens for the JSON API (/akun/token).

Staff only, signed in with the second factor: a token acts for its user without that factor, so it
is made only by someone who has just passed it. The secret is shown once, on the answer to the form
that made it (never flashed, never kept in the session, never logged), and every answer is
`Cache-Control: private, no-store`, so no browser or proxy keeps it either.
"""
from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import IntegerField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from apoa.api import tokens
from apoa.api.models import TokenScope
from apoa.auth import sessions
from apoa.auth.guards import actor, guard_staff_pages
from apoa.errors import NotAllowed
from apoa.forms import BaseForm

bp = Blueprint("tokens", __name__)
guard_staff_pages(bp)

DEFAULT_DAYS = 90


@bp.before_request
def staff_with_second_factor():
    """Residents have no use for the staff API; a staff session always carries the second factor
    (apoa.auth.sessions ends one without it), checked here again because a token outlives it."""
    if not (actor().is_immigration_staff and session.get(sessions.SECOND_FACTOR)):
        raise NotAllowed()


class TokenForm(BaseForm):
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Give the token a name, e.g. the application that uses it.")),
        Length(max=tokens.MAX_NAME, message=_l("Write at most %(max)d characters."))])
    scope = RadioField(_l("Allowed to"), default=TokenScope.read.value,
                       choices=lambda: [SelectChoice(s.value, s.title) for s in TokenScope])
    days = IntegerField(_l("Valid for (days)"), default=DEFAULT_DAYS, validators=[
        InputRequired(_l("Enter a number of days.")),
        NumberRange(min=tokens.MIN_DAYS, max=tokens.MAX_DAYS,
                    message=_l("Enter a number from %(min)s to %(max)s."))])


class RevokeForm(BaseForm):
    """Nothing but the CSRF token."""


def render_tokens(form, status=200, secret=None, made=None, revoke_form=None):
    return render_template("api/tokens.html", form=form, tokens=tokens.tokens_of(actor()),
                           status_of=tokens.status, scope_title=scope_title,
                           revoke_form=revoke_form or RevokeForm(formdata=None),
                           secret=secret, made=made), status


def scope_title(token):
    return TokenScope(token.scope).title


@bp.get("/akun/token")
def token_list():
    return render_tokens(TokenForm(formdata=None))


@bp.post("/akun/token")
def create():
    form = TokenForm()
    if not form.validate():
        return render_tokens(form, 400)
    token, secret = tokens.create_token(actor(), form.name.data, form.scope.data, form.days.data)
    # The one answer that carries the secret: rendered, not redirected, so it is never stored.
    return render_tokens(TokenForm(formdata=None), secret=secret, made=token)


@bp.post("/akun/token/<int:token_id>/cabut")
def revoke(token_id):
    user = actor()
    token = tokens.own_token(token_id, user)
    revoke_form = RevokeForm()
    if not revoke_form.validate():
        return render_tokens(TokenForm(formdata=None), 400, revoke_form=revoke_form)
    tokens.revoke(token, user)
    flash(_("The token “%(name)s” is revoked: it no longer works.", name=token.name), "success")
    return redirect(url_for(".token_list"), 303)
