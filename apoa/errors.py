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
    401: (_l("Not signed in"), _l("This needs a valid access token or key.")),
    413: (_l("Too large"), _l("The upload is too large. Please send smaller files.")),
    415: (_l("Unsupported media type"), _l("Send the request as JSON or as a form.")),
    422: (_l("Invalid input"), _l("Some of the values sent are not valid.")),
    429: (_l("Too many requests"),
          _l("You have sent too many requests. Please wait a moment and try again.")),
    500: (_l("Server error"), _l("Something went wrong on our side.")),
    503: (_l("Service unavailable"), _l("The service is temporarily unavailable.")),
}


def wants_json():
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (best == "application/json"
            and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"])


# Answers of the JSON API are RFC 9457 problem details, whatever the client accepts.
PROBLEM_PATHS = ("/api/",)
PROBLEM_MIMETYPE = "application/problem+json"


def wants_problem():
    return request.path.startswith(PROBLEM_PATHS)


def problem_response(status, title, message, errors=None):
    body = {"type": "about:blank", "title": str(title), "status": status, "detail": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MIMETYPE
    return response


def error_response(status, message, errors=None):
    title, default_message = HTTP_MESSAGES.get(status, HTTP_MESSAGES[500])
    message = str(message or default_message)
    if wants_problem():
        return problem_response(status, title, message, errors)
    if wants_json():
        return jsonify(error={"status": status, "title": str(title), "message": message}), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def handle_apoa_error(error):
    db.session.rollback()
    # Per-field messages (apoa/reports/intake.py FieldErrors) go into a problem's "errors".
    return error_response(error.status, error.message, getattr(error, "errors", None))


def handle_http_exception(error):
    db.session.rollback()
    if error.code is None or error.code < 400:
        return error
    # Werkzeug's default descriptions and the limiter's ("10 per 1 minute") are English only;
    # ours are translated. A description given on purpose (abort(400, _("..."))) is kept.
    own_description = error.description != type(error).description and error.code not in (429, 500)
    message = error.description if own_description else None
    # webargs (the API's request parsing) says which fields are wrong in `data["messages"]`.
    errors = (getattr(error, "data", None) or {}).get("messages")
    response = make_response(error_response(error.code, message, errors))
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
