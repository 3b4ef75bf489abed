"""The officers' report page: only the actions the user may take, each form working end to end
through HTTP, refusals that change nothing, the audited contact reveal, the photo view, and the
forms' CSRF tokens."""
import io
import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from apoa import create_app
from apoa.audit.models import AuditEntry
from apoa.extensions import db
from apoa.reports.contact import Contact, encrypt_contact
from apoa.reports.models import Attachment, ReportEvent
from apoa.reports.states import State
from tests.conftest import SECOND_STEP, TEST_PASSWORD, app_environ, totp_code
from tests.reports.helpers import jpeg_bytes
from tests.factories import World

WIB = timezone(timedelta(hours=7))
BUDI = Contact(name="Budi Santoso", phone="+62 812 3456 7890", email="budi@example.com")
REASON = "Pelapor perlu dihubungi untuk menunjukkan lokasi."


@pytest.fixture
def world(make):
    return World(make)


def action_data(action, **fields):
    """Form data for an action's form: its fields carry the action as prefix."""
    return {f"{action}-{name}": value for name, value in fields.items()}


def post_action(client, report, action, **fields):
    return client.post(f"/laporan/{report.id}/aksi/{action}", data=action_data(action, **fields))


def offered_actions(page):
    return set(re.findall(r'<details class="action" id="action-(\w+)"', page.text))


def reloaded(report):
    db.session.expire_all()
    return db.session.get(type(report), report.id)


def snapshot(report):
    report = reloaded(report)
    events = db.session.scalar(select(func.count()).where(ReportEvent.report_id == report.id))
    audit = db.session.scalar(select(func.count()).select_from(AuditEntry))
    return (report.state, report.outcome, report.assignee_id, report.office_id, report.duplicate_of_id,
            report.due_at, events, audit)


# --- the actions offered ---------------------------------------------------------------------------

@pytest.mark.parametrize("state, actor, expected", [
    (State.new, "officer", {"screen", "mark_duplicate"}),
    (State.screening, "officer", {"mark_duplicate", "transfer", "dismiss"}),
    (State.screening, "supervisor", {"mark_duplicate", "transfer", "assign", "dismiss"}),
    (State.assigned, "assignee", {"start_field_check"}),
    (State.assigned, "officer", set()),
    (State.in_field, "assignee", {"record_finding"}),
    (State.in_field, "supervisor", set()),
    (State.pending_approval, "supervisor", {"approve", "send_back"}),
    (State.pending_approval, "decider", set()),  # never one's own decision
    (State.closed, "supervisor", {"reopen"}),
    (State.closed, "officer", set()),
])
def test_the_page_offers_only_the_actions_the_user_may_take(world, sign_in, state, actor, expected):
    report = world.report_in(state)
    page = sign_in(world.actors[actor]).get(f"/laporan/{report.id}")
    assert page.status_code == 200
    assert offered_actions(page) == expected
    if not expected:
        assert 'id="no-actions"' in page.text


def test_the_page_shows_the_report_and_is_never_cached(world, sign_in):
    report = world.report_in(State.assigned)
    page = sign_in(world.actors["supervisor"]).get(f"/laporan/{report.id}")
    assert page.status_code == 200
    assert "no-store" in page.headers["Cache-Control"]
    text = page.text
    for shown in (report.description, "Ditugaskan", "Kabupaten Karawang", world.actors["assignee"].name,
                  'id="report-map"', 'data-lat="-6.300000"', 'data-lon="107.300000"'):
        assert shown in text


def test_the_page_has_no_inline_script_or_style(world, sign_in):
    """A CSP with nonces is coming: every script is a file, data goes in data-* attributes."""
    report = world.report_in(State.screening)
    text = sign_in(world.actors["supervisor"]).get(f"/laporan/{report.id}").text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == []
    assert " style=" not in text and "<style" not in text and "javascript:" not in text
    assert "/assets/vendor/leaflet/leaflet.js" in text and "/static/js/report-detail.js" in text


def test_the_history_names_staff_but_never_the_reporter(world, sign_in, make, english):
    resident = make.user("resident", name="Siti Pelapor Rahasia")
    report = world.report_in(State.new)
    report.reporter_id = resident.id
    db.session.add(ReportEvent(report_id=report.id, actor_id=resident.id, action="follow_up", from_state="new",
                               to_state="new", note="Mereka datang lagi malam ini."))
    db.session.flush()
    client = sign_in(world.actors["officer"])
    assert post_action(client, report, "screen", note="Mulai ditelaah.").status_code == 303
    text = client.get(f"/laporan/{report.id}").text
    assert "Siti Pelapor Rahasia" not in text and resident.email not in text
    assert "Reporter" in text and "Mereka datang lagi malam ini." in text
    assert world.actors["officer"].name in text and "Mulai ditelaah." in text
    assert "New → Screening" in text and "Start screening" in text


