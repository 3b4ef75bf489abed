"""Defences of the public form: a signed fill-time stamp, a device cookie for rate limits, and a
check that the rate-limit store is reachable (the submit endpoint fails closed without it)."""
import logging
import secrets
import time

from flask import current_app, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer

from apoa.extensions import limiter

log = logging.getLogger("apoa.reports")

DEVICE_COOKIE = "apoa_device"
DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600
FORM_STAMP_MAX_AGE = 24 * 3600


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="report-form-stamp")


def new_form_stamp():
    """A signed record of when the form was shown; the submission says how long filling took."""
    return _serializer().dumps(time.time())


def filled_too_fast(stamp):
    """True when the form came back sooner than a person can fill it, or the stamp is not ours."""
    try:
        shown_at = _serializer().loads(stamp or "", max_age=FORM_STAMP_MAX_AGE)
    except (BadSignature, TypeError, ValueError):
        return True
    return time.time() - float(shown_at) < current_app.config["MIN_FILL_SECONDS"]


def device_key():
    """Rate-limit key for a browser: its device cookie, or its address before it has one."""
    token = request.cookies.get(DEVICE_COOKIE, "")
    if len(token) == 32 and token.isalnum():
        return f"device:{token}"
    return f"ip:{get_remote_address()}"


def give_device_cookie(response):
    if DEVICE_COOKIE not in request.cookies:
        response.set_cookie(DEVICE_COOKIE, secrets.token_hex(16), max_age=DEVICE_COOKIE_MAX_AGE,
                            httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def rate_limit_store_available():
    """Whether the rate-limit store answers (limits switched off, as for a benchmark: nothing to
    ask)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    try:
        return bool(limiter.storage.check())
    except Exception:  # noqa: BLE001 - any storage failure means "not available"
        log.exception("rate-limit storage check failed")
        return False
