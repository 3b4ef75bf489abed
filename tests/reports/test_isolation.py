"""Jurisdiction isolation: every report URL × every kind of user. An officer of another office, a
regional head, an admin or a resident gets the same 404 as for a report that does not exist (and
the refusal is audited, even though the 404 rolls the request back); an anonymous visitor is sent
to sign in; the report's own office and the Kanwil above it get their answer."""
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import func, select

from apoa import create_app
from apoa.audit.models import AuditEntry
from apoa.audit.services import verify
from apoa.auth.models import User
from apoa.extensions import db, limiter
from apoa.reports.contact import Contact, encrypt_contact
from apoa.reports.models import Report, ReportEvent
from apoa.reports.states import State
from tests.conftest import TEST_PASSWORD, AuthActions, app_environ, drop_database, recreate_database
from tests.factories import Factories, World

REASON = "Pelapor perlu dihubungi untuk menunjukkan lokasi."
PHONE = "+62 812 3456 7890"


@dataclass(frozen=True)
class Case:
    """One report URL: how to call it, the state the report must be in, and who is entitled."""

    name: str
    method: str
    path: str
    state: State = State.screening
    entitled: str = "officer"
    data: dict = field(default_factory=dict)

    def __str__(self):
        return self.name


ACTION = "/laporan/{id}/aksi/"
CASES = [
    Case("page", "get", "/laporan/{id}"),
    Case("photo", "get", "/laporan/{id}/foto/{photo}"),
    Case("nearby", "get", "/laporan/{id}/sekitar"),
    Case("reveal", "post", "/laporan/{id}/kontak", entitled="supervisor", data={"reason": REASON}),
    Case("screen", "post", ACTION + "screen", State.new),
    Case("mark_duplicate", "post", ACTION + "mark_duplicate", State.new, data={"mark_duplicate-code": "{original}"}),
    Case("transfer", "post", ACTION + "transfer",
         data={"transfer-office": "{other_office}", "transfer-reason": "Alamat di wilayah kantor B."}),
    Case("assign", "post", ACTION + "assign", entitled="supervisor", data={"assign-assignee": "{assignee}"}),
    Case("dismiss", "post", ACTION + "dismiss", data={"dismiss-reason": "Tidak ada orang asing di sana."}),
    Case("start_field_check", "post", ACTION + "start_field_check", State.assigned, entitled="assignee"),
    Case("record_finding", "post", ACTION + "record_finding", State.in_field, entitled="assignee",
         data={"record_finding-outcome": "not_found", "record_finding-people_found": "0",
               "record_finding-documents_checked": "0", "record_finding-notes": "Rumah kosong saat diperiksa."}),
    Case("approve", "post", ACTION + "approve", State.pending_approval, entitled="supervisor"),
    Case("send_back", "post", ACTION + "send_back", State.pending_approval, entitled="supervisor",
         data={"send_back-note": "Periksa lagi pada malam hari."}),
    Case("reopen", "post", ACTION + "reopen", State.closed, entitled="supervisor",
         data={"reopen-reason": "Ada laporan baru di lokasi sama."}),
]
OUTSIDERS = ("sibling_officer", "foreign_officer", "regional_head", "admin", "resident")
WHO = ("own", "kanwil_supervisor", *OUTSIDERS, "anonymous")
FIELD_WORK = {"start_field_check", "record_finding"}


def expected_status(case, who):
    if who == "anonymous":
        return 302
    if who in OUTSIDERS:
        return 404
    if who == "kanwil_supervisor" and case.name in FIELD_WORK:
        return 403  # they see the report, but field work is the assignee's alone
    return 200 if case.method == "get" or case.name == "reveal" else 303


class Isolated(World):
    """The workflow tests' world, plus an officer of the sibling office under the same Kanwil."""

    def __init__(self, make):
        super().__init__(make)
        self.actors["sibling_officer"] = make.user("officer", self.other_office)

    def user(self, case, who):
        return self.actors[case.entitled if who == "own" else who]

    def prepared(self, case):
        """The report for `case`, with a photo and a contact, and the request's path and data."""
        report = self.report_in(case.state)
        report.contact = encrypt_contact(Contact(name="Budi", phone=PHONE))
        photo = self.make.photo(report, Path(current_app.config["UPLOAD_DIR"]))
        original = self.make.report(point=(107.31, -6.31))
        values = {"id": report.id, "photo": photo.id, "original": original.tracking_code,
                  "other_office": self.other_office.id, "assignee": self.actors["assignee"].id}
        data = {key: value.format(**values) for key, value in case.data.items()}
        return report, case.path.format(**values), data


def state_of(report):
    db.session.expire_all()
    row = db.session.get(Report, report.id)
    events = db.session.scalar(select(func.count()).where(ReportEvent.report_id == report.id))
    return (row.state, row.outcome, row.office_id, row.assignee_id, row.duplicate_of_id, events)


