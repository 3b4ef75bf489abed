"""Nothing typed or attached is lost: photos survive a form error on the residents' form and on the
officers' finding form (kept server-side for the same browser session only), the errors are listed
at the top with a link to each field, a mistyped tracking code stays in its field, and the report
form's small things (no category chosen in advance, a searchable nationality, a hint for finding
coordinates without the map, contact fields hidden by CSS alone)."""
import io
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from apoa.extensions import db
from apoa.jobs.cleanup import delete_orphan_photos
from apoa.reports import pending
from apoa.reports.models import Attachment, Report, ReportEvent
from apoa.reports.states import State
from apoa.reports.tracking import display, new_code
from tests.factories import World
from tests.reports.helpers import form_data, jpeg_bytes

KEPT = re.compile(r'<input type="checkbox" name="([\w-]*kept_photos)" id="[^"]+" value="([0-9a-f]{64})" checked>')


def report_count():
    return db.session.scalar(select(func.count()).select_from(Report))


def send(client, photos=(), **overrides):
    data = form_data(**overrides)
    if photos:
        data["photos"] = [(io.BytesIO(photo), f"foto{i}.jpg") for i, photo in enumerate(photos)]
    return client.post("/lapor", data=data, content_type="multipart/form-data")


def kept_ids(answer):
    return [photo_id for _name, photo_id in KEPT.findall(answer.text)]


def pending_files(app):
    root = Path(app.config["UPLOAD_DIR"]) / pending.PENDING_FOLDER
    return sorted(root.glob("*/*.jpg")) if root.is_dir() else []


def attachments_of(answer):
    code = answer.headers["Location"].rsplit("/", 1)[1]
    report = db.session.scalar(select(Report).where(Report.tracking_code == code))
    return db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)).all()


