"""The staff API (/api/v1/staff) with a personal access token: the queue of the token's user's
jurisdiction only, one report without its contact, its history, the actions allowed, applying one
through the workflow, the answers refused as problem details, and every use audited."""
from datetime import timedelta

import pytest
from sqlalchemy import event as sql_event, func, select

from apoa import create_app
from apoa.api import tokens
from apoa.audit.models import AuditEntry
from apoa.auth.models import User
from apoa.extensions import db
from apoa.reports.contact import Contact, encrypt_contact
from apoa.reports.models import Report, ReportEvent
from apoa.reports.states import State
from apoa.reports.tracking import display
from tests.conftest import app_environ
from tests.factories import World

API = "/api/v1/staff"
PROBLEM = "application/problem+json"
BUDI = Contact(name="Budi Santoso", phone="+62 812 3456 7890", email="budi@example.com")
KETAPANG = (110.46, -1.67)  # KANIM-X's jurisdiction


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def api(client):
    """`api(method, path, secret, json=None)` → the answer of a request with that Bearer token."""
    def call(method, path, secret, **kwargs):
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return client.open(API + path, method=method, headers=headers, **kwargs)
    return call


def token_for(user, scope="read", days=30):
    """A token's secret for `user` (flushed, in the test's transaction)."""
    return tokens.create_token(user, f"Token {scope}", scope, days)[1]


def reloaded(report):
    db.session.expire_all()
    return db.session.get(Report, report.id)


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_of(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.seq)).all()


def assert_problem(answer, status):
    assert answer.status_code == status, answer.text
    assert answer.mimetype == PROBLEM
    body = answer.get_json()
    assert body["status"] == status and body["title"]
    return body


# --- reading -------------------------------------------------------------------------------------

def test_the_queue_lists_only_the_reports_of_the_officers_jurisdiction(world, make, api):
    mine = world.report_in(State.new)
    screening = world.report_in(State.screening)
    make.report(point=KETAPANG)
    secret = token_for(world.actors["officer"])
    answer = api("GET", "/reports", secret)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "private, no-store"
    body = answer.get_json()
    assert {item["id"] for item in body["items"]} == {mine.id, screening.id}
    assert body["page"] == 1 and body["has_next"] is False
    item = next(item for item in body["items"] if item["id"] == mine.id)
    assert item["tracking_code"] == display(mine.tracking_code) and item["state"] == "new"
    assert item["kabupaten"]["kode"] == "32.15"
    assert "contact" not in item and "description" not in item


def test_the_queue_filters_and_pages_like_the_officers_page(world, api):
    new = world.report_in(State.new)
    screening = world.report_in(State.screening)
    closed = world.report_in(State.closed)
    secret = token_for(world.actors["officer"])

    def ids(**query):
        answer = api("GET", "/reports", secret, query_string=query)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.get_json()["items"]]

    assert ids(state="screening") == [screening.id]
    assert ids(state="closed") == [closed.id]
    assert set(ids(closed="true")) == {new.id, screening.id, closed.id}
    assert ids(kabupaten=make_region_id("32.16")) == []
    assert set(ids(kabupaten=make_region_id("32.15"))) == {new.id, screening.id}
    assert ids(code=new.tracking_code.lower()) == [new.id]
    first = api("GET", "/reports", secret, query_string={"per_page": 1, "sort": "oldest"}).get_json()
    second = api("GET", "/reports", secret, query_string={"per_page": 1, "sort": "oldest", "page": 2}).get_json()
    assert first["has_next"] is True and second["has_next"] is False
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [new.id, screening.id]


@pytest.fixture
def statements(db_session):
    """The SQL statements executed meanwhile (requests run on the test's connection)."""
    engine = db_session.connection().engine
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sql_event.listen(engine, "before_cursor_execute", count)
    yield seen
    sql_event.remove(engine, "before_cursor_execute", count)


