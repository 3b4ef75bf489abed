"""The public JSON API v1 (apoa/api/public.py): categories, submitting a report as JSON or multipart
with an Idempotency-Key, the coarse status by tracking code, follow-ups, problem+json errors in the
request's language, the budgets, and the OpenAPI document with its docs page."""
import base64
import io
import uuid
from datetime import timedelta, timezone

import pytest
import schemathesis
from limits import parse_many
from PIL import ExifTags, Image
from sqlalchemy import func, select

from apoa import create_app
from apoa.api.models import ApiSubmission
from apoa.extensions import db
from apoa.reports import tracking
from apoa.reports.abuse import CODE_MISSES_PER_REQUESTER, REPORTS_PER_REQUESTER
from apoa.reports.models import Attachment, Category, Report
from apoa.reports.photos import open_stored
from apoa.reports.services import upload_dir
from tests.clock import WIB
from tests.conftest import TEST_CONFIG, app_environ
from tests.reports.helpers import form_data

REPORTS = "/api/v1/reports"
PROBLEM = "application/problem+json"
PUBLIC_STATUS_KEYS = {"tracking_code", "status", "received_at", "updated_at", "closed_at", "follow_ups"}


@pytest.fixture
def karawang(make):
    return make.office(code="KANIM-KARAWANG-API", name="Kantor Imigrasi Karawang", regions=["32.15"])


def category_id(code="illegal_work"):
    return db.session.scalar(select(Category.id).where(Category.code == code))


def report_body(clock, **overrides):
    """A valid JSON submission: anonymous, seen two hours ago in Kabupaten Karawang."""
    body = {"category_id": category_id(), "description": "Lima orang asing bekerja di proyek tanpa izin.",
            "people_count": 5, "nationality": "CN", "place_kind": "project_site",
            "observed_at": (clock.now - timedelta(hours=2)).astimezone(WIB).isoformat(),
            "latitude": -6.30, "longitude": 107.30, "address": "Jl. Industri", "consent": True}
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not None}


def photo_with_gps():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyPhone"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "S", ExifTags.GPS.GPSLatitude: (6.0, 18.0, 0.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (30, 120, 200)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def post_report(client, body, key=None, **headers):
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(REPORTS, json=body, headers=headers)


def report_of(answer):
    code = tracking.normalise(answer.get_json()["tracking_code"])
    return db.session.scalar(select(Report).where(Report.tracking_code == code))


def report_count():
    return db.session.scalar(select(func.count()).select_from(Report))


def assert_problem(answer, status):
    assert answer.status_code == status, answer.text
    assert answer.mimetype == PROBLEM
    problem = answer.get_json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return problem


# --- categories ------------------------------------------------------------------------------------

def test_categories_are_named_in_the_requested_language(client):
    indonesian = client.get("/api/v1/categories").get_json()
    english = client.get("/api/v1/categories", headers={"Accept-Language": "en"}).get_json()
    by_query = client.get("/api/v1/categories?lang=en", headers={"Accept-Language": "id"}).get_json()
    active = db.session.scalars(select(Category).where(Category.active).order_by(Category.position)).all()
    assert indonesian == [{"id": c.id, "code": c.code, "name": c.name_id} for c in active]
    assert english == by_query == [{"id": c.id, "code": c.code, "name": c.name_en} for c in active]


# --- submitting ------------------------------------------------------------------------------------

def test_a_json_report_reaches_the_karawang_office_as_an_api_report(client, clock, karawang):
    key = str(uuid.uuid4())
    answer = post_report(client, report_body(clock), key=key)

    assert answer.status_code == 201, answer.text
    body = answer.get_json()
    assert set(body) == {"tracking_code", "status", "receipt_url", "status_url"} and body["status"] == "received"
    report = report_of(answer)
    assert report.channel == "api" and report.office_id == karawang.id
    assert str(report.submission_key) == key and report.contact is None and report.reporter_id is None
    assert report.observed_at == clock.now.replace(microsecond=0) - timedelta(hours=2)
    assert report.nationality_guess == "CN" and report.people_count == 5
    assert body["tracking_code"] == tracking.display(report.tracking_code)
    assert answer.headers["Location"] == body["status_url"]
    assert body["status_url"].endswith(f"/api/v1/reports/{report.tracking_code}/status")
    assert body["receipt_url"].endswith(f"/lapor/tanda-terima/{report.tracking_code}")
    assert client.get(body["status_url"]).status_code == 200