def refusals(report):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == "access.refused",
                                                       AuditEntry.object == f"report:{report.id}")).all()


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_report_url_answers_only_within_the_jurisdiction(make, app, case, who):
    world = Isolated(make)
    report, path, data = world.prepared(case)
    client = app.test_client()
    user = None if who == "anonymous" else world.user(case, who)
    if user is not None:
        assert AuthActions(client).login(user).status_code == 302
    before = state_of(report)

    with getattr(client, case.method)(path, data=data) as answer:
        assert answer.status_code == expected_status(case, who), answer.text[:500]

    if who == "anonymous":
        assert answer.headers["Location"].startswith("/masuk")
    if who in OUTSIDERS or who == "anonymous":
        assert state_of(report) == before
        assert PHONE not in answer.text and report.description not in answer.text
    if who in OUTSIDERS:
        [entry] = refusals(report)
        assert (entry.actor_id, entry.detail) == (user.id, {"path": path})
    else:
        assert refusals(report) == []


def test_a_missing_report_gets_the_same_answer_as_a_hidden_one(make, app):
    world = Isolated(make)
    hidden = world.report_in(State.screening)
    client = app.test_client()
    AuthActions(client).login(world.actors["sibling_officer"])
    client.get("/")  # shows (and so clears) the welcome message
    missing_id = db.session.scalar(select(func.max(Report.id))) + 1000
    answers = [client.get(f"/laporan/{report_id}") for report_id in (hidden.id, missing_id)]
    assert [a.status_code for a in answers] == [404, 404]
    # The language switch returns to the address asked for; everything else is identical.
    bodies = {re.sub(r'name="next" value="[^"]*"', "", a.text) for a in answers}
    assert len(bodies) == 1
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "access.refused",
                                                        AuditEntry.object == f"report:{missing_id}")) == 1


def test_the_queue_of_another_office_never_lists_the_report(make, app):
    world = Isolated(make)
    report = world.report_in(State.screening)
    for who, shown in (("officer", True), ("kanwil_supervisor", True), ("sibling_officer", False),
                       ("foreign_officer", False)):
        client = app.test_client()
        AuthActions(client).login(world.actors[who])
        page = client.get("/laporan")
        assert page.status_code == 200
        assert (f'data-report-id="{report.id}"' in page.text) is shown, who


# --- the refusal's audit entry outlives the 404's rollback -----------------------------------------

@pytest.fixture
def own_database(database_url, tmp_path):
    """(app, twin) on a database of this test's own, built by the migrations and dropped afterwards.

    The test needs real commits and rollbacks, as in production, and what it commits can never be
    removed (audit entries are append-only, and they pin the user they name), so it must not reach
    the suite's database. The twin is for the test's own code, as `harness` is for the suite's."""
    url = database_url.set(database=f"{database_url.database}_refusals")
    recreate_database(url)
    environ = app_environ(url, APOA_INSTANCE_DIR=str(tmp_path))
    app, twin = (create_app({"WTF_CSRF_ENABLED": False}, environ=environ) for _ in range(2))
    with twin.app_context():
        upgrade()
    yield app, twin
    for flask_app in (app, twin):
        with flask_app.app_context():
            db.engine.dispose()
    drop_database(url)


@pytest.mark.no_db_transaction
def test_a_refused_access_is_audited_even_though_the_request_rolls_back(own_database):
    app, twin = own_database
    with twin.app_context():
        intruder_id, report_id = committed_setup()
    client = app.test_client()
    with twin.app_context():
        limiter.reset()
        assert AuthActions(client).login(db.session.get(User, intruder_id)).status_code == 302
        db.session.remove()

    path = f"/laporan/{report_id}"
    assert client.get(path).status_code == 404
    assert client.post(path + "/aksi/screen").status_code == 404

    with twin.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "access.refused")
                                     .order_by(AuditEntry.seq)).all()
        assert [(e.object, e.actor_id, e.detail) for e in entries] == [
            (f"report:{report_id}", intruder_id, {"path": path}),
            (f"report:{report_id}", intruder_id, {"path": path + "/aksi/screen"})]
        assert db.session.get(Report, report_id).state == "new"  # the refused action changed nothing
        chain = verify()
        assert chain.intact, chain.reason
        db.session.remove()


def committed_setup():
    """Two Kantor under one Kanwil; a report of the first and an officer of the second. Committed."""
    make = Factories(db.session, TEST_PASSWORD)
    home = make.office()
    away = make.office(parent=home.parent)
    intruder = make.user("officer", away)
    report = make.report(point=(107.30, -6.30))  # no regions here: the office is set by hand
    report.office_id = home.id
    db.session.commit()
    ids = intruder.id, report.id
    db.session.remove()
    return ids
