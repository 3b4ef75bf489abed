"""Residents' registration (/daftar): a new address gets an account to sign in with; an address
that has one (a staff one included) gets the same answer, and its owner an email instead."""
import re

import pytest
from sqlalchemy import func, select

from apoa import jobs
from apoa.auth.jobs import send_account_exists_notice
from apoa.auth.models import User
from apoa.extensions import db
from tests.conftest import AuthActions

PASSWORD = "rahasia-panjang"


def register(client, email, name="Sari"):
    return client.post("/daftar", data={"name": name, "email": email, "password": PASSWORD,
                                        "confirm": PASSWORD})


def shown_after(client, answer):
    """The page the answer leads to, without what differs on every page (the CSRF token)."""
    assert answer.status_code == 303 and answer.headers["Location"] == "/masuk"
    page = client.get(answer.headers["Location"]).text
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page)


def notices():
    return [call for call in jobs.pending()
            if call.path == "apoa.auth.jobs.send_account_exists_notice"]


def test_a_new_resident_registers_then_signs_in(client):
    answer = register(client, "sari@example.com")
    assert answer.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "sari@example.com"))
    assert user.role == "resident"
    assert AuthActions(client).login(user, password=PASSWORD).status_code == 302
    assert "Sari" in client.get("/laporan-saya").text
    assert notices() == []


@pytest.mark.parametrize("role", ["resident", "officer"])
def test_a_known_address_gets_the_same_answer_and_its_owner_an_email(app, make, role):
    owner = make.user(role=role, email="dipakai@example.com", name="Pemilik")
    first, second = app.test_client(), app.test_client()
    new_page = shown_after(first, register(first, "baru@example.com"))
    known_page = shown_after(second, register(second, "Dipakai@Example.com", name="Penyusup"))
    assert known_page == new_page
    assert [call.args for call in notices()] == [(owner.id,)]
    db.session.refresh(owner)
    assert owner.name == "Pemilik" and owner.check_password(PASSWORD) is False
    assert db.session.scalar(select(func.count()).select_from(User)
                             .where(User.email == "dipakai@example.com")) == 1


def test_the_notice_reaches_the_owner_and_says_nothing_of_who_tried(make, mail_to_sink, english):
    owner = make.user(role="resident", email="pemilik@example.com", name="Pemilik")
    assert send_account_exists_notice(owner.id) is True
    (notice,) = mail_to_sink.messages(to="pemilik@example.com")
    body = notice.get_content()
    assert "already has an account" in body and "Hello Pemilik" in body
    assert "https://apoa.example.go.id/masuk" in body


def test_without_a_mail_server_the_notice_is_skipped(make):
    owner = make.user(role="resident", email="pemilik@example.com")
    assert send_account_exists_notice(owner.id) is False
