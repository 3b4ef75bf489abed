"""Configuration from APOA_* environment variables, checked once at start-up.

Every setting is documented in `.env.example`. A production start without a real secret key or
database URL stops with a message naming the variable, rather than running half-configured.
"""
import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "production", "test")
DEV_SECRET_KEY = "dev-only-not-secret"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    required_in_production: bool = False


SETTINGS = (
    Setting("APOA_ENV", "development"),
    Setting("APOA_SECRET_KEY", None, required_in_production=True),
    Setting("APOA_DATABASE_URL", None, required_in_production=True),
    Setting("APOA_REPLICA_DATABASE_URL", None),
    Setting("APOA_REDIS_URL", None, required_in_production=True),
    Setting("APOA_INSTANCE_DIR", str(PROJECT_ROOT / "instance")),
    Setting("APOA_REGIONS_DIR", str(PROJECT_ROOT.parent / "shared" / "data" / "regions")),
    Setting("APOA_LOG_LEVEL", "INFO"),
    Setting("APOA_DEFAULT_LOCALE", "id"),
    Setting("APOA_TILE_URL", ""),
    Setting("APOA_TILE_ATTRIBUTION", ""),
    Setting("APOA_STREET_TILES", ""),
    Setting("APOA_MAX_UPLOAD_MB", "20"),
    Setting("APOA_CONTACT_KEYS", None, required_in_production=True),
    Setting("APOA_REPORT_MAX_AGE_DAYS", "90"),
    Setting("APOA_GUEST_RETENTION_DAYS", "730"),
    Setting("APOA_RETENTION_UNFOUNDED_DAYS", "180"),
    Setting("APOA_RETENTION_CONTACT_DAYS", "90"),
    Setting("APOA_RETENTION_PHOTO_DAYS", "365"),
    Setting("APOA_MIN_FILL_SECONDS", "3"),
    Setting("APOA_RATELIMIT_ENABLED", "true"),
    Setting("APOA_JOBS_QUEUE", None),
    Setting("APOA_PROXY_HOPS", "0"),
    Setting("APOA_BACKUP_KEY", None),
    Setting("APOA_SMTP_HOST", ""),
    Setting("APOA_SMTP_PORT", None),
    Setting("APOA_SMTP_USER", ""),
    Setting("APOA_SMTP_PASSWORD", ""),
    Setting("APOA_SMTP_FROM", None),
    Setting("APOA_SMTP_TLS", None),
    Setting("APOA_BASE_URL", None),
    Setting("APOA_WHATSAPP_GRAPH_URL", ""),
    Setting("APOA_WHATSAPP_API_VERSION", "v21.0"),
    Setting("APOA_WHATSAPP_PHONE_NUMBER_ID", None),
    Setting("APOA_WHATSAPP_TOKEN", None),
    Setting("APOA_WHATSAPP_APP_SECRET", None),
    Setting("APOA_WHATSAPP_VERIFY_TOKEN", None),
    Setting("APOA_WHATSAPP_STATUS_TEMPLATE", "apoa_status_update"),
    Setting("APOA_WHATSAPP_SIMULATOR", None),
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOCALES = ("id", "en")


def read_environment(environ=None):
    """Return {name: value} for every APOA_* setting, defaults filled in."""
    environ = process_environment() if environ is None else environ
    return {s.name: environ.get(s.name) or s.default for s in SETTINGS}


def process_environment():
    """os.environ completed by the instance folder's `.env`, where `make` writes the addresses of
    the private services it starts, so `flask --app apoa ...` finds them without any `eval`.

    A variable that is set always wins over the file. Production never reads the file: its
    settings come from the service's own environment file (deploy/), not from what a developer's
    `make` left behind.
    """
    environ = dict(os.environ)
    if environ.get("APOA_ENV") == "production":
        return environ
    instance = Path(environ.get("APOA_INSTANCE_DIR") or PROJECT_ROOT / "instance")
    for name, value in dotenv_values(instance / ".env").items():
        if name.startswith("APOA_") and value is not None:
            environ.setdefault(name, value)
    return environ


def build_config(environ=None, overrides=None):
    """Turn APOA_* variables (and test overrides) into a Flask config mapping, or raise
    ConfigError."""
    values = read_environment(environ)
    env = values["APOA_ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigError(f"APOA_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    if env == "production":
        _require_production_settings(values)
    config = _flask_config(values, env)
    config.update(overrides or {})
    _check_values(config)
    return config


def _require_production_settings(values):
    for setting in SETTINGS:
        if setting.required_in_production and not values[setting.name]:
            raise ConfigError(f"{setting.name} must be set when APOA_ENV=production")
    if values["APOA_SECRET_KEY"] == DEV_SECRET_KEY or len(values["APOA_SECRET_KEY"]) < 32:
        raise ConfigError("APOA_SECRET_KEY must be a random value "
                          "of at least 32 characters in production")


def _flask_config(values, env):
    production = env == "production"
    return {
        "APOA_ENV": env,
        "TESTING": env == "test",
        "SECRET_KEY": values["APOA_SECRET_KEY"] or DEV_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": with_driver(values["APOA_DATABASE_URL"]),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # A streaming replica for the reads of maps, summaries and exports (apoa/core/replica.py).
        "REPLICA_DATABASE_URI": with_driver(values["APOA_REPLICA_DATABASE_URL"]),
        "REDIS_URL": values["APOA_REDIS_URL"],
        "INSTANCE_DIR": values["APOA_INSTANCE_DIR"],
        "REGIONS_DIR": values["APOA_REGIONS_DIR"],
        "LOG_LEVEL": values["APOA_LOG_LEVEL"].upper(),
        "BABEL_DEFAULT_LOCALE": values["APOA_DEFAULT_LOCALE"],
        "BABEL_DEFAULT_TIMEZONE": "Asia/Jakarta",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "apoa" / "translations"),
        "TILE_URL": values["APOA_TILE_URL"],
        "TILE_ATTRIBUTION": values["APOA_TILE_ATTRIBUTION"],
        "STREET_TILES": values["APOA_STREET_TILES"],
        "MAX_CONTENT_LENGTH": (_whole_number("APOA_MAX_UPLOAD_MB", values["APOA_MAX_UPLOAD_MB"], 1)
                               * 1024 * 1024),
        "CONTACT_KEYS": _contact_keys(values),
        "BACKUP_KEY": _backup_key(values),
        "REPORT_MAX_AGE_DAYS": _whole_number("APOA_REPORT_MAX_AGE_DAYS",
                                             values["APOA_REPORT_MAX_AGE_DAYS"], 1),
        # Days after a stay ended before apoa/guests/retention.py deletes it (counts are kept).
        "GUEST_RETENTION_DAYS": _whole_number("APOA_GUEST_RETENTION_DAYS",
                                              values["APOA_GUEST_RETENTION_DAYS"], 1),
        # Report retention (apoa/privacy/retention.py, UU PDP 27/2022): days after closure before
        # an unfounded or duplicate report is anonymised, a reporter's contact is removed and a
        # closed report's photos are deleted.
        "RETENTION_UNFOUNDED_DAYS": _whole_number("APOA_RETENTION_UNFOUNDED_DAYS",
                                                  values["APOA_RETENTION_UNFOUNDED_DAYS"], 1),
        "RETENTION_CONTACT_DAYS": _whole_number("APOA_RETENTION_CONTACT_DAYS",
                                                values["APOA_RETENTION_CONTACT_DAYS"], 1),
        "RETENTION_PHOTO_DAYS": _whole_number("APOA_RETENTION_PHOTO_DAYS",
                                              values["APOA_RETENTION_PHOTO_DAYS"], 1),
        "MIN_FILL_SECONDS": _whole_number("APOA_MIN_FILL_SECONDS",
                                          values["APOA_MIN_FILL_SECONDS"], 0),
        "RATELIMIT_ENABLED": _boolean("APOA_RATELIMIT_ENABLED", values["APOA_RATELIMIT_ENABLED"],
                                      production),
        "PROXY_HOPS": _whole_number("APOA_PROXY_HOPS", values["APOA_PROXY_HOPS"], 0),
        "UPLOAD_DIR": str(Path(values["APOA_INSTANCE_DIR"]) / "uploads"),
        "JOBS_QUEUE": values["APOA_JOBS_QUEUE"] or default_jobs_queue(env),
        # Seconds between a failed job's tries: each wait four times the one before.
        "JOBS_RETRY_INTERVALS": (30, 120, 480, 1920),
        **_mail_config(values, production),
        **_whatsapp_config(values, production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if production else "http",
    }


# How staff mail reaches the server (apoa/notifications/mail.py), with each mode's usual port.
SMTP_TLS_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
DEV_BASE_URL = "http://127.0.0.1:5000"


def _mail_config(values, production):
    """Staff e-mail. Without APOA_SMTP_HOST nothing is mailed (the bell still works). Production
    talks TLS by default, and a mail server there needs a sender and the app's public address."""
    host = values["APOA_SMTP_HOST"] or ""
    tls = (values["APOA_SMTP_TLS"] or ("starttls" if production else "none")).lower()
    if tls not in SMTP_TLS_PORTS:
        raise ConfigError(f"APOA_SMTP_TLS must be one of {', '.join(SMTP_TLS_PORTS)}, not {tls!r}")
    if production and host:
        for name in ("APOA_SMTP_FROM", "APOA_BASE_URL"):
            if not values[name]:
                raise ConfigError(f"{name} must be set when APOA_SMTP_HOST is "
                                  "(APOA_ENV=production)")
    base_url = (values["APOA_BASE_URL"] or DEV_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError("APOA_BASE_URL must be the app's address, starting with https:// or http://")
    port = values["APOA_SMTP_PORT"]
    port = _whole_number("APOA_SMTP_PORT", port, 1) if port else SMTP_TLS_PORTS[tls]
    if port > 65535:
        raise ConfigError("APOA_SMTP_PORT must be at most 65535")
    return {"SMTP_HOST": host, "SMTP_PORT": port, "SMTP_TLS": tls,
            "SMTP_USER": values["APOA_SMTP_USER"] or "",
            "SMTP_PASSWORD": values["APOA_SMTP_PASSWORD"] or "",
            "SMTP_FROM": values["APOA_SMTP_FROM"] or "APOA <apoa@localhost>", "BASE_URL": base_url}


# Development's stand-ins: the local fake of the Graph API (apoa/whatsapp/fake_graph.py) accepts
# them, and the simulator page signs its webhook deliveries with the same secret.
DEV_WHATSAPP = {"APOA_WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
                "APOA_WHATSAPP_TOKEN": "dev-whatsapp-token",
                "APOA_WHATSAPP_APP_SECRET": "dev-whatsapp-app-secret",
                "APOA_WHATSAPP_VERIFY_TOKEN": "dev-whatsapp-verify-token"}


def _whatsapp_config(values, production):
    """The WhatsApp Business Cloud API. Without APOA_WHATSAPP_GRAPH_URL nothing is sent (the
    messages wait, queued, in wa_outbound). Production needs real secrets and never runs the
    simulator page."""
    graph_url = (values["APOA_WHATSAPP_GRAPH_URL"] or "").rstrip("/")
    if graph_url and not graph_url.startswith(("http://", "https://")):
        raise ConfigError("APOA_WHATSAPP_GRAPH_URL must start with https:// or http://")
    secrets = {}
    for name, dev_value in DEV_WHATSAPP.items():
        secrets[name] = values[name] or ("" if production else dev_value)
        if production and graph_url and not secrets[name]:
            raise ConfigError(f"{name} must be set when APOA_WHATSAPP_GRAPH_URL is "
                              "(APOA_ENV=production)")
    simulator = _boolean("APOA_WHATSAPP_SIMULATOR",
                         values["APOA_WHATSAPP_SIMULATOR"] or ("false" if production else "true"),
                         production=False)
    if production and simulator:
        raise ConfigError("APOA_WHATSAPP_SIMULATOR cannot be on in production")
    return {"WHATSAPP_GRAPH_URL": graph_url,
            "WHATSAPP_API_VERSION": values["APOA_WHATSAPP_API_VERSION"],
            "WHATSAPP_PHONE_NUMBER_ID": secrets["APOA_WHATSAPP_PHONE_NUMBER_ID"],
            "WHATSAPP_TOKEN": secrets["APOA_WHATSAPP_TOKEN"],
            "WHATSAPP_APP_SECRET": secrets["APOA_WHATSAPP_APP_SECRET"],
            "WHATSAPP_VERIFY_TOKEN": secrets["APOA_WHATSAPP_VERIFY_TOKEN"],
            "WHATSAPP_STATUS_TEMPLATE": values["APOA_WHATSAPP_STATUS_TEMPLATE"],
            "WHATSAPP_SIMULATOR": simulator}


def default_jobs_queue(env):
    """The job queue's name: a test run gets its own (by process id), so two runs sharing one
    Redis never take each other's jobs; the test harness gives its worker the same name."""
    return f"apoa-test-{os.getpid()}" if env == "test" else "apoa"


def with_driver(url):
    """Name psycopg2 explicitly: SQLAlchemy 2.1 takes a bare postgresql:// URL to mean psycopg 3."""
    for scheme in ("postgresql://", "postgres://"):
        if url and url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme):]
    return url


def _contact_keys(values):
    """Fernet keys, newest first: the first encrypts, all decrypt, so a key can be rotated in.

    Outside production a key derived from the secret key keeps development and tests simple.
    """
    raw = values["APOA_CONTACT_KEYS"]
    if not raw:
        digest = hashlib.sha256(
            ("contact:" + (values["APOA_SECRET_KEY"] or DEV_SECRET_KEY)).encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode()]
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys or not all(_is_fernet_key(key) for key in keys):
        raise ConfigError("APOA_CONTACT_KEYS must be comma-separated Fernet keys (32 bytes, "
                          "url-safe base64)")
    return keys


def _backup_key(values):
    """The key backups are encrypted with (apoa/backup/encryption.py), or None: only the backup
    commands need it, and refuse to run without it. The value never appears in a message."""
    key = (values["APOA_BACKUP_KEY"] or "").strip()
    if key and not _is_fernet_key(key):
        raise ConfigError("APOA_BACKUP_KEY must be a Fernet key (32 bytes, url-safe base64)")
    return key or None


def _is_fernet_key(key):
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def _boolean(name, raw, production):
    value = raw.strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"{name} must be true or false, not {raw!r}")
    enabled = value in ("true", "1", "yes")
    if production and not enabled:
        raise ConfigError(f"{name} cannot be switched off in production")
    return enabled


