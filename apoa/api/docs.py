"""The API's documentation page, /api/v1/docs: Swagger UI from the app's own copy of
swagger-ui-dist (apoa/maps/assets.py), started by apoa/static/js/api-docs.js against
/api/v1/openapi.json.

flask-smorest's own Swagger UI page is not used: it starts Swagger UI with an inline script, which
the Content Security Policy (apoa/security.py) refuses. This page is not an operation of the API,
so its blueprint adds nothing to the OpenAPI document.
"""
from flask import render_template, url_for
from flask_smorest import Blueprint


class PagesBlueprint(Blueprint):
    """A smorest Blueprint (so that it is registered with the API's) of pages for people, which
    are no operations of the API."""

    def register_views_in_doc(self, api, app, spec, *, name, parameters):
        """Nothing to document."""


bp = PagesBlueprint("api_docs", __name__, url_prefix="",
                    description="This document as a page for people: /api/v1/docs.")


@bp.route("/docs", methods=["GET"])
def page():
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))
