"""Map pages and their data: the province outline base map (public, not about reports), region
outlines by bounding box (public), and the officers' map with its data by bounding box (signed-in
staff only; access decided in apoa/maps/clusters.py and apoa/auth/permissions.py)."""
from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from sqlalchemy import select

from apoa.auth.guards import actor
from apoa.auth.permissions import Permission, can
from apoa.errors import HTTP_MESSAGES, ApoaError, NotFound, UserValueError
from apoa.extensions import db, login_manager
from apoa.maps import clusters, page
from apoa.maps.basemap import outlines_geojson, province_outlines_geojson
from apoa.maps.hotspots import hotspots
from apoa.maps.viewport import initial_view
from apoa.reports.models import Category
from apoa.reports.officer_forms import QueueFilterForm
from apoa.reports.states import State

bp = Blueprint("maps", __name__)
ONE_DAY = 24 * 3600
# The queue's filters the map passes on to its data requests (the map's own view is not a filter).
FILTER_FIELDS = ("state", "category", "kabupaten", "kecamatan", "received_from", "received_to",
                 "overdue", "mine")
STATE_COLOURS = {
    State.new: "#1d4ed8", State.screening: "#7c3aed", State.assigned: "#b45309",
    State.in_field: "#c2410c", State.pending_approval: "#0f766e", State.closed: "#4b5563",
}


@bp.get("/peta/dasar.geojson")
def basemap():
    return cached_geojson(province_outlines_geojson())


@bp.get("/peta/batas.geojson")
def outlines():
    """Region outlines touching `bbox`, of the level shown at `zoom` (public data: no reports)."""
    try:
        bbox = clusters.parse_bbox(request.args.get("bbox"))
        zoom = clusters.parse_zoom(request.args.get("zoom"))
    except ApoaError as error:
        return json_error(error)
    return cached_geojson(outlines_geojson(bbox, zoom))


def cached_geojson(body):
    response = Response(body, mimetype="application/geo+json")
    response.cache_control.public = True
    response.cache_control.max_age = ONE_DAY
    response.add_etag()
    return response.make_conditional(request)


def may_use_map(user):
    return can(user, Permission.view_report) or can(user, Permission.view_aggregates)


@bp.get("/peta")
def officer_map():
    """The officers' map, built with folium: the queue's filters, clusters zoomed out, reports
    zoomed in, a heat layer and the hotspot list. Regional heads get the cells only."""
    user = actor()
    if not user.is_authenticated:
        return login_manager.unauthorized()
    if not may_use_map(user):
        raise NotFound()
    form = QueueFilterForm(user, formdata=request.args)
    valid = form.validate()
    view = initial_view(user, request.args)
    fmap = page.new_map(view.centre, view.zoom)
    page.Behaviour("officer", map_options(user, view), ["map-common.js", "officer-map.js"],
                   vendor=["leaflet-heat.js"]).add_to(fmap)
    return render_template("maps/officer.html", parts=page.render(fmap), form=form,
                           hotspots=hotspots(user), heat_days=clusters.HEAT_DAYS,
                           filtering=any(request.args.get(name) for name in FILTER_FIELDS),
                           points_allowed=can(user, Permission.view_report)), 200 if valid else 400


def map_options(user, view):
    """What officer-map.js needs: where to load data, the filters, colours, category names (for
    the popups) and every text it shows, translated here (the script holds no words)."""
    filters = {name: value for name, value in request.args.items(multi=True)
               if name in FILTER_FIELDS and value}
    may_view_reports = can(user, Permission.view_report)
    return {
        "dataUrl": url_for(".map_data"), "outlinesUrl": url_for(".outlines"), "filters": filters,
        "fitBounds": view.fit_bounds, "locale": str(get_locale()),
        "pointsZoom": clusters.POINTS_ZOOM if may_view_reports else None,
        "states": {state.value: {"label": str(state.title), "colour": STATE_COLOURS[state]}
                   for state in State},
        "categories": category_names() if may_view_reports else {},
        "labels": map_labels(),
    }


def category_names():
    """{category id: name in the user's language}, inactive categories too (old reports)."""
    locale = get_locale()
    return {category.id: category.name_for(locale)
            for category in db.session.scalars(select(Category).order_by(Category.id))}


def map_labels():
    return {
        "reports": _("Reports"), "openReport": _("Open the report"),
        "zoomIn": _("Zoom in to see the reports themselves."),
        "heat": _("Heat map (last %(days)d days)", days=clusters.HEAT_DAYS),
        "clusters": _("Reports"), "loading": _("Loading…"),
        # %(age)s: "3 days ago", written by the browser (Intl.RelativeTimeFormat).
        "received": _("Received %(age)s"),
        "failed": _("The map data could not be loaded. Check the connection; the map tries "
                    "again when you move it."),
        "failedBecause": _("The map data could not be loaded: %(reason)s"),
        "truncated": _("Only part of the reports is shown here: "
                       "zoom in or narrow the filters."),
        "shown": _("Reports in this view: %(n)s"), "none": _("No reports in this view."),
    }


@bp.get("/peta/data.json")
def map_data():
    """Clusters or points inside `bbox` at `zoom`, narrowed by the queue's filters; `layer=heat`
    gives the heat map's cells. Errors answer JSON whatever the Accept header says: the map's
    script reads them."""
    try:
        user = actor()
        if not may_use_map(user):
            raise NotFound()
        data = clusters.map_data(user, clusters.parse_bbox(request.args.get("bbox")),
                                 clusters.parse_zoom(request.args.get("zoom")),
                                 filters_from(user, request.args),
                                 heat=request.args.get("layer") == "heat")
        if data is None:
            raise NotFound()
    except ApoaError as error:
        return json_error(error)
    response = jsonify(data)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def filters_from(user, args):
    """The queue's filters from the request, or UserValueError naming the first bad one."""
    form = QueueFilterForm(user, formdata=args)
    if form.validate():
        return form.filters()
    name, errors = next(iter(form.errors.items()))
    raise UserValueError(f"{form[name].label.text}: {errors[0]}")


def json_error(error):
    """The JSON form of apoa.errors' answer, whatever the client's Accept header."""
    db.session.rollback()
    title, _default = HTTP_MESSAGES.get(error.status, HTTP_MESSAGES[500])
    response = jsonify(error={"status": error.status, "title": str(title),
                              "message": str(error.message)})
    response.status_code = error.status
    response.headers["Cache-Control"] = "private, no-store"
    return response
