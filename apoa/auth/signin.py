"""Checking a password, counting failures, locking accounts, and the audit entries of signing in
and out. Services flush, never commit.

MAX_FAILURES failed attempts in a row (a wrong password, or a wrong second-factor code) lock an
account for LOCK_DURATION. The count lives in the account's row, so it holds across app servers
and restarts; the sign-in views also limit each IP address (Flask-Limiter). A locked account is
refused whatever is sent.

The answers must never tell whether an address has an account. An unknown address costs the same
password hash as a known one; its failures are counted as well, in the rate-limit store under a
hash of the address, and after MAX_FAILURES of them it gets the same lock-out message for the
same time. (The store forgets an unknown address's count after UNKNOWN_FAILURE_MEMORY, an account
keeps it until its next success: telling the two apart takes weeks per address.)
"""
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, update
from werkzeug.security import check_password_hash, generate_password_hash

from apoa.audit.services import record
from apoa.auth.models import User
from apoa.auth.services import find_user_by_email, normalise_email
from apoa.extensions import db, limiter

log = logging.getLogger("apoa.auth")

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
UNKNOWN_FAILURE_MEMORY = timedelta(days=30)
_dummy_hash = None


@dataclass(frozen=True)
class Attempt:
    """The result of a password check: the user when it passed; `locked` when sign-in is paused."""

    user: User | None = None
    locked: bool = False


def check_password(email, password):
    """Check an address and password; count a failure. Audits "auth.sign_in_failed" on failure."""
    user = find_user_by_email(email)
    password_ok = _password_matches(user, password)
    if user is None:
        return Attempt(locked=_unknown_address_failure(email))
    if user.is_locked(_now()):
        _audit_failure(f"user:{user.id}", "password", locked=True)
        return Attempt(locked=True)
    if not (password_ok and user.active):
        return Attempt(locked=record_failure(user, "password"))
    return Attempt(user=user)


def _password_matches(user, password):
    # Unknown addresses cost the same scrypt work, so the answer's timing says nothing either.
    global _dummy_hash
    if user is None:
        _dummy_hash = _dummy_hash or generate_password_hash(secrets.token_hex(16), method="scrypt")
        check_password_hash(_dummy_hash, password)
        return False
    return user.check_password(password)


def is_locked(user):
    return user.is_locked(_now())


def record_failure(user, stage):
    """Count a failed attempt of `user` at `stage` ("password" or "second_factor"); lock the account
    on the MAX_FAILURES-th. Returns whether the account is now locked."""
    failures = db.session.execute(
        update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins).execution_options(synchronize_session=False)).scalar_one()
    locked = failures >= MAX_FAILURES
    if locked:
        db.session.execute(update(User).where(User.id == user.id)
                           .values(failed_logins=0, locked_until=_now() + LOCK_DURATION)
                           .execution_options(synchronize_session=False))
    db.session.expire(user, ["failed_logins", "locked_until"])
    _audit_failure(f"user:{user.id}", stage, locked=False)
    if locked:
        record("auth.lockout", f"user:{user.id}", {"minutes": lock_minutes()})
        log.warning("user %s locked for %s minutes after %s failed sign-ins", user.id,
                    lock_minutes(), failures)
    return locked


def record_success(user, method):
    """Reset the failure count and note the sign-in; audits "auth.sign_in" with the method used."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = func.now()
    db.session.flush()
    record("auth.sign_in", f"user:{user.id}", {"method": method}, actor=user)
    log.info("user %s signed in (%s)", user.id, method)


def record_sign_out(user):
    """End every session of `user` on the server (their cookies carry the old version)."""
    user.session_version += 1
    db.session.flush()
    record("auth.sign_out", f"user:{user.id}", None, actor=user)
    log.info("user %s signed out", user.id)


def email_object(email):
    """How the audit log names an address without an account: never the address itself."""
    return "email:" + hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()[:16]


def _audit_failure(obj, stage, locked):
    detail = {"stage": stage}
    if locked:
        detail["locked"] = True
    record("auth.sign_in_failed", obj, detail)
    log.info("failed sign-in for %s at %s", obj, stage)


def _unknown_address_failure(email):
    obj = email_object(email)
    key = hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()
    if _store(lambda s: s.get(f"apoa-signin-lock/{key}"), 0) > 0:
        _audit_failure(obj, "password", locked=True)
        return True
    failures = _store(lambda s: s.incr(f"apoa-signin-failures/{key}",
                                       _seconds(UNKNOWN_FAILURE_MEMORY)), 0)
    locked = failures >= MAX_FAILURES
    if locked:
        _store(lambda s: s.incr(f"apoa-signin-lock/{key}", _seconds(LOCK_DURATION)), 0)
        _store(lambda s: s.clear(f"apoa-signin-failures/{key}"), None)
    _audit_failure(obj, "password", locked=False)
    if locked:
        record("auth.lockout", obj, {"minutes": lock_minutes()})
    return locked


def _store(call, fallback):
    try:
        return call(limiter.storage)
    except Exception:  # noqa: BLE001 - the store is down: accounts still lock in the database
        log.warning("rate-limit store unavailable for counting failed sign-ins", exc_info=True)
        return fallback


def _seconds(delta):
    return int(delta.total_seconds())


def lock_minutes():
    """How long a lock-out lasts, in minutes (for messages)."""
    return _seconds(LOCK_DURATION) // 60


def _now():
    return datetime.now(timezone.utc)