def test_the_number_of_statements_does_not_grow_with_the_queue(world, api, statements):
    secret = token_for(world.actors["supervisor"])
    world.report_in(State.assigned)

    def counted():
        statements.clear()
        answer = api("GET", "/reports", secret)
        assert answer.status_code == 200
        return len(statements), len(answer.get_json()["items"])

    few, one = counted()
    for state in (State.new, State.screening, State.assigned, State.in_field, State.pending_approval):
        world.report_in(state)
    many, six = counted()
    assert (one, six) == (1, 6)
    assert many == few


def make_region_id(kode):
    from apoa.regions.models import Region

    return db.session.scalar(select(Region.id).where(Region.kode == kode))


@pytest.mark.parametrize("query", [{"state": "lost"}, {"page": 0}, {"per_page": 101}, {"category": "x"},
                                   {"received_from": "0001-01-01"}, {"sort": "amount"}])
def test_bad_filters_are_refused_with_a_problem(world, api, query):
    body = assert_problem(api("GET", "/reports", token_for(world.actors["officer"]), query_string=query), 422)
    assert body["errors"]


def test_a_report_of_another_office_is_not_found_and_the_refusal_audited(world, make, api):
    foreign = make.report(point=KETAPANG)
    officer = world.actors["officer"]
    secret = token_for(officer)
    for path in (f"/reports/{foreign.id}", f"/reports/{foreign.id}/history", f"/reports/{foreign.id}/actions"):
        assert_problem(api("GET", path, secret), 404)
    assert_problem(api("POST", f"/reports/{foreign.id}/actions/screen", token_for(officer, "act")), 404)
    assert reloaded(foreign).state == "new"
    refusals = audit_of("access.refused")
    assert [entry.object for entry in refusals] == [f"report:{foreign.id}"] * 4
    assert all(entry.actor_id == officer.id and entry.detail["via"] == "api" for entry in refusals)
    assert api("GET", f"/reports/{foreign.id}", token_for(world.actors["foreign_officer"])).status_code == 200


def test_one_report_never_carries_its_contact(world, api):
    report = world.report_in(State.screening)
    report.contact = encrypt_contact(BUDI)
    db.session.flush()
    for role in ("officer", "supervisor"):  # a supervisor may reveal it on the web, never here
        answer = api("GET", f"/reports/{report.id}", token_for(world.actors[role]))
        assert answer.status_code == 200, answer.text
        body = answer.get_json()
        assert body["id"] == report.id and body["description"] == report.description
        assert body["state"] == "screening" and set(body["location"]) == {"lat", "lon"}
        assert "contact" not in body
        for secret_part in ("Budi", "812", "budi@example.com"):
            assert secret_part not in answer.text


def test_the_history_lists_the_events_without_naming_the_reporter(world, api):
    report = world.report_in(State.pending_approval)
    answer = api("GET", f"/reports/{report.id}/history", token_for(world.actors["supervisor"]))
    assert answer.status_code == 200, answer.text
    events = answer.get_json()
    assert [event["action"] for event in events] == ["submit", "record_finding"]
    assert events[0]["to_state"] == "pending_approval" and events[0]["from_state"] is None
    staff_names = {user.name for user in world.actors.values()}
    assert events[0]["actor"] not in staff_names  # "Reporter", whoever sent it
    assert events[1]["actor"] == world.actors["decider"].name


@pytest.mark.parametrize("state, actor, expected", [
    (State.new, "officer", ["screen", "mark_duplicate"]),
    (State.screening, "supervisor", ["mark_duplicate", "transfer", "assign", "dismiss"]),
    (State.pending_approval, "decider", []),  # never one's own decision
    (State.closed, "officer", []),
])
def test_the_actions_are_those_the_web_page_offers(world, api, state, actor, expected):
    report = world.report_in(state)
    answer = api("GET", f"/reports/{report.id}/actions", token_for(world.actors[actor]))
    assert answer.status_code == 200, answer.text
    assert [entry["action"] for entry in answer.get_json()] == expected


# --- acting --------------------------------------------------------------------------------------

def test_an_act_token_screens_a_report(world, api):
    report = world.report_in(State.new)
    officer = world.actors["officer"]
    answer = api("POST", f"/reports/{report.id}/actions/screen", token_for(officer, "act"),
                 json={"note": "Dicek lewat API."})
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    assert body["state"] == "screening" and body["event"]["action"] == "screen"
    assert reloaded(report).state == "screening"
    [event] = db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                           ReportEvent.action == "screen")).all()
    assert event.actor_id == officer.id and event.note == "Dicek lewat API."
    [entry] = audit_of("report.screen")
    assert entry.object == f"report:{report.id}" and entry.actor_id == officer.id


