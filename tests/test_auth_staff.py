"""Staff sign-in: a TOTP second factor with enrolment and recovery codes, lock-out after repeated
failures, new sessions at sign-in, idle and absolute session limits, and the audit entries."""
import logging
import re
from datetime import timedelta

import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.auth import sessions, signin
from apoa.auth.models import RecoveryCode, Role
from apoa.auth.services import disable_user
from apoa.auth.totp import decrypt_secret, replace_recovery_codes, rotate_totp_secrets
from apoa.extensions import db
from tests.conftest import TEST_PASSWORD, AuthActions, totp_code

SIGNED_IN_MARK = 'action="/keluar"'
LOCKED = "Too many failed attempts"


def signed_in(client):
    return SIGNED_IN_MARK in client.get("/").text


def password_step(client, user, password=TEST_PASSWORD):
    return client.post("/masuk", data={"email": user.email, "password": password})


def audit(action, obj=None):
    query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    if obj is not None:
        query = query.where(AuditEntry.object == obj)
    return db.session.scalars(query).all()


def page(answer):
    """The page without its CSRF tokens (different for every session)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", answer.text)


def enrolment_secret(text):
    return re.search(r'id="totp-secret">([A-Z2-7 ]+)<', text).group(1).replace(" ", "")


# --- enrolment ----------------------------------------------------------------------------------

def test_staff_without_an_app_enrol_at_first_sign_in(client, make, english):
    user = make.user(role="supervisor", totp=False)
    answer = password_step(client, user)
    assert answer.headers["Location"] == "/masuk/aktifkan-kode"
    assert not signed_in(client)
    page = client.get("/masuk/aktifkan-kode").text
    assert "<svg" in page and "<path" in page  # the QR code, inline
    secret = enrolment_secret(page)
    done = client.post("/masuk/aktifkan-kode", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z2-9-]{19})</code>", done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert signed_in(client)
    assert [e.actor_id for e in audit("auth.totp_enrol", f"user:{user.id}")] == [user.id]
    assert audit("auth.sign_in", f"user:{user.id}")[0].detail == {"method": "totp"}


def test_the_secret_is_stored_encrypted_and_kept_across_reloads(client, make):
    user = make.user(role="officer", totp=False)
    password_step(client, user)
    first = enrolment_secret(client.get("/masuk/aktifkan-kode").text)
    again = enrolment_secret(client.get("/masuk/aktifkan-kode").text)
    assert first == again
    db.session.refresh(user)
    assert first.encode() not in bytes(user.totp_secret)
    assert decrypt_secret(user.totp_secret) == first
    assert user.totp_enabled_at is None  # not on until a first code confirms it


def test_recovery_codes_are_stored_hashed(client, make):
    user = make.user(role="officer", totp=False)
    password_step(client, user)
    secret = enrolment_secret(client.get("/masuk/aktifkan-kode").text)
    page = client.post("/masuk/aktifkan-kode", data={"code": pyotp.TOTP(secret).now()}).text
    codes = re.findall(r"<code>([a-z2-9-]{19})</code>", page)
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10
    assert not any(code.replace("-", "") in stored_hash or code in stored_hash
                   for code in codes for stored_hash in stored)


def test_a_wrong_first_code_does_not_enrol(client, make, english):
    user = make.user(role="officer", totp=False)
    password_step(client, user)
    client.get("/masuk/aktifkan-kode")
    answer = client.post("/masuk/aktifkan-kode", data={"code": "000000"})
    assert answer.status_code == 400
    assert "The code is not correct" in answer.text
    db.session.refresh(user)
    assert user.totp_enabled_at is None and not signed_in(client)


def test_the_code_pages_need_a_good_password_first(client, make):
    make.user(role="officer")
    for path in ("/masuk/kode", "/masuk/aktifkan-kode"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"] == "/masuk"


def test_a_half_finished_sign_in_expires(client, make):
    user = make.user(role="officer")
    password_step(client, user)
    with client.session_transaction() as session:
        pending = session[sessions.PENDING_KEY]
        pending["at"] -= int(sessions.PENDING_TTL.total_seconds()) + 1
        session[sessions.PENDING_KEY] = pending
    answer = client.post("/masuk/kode", data={"code": totp_code(user)})
    assert answer.headers["Location"] == "/masuk"
    assert not signed_in(client)


# --- signing in with a code ---------------------------------------------------------------------

def test_enrolled_staff_need_the_code_after_the_password(client, auth, make):
    user = make.user(role="officer", name="Budi")
    answer = password_step(client, user)
    assert answer.headers["Location"] == "/masuk/kode"
    assert not signed_in(client)
    assert auth.login(user).status_code == 302
    assert signed_in(client)


def test_a_wrong_code_is_refused_and_counted(client, make, english):
    user = make.user(role="officer")
    password_step(client, user)
    answer = client.post("/masuk/kode", data={"code": "123456" if totp_code(user) != "123456" else "654321"})
    assert answer.status_code == 400
    assert "The code is not correct" in answer.text
    assert not signed_in(client)
    db.session.refresh(user)
    assert user.failed_logins == 1
    assert audit("auth.sign_in_failed", f"user:{user.id}")[-1].detail == {"stage": "second_factor"}


def test_a_code_is_accepted_only_once(app, client, make, english):
    user = make.user(role="officer")
    code = totp_code(user)
    password_step(client, user)
    assert client.post("/masuk/kode", data={"code": code}).status_code == 302
    other = app.test_client()
    password_step(other, user)
    replay = other.post("/masuk/kode", data={"code": code})
    assert replay.status_code == 400
    assert "already been used" in replay.text


def test_a_recovery_code_works_once(client, make, english):
    user = make.user(role="officer")
    codes = replace_recovery_codes(user)
    password_step(client, user)
    answer = client.post("/masuk/kode", data={"code": codes[3].upper().replace("-", " ")})
    assert answer.status_code == 302
    assert "9 are left" in client.get("/").text
    assert audit("auth.recovery_code_used", f"user:{user.id}")[-1].detail == {"left": 9}
    assert audit("auth.sign_in", f"user:{user.id}")[-1].detail == {"method": "recovery_code"}
    client.post("/keluar")
    password_step(client, user)
    assert client.post("/masuk/kode", data={"code": codes[3]}).status_code == 400
    assert client.post("/masuk/kode", data={"code": codes[4]}).status_code == 302


def test_residents_sign_in_with_the_password_alone(client, make):
    user = make.user(role="resident")
    answer = password_step(client, user)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert signed_in(client)


def test_the_administrator_lands_on_the_administration(auth, make):
    admin = make.user(role="admin")
    assert auth.login(admin).headers["Location"] == "/admin/pengguna"


def test_the_page_asked_for_comes_first_but_only_on_this_site(auth, make, client):
    user = make.user(role="officer")
    assert auth.login(user, next="/status").headers["Location"] == "/status"
    for elsewhere in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        client.post("/keluar")
        assert auth.login(user, next=elsewhere).headers["Location"] == "/tugas-saya"  # their work


# --- lock-out -----------------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_account(client, make, english):
    user = make.user(role="officer")
    answers = [password_step(client, user, "wrong-password") for _ in range(signin.MAX_FAILURES)]
    assert all(a.status_code == 400 for a in answers)
    assert all(LOCKED not in a.text for a in answers[:-1])
    assert LOCKED in answers[-1].text and "15 minutes" in answers[-1].text
    locked_out = password_step(client, user)  # the right password changes nothing now
    assert locked_out.status_code == 400 and LOCKED in locked_out.text
    assert len(audit("auth.lockout", f"user:{user.id}")) == 1


def test_the_lock_ends_after_its_time(client, auth, make, clock):
    user = make.user(role="resident")
    for _ in range(signin.MAX_FAILURES):
        password_step(client, user, "wrong-password")
    clock.advance(signin.LOCK_DURATION - timedelta(seconds=1))
    assert auth.login(user).status_code == 400        # the right password, a second too early
    clock.advance(timedelta(seconds=1))
    assert auth.login(user).status_code == 302


def test_a_success_resets_the_count(client, auth, make):
    user = make.user(role="officer")
    for _ in range(signin.MAX_FAILURES - 1):
        password_step(client, user, "wrong-password")
    auth.login(user)
    db.session.refresh(user)
    assert user.failed_logins == 0 and user.locked_until is None


def test_wrong_codes_lock_the_account_too(client, make, english):
    user = make.user(role="officer")
    password_step(client, user)
    wrong = "111111" if totp_code(user) != "111111" else "222222"
    for _ in range(signin.MAX_FAILURES - 1):
        assert client.post("/masuk/kode", data={"code": wrong}).status_code == 400
    answer = client.post("/masuk/kode", data={"code": wrong})
    assert answer.headers["Location"] == "/masuk"
    assert LOCKED in client.get("/masuk").text
    assert client.get("/masuk/kode").headers["Location"] == "/masuk"  # the half sign-in is gone


def test_an_unknown_address_gets_the_same_answers(app, make, english):
    user = make.user(role="officer", email="known@example.com")
    # Two clients from two addresses, each within the per-address limit of the sign-in page.
    first, second = app.test_client(), app.test_client()
    first.environ_base["REMOTE_ADDR"], second.environ_base["REMOTE_ADDR"] = "192.0.2.1", "192.0.2.2"
    known = [password_step(first, user, "wrong-password") for _ in range(signin.MAX_FAILURES + 1)]
    unknown = [second.post("/masuk", data={"email": "nobody@example.com", "password": "wrong-password"})
               for _ in range(signin.MAX_FAILURES + 1)]
    assert [a.status_code for a in known] == [a.status_code for a in unknown]
    assert [page(a) for a in known] == [page(a).replace("nobody@", "known@") for a in unknown]


def test_failed_sign_ins_of_unknown_addresses_are_audited_without_the_address(client):
    client.post("/masuk", data={"email": "Ghost@Example.com", "password": "whatever-it-is"})
    entry = audit("auth.sign_in_failed")[-1]
    assert entry.object == signin.email_object("ghost@example.com")
    assert re.fullmatch(r"email:[0-9a-f]{16}", entry.object)
    assert "ghost" not in str(entry.detail) and entry.actor_id is None


def test_no_password_code_or_address_reaches_the_logs(client, make, caplog):
    user = make.user(role="officer", email="secretive@example.com")
    with caplog.at_level(logging.DEBUG, logger="apoa"):
        password_step(client, user, "my-wrong-password")
        password_step(client, user)
        client.post("/masuk/kode", data={"code": "987654"})
        client.post("/masuk", data={"email": "stranger@example.com", "password": "other-password"})
    logged = caplog.text
    for secret in ("my-wrong-password", TEST_PASSWORD, "987654", "secretive@", "stranger@", "other-password"):
        assert secret not in logged


# --- sessions -----------------------------------------------------------------------------------

def test_sign_in_starts_a_new_session_keeping_only_the_language(client, auth, make):
    user = make.user(role="officer")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["lang"] = "en"
    auth.login(user)
    with client.session_transaction() as session:
        assert "planted" not in session and session["lang"] == "en"
        assert session[sessions.SECOND_FACTOR] == "totp"


def test_sign_in_and_sign_out_are_audited(auth, make):
    user = make.user(role="officer")
    auth.login(user)
    auth.logout()
    assert [e.action for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.object == f"user:{user.id}").order_by(AuditEntry.seq))] == \
        ["auth.sign_in", "auth.sign_out"]
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_disabling_an_account_ends_its_session(client, auth, make):
    user = make.user(role="officer")
    auth.login(user)
    assert signed_in(client)
    disable_user(user)
    assert not signed_in(client)


@pytest.mark.parametrize("key, age", [
    (sessions.SEEN_AT, sessions.STAFF_LIMITS.idle),
    (sessions.SIGNED_IN_AT, sessions.STAFF_LIMITS.absolute),
])
def test_staff_sessions_end_when_idle_or_too_old(client, auth, make, english, key, age):
    user = make.user(role="officer")
    auth.login(user)
    with client.session_transaction() as session:
        session[key] -= int(age.total_seconds()) + 1
    answer = client.get("/status")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/masuk?next=/status"
    page = client.get("/masuk").text
    assert "Your session has ended" in page and SIGNED_IN_MARK not in page


def test_a_script_fetching_data_gets_401_when_the_session_has_ended(client, auth, make):
    auth.login(make.user(role="officer"))
    with client.session_transaction() as session:
        session[sessions.SEEN_AT] -= int(sessions.STAFF_LIMITS.idle.total_seconds()) + 1
    answer = client.get("/status", headers={"Accept": "application/json"})
    assert answer.status_code == 401 and answer.json["error"]["status"] == 401


def test_a_staff_session_in_use_stays(client, auth, make, clock):
    user = make.user(role="officer")
    auth.login(user)
    with client.session_transaction() as session:   # idle and signed in for exactly the limits
        session[sessions.SEEN_AT] -= int(sessions.STAFF_LIMITS.idle.total_seconds())
        session[sessions.SIGNED_IN_AT] -= int(sessions.STAFF_LIMITS.absolute.total_seconds())
    assert signed_in(client)
    with client.session_transaction() as session:
        assert session[sessions.SEEN_AT] == int(clock.now.timestamp())  # the visit counts as activity


def test_residents_stay_signed_in_longer(client, auth, make):
    user = make.user(role="resident")
    auth.login(user)
    with client.session_transaction() as session:
        session[sessions.SEEN_AT] -= int(sessions.STAFF_LIMITS.idle.total_seconds()) * 4
        session[sessions.SIGNED_IN_AT] -= int(sessions.STAFF_LIMITS.absolute.total_seconds()) * 2
    assert signed_in(client)


def test_staff_cookies_end_with_the_browser_and_residents_persist(app, make):
    staff, resident = app.test_client(), app.test_client()
    staff_cookie = AuthActions(staff).login(make.user(role="officer")).headers["Set-Cookie"]
    resident_cookie = AuthActions(resident).login(make.user(role="resident")).headers["Set-Cookie"]
    assert "Expires=" not in staff_cookie and "Expires=" in resident_cookie
    for cookie in (staff_cookie, resident_cookie):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_staff_session_that_skipped_the_second_factor_is_ended(client, auth, make):
    user = make.user(role="officer")
    auth.login(user)
    with client.session_transaction() as session:
        del session[sessions.SECOND_FACTOR]
    assert not signed_in(client)


# --- keys ---------------------------------------------------------------------------------------

def test_totp_secrets_survive_a_key_rotation(app, make, monkeypatch, harness):
    user = make.user(role="officer")
    secret = decrypt_secret(user.totp_secret)
    new_key = Fernet.generate_key().decode()
    for each in (app, harness):
        monkeypatch.setitem(each.config, "CONTACT_KEYS", [new_key, *each.config["CONTACT_KEYS"]])
    assert rotate_totp_secrets() >= 1
    for each in (app, harness):
        monkeypatch.setitem(each.config, "CONTACT_KEYS", [new_key])
    assert decrypt_secret(user.totp_secret) == secret
    assert audit("auth.totp_rotate")[-1].detail["users"] >= 1


# --- the demo -----------------------------------------------------------------------------------

def test_demo_staff_sign_in_with_the_published_keys(app):
    from apoa.demo.seed import DEMO_PASSWORD, DEMO_TOTP_SECRETS, USERS, seed_demo

    seed_demo(report_count=5)
    staff = [email for email, _name, role, _office in USERS if Role(role).is_staff]
    assert sorted(staff) == sorted(DEMO_TOTP_SECRETS)
    for email in staff:
        client = app.test_client()
        client.post("/masuk", data={"email": email, "password": DEMO_PASSWORD})
        answer = client.post("/masuk/kode", data={"code": pyotp.TOTP(DEMO_TOTP_SECRETS[email]).now()})
        assert answer.status_code == 302, email
        assert signed_in(client)


def test_the_demo_is_refused_in_production(app, monkeypatch, harness):
    from apoa.demo.seed import seed_demo
    from apoa.errors import UserValueError

    monkeypatch.setitem(harness.config, "APOA_ENV", "production")
    with pytest.raises(UserValueError, match="not for production"):
        seed_demo(report_count=5)
