"""Defences of the public form: a signed fill-time stamp, a device cookie, the budgets of requests
each requester may make, and a check that the rate-limit store is reachable (the submit endpoint
fails closed without it).

Many phones in Indonesia share one public address (carrier-grade NAT), so a budget belongs to the
requester first: the signed-in account, else the browser's device cookie. An address only has a
ceiling, high enough for everyone behind a NAT together. Budgets count what they guard against
(an accepted report, a tracking code that finds nothing), never a form that failed validation
or a code that found its report.

The counters live in Flask-Limiter's store (Redis) and use its strategy, but are checked and
spent by the views themselves: only the view knows whether a report was accepted or a code found.
"""
import ipaddress
import logging
import math
import secrets
import time
from dataclasses import dataclass

from flask import abort, current_app, g, request
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse_many

from apoa.extensions import limiter

log = logging.getLogger("apoa.reports")

DEVICE_COOKIE = "apoa_device"
DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600
FORM_STAMP_MAX_AGE = 24 * 3600
# IPv6 gives each subscriber a whole /64: one address ceiling per /64, not per address.
IPV6_SUBSCRIBER_PREFIX = 64
# Keys of these counters in the store: "LIMITER/apoa-budget/<budget>/<requester>/<limit>".
BUDGET_NAMESPACE = "apoa-budget"


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


# --- who is asking -------------------------------------------------------------------------------

def address_key():
    """The requester's network address; for IPv6 the subscriber's /64."""
    raw = get_remote_address() or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return f"address:{raw}"
    if address.version == 6:
        network = ipaddress.ip_network(f"{address}/{IPV6_SUBSCRIBER_PREFIX}", strict=False)
        return f"address:{network}"
    return f"address:{address}"


def device_token():
    token = request.cookies.get(DEVICE_COOKIE, "")
    return token if len(token) == 32 and token.isalnum() else None


def requester_key():
    """Whose budget a request draws on: the signed-in account, else this browser's device cookie,
    else (a browser that keeps no cookies) its address."""
    if current_user.is_authenticated:
        return f"account:{current_user.id}"
    token = device_token()
    return f"device:{token}" if token else address_key()


