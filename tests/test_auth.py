"""Password sign-in for the demo and staff users; sign-out ends the session on the server."""
import pytest

from apoa.auth.services import create_user
from apoa.errors import UserValueError

SIGNED_IN_MARK = 'action="/keluar"'


def test_a_user_signs_in_and_out(client, auth, make):
    user = make.user(role="officer", name="Budi")
    answer = auth.login(user)
    assert answer.status_code == 302
    page = client.get("/").text
    assert "Budi" in page and SIGNED_IN_MARK in page
    auth.logout()
    assert SIGNED_IN_MARK not in client.get("/").text


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, auth, make):
    user = make.user()
    answer = auth.login(user, password="wrong-password")
    assert answer.status_code == 400
    assert "Email atau kata sandi salah." in answer.text


def test_a_disabled_user_cannot_sign_in(auth, make):
    user = make.user(active=False)
    assert auth.login(user).status_code == 400


def test_an_old_session_cookie_stops_working_after_sign_out(app, client, auth, make):
    user = make.user()
    auth.login(user)
    client.get("/")  # consumes the welcome message, so the cookie holds only the session
    cookie = client.get_cookie("session").value
    replay_before = app.test_client()
    replay_before.set_cookie("session", cookie)
    assert SIGNED_IN_MARK in replay_before.get("/").text
    auth.logout()
    replay_after = app.test_client()
    replay_after.set_cookie("session", cookie)
    assert SIGNED_IN_MARK not in replay_after.get("/").text


def test_users_cli_creates_staff_with_an_office(runner, make, english):
    office = make.office(code="KANIM-UJI")
    result = runner.invoke(args=["users", "create", "--email", "Ani@Example.com", "--name", "Ani",
                                 "--role", "officer", "--office", office.code, "--password", "panjang-sekali-1"])
    assert result.exit_code == 0, result.output
    assert "<ani@example.com> as officer" in result.output


@pytest.mark.parametrize("role, office, password, message", [
    ("officer", None, "panjang-sekali-1", "needs an office"),
    ("officer", "NOPE", "panjang-sekali-1", "no office with the code NOPE"),
    ("admin", None, "short", "at least 10 characters"),
    ("king", None, "panjang-sekali-1", "Unknown role"),
])
def test_create_user_refuses_bad_input(english, role, office, password, message):
    with pytest.raises(UserValueError, match=message):
        create_user("x@example.com", "X", password, role, office)


def test_the_same_email_cannot_be_used_twice(english, make):
    make.user(email="dup@example.com")
    with pytest.raises(UserValueError, match="already exists"):
        create_user("DUP@example.com", "Dup", "panjang-sekali-1", "resident")