def test_a_supervisor_assigns_and_the_assignee_records_a_finding(world, api):
    report = world.report_in(State.screening)
    assignee = world.actors["assignee"]
    answer = api("POST", f"/reports/{report.id}/actions/assign", token_for(world.actors["supervisor"], "act"),
                 json={"assignee_id": assignee.id})
    assert answer.status_code == 200, answer.text
    secret = token_for(assignee, "act")
    assert api("POST", f"/reports/{report.id}/actions/start_field_check", secret).status_code == 200
    finding = {"outcome": "violation_found", "action_taken": "administrative", "people_found": 2,
               "nationalities": ["CN"], "documents_checked": 2, "notes": "Dua pekerja tanpa izin kerja."}
    answer = api("POST", f"/reports/{report.id}/actions/record_finding", secret, json={"finding": finding})
    assert answer.status_code == 200, answer.text
    report = reloaded(report)
    assert (report.state, report.outcome, report.action_taken) == ("pending_approval", "violation_found",
                                                                  "administrative")


def test_a_read_token_cannot_act(world, api):
    report = world.report_in(State.new)
    before = count(ReportEvent, ReportEvent.report_id == report.id)
    assert_problem(api("POST", f"/reports/{report.id}/actions/screen", token_for(world.actors["officer"])), 403)
    assert reloaded(report).state == "new"
    assert count(ReportEvent, ReportEvent.report_id == report.id) == before


def test_an_action_the_state_does_not_allow_is_a_conflict_and_one_the_role_does_not_is_forbidden(world, api):
    report = world.report_in(State.new)
    officer = token_for(world.actors["officer"], "act")
    assert_problem(api("POST", f"/reports/{report.id}/actions/approve", officer), 409)
    screening = world.report_in(State.screening)
    assert_problem(api("POST", f"/reports/{screening.id}/actions/assign", officer,
                       json={"assignee_id": world.actors["assignee"].id}), 403)
    assert_problem(api("POST", f"/reports/{report.id}/actions/fly", officer), 404)
    assert (reloaded(report).state, reloaded(screening).state) == ("new", "screening")


@pytest.mark.parametrize("action, body", [
    ("dismiss", {}),                                       # the reason is required
    ("dismiss", {"reason": "no"}),                         # too short
    ("dismiss", {"reason": "Tidak ada orang asing.", "office_id": 1}),  # not this action's field
    ("transfer", {"office_id": 999999, "reason": "Salah wilayah kantor."}),
    ("mark_duplicate", {}),
    ("mark_duplicate", {"original_code": "APOA-XXXX"}),
    ("dismiss", {"reason": 5}),
])
def test_bad_params_are_refused_and_change_nothing(world, api, action, body):
    report = world.report_in(State.screening)
    assert_problem(api("POST", f"/reports/{report.id}/actions/{action}", token_for(world.actors["officer"], "act"),
                       json=body), 422)
    assert reloaded(report).state == "screening"


def test_a_transfer_names_the_office_by_id(world, api):
    report = world.report_in(State.screening)
    answer = api("POST", f"/reports/{report.id}/actions/transfer", token_for(world.actors["officer"], "act"),
                 json={"office_id": world.other_office.id, "reason": "Lokasi masuk wilayah kantor B."})
    assert answer.status_code == 200, answer.text
    assert reloaded(report).office_id == world.other_office.id
    # Out of the officer's sight now.
    assert api("GET", f"/reports/{report.id}", token_for(world.actors["officer"])).status_code == 404


# --- authentication and its audit ----------------------------------------------------------------