def test_contact_details_are_kept_for_the_officers_only(client, clock, karawang):
    answer = post_report(client, report_body(clock, contact={"name": "Budi", "phone": "0812 3456 7890"}))
    assert answer.status_code == 201, answer.text
    report = report_of(answer)
    assert report.contact is not None and "0812" not in answer.text


def test_observed_at_in_utc_means_the_same_instant(client, clock, karawang):
    observed = (clock.now - timedelta(hours=5)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = post_report(client, report_body(clock, observed_at=observed.replace("Z", "+00:00")))
    assert answer.status_code == 201, answer.text
    assert report_of(answer).observed_at == clock.now.replace(microsecond=0) - timedelta(hours=5)


def test_a_multipart_report_keeps_its_photo_without_metadata(client, clock, karawang):
    fields = {name: str(value).lower() if isinstance(value, bool) else str(value)
              for name, value in report_body(clock).items()}
    answer = client.post(REPORTS, data={**fields, "contact_email": "warga@example.com",
                                        "photos": [(io.BytesIO(photo_with_gps()), "foto.jpg", "image/jpeg")]},
                         headers={"Idempotency-Key": str(uuid.uuid4())}, content_type="multipart/form-data")

    assert answer.status_code == 201, answer.text
    report = report_of(answer)
    assert report.channel == "api" and report.office_id == karawang.id and report.contact is not None
    [attachment] = db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)).all()
    with Image.open(open_stored(upload_dir(), attachment.stored_path)) as stored:
        assert len(stored.getexif()) == 0 and "exif" not in stored.info


def test_base64_photos_are_attached(client, clock, karawang):
    photo = base64.b64encode(photo_with_gps()).decode()
    answer = post_report(client, report_body(clock, photos=[photo]))
    assert answer.status_code == 201, answer.text
    assert db.session.scalar(select(func.count()).select_from(Attachment)
                             .where(Attachment.report_id == report_of(answer).id)) == 1


def test_more_than_three_photos_or_bad_base64_are_refused(client, clock, karawang):
    photo = base64.b64encode(photo_with_gps()).decode()
    too_many = assert_problem(post_report(client, report_body(clock, photos=[photo] * 4)), 422)
    not_base64 = assert_problem(post_report(client, report_body(clock, photos=["not base64!"])), 422)
    assert set(too_many["errors"]) == set(not_base64["errors"]) == {"photos"}


def test_the_same_key_and_body_answer_with_the_first_report_once(client, clock, karawang):
    key, body = str(uuid.uuid4()), report_body(clock)
    before = report_count()
    first = post_report(client, body, key=key)
    again = post_report(client, dict(reversed(list(body.items()))), key=key)  # same body, other order

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert report_count() == before + 1
    assert db.session.get(ApiSubmission, uuid.UUID(key)).report_id == report_of(first).id


def test_the_same_key_with_another_body_is_refused(client, clock, karawang):
    key = str(uuid.uuid4())
    assert post_report(client, report_body(clock), key=key).status_code == 201
    before = report_count()
    problem = assert_problem(post_report(client, report_body(clock, people_count=6), key=key), 422)
    assert "Idempotency-Key" in problem["errors"]
    assert report_count() == before


def test_a_multipart_resend_of_an_offline_draft_makes_one_report(client, clock, karawang):
    """The offline form sends its draft as multipart, its submission key as Idempotency-Key."""
    key = str(uuid.uuid4())
    fields = {name: str(value) for name, value in report_body(clock, consent="true").items()}

    def send():
        return client.post(REPORTS, data={**fields, "photos": [(io.BytesIO(photo_with_gps()), "a.jpg")]},
                           headers={"Idempotency-Key": key}, content_type="multipart/form-data")

    before = report_count()
    first, again = send(), send()
    assert first.status_code == again.status_code == 201, first.text
    assert first.get_json() == again.get_json() and report_count() == before + 1


def test_a_key_the_web_form_already_used_answers_with_that_report(client, clock, karawang):
    key = str(uuid.uuid4())
    assert client.post("/lapor", data=form_data(submission_key=key)).status_code == 303
    before = report_count()
    answer = post_report(client, report_body(clock), key=key)
    assert answer.status_code == 201 and report_count() == before
    assert str(report_of(answer).submission_key) == key


