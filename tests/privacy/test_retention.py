"""Report retention (apoa/privacy/retention.py): days counted from each report's closure, a report
closed exactly N days ago kept and one a minute older changed; unfounded and duplicate reports
anonymised with what the aggregates need kept (summaries, rollups and map cells the same before
and after); contacts and photos (rows and files) removed; the dry run changes nothing and counts
what the run then does; a failure part-way leaves no report half-done; one audit entry per run,
the log and the audit hold counts only; the admin page and the command."""
import json
import logging
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select, text

from apoa import jobs
from apoa.api.models import ApiSubmission
from apoa.audit.models import AuditEntry
from apoa.feedback.models import SKM_COLUMNS, ServiceRating
from apoa.maps.clusters import GRID_ZOOM, cell_size
from apoa.maps.hotspots import HOTSPOT_ZOOM
from apoa.periods import custom_period
from apoa.privacy import retention
from apoa.privacy.retention import ANONYMISED_DESCRIPTION, preview, run_retention
from apoa.reports.models import Attachment, Report, ReportEvent
from apoa.summaries.figures import summary
from apoa.summaries.rollups import RAW
from apoa.whatsapp.models import Conversation, Outbound
from tests.factories import World

POINT = (107.3012, -6.3047)                 # Kabupaten Karawang, KANIM-A's jurisdiction
MINUTE = timedelta(minutes=1)
DESCRIPTION = "Tuan John Smith bekerja tanpa izin di gudang Jl. Melati 7."
OFFICER_NOTE = "Rumah kosong; tetangga Pak Budi bilang dia pindah."
FOLLOW_UP = "Nomor saya 0812-3456-7890, nama saya Siti."
CONTACT = b"sealed contact of the reporter"


def days(n):
    return timedelta(days=n)


class Old:
    """KANIM-A's reports around the three retention periods' edges (180, 90 and 365 days)."""

    def __init__(self, make, clock, uploads):
        self.world = World(make)
        self.make, self.clock, self.uploads = make, clock, uploads
        self.actors = self.world.actors
        self.original = make.report(point=POINT)
        self.reports = {
            "unfounded_180": self.closed(days(180), "unfounded", photos=1),
            "unfounded_past": self.closed(days(180) + MINUTE, "unfounded", photos=1),
            "duplicate_past": self.closed(days(181), "duplicate"),
            "not_found_400": self.closed(days(400), "not_found"),
            "contact_90": self.closed(days(90)),
            "contact_past": self.closed(days(90) + MINUTE),
            "photos_365": self.closed(days(365), photos=1),
            "photos_past": self.closed(days(365) + MINUTE, photos=2),
            "followed_up_late": self.closed(days(100), follow_up_after=days(95)),
            "reopened": self.reopened(days(400)),
            "closed_again": self.reopened(days(400), closed_again=days(10), photos=1),
            "open": self.open_report(days(500), photos=1),
        }

    def closed(self, ago, outcome="not_found", photos=0, follow_up_after=None):
        """A report closed `ago` before the clock, by a supervisor's approval, with the reporter's
        account, contact, address, a follow-up and an officer's note in its history."""
        closed_at = self.clock.now - ago
        extra = {"duplicate_of_id": self.original.id} if outcome == "duplicate" else {}
        report = self._report(closed_at - days(3), state="closed", outcome=outcome, photos=photos, **extra)
        self.event(report, "record_finding", "in_field", "pending_approval", closed_at - days(1),
                   actor="assignee", note=OFFICER_NOTE)
        self.event(report, "approve", "pending_approval", "closed", closed_at, actor="decider")
        if follow_up_after:
            self.event(report, "follow_up", "closed", "closed", closed_at + follow_up_after, actor="resident",
                       note=FOLLOW_UP)
        return report

    def reopened(self, ago, closed_again=None, photos=0):
        report = self.closed(ago, "unfounded", photos=photos)
        self.event(report, "reopen", "closed", "screening", self.clock.now - days(20), actor="decider",
                   note="Ada laporan baru.")
        report.state, report.outcome = "screening", None
        if closed_again:
            report.state, report.outcome = "closed", "unfounded"
            self.event(report, "approve", "pending_approval", "closed", self.clock.now - closed_again,
                       actor="decider")
        self.make.session.flush()
        return report

    def open_report(self, ago, photos=0):
        return self._report(self.clock.now - ago, state="screening", photos=photos)

    def _report(self, received, photos, **fields):
        report = self.make.report(point=POINT, created_at=received, description=DESCRIPTION,
                                  reporter_id=self.actors["resident"].id, contact=CONTACT,
                                  address_text="Jl. Melati 7, RT 02", submission_key=uuid.uuid4(), accuracy_m=8.0,
                                  **fields)
        submit = self.make.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id))
        submit.actor_id = self.actors["resident"].id
        self.event(report, "follow_up", report.state, report.state, received + timedelta(hours=1),
                   actor="resident", note=FOLLOW_UP)
        for n in range(photos):
            self.make.photo(report, self.uploads, color=(10 * n, 100, 200))
        return report

    def event(self, report, action, from_state, to_state, at, actor, note=None):
        self.make.session.add(ReportEvent(report_id=report.id, actor_id=self.actors[actor].id, action=action,
                                          from_state=from_state, to_state=to_state, note=note, created_at=at))
        self.make.session.flush()

    def ids(self, *names):
        return {self.reports[name].id for name in names}


