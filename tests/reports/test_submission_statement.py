"""A report submission is one SQL statement (issue 16): the region lookup, the report, its first
event, its audit entry and the office's notifications, as data-modifying CTEs. What it writes must
be what the separate steps wrote: the regions `locate()` finds, the first report for a repeated
key, an audit entry the chainer links and `verify()` accepts, the notifications `notify()` makes,
and the summaries' rollups kept by their triggers."""
import io
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select, text
from werkzeug.datastructures import FileStorage

from apoa import jobs
from apoa.audit.chain import chain_pending
from apoa.audit.models import AuditEntry
from apoa.audit.services import verify
from apoa.extensions import db
from apoa.notifications.models import Kind, Notification
from apoa.notifications.services import SEND_EMAILS, screeners
from apoa.regions.lookup import locate
from apoa.reports.forms import sanitise_uploads
from apoa.reports.models import Attachment, Category, Report, ReportEvent
from apoa.reports.services import NewReport, OutsideIndonesia, submit_report, submitted_now
from tests.factories import World
from tests.reports.helpers import form_data, jpeg_bytes
from tests.summaries.test_rollups import actual_rollups

KARAWANG = (107.30, -6.30)


class Statements:
    """The SQL statements sent on the test's connection while counting (savepoints left out: the
    test's transaction turns the request's commit into one)."""

    def __init__(self):
        self.sent = []
        self.counting = False

    def __call__(self, _conn, _cursor, statement, _parameters, _context, _executemany):
        if self.counting and not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.sent.append(statement)

    def __enter__(self):
        self.sent.clear()
        self.counting = True
        return self

    def __exit__(self, *exc):
        self.counting = False


@pytest.fixture
def statements(db_session):
    counter = Statements()
    engine = db_session.connection().engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


def category_id():
    return db.session.scalar(select(Category.id).where(Category.code == "illegal_work"))


def new_report(point=KARAWANG, key=None, **fields):
    return NewReport(category_id=category_id(), description="Orang asing bekerja di gudang malam hari.",
                     people_count=2, place_kind="workplace",
                     observed_at=datetime.now(timezone.utc) - timedelta(hours=1), point=point,
                     submission_key=key or str(uuid.uuid4()), **fields)


def test_a_submission_is_one_statement(statements):
    submit_report(new_report())  # the connection prepares the statement once
    new = new_report()
    with statements:
        report = submit_report(new)
    assert len(statements.sent) == 1, statements.sent
    assert statements.sent[0].startswith("EXECUTE apoa_submit_report(")
    assert report.tracking_code and report.state == "new" and submitted_now(report)


def test_the_form_view_sends_one_statement_for_a_valid_form(client, statements):
    client.post("/lapor", data=form_data())  # connection prepared, category list read
    data = form_data()
    with statements:
        answer = client.post("/lapor", data=data)
    assert answer.status_code == 303 and "/lapor/tanda-terima/" in answer.headers["Location"]
    assert [s.split("(")[0] for s in statements.sent] == ["EXECUTE apoa_submit_report"]


def sample_points():
    """Points inside kabupaten (random), on the borders between kecamatan (their shared vertices),
    just off the coast and far outside Indonesia."""
    inside = db.session.execute(text("""
        SELECT ST_X(d.geom), ST_Y(d.geom) FROM region r,
        LATERAL ST_Dump(ST_GeneratePoints(ST_Envelope(r.geom), 8, 16)) d
        WHERE r.level = 'kabupaten_kota' AND r.kode IN ('32.15', '32.16', '31.71', '61.04', '51.71')""")).all()
    borders = db.session.execute(text("""
        SELECT ST_X(v.geom), ST_Y(v.geom) FROM (
          SELECT (ST_DumpPoints(p.geom)).geom FROM region_part p
          WHERE p.level = 'kecamatan' AND p.kab_id IN (SELECT id FROM region WHERE kode IN ('32.15', '31.71'))
          ORDER BY p.id LIMIT 40) v""")).all()
    outside = [(110.0, -20.0), (100.0, 10.0), (151.2, -33.9), (106.83, -5.2), (0.0, 0.0)]
    return [tuple(p) for p in inside] + [tuple(p) for p in borders] + outside


def test_the_regions_are_those_locate_finds_everywhere(make):
    World(make)  # offices for some of the kabupaten
    points = sample_points()
    found = outside = 0
    for point in points:
        expected = locate(*point)
        if expected is None:
            with pytest.raises(OutsideIndonesia):
                submit_report(new_report(point))
            outside += 1
            continue
        report = submit_report(new_report(point))
        assert (report.kab_id, report.kec_id, report.office_id) == (
            expected.kabupaten.id, expected.kecamatan.id if expected.kecamatan else None, expected.office_id), point
        found += 1
    assert found > 50 and outside >= 5
    # Nothing at all was stored for the places outside.
    assert db.session.scalar(select(func.count()).select_from(Report)) == found


