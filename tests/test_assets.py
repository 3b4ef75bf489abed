"""Every front-end asset is served by the app itself: no CDN, nothing copied into the repository."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_leaflet_is_served_from_the_installed_package(client):
    for path in ("/assets/vendor/leaflet/leaflet.js", "/assets/vendor/leaflet/leaflet.css",
                 "/assets/vendor/leaflet/images/marker-icon.png"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        answer.close()


def test_only_listed_packages_and_their_files_are_served(client):
    assert client.get("/assets/vendor/left-pad/index.js").status_code == 404
    assert client.get("/assets/vendor/leaflet/../package.json").status_code == 404
    assert client.get("/assets/vendor/leaflet/..%2F..%2Fpackage.json").status_code == 404


def test_no_page_or_script_points_at_another_host():
    sources = [p for p in (ROOT / "templates").rglob("*.html")] + list((ROOT / "apoa/static").rglob("*.*"))
    for source in sources:
        text = source.read_text(errors="ignore")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), source


def test_the_base_map_outline_is_served_and_cached(client):
    answer = client.get("/peta/dasar.geojson")
    assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
    data = answer.get_json(force=True)
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 38
    assert len(answer.data) < 200 * 1024
    assert "max-age" in answer.headers["Cache-Control"]
    again = client.get("/peta/dasar.geojson", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304
