"""Map pages and their data: the province outline base map (public, not about reports), region
outlines by bounding box (public), and the officers' map with its data by bounding box (signed-in
staff only; access decided in apoa/maps/clusters.py and apoa/auth/permissions.py)."""
import json
import threading
import time

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from markupsafe import Markup
from sqlalchemy import select

from apoa.auth.guards import actor
from apoa.auth.permissions import Permission, can
from apoa.core.replica import reads_from_replica
from apoa.errors import HTTP_MESSAGES, ApoaError, NotFound, UserValueError
from apoa.extensions import db, login_manager
from apoa.maps import clusters, page, point_tiles
from apoa.maps.basemap import outlines_geojson, province_outlines_geojson
from apoa.maps.hotspots import hotspots
from apoa.maps.viewport import initial_view
from apoa.reports.models import Category
from apoa.reports.officer_forms import QueueFilterForm
from apoa.reports.queries import QueueFilters
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
@reads_from_replica
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
    page.Behaviour("officer", map_options(user, view),
                   ["map-common.js", "officer-map.js"]).add_to(fmap)
    return render_template("maps/officer.html", parts=page.render(fmap), form=form,
                           filters_html=filters_html(form, user, valid),
                           hotspots=hotspots(user), heat_days=clusters.HEAT_DAYS,
                           points_allowed=can(user, Permission.view_report)), 200 if valid else 400


# The filter form's HTML by what it shows (a Ditjen officer's lists hold ~520 options, and
# WTForms took ~60 ms to write them on every page view); the form's lists are still read each
# time, and they are part of the key, so a new category or region shows at once.
_FILTERS_HTML = {}
_FILTERS_HTML_KEPT = 64


def filters_html(form, user, valid):
    if not valid:
        return render_filters(form)   # errors beside the fields: written for this request only
    key = (str(get_locale()), can(user, Permission.view_report), filters_open(),
           tuple((field.name, repr(field.data), _choices_key(field)) for field in form))
    html = _FILTERS_HTML.get(key)
    if html is None:
        html = render_filters(form)
        keep(_FILTERS_HTML, key, html, _FILTERS_HTML_KEPT)
    return html


_KEEPING = threading.Lock()


def keep(kept, key, value, most):
    """kept[key] = value, the oldest entry forgotten past `most` (threads share these dicts)."""
    with _KEEPING:
        if len(kept) >= most:
            kept.pop(next(iter(kept)))
        kept[key] = value


def _choices_key(field):
    if not hasattr(field, "iter_choices"):
        return ()
    return tuple((str(choice[0]), str(choice[1])) for choice in field.iter_choices())


def render_filters(form):
    return Markup(render_template(
        "reports/_queue_filters.html", form=form, filters_action=url_for("maps.officer_map"),
        filters_open=filters_open()))


def filters_open():
    return any(request.args.get(name) for name in FILTER_FIELDS)


