"""The report form as an installable web app: the service worker at /sw.js and the web app
manifest, both at the site's root.

The worker must be served from the root to control /lapor (a worker's scope cannot reach above
its own address without `Service-Worker-Allowed`, which says so explicitly here). Browsers check
a worker for updates on every visit, but they still honour HTTP caching for it: `no-cache` makes
each check reach the server, so a deploy reaches phones on their next visit. The worker is the
same for everyone; the manifest is in the reader's language.
"""
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import get_locale, gettext as _

bp = Blueprint("offline", __name__)

WORKER_FILE = "js/sw.js"
MANIFEST_TYPE = "application/manifest+json"
THEME_COLOUR = "#0b4f8a"  # the stylesheet's --brand


@bp.get("/sw.js")
def service_worker():
    # Read whole (it is small): a browser that drops the connection while comparing the worker
    # with its copy would otherwise leave an open file behind.
    source = (Path(current_app.static_folder) / WORKER_FILE).read_bytes()
    response = Response(source, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.cache_control.public = True  # nobody's session: saved without the cookie
    response.cache_control.no_cache = True
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/manifest.webmanifest")
def manifest():
    # In the reader's language (kept in the session): not public, unlike the worker.
    response = Response(json.dumps(manifest_members(), ensure_ascii=False), mimetype=MANIFEST_TYPE)
    response.cache_control.no_cache = True
    return response


def manifest_members():
    """The members a browser needs to offer "Add to home screen" for the report form."""
    return {
        "name": _("APOA — Report a foreigner"),
        "short_name": "APOA",
        "description": _("Report foreign nationals to the immigration office, also without a "
                         "connection: the report is sent when the signal returns."),
        "lang": str(get_locale()),
        "start_url": url_for("public.new_report"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": [{"src": url_for("static", filename="img/apoa-icon.svg"),
                   "sizes": "any", "type": "image/svg+xml", "purpose": "any"}],
    }
