"""APOA - Aplikasi Pelaporan Orang Asing.

create_app() assembles the application from small register_* steps; each extension is created
once in apoa.extensions and each domain registers its blueprint and commands explicitly here.
"""
import gc
import logging

from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix

from apoa import jobs
from apoa.config import PROJECT_ROOT, build_config
from apoa.core import replica
from apoa.errors import register_error_handlers
from apoa.extensions import babel, csrf, db, limiter, login_manager, migrate
from apoa.i18n import select_locale
from apoa.logs import configure_logging

log = logging.getLogger("apoa")


def ready_to_serve(app):
    """`app` as a server process keeps it: its own objects (some 270,000: modules, SQLAlchemy's and
    Babel's tables) are never garbage, so they are frozen out of the collector, whose full passes
    over them otherwise took 50-300 ms every ten or so views of the Ditjen's dashboard and stalled
    whatever request was running (bench/summaries.py, issue 16)."""
    gc.freeze()
    return app


def create_app(config=None, environ=None):
    """Build the app. `config` overrides settings (tests); `environ` replaces os.environ."""
    settings = build_config(environ, config)
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                instance_path=settings["INSTANCE_DIR"])
    app.config.update(settings)
    configure_logging(app.config["LOG_LEVEL"])
    register_proxy(app)
    register_extensions(app)
    register_request_transaction(app)
    register_security(app)
    register_weight(app)
    register_blueprints(app)
    register_commands(app)
    register_error_handlers(app)
    register_template_globals(app)
    return app


def register_proxy(app):
    """Believe X-Forwarded-For/-Proto/-Host from exactly APOA_PROXY_HOPS proxies (nginx: 1).

    Rate limits and logs then see the client's address instead of the proxy's. With 0 (the
    default) nothing is believed, since anyone can send these headers to an app without a proxy.
    """
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app):
    import apoa.models  # noqa: F401  (every table known to the metadata before anything asks)

    db.init_app(app)
    replica.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    register_limiter(app)
    jobs.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.login_message = _l("Please sign in to open this page.")


def register_security(app):
    from apoa import security

    security.init_app(app)


def register_weight(app):
    """Compressed answers, and cache headers on what is the same for everyone (README, "Weight")."""
    from apoa.core import caching, compression

    caching.init_app(app)
    compression.init_app(app)


def register_request_transaction(app):
    """One commit per request, at its end; any error response rolls everything back."""

    @app.after_request
    def commit_or_roll_back(response):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response


def register_limiter(app):
    redis_url = app.config["REDIS_URL"]
    if redis_url:
        app.config["RATELIMIT_STORAGE_URI"] = redis_url
    else:
        # Production refuses to start without Redis (config.py); development may use memory.
        log.warning("APOA_REDIS_URL is not set: "
                    "rate limits are kept in memory for this process only")
        app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Other endpoints stay open if Redis is down (logged); the report form checks the store itself
    # and refuses to work without it (fails closed).
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
    # The public views' own budgets (per device and account, with an address ceiling): their 429
    # says in Retry-After and on the page how long to wait.
    from apoa.reports import abuse

    abuse.init_app(app)


def register_blueprints(app):
    from apoa.admin.views import bp as admin_bp
    from apoa.api.open311 import open311_bp
    from apoa.api.partner_views import partners_bp
    from apoa.api.token_views import bp as tokens_bp
    from apoa.auth.views import bp as auth_bp
    from apoa.core.help import bp as help_bp
    from apoa.core.views import bp as core_bp
    from apoa.jobs.health import bp as health_bp
    from apoa.jobs.views import bp as jobs_bp
    from apoa.maps.assets import bp as assets_bp
    from apoa.maps.places import bp as places_bp
    from apoa.maps.regional_views import bp as regional_bp
    from apoa.maps.tiles import bp as tiles_bp
    from apoa.maps.views import bp as maps_bp
    from apoa.notifications.views import bp as notifications_bp
    from apoa.privacy.request_views import bp as privacy_requests_bp
    from apoa.reports.offline import bp as offline_bp
    from apoa.reports.public_views import bp as public_bp
    from apoa.reports.views import bp as officer_bp
    from apoa.summaries.export_views import bp as exports_bp
    from apoa.feedback.views import bp as cases_bp
    from apoa.feedback.public_views import bp as complaints_bp
    from apoa.guests.bulk_views import bp as guest_uploads_bp
    from apoa.guests.operator_views import bp as guest_operator_bp
    from apoa.guests.officer_views import bp as guest_officer_bp
    from apoa.guests.receipt_views import receipt_bp as sttpoa_bp
    from apoa.summaries.views import bp as summaries_bp
    from apoa.privacy.retention_views import bp as retention_bp
    from apoa.privacy.record_views import bp as privacy_record_bp
    from apoa.whatsapp.admin_views import admin_bp as whatsapp_admin_bp
    from apoa.whatsapp.officer_views import officer_bp as whatsapp_officer_bp
    from apoa.whatsapp.views import bp as whatsapp_bp
    from apoa.partners.map_views import bp as supervision_map_bp
    from apoa.partners.views import bp as pora_bp

    for blueprint in (core_bp, help_bp, auth_bp, public_bp, officer_bp, admin_bp, maps_bp,
                      regional_bp, assets_bp, exports_bp, summaries_bp, jobs_bp, health_bp,
                      notifications_bp, tiles_bp, places_bp, whatsapp_bp, whatsapp_officer_bp,
                      whatsapp_admin_bp, cases_bp, tokens_bp, open311_bp, partners_bp, offline_bp,
                      sttpoa_bp, guest_uploads_bp, guest_operator_bp, guest_officer_bp,
                      retention_bp, privacy_record_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(privacy_requests_bp)  # data-subject requests (UU PDP 27/2022)
    app.register_blueprint(supervision_map_bp)
    app.register_blueprint(pora_bp)
    app.register_blueprint(complaints_bp)  # /keluhan: complaints and questions from the web
    from apoa.api import spec

    spec.init_app(app)  # the JSON API v1's blueprints, through flask-smorest
    if app.config["WHATSAPP_SIMULATOR"]:  # never in production (config.py refuses it there)
        from apoa.whatsapp.simulator import simulator_bp

        app.register_blueprint(simulator_bp)


def register_commands(app):
    from apoa.audit.cli import audit_cli
    from apoa.auth.cli import users_cli
    from apoa.backup.cli import backup_cli
    from apoa.core.keys import keys_cli
    from apoa.demo.cli import demo_cli
    from apoa.indicators.cli import indicators_cli
    from apoa.jobs.cli import jobs_cli
    from apoa.privacy.cli import privacy_cli
    from apoa.privacy.record_cli import record_command
    from apoa.regions.cli import offices_cli, regions_cli
    from apoa.summaries.cli import summaries_cli

    for group in (regions_cli, offices_cli, users_cli, demo_cli, audit_cli, jobs_cli, backup_cli,
                  keys_cli, indicators_cli, privacy_cli, summaries_cli):
        app.cli.add_command(group)
    privacy_cli.add_command(record_command)


def register_template_globals(app):
    from apoa.auth.permissions import can
    from apoa.i18n import LANGUAGE_NAMES

    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    app.jinja_env.globals["current_locale"] = select_locale
