"""Security headers on every answer (CSP with a per-request nonce, and the rest), no caching of
signed-in pages, cookie flags, CSRF on forms, and templates that need no inline code."""
import os
import re
from pathlib import Path

import pytest
from flask import render_template_string

from apoa import create_app
from apoa.extensions import limiter
from apoa.security import content_security_policy, tile_source
from tests.conftest import TEST_PASSWORD, app_environ, totp_code

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{20,})'")


def csp(answer):
    return answer.headers["Content-Security-Policy"]


@pytest.fixture
def other_app(app, database_url, tmp_path):
    """Make another app on the test database (`other_app(**APOA_settings)`). The limiter is one
    object shared by every app of the process, so it is bound back to the suite's app after."""
    def build(config=None, **settings):
        environ = app_environ(database_url, APOA_INSTANCE_DIR=str(tmp_path), **settings)
        return create_app(config, environ=environ)
    yield build
    limiter.init_app(app)


# --- the policy ---------------------------------------------------------------------------------

def test_every_page_has_the_policy(client):
    policy = csp(client.get("/"))
    for directive in ("default-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'",
                      "font-src 'self'", "object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'",
                      "form-action 'self'"):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    nonce = NONCE.search(policy).group(1)
    assert f"style-src 'self' 'nonce-{nonce}'" in policy


def test_the_nonce_differs_per_request_and_is_the_one_in_the_page(other_app):
    app = other_app({"WTF_CSRF_ENABLED": False})

    @app.get("/nonce-probe")
    def probe():
        return render_template_string('<script nonce="{{ csp_nonce() }}">1</script>'
                                      '<style nonce="{{ csp_nonce() }}"></style>')

    client = app.test_client()
    answers = [client.get("/nonce-probe") for _ in range(3)]
    nonces = [NONCE.search(csp(a)).group(1) for a in answers]
    assert len(set(nonces)) == 3
    for answer, nonce in zip(answers, nonces):
        assert re.findall(r'nonce="([^"]+)"', answer.text) == [nonce, nonce]


def test_error_pages_and_json_have_the_headers_too(client):
    for answer in (client.get("/no-such-page"), client.get("/healthz")):
        assert "Content-Security-Policy" in answer.headers
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_tile_server_is_allowed_for_images_only():
    policy = content_security_policy("n0nce", "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: https://*.tile.openstreetmap.org;" in policy
    assert "connect-src 'self';" in policy
    assert tile_source("http://tiles.example.id:8080/{z}/{x}/{y}.png") == "http://tiles.example.id:8080"


def test_the_configured_tile_host_reaches_the_header(other_app):
    app = other_app(APOA_TILE_URL="https://tiles.example.id/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: https://tiles.example.id;" in csp(app.test_client().get("/"))


# --- the other headers --------------------------------------------------------------------------

def test_the_other_headers(client):
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Permissions-Policy"] == "geolocation=(self), camera=(), microphone=()"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # only in production, behind HTTPS


def test_production_adds_strict_transport_security_and_secure_cookies(other_app):
    app = other_app(APOA_ENV="production", APOA_SECRET_KEY="s" * 40, APOA_CONTACT_KEYS="A" * 43 + "=",
                    APOA_REDIS_URL=os.environ.get("APOA_REDIS_URL") or "redis://127.0.0.1:6379/0")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] and app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    answer = app.test_client().get("/")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_signed_in_pages_are_not_stored_but_public_files_are_cacheable(client, auth, make):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    auth.login(make.user(role="officer"))
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert client.get("/status").headers["Cache-Control"] == "no-store"
    with client.get("/static/css/apoa.css") as asset:
        assert "no-store" not in asset.headers["Cache-Control"]


def test_the_enrolment_page_with_its_secret_is_not_stored(client, make):
    user = make.user(role="officer", totp=False)
    client.post("/masuk", data={"email": user.email, "password": TEST_PASSWORD})
    assert client.get("/masuk/aktifkan-kode").headers["Cache-Control"] == "no-store"


# --- forms and templates ------------------------------------------------------------------------

def _token(page):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_forms_refuse_a_post_without_its_csrf_token(other_app, make):
    app = other_app()  # CSRF on, as in production
    assert app.config.get("WTF_CSRF_ENABLED", True)
    admin, officer = make.user(role="admin"), make.user(role="officer")
    client = app.test_client()
    assert client.post("/masuk", data={"email": admin.email, "password": TEST_PASSWORD}).status_code == 400
    token = _token(client.get("/masuk").text)
    step = client.post("/masuk", data={"email": admin.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert step.headers["Location"] == "/masuk/kode"
    token = _token(client.get("/masuk/kode").text)
    assert client.post("/masuk/kode", data={"code": totp_code(admin), "csrf_token": token}).status_code == 302
    assert client.post(f"/admin/pengguna/{officer.id}/nonaktifkan").status_code == 400
    assert client.post("/keluar").status_code == 400


# An inline script is allowed only with the request's nonce (folium's map script, placed by
# templates/maps/_folium_map.html); the browser tests would see a CSP violation otherwise.
INLINE_CODE = [
    (re.compile(r"<script(?![^>]*\b(?:src|nonce)=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_templates_carry_no_inline_script_or_style():
    found = [f"{path.relative_to(TEMPLATES)}: {what}"
             for path in TEMPLATES.rglob("*.html") for pattern, what in INLINE_CODE
             if pattern.search(path.read_text(encoding="utf-8"))]
    assert found == []
