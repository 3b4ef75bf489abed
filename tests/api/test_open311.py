"""Open311 GeoReport v2 (/open311/v2): discovery, services and their definitions, a partner
application submitting a report into the right office, and a partner agency reading only its
office's jurisdiction, coarsely. JSON answers are validated against the schemas of the GeoReport v2
Swagger file in ../shared/specs/open311/; XML answers are parsed."""
import json
from datetime import timedelta
from xml.etree import ElementTree

import jsonschema_rs
import pytest
from sqlalchemy import select

from apoa.api.models import PartnerKey
from apoa.api.partners import issue_key, revoke_key
from apoa.audit.models import AuditEntry
from apoa.extensions import db
from apoa.reports import tracking
from apoa.reports.contact import Contact, encrypt_contact
from apoa.reports.models import Category, Report
from tests.conftest import AuthActions, REGIONS_DIR

# shared/ holds the regions (data/regions, which APOA_REGIONS_DIR may point elsewhere) and the specs.
SWAGGER_FILE = REGIONS_DIR.parents[1] / "specs" / "open311" / "georeport-v2.swagger.json"
SWAGGER = json.loads(SWAGGER_FILE.read_text())
KARAWANG = (-6.30, 107.30)       # (lat, lon) in Kabupaten Karawang (32.15)
KARAWANG_EXACT = (107.30417, -6.30562)  # (lon, lat) of a report: never shown to three decimals
BEKASI = (107.05, -6.20)          # (lon, lat) in Kabupaten Bekasi (32.16)
DESCRIPTION = "Tiga orang asing bekerja di gudang tanpa izin kerja."
PHONE = "081234567890"


@pytest.fixture
def api(app):
    return app.test_client()


def response_schema(path, method, status="200"):
    """The Swagger file's schema of an answer, with its definitions so that $ref resolves."""
    schema = dict(SWAGGER["paths"][path][method]["responses"][status]["schema"])
    schema["definitions"] = SWAGGER["definitions"]
    return schema


def assert_matches(body, path, method="get"):
    errors = [error.message for error in
              jsonschema_rs.Draft4Validator(response_schema(path, method)).iter_errors(body)]
    assert errors == []


def xml_of(response):
    assert response.mimetype == "text/xml"
    return ElementTree.fromstring(response.data)


@pytest.fixture
def offices(make):
    karawang = make.office(code="KANIM-KARAWANG-311", name="Kantor Imigrasi Karawang", regions=["32.15"])
    bekasi = make.office(code="KANIM-BEKASI-311", name="Kantor Imigrasi Bekasi", regions=["32.16"])
    return karawang, bekasi


@pytest.fixture
def keys(make, offices):
    """An application key, and agency keys of Karawang and Bekasi: {name: secret}."""
    admin = make.user("admin")
    karawang, bekasi = offices
    return {"app": issue_key("Aplikasi Lapor", "app", None, admin)[1],
            "karawang": issue_key("Polres Karawang", "agency", karawang, admin)[1],
            "bekasi": issue_key("Polres Bekasi", "agency", bekasi, admin)[1]}


def category():
    return db.session.scalars(select(Category).where(Category.active).order_by(Category.position)).first()


def submission(api_key, **extra):
    return {"api_key": api_key, "service_code": category().code, "lat": str(KARAWANG[0]),
            "long": str(KARAWANG[1]), "description": DESCRIPTION, "attribute[people_count]": "3",
            "attribute[place_kind]": "workplace", **extra}


# --- discovery and services ----------------------------------------------------------------------

def test_discovery_names_this_endpoint_in_json_and_xml(api, app):
    body = api.get("/open311/v2/discovery.json").get_json()
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == app.config["BASE_URL"] + "/open311/v2"
    assert endpoint["type"] == "production" and set(endpoint["formats"]) == {"application/json", "text/xml"}
    assert body["changeset"] and body["contact"] and body["key_service"]

    document = xml_of(api.get("/open311/v2/discovery.xml"))
    assert document.tag == "discovery"
    assert [f.text for f in document.iter("format")] == endpoint["formats"]


