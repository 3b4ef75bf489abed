import pytest

from apoa import create_app
from apoa.config import ConfigError, build_config

DB = "postgresql://u@127.0.0.1:5432/apoa"
GOOD_SECRET = "k" * 40


def production(**extra):
    return {"APOA_ENV": "production", "APOA_SECRET_KEY": GOOD_SECRET, "APOA_DATABASE_URL": DB,
            "APOA_REDIS_URL": "redis://127.0.0.1:6379/0", "APOA_CONTACT_KEYS": "A" * 43 + "=", **extra}


def test_production_with_everything_set_starts():
    config = build_config(production())
    assert config["SECRET_KEY"] == GOOD_SECRET
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u@127.0.0.1:5432/apoa"


@pytest.mark.parametrize("missing", ["APOA_SECRET_KEY", "APOA_DATABASE_URL", "APOA_REDIS_URL"])
def test_production_without_a_required_setting_stops_naming_it(missing):
    with pytest.raises(ConfigError, match=missing):
        build_config(production(**{missing: ""}))


@pytest.mark.parametrize("secret", ["short", "dev-only-not-secret"])
def test_production_refuses_a_weak_secret_key(secret):
    with pytest.raises(ConfigError, match="APOA_SECRET_KEY"):
        build_config(production(APOA_SECRET_KEY=secret))


@pytest.mark.parametrize("name, value, message", [
    ("APOA_ENV", "staging", "APOA_ENV"),
    ("APOA_DATABASE_URL", "mysql://x/y", "postgresql"),
    ("APOA_LOG_LEVEL", "LOUD", "APOA_LOG_LEVEL"),
    ("APOA_DEFAULT_LOCALE", "fr", "APOA_DEFAULT_LOCALE"),
    ("APOA_MAX_UPLOAD_MB", "ten", "APOA_MAX_UPLOAD_MB"),
    ("APOA_MAX_UPLOAD_MB", "0", "APOA_MAX_UPLOAD_MB"),
    ("APOA_TILE_URL", "https://tiles.example/tile.png", "APOA_TILE_URL"),
])
def test_malformed_settings_are_refused_with_their_name(name, value, message):
    environ = {"APOA_DATABASE_URL": DB, name: value}
    with pytest.raises(ConfigError, match=message):
        build_config(environ)


def test_development_defaults_need_only_a_database():
    config = build_config({"APOA_DATABASE_URL": DB})
    assert config["APOA_ENV"] == "development"
    assert config["BABEL_DEFAULT_LOCALE"] == "id"
    assert config["SESSION_COOKIE_SECURE"] is False


def test_create_app_fails_fast_without_a_database():
    with pytest.raises(ConfigError, match="APOA_DATABASE_URL"):
        create_app(environ={"APOA_ENV": "development"})


def test_production_needs_contact_keys():
    environ = production()
    environ.pop("APOA_CONTACT_KEYS", None)
    with pytest.raises(ConfigError, match="APOA_CONTACT_KEYS"):
        build_config(environ)


@pytest.mark.parametrize("keys", ["not-a-key", "YWJj", ","])
def test_malformed_contact_keys_are_refused(keys):
    with pytest.raises(ConfigError, match="APOA_CONTACT_KEYS"):
        build_config({"APOA_DATABASE_URL": DB, "APOA_CONTACT_KEYS": keys})


def test_several_contact_keys_allow_rotation():
    new, old = "A" * 43 + "=", "B" * 43 + "="
    assert build_config({"APOA_DATABASE_URL": DB, "APOA_CONTACT_KEYS": f"{new}, {old}"})["CONTACT_KEYS"] == [new, old]


def test_rate_limits_cannot_be_switched_off_in_production():
    with pytest.raises(ConfigError, match="APOA_RATELIMIT_ENABLED"):
        build_config(production(APOA_RATELIMIT_ENABLED="false"))


WHATSAPP_SECRETS = {"APOA_WHATSAPP_PHONE_NUMBER_ID": "106540352242922", "APOA_WHATSAPP_TOKEN": "EAAG" + "x" * 40,
                    "APOA_WHATSAPP_APP_SECRET": "s" * 32, "APOA_WHATSAPP_VERIFY_TOKEN": "v" * 24}


def test_production_with_whatsapp_needs_each_of_its_secrets():
    graph = {"APOA_WHATSAPP_GRAPH_URL": "https://graph.facebook.com"}
    config = build_config(production(**graph, **WHATSAPP_SECRETS))
    assert config["WHATSAPP_TOKEN"] == WHATSAPP_SECRETS["APOA_WHATSAPP_TOKEN"]
    assert config["WHATSAPP_SIMULATOR"] is False
    for name in WHATSAPP_SECRETS:
        with pytest.raises(ConfigError, match=name):
            build_config(production(**graph, **{**WHATSAPP_SECRETS, name: ""}))


def test_production_never_uses_the_development_whatsapp_secrets():
    config = build_config(production())
    assert config["WHATSAPP_GRAPH_URL"] == ""
    assert config["WHATSAPP_APP_SECRET"] == "" and config["WHATSAPP_TOKEN"] == ""


def test_the_whatsapp_simulator_is_refused_in_production_and_on_by_default_elsewhere():
    with pytest.raises(ConfigError, match="APOA_WHATSAPP_SIMULATOR"):
        build_config(production(APOA_WHATSAPP_SIMULATOR="true"))
    assert build_config({"APOA_DATABASE_URL": DB})["WHATSAPP_SIMULATOR"] is True
    assert build_config({"APOA_DATABASE_URL": DB, "APOA_WHATSAPP_SIMULATOR": "false"})["WHATSAPP_SIMULATOR"] is False


def test_a_whatsapp_graph_url_must_be_an_address():
    with pytest.raises(ConfigError, match="APOA_WHATSAPP_GRAPH_URL"):
        build_config({"APOA_DATABASE_URL": DB, "APOA_WHATSAPP_GRAPH_URL": "graph.facebook.com"})
