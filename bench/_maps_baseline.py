"""The baseline of the maps benchmark: a folium MarkerCluster page holding every point.

`python bench/_maps_baseline.py DATABASE_URL POINTS OUT.html` writes the page: POINTS report
locations (all of them, or every k-th report by id), one folium Marker each in a
folium.plugins.MarkerCluster on the app's own folium map (apoa.maps.page.new_map), with every asset
swapped for the copy the app serves (apoa.maps.page._use_local_assets: /assets/vendor/..., never a
CDN), rendered as folium's own standalone HTML document. It runs as a separate process because
folium holds every marker as a Python object while rendering (about 6 KB each): the memory goes
back to the system when the process ends.
"""
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTRY_CENTRE = (-2.5, 118.0)   # lat, lon
COUNTRY_ZOOM = 5


def report_points(db_url, count):
    """[lat, lon] of `count` reports: every k-th by id, k = reports // count."""
    import psycopg2

    with psycopg2.connect(db_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM report")
        step = max(1, cursor.fetchone()[0] // count)
        cursor.execute("SELECT ST_Y(location), ST_X(location) FROM report WHERE id %% %s = 0 ORDER BY id LIMIT %s",
                       (step, count))
        points = [[lat, lon] for lat, lon in cursor.fetchall()]
    conn.close()
    return points


def write_page(db_url, count, out):
    sys.path.insert(0, str(ROOT))
    from folium.plugins import MarkerCluster

    from apoa import create_app
    from apoa.maps.page import _use_local_assets, new_map

    points = report_points(db_url, count)
    app = create_app()
    with app.test_request_context():
        start = time.perf_counter()
        fmap = new_map(list(COUNTRY_CENTRE), COUNTRY_ZOOM)
        # new_map hands its zoom limits to folium, which only gives them to a tile layer; with no
        # tiles configured the Leaflet map has no maxZoom, and MarkerCluster refuses to start
        # ("Map has no maxZoom specified"). The page gets them on the map itself.
        fmap.options.setdefault("min_zoom", 4)
        fmap.options.setdefault("max_zoom", 19)
        MarkerCluster(locations=points).add_to(fmap)
        _use_local_assets(fmap)
        html = fmap.get_root().render()
        seconds = time.perf_counter() - start
    partial = Path(f"{out}.partial")
    partial.write_text(html)
    partial.rename(out)
    print(f"{len(points)} {len(html.encode())} {seconds:.1f}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    os.environ.setdefault("APOA_LOG_LEVEL", "WARNING")
    write_page(sys.argv[1], int(sys.argv[2]), sys.argv[3])
