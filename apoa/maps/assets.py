"""Front-end libraries served by the app itself, from the pinned npm packages installed at set-up.

The machines that run APOA may have no internet, so nothing is loaded from a CDN, and nothing
third-party is copied into the repository: `npm ci` puts the packages in node_modules/.

Compressing Leaflet at brotli's best level takes about a second, which the first visitor of the
map after a deploy (or a cold worker) used to wait for: each worker compresses the files the pages
use in the background as it starts (apoa/core/compression.py keeps the result on disk, so only the
first worker of a deploy does the work).
"""
import logging
import mimetypes
import threading
from pathlib import Path

import click
from flask import Blueprint, abort, send_from_directory

from apoa.config import PROJECT_ROOT
from apoa.core import compression
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
# The packages' files the pages load, compressed at start-up: the maps' first (the officers' map
# waits for them), the API documentation's big bundle last.
MAP_FILES = [
    ("leaflet", "leaflet.js"), ("leaflet", "leaflet.css"),
    ("leaflet.vectorgrid", "Leaflet.VectorGrid.bundled.min.js"),
    ("leaflet.markercluster", "leaflet.markercluster.js"),
    ("leaflet.markercluster", "MarkerCluster.css"),
    ("leaflet.markercluster", "MarkerCluster.Default.css"), ("leaflet.heat", "leaflet-heat.js"),
]
OTHER_PAGE_FILES = [("swagger-ui", "swagger-ui.css"), ("swagger-ui", "swagger-ui-bundle.js")]


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


@bp.record_once
def start_precompressing(state):
    app = state.app
    # Every test builds an app, and so does each `flask` command (a click context), which would
    # exit mid-work: only the servers compress ahead.
    if app.testing or click.get_current_context(silent=True) is not None:
        return
    cache = app.extensions.get("apoa_compression")
    if cache is None:
        return
    paths = files_to_precompress(app)
    threading.Thread(target=precompress_quietly, args=(cache, paths), daemon=True,
                     name="apoa-precompress").start()


def files_to_precompress(app):
    """The maps' package files, the app's own scripts and styles, then the other pages' files."""
    static = sorted(path for path in Path(app.static_folder).rglob("*")
                    if path.is_file() and compressible_name(path.name))
    return ([PACKAGES[package] / name for package, name in MAP_FILES] + static
            + [PACKAGES[package] / name for package, name in OTHER_PAGE_FILES])


def compressible_name(name):
    return mimetypes.guess_type(name)[0] in compression.COMPRESSIBLE


def precompress_quietly(cache, paths):
    """precompress() in the background: a failure costs only the speed-up, so it is logged."""
    try:
        made = compression.precompress(cache, paths)
        log.info("compressed %d static files ahead of their first request", made)
    except Exception:  # noqa: BLE001 - a background thread has nobody to raise to
        log.exception("compressing the static files ahead of time failed")