def test_an_overdue_report_is_marked_on_its_page(world, sign_in):
    report = world.report_in(State.screening)
    report.due_at = datetime.now(timezone.utc) - timedelta(hours=1)
    db.session.flush()
    text = sign_in(world.actors["officer"]).get(f"/laporan/{report.id}").text
    assert "badge-overdue" in text


# --- the whole path, through the forms -------------------------------------------------------------

def test_a_report_goes_from_new_to_closed_through_the_forms(world, sign_in):
    report = world.report_in(State.new)
    officer, supervisor, assignee = (sign_in(world.actors[name]) for name in ("officer", "supervisor", "assignee"))
    page_url = f"/laporan/{report.id}"

    answer = post_action(officer, report, "screen", note="Ditelaah.")
    assert (answer.status_code, answer.headers["Location"]) == (303, page_url)
    assert reloaded(report).state == "screening"

    due_local = (datetime.now(WIB) + timedelta(days=2)).replace(second=0, microsecond=0)
    answer = post_action(supervisor, report, "assign", assignee=str(world.actors["assignee"].id),
                         due=due_local.strftime("%Y-%m-%dT%H:%M"), note="Cek siang hari.")
    assert answer.status_code == 303
    assigned = reloaded(report)
    assert (assigned.state, assigned.assignee_id) == ("assigned", world.actors["assignee"].id)
    assert assigned.due_at == due_local  # typed in WIB, stored as that moment

    assert post_action(assignee, report, "start_field_check").status_code == 303
    assert reloaded(report).state == "in_field"

    finding = action_data("record_finding", outcome="violation_found", action_taken="deportation", people_found="2",
                          documents_checked="2", notes="Dua orang bekerja dengan visa kunjungan.")
    finding["record_finding-nationalities"] = ["CN", "MY"]
    finding["record_finding-photos"] = [(io.BytesIO(jpeg_bytes()), "temuan.jpg")]
    answer = assignee.post(f"/laporan/{report.id}/aksi/record_finding", data=finding,
                           content_type="multipart/form-data")
    assert answer.status_code == 303
    decided = reloaded(report)
    assert (decided.state, decided.outcome, decided.action_taken) == ("pending_approval", "violation_found",
                                                                      "deportation")
    event = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                        ReportEvent.action == "record_finding"))
    assert event.detail == {"outcome": "violation_found", "action_taken": "deportation", "people_found": 2,
                            "nationalities": ["CN", "MY"], "documents_checked": 2}
    photo = db.session.scalar(select(Attachment).where(Attachment.report_id == report.id))
    assert photo.event_id == event.id

    answer = post_action(supervisor, report, "approve", note="Setuju.")
    assert answer.status_code == 303
    assert reloaded(report).state == "closed"

    page = supervisor.get(page_url)
    assert "Ditutup" in page.text and offered_actions(page) == {"reopen"}
    assert "Dua orang bekerja dengan visa kunjungan." in page.text and "Tiongkok" in page.text
    assert f"/laporan/{report.id}/foto/{photo.id}" in page.text
    assert [e.action for e in reloaded(report).events] == ["submit", "screen", "assign", "start_field_check",
                                                           "record_finding", "approve"]


def test_a_successful_action_flashes_what_was_done(world, sign_in, english):
    report = world.report_in(State.new)
    client = sign_in(world.actors["officer"])
    page = client.post(f"/laporan/{report.id}/aksi/screen", follow_redirects=True)
    assert 'class="flash flash-success"' in page.text and "Done: Start screening." in page.text


# --- refusals --------------------------------------------------------------------------------------

@pytest.mark.parametrize("state, action, actor, fields", [
    (State.new, "approve", "supervisor", {}),
    (State.closed, "screen", "officer", {}),
    (State.new, "record_finding", "assignee", {"outcome": "not_found", "notes": "Rumah kosong."}),
    (State.in_field, "reopen", "supervisor", {"reason": "Ada laporan baru lagi."}),
])
def test_an_illegal_action_answers_409_with_a_translated_message_and_changes_nothing(
        world, sign_in, state, action, actor, fields):
    report = world.report_in(state)
    client = sign_in(world.actors[actor])
    before = snapshot(report)
    answer = post_action(client, report, action, **fields)
    assert answer.status_code == 409
    assert "409 · Konflik" in answer.text  # the translated error page
    assert snapshot(report) == before


