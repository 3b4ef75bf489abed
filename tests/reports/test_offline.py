"""The report form as an installable web app (apoa/reports/offline.py): the service worker's
address and headers, the manifest's members, and the form page offering both."""
import json

import pytest


@pytest.fixture
def offline_client(client):
    return client


def worker_source(client):
    with client.get("/sw.js") as response:
        return response, response.get_data(as_text=True)


def test_service_worker_is_served_from_the_root_for_the_whole_site(offline_client):
    response, source = worker_source(offline_client)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    assert 'addEventListener("fetch"' in source


def test_service_worker_never_keeps_api_staff_or_status_pages(offline_client):
    _response, source = worker_source(offline_client)
    kept = source.split("var KEPT_FILES = ", 1)[1].split(";", 1)[0]
    for private in ("/api", "/status", "/laporan", "/masuk", "tanda-terima"):
        assert private not in kept


def test_manifest_has_what_a_browser_needs_to_install_the_form(offline_client):
    response = offline_client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["start_url"] == "/lapor"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["short_name"] == "APOA"
    icon, = manifest["icons"]
    assert icon["type"] == "image/svg+xml" and icon["sizes"] == "any"
    with offline_client.get(icon["src"]) as image:
        assert image.status_code == 200 and image.mimetype == "image/svg+xml"


def test_manifest_is_in_the_reader_s_language(offline_client):
    indonesian = json.loads(offline_client.get("/manifest.webmanifest").data)
    english = json.loads(offline_client.get("/manifest.webmanifest?lang=en").data)
    assert (indonesian["lang"], english["lang"]) == ("id", "en")
    assert english["name"] == "APOA — Report a foreigner"


def test_form_links_the_manifest_worker_and_queue(offline_client):
    page = offline_client.get("/lapor").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in page
    assert 'data-worker="/sw.js"' in page
    assert "/static/js/offline-queue.js" in page
    assert 'id="queue-waiting"' in page