def test_a_repeated_key_returns_the_first_report_and_writes_nothing(statements):
    key = str(uuid.uuid4())
    first = submit_report(new_report(key=key))
    counts = [db.session.scalar(select(func.count()).select_from(t)) for t in (Report, ReportEvent, AuditEntry)]
    db.session.expunge_all()  # as a later request would: the report is not in its session
    resend = new_report(key=key, point=(107.31, -6.31))
    with statements:
        again = submit_report(resend)
    assert len(statements.sent) == 1
    assert again.id == first.id and again.tracking_code == first.tracking_code
    assert not submitted_now(again)
    assert [db.session.scalar(select(func.count()).select_from(t))
            for t in (Report, ReportEvent, AuditEntry)] == counts


def test_a_resent_form_gets_the_first_receipt_and_no_second_report(client):
    data = form_data()
    first = client.post("/lapor", data=data)
    again = client.post("/lapor", data=data)
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    key = uuid.UUID(data["submission_key"])
    assert db.session.scalar(select(func.count()).where(Report.submission_key == key)) == 1


def test_the_audit_entry_is_that_of_record_and_the_chain_verifies(make):
    resident = make.user(role="resident")
    report = submit_report(new_report(), reporter=resident)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object == f"report:{report.id}"))
    assert (entry.action, entry.actor_id, entry.detail) == ("report.submit", resident.id,
                                                            {"channel": "web", "photos": 0})
    assert entry.chain_pos is None
    assert chain_pending() >= 1
    db.session.refresh(entry)
    assert entry.chain_pos is not None
    assert verify().intact
    event_row = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id))
    assert (event_row.action, event_row.from_state, event_row.to_state, event_row.actor_id) == (
        "submit", None, "new", resident.id)


def test_the_office_screeners_are_notified_and_the_mail_job_follows_the_commit(make):
    world = World(make)
    world.actors["inactive"] = make.user("officer", world.office, active=False)
    report = submit_report(new_report())
    assert report.office_id == world.office.id
    notes = db.session.scalars(select(Notification).where(Notification.report_id == report.id)).all()
    first_event = db.session.scalar(select(ReportEvent.id).where(ReportEvent.report_id == report.id))
    assert {n.user_id for n in notes} == {u.id for u in screeners(report)}
    assert {n.user_id for n in notes} == {world.actors[name].id for name in ("officer", "assignee", "supervisor",
                                                                              "decider")}
    assert {(n.kind, n.key) for n in notes} == {(Kind.new_report.value, f"new_report:e{first_event}")}
    assert jobs.pending() == []
    db.session.commit()
    assert [call.path for call in jobs.pending()] == [SEND_EMAILS]


def test_a_screener_who_reports_is_not_told_of_their_own_report(make):
    world = World(make)
    officer = world.actors["officer"]
    report = submit_report(new_report(), reporter=officer)
    told = set(db.session.scalars(select(Notification.user_id).where(Notification.report_id == report.id)))
    assert officer.id not in told and told


def test_the_rollups_count_the_new_report(make):
    World(make)
    before = actual_rollups()
    report = submit_report(new_report())
    after = actual_rollups()
    assert report.id in after[0] and report.id not in before[0]
    assert sum(after[2].values()) > sum(before[2].values())
    db.session.execute(text("SELECT summary_rebuild()"))
    assert actual_rollups() == after


def test_photos_are_attached_to_the_report_and_its_first_event():
    photos, problems = sanitise_uploads([FileStorage(io.BytesIO(jpeg_bytes()), filename="a.jpg",
                                                     content_type="image/jpeg")])
    assert not problems
    report = submit_report(new_report(photos=photos))
    first_event = db.session.scalar(select(ReportEvent.id).where(ReportEvent.report_id == report.id))
    db.session.refresh(report)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object == f"report:{report.id}"))
    assert entry.detail == {"channel": "web", "photos": 1}
    attached = db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)).all()
    assert [a.event_id for a in attached] == [first_event]


def offered(page, category):
    return re.search(rf'<option[^>]*value="{category.id}"', page) is not None


def test_the_form_lists_a_category_changed_by_this_process_at_once(client):
    category = db.session.scalar(select(Category).where(Category.active).order_by(Category.position))
    assert offered(client.get("/lapor").text, category)
    category.active = False
    db.session.flush()
    assert not offered(client.get("/lapor").text, category)
    refused = client.post("/lapor", data=form_data(category=str(category.id)))
    assert refused.status_code == 400
    category.active = True
    db.session.flush()
    assert offered(client.get("/lapor").text, category)
