"""Schemathesis against /api/v1/openapi.json: every public operation of the API, with data that fits
its schema and data that does not, a bounded number of cases each. No answer may be a 5xx, every
answer must match the document (status, content type, headers, body), and no answer to a caller
without credentials may hold anything of a report but its public status.

The cases run through the app in-process (WSGI), inside this test's transaction (tests/conftest.py),
so the reports they make vanish with it. Hypothesis runs inside the test function rather than
through schemathesis' pytest plugin, because the schema is read from the app fixture, and so that
the budgets can be reset before every case (otherwise most cases would only meet a 429).
"""
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_headers_conformance, response_schema_conformance,
                                 status_code_conformance)
from schemathesis.generation import GenerationMode

from apoa.extensions import limiter
from apoa.reports import tracking
from tests.api.test_public import report_body

PUBLIC_PATHS = r"^/api/v1/(categories|reports)"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
CASES_PER_OPERATION = 25
SECRET_DESCRIPTION = "Rahasia: tiga warga asing di gudang belakang pasar ikan."
SECRET_ADDRESS = "Gudang Pasar Ikan Blok Z"
# What an answer without credentials may hold: the public fields, and nothing else of a report.
PUBLIC_STATUS_KEYS = {"tracking_code", "status", "received_at", "updated_at", "closed_at", "follow_ups"}
ALLOWED_KEYS = {
    ("GET", "/api/v1/categories"): {"id", "code", "name"},
    ("POST", "/api/v1/reports"): {"tracking_code", "status", "receipt_url", "status_url"},
    ("GET", "/api/v1/reports/{code}/status"): PUBLIC_STATUS_KEYS,
    ("POST", "/api/v1/reports/{code}/follow-ups"): PUBLIC_STATUS_KEYS,
}
PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


@pytest.fixture
def secret_report(make):
    """A report whose description, address and contact must never come back."""
    return make.report(description=SECRET_DESCRIPTION, address_text=SECRET_ADDRESS)


@pytest.fixture
def public_operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.include(path_regex=PUBLIC_PATHS).get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} == set(ALLOWED_KEYS)
    return operations


def only_public_data(operation, response):
    """The answer holds nothing of a report beyond its public status."""
    text = response.text
    assert SECRET_DESCRIPTION not in text and SECRET_ADDRESS not in text
    body = json.loads(text) if text else None
    if response.status_code >= 400:
        assert set(body) <= PROBLEM_KEYS
        return
    items = body if isinstance(body, list) else [body]
    allowed = ALLOWED_KEYS[(operation.method.upper(), operation.path)]
    for item in items:
        assert set(item) <= allowed, set(item) - allowed
        if "status" in item and isinstance(item["status"], dict):
            assert set(item["status"]) == {"key", "title"}


def fuzz(operation, mode, **fixed):
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(max_examples=CASES_PER_OPERATION, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case):
        limiter.reset()  # each case meets the endpoint itself, not a used-up budget
        # The WSGI transport does not undo Content-Encoding, as an HTTP client would.
        response = case.call(headers={"Accept-Encoding": "identity"})
        case.validate_response(response, checks=CHECKS)
        only_public_data(operation, response)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_public_operations_keep_to_their_document_and_their_data(public_operations, secret_report, mode):
    for operation in public_operations:
        if mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # nothing to send wrongly: no body, no query, and any text is a code
        fuzz(operation, mode)


def test_a_real_tracking_code_shows_only_its_public_status(public_operations, secret_report):
    code = tracking.display(secret_report.tracking_code)
    for operation in public_operations:
        if "{code}" in operation.path:
            fuzz(operation, GenerationMode.POSITIVE, path_parameters={"code": code})


def test_a_valid_submission_and_its_follow_up_match_the_document(public_operations, make, clock):
    """Random data hardly ever makes a report; these answers of success are checked here."""
    make.office(code="KANIM-KARAWANG-FUZZ", regions=["32.15"])
    by_label = {(op.method.upper(), op.path): op for op in public_operations}
    submit = by_label[("POST", "/api/v1/reports")]
    case = submit.Case(body=report_body(clock), media_type="application/json",
                       headers={"Idempotency-Key": "7b0c9a52-4a8e-4c55-9d39-5d3c4f0c2a11"})
    answer = case.call(headers={"Accept-Encoding": "identity"})
    assert answer.status_code == 201, answer.text
    case.validate_response(answer, checks=CHECKS)
    code = answer.json()["tracking_code"]
    for label, body in ((("GET", "/api/v1/reports/{code}/status"), None),
                        (("POST", "/api/v1/reports/{code}/follow-ups"), {"note": "Masih ada di lokasi sore ini."})):
        operation = by_label[label]
        payload = {"body": body, "media_type": "application/json"} if body else {}
        case = operation.Case(path_parameters={"code": code}, **payload)
        answer = case.call(headers={"Accept-Encoding": "identity"})
        assert answer.status_code in (200, 201), answer.text
        case.validate_response(answer, checks=CHECKS)
        only_public_data(operation, answer)
