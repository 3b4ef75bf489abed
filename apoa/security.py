"""Security headers on every response: a Content-Security-Policy with a per-request nonce, and the
usual hardening headers.

The templates carry no inline script or style, so the policy allows neither. The nonce, offered to
templates as `csp_nonce()`, is for the few pages that must carry inline code (folium's map pages):
`<script nonce="{{ csp_nonce() }}">`. Leaflet positions its elements through the CSSOM
(`element.style.left = ...`), which `style-src` does not restrict, so maps need no
'unsafe-inline' either.
"""
import re
import secrets
from urllib.parse import urlsplit

from flask import g, request, session

from apoa.auth.sessions import PENDING_KEY

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Tracking codes are in URLs: they must never reach another site in a Referer header.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
# Session keys that mean someone is (or is half) signed in: their pages must not be cached.
SIGNED_IN_KEYS = ("_user_id", PENDING_KEY)
# The app's own static files hold nothing personal (they revalidate by ETag).
NEVER_PERSONAL = {"static"}


def csp_nonce():
    """This request's nonce (made on first use): the same value in the header and the page."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce, tile_url=""):
    images = "'self' data: blob:" + (f" {tile_source(tile_url)}" if tile_url else "")
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        f"img-src {images}",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ))


def tile_source(tile_url):
    """The CSP source of a tile template: "https://{s}.tile.example.org/{z}/{x}/{y}.png" →
    "https://*.tile.example.org" (a subdomain placeholder becomes CSP's leftmost wildcard)."""
    parts = urlsplit(tile_url)
    host = re.sub(r"^[^.]*\{[^}]*\}[^.]*", "*", parts.netloc)
    return f"{parts.scheme}://{host}"


def _personal(response):
    if response.cache_control.public or request.endpoint in NEVER_PERSONAL:
        return False
    return any(key in session for key in SIGNED_IN_KEYS)


def init_app(app):
    production = app.config["APOA_ENV"] == "production"
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def add_security_headers(response):
        response.headers["Content-Security-Policy"] = content_security_policy(
            csp_nonce(), app.config["TILE_URL"])
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers["Strict-Transport-Security"] = HSTS
        # Pages for someone signed in hold personal or case data: no browser or proxy keeps them.
        # Static files, and answers marked public (vendor assets, the base map), stay cacheable.
        if _personal(response):
            if "no-store" not in (response.headers.get("Cache-Control") or ""):
                response.headers["Cache-Control"] = "no-store"
        return response
