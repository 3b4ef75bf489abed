"""Complaints and questions through the public API (POST /api/v1/complaints, GET
/api/v1/complaints/{reference} with the Complaint-Secret header): routed as the web form routes
them, judged by its rules with problem+json errors per field, idempotent with the Idempotency-Key,
documented in the OpenAPI document, and fuzzed: never a 5xx, never anything but the case itself."""
import json
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_headers_conformance, response_schema_conformance,
                                 status_code_conformance)
from schemathesis.generation import GenerationMode
from sqlalchemy import func, select

from apoa.extensions import db, limiter
from apoa.feedback.models import ServiceCase
from apoa.feedback.services import answer_case
from apoa.reports.tracking import display
from tests.feedback.helpers import ANSWER, COMPLAINT, EMAIL, KOTABUMI_NAME

COMPLAINTS = "/api/v1/complaints"
PROBLEM = "application/problem+json"
RECEIVED_KEYS = {"reference", "secret", "status", "due_at", "answer_url"}
CASE_KEYS = {"reference", "kind", "status", "office", "text", "received_at", "due_at", "answer",
             "answered_at"}


def post(client, body, key=None, **headers):
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(COMPLAINTS, json=body, headers=headers)


def body(**overrides):
    data = {"text": COMPLAINT, "region_code": "32.15"}
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def read(client, reference, secret):
    return client.get(f"{COMPLAINTS}/{reference}", headers={"Complaint-Secret": secret})


def count_cases():
    return db.session.scalar(select(func.count()).select_from(ServiceCase))


def test_a_complaint_is_received_and_read_back_with_its_answer(offices, client, english):
    answer = post(client, body(email=EMAIL))
    assert answer.status_code == 201, answer.text
    received = answer.get_json()
    assert set(received) == RECEIVED_KEYS and received["status"] == "received"
    assert answer.headers["Location"] == received["answer_url"]
    assert received["answer_url"].endswith(f"{COMPLAINTS}/{received['reference']}")
    assert answer.headers["Cache-Control"] == "private, no-store"
    case = db.session.scalars(select(ServiceCase)).one()
    assert (case.channel, case.kind, case.office_id) == ("api", "complaint", offices.karawang.id)
    assert EMAIL.encode() not in case.contact

    shown = read(client, received["reference"], received["secret"])
    assert shown.status_code == 200 and set(shown.get_json()) == CASE_KEYS
    assert shown.get_json()["status"] == {"key": "received", "title": "Received"}
    assert shown.get_json()["answer"] is None and shown.get_json()["text"] == COMPLAINT

    answer_case(case, offices.supervisor, ANSWER)
    shown = read(client, received["reference"].lower(), received["secret"]).get_json()
    assert shown["status"]["key"] == "answered" and shown["answer"] == ANSWER
    assert shown["answered_at"] is not None and EMAIL not in json.dumps(shown)


def test_a_tracking_code_routes_to_the_reports_office(offices, client):
    report = offices.kotabumi_report
    answer = post(client, body(kind="question", region_code=None,
                               tracking_code=display(report.tracking_code)))
    assert answer.status_code == 201, answer.text
    shown = read(client, answer.get_json()["reference"], answer.get_json()["secret"]).get_json()
    assert shown["office"] == KOTABUMI_NAME and shown["kind"] == "question"


def test_a_kecamatan_code_goes_to_its_regencys_office(offices, client):
    assert post(client, body(region_code="32.15.01")).status_code == 201
    assert db.session.scalars(select(ServiceCase.office_id)).one() == offices.karawang.id


