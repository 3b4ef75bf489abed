"""Cache headers for what is the same for everyone: the app's own scripts and styles, the
front-end packages (apoa/maps/assets.py) and the region outlines (public GeoJSON).

`Cache-Control: public` is this app's word that an answer depends on nobody's session. Flask adds
`Vary: Cookie` to every answer whose request looked at the session, and every request does (the
session limits are checked before each one), which would make a shared cache, and some browsers,
keep one copy per cookie: a public answer neither reads nor changes the session, so it is saved
without the session's cookie and without `Vary: Cookie`.

URLs carry no version, so each file keeps its ETag and a max-age short enough for an upgrade to
reach every browser soon: the app's own files (changed by a deploy) an hour, the pinned npm
packages (changed only by an upgrade) a week. A browser revalidates after that and mostly gets a
304 without a body.
"""
from flask import request
from flask.sessions import SecureCookieSessionInterface

ONE_HOUR = 3600
ONE_WEEK = 7 * 24 * 3600
# The app's own static files; the npm packages set their max-age in apoa/maps/assets.py.
STATIC_ENDPOINT = "static"


class PublicAnswersSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that a public answer is sent without the session:
    no Set-Cookie (a shared cache must never store one) and no `Vary: Cookie`."""

    def save_session(self, app, session, response):
        if response.cache_control.public:
            return
        super().save_session(app, session, response)


def init_app(app):
    app.session_interface = PublicAnswersSessionInterface()
    # Runs before apoa.security's hook (registered earlier; Flask runs the last-registered first),
    # which then sees the file as public and leaves it cacheable.
    app.after_request(cache_static_files)


def cache_static_files(response):
    if request.endpoint == STATIC_ENDPOINT and response.status_code in (200, 304):
        make_public(response, ONE_HOUR)
    return response


def make_public(response, max_age):
    """Any browser or shared cache may keep the answer for `max_age` seconds, then revalidate."""
    response.cache_control.no_cache = None
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response