def test_a_malformed_idempotency_key_is_refused(client, clock, karawang):
    problem = assert_problem(post_report(client, report_body(clock), key="not-a-uuid"), 422)
    assert "Idempotency-Key" in problem["errors"]


def test_invalid_fields_are_named_in_indonesian_by_default(client, clock):
    before = report_count()
    answer = post_report(client, report_body(clock, description="pendek", category_id=None, consent=False))
    problem = assert_problem(answer, 422)
    assert problem["errors"]["description"] == ["Tulis antara 10 dan 2000 karakter."]
    assert set(problem["errors"]) == {"description", "category_id", "consent"}
    assert report_count() == before


def test_invalid_fields_are_named_in_english_when_asked(client, clock):
    answer = post_report(client, report_body(clock, description="short", people_count=0,
                                             contact={"name": "Budi"}), **{"Accept-Language": "en"})
    problem = assert_problem(answer, 422)
    assert problem["title"] == "Invalid input"
    assert problem["errors"]["description"] == ["Write between 10 and 2000 characters."]
    assert problem["errors"]["people_count"] == ["Enter a number from 1 to 1000."]
    assert problem["errors"]["contact"] == ["Enter a phone number or an email address, "
                                           "or choose to report anonymously."]


def test_a_time_in_the_future_is_refused(client, clock, karawang):
    tomorrow = (clock.now + timedelta(days=1)).astimezone(WIB).isoformat()
    problem = assert_problem(post_report(client, report_body(clock, observed_at=tomorrow),
                                         **{"Accept-Language": "en"}), 422)
    assert problem["errors"]["observed_at"] == ["The time cannot be in the future."]


def test_a_place_outside_indonesia_is_refused(client, clock):
    answer = post_report(client, report_body(clock, latitude=1.2903, longitude=103.8519),  # Singapore
                         **{"Accept-Language": "en"})
    problem = assert_problem(answer, 422)
    assert problem["errors"]["latitude"] == ["This place is outside Indonesia. Move the pin to where you saw them."]


def test_a_body_that_is_not_a_json_object_is_a_bad_request(client):
    assert_problem(client.post(REPORTS, data="[1, 2]", content_type="application/json"), 400)
    assert_problem(client.post(REPORTS, data="{", content_type="application/json"), 400)
    assert_problem(client.post(REPORTS, data="hello", content_type="text/plain"), 415)


def test_reports_beyond_the_budget_are_refused_with_how_long_to_wait(client, clock, karawang):
    for _ in range(parse_many(REPORTS_PER_REQUESTER.limits)[0].amount):
        assert post_report(client, report_body(clock)).status_code == 201
    problem = assert_problem(post_report(client, report_body(clock)), 429)
    assert problem["title"]
    assert 3500 < int(client.post(REPORTS, json=report_body(clock)).headers["Retry-After"]) <= 3600


def test_the_api_takes_no_csrf_token_where_the_web_form_needs_one(app, database_url, clock, karawang):
    """No cookie is a credential of the API, so its blueprint is exempt from CSRF protection."""
    guarded = create_app({**TEST_CONFIG, "WTF_CSRF_ENABLED": True},
                         environ=app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))
    client = guarded.test_client()
    assert client.post("/lapor", data=form_data()).status_code == 400
    assert post_report(client, report_body(clock)).status_code == 201


def test_without_its_rate_limit_store_the_api_refuses_reports(client, clock, karawang, monkeypatch):
    monkeypatch.setattr("apoa.api.public.rate_limit_store_available", lambda: False)
    before = report_count()
    assert_problem(post_report(client, report_body(clock)), 503)
    assert report_count() == before


# --- status and follow-ups -------------------------------------------------------------------------

@pytest.fixture
def submitted(client, clock, karawang):
    answer = post_report(client, report_body(clock))
    assert answer.status_code == 201, answer.text
    return report_of(answer)


def oddly_typed(code):
    display = tracking.display(code).lower().replace("-", " ")
    return f" {display[:3]}  {display[3:]} "


