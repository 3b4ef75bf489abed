"""Schemathesis against the GeoReport v2 Swagger file (../shared/specs/open311/), with the app as the
WSGI server: every operation of the file, with no key, an application's key and an agency's key,
with values that fit the file (positive) and values that do not (negative). No answer is a 5xx; a
200 matches the file's schema; no answer to a caller without an agency key holds report data, and
no answer at all holds a report's description or the exact point.

Bounded: derandomised, MAX_EXAMPLES cases per operation, key and mode (a few seconds in all).
"""
import copy

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from apoa.api.partners import issue_key
from apoa.reports import tracking
from apoa.reports.contact import Contact, encrypt_contact
from tests.api.test_open311 import SWAGGER

MAX_EXAMPLES = 12
DESCRIPTION = "Lima orang asing tinggal di rumah kontrakan tanpa izin tinggal."
EXACT = (107.30417, -6.30562)  # (lon, lat) in Karawang
PHONE = "081298765432"
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck))


def fuzzable_schema(app):
    """The Swagger file as published, served at our prefix: its basePath is /v2."""
    document = copy.deepcopy(SWAGGER)
    document["basePath"] = "/open311/v2"
    document.pop("host", None)
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    return schema


OPERATIONS = [result.ok().label for result in fuzzable_schema(None).get_all_operations()]


def pinned(label, world):
    """Values that find something, beside the generated ones (a random code finds nothing): a real
    service_code, the report's service_request_id, a submission that passes validation."""
    report = world["report"]
    return {
        "GET /services/{service_code}.{response_format}": {
            "path_parameters": {"service_code": report.category.code}},
        "GET /requests/{service_request_id}.{response_format}": {
            "path_parameters": {"service_request_id": tracking.display(report.tracking_code)}},
        "POST /requests.{response_format}": {"query": {
            "service_code": report.category.code, "lat": -6.30, "long": 107.30,
            "description": "Dua orang asing bekerja di pabrik tanpa izin kerja.",
            "attribute[people_count]": "2"}},
    }.get(label)


def cases(operation, mode, world):
    generated = operation.as_strategy(generation_mode=mode)
    fixed = pinned(operation.label, world)
    if mode is GenerationMode.NEGATIVE or fixed is None:
        return generated
    return st.one_of(generated, operation.as_strategy(generation_mode=mode, **fixed))


@pytest.fixture
def world(make):
    """Karawang's office with a report (contact, exact point), and the three kinds of caller."""
    admin = make.user("admin")
    office = make.office(code="KANIM-KARAWANG-FUZZ", name="Kantor Imigrasi Karawang", regions=["32.15"])
    report = make.report(point=EXACT, description=DESCRIPTION, address_text="Gang Rahasia 3",
                         contact=encrypt_contact(Contact(name="Warga", phone=PHONE)))
    return {"report": report, "keys": {
        "none": None,
        "app": issue_key("Aplikasi", "app", None, admin)[1],
        "agency": issue_key("Polres", "agency", office, admin)[1]}}


def report_data(report):
    """What of `report` an answer to a caller without an agency key must never hold."""
    return (report.tracking_code, tracking.display(report.tracking_code), DESCRIPTION, "Gang Rahasia 3",
            PHONE, "Warga", "-6.31", "107.3")


def never_content(report):
    """What no answer to anyone may hold: the description, the address, the contact, the exact point."""
    return (DESCRIPTION, "Gang Rahasia 3", PHONE, "6.3056", "107.304")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["fits", "odd"])
@pytest.mark.parametrize("caller", ["none", "app", "agency"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_open311_answers_never_fail_and_never_leak(app, world, label, caller, mode):
    operation = fuzzable_schema(app).find_operation_by_label(label)
    key = world["keys"][caller]
    forbidden = report_data(world["report"]) if caller != "agency" else never_content(world["report"])

    @given(case=cases(operation, mode, world))
    @SETTINGS
    def check(case):
        if key is not None:
            case.query = {**(case.query or {}), "api_key": key}
        # Uncompressed: the WSGI transport hands over the bytes as the app sent them.
        response = case.call(headers={"Accept-Encoding": "identity"})
        case.validate_response(response, checks=[not_a_server_error] + (
            [response_schema_conformance] if mode is GenerationMode.POSITIVE else []))
        for secret in forbidden:
            assert secret not in response.text, (case.as_curl_command(), secret)

    check()
