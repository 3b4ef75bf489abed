"""Language choice: Bahasa Indonesia by default, English when the user switches to it."""
from flask import current_app, has_request_context, request, session

from apoa.config import LOCALES

LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


# Programs call the JSON API; they say their language in Accept-Language, having no session.
ACCEPT_LANGUAGE_PATHS = ("/api/",)


def select_locale():
    """The user's explicit choice first (?lang=, or kept in the session), then the configured
    default.

    The browser's Accept-Language is deliberately not consulted for pages: the service speaks
    Indonesian to everyone unless they ask otherwise. The JSON API follows it after ?lang=.
    """
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.args.get("lang") in LOCALES:
        return request.args["lang"]
    if request.path.startswith(ACCEPT_LANGUAGE_PATHS):
        accepted = request.accept_languages.best_match(LOCALES)
        if accepted:
            return accepted
    if session.get("lang") in LOCALES:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def remember_locale(code):
    if code not in LOCALES:
        return False
    session["lang"] = code
    return True