def test_the_status_by_code_in_odd_spacing_is_the_public_status_only(client, submitted, english):
    answer = client.get(f"{REPORTS}/{oddly_typed(submitted.tracking_code)}/status", headers={"Accept-Language": "en"})
    assert answer.status_code == 200, answer.text
    status = answer.get_json()
    assert set(status) == PUBLIC_STATUS_KEYS
    assert status["tracking_code"] == tracking.display(submitted.tracking_code)
    assert status["status"] == {"key": "received", "title": "Received"}
    assert status["closed_at"] is None and status["follow_ups"] == 0
    assert "Lima orang asing" not in answer.text and "Industri" not in answer.text


def test_an_unknown_code_is_a_404_problem(client):
    problem = assert_problem(client.get(f"{REPORTS}/ABCDE-FGHJK-MNPQ/status"), 404)
    assert "errors" not in problem


def test_code_misses_beyond_the_budget_are_a_429_problem_with_retry_after(client):
    for _ in range(parse_many(CODE_MISSES_PER_REQUESTER.limits)[0].amount):
        assert client.get(f"{REPORTS}/NOPE/status").status_code == 404
    refused = client.get(f"{REPORTS}/NOPE/status")
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0


def test_a_follow_up_is_added_and_counted_in_the_status(client, submitted):
    code = tracking.display(submitted.tracking_code)
    answer = client.post(f"{REPORTS}/{code}/follow-ups",
                         json={"note": "Mereka bekerja lagi hari ini, lebih banyak orang.",
                               "photos": [base64.b64encode(photo_with_gps()).decode()]})
    assert answer.status_code == 201, answer.text
    assert set(answer.get_json()) == PUBLIC_STATUS_KEYS and answer.get_json()["follow_ups"] == 1
    multipart = client.post(f"{REPORTS}/{code}/follow-ups", content_type="multipart/form-data",
                            data={"note": "Satu foto lagi dari lokasi yang sama.",
                                  "photos": [(io.BytesIO(photo_with_gps()), "b.jpg")]})
    assert multipart.status_code == 201 and multipart.get_json()["follow_ups"] == 2
    assert db.session.scalar(select(func.count()).select_from(Attachment)
                             .where(Attachment.report_id == submitted.id)) == 2


def test_a_follow_up_is_checked_as_the_status_page_checks_it(client, submitted):
    code = submitted.tracking_code
    problem = assert_problem(client.post(f"{REPORTS}/{code}/follow-ups", json={"note": "pendek"},
                                         headers={"Accept-Language": "en"}), 422)
    assert problem["errors"] == {"note": ["Write between 10 and 2000 characters."]}
    assert_problem(client.post(f"{REPORTS}/ABCDE-FGHJK-MNPQ/follow-ups", json={"note": "Sepuluh huruf lebih."}), 404)


# --- the document and its page ---------------------------------------------------------------------

def test_the_openapi_document_is_valid_openapi_3_1(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(document).validate()  # raises on an invalid document
    paths = document["paths"]
    assert {"/api/v1/categories", "/api/v1/reports", "/api/v1/reports/{code}/status",
            "/api/v1/reports/{code}/follow-ups"} <= set(paths)
    assert "/api/v1/docs" not in paths
    submit = paths["/api/v1/reports"]["post"]
    assert set(submit["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "application/problem+json" in submit["responses"]["422"]["content"]


def test_the_docs_page_starts_swagger_ui_from_our_own_files(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "/assets/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "/static/js/api-docs.js" in page.text and 'data-spec-url="/api/v1/openapi.json"' in page.text
    assert "<script>" not in page.text and "cdn" not in page.text.lower()
    with client.get("/assets/vendor/swagger-ui/swagger-ui-bundle.js") as bundle:
        assert bundle.status_code == 200


def test_a_multipart_part_without_a_name_does_not_break_the_key_check(client, clock, karawang):
    """A part with no name (as a hand-made client may send) beside the fields: the report is made
    once, the resend answers with it; the unnamed part is never compared with the named ones."""
    boundary = "apoa-boundary"
    fields = {name: str(value) for name, value in report_body(clock, consent="true").items()}
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             for name, value in fields.items()]
    parts.append(f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nstray\r\n--{boundary}--\r\n")
    body, key = "".join(parts).encode(), str(uuid.uuid4())

    def send():
        return client.post(REPORTS, data=body, headers={"Idempotency-Key": key},
                           content_type=f"multipart/form-data; boundary={boundary}")

    before = report_count()
    first, again = send(), send()
    assert first.status_code == again.status_code == 201, first.text
    assert first.get_json() == again.get_json() and report_count() == before + 1
