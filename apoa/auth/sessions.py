"""What the session cookie holds about a sign-in, and how long a sign-in lasts.

A sign-in always starts from an emptied session (only the language choice survives), so a session
planted before sign-in never becomes a signed-in one (session fixation). Staff pass two steps: the
password step leaves a short-lived "pending" record naming the user; only the second factor turns
it into a signed-in session.

The session records when the sign-in happened and when the user was last seen. Staff sessions end
after STAFF_LIMITS (30 minutes idle, 12 hours in all), residents' after RESIDENT_LIMITS; the check
runs before every request (apoa.auth.views). Signing out and disabling an account bump the user's
`session_version`, which every session cookie carries, so those end on the server as well.
"""
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import session
from flask_login import login_user, logout_user
from sqlalchemy import select

from apoa.auth.models import User
from apoa.extensions import db

PENDING_KEY = "signin_pending"
PENDING_TTL = timedelta(minutes=10)
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
SECOND_FACTOR = "second_factor"
KEPT_KEYS = ("lang",)
# Writing the cookie on every request is pointless; once a minute keeps "idle" accurate enough.
TOUCH_EVERY = 60


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    absolute: timedelta


STAFF_LIMITS = Limits(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
RESIDENT_LIMITS = Limits(idle=timedelta(days=14), absolute=timedelta(days=30))


def limits_for(user):
    return STAFF_LIMITS if user.is_staff else RESIDENT_LIMITS


def _now():
    return int(time.time())


def fresh_session():
    """Empty the session, keeping only the language choice."""
    kept = {key: session[key] for key in KEPT_KEYS if key in session}
    session.clear()
    session.update(kept)


def begin_pending(user, next_url):
    """After a good password of a staff user: remember who is half signed in, for PENDING_TTL."""
    fresh_session()
    session[PENDING_KEY] = {"user": user.id, "version": user.session_version, "at": _now(),
                            "next": next_url}


def pending_user():
    """The user half signed in by this session, or None (none, too old, or their sessions ended)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or _now() - pending.get("at", 0) > PENDING_TTL.total_seconds():
        return None
    user = db.session.scalar(select(User).where(User.id == pending.get("user")))
    if user is None or not user.active or user.session_version != pending.get("version"):
        return None
    return user


def pending_next():
    pending = session.get(PENDING_KEY)
    return pending.get("next") if isinstance(pending, dict) else None


def drop_pending():
    session.pop(PENDING_KEY, None)


def begin(user, second_factor=None):
    """Sign `user` in on a new session. Staff sessions end with the browser; residents' persist."""
    fresh_session()
    login_user(user)
    now = _now()
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now
    if second_factor:
        session[SECOND_FACTOR] = second_factor
    session.permanent = not user.is_staff


def end():
    """Sign out of this session (the caller bumps the version when all sessions must end)."""
    logout_user()
    fresh_session()


def expired(user):
    """Whether this session of `user` is past its limits, or is a staff session that never passed
    the second factor (made before it existed, or by a remember cookie)."""
    signed_in_at, seen_at = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(signed_in_at, int) or not isinstance(seen_at, int):
        return True
    if user.is_staff and not session.get(SECOND_FACTOR):
        return True
    limits, now = limits_for(user), _now()
    return (now - seen_at > limits.idle.total_seconds()
            or now - signed_in_at > limits.absolute.total_seconds())


def touch():
    now = _now()
    if now - session.get(SEEN_AT, 0) >= TOUCH_EVERY:
        session[SEEN_AT] = now
