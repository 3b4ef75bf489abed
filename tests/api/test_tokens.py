"""Personal access tokens, made and revoked on /akun/token by staff signed in with the second factor:
the secret shown once and stored only as its sha256, revocation, expiry by the clock, and who may
not make one."""
import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from apoa import create_app
from apoa.api import tokens
from apoa.api.models import ApiToken
from apoa.api.token_views import bp as tokens_bp
from apoa.audit.models import AuditEntry
from apoa.errors import NotAllowed
from apoa.extensions import db
from tests.conftest import TEST_CONFIG, AuthActions, app_environ
from tests.factories import World
from tests.reports.test_report_page import csrf_token, sign_in_with_tokens

SECRET = re.compile(r"apoa_[A-Za-z0-9_-]{43}")


@pytest.fixture(scope="module")
def tokens_app(app, database_url):
    """The app with the tokens page: create_app's own once it registers tokens_bp, until then a
    twin that registers it before its first request."""
    if "tokens" in app.blueprints:
        return app
    twin = create_app(dict(TEST_CONFIG),
                      environ=app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))
    twin.register_blueprint(tokens_bp)
    return twin


@pytest.fixture
def signed_in(tokens_app):
    def signed_in(user):
        client = tokens_app.test_client()
        assert AuthActions(client).login(user).status_code == 302
        return client
    return signed_in


@pytest.fixture
def world(make):
    return World(make)


def make_token(client, name="Aplikasi lapangan", scope="act", days=30):
    return client.post("/akun/token", data={"name": name, "scope": scope, "days": days})


def stored_tokens(user):
    db.session.expire_all()
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()


def audit_entries(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def api_status(client, secret):
    """The status of a request to the staff API with this token (a request of its own: a refused
    token's audit entry is committed alone, which must not roll back the test's rows), from a client
    without the browser's cookie, as API clients are."""
    api_client = client.application.test_client()
    return api_client.get("/api/v1/staff/reports", headers={"Authorization": f"Bearer {secret}"}).status_code


def test_an_officer_makes_a_token_and_sees_its_secret_once(world, signed_in):
    officer = world.actors["officer"]
    client = signed_in(officer)
    assert client.get("/akun/token").status_code == 200
    answer = make_token(client)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "private, no-store"
    secrets_shown = SECRET.findall(answer.text)
    assert len(set(secrets_shown)) == 1
    secret = secrets_shown[0]
    [token] = stored_tokens(officer)
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:12] and token.scope == "act" and token.name == "Aplikasi lapangan"
    assert token.expires_at - token.created_at == timedelta(days=30)
    # The database holds no copy of the secret, nor does the audit log.
    row = db.session.execute(select(ApiToken.__table__).where(ApiToken.id == token.id)).one()
    assert secret not in [str(value) for value in row]
    [entry] = audit_entries("api.token.create")
    assert entry.object == f"api_token:{token.id}" and entry.actor_id == officer.id
    assert entry.detail == {"scope": "act", "days": 30} and secret not in str(entry.detail)
    # The list shows the token by its prefix, never its secret again.
    listing = client.get("/akun/token")
    assert secret not in listing.text and token.prefix in listing.text
    assert f'data-token-id="{token.id}"' in listing.text


@pytest.mark.parametrize("data", [
    {"name": "", "scope": "read", "days": 30},
    {"name": "x" * 101, "scope": "read", "days": 30},
    {"name": "Aplikasi", "scope": "admin", "days": 30},
    {"name": "Aplikasi", "scope": "read", "days": 0},
    {"name": "Aplikasi", "scope": "read", "days": 366},
    {"name": "Aplikasi", "scope": "read", "days": "satu"},
])
def test_a_bad_form_makes_no_token(world, signed_in, data):
    officer = world.actors["officer"]
    answer = signed_in(officer).post("/akun/token", data=data)
    assert answer.status_code == 400
    assert not SECRET.search(answer.text)
    assert stored_tokens(officer) == []


def test_a_revoked_token_no_longer_authenticates(world, signed_in):
    officer = world.actors["officer"]
    client = signed_in(officer)
    secret = SECRET.search(make_token(client).text).group(0)
    [token] = stored_tokens(officer)
    answer = client.post(f"/akun/token/{token.id}/cabut")
    assert answer.status_code == 303 and answer.headers["Location"] == "/akun/token"
    [token] = stored_tokens(officer)
    assert token.revoked_at is not None
    assert api_status(client, secret) == 401
    [entry] = audit_entries("api.token.revoke")
    assert entry.object == f"api_token:{token.id}" and entry.actor_id == officer.id
    listing = client.get("/akun/token")
    assert f'<tr data-token-id="{token.id}" class="token-revoked">' in listing.text
    assert f"/akun/token/{token.id}/cabut" not in listing.text  # nothing left to revoke


def test_nobody_revokes_another_users_token(world, signed_in):
    owner, other = world.actors["officer"], world.actors["supervisor"]
    token, _secret = tokens.create_token(owner, "Milik petugas", "read", 30)
    assert signed_in(other).post(f"/akun/token/{token.id}/cabut").status_code == 404
    [token] = stored_tokens(owner)
    assert token.revoked_at is None
    assert audit_entries("api.token.revoke") == []


def test_a_resident_cannot_make_a_token(world, signed_in):
    resident = world.actors["resident"]
    client = signed_in(resident)
    assert client.get("/akun/token").status_code == 403
    assert make_token(client).status_code == 403
    assert stored_tokens(resident) == []
    with pytest.raises(NotAllowed):
        tokens.create_token(resident, "Warga", "read", 30)


def test_signed_out_the_page_asks_to_sign_in(tokens_app):
    client = tokens_app.test_client()
    answer = client.get("/akun/token")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/masuk")
    assert make_token(client).status_code == 302


def test_a_token_expires_after_its_days(world, signed_in, clock):
    officer = world.actors["officer"]
    client = signed_in(officer)
    secret = SECRET.search(make_token(client, days=1).text).group(0)
    [token] = stored_tokens(officer)
    assert token.expires_at == clock.now + timedelta(days=1)
    assert api_status(client, secret) == 200
    clock.advance(timedelta(days=1, seconds=1))
    assert api_status(client, secret) == 401
    [refused] = audit_entries("api.token.refused")
    assert refused.detail["reason"] == "expired"
    client = signed_in(officer)  # the first session's sign-in is a day old by now
    assert f'<tr data-token-id="{token.id}" class="token-expired">' in client.get("/akun/token").text


def test_the_forms_carry_working_csrf_tokens(world, app, database_url):
    protected = create_app({}, environ=app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))
    assert protected.config.get("WTF_CSRF_ENABLED", True)
    if "tokens" not in protected.blueprints:
        protected.register_blueprint(tokens_bp)
    officer = world.actors["officer"]
    client = protected.test_client()
    sign_in_with_tokens(client, officer)
    form = {"name": "Aplikasi", "scope": "read", "days": 7}
    assert client.post("/akun/token", data=form).status_code == 400
    assert stored_tokens(officer) == []
    answer = client.post("/akun/token", data={**form, "csrf_token": csrf_token(client.get("/akun/token"))})
    assert answer.status_code == 200 and SECRET.search(answer.text)
    [token] = stored_tokens(officer)
    assert client.post(f"/akun/token/{token.id}/cabut").status_code == 400
    assert stored_tokens(officer)[0].revoked_at is None
    revoke_token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/akun/token").text).group(1)
    assert client.post(f"/akun/token/{token.id}/cabut", data={"csrf_token": revoke_token}).status_code == 303
    assert stored_tokens(officer)[0].revoked_at is not None
