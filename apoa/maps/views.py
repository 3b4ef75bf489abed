"""Map data that is not about reports, so it may be public: the province outline base map."""
from flask import Blueprint, Response, request

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