def test_a_form_encoded_body_works_too(offices, client):
    answer = client.post(COMPLAINTS, data={"text": COMPLAINT, "region_code": "32.15"})
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("sent, field, message", [
    ({"region_code": None}, "region_code", "Choose the regency or city, or give the tracking code"),
    ({"region_code": "99.99"}, "region_code", "Choose a regency or city from the list."),
    ({"tracking_code": "ABCDE-FGHJK-MNPQ"}, "tracking_code", "We could not find a report"),
    ({"text": None}, "text", "Write your complaint or question."),
    ({"text": "Pendek"}, "text", "Write between 10 and 2000 characters."),
    ({"text": ["a", "list"]}, "text", "Send one value here, not a list."),
    ({"email": "nope"}, "email", "Enter a valid email address."),
    ({"kind": "praise"}, "kind", "Not a valid choice"),
])
def test_bad_fields_get_a_problem_naming_the_field(offices, client, english, sent, field, message):
    answer = post(client, body(**sent))
    assert answer.status_code == 422 and answer.mimetype == PROBLEM
    errors = answer.get_json()["errors"]
    assert field in errors and message in " ".join(errors[field])
    assert count_cases() == 0


@pytest.mark.parametrize("data, content_type, status", [
    ("[1, 2]", "application/json", 400),
    ("{not json", "application/json", 400),
    ("text=hello", "text/plain", 415),
])
def test_a_body_that_is_not_an_object_is_refused(offices, client, data, content_type, status):
    answer = client.post(COMPLAINTS, data=data, content_type=content_type)
    assert answer.status_code == status and answer.mimetype == PROBLEM


def test_the_same_key_and_body_answer_with_the_same_case_and_secret(offices, client):
    key = str(uuid.uuid4())
    first, again = post(client, body(), key), post(client, body(), key)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and count_cases() == 1


def test_the_same_key_with_another_body_is_refused(offices, client, english):
    key = str(uuid.uuid4())
    assert post(client, body(), key).status_code == 201
    answer = post(client, body(text=COMPLAINT + " Dan lagi."), key)
    assert answer.status_code == 422
    assert "Idempotency-Key" in answer.get_json()["errors"] and count_cases() == 1


def test_a_key_that_is_not_a_uuid_is_refused(offices, client):
    answer = post(client, body(), "twelve")
    assert answer.status_code == 422 and "Idempotency-Key" in answer.get_json()["errors"]


@pytest.mark.parametrize("secret", ["0000-0000-0000", "", "x" * 500])
def test_a_wrong_or_missing_secret_finds_nothing(offices, client, secret):
    reference = post(client, body()).get_json()["reference"]
    answer = read(client, reference, secret)
    assert answer.status_code == 404 and answer.mimetype == PROBLEM and COMPLAINT not in answer.text
    assert client.get(f"{COMPLAINTS}/{reference}").status_code == 404


def test_wrong_secrets_use_up_the_miss_budget(offices, client):
    reference = post(client, body()).get_json()["reference"]
    for _ in range(20):
        assert read(client, reference, "0000-0000-0000").status_code == 404
    answer = read(client, reference, "0000-0000-0000")
    assert answer.status_code == 429 and "Retry-After" in answer.headers


def test_the_openapi_document_describes_the_complaints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemathesis.openapi.from_dict(document).validate()
    submit = document["paths"][COMPLAINTS]["post"]
    assert {"201", "422", "429"} <= set(submit["responses"])
    assert "Idempotency-Key" in [p["name"] for p in submit["parameters"]]
    read_back = document["paths"][COMPLAINTS + "/{reference}"]["get"]
    assert "Complaint-Secret" in [p["name"] for p in read_back["parameters"]]


# --- fuzzed against the document ------------------------------------------------------------------

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture
def complaint_operations(app, offices):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.include(path_regex=r"^/api/v1/complaints").get_all_operations()]


def fuzz(operation, mode, **fixed):
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(max_examples=20, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case):
        limiter.reset()  # each case meets the endpoint itself, not a used-up budget
        response = case.call(headers={"Accept-Encoding": "identity"})
        case.validate_response(response, checks=CHECKS)
        assert COMPLAINT not in response.text  # the other case's text never comes back

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_fuzzed_requests_keep_to_the_document(complaint_operations, client, mode):
    post(client, body())  # a case whose text must never come back to these requests
    assert len(complaint_operations) == 2
    for operation in complaint_operations:
        fuzz(operation, mode)