def test_the_409_says_which_action_and_state_do_not_fit(world, sign_in):
    report = world.report_in(State.new)
    client = sign_in(world.actors["supervisor"])
    client.post("/bahasa", data={"lang": "en", "next": "/"})  # the language a user picks
    answer = post_action(client, report, "approve")
    assert answer.status_code == 409
    assert "“Approve” is not possible while the report is “New”." in answer.text


@pytest.mark.parametrize("state, action, actor", [
    (State.screening, "assign", "officer"),           # supervisors assign
    (State.assigned, "start_field_check", "officer"),  # the assignee only
    (State.pending_approval, "approve", "decider"),    # never one's own decision
    (State.closed, "reopen", "officer"),
])
def test_an_action_the_user_may_not_take_answers_403_and_changes_nothing(world, sign_in, state, action, actor):
    report = world.report_in(state)
    client = sign_in(world.actors[actor])
    before = snapshot(report)
    answer = post_action(client, report, action, reason="Alasan yang cukup panjang.")
    assert answer.status_code == 403
    assert snapshot(report) == before


@pytest.mark.parametrize("action, fields, message", [
    ("dismiss", {"reason": ""}, "Say why the report is unfounded."),
    ("dismiss", {"reason": "no"}, "Write between 5 and 2000 characters."),
    ("transfer", {"office": "", "reason": "Salah wilayah."}, "Choose another office to transfer the report to."),
    ("transfer", {"office": "999999", "reason": "Salah wilayah."}, "Not a valid choice."),
    ("assign", {"assignee": "", "due": ""}, "Choose an active officer of this office."),
    ("mark_duplicate", {"code": "", "original": ""}, "Choose the original report this one repeats."),
    ("mark_duplicate", {"code": "ABCDE-FGHJK-MNPQ"}, "No report you can see has this tracking code."),
])
def test_bad_form_input_shows_the_page_again_with_the_errors(world, sign_in, english, action, fields, message):
    report = world.report_in(State.screening)
    client = sign_in(world.actors["supervisor"])
    before = snapshot(report)
    answer = post_action(client, report, action, **fields)
    assert answer.status_code == 400
    assert f'<details class="action" id="action-{action}" open>' in answer.text
    assert f'role="alert"><a href="#action-{action}">' in answer.text  # the top of the page says where
    assert 'class="field-error"' in answer.text and message in answer.text
    assert snapshot(report) == before


@pytest.mark.date_sensitive
def test_a_due_time_must_be_after_now(world, sign_in, clock):
    report = world.report_in(State.screening)
    supervisor = sign_in(world.actors["supervisor"])
    for too_early in (clock.local - timedelta(hours=2), clock.local):   # the clock stands on a whole minute
        answer = post_action(supervisor, report, "assign", assignee=str(world.actors["assignee"].id),
                             due=too_early.strftime("%Y-%m-%dT%H:%M"))
        assert answer.status_code == 400
        assert reloaded(report).state == "screening"
    a_minute_later = clock.local + timedelta(minutes=1)
    answer = post_action(supervisor, report, "assign", assignee=str(world.actors["assignee"].id),
                         due=a_minute_later.strftime("%Y-%m-%dT%H:%M"))
    assert answer.status_code == 303
    assert reloaded(report).due_at == a_minute_later


def test_a_finding_of_violation_needs_the_action_taken(world, sign_in):
    report = world.report_in(State.in_field)
    answer = post_action(sign_in(world.actors["assignee"]), report, "record_finding", outcome="violation_found",
                         people_found="1", documents_checked="1", notes="Bekerja tanpa izin kerja.")
    assert answer.status_code == 400
    assert reloaded(report).state == "in_field"


def test_an_unknown_action_is_not_found(world, sign_in):
    report = world.report_in(State.new)
    assert sign_in(world.actors["officer"]).post(f"/laporan/{report.id}/aksi/delete").status_code == 404


def test_after_a_transfer_the_officer_is_sent_back_to_the_queue(world, sign_in):
    report = world.report_in(State.screening)
    client = sign_in(world.actors["officer"])
    answer = post_action(client, report, "transfer", office=str(world.other_office.id),
                         reason="Alamat masuk wilayah kantor B.")
    assert (answer.status_code, answer.headers["Location"]) == (303, "/laporan")
    assert reloaded(report).office_id == world.other_office.id
    assert client.get(f"/laporan/{report.id}").status_code == 404


