"""Weight (issue 11): every text answer compressed (gzip, brotli where accepted), streamed exports
still streamed, no compression where BREACH could read a secret, and cache headers without
`Vary: Cookie` on what is the same for everyone (files, outlines)."""
import csv
import gzip
import io
import os
import time
import zlib
from pathlib import Path

import brotli
import pytest
from flask import Response, jsonify

from apoa import create_app
from apoa.core import compression
from apoa.core.caching import ONE_WEEK
from apoa.extensions import limiter
from apoa.maps import assets
from apoa.reports.tracking import display
from tests.conftest import app_environ
from tests.factories import World

ROOT = Path(__file__).resolve().parent.parent
GZIP = {"Accept-Encoding": "gzip"}
# What a browser sends for a page the user opened from our own pages.
OWN_PAGE = {"Accept-Encoding": "gzip", "Sec-Fetch-Site": "same-origin"}
OUTLINES = "/peta/batas.geojson?bbox=106,-7,108,-6&zoom=8"
PUBLIC_FILES = ("/static/css/apoa.css", "/static/js/report-form.js", "/assets/vendor/leaflet/leaflet.js",
                "/assets/vendor/leaflet/leaflet.css", "/peta/dasar.geojson", OUTLINES)
KARAWANG = (107.30, -6.30)


def fetch(client, path, **kwargs):
    """GET `path`, its body read and the answer closed (a file's answer holds the file open)."""
    answer = client.get(path, **kwargs)
    answer.get_data()
    answer.close()
    return answer


def body_of(answer):
    """The answer's bytes as the client reads them, decoded from its Content-Encoding."""
    coding = answer.headers.get("Content-Encoding")
    if coding == "gzip":
        return gzip.decompress(answer.data)
    if coding == "br":
        return brotli.decompress(answer.data)
    assert coding is None, coding
    return answer.data


@pytest.fixture
def other_app(app, database_url, tmp_path):
    """Another app on the test database, for routes only a test has (as in test_security_headers)."""
    def build(config=None):
        return create_app(config, environ=app_environ(database_url, APOA_INSTANCE_DIR=str(tmp_path)))
    yield build
    limiter.init_app(app)


@pytest.fixture
def world(make):
    return World(make)


# --- compression ---------------------------------------------------------------------------------

JAVASCRIPT = ("text/javascript", "application/javascript")  # by the Python version's mimetypes


@pytest.mark.parametrize("path, mimetypes", [
    ("/lapor", ("text/html",)), ("/bantuan", ("text/html",)), ("/static/css/apoa.css", ("text/css",)),
    ("/static/js/report-form.js", JAVASCRIPT), ("/assets/vendor/leaflet/leaflet.js", JAVASCRIPT),
    ("/peta/dasar.geojson", ("application/geo+json",)), (OUTLINES, ("application/geo+json",)),
])
def test_text_answers_are_gzipped_when_the_browser_accepts_gzip(client, path, mimetypes):
    plain = fetch(client, path)
    assert "Content-Encoding" not in plain.headers  # a client that accepts none gets plain bytes
    answer = fetch(client, path, headers=OWN_PAGE)
    assert answer.status_code == 200 and answer.mimetype in mimetypes
    assert answer.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in answer.headers["Vary"]
    assert int(answer.headers["Content-Length"]) == len(answer.data) < len(plain.data) / 2
    if not path.startswith("/lapor") and path != "/bantuan":  # pages carry a fresh nonce each time
        assert body_of(answer) == plain.data


def test_json_is_gzipped(other_app):
    app = other_app()

    @app.get("/json-probe")
    def probe():
        return jsonify(rows=[{"kode": f"32.{n:02d}", "nama": "Kabupaten Karawang"} for n in range(200)])

    answer = app.test_client().get("/json-probe", headers=GZIP)
    assert answer.mimetype == "application/json" and answer.headers["Content-Encoding"] == "gzip"
    assert b'"nama":"Kabupaten Karawang"' in body_of(answer)


