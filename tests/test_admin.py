"""Administration of staff accounts, on the pages and through `flask users`: only for users who
may manage users (404 for everyone else), and never showing report content."""
import re

import pytest
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.auth.models import RecoveryCode, User
from apoa.auth.permissions import Permission, can, has_permission, visible
from apoa.auth.services import disable_user, grant_role
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.reports.models import Report
from tests.conftest import AuthActions

SIGNED_IN_MARK = 'action="/keluar"'
ADMIN_PAGES = ["/admin", "/admin/", "/admin/pengguna", "/admin/pengguna/baru", "/admin/pengguna/1"]


@pytest.fixture
def admin(make, auth):
    user = make.user(role="admin", name="Admin Uji")
    auth.login(user)
    return user


def audit(action, user):
    return db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.object == f"user:{user.id}").order_by(AuditEntry.seq)).all()


# --- who may enter ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_the_administration_is_not_found_without_signing_in(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("role", ["resident", "officer", "supervisor", "regional_head"])
def test_the_administration_is_not_found_for_other_roles(client, auth, make, role):
    auth.login(make.user(role=role))
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 404, path
    assert client.post("/admin/pengguna/1/nonaktifkan").status_code == 404


def test_only_the_admin_role_manages_users():
    from apoa.auth.models import Role
    from apoa.auth.permissions import ROLE_PERMISSIONS

    assert [r for r in Role if Permission.manage_users in ROLE_PERMISSIONS[r]] == [Role.admin]


def test_the_admin_reads_no_reports(client, admin, make):
    report = make.report(description="Pekerja asing di gudang rahasia dekat sungai.")
    assert not has_permission(admin, Permission.view_report)
    assert not can(admin, Permission.view_report, report)
    assert db.session.scalars(visible(select(Report), admin)).all() == []
    for path in ("/admin/pengguna", f"/admin/pengguna/{admin.id}"):
        page = client.get(path).text
        assert report.tracking_code not in page and "gudang rahasia" not in page


# --- the list -----------------------------------------------------------------------------------

def test_the_list_shows_staff_and_filters_by_office_and_role(client, admin, make):
    karawang, kotabumi = make.office(code="KANIM-A"), make.office(code="KANIM-B")
    make.user(role="officer", office=karawang, name="Petugas Satu")
    make.user(role="supervisor", office=karawang, name="Penyelia Dua")
    make.user(role="officer", office=kotabumi, name="Petugas Tiga")
    make.user(role="resident", name="Warga Empat")
    page = client.get("/admin/pengguna").text
    assert all(name in page for name in ("Petugas Satu", "Penyelia Dua", "Petugas Tiga", "Admin Uji"))
    assert "Warga Empat" not in page  # residents are not the administration's business
    by_office = client.get("/admin/pengguna?office=KANIM-A").text
    assert "Petugas Satu" in by_office and "Penyelia Dua" in by_office and "Petugas Tiga" not in by_office
    by_both = client.get("/admin/pengguna?office=KANIM-A&role=officer").text
    assert "Petugas Satu" in by_both and "Penyelia Dua" not in by_both
    stale = client.get("/admin/pengguna?office=GONE&role=king")
    assert stale.status_code == 200 and "Petugas Tiga" in stale.text and 'class="field-error"' not in stale.text


def test_a_resident_has_no_page_here(client, admin, make):
    resident = make.user(role="resident")
    assert client.get(f"/admin/pengguna/{resident.id}").status_code == 404
    assert client.post(f"/admin/pengguna/{resident.id}/nonaktifkan").status_code == 404


# --- creating accounts --------------------------------------------------------------------------

def test_a_new_officer_gets_a_first_password_shown_once(app, client, admin, make, english):
    office = make.office(code="KANIM-BARU")
    answer = client.post("/admin/pengguna/baru", data={
        "name": "Rina", "email": "Rina@Example.com", "role": "officer", "office": office.code, "password": ""})
    assert answer.status_code == 200
    password = re.search(r'id="first-password">([^<]+)<', answer.text).group(1)
    user = db.session.scalar(select(User).where(User.email == "rina@example.com"))
    assert user.office_id == office.id and user.check_password(password)
    assert password not in str(audit("user.create", user)[0].detail)
    assert password not in client.get(f"/admin/pengguna/{user.id}").text
    first_sign_in = app.test_client().post("/masuk", data={"email": "rina@example.com", "password": password})
    assert first_sign_in.headers["Location"] == "/masuk/aktifkan-kode"


def test_a_password_the_admin_chose_is_not_shown_again(client, admin):
    answer = client.post("/admin/pengguna/baru", data={
        "name": "Joko", "email": "joko@example.com", "role": "admin", "office": "", "password": "dipilih-admin-1"})
    assert answer.status_code == 200
    assert "dipilih-admin-1" not in answer.text and 'id="first-password"' not in answer.text


@pytest.mark.parametrize("data, message", [
    ({"role": "officer", "office": ""}, "Choose the office"),
    ({"role": "officer", "office": "KANIM-X", "email": "taken@example.com"}, "already exists"),
    ({"role": "admin", "office": "", "password": "short"}, "at least 10 characters"),
])
def test_a_new_account_with_a_problem_is_refused(client, admin, make, english, data, message):
    make.office(code="KANIM-X")
    make.user(role="resident", email="taken@example.com")
    form = {"name": "Baru", "email": "baru@example.com", "password": "", **data}
    answer = client.post("/admin/pengguna/baru", data=form)
    assert answer.status_code == 400 and message in answer.text


# --- changing accounts --------------------------------------------------------------------------

