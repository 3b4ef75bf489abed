"""Home page, error pages in both formats, and the language switch. (/healthz: tests/jobs/test_health.py.)"""
import pytest
from sqlalchemy import select

from apoa.extensions import db
from apoa.regions.models import Office

JSON = {"Accept": "application/json"}


def test_home_page_speaks_indonesian_by_default(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'lang="id"' in page.text
    assert "Laporkan keberadaan orang asing" in page.text


def test_home_page_fits_a_phone(client):
    page = client.get("/")
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page.text


@pytest.mark.parametrize("method, path, status", [
    ("get", "/no-such-page", 404),
    ("put", "/", 405),
])
def test_http_errors_answer_json_when_asked(client, method, path, status):
    answer = getattr(client, method)(path, headers=JSON)
    assert answer.status_code == status
    assert answer.is_json
    assert answer.get_json()["error"]["status"] == status


def test_http_errors_answer_a_translated_html_page(client):
    answer = client.get("/no-such-page")
    assert answer.status_code == 404
    assert answer.mimetype == "text/html"
    assert "Halaman yang Anda minta tidak ada." in answer.text


def test_errors_in_english_when_english_is_chosen(client):
    client.post("/bahasa", data={"lang": "en", "next": "/"})
    answer = client.get("/no-such-page")
    assert "The page you asked for does not exist." in answer.text


@pytest.fixture(scope="module")
def error_app(database_url, tmp_path_factory):
    """A second app on the test database with routes that fail on purpose (routes must be added
    before an app serves its first request, so the shared app cannot take them)."""
    from apoa import create_app
    from apoa.errors import NotAllowed, UserValueError
    from tests.conftest import app_environ

    app = create_app(environ=app_environ(database_url, APOA_INSTANCE_DIR=str(tmp_path_factory.mktemp("e"))))

    def boom():
        db.session.add(Office(code="HALF-WRITTEN", name="x", kind="ditjen"))
        db.session.flush()
        raise RuntimeError("unexpected")

    def refuse():
        raise NotAllowed()

    def bad_value():
        raise UserValueError("Tanggal tidak boleh di masa depan.")

    app.add_url_rule("/_test/boom", "boom", boom)
    app.add_url_rule("/_test/refuse", "refuse", refuse)
    app.add_url_rule("/_test/bad-value", "bad_value", bad_value)
    return app


@pytest.fixture
def error_client(error_app):
    return error_app.test_client()


@pytest.mark.parametrize("path, status", [("/_test/boom", 500), ("/_test/refuse", 403), ("/_test/bad-value", 400)])
def test_application_errors_in_both_formats(error_client, path, status):
    html = error_client.get(path)
    assert html.status_code == status and html.mimetype == "text/html"
    as_json = error_client.get(path, headers=JSON)
    assert as_json.status_code == status and as_json.get_json()["error"]["status"] == status


def test_user_value_error_shows_its_message(error_client):
    answer = error_client.get("/_test/bad-value", headers=JSON)
    assert answer.get_json()["error"]["message"] == "Tanggal tidak boleh di masa depan."


def test_a_failing_request_leaves_nothing_written(error_client):
    error_client.get("/_test/boom")
    assert db.session.scalar(select(Office).where(Office.code == "HALF-WRITTEN")) is None


def test_language_switch_to_english_and_back(client):
    client.post("/bahasa", data={"lang": "en", "next": "/"})
    page = client.get("/")
    assert 'lang="en"' in page.text and "Report the presence of foreigners" in page.text
    client.post("/bahasa", data={"lang": "id", "next": "/"})
    assert "Laporkan keberadaan orang asing" in client.get("/").text


def test_language_switch_refuses_an_unknown_language(client):
    answer = client.post("/bahasa", data={"lang": "xx"})
    assert answer.status_code == 400


def test_language_switch_never_redirects_off_site(client):
    answer = client.post("/bahasa", data={"lang": "en", "next": "//evil.example/"})
    assert answer.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", "https://evil.example/",
                                    "/x\r\nSet-Cookie: a=b"])
def test_no_redirect_leaves_the_site(client, target):
    answer = client.post("/bahasa", data={"lang": "en", "next": target})
    assert answer.headers["Location"] == "/"
