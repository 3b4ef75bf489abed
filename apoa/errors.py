"""The application's error hierarchy and the one handler that answers every error.

Each error rolls the database session back, then answers JSON when the client asked for it
(Accept: application/json) and a translated HTML page otherwise.
"""
import logging

from flask import jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from apoa.extensions import db

log = logging.getLogger("apoa.errors")


class ApoaError(Exception):
    """Base of the errors the application raises on purpose; carries a status and a user message."""

    status = 500
    default_message = _l("Something went wrong on our side.")

    def __init__(self, message=None):
        super().__init__(str(message or self.default_message))
        self.message = message or self.default_message


class UserValueError(ApoaError):
    """Bad input from the user; the message says what to change."""

    status = 400
    default_message = _l("The request could not be understood.")


class NotAllowed(ApoaError):
    status = 403
    default_message = _l("You are not allowed to do this.")


class NotFound(ApoaError):
    status = 404
    default_message = _l("The page you asked for does not exist.")


class Conflict(ApoaError):
    status = 409
    default_message = _l("This action does not fit the current state.")


# Titles and explanations for HTTP errors raised by Flask and its extensions.
HTTP_MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("You are not allowed to do this.")),
    404: (_l("Not found"), _l("The page you asked for does not exist.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Conflict"), _l("This action does not fit the current state.")),
    413: (_l("Too large"), _l("The upload is too large. Please send smaller files.")),
    429: (_l("Too many requests"),
          _l("You have sent too many requests. Please wait a moment and try again.")),
    500: (_l("Server error"), _l("Something went wrong on our side.")),
    503: (_l("Service unavailable"), _l("The service is temporarily unavailable.")),
}


def wants_json():
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (best == "application/json"
            and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"])


def error_response(status, message):
    title, default_message = HTTP_MESSAGES.get(status, HTTP_MESSAGES[500])
    message = str(message or default_message)
    if wants_json():
        return jsonify(error={"status": status, "title": str(title), "message": message}), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def handle_apoa_error(error):
    db.session.rollback()
    return error_response(error.status, error.message)


def handle_http_exception(error):
    db.session.rollback()
    if error.code is None or error.code < 400:
        return error
    # Werkzeug's default descriptions and the limiter's ("10 per 1 minute") are English only;
    # ours are translated. A description given on purpose (abort(400, _("..."))) is kept.
    own_description = error.description != type(error).description and error.code not in (429, 500)
    message = error.description if own_description else None
    response = make_response(error_response(error.code, message))
    if error.code == 405 and getattr(error, "valid_methods", None):
        # HTTP requires a 405 to say which methods the address does accept.
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_unexpected(error):
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, None)


def register_error_handlers(app):
    app.register_error_handler(ApoaError, handle_apoa_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(Exception, handle_unexpected)