def test_without_a_good_token_every_answer_is_401_with_a_bearer_challenge(world, api, clock):
    officer = world.actors["officer"]
    report = world.report_in(State.new)
    revoked_token, revoked = tokens.create_token(officer, "Dicabut", "act", 30)
    tokens.revoke(revoked_token, officer)
    expired = token_for(officer, "act", days=1)
    clock.advance(timedelta(days=1, seconds=1))
    garbage = "apoa_" + "x" * 43
    for secret in (None, garbage, "not-a-token", revoked, expired):
        for method, path in (("GET", "/reports"), ("GET", f"/reports/{report.id}"),
                             ("POST", f"/reports/{report.id}/actions/screen")):
            answer = api(method, path, secret)
            assert_problem(answer, 401)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert reloaded(report).state == "new"
    assert audit_of("api.token.use") == []
    assert {entry.detail["reason"] for entry in audit_of("api.token.refused")} == {"revoked", "expired"}


def test_a_disabled_users_token_stops_working(world, api):
    officer = world.actors["officer"]
    secret = token_for(officer)
    assert api("GET", "/reports", secret).status_code == 200
    db.session.get(User, officer.id).active = False
    db.session.flush()
    assert_problem(api("GET", "/reports", secret), 401)


def test_a_session_cookie_is_not_enough(world, sign_in):
    client = sign_in(world.actors["officer"])
    assert_problem(client.get(API + "/reports"), 401)


def test_each_use_is_audited_without_the_secret(world, api):
    report = world.report_in(State.new)
    officer = world.actors["officer"]
    token, secret = tokens.create_token(officer, "Audit", "act", 30)
    api("GET", "/reports", secret)
    api("GET", f"/reports/{report.id}", secret)
    api("POST", f"/reports/{report.id}/actions/approve", secret)  # a refused use is kept too
    uses = audit_of("api.token.use")
    assert [(entry.detail["method"], entry.detail["path"]) for entry in uses] == [
        ("GET", f"{API}/reports"), ("GET", f"{API}/reports/{report.id}"),
        ("POST", f"{API}/reports/{report.id}/actions/approve")]
    assert all(entry.object == f"api_token:{token.id}" and entry.actor_id == officer.id for entry in uses)
    everything = " ".join(str(entry.detail) for entry in db.session.scalars(select(AuditEntry)))
    assert secret not in everything and secret[len("apoa_"):] not in everything
    db.session.expire_all()
    assert db.session.get(type(token), token.id).last_used_at is not None


def test_the_openapi_document_declares_the_bearer_scheme_on_every_staff_operation(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["personalAccessToken"] == {
        "type": "http", "scheme": "bearer", "description": "A personal access token made at /akun/token (apoa_…)."}
    operations = [(path, method, operation) for path, item in document["paths"].items()
                  if path.startswith(API) for method, operation in item.items() if method in ("get", "post")]
    assert len(operations) == 5
    for _path, _method, operation in operations:
        assert operation["security"] == [{"personalAccessToken": []}]
        assert "application/problem+json" in operation["responses"]["401"]["content"]


def test_the_api_needs_no_csrf_token_where_the_web_forms_do(world, app, database_url):
    """Token auth only: the blueprint is exempt from CSRF protection, which the suite's app has off."""
    protected = create_app({}, environ=app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))
    assert protected.config.get("WTF_CSRF_ENABLED", True)
    report = world.report_in(State.new)
    secret = token_for(world.actors["officer"], "act")
    answer = protected.test_client().post(f"{API}/reports/{report.id}/actions/screen", json={},
                                          headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.text
    assert reloaded(report).state == "screening"


def test_odd_input_never_breaks_an_answer(world, api):
    report = world.report_in(State.new)
    secret = token_for(world.actors["officer"], "act")
    assert_problem(api("GET", f"/reports/{2**40}", secret), 404)
    assert api("GET", "/reports", secret, query_string={"code": "A\x00B"}).get_json()["items"] == []
    for body in ([1, 2], "text", {"note": "x" * 2001}, {"note": 5}):
        assert_problem(api("POST", f"/reports/{report.id}/actions/screen", secret, json=body), 422)
    answer = api("POST", f"/reports/{report.id}/actions/screen", secret, json={"note": "Dicek\x00 lewat API."})
    assert answer.status_code == 200, answer.text
    assert answer.get_json()["event"]["note"] == "Dicek lewat API."