@pytest.fixture(autouse=True)
def uploads(app, harness, tmp_path, monkeypatch):
    """An upload folder of this test's own, so that kept photos of other tests do not count."""
    for application in (app, harness):
        monkeypatch.setitem(application.config, "UPLOAD_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def red_and_blue():
    return jpeg_bytes(color=(200, 30, 30)), jpeg_bytes(color=(30, 30, 200))


# --- the residents' form -------------------------------------------------------------------------

def test_a_form_error_keeps_the_photos_and_the_next_try_sends_them(app, client, red_and_blue):
    key = form_data()["submission_key"]
    refused = send(client, photos=red_and_blue, consent=None, submission_key=key)
    assert refused.status_code == 400
    ids = kept_ids(refused)
    assert len(ids) == 2
    assert refused.text.count('src="data:image/jpeg;base64,') == 2  # shown, small, inline
    before = report_count()
    accepted = send(client, kept_photos=ids, submission_key=key)  # no file chosen again
    assert accepted.status_code == 303 and report_count() == before + 1
    assert sorted(a.sha256 for a in attachments_of(accepted)) == sorted(ids)
    accepted.close()  # the kept copies go once the answer has been sent
    assert pending_files(app) == []


def test_kept_photos_can_be_removed_and_more_added(client, red_and_blue):
    key = form_data()["submission_key"]
    red, blue = red_and_blue
    ids = kept_ids(send(client, photos=[red], latitude="", submission_key=key))
    assert len(ids) == 1
    # Unticked: the kept photo is not named again; a new one is chosen instead.
    accepted = send(client, photos=[blue], submission_key=key)
    assert accepted.status_code == 303
    assert [a.sha256 for a in attachments_of(accepted)] != ids and len(attachments_of(accepted)) == 1


def test_kept_photos_and_new_ones_together_stay_within_three(client, red_and_blue):
    key = form_data()["submission_key"]
    ids = kept_ids(send(client, photos=red_and_blue, consent=None, submission_key=key))
    answer = send(client, photos=[jpeg_bytes(color=(1, 2, 3)), jpeg_bytes(color=(4, 5, 6))],
                  kept_photos=ids, submission_key=key)
    assert answer.status_code == 400
    assert len(kept_ids(answer)) == 3  # the first three are kept, and the message says why


@pytest.mark.usefixtures("english")
def test_only_the_same_browser_session_can_use_kept_photos(app, client, red_and_blue):
    key = form_data()["submission_key"]
    ids = kept_ids(send(client, photos=red_and_blue, consent=None, submission_key=key))
    stranger = app.test_client()
    before = report_count()
    answer = send(stranger, kept_photos=ids, submission_key=key)
    assert answer.status_code == 400  # told to choose the photos again, and nothing stored
    assert "Photos you attached earlier are no longer kept" in answer.text
    assert report_count() == before and kept_ids(answer) == []


def test_a_photo_file_is_kept_only_sanitised_and_owner_only(app, client):
    from PIL import Image
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    answer = send(client, photos=[jpeg_bytes(exif=exif.tobytes())], consent=None)
    assert answer.status_code == 400
    (path,) = pending_files(app)
    assert b"SpyCam" not in path.read_bytes() and b"Exif" not in path.read_bytes()
    assert os.stat(path).st_mode & 0o077 == 0 and os.stat(path.parent).st_mode & 0o077 == 0


def test_forged_or_unknown_photo_names_are_ignored(client):
    answer = send(client, kept_photos=["../../etc/passwd", "0" * 64], consent=None)
    assert answer.status_code == 400 and kept_ids(answer) == []


def test_abandoned_kept_photos_are_deleted_by_the_clean_up_job(app, client):
    send(client, photos=[jpeg_bytes()], consent=None)
    (path,) = pending_files(app)
    written = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    soon = written + timedelta(hours=2)
    assert delete_orphan_photos(now=soon) == 0 and path.exists()  # a person may come back
    later = written + pending.MAX_AGE + timedelta(minutes=1)
    assert delete_orphan_photos(now=later) == 1
    assert not path.exists() and not path.parent.exists()


@pytest.mark.usefixtures("english")
def test_the_errors_are_listed_at_the_top_with_a_link_to_each_field(client):
    answer = send(client, description="short", consent=None, reporter="contact", category="")
    assert answer.status_code == 400
    summary = re.search(r'<div class="error-summary" id="error-summary" role="alert".*?</div>', answer.text, re.S)
    assert summary and summary.start() < answer.text.index('<form method="post" action="/lapor?kirim=1"')
    links = re.findall(r'<a href="#([\w-]+)">', summary.group(0))
    assert links == ["category", "description", "reporter-0", "consent"]
    for target in links:
        assert f'id="{target}"' in answer.text
    assert "Choose what the report is about." in summary.group(0)


def test_too_fast_a_form_says_so_at_the_top_and_keeps_the_photos(client):
    from tests.reports.helpers import stamp
    answer = send(client, photos=[jpeg_bytes()], started_at=stamp(seconds_ago=0))
    assert answer.status_code == 400 and "Laporan terkirim terlalu cepat" in answer.text
    assert len(kept_ids(answer)) == 1


# --- the officers' finding form ------------------------------------------------------------------

def finding_data(**fields):
    data = {"record_finding-outcome": "not_found", "record_finding-people_found": "0",
            "record_finding-documents_checked": "0", "record_finding-action_taken": "",
            "record_finding-notes": "Rumah kosong, tetangga tidak tahu.",
            "record_finding-upload_key": "7f0b4d5e-2c1a-4c59-9c1e-2f9b0a6d1e11"}
    data.update({f"record_finding-{name}": value for name, value in fields.items()})
    return {name: value for name, value in data.items() if value is not None}


def test_the_finding_form_keeps_its_photos_across_an_error(make, sign_in, red_and_blue):
    world = World(make)
    report = world.report_in(State.in_field)
    assignee = sign_in(world.actors["assignee"])
    url = f"/laporan/{report.id}/aksi/record_finding"
    photos = [(io.BytesIO(p), f"temuan{i}.jpg") for i, p in enumerate(red_and_blue)]
    refused = assignee.post(url, data=finding_data(notes="", photos=photos), content_type="multipart/form-data")
    assert refused.status_code == 400
    assert re.search(r'<details class="action" id="action-record_finding" open>', refused.text)
    assert re.search(r'id="action-record_finding-errors" role="alert"', refused.text)
    kept = KEPT.findall(refused.text)
    assert {name for name, _id in kept} == {"record_finding-kept_photos"} and len(kept) == 2
    accepted = assignee.post(url, data=finding_data(kept_photos=[i for _n, i in kept]),
                             content_type="multipart/form-data")
    assert accepted.status_code == 303
    event = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                        ReportEvent.action == "record_finding"))
    attached = db.session.scalars(select(Attachment.sha256).where(Attachment.event_id == event.id)).all()
    assert sorted(attached) == sorted(i for _n, i in kept)