def _whole_number(name, raw, minimum):
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def _check_values(config):
    if not config["SQLALCHEMY_DATABASE_URI"]:
        raise ConfigError("APOA_DATABASE_URL is not set (make run / make test set it up for you)")
    if not config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        raise ConfigError("APOA_DATABASE_URL must be a postgresql:// URL (PostGIS is required)")
    replica = config["REPLICA_DATABASE_URI"]
    if replica and not replica.startswith("postgresql"):
        raise ConfigError("APOA_REPLICA_DATABASE_URL must be a postgresql:// URL (or unset)")
    if config["LOG_LEVEL"] not in LOG_LEVELS:
        raise ConfigError(f"APOA_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    if config["BABEL_DEFAULT_LOCALE"] not in LOCALES:
        raise ConfigError(f"APOA_DEFAULT_LOCALE must be one of {', '.join(LOCALES)}")
    if config["TILE_URL"] and "{z}" not in config["TILE_URL"]:
        raise ConfigError("APOA_TILE_URL must be a tile template containing {z}, {x} and {y}")
    if config["STREET_TILES"] and not Path(config["STREET_TILES"]).is_file():
        # Its content is checked when the tiles blueprint is registered (apoa/maps/tiles.py).
        raise ConfigError("APOA_STREET_TILES must name an MBTiles file that exists, not "
                          f"{config['STREET_TILES']!r}")
