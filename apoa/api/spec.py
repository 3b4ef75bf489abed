"""The JSON API's frame: flask-smorest builds the OpenAPI 3.1 document from the views' marshmallow
schemas and serves it at /api/v1/openapi.json, with Swagger UI at /api/v1/docs from the app's own
copy of swagger-ui-dist (npm), never a CDN.

Why flask-smorest: it runs on the plain Flask app we have (APIFlask wants its own app class), its
schemas are marshmallow's, which validate on the way in and serialise on the way out from one
definition, and it is maintained (marshmallow-code). Its own error handlers are not used: every
error of the app, the API's included, goes through apoa/errors.py, which answers the API with
application/problem+json and a translated title.

Blueprints of the API (apoa/api/public.py, apoa/api/staff.py) are smorest Blueprints registered
through `api.register_blueprint`, under /api/v1.
"""
from flask_smorest import Api as SmorestApi

API_PREFIX = "/api/v1"


class Api(SmorestApi):
    # Errors are problem+json (apoa/errors.py), declared by each operation; smorest's own
    # "default" error response would describe another shape.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        """apoa/errors.py answers every error, as problem+json under /api/."""


api = Api()

SETTINGS = {
    "API_TITLE": "APOA",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": API_PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
}


def init_app(app):
    for name, value in SETTINGS.items():
        app.config.setdefault(name, value)
    api.init_app(app, spec_kwargs={"info": {"description": DESCRIPTION}})
    for blueprint in api_blueprints():
        api.register_blueprint(blueprint, url_prefix=API_PREFIX + blueprint.url_prefix)


def api_blueprints():
    """The API's blueprints, each with its own url_prefix below /api/v1 (added as they are
    built)."""
    from apoa.api import docs, public, staff

    return (public.bp, docs.bp, staff.staff_api)


DESCRIPTION = ("Report foreign nationals to the immigration office, follow a report by its "
               "tracking code, and (for staff, with a personal access token) work the queue. "
               "Errors are application/problem+json.")