@pytest.fixture
def uploads(app, harness, tmp_path, monkeypatch):
    for flask_app in (app, harness):
        monkeypatch.setitem(flask_app.config, "UPLOAD_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def old(make, clock, uploads):
    return Old(make, clock, uploads)


def reports_where(session, condition):
    return set(session.scalars(select(Report.id).where(condition)).all())


def photo_files(old, name):
    return [old.uploads / path for path in old.make.session.scalars(
        select(Attachment.stored_path).where(Attachment.report_id == old.reports[name].id))]


def everything(session):
    """Every column of every report and event, and every photo row: what the dry run must not change."""
    return [session.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()
            for table in ("report", "report_event", "attachment")]


# --- each rule, at its boundary --------------------------------------------------------------------

@pytest.mark.date_sensitive
def test_unfounded_and_duplicate_reports_are_anonymised_a_minute_after_the_period(old, db_session):
    result = run_retention()
    anonymised = reports_where(db_session, Report.anonymised_at.is_not(None))
    assert anonymised == old.ids("unfounded_past", "duplicate_past")
    assert reports_where(db_session, Report.description == ANONYMISED_DESCRIPTION) == anonymised
    assert result["anonymised"] == 2
    # Exactly 180 days ago is not yet "more than 180 days"; a reopened report is not closed; one
    # closed again counts from its new closure.
    kept = db_session.get(Report, old.reports["unfounded_180"].id)
    assert (kept.description, kept.anonymised_at) == (DESCRIPTION, None)


@pytest.mark.date_sensitive
def test_contacts_are_removed_from_every_report_closed_over_the_period(old, db_session):
    result = run_retention()
    with_contact = reports_where(db_session, Report.contact.is_not(None))
    assert with_contact == old.ids("contact_90", "reopened", "closed_again", "open")
    assert result["contacts_removed"] == 8
    # A follow-up added to a closed report does not move its closure: closed 100 days ago.
    assert old.reports["followed_up_late"].id not in with_contact


@pytest.mark.date_sensitive
def test_photos_are_deleted_rows_and_files_a_minute_after_the_period(old, db_session):
    gone = photo_files(old, "photos_past") + photo_files(old, "unfounded_past")
    kept = [path for name in ("unfounded_180", "photos_365", "closed_again", "open") for path in photo_files(old, name)]
    assert all(path.is_file() for path in gone + kept) and len(gone) == 3
    result = run_retention()
    assert result["photos_deleted"] == 3
    assert not any(path.exists() for path in gone)
    assert all(path.is_file() for path in kept)
    assert set(db_session.scalars(select(Attachment.report_id))) == old.ids("unfounded_180", "photos_365",
                                                                            "closed_again", "open")


def test_the_periods_come_from_the_settings(old, app, harness, monkeypatch, db_session):
    for flask_app in (app, harness):
        monkeypatch.setitem(flask_app.config, "RETENTION_UNFOUNDED_DAYS", 500)
        monkeypatch.setitem(flask_app.config, "RETENTION_CONTACT_DAYS", 399)
        monkeypatch.setitem(flask_app.config, "RETENTION_PHOTO_DAYS", 366)
    assert run_retention() == {"anonymised": 0, "contacts_removed": 1, "photos_deleted": 0,
                               "case_contacts_removed": 0, "unfounded_days": 500, "contact_days": 399,
                               "photo_days": 366}
    assert reports_where(db_session, Report.contact.is_(None)) == old.ids("not_found_400") | {old.original.id}


def test_a_second_run_changes_nothing(old, db_session):
    run_retention()
    before = everything(db_session)
    assert run_retention() == {"anonymised": 0, "contacts_removed": 0, "photos_deleted": 0,
                               "case_contacts_removed": 0, "unfounded_days": 180, "contact_days": 90,
                               "photo_days": 365}
    assert everything(db_session) == before


# --- what anonymising keeps and removes ----------------------------------------------------------

def test_an_anonymised_report_keeps_what_aggregates_need_and_nothing_personal(old, clock, db_session):
    report = old.reports["unfounded_past"]
    db_session.add(ServiceRating(report_id=report.id, office_id=report.office_id, comment="Petugas Anton ramah.",
                                 **{name: 3 for name in SKM_COLUMNS}))
    db_session.add(ApiSubmission(submission_key=uuid.uuid4(), digest="0" * 64, report_id=report.id))
    db_session.add(Outbound(to_hash="a" * 64, phone=b"sealed number", report_id=report.id, purpose="status",
                            payload={"emptied": True}))
    db_session.add(Conversation(sender_hash="b" * 64, phone=b"sealed number", question_report_id=report.id))
    db_session.flush()
    kept_columns = ("tracking_code", "state", "outcome", "category_id", "channel", "office_id", "kab_id", "kec_id",
                    "people_count", "place_kind", "observed_at", "created_at", "updated_at", "duplicate_of_id")
    before = {name: getattr(report, name) for name in kept_columns}
    point = to_shape(report.location)
    history = db_session.execute(select(ReportEvent.action, ReportEvent.from_state, ReportEvent.to_state,
                                        ReportEvent.created_at, ReportEvent.detail)
                                 .where(ReportEvent.report_id == report.id).order_by(ReportEvent.id)).all()

    run_retention()
    db_session.expire_all()
    report = db_session.get(Report, report.id)
    assert {name: getattr(report, name) for name in kept_columns} == before
    assert report.anonymised_at == clock.now
    assert (report.description, report.address_text, report.contact, report.reporter_id, report.submission_key,
            report.accuracy_m) == (ANONYMISED_DESCRIPTION, None, None, None, None, None)
    events = report.events
    assert [(e.action, e.from_state, e.to_state, e.created_at, e.detail) for e in events] == history
    assert [e.note for e in events] == [None] * len(events)
    # The reporter's own events lose the account; the officers' keep theirs.
    assert {e.action: e.actor_id for e in events} == {
        "submit": None, "follow_up": None, "record_finding": old.actors["assignee"].id,
        "approve": old.actors["decider"].id}
    # The point moves to the centre of its cell of about 5 km: the same cell at that zoom and coarser.
    coarse = to_shape(report.location)
    assert (coarse.x, coarse.y) != (point.x, point.y) and coarse.distance(point) < cell_size(HOTSPOT_ZOOM)
    for zoom in (HOTSPOT_ZOOM, GRID_ZOOM):
        size = cell_size(zoom)
        assert (coarse.x // size, coarse.y // size) == (point.x // size, point.y // size)
    rating = db_session.scalar(select(ServiceRating).where(ServiceRating.report_id == report.id))
    assert rating.comment is None and [getattr(rating, name) for name in SKM_COLUMNS] == [3] * len(SKM_COLUMNS)
    assert db_session.scalar(select(func.count()).select_from(ApiSubmission)
                             .where(ApiSubmission.report_id == report.id)) == 0
    assert db_session.scalar(select(func.count()).select_from(Outbound).where(Outbound.report_id == report.id)) == 0
    assert db_session.scalar(select(func.count()).select_from(Conversation)
                             .where(Conversation.question_report_id == report.id)) == 0


@pytest.mark.date_sensitive
def test_summaries_rollups_and_map_cells_are_the_same_before_and_after(old, clock, db_session):
    user = old.actors["kanwil_supervisor"]
    periods = [custom_period(clock.today - days(420), clock.today - days(60)),
               custom_period(clock.today - days(190), clock.today - days(170))]
    tables = ("summary_flow", "summary_open", "summary_report", "report_grid")

    def figures():
        summaries = [summary(user, period, source=source, now=clock.now) for period in periods
                     for source in ("rollup", RAW)]
        rows = [Counter(map(tuple, db_session.execute(text(f"SELECT * FROM {table}")))) for table in tables]
        return summaries, rows

    before = figures()
    closed = before[0][0].closed.value
    assert closed >= 6 and dict((o.value, c.value) for o, c in before[0][0].closed_by_outcome)["unfounded"] >= 1
    run_retention(batch_size=2)
    assert reports_where(db_session, Report.anonymised_at.is_not(None)) == old.ids("unfounded_past", "duplicate_past")
    assert figures() == before


# --- the dry run ---------------------------------------------------------------------------------

@pytest.mark.date_sensitive
def test_the_dry_run_changes_nothing_and_counts_what_the_run_does(old, clock, db_session):
    before = everything(db_session)
    files = sorted(old.uploads.rglob("*.jpg"))
    seen = preview()
    assert everything(db_session) == before and sorted(old.uploads.rglob("*.jpg")) == files
    assert seen.as_counts() == {"anonymised": 2, "contacts_removed": 8, "photos_deleted": 3,
                                "case_contacts_removed": 0}
    assert seen.anonymise.oldest == clock.now - days(181)
    assert seen.contacts.oldest == clock.now - days(400)
    assert seen.photos.oldest == clock.now - days(365) - MINUTE
    result = run_retention()
    assert {key: result[key] for key in seen.as_counts()} == seen.as_counts()
    after = preview()
    assert after.as_counts() == {"anonymised": 0, "contacts_removed": 0, "photos_deleted": 0,
                                 "case_contacts_removed": 0}
    assert (after.anonymise.oldest, after.contacts.oldest, after.photos.oldest) == (None, None, None)


def test_the_command_dry_run_then_apply(old, runner, db_session):
    dry = runner.invoke(args=["privacy", "retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run: nothing changed." in dry.output
    assert "anonymise unfounded/duplicate reports (closed over 180 days ago): 2, oldest closed" in dry.output
    assert "remove reporters' contacts (closed over 90 days ago): 8" in dry.output
    assert "delete photos (closed over 365 days ago): 3" in dry.output
    assert reports_where(db_session, Report.anonymised_at.is_not(None)) == set()
    applied = runner.invoke(args=["privacy", "retention"])
    assert applied.exit_code == 0, applied.output
    assert "2 reports anonymised, 8 contacts removed, 3 photos deleted" in applied.output
    assert reports_where(db_session, Report.anonymised_at.is_not(None)) == old.ids("unfounded_past", "duplicate_past")


# --- failures, the audit and the log ---------------------------------------------------------------

def test_a_failure_part_way_leaves_no_report_half_done(old, db_session, monkeypatch):
    first, second = sorted(old.ids("unfounded_past", "duplicate_past"))
    real = retention.delete_photos

    def fail_after_deleting(report_ids):
        real(report_ids)
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(retention, "delete_photos", fail_after_deleting)
    with pytest.raises(RuntimeError):
        run_retention(batch_size=1)
    db_session.rollback()
    # Anonymising and contacts were done and committed batch by batch; the photo batch that
    # failed is undone whole: its rows are back and its files were never touched.
    assert reports_where(db_session, Report.anonymised_at.is_not(None)) == {first, second}
    photos_past = photo_files(old, "photos_past")
    assert len(photos_past) == 2 and all(path.is_file() for path in photos_past)
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "privacy.retention")) == 0


def test_one_audit_entry_per_run_earlier_entries_kept_and_counts_only(old, db_session, caplog):
    earlier = db_session.scalar(select(func.count()).select_from(AuditEntry))
    with caplog.at_level(logging.INFO, logger="apoa.privacy"):
        run_retention()
    entries = db_session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert len(entries) == earlier + 1
    [entry] = [e for e in entries if e.action == "privacy.retention"]
    assert entry.actor_id is None and entry.object == "retention:reports"
    assert entry.detail == {"anonymised": 2, "contacts_removed": 8, "photos_deleted": 3,
                            "case_contacts_removed": 0, "unfounded_days": 180, "contact_days": 90, "photo_days": 365}
    said = json.dumps(entry.detail) + " ".join(r.getMessage() for r in caplog.records)
    for secret in ("Smith", "Melati", "0812", "Siti", "Budi", "107.30", "-6.30"):
        assert secret not in said
    assert "2 reports anonymised" in said


# --- the admin page ------------------------------------------------------------------------------

PAGE = "/admin/privasi/retensi"


def test_the_page_shows_the_settings_the_dry_run_and_the_last_runs(old, sign_in, english, db_session):
    admin = old.actors["admin"]
    client = sign_in(admin)
    page = client.get(PAGE + "?lang=en").text
    assert "APOA_RETENTION_UNFOUNDED_DAYS" in page and "180 days" in page and "365 days" in page
    assert "2 reports" in page and "8 contacts" in page and "3 photos" in page
    assert "No run yet." in page
    answer = client.post(PAGE + "/jalankan")
    assert answer.status_code == 303
    assert [(call.path, call.kwargs) for call in jobs.pending()] == [
        ("apoa.privacy.retention.run_retention", {"actor_id": admin.id})]
    jobs.run_pending()
    page = client.get(PAGE + "?lang=en").text
    assert "0 reports" in page and "0 photos" in page
    assert admin.name in page.split('id="retention-runs"')[1]
    [entry] = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.retention")).all()
    assert entry.actor_id == admin.id


@pytest.mark.parametrize("role", ["officer", "supervisor", "regional_head", "resident"])
def test_the_page_is_not_found_for_others(make, sign_in, role):
    client = sign_in(make.user(role))
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE + "/jalankan").status_code == 404
    assert jobs.pending() == []


def test_the_page_is_not_found_signed_out(client):
    assert client.get(PAGE).status_code == 404


# --- complaints' answer addresses ----------------------------------------------------------------

@pytest.mark.date_sensitive
def test_an_answered_complaint_loses_its_answer_address_after_the_contact_period(make, clock, db_session):
    from apoa.feedback.models import ServiceCase
    from apoa.feedback.services import answer_case, open_case

    office = make.office()
    supervisor = make.user(role="supervisor", office=office)
    cases = {}
    for name, answered_ago in (("kept", days(90)), ("removed", days(90) + MINUTE), ("open", None)):
        case = open_case(office.id, "complaint", "Petugas tidak ramah", "web", email=f"{name}@example.org")
        if answered_ago is not None:
            answer_case(case, supervisor, "Mohon maaf, sudah kami tegur.")
            case.answered_at = clock.now - answered_ago
        cases[name] = case
    db_session.flush()
    seen = preview()
    assert seen.case_contacts.count == 1 and seen.case_contacts.oldest == clock.now - days(90) - MINUTE

    assert run_retention()["case_contacts_removed"] == 1

    contacts = dict(db_session.execute(select(ServiceCase.id, ServiceCase.contact)
                                       .where(ServiceCase.id.in_([c.id for c in cases.values()]))).all())
    assert contacts[cases["removed"].id] is None
    assert contacts[cases["kept"].id] is not None and contacts[cases["open"].id] is not None