def test_services_are_the_active_categories_in_the_request_language(api):
    body = api.get("/open311/v2/services.json").get_json()
    assert_matches(body, "/services.{response_format}")
    active = db.session.scalars(select(Category).where(Category.active).order_by(Category.position)).all()
    assert [s["service_code"] for s in body] == [c.code for c in active]
    assert [s["service_name"] for s in body] == [c.name_id for c in active]
    assert {s["type"] for s in body} == {"realtime"} and all(s["metadata"] is True for s in body)

    english = api.get("/open311/v2/services.json?lang=en").get_json()
    assert [s["service_name"] for s in english] == [c.name_en for c in active]

    document = xml_of(api.get("/open311/v2/services.xml"))
    assert document.tag == "services"
    assert [s.findtext("service_code") for s in document.findall("service")] == [c.code for c in active]
    assert {s.findtext("metadata") for s in document.findall("service")} == {"true"}


def test_a_service_definition_lists_apoas_fields_as_attributes(api):
    code = category().code
    body = api.get(f"/open311/v2/services/{code}.json").get_json()
    assert_matches(body, "/services/{service_code}.{response_format}")
    attributes = {a["code"]: a for a in body["attributes"]}
    assert attributes["people_count"]["datatype"] == "number" and attributes["people_count"]["required"] is True
    assert attributes["observed_at"]["datatype"] == "datetime" and attributes["observed_at"]["required"] is False
    assert attributes["nationality"]["datatype"] == "string"
    place = attributes["place_kind"]
    assert place["datatype"] == "singlevaluelist"
    assert {v["key"] for v in place["values"]} == {"residence", "lodging", "workplace", "project_site",
                                                   "public_place", "other"}
    assert "media_url" in attributes["note"]["datatype_description"] and attributes["note"]["variable"] is False

    document = xml_of(api.get(f"/open311/v2/services/{code}.xml"))
    assert document.tag == "service_definition" and document.findtext("service_code") == code
    assert "workplace" in [v.findtext("key") for v in document.iter("value")]


def test_unknown_services_formats_and_paths_answer_open311_errors(api):
    missing = api.get("/open311/v2/services/no-such-service.json")
    assert missing.status_code == 404 and missing.get_json()[0]["code"] == 404
    unknown_format = api.get("/open311/v2/services.html")
    assert unknown_format.status_code == 400 and unknown_format.mimetype == "application/json"
    assert unknown_format.get_json()[0]["description"]
    elsewhere = api.get("/open311/v2/nothing-here")
    assert elsewhere.status_code == 404 and elsewhere.mimetype == "application/json"
    assert api.get("/open311/v2/services").status_code == 404
    wrong_method = api.post("/open311/v2/services.json")
    assert wrong_method.status_code == 405 and wrong_method.get_json()[0]["code"] == 405
    assert wrong_method.headers["Allow"] == "GET"
    assert api.put("/open311/v2/nothing-here").status_code == 405
    document = xml_of(api.get("/open311/v2/services/no-such-service.xml"))
    assert document.tag == "errors" and document.find("error").findtext("code") == "404"


# --- submitting ----------------------------------------------------------------------------------

