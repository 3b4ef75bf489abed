"""Language choice: Bahasa Indonesia by default, English when the user switches to it."""
from flask import current_app, has_request_context, request, session

from apoa.config import LOCALES

LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


def select_locale():
    """The user's explicit choice first (kept in the session), then the configured default.

    The browser's Accept-Language is deliberately not consulted: the service speaks Indonesian
    to everyone unless they ask otherwise.
    """
    chosen = (request.args.get("lang") or session.get("lang")) if has_request_context() else None
    if chosen in LOCALES:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def remember_locale(code):
    if code not in LOCALES:
        return False
    session["lang"] = code
    return True