def test_each_finding_form_shown_afresh_has_its_own_upload_key(make, sign_in):
    world = World(make)
    report = world.report_in(State.in_field)
    assignee = sign_in(world.actors["assignee"])
    keys = [re.search(r'name="record_finding-upload_key" type="hidden" value="([^"]+)"',
                      assignee.get(f"/laporan/{report.id}").text).group(1) for _ in range(2)]
    assert keys[0] != keys[1]


# --- the status lookup ---------------------------------------------------------------------------

def test_a_mistyped_code_stays_in_the_field_beside_its_message(client, english, make):
    code = make.report().tracking_code
    mistyped = display(code[:-1] + ("0" if code[-1] != "0" else "1"))
    answer = client.post("/status", data={"code": mistyped}, follow_redirects=True)
    assert answer.status_code == 404
    field = re.search(r'<input[^>]*id="code"[^>]*>', answer.text).group(0)
    assert 'aria-invalid="true"' in field and 'aria-describedby="code-error"' in field
    value = re.search(r'value="([^"]*)"', field).group(1)
    assert value.replace("-", "") == mistyped.replace("-", "")
    assert re.search(r'<p class="field-error" id="code-error">We could not find a report with this code',
                     answer.text)


def test_an_unknown_code_is_shown_back_escaped(client):
    answer = client.get('/status/"><img src=x onerror=alert(1)>')
    assert answer.status_code == 404 and "<img src=x" not in answer.text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in answer.text


# --- the small things ----------------------------------------------------------------------------

def test_no_category_is_chosen_in_advance(client, english):
    page = client.get("/lapor").text
    select_html = re.search(r'<select[^>]*id="category".*?</select>', page, re.S).group(0)
    assert re.findall(r"<option[^>]*selected[^>]*>([^<]*)<", select_html) == ["Choose…"]
    answer = send(client, category="")
    assert answer.status_code == 400 and "Choose what the report is about." in answer.text


def test_the_nationality_is_searched_by_name_in_either_language_or_by_code(client, english):
    page = client.get("/lapor").text
    assert re.search(r'<input[^>]*list="nationality-countries"', page)
    assert '<datalist id="nationality-countries">' in page and '<option value="China">' in page
    for typed in ("china", "Tiongkok", " CN "):
        answer = send(client, nationality=typed)
        assert answer.status_code == 303, typed
        code = answer.headers["Location"].rsplit("/", 1)[1]
        assert db.session.scalar(select(Report.nationality_guess).where(Report.tracking_code == code)) == "CN"
    assert send(client, nationality="").status_code == 303  # unknown: left empty


def test_a_misspelt_nationality_stays_beside_its_message(client, english):
    answer = send(client, nationality="Chinna", consent=None)
    assert answer.status_code == 400
    assert re.search(r'<input[^>]*id="nationality"[^>]*value="Chinna"', answer.text)
    assert "Choose a country from the list" in answer.text


def test_without_the_map_the_form_says_how_to_find_coordinates(client, english):
    page = client.get("/lapor").text
    hint = re.search(r'<div id="no-map-help".*?</div>', page, re.S).group(0)
    assert "latitude" in hint and "Touch and hold" in hint
    assert " hidden" not in hint.split(">")[0]  # shown unless the script draws the map


def test_the_contact_fields_hide_by_css_alone_when_anonymous(client):
    page = client.get("/lapor").text
    about = re.search(r'<fieldset class="about-you">.*?</fieldset>', page, re.S).group(0)
    assert re.search(r'<input checked id="reporter-0" name="reporter" type="radio" value="anonymous">', about)
    assert 'class="contact-fields"' in about
    with client.get("/static/css/apoa.css") as stylesheet:
        css = stylesheet.text
    assert ".about-you:has(input[name=reporter][value=anonymous]:checked) .contact-fields { display: none; }" in css


# --- pages that say what to do -------------------------------------------------------------------

def test_a_server_error_page_says_how_to_send_the_form_again(app, client, english, monkeypatch):
    from apoa.reports import public_views

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")
    monkeypatch.setattr(public_views, "submit_report", broken)
    answer = send(client)
    assert answer.status_code == 500
    assert "Back button" in answer.text and "saved only once" in answer.text


def test_a_new_code_miss_is_404_and_nothing_else(client):
    assert client.get(f"/status/{new_code()}").status_code == 404