def test_an_application_key_submits_a_report_into_the_karawang_office(api, keys, offices, clock):
    answer = api.post("/open311/v2/requests.json", data=submission(keys["app"], email="warga@example.com",
                                                                    first_name="Siti", last_name="Aminah"))
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    assert_matches(body, "/requests.{response_format}", "post")
    [receipt] = body
    report = db.session.scalars(select(Report).where(Report.channel == "api")).one()
    assert receipt["service_request_id"] == tracking.display(report.tracking_code)
    assert report.office_id == offices[0].id and report.kabupaten.kode == "32.15"
    assert (report.description, report.people_count, report.place_kind) == (DESCRIPTION, 3, "workplace")
    assert report.contact is not None and report.consent
    # observed_at defaults to the moment of the request.
    assert abs(report.observed_at - clock.now) < timedelta(minutes=1)
    key = db.session.scalars(select(PartnerKey).where(PartnerKey.name == "Aplikasi Lapor")).one()
    assert key.last_used_at is not None
    audited = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "partner_key.submit")).all()
    assert [entry.object for entry in audited] == [f"report:{report.id}"]
    assert keys["app"] not in json.dumps([entry.detail for entry in audited])


def test_without_contact_details_the_report_is_anonymous_and_xml_answers_in_kind(api, keys, clock):
    answer = api.post("/open311/v2/requests.xml", data=submission(keys["karawang"], first_name="Budi"))
    assert answer.status_code == 200, answer.text
    document = xml_of(answer)
    assert document.tag == "service_requests"
    code = document.find("request").findtext("service_request_id")
    report = db.session.scalars(select(Report).where(Report.channel == "api")).one()
    assert code == tracking.display(report.tracking_code) and report.contact is None


def test_the_same_idempotency_key_makes_one_report(api, keys, clock):
    headers = {"Idempotency-Key": "5b0f4b8e-8f0e-4d3c-9a55-2f3c8f1f0a11"}
    first = api.post("/open311/v2/requests.json", data=submission(keys["app"]), headers=headers)
    again = api.post("/open311/v2/requests.json", data=submission(keys["app"]), headers=headers)
    assert first.status_code == again.status_code == 200 and first.get_json() == again.get_json()
    assert len(db.session.scalars(select(Report).where(Report.channel == "api")).all()) == 1
    other = api.post("/open311/v2/requests.json", data=submission(keys["app"], description="Lain sekali isinya ini."),
                     headers=headers)
    assert other.status_code == 422 and other.get_json()[0]["code"] == 422
    bad = api.post("/open311/v2/requests.json", data=submission(keys["app"]), headers={"Idempotency-Key": "x"})
    assert bad.status_code == 400


def test_each_key_has_its_own_budget_of_reports(api, keys, clock, monkeypatch):
    from apoa.api import open311
    from apoa.reports.abuse import Budget

    monkeypatch.setattr(open311, "REPORTS_PER_PARTNER",
                        Budget("open311-reports", "2 per hour", open311.REPORTS_PER_PARTNER.key))
    for _ in range(2):
        assert api.post("/open311/v2/requests.json", data=submission(keys["app"])).status_code == 200
    refused = api.post("/open311/v2/requests.xml", data=submission(keys["app"]))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert xml_of(refused).find("error").findtext("code") == "429"
    assert api.post("/open311/v2/requests.json", data=submission(keys["karawang"])).status_code == 200
    assert len(db.session.scalars(select(Report).where(Report.channel == "api")).all()) == 3


@pytest.mark.parametrize("key", ["none", "wrong", "revoked"])
def test_a_submission_without_a_valid_key_is_refused(api, keys, make, key):
    if key == "revoked":
        row = db.session.scalars(select(PartnerKey).where(PartnerKey.name == "Aplikasi Lapor")).one()
        revoke_key(row, make.user("admin"))
    api_key = {"none": "", "wrong": "o311_" + "x" * 43, "revoked": keys["app"]}[key]
    answer = api.post("/open311/v2/requests.json", data=submission(api_key))
    assert answer.status_code == 401
    [error] = answer.get_json()
    assert error["code"] == 401 and "api_key" in error["description"]
    assert db.session.scalars(select(Report).where(Report.channel == "api")).all() == []


