"""Map pages built with folium, with every script and stylesheet served by the app.

folium writes a Leaflet map as a figure: links in its header, the map's <div>, and one script.
A page here takes those three parts into the site's own template (navigation, filters, the
Content-Security-Policy nonce on the script) instead of folium's standalone HTML document.

folium's elements name their assets with CDN addresses. Before rendering, each asset an element
declares is swapped for the copy the app serves from the pinned npm packages (apoa/maps/assets.py);
an asset with no local copy stops the page with an error rather than reaching for the internet.
folium's Map also brings jQuery, Bootstrap and Font Awesome for its own widgets, which these maps
do not use: they are dropped.
"""
import json
from dataclasses import dataclass

import folium
from branca.element import CssLink, JavascriptLink
from flask import current_app, url_for
from folium.elements import JSCSSMixin
from jinja2 import Template
from markupsafe import Markup

# folium's name for an asset → (npm package, file in its dist folder).
VENDOR_ASSETS = {
    "leaflet": ("leaflet", "leaflet.js"),
    "leaflet_css": ("leaflet", "leaflet.css"),
    "markerclusterjs": ("leaflet.markercluster", "leaflet.markercluster.js"),
    "markerclustercss": ("leaflet.markercluster", "MarkerCluster.css"),
    "markerclusterdefaultcss": ("leaflet.markercluster", "MarkerCluster.Default.css"),
    "leaflet-heat.js": ("leaflet.heat", "leaflet-heat.js"),
}
# Assets of folium's own widgets (icons, layer-control styling) that these maps never use.
UNUSED_ASSETS = {"jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
                 "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css"}


class MissingLocalAsset(RuntimeError):
    """An element declares an asset the app does not serve: the page would need the internet."""


@dataclass(frozen=True)
class MapParts:
    """What a template needs to place a folium map: asset URLs, the map's <div>, its script."""

    scripts: list
    stylesheets: list
    html: Markup
    script: Markup


def new_map(center, zoom, min_zoom=4, max_zoom=19):
    """A folium map of Indonesia with the configured tiles, or none (the pages then draw region
    outlines from PostGIS as the base map)."""
    fmap = folium.Map(location=center, zoom_start=zoom, tiles=None, control_scale=True,
                      prefer_canvas=True, min_zoom=min_zoom, max_zoom=max_zoom)
    # folium hands the zoom limits to the tile layer only: without tiles the map itself would
    # zoom past what the data endpoints accept.
    fmap.options.update(min_zoom=min_zoom, max_zoom=max_zoom)
    tile_url = current_app.config["TILE_URL"]
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=current_app.config["TILE_ATTRIBUTION"],
                         max_zoom=max_zoom, name="tiles").add_to(fmap)
    return fmap


class Behaviour(JSCSSMixin):
    """Hands the folium map to one of the app's own scripts, which loads the data by bounding box
    as the user pans and zooms: `ApoaMaps[name](map, options)`.

    `options` are passed as JSON (strings such as translated labels included); `<` is escaped so
    nothing in them can close the script element.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.ApoaMaps.{{ this.behaviour }}(
            {{- this._parent.get_name() }}, {{ this.options_json }});
        {% endmacro %}
    """)

    def __init__(self, behaviour, options, scripts, vendor=()):
        super().__init__()
        self._name = "ApoaBehaviour"
        self.behaviour = behaviour
        self.options_json = json.dumps(options, ensure_ascii=False).replace("<", "\\u003c")
        # Vendor scripts by their VENDOR_ASSETS name (swapped for local URLs at render), then the
        # app's own, in order.
        self.default_js = [(name, name) for name in vendor] + [
            (f"apoa-{name}", url_for("static", filename=f"js/{name}")) for name in scripts]
        self.default_css = []


def render(fmap):
    """Render `fmap` into MapParts, every asset served by the app (MissingLocalAsset otherwise)."""
    _use_local_assets(fmap)
    figure = fmap.get_root()
    figure.render()
    scripts, stylesheets = [], []
    for child in figure.header._children.values():
        if isinstance(child, JavascriptLink):
            scripts.append(_local_url(child.url))
        elif isinstance(child, CssLink):
            stylesheets.append(_local_url(child.url))
    return MapParts(scripts=scripts, stylesheets=stylesheets,
                    html=Markup(figure.html.render()), script=Markup(figure.script.render()))


def _use_local_assets(element):
    if isinstance(element, JSCSSMixin):
        element.default_js = _localised(element.default_js)
        element.default_css = _localised(element.default_css)
    for child in element._children.values():
        _use_local_assets(child)


def _localised(assets):
    local = []
    for name, url in assets:
        if name in UNUSED_ASSETS:
            continue
        if name in VENDOR_ASSETS:
            package, filename = VENDOR_ASSETS[name]
            url = url_for("assets.vendor", package=package, filename=filename)
        local.append((name, url))
    return local


def _local_url(url):
    if not url.startswith("/"):
        raise MissingLocalAsset(f"the map needs {url}, which the app does not serve")
    return url