def test_a_duplicate_can_be_marked_by_typing_the_originals_code(world, sign_in, make):
    original = make.report(point=(107.40, -6.35))  # far away: not a nearby candidate
    report = world.report_in(State.new)
    typed = original.tracking_code.lower()
    answer = post_action(sign_in(world.actors["officer"]), report, "mark_duplicate", code=typed)
    assert answer.status_code == 303
    marked = reloaded(report)
    assert (marked.state, marked.outcome, marked.duplicate_of_id) == ("pending_approval", "duplicate", original.id)


def test_a_duplicate_cannot_name_a_report_of_another_office(world, sign_in, make):
    foreign = make.report(point=(110.46, -1.67))  # Kabupaten Ketapang: KANIM-X
    report = world.report_in(State.new)
    answer = post_action(sign_in(world.actors["officer"]), report, "mark_duplicate",
                         code=foreign.tracking_code, original=str(foreign.id))
    assert answer.status_code == 400
    assert reloaded(report).state == "new"


# --- the reporter's contact ------------------------------------------------------------------------

@pytest.fixture
def with_contact(world):
    report = world.report_in(State.screening)
    report.contact = encrypt_contact(BUDI)
    db.session.flush()
    return report


def reveal_entries(report):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.object == f"report:{report.id}",
                                                       AuditEntry.action == "contact.reveal")).all()


@pytest.fixture
def app_log(caplog):
    """Records of the "apoa" loggers (they do not propagate to the root logger caplog watches)."""
    logger = logging.getLogger("apoa")
    caplog.set_level(logging.DEBUG, logger="apoa")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_a_supervisor_reveals_the_contact_by_giving_a_reason(world, sign_in, with_contact, app, app_log):
    caplog = app_log
    client = sign_in(world.actors["supervisor"])
    page = client.get(f"/laporan/{with_contact.id}")
    assert f'action="/laporan/{with_contact.id}/kontak#contact-title"' in page.text and BUDI.phone not in page.text
    answer = client.post(f"/laporan/{with_contact.id}/kontak", data={"reason": REASON})
    assert answer.status_code == 200
    assert "no-store" in answer.headers["Cache-Control"]
    for value in (BUDI.name, BUDI.phone, BUDI.email):
        assert value in answer.text
    [entry] = reveal_entries(with_contact)
    assert entry.detail == {"reason": REASON} and entry.actor_id == world.actors["supervisor"].id
    # On that answer only: not in the session, not on the next page, not in the logs.
    # (Whole values: a fragment such as "3456" can turn up by chance in a random token or an id.)
    session = repr(app.session_interface.get_signing_serializer(app).loads(client.get_cookie("session").value))
    assert f"contact of report {with_contact.id} revealed" in caplog.text  # the log is seen...
    for value in (BUDI.name, BUDI.phone, BUDI.email, "812 3456"):
        assert value not in session and value not in caplog.text  # ...and neither holds the contact
    assert BUDI.phone not in client.get(f"/laporan/{with_contact.id}").text


@pytest.mark.parametrize("reason", ["", "   ", "karena"])
def test_a_reveal_needs_a_real_reason(world, sign_in, with_contact, reason):
    answer = sign_in(world.actors["supervisor"]).post(f"/laporan/{with_contact.id}/kontak", data={"reason": reason})
    assert answer.status_code == 400
    assert BUDI.phone not in answer.text and 'class="field-error"' in answer.text
    assert reveal_entries(with_contact) == []


def test_an_officer_cannot_reveal_the_contact(world, sign_in, with_contact):
    client = sign_in(world.actors["officer"])
    page = client.get(f"/laporan/{with_contact.id}")
    assert "/kontak" not in page.text and BUDI.phone not in page.text
    answer = client.post(f"/laporan/{with_contact.id}/kontak", data={"reason": REASON})
    assert answer.status_code == 403
    assert BUDI.phone not in answer.text and reveal_entries(with_contact) == []


def test_no_reveal_is_offered_for_a_report_without_contact(world, sign_in):
    report = world.report_in(State.screening)
    client = sign_in(world.actors["supervisor"])
    assert "/kontak" not in client.get(f"/laporan/{report.id}").text
    assert client.post(f"/laporan/{report.id}/kontak", data={"reason": REASON}).status_code == 400


# --- photos ----------------------------------------------------------------------------------------

def upload_dir():
    return Path(current_app.config["UPLOAD_DIR"])


def test_a_photo_is_served_privately_to_who_may_see_the_report(world, sign_in, make):
    report = world.report_in(State.screening)
    photo = make.photo(report, upload_dir())
    with sign_in(world.actors["officer"]).get(f"/laporan/{report.id}/foto/{photo.id}") as answer:
        assert answer.status_code == 200
        assert answer.mimetype == "image/jpeg"
        assert "no-store" in answer.headers["Cache-Control"]
        assert answer.data == (upload_dir() / photo.stored_path).read_bytes()