def map_options(user, view):
    """What officer-map.js needs: where to load data, the filters, colours, category names (for
    the popups) and every text it shows, translated here (the script holds no words)."""
    filters = {name: value for name, value in request.args.items(multi=True)
               if name in FILTER_FIELDS and value}
    may_view_reports = can(user, Permission.view_report)
    return {
        "dataUrl": url_for(".map_data"), "outlinesUrl": url_for(".outlines"), "filters": filters,
        "tileUrl": point_tile_template() if may_view_reports else None,
        "initial": initial_data(user, view),
        "heatScript": url_for("assets.vendor", package="leaflet.heat", filename="leaflet-heat.js"),
        "serverMinute": int(time.time() // 60),
        "fitBounds": view.fit_bounds, "locale": str(get_locale()),
        "pointsZoom": clusters.POINTS_ZOOM if may_view_reports else None,
        "states": {state.value: {"label": str(state.title), "colour": STATE_COLOURS[state]}
                   for state in State},
        "categories": category_names() if may_view_reports else {},
        "labels": map_labels(),
    }


# The opening view's clusters come with the page for a window up to this many pixels wide and
# high (the script's 10% margin included); a bigger window asks the server as it moves.
INITIAL_HALF_WIDTH_PX = 1600
INITIAL_HALF_HEIGHT_PX = 1000


def initial_data(user, view):
    """The clusters of the opening view, in the page, so the map is drawn without waiting for a
    request of its own: {bbox, zoom, answer}, or None where the server does not know the zoom
    (the script fits the jurisdiction to the window) or the view shows more than clusters."""
    if view.fit_bounds is not None or view.zoom > clusters.GRID_ZOOM:
        return None
    try:
        filters = map_filters(user, request.args)
    except ApoaError:
        return None
    degrees = 360 / 256 / 2 ** view.zoom
    lat, lon = view.centre
    bbox = clusters.BBox(max(-180.0, lon - INITIAL_HALF_WIDTH_PX * degrees),
                         max(-85.0, lat - INITIAL_HALF_HEIGHT_PX * degrees),
                         min(180.0, lon + INITIAL_HALF_WIDTH_PX * degrees),
                         min(85.0, lat + INITIAL_HALF_HEIGHT_PX * degrees))
    answer = clusters.map_data(user, bbox, view.zoom, filters)
    if answer is None:
        return None
    return {"bbox": [bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat], "zoom": view.zoom,
            "answer": answer}


def point_tile_template():
    """Leaflet's URL template of the street-zoom tiles: "/peta/titik/{z}/{x}/{y}.json"."""
    return url_for(".point_tile", z=0, x=0, y=0).replace("/0/0/0.json", "/{z}/{x}/{y}.json")


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
@reads_from_replica
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
                                 map_filters(user, request.args),
                                 heat=request.args.get("layer") == "heat")
        if data is None:
            raise NotFound()
    except ApoaError as error:
        return json_error(error)
    response = jsonify(data)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/peta/titik/<int:z>/<int:x>/<int:y>.json")
@reads_from_replica
def point_tile(z, x, y):
    """The reports of map tile z/x/y at street zoom, narrowed by the queue's filters, for who may
    view reports (apoa/maps/point_tiles.py); rows built by PostgreSQL, revalidated by ETag."""
    try:
        user = actor()
        if not can(user, Permission.view_report) or not point_tiles.tile_exists(z, x, y):
            raise NotFound()
        filters = map_filters(user, request.args)
        rows, truncated = point_tiles.tile_rows_json(user, z, x, y, filters)
    except ApoaError as error:
        return json_error(error)
    head = json.dumps({"kind": "points", "columns": point_tiles.TILE_COLUMNS,
                       "url": url_for("officer.report_page", report_id=0).removesuffix("0"),
                       "truncated": truncated}, separators=(",", ":"))
    response = Response(f'{head[:-1]},"rows":{rows}}}', mimetype="application/json")
    # Like every signed-in answer (apoa/security.py), stored by no cache; the map's script keeps
    # the tiles it has for the page's life and asks again with If-None-Match: 304, no rows.
    response.headers["Cache-Control"] = "private, no-store"
    response.vary.add("Cookie")
    response.add_etag()
    return response.make_conditional(request)


# Filters parsed for the map's data requests, by user and filter values, for a minute: a view
# asks for a few dozen tiles, and building the filter form (the lists of categories and of the
# jurisdiction's kabupaten, to check a chosen one) cost more than a tile's query. The filters
# only ever narrow what visible() allows, so one a minute stale shows nothing more.
_PARSED_FILTERS = {}
_PARSED_FILTERS_KEPT = 256
PARSED_FILTERS_SECONDS = 60


def map_filters(user, args):
    """filters_from(), without building the form when no filter is given, and kept a minute."""
    given = tuple(sorted((name, value) for name, value in args.items(multi=True)
                         if name in FILTER_FIELDS and value))
    if not given:
        return QueueFilters()
    key = (user.get_id(), given)
    kept = _PARSED_FILTERS.get(key)
    if kept and kept[0] > time.monotonic():
        return kept[1]
    filters = filters_from(user, args)   # a bad filter raises: errors are never kept
    keep(_PARSED_FILTERS, key, (time.monotonic() + PARSED_FILTERS_SECONDS, filters),
         _PARSED_FILTERS_KEPT)
    return filters


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