def test_disabling_ends_the_users_session_and_enabling_lets_them_back(app, client, admin, make):
    officer = make.user(role="officer")
    theirs = app.test_client()
    AuthActions(theirs).login(officer)
    assert SIGNED_IN_MARK in theirs.get("/").text
    assert client.post(f"/admin/pengguna/{officer.id}/nonaktifkan").status_code == 303
    assert SIGNED_IN_MARK not in theirs.get("/").text
    assert AuthActions(theirs).login(officer).status_code == 400
    assert [e.actor_id for e in audit("user.disable", officer)] == [admin.id]
    client.post(f"/admin/pengguna/{officer.id}/aktifkan")
    assert AuthActions(theirs).login(officer).status_code == 302


def test_changing_a_role_moves_the_office_and_ends_sessions(app, client, admin, make):
    officer = make.user(role="officer")
    other_office = make.office(code="KANIM-LAIN")
    theirs = app.test_client()
    AuthActions(theirs).login(officer)
    answer = client.post(f"/admin/pengguna/{officer.id}/peran",
                         data={"role": "supervisor", "office": other_office.code})
    assert answer.status_code == 303
    db.session.refresh(officer)
    assert (officer.role, officer.office_id) == ("supervisor", other_office.id)
    assert SIGNED_IN_MARK not in theirs.get("/").text
    entry = audit("user.grant", officer)[-1]
    assert entry.actor_id == admin.id and entry.detail["to"] == {"role": "supervisor", "office": "KANIM-LAIN"}


def test_an_office_role_without_an_office_is_refused(client, admin, make, english):
    user = make.user(role="admin", name="Admin Dua")
    client.post(f"/admin/pengguna/{user.id}/peran", data={"role": "officer", "office": ""})
    db.session.refresh(user)
    assert user.role == "admin"
    assert "Choose the office" in client.get(f"/admin/pengguna/{user.id}").text


def test_resetting_the_sign_in_codes_makes_the_user_enrol_again(app, client, admin, make):
    officer = make.user(role="officer")
    from apoa.auth.totp import replace_recovery_codes

    replace_recovery_codes(officer)
    client.post(f"/admin/pengguna/{officer.id}/reset-kode")
    db.session.refresh(officer)
    assert officer.totp_secret is None and officer.totp_enabled_at is None
    assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == officer.id)).all() == []
    answer = AuthActions(app.test_client()).login(officer)
    assert answer.headers["Location"] == "/masuk/aktifkan-kode"
    assert [e.actor_id for e in audit("auth.totp_reset", officer)] == [admin.id]


def test_a_locked_account_can_be_unlocked(app, client, admin, make):
    from apoa.auth import signin

    officer = make.user(role="officer")
    theirs = app.test_client()
    for _ in range(signin.MAX_FAILURES):
        theirs.post("/masuk", data={"email": officer.email, "password": "wrong-password"})
    assert "buka-kunci" in client.get(f"/admin/pengguna/{officer.id}").text
    client.post(f"/admin/pengguna/{officer.id}/buka-kunci")
    assert AuthActions(theirs).login(officer).status_code == 302


def test_the_admin_cannot_lock_themselves_out(client, admin, english):
    page = client.get(f"/admin/pengguna/{admin.id}").text
    assert "nonaktifkan" not in page and "/peran" not in page
    client.post(f"/admin/pengguna/{admin.id}/nonaktifkan")
    assert "You cannot disable your own account." in client.get(f"/admin/pengguna/{admin.id}").text
    with pytest.raises(UserValueError):
        grant_role(admin, "officer", actor=admin)
    with pytest.raises(UserValueError):
        disable_user(admin, actor=admin)


# --- the command line ---------------------------------------------------------------------------

def test_cli_disables_a_user(runner, make):
    user = make.user(role="officer", email="cli-off@example.com")
    result = runner.invoke(args=["users", "disable", "cli-off@example.com"])
    assert result.exit_code == 0, result.output
    db.session.refresh(user)
    assert not user.active
    assert audit("user.disable", user)[0].actor_id is None


def test_cli_grants_a_role_with_an_office(runner, make):
    user = make.user(role="resident", email="cli-grant@example.com")
    office = make.office(code="KANIM-CLI")
    result = runner.invoke(args=["users", "grant", "cli-grant@example.com", "--role", "officer",
                                 "--office", office.code])
    assert result.exit_code == 0, result.output
    assert "is now officer at KANIM-CLI" in result.output
    db.session.refresh(user)
    assert (user.role, user.office_id) == ("officer", office.id)


def test_cli_grant_keeps_the_office_of_staff(runner, make):
    user = make.user(role="officer", email="cli-keep@example.com")
    office_id = user.office_id
    assert runner.invoke(args=["users", "grant", user.email, "--role", "supervisor"]).exit_code == 0
    db.session.refresh(user)
    assert (user.role, user.office_id) == ("supervisor", office_id)


@pytest.mark.parametrize("args, message", [
    (["users", "disable", "nobody@example.com"], "no user with the email"),
    (["users", "grant", "cli-bad@example.com", "--role", "officer", "--office", "NOPE"],
     "no office with the code NOPE"),
    (["users", "grant", "cli-bad@example.com", "--role", "supervisor"], "needs an office"),
])
def test_cli_refuses_bad_input(runner, make, english, args, message):
    make.user(role="resident", email="cli-bad@example.com")
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and message in result.output


def test_cli_resets_totp_and_enables(runner, make):
    user = make.user(role="officer", email="cli-reset@example.com", active=False)
    assert runner.invoke(args=["users", "reset-totp", user.email]).exit_code == 0
    assert runner.invoke(args=["users", "enable", user.email]).exit_code == 0
    db.session.refresh(user)
    assert user.active and user.totp_secret is None
