"""Staff's personal access tokens for /api/v1: made, listed, revoked, and checked on every request.

A token is shown once, when it is made; the database keeps only the sha256 of the secret (random
and 256 bits long, so no salt or slow hash is needed) and its first characters, for people to tell
their tokens apart. A token stops working when it expires, when it is revoked, and when its user is
disabled or no longer staff. Every use is audited ("api.token.use", with the token's id, the method
and the path), never the secret. Services flush, never commit.
"""
import hashlib
import logging
import secrets
from datetime import datetime, timedelta, timezone

from flask_babel import gettext as _
from sqlalchemy import select

from apoa.api.models import ApiToken, TokenScope
from apoa.audit.services import record, record_independently
from apoa.errors import NotAllowed, NotFound, UserValueError
from apoa.extensions import db

log = logging.getLogger("apoa.api")

SECRET_START = "apoa_"
# What the list shows of a secret: "apoa_" and 7 characters of its random part (the column's size).
PREFIX_LENGTH = 12
MIN_DAYS, MAX_DAYS = 1, 365
MAX_NAME = 100


def _now():
    return datetime.now(timezone.utc)


def secret_hash(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(user, name, scope, days):
    """Make a token for `user` (staff only); returns (the row, the secret to show once).

    Audits "api.token.create" with the scope and the days it lasts."""
    if not (user.active and user.is_staff):
        raise NotAllowed()
    name, scope = _clean_name(name), TokenScope(scope)
    if not (isinstance(days, int) and MIN_DAYS <= days <= MAX_DAYS):
        raise UserValueError(_("A token lasts from %(min)d to %(max)d days.",
                               min=MIN_DAYS, max=MAX_DAYS))
    secret = SECRET_START + secrets.token_urlsafe(32)
    now = _now()
    # created_at from the app's clock, like expires_at: the two are compared on the same page.
    token = ApiToken(user_id=user.id, name=name, secret_hash=secret_hash(secret),
                     prefix=secret[:PREFIX_LENGTH], scope=scope.value, created_at=now,
                     expires_at=now + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    record("api.token.create", f"api_token:{token.id}", {"scope": scope.value, "days": days},
           actor=user)
    log.info("user %s made API token %s (%s, %s days)", user.id, token.id, scope.value, days)
    return token, secret


def _clean_name(name):
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise UserValueError(_("Give the token a name of at most %(max)d characters.",
                               max=MAX_NAME))
    return name


def tokens_of(user):
    """The user's tokens, newest first, revoked and expired ones included."""
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                              .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()


def own_token(token_id, user):
    """The user's token with this id; another user's token is as missing as one that is not."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id,
                                                     ApiToken.user_id == user.id))
    if token is None:
        raise NotFound()
    return token


def revoke(token, user):
    """Revoke `token` of `user` (once: revoking again changes nothing). Audits
    "api.token.revoke"."""
    if token.user_id != user.id:
        raise NotFound()
    if token.revoked_at is not None:
        return token
    token.revoked_at = _now()
    db.session.flush()
    record("api.token.revoke", f"api_token:{token.id}", None, actor=user)
    log.info("user %s revoked API token %s", user.id, token.id)
    return token


def is_usable(token, now=None):
    now = now or _now()
    return token.revoked_at is None and token.expires_at > now


def status(token, now=None):
    """"revoked", "expired" or "active": what the token list says of a token."""
    if token.revoked_at is not None:
        return "revoked"
    return "active" if is_usable(token, now) else "expired"


def bearer_secret(header):
    """The secret of an `Authorization: Bearer <secret>` header, or None."""
    scheme, _sep, secret = (header or "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(SECRET_START) or len(secret) > 200:
        return None
    return secret


def authenticate(header, method, path):
    """(user, token) for a good Bearer header, else None: no such token, expired, revoked, or its
    user disabled or no longer staff. A good use updates `last_used_at` and is audited
    ("api.token.use"); a refused use of a known token is audited too ("api.token.refused", in a
    transaction of its own: the 401 rolls the request back). Flushes, never commits."""
    secret = bearer_secret(header)
    if secret is None:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.secret_hash == secret_hash(secret)))
    if token is None:
        return None
    refusal = _refusal(token)
    if refusal is not None:
        record_independently("api.token.refused", f"api_token:{token.id}",
                             {"reason": refusal, "method": method, "path": path},
                             actor=token.user)
        log.info("API token %s refused (%s)", token.id, refusal)
        return None
    token.last_used_at = _now()
    db.session.flush()
    record("api.token.use", f"api_token:{token.id}", {"method": method, "path": path},
           actor=token.user)
    return token.user, token


def _refusal(token):
    if token.revoked_at is not None:
        return "revoked"
    if not is_usable(token):
        return "expired"
    if not (token.user.active and token.user.is_staff):
        return "user_inactive"
    return None


def may_act(token):
    """Whether the token's scope allows changing reports (the workflow still decides what)."""
    return token.scope == TokenScope.act.value