def test_brotli_is_preferred_when_accepted(client):
    answer = fetch(client, "/assets/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert answer.headers["Content-Encoding"] == "br"
    assert body_of(answer) == (ROOT / "node_modules/leaflet/dist/leaflet.js").read_bytes()


def test_small_and_binary_answers_are_left_alone(client):
    assert "Content-Encoding" not in fetch(client, "/assets/vendor/leaflet/images/marker-icon.png",
                                                headers=GZIP).headers
    assert "Content-Encoding" not in fetch(client, "/healthz", headers=GZIP).headers  # a few bytes


def test_a_compressed_file_still_revalidates_with_304(client):
    first = fetch(client, "/assets/vendor/leaflet/leaflet.css", headers=GZIP)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')  # compressed bytes: the validator is weak
    again = fetch(client, "/assets/vendor/leaflet/leaflet.css", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


# --- public files compressed once, ahead of time -------------------------------------------------

LEAFLET = ROOT / "node_modules/leaflet/dist/leaflet.js"
BROWSER = {"Accept-Encoding": "gzip, deflate, br", "Sec-Fetch-Site": "same-origin"}


def test_a_precompressed_file_is_served_without_compressing_again(other_app):
    app = other_app()
    cache = app.extensions["apoa_compression"]
    assert compression.precompress(cache, [LEAFLET]) == 2  # brotli and gzip
    for coding in ("br", "gzip"):
        answer = fetch(app.test_client(), "/assets/vendor/leaflet/leaflet.js",
                       headers={**BROWSER, "Accept-Encoding": coding})
        assert answer.headers["Content-Encoding"] == coding
        assert body_of(answer) == LEAFLET.read_bytes()  # the same bytes once decoded
        assert int(answer.headers["Content-Length"]) == len(answer.data) < LEAFLET.stat().st_size / 3
        assert answer.headers["ETag"].startswith('W/"') and "Accept-Encoding" in answer.headers["Vary"]
        assert answer.cache_control.public and answer.cache_control.max_age == ONE_WEEK
    assert cache.made == 2  # the answers used what was made ahead


def test_a_file_is_compressed_once_for_every_worker_and_restart(other_app):
    """Two apps on one instance folder stand for two workers (or the app before and after a
    restart): the second finds the first one's work on disk."""
    first, second = other_app(), other_app()
    answers = [fetch(app.test_client(), "/assets/vendor/leaflet/leaflet.js", headers=BROWSER)
               for app in (first, second, first)]
    assert [body_of(answer) for answer in answers] == [LEAFLET.read_bytes()] * 3
    assert answers[0].data == answers[1].data
    assert first.extensions["apoa_compression"].made == 1
    assert second.extensions["apoa_compression"].made == 0


def test_precompressing_again_finds_everything_done(other_app):
    app = other_app()
    paths = assets.files_to_precompress(app)
    assert LEAFLET in paths and ROOT / "apoa/static/js/officer-map.js" in paths
    assert not any(path.suffix in (".png", ".map") for path in paths)
    cache = app.extensions["apoa_compression"]
    map_files = paths[:len(assets.MAP_FILES)]
    assert compression.precompress(cache, map_files) > 0
    assert compression.precompress(other_app().extensions["apoa_compression"], map_files) == 0


def test_files_an_upgrade_left_unused_for_a_month_are_removed(tmp_path):
    cache = compression.CompressedCache(2**20, tmp_path)
    cache.get_or_make("old.br", lambda: b"x")
    cache.get_or_make("recent.br", lambda: b"y")
    month_ago = time.time() - compression.STALE_AFTER_S - 60
    os.utime(tmp_path / "old.br", (month_ago, month_ago))
    assert cache.prune() == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["recent.br"]


def test_an_unwritable_folder_costs_only_the_disk_copy(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    cache = compression.CompressedCache(2**20, blocked / "compressed")
    assert cache.get_or_make("a.br", lambda: b"made") == b"made"
    assert cache.get_or_make("a.br", lambda: b"again") == b"made"  # still kept in memory


# --- BREACH: no compression of a session's page that another site asked for ------------------------

def test_a_page_another_site_requests_with_the_session_cookie_is_not_compressed(client):
    fetch(client, "/lapor")  # the session (and its CSRF token) exists from now on
    reflected = "/lapor?next=csrf_token%22+value%3D%22a"
    cross_site = fetch(client, reflected, headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": "cross-site"})
    assert "Content-Encoding" not in cross_site.headers and b'name="csrf_token"' in cross_site.data
    for source in ("same-origin", "none"):  # our own pages, or typed into the address bar
        answer = fetch(client, reflected, headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": source})
        assert answer.headers["Content-Encoding"] == "gzip", source
    # An old browser that does not say where the request came from: not compressed either.
    assert "Content-Encoding" not in fetch(client, reflected, headers=GZIP).headers


def test_a_first_visit_without_cookies_is_compressed_wherever_it_came_from(app):
    answer = app.test_client().get("/lapor", headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": "cross-site"})
    assert answer.headers["Content-Encoding"] == "gzip"


def test_public_files_are_compressed_for_other_sites_too(client):
    fetch(client, "/lapor")
    answer = fetch(client, "/static/css/apoa.css", headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": "cross-site"})
    assert answer.headers["Content-Encoding"] == "gzip"


# --- streams stay streams ------------------------------------------------------------------------

def test_a_streamed_answer_is_compressed_chunk_by_chunk(other_app):
    """The first chunk reaches the client, decodable, before the second is even made."""
    app = other_app()
    made = []

    @app.get("/stream-probe")
    def probe():
        def rows():
            for n in range(3):
                made.append(n)
                yield "kode,nama\n" + f"32.{n:02d},Kabupaten Karawang\n" * 100
        return Response(rows(), mimetype="text/csv")

    answer = app.test_client().get("/stream-probe", headers=GZIP, buffered=False)
    assert answer.headers["Content-Encoding"] == "gzip" and "Content-Length" not in answer.headers
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    chunks = iter(answer.response)
    first = decoder.decompress(next(chunks))
    assert made == [0] and first.startswith(b"kode,nama\n32.00,Kabupaten Karawang\n")
    rest = b"".join(decoder.decompress(chunk) for chunk in chunks) + decoder.flush()
    assert made == [0, 1, 2] and rest.count(b"Kabupaten Karawang") == 200
    answer.close()


def test_the_csv_export_arrives_compressed_and_complete(world, make, sign_in):
    reports = [make.report(point=KARAWANG) for _ in range(3)]
    officer = sign_in(world.actors["officer"])
    answer = fetch(officer, "/ekspor/laporan.csv", headers=OWN_PAGE)
    assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in answer.headers  # streamed, not gathered first
    rows = list(csv.reader(io.StringIO(body_of(answer).decode("utf-8-sig"))))
    assert {row[0] for row in rows[1:]} == {display(r.tracking_code) for r in reports}


# --- cache headers -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PUBLIC_FILES)
def test_files_and_outlines_are_cacheable_by_anyone_without_vary_cookie(world, sign_in, path):
    """Even for a signed-in officer (whose session every request looks at): no Vary: Cookie, no
    Set-Cookie, a max-age and a validator."""
    officer = sign_in(world.actors["officer"])
    answer = fetch(officer, path, headers=OWN_PAGE)
    assert answer.status_code == 200
    cache = answer.cache_control
    assert cache.public and cache.max_age >= 3600 and not cache.no_store and not cache.no_cache
    assert "ETag" in answer.headers
    assert "cookie" not in answer.headers.get("Vary", "").lower()
    assert "Set-Cookie" not in answer.headers


def test_the_front_end_packages_are_kept_longer_than_the_apps_own_files(client):
    assert fetch(client, "/assets/vendor/leaflet/leaflet.js").cache_control.max_age == 7 * 24 * 3600
    assert fetch(client, "/static/js/report-form.js").cache_control.max_age == 3600


def test_pages_for_a_session_still_vary_on_the_cookie(world, sign_in):
    answer = fetch(sign_in(world.actors["officer"]), "/bantuan")
    assert "Cookie" in answer.headers["Vary"] and answer.headers["Cache-Control"] == "no-store"
