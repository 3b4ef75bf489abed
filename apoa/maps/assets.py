"""Front-end libraries served by the app itself, from the pinned npm packages installed at set-up.

The machines that run APOA may have no internet, so nothing is loaded from a CDN, and nothing
third-party is copied into the repository: `npm ci` puts the packages in node_modules/.
"""
import logging

from flask import Blueprint, abort, send_from_directory

from apoa.config import PROJECT_ROOT
from apoa.core.caching import ONE_WEEK

bp = Blueprint("assets", __name__, url_prefix="/assets")
log = logging.getLogger("apoa.maps")

NODE_MODULES = PROJECT_ROOT / "node_modules"
# Package → the folder of its distributable files. Only these are served.
PACKAGES = {
    "leaflet": NODE_MODULES / "leaflet" / "dist",
    "leaflet.markercluster": NODE_MODULES / "leaflet.markercluster" / "dist",
    "leaflet.heat": NODE_MODULES / "leaflet.heat" / "dist",
    "leaflet.vectorgrid": NODE_MODULES / "leaflet.vectorgrid" / "dist",
    # The API's documentation page (apoa/api/spec.py).
    "swagger-ui": NODE_MODULES / "swagger-ui-dist",
}


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package, filename):
    folder = PACKAGES.get(package)
    if folder is None:
        abort(404)
    if not folder.is_dir():
        log.error("front-end package %s is not installed: run `make run` (npm ci)", package)
        abort(404)
    # Versions are pinned in package-lock.json, so a file's content changes only with an upgrade;
    # the URL names no version, so a week (then a revalidation by ETag) lets an upgrade arrive.
    # send_file marks the answer public: no session cookie, no `Vary: Cookie` (core/caching.py).
    return send_from_directory(folder, filename, max_age=ONE_WEEK)