def give_device_cookie(response):
    if device_token() is None:
        response.set_cookie(DEVICE_COOKIE, secrets.token_hex(16), max_age=DEVICE_COOKIE_MAX_AGE,
                            httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


# --- budgets -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Budget:
    """How many requests of one kind one requester may make: `limits` in Flask-Limiter's notation
    ("10 per hour;30 per day"), counted per `key()` under `name` (endpoints naming the same budget
    share it)."""

    name: str
    limits: str
    key: object

    def items(self):
        return parse_many(self.limits)

    def identifiers(self):
        return (BUDGET_NAMESPACE, self.name, self.key())


# A person reports rarely: ten reports an hour from one phone or account is already far beyond it.
REPORTS_PER_REQUESTER = Budget("reports", "10 per hour;30 per day", requester_key)
# Everyone behind one carrier-grade NAT address together, counting accepted reports only.
REPORTS_PER_ADDRESS = Budget("reports-address", "120 per hour;1000 per day", address_key)
# Tracking codes that find nothing, shared by every address that takes a code (status, follow-up,
# receipt): three addresses must not give three times the guesses.
CODE_MISSES_PER_REQUESTER = Budget("code-misses", "20 per hour", requester_key)
CODE_MISSES_PER_ADDRESS = Budget("code-misses-address", "200 per hour", address_key)
FOLLOW_UPS_PER_REQUESTER = Budget("follow-ups", "10 per hour", requester_key)
FOLLOW_UPS_PER_ADDRESS = Budget("follow-ups-address", "120 per hour", address_key)

REPORT_BUDGETS = (REPORTS_PER_REQUESTER, REPORTS_PER_ADDRESS)
CODE_MISS_BUDGETS = (CODE_MISSES_PER_REQUESTER, CODE_MISSES_PER_ADDRESS)
FOLLOW_UP_BUDGETS = (FOLLOW_UPS_PER_REQUESTER, FOLLOW_UPS_PER_ADDRESS)


def budgets_enabled():
    # Switched off only for benchmarks (production refuses it): nothing to count, no store to ask.
    return current_app.config.get("RATELIMIT_ENABLED", True)


def budgets_counted():
    """Whether requests are counted against the budgets: not with limits off, nor in an app whose
    every request a benchmark exempts (bench/_common.exempt_from_limits: all its clients are
    127.0.0.1); there the store is still asked whether it answers. No setting reaches this."""
    return budgets_enabled() and not current_app.config.get("EXEMPT_ALL_BUDGETS", False)


def exhausted_until(budgets):
    """When the last of the exhausted limits among `budgets` resets (a Unix time), or None if
    every one still has room. All are asked, so the wait told is the true one even when an hourly
    and a daily limit are both used up."""
    if not budgets_counted():
        return None
    strategy = limiter.limiter
    resets = []
    for budget in budgets:
        identifiers = budget.identifiers()
        for item in budget.items():
            if not strategy.test(item, *identifiers):
                resets.append(strategy.get_window_stats(item, *identifiers).reset_time)
    return max(resets) if resets else None


def refuse_when_exhausted(budgets, fail_closed=False):
    """Answer 429, saying how long to wait, when any limit of `budgets` is used up. If the store
    fails: 503 when `fail_closed`, else the request goes on (logged)."""
    try:
        reset_at = exhausted_until(budgets)
    except Exception:  # noqa: BLE001 - any store failure
        log.exception("rate-limit store failed while checking %s", _names(budgets))
        if fail_closed:
            abort(503)
        return
    if reset_at is not None:
        _refuse(budgets, reset_at)


def spend(budgets):
    """Count one request against every limit of `budgets`. A store failure is logged only: what
    was counted has already happened (a report accepted must not become a 500)."""
    if not budgets_counted():
        return
    strategy = limiter.limiter
    try:
        for budget in budgets:
            identifiers = budget.identifiers()
            for item in budget.items():
                strategy.hit(item, *identifiers)
    except Exception:  # noqa: BLE001 - any store failure
        log.exception("rate-limit store failed while counting %s", _names(budgets))


def refuse_or_spend(budgets):
    """For requests that are themselves what a budget counts (a code that finds nothing): 429 when
    the budget is used up, else count this one."""
    refuse_when_exhausted(budgets)
    spend(budgets)


def _refuse(budgets, reset_at):
    g.rate_limit_reset_at = reset_at
    log.info("rate limit reached: %s", _names(budgets))
    abort(429)


def _names(budgets):
    return ", ".join(budget.name for budget in budgets)


# --- how long to wait ----------------------------------------------------------------------------

def seconds_to_wait():
    """Seconds until this request's exhausted limit resets (rounded up), or None if unknown: from
    our budgets, else from the Flask-Limiter limit the request broke."""
    reset_at = g.get("rate_limit_reset_at")
    if reset_at is None:
        breached = limiter.current_limit
        reset_at = breached.reset_at if breached is not None and breached.breached else None
    if reset_at is None:
        return None
    return max(1, math.ceil(reset_at - time.time()))


def wait_text(seconds):
    """A wait in words, rounded up so that trying again after it always works: "42 minutes"."""
    if seconds < 60:
        return ngettext("%(num)d second", "%(num)d seconds", seconds)
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    hours = math.ceil(seconds / 3600)
    return ngettext("%(num)d hour", "%(num)d hours", hours)


def rate_limit_wait():
    """For the 429 page: the wait in words, or None when it is not known."""
    seconds = seconds_to_wait()
    return wait_text(seconds) if seconds is not None else None


def add_retry_after(response):
    """A 429 of our budgets says in Retry-After how long to wait (Flask-Limiter's own limits
    already do)."""
    if response.status_code == 429 and "Retry-After" not in response.headers:
        seconds = seconds_to_wait()
        if seconds is not None:
            response.headers["Retry-After"] = str(seconds)
    return response


def init_app(app):
    app.after_request(add_retry_after)
    app.jinja_env.globals["rate_limit_wait"] = rate_limit_wait


def rate_limit_store_available():
    """Whether the rate-limit store answers (limits switched off, as for a benchmark: nothing to
    ask)."""
    if not budgets_enabled():
        return True
    try:
        return bool(limiter.storage.check())
    except Exception:  # noqa: BLE001 - any storage failure means "not available"
        log.exception("rate-limit storage check failed")
        return False