def test_invalid_submissions_name_the_open311_fields(api, keys, english, clock):
    address_only = submission(keys["app"], address_string="Jl. Industri Raya 7, Karawang")
    del address_only["lat"], address_only["long"]
    answer = api.post("/open311/v2/requests.json", data=address_only)
    assert answer.status_code == 400 and "address alone" in answer.get_json()[0]["description"]

    answer = api.post("/open311/v2/requests.json", data=submission(keys["app"], description="pendek",
                                                                    **{"attribute[people_count]": "0"}))
    assert answer.status_code == 400
    descriptions = [error["description"] for error in answer.get_json()]
    assert any(d.startswith("description:") for d in descriptions)
    assert any(d.startswith("attribute[people_count]:") for d in descriptions)

    unknown = api.post("/open311/v2/requests.json", data=submission(keys["app"], service_code="nope"))
    assert unknown.status_code == 400 and unknown.get_json()[0]["description"].startswith("service_code")

    abroad = api.post("/open311/v2/requests.json", data=submission(keys["app"], lat="48.85", long="2.35"))
    assert abroad.status_code == 400 and abroad.get_json()[0]["code"] == 400
    assert db.session.scalars(select(Report).where(Report.channel == "api")).all() == []


# --- reading -------------------------------------------------------------------------------------

@pytest.fixture
def reports(make, offices, clock):
    """A Karawang report with a contact and a photo, and a Bekasi report."""
    karawang = make.report(point=KARAWANG_EXACT, description=DESCRIPTION, address_text="Jl. Rahasia 9",
                           contact=encrypt_contact(Contact(name="Siti", phone=PHONE)))
    bekasi = make.report(point=BEKASI, description="Dua orang asing membuka warung tanpa izin.")
    return karawang, bekasi


def test_an_agency_key_reads_only_its_jurisdiction_coarsely(api, keys, reports, tmp_path, make):
    karawang, bekasi = reports
    make.photo(karawang, tmp_path)
    answer = api.get("/open311/v2/requests.json", query_string={"api_key": keys["karawang"]})
    assert answer.status_code == 200
    body = answer.get_json()
    assert_matches(body, "/requests.{response_format}")
    [item] = body
    assert item["service_request_id"] == tracking.display(karawang.tracking_code)
    assert (item["lat"], item["long"]) == (-6.31, 107.30)
    assert item["status"] == "open" and item["agency_responsible"] == "Kantor Imigrasi Karawang"
    assert "description" not in item and "media_url" not in item and "address" not in item
    for secret in (DESCRIPTION, "Jl. Rahasia 9", PHONE, "Siti", "6.3056", "107.304", "foto", "/laporan/"):
        assert secret not in answer.text

    xml = api.get("/open311/v2/requests.xml", query_string={"api_key": keys["karawang"]})
    document = xml_of(xml)
    assert document.tag == "service_requests"
    assert [r.findtext("service_request_id") for r in document.findall("request")] == [item["service_request_id"]]
    assert DESCRIPTION not in xml.text and PHONE not in xml.text


def test_one_request_by_its_code_and_another_offices_is_absent(api, keys, reports):
    karawang, bekasi = reports
    code = tracking.display(karawang.tracking_code)
    answer = api.get(f"/open311/v2/requests/{code}.json", query_string={"api_key": keys["karawang"]})
    assert answer.status_code == 200
    assert_matches(answer.get_json(), "/requests/{service_request_id}.{response_format}")
    assert answer.get_json()["service_request_id"] == code and DESCRIPTION not in answer.text

    other = api.get(f"/open311/v2/requests/{tracking.display(bekasi.tracking_code)}.json",
                    query_string={"api_key": keys["karawang"]})
    assert other.status_code == 404 and other.get_json()[0]["code"] == 404
    seen_by_bekasi = api.get(f"/open311/v2/requests/{code}.xml", query_string={"api_key": keys["bekasi"]})
    assert seen_by_bekasi.status_code == 404 and xml_of(seen_by_bekasi).tag == "errors"
    assert xml_of(api.get(f"/open311/v2/requests/{code}.xml",
                          query_string={"api_key": keys["karawang"]})).find("request") is not None