def test_a_photo_of_another_report_is_not_found_through_this_one(world, sign_in, make):
    report, other = world.report_in(State.screening), world.report_in(State.new)
    photo = make.photo(other, upload_dir())
    client = sign_in(world.actors["officer"])
    assert client.get(f"/laporan/{report.id}/foto/{photo.id}").status_code == 404
    with client.get(f"/laporan/{other.id}/foto/{photo.id}") as answer:
        assert answer.status_code == 200


def test_a_photo_missing_on_disk_is_not_found(world, sign_in, make):
    report = world.report_in(State.screening)
    photo = make.photo(report, upload_dir())
    (upload_dir() / photo.stored_path).unlink()
    assert sign_in(world.actors["officer"]).get(f"/laporan/{report.id}/foto/{photo.id}").status_code == 404


def test_a_stored_path_escaping_the_upload_folder_is_never_served(world, sign_in, make):
    report = world.report_in(State.screening)
    photo = make.photo(report, upload_dir())
    photo.stored_path = "../../../etc/passwd"
    db.session.flush()
    assert sign_in(world.actors["officer"]).get(f"/laporan/{report.id}/foto/{photo.id}").status_code == 404


# --- with CSRF protection on (the suite's app has it off) -------------------------------------------

@pytest.fixture
def csrf_client(app, database_url):
    """A client of a twin of the app with CSRF protection on, as in production."""
    protected = create_app({}, environ=app_environ(database_url, APOA_INSTANCE_DIR=app.config["INSTANCE_DIR"]))
    assert protected.config.get("WTF_CSRF_ENABLED", True)
    return protected.test_client()


def csrf_token(page, prefix=""):
    field = f"{prefix}-csrf_token" if prefix else "csrf_token"
    return re.search(rf'name="{field}" type="hidden" value="([^"]+)"', page.text).group(1)


def sign_in_with_tokens(client, user):
    answer = client.post("/masuk", data={"email": user.email, "password": TEST_PASSWORD,
                                         "csrf_token": csrf_token(client.get("/masuk"))})
    if answer.status_code == 302 and answer.headers["Location"] == SECOND_STEP:
        answer = client.post(SECOND_STEP, data={"code": totp_code(user),
                                                "csrf_token": csrf_token(client.get(SECOND_STEP))})
    assert answer.status_code == 302


def test_the_action_forms_carry_working_csrf_tokens(world, csrf_client):
    report = world.report_in(State.new)
    sign_in_with_tokens(csrf_client, world.actors["officer"])
    url = f"/laporan/{report.id}/aksi/screen"
    assert csrf_client.post(url, data={"screen-note": "Tanpa token."}).status_code == 400
    assert reloaded(report).state == "new"
    token = csrf_token(csrf_client.get(f"/laporan/{report.id}"), prefix="screen")
    assert csrf_client.post(url, data={"screen-csrf_token": token}).status_code == 303
    assert reloaded(report).state == "screening"


def test_the_queue_filters_need_no_csrf_token(world, make, csrf_client):
    report = make.report(point=(107.30, -6.30), state="screening")
    sign_in_with_tokens(csrf_client, world.actors["officer"])
    page = csrf_client.get("/laporan?state=screening")
    assert page.status_code == 200 and f'data-report-id="{report.id}"' in page.text
    assert "csrf_token" not in page.text.split('class="filter-grid"')[1].split("</form>")[0]


def awaiting_box(page):
    found = re.search(r'<div class="awaiting" id="awaiting-decision">(.*?)</div>\s*(?:<div class="actions-list">|<p)',
                      page.text, re.S)
    return found.group(1) if found else None


def test_the_supervisor_sees_the_finding_beside_approve_and_the_decider_does_not_get_the_box(world, sign_in):
    report = world.report_in(State.in_field)
    assignee = sign_in(world.actors["assignee"])
    finding = action_data("record_finding", outcome="compliant", people_found="3", documents_checked="3",
                          notes="Tiga orang dengan KITAS yang sah.")
    assert assignee.post(f"/laporan/{report.id}/aksi/record_finding", data=finding).status_code == 303
    box = awaiting_box(sign_in(world.actors["supervisor"]).get(f"/laporan/{report.id}"))
    assert box is not None
    assert "Tiga orang dengan KITAS yang sah." in box and world.actors["assignee"].name in box
    # The one who decided is not asked to approve it, so sees no box.
    assert awaiting_box(assignee.get(f"/laporan/{report.id}")) is None
