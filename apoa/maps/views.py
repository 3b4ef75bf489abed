"""Map data: the province outline base map (public, not about reports) and the officers' map data
by bounding box (signed-in staff only; access decided in apoa/maps/clusters.py)."""
from flask import Blueprint, Response, jsonify, request
from flask_login import current_user

from apoa.errors import HTTP_MESSAGES, ApoaError, NotFound
from apoa.extensions import db
from apoa.maps import clusters
from apoa.maps.basemap import province_outlines_geojson

bp = Blueprint("maps", __name__)
ONE_DAY = 24 * 3600


@bp.get("/peta/dasar.geojson")
def basemap():
    response = Response(province_outlines_geojson(), mimetype="application/geo+json")
    response.cache_control.public = True
    response.cache_control.max_age = ONE_DAY
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/peta/data.json")
def map_data():
    """Clusters or points inside `bbox` at `zoom`, optionally narrowed by `state` and `category`.
    Errors answer JSON whatever the Accept header says: the map's script reads them."""
    try:
        user = current_user._get_current_object()
        if not current_user.is_authenticated:
            raise NotFound()
        data = clusters.map_data(user, clusters.parse_bbox(request.args.get("bbox")),
                                 clusters.parse_zoom(request.args.get("zoom")),
                                 clusters.parse_filters(request.args))
        if data is None:
            raise NotFound()
    except ApoaError as error:
        return json_error(error)
    response = jsonify(data)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def json_error(error):
    """The JSON form of apoa.errors' answer, whatever the client's Accept header."""
    db.session.rollback()
    title, _default = HTTP_MESSAGES.get(error.status, HTTP_MESSAGES[500])
    response = jsonify(error={"status": error.status, "title": str(title), "message": str(error.message)})
    response.status_code = error.status
    response.headers["Cache-Control"] = "private, no-store"
    return response