def test_an_application_key_or_none_reads_nothing(api, keys, reports):
    code = tracking.display(reports[0].tracking_code)
    for path in ("/open311/v2/requests.json", f"/open311/v2/requests/{code}.json"):
        app_answer = api.get(path, query_string={"api_key": keys["app"]})
        assert app_answer.status_code == 403 and app_answer.get_json()[0]["code"] == 403
        anonymous = api.get(path)
        assert anonymous.status_code == 401
        for refused in (app_answer, anonymous):
            assert code not in refused.text and DESCRIPTION not in refused.text


def test_filters_by_status_service_and_dates(api, keys, make, offices, clock):
    recent = make.report(point=KARAWANG_EXACT)
    closed = make.report(point=KARAWANG_EXACT, state="closed", outcome="not_found")
    old = make.report(point=KARAWANG_EXACT, created_at=clock.now - timedelta(days=120))

    def codes(**filters):
        answer = api.get("/open311/v2/requests.json", query_string={"api_key": keys["karawang"], **filters})
        assert answer.status_code == 200, answer.text
        return {item["service_request_id"] for item in answer.get_json()}

    shown = {r: tracking.display(r.tracking_code) for r in (recent, closed, old)}
    assert codes() == {shown[recent], shown[closed]}  # the last 90 days by default
    assert codes(status="closed") == {shown[closed]}
    assert codes(status="open") == {shown[recent]}
    assert codes(service_code="no-such-service") == set()
    start = (clock.now - timedelta(days=130)).isoformat()
    assert codes(start_date=start, end_date=(clock.now - timedelta(days=100)).isoformat()) == {shown[old]}
    assert codes(service_request_id=f"{shown[old]},{shown[closed]}") == {shown[old], shown[closed]}
    too_long = api.get("/open311/v2/requests.json", query_string={
        "api_key": keys["karawang"], "start_date": start, "end_date": clock.now.isoformat()})
    assert too_long.status_code == 400
    assert api.get("/open311/v2/requests.json", query_string={"api_key": keys["karawang"],
                                                             "status": "lost"}).status_code == 400


# --- the admin page of keys ----------------------------------------------------------------------

def test_an_admin_issues_a_key_shown_once_and_revokes_it(app, make, offices):
    admin = make.user("admin")
    client = app.test_client()
    assert AuthActions(client).login(admin).status_code == 302
    issued = client.post("/admin/mitra/baru", data={"name": "Polres Karawang", "kind": "agency",
                                                    "office": offices[0].code})
    assert issued.status_code == 200
    key = db.session.scalars(select(PartnerKey).where(PartnerKey.name == "Polres Karawang")).one()
    assert key.office_id == offices[0].id and key.prefix in issued.text
    secret = issued.text.split('id="partner-secret">')[1].split("<")[0]
    assert secret.startswith("o311_") and len(secret) == 48 and key.secret_hash != secret
    assert "no-store" in issued.headers["Cache-Control"]
    listing = client.get("/admin/mitra")
    assert listing.status_code == 200 and secret not in listing.text and key.prefix in listing.text

    refused = client.post("/admin/mitra/baru", data={"name": "Aplikasi", "kind": "app", "office": offices[0].code})
    assert refused.status_code == 400

    assert client.post(f"/admin/mitra/{key.id}/cabut").status_code == 303
    db.session.refresh(key)
    assert key.revoked_at is not None
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object == f"partner_key:{key.id}")).all()
    assert actions == ["partner_key.issue", "partner_key.revoke"]


def test_the_key_page_is_hidden_from_everyone_but_user_managers(app, make, sign_in):
    officer = make.user("officer")
    client = app.test_client()
    assert AuthActions(client).login(officer).status_code == 302
    assert client.get("/admin/mitra").status_code == 404
    assert app.test_client().get("/admin/mitra").status_code == 404
