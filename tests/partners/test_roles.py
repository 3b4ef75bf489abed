"""The partner role: an account that acts for its team's office, made only with its agency (not
by the administration's forms), staff-like at sign-in, and granted nothing but view_shared."""
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from apoa.auth.models import Role, User
from apoa.auth.permissions import ROLE_PERMISSIONS, Permission, partner_team_office
from apoa.extensions import db


def test_a_partner_has_only_view_shared_and_signs_in_as_staff():
    assert ROLE_PERMISSIONS[Role.partner] == frozenset({Permission.view_shared})
    assert Role.partner.is_staff and Role.partner.needs_office
    assert not Role.partner.assigned_by_admin and Role.officer.assigned_by_admin


def test_the_database_refuses_a_partner_without_an_office(teams):
    user = User(email="tanpa.kantor@polri.example", name="Tanpa Kantor", role="partner",
                password_hash="x")
    db.session.add(user)
    with pytest.raises(IntegrityError, match="office_for_staff"):
        with db.session.begin_nested():
            db.session.flush()


def test_the_team_office_is_the_agencys_and_only_while_it_takes_part(teams):
    assert partner_team_office(teams.member) == teams.karawang.id
    assert partner_team_office(teams.supervisor) is None
    teams.polri.active = False
    db.session.flush()
    assert partner_team_office(teams.member) is None


def test_the_administration_does_not_offer_the_partner_role(teams, sign_in):
    client = sign_in(teams.admin)
    form = client.get("/admin/pengguna/baru")
    assert 'value="officer"' in form.text and 'value="partner"' not in form.text
    refused = client.post("/admin/pengguna/baru", data={"name": "Anggota", "email": "anggota@tni.example",
                                                        "role": "partner", "office": teams.karawang.code})
    assert refused.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "anggota@tni.example")) is None
    # Partner accounts are still listed, so that the administration can disable one or reset its codes.
    assert teams.member.email in client.get("/admin/pengguna").text


def test_the_administration_can_neither_make_nor_unmake_a_partner_by_role(teams, sign_in):
    client = sign_in(teams.admin)
    page = client.get(f"/admin/pengguna/{teams.member.id}")
    assert 'id="role-elsewhere"' in page.text and f"/admin/pengguna/{teams.member.id}/peran" not in page.text
    for user, role in ((teams.member, "officer"), (teams.supervisor, "partner")):
        answer = client.post(f"/admin/pengguna/{user.id}/peran", data={"role": role, "office": teams.karawang.code},
                             follow_redirects=True)
        assert 'class="flash flash-error"' in answer.text
    assert (teams.member.role, teams.supervisor.role) == ("partner", "supervisor")


def test_the_command_line_does_not_make_partner_accounts(runner):
    answer = runner.invoke(args=["users", "create", "--email", "x@polri.example", "--name", "X",
                                 "--role", "partner", "--office", "KANIM-A", "--password", "a-long-password-1"])
    assert answer.exit_code != 0 and "partner" in answer.output


@pytest.mark.parametrize("path", ["/akun/token", "/notifikasi"])
def test_a_partner_has_no_api_tokens_nor_an_officers_inbox(teams, sign_in, path):
    assert sign_in(teams.member).get(path).status_code in (403, 404)
