"""Data-subject requests (UU PDP 27/2022, apoa/privacy/requests.py): a reporter asks to see,
correct or erase their data, signed in or with a tracking code and the contact they gave; the
admin answers within 3 × 24 hours; someone who believes they were reported asks a supervisor of
the office of their kabupaten/kota, who decides with a reason."""
import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.auth.models import User
from apoa.extensions import db
from apoa.feedback.models import ServiceRating
from apoa.privacy.models import SubjectRequest
from apoa.privacy.request_changes import ERASED_DESCRIPTION
from apoa.reports.abuse import CODE_MISSES_PER_REQUESTER
from apoa.reports.contact import Contact, _decrypt, encrypt_contact
from apoa.reports.models import Attachment, Report, ReportEvent
from apoa.reports.tracking import display, new_code

NAME, PHONE, EMAIL = "Ani Lestari", "0812-3456-7890", "ani@example.com"
MY_WORDS = "Ada enam orang asing bekerja di gudang tanpa izin setiap malam."
FOLLOW_UP = "Mereka datang lagi malam ini dengan truk."
OFFICER_NOTE = "Catatan petugas: pemilik gudang sudah diperiksa."
OTHER_WORDS = "Laporan orang lain tentang warung di ujung jalan."
REASON = "Laporan masih dalam penyelidikan lapangan oleh petugas."
KARAWANG_POINT = (107.30, -6.30)


class People:
    """Karawang and Purwakarta under one Kanwil, Kotabumi elsewhere; their supervisors, an admin,
    and two residents: Ani (who made reports) and Budi."""

    def __init__(self, make):
        self.make = make
        self.kanwil = make.office(kind="kanwil", code="KANWIL-JABAR")
        self.karawang = make.office(parent=self.kanwil, code="KANIM-KARAWANG", regions=["32.15"])
        self.purwakarta = make.office(parent=self.kanwil, code="KANIM-PURWAKARTA",
                                      regions=["32.14"])
        self.kotabumi = make.office(code="KANIM-KOTABUMI", regions=["18.03"])
        self.supervisor = make.user("supervisor", self.karawang)
        self.kanwil_supervisor = make.user("supervisor", self.kanwil)
        self.sibling_supervisor = make.user("supervisor", self.purwakarta)
        self.other_supervisor = make.user("supervisor", self.kotabumi)
        self.officer = make.user("officer", self.karawang)
        self.admin = make.user("admin")
        self.ani = make.user("resident", email="ani.akun@example.com", name=NAME)
        self.budi = make.user("resident")

    def report(self, reporter=None, state="closed", **fields):
        """A report with Ani's contact, her description and a photo she sent, a follow-up of
        hers, and an officer's note and photo."""
        if state == "closed":
            fields.setdefault("outcome", "not_found")
        if state in ("assigned", "in_field"):
            fields.setdefault("assignee_id", self.officer.id)
        report = self.make.report(point=KARAWANG_POINT, state=state, description=MY_WORDS,
                                  reporter_id=reporter.id if reporter else None,
                                  contact=encrypt_contact(Contact(name=NAME, phone=PHONE,
                                                                  email=EMAIL)), **fields)
        submit = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id))
        follow_up = self._event(report, "follow_up", None, FOLLOW_UP)
        officer_step = self._event(report, "record_finding", self.officer, OFFICER_NOTE)
        self.make.photo(report, upload_dir(), event=submit)
        self.make.photo(report, upload_dir(), event=follow_up, color=(200, 10, 10))
        self.make.photo(report, upload_dir(), event=officer_step, color=(10, 200, 10))
        return report

    def _event(self, report, action, actor, note):
        event = ReportEvent(report_id=report.id, action=action, from_state=report.state,
                            to_state=report.state, note=note, actor_id=actor.id if actor else None)
        db.session.add(event)
        db.session.flush()
        return event


@pytest.fixture
def people(make):
    return People(make)


def upload_dir():
    return Path(current_app.config["UPLOAD_DIR"])


def stored_paths(report):
    return {a.stored_path: a for a in db.session.scalars(
        select(Attachment).where(Attachment.report_id == report.id))}


def only_request():
    return db.session.scalars(select(SubjectRequest)).one()


def ask_by_account(client, kind, text=""):
    answer = client.post("/privasi/permintaan/akun", data={"kind": kind, "text": text})
    assert answer.status_code == 303, answer.text
    return only_request()


def ask_by_code(client, report, kind, contact=PHONE, text=""):
    return client.post("/privasi/permintaan/kode", data={
        "code": display(report.tracking_code), "contact": contact, "kind": kind, "text": text})


def secret_on(page):
    return re.search(r'id="secret-code">([^<]+)<', page).group(1)


def error_summary(page):
    match = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    return match.group(0) if match else None


def audit(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.seq)).all()


def test_the_request_pages_open_for_everyone_who_may_use_them(people, app, sign_in):
    fresh = app.test_client()
    for path in ("/privasi/permintaan", "/privasi/permintaan/kode",
                 "/privasi/permintaan/tentang-saya"):
        answer = fresh.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["Cache-Control"] == "private, no-store"
    assert sign_in(people.ani).get("/privasi/permintaan/akun").status_code == 200
    assert sign_in(people.admin).get("/admin/privasi/permintaan").status_code == 200
    assert sign_in(people.supervisor).get("/privasi/keputusan").status_code == 200
    for refused, path in ((people.supervisor, "/admin/privasi/permintaan"),
                          (people.admin, "/privasi/keputusan"),
                          (people.officer, "/privasi/keputusan"),
                          (people.ani, "/admin/privasi/permintaan")):
        assert sign_in(refused).get(path).status_code == 404, (refused.role, path)


# --- the clock -----------------------------------------------------------------------------------

@pytest.mark.date_sensitive
def test_a_request_is_due_72_hours_after_it_arrives_and_the_admin_sees_the_clock(
        clock, people, sign_in, english):
    made = ask_by_account(sign_in(people.ani), "access")
    assert made.received_at == clock.now and made.due_at == clock.now + timedelta(hours=72)
    admin = sign_in(people.admin)
    page = admin.get("/admin/privasi/permintaan").text
    assert made.reference in page and "72 h left" in page
    assert "Open: 1 · within 24 hours of the deadline: 0 · overdue: 0" in page

    clock.advance(timedelta(hours=49))  # staff sessions are short: sign in again
    page = sign_in(people.admin).get("/admin/privasi/permintaan").text
    assert "23 h left" in page and "within 24 hours of the deadline: 1" in page

    clock.advance(timedelta(hours=24))
    page = sign_in(people.admin).get("/admin/privasi/permintaan").text
    assert "Overdue by 1 h" in page and "overdue: 1" in page and 'class="overdue"' in page


def test_the_admin_list_is_sorted_by_deadline(clock, people, sign_in):
    first = ask_by_account(sign_in(people.ani), "access")
    clock.advance(timedelta(hours=1))
    report = people.report()
    assert ask_by_code(sign_in(people.budi), report, "erasure").status_code == 303
    second = db.session.scalars(select(SubjectRequest).where(SubjectRequest.id != first.id)).one()
    page = sign_in(people.admin).get("/admin/privasi/permintaan").text
    assert page.index(first.reference) < page.index(second.reference)


# --- seeing one's data ---------------------------------------------------------------------------

def test_an_export_holds_the_requesters_data_and_nothing_of_others_or_the_officers(
        clock, people, sign_in, client):
    mine = people.report(reporter=people.ani)
    db.session.add(ServiceRating(report_id=mine.id, requirements=4, procedure=4, duration=3,
                                 cost=4, product=4, competence=4, conduct=4, complaints=3,
                                 facilities=4, comment="Petugas ramah."))
    people.make.report(point=KARAWANG_POINT, description=OTHER_WORDS)
    ani = sign_in(people.ani)
    made = ask_by_account(ani, "access")

    admin = sign_in(people.admin)
    page = admin.get(f"/admin/privasi/permintaan/{made.id}").text
    assert MY_WORDS not in page and PHONE not in page  # the admin reads no report content
    assert admin.post(f"/admin/privasi/permintaan/{made.id}/ekspor").status_code == 303

    status = ani.get(f"/privasi/permintaan/{made.reference}").text
    assert 'id="download-export"' in status
    answer = ani.get(f"/privasi/permintaan/{made.reference}/unduh")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    data = json.loads(archive.read("data.json"))
    everything = archive.read("data.json").decode() + archive.read("data.html").decode()
    assert data["account"]["email"] == "ani.akun@example.com"
    [report] = data["reports"]
    assert report["description"] == MY_WORDS and report["contact"]["phone"] == PHONE
    assert [f["note"] for f in report["follow_ups"]] == [FOLLOW_UP]
    assert report["service_rating"]["comment"] == "Petugas ramah."
    assert len(report["photos"]) == 2 and all(name in archive.namelist() for name in report["photos"])
    assert OTHER_WORDS not in everything and OFFICER_NOTE not in everything
    assert "not_found" not in everything  # the outcome is the officers'


def test_an_export_expires_and_is_then_removed(clock, people, sign_in):
    people.report(reporter=people.ani)
    ani = sign_in(people.ani)
    made = ask_by_account(ani, "access")
    admin = sign_in(people.admin)
    admin.post(f"/admin/privasi/permintaan/{made.id}/ekspor")
    clock.advance(timedelta(days=8))
    ani = sign_in(people.ani)
    assert ani.get(f"/privasi/permintaan/{made.reference}/unduh").status_code == 404
    assert 'id="export-expired"' in ani.get(f"/privasi/permintaan/{made.reference}").text
    sign_in(people.admin).get("/admin/privasi/permintaan")
    db.session.expire_all()
    assert db.session.get(SubjectRequest, made.id).export_data is None


# --- by tracking code ----------------------------------------------------------------------------

def test_a_wrong_contact_gets_the_same_answer_as_an_unknown_code(people, client, english):
    report = people.report()
    wrong_contact = ask_by_code(client, report, "access", contact="0899-0000-1111")
    unknown_code = client.post("/privasi/permintaan/kode", data={
        "code": display(new_code()), "contact": PHONE, "kind": "access"})
    assert wrong_contact.status_code == unknown_code.status_code == 400
    assert error_summary(wrong_contact.text) == error_summary(unknown_code.text)
    assert "could not match this tracking code" in wrong_contact.text
    assert db.session.scalars(select(SubjectRequest)).all() == []


def test_misses_of_tracking_code_and_contact_are_limited(people, client):
    report = people.report()
    misses = int(CODE_MISSES_PER_REQUESTER.limits.split()[0])
    for _ in range(misses):
        assert ask_by_code(client, report, "access", contact="0899-0000-1111").status_code == 400
    # Out of guesses, even the right pair is not told.
    assert ask_by_code(client, report, "access").status_code == 429


def test_an_erasure_by_tracking_code_removes_the_reporters_data_and_keeps_the_facts(
        people, client, sign_in, app, english):
    report = people.report()
    before = (report.category_id, report.kab_id, report.office_id, report.state, report.outcome)
    photos = stored_paths(report)
    officer_photo = next(path for path, a in photos.items()
                         if db.session.get(ReportEvent, a.event_id).action == "record_finding")
    answer = ask_by_code(client, report, "erasure", contact="+62 812 3456 7890")
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).text
    made = only_request()
    secret = secret_on(page)
    assert secret not in client.get(answer.headers["Location"]).text  # shown once

    admin = sign_in(people.admin)
    assert admin.post(f"/admin/privasi/permintaan/{made.id}/hapus", data={}).status_code == 303
    db.session.expire_all()
    report = db.session.get(Report, report.id)
    assert report.contact is None and report.description == ERASED_DESCRIPTION
    assert (report.category_id, report.kab_id, report.office_id, report.state,
            report.outcome) == before
    notes = db.session.scalars(select(ReportEvent.note).where(ReportEvent.report_id == report.id))
    assert FOLLOW_UP not in notes
    assert OFFICER_NOTE in db.session.scalars(select(ReportEvent.note).where(
        ReportEvent.report_id == report.id)).all()  # the officers' findings are not erased
    assert list(stored_paths(report)) == [officer_photo]
    assert {path: (upload_dir() / path).exists() for path in photos} == {
        path: path == officer_photo for path in photos}

    # The requester comes back another day, in another browser, with reference and secret.
    other = app.test_client()
    assert other.get(f"/privasi/permintaan/{made.reference}").status_code == 404
    back = other.post("/privasi/permintaan/cek", data={"reference": made.reference.lower(),
                                                      "secret": secret.replace("-", " ")})
    assert back.status_code == 303
    assert '<dd id="request-state">Done</dd>' in other.get(back.headers["Location"]).text


def test_a_wrong_secret_gets_the_same_answer_as_an_unknown_reference(people, client, english):
    assert ask_by_code(client, people.report(), "access").status_code == 303
    made = only_request()
    wrong = client.post("/privasi/permintaan/cek",
                        data={"reference": made.reference, "secret": "AAAA-BBBB-CCCC"})
    unknown = client.post("/privasi/permintaan/cek",
                          data={"reference": "PDP-0000-0000", "secret": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == unknown.status_code == 404
    assert error_summary(wrong.text) == error_summary(unknown.text)


# --- erasing an account --------------------------------------------------------------------------

def test_an_account_erasure_may_keep_reports_still_handled_with_a_reason(
        people, sign_in, english):
    closed = people.report(reporter=people.ani)
    handled = people.report(reporter=people.ani, state="in_field")
    made = ask_by_account(sign_in(people.ani), "erasure")
    admin = sign_in(people.admin)
    url = f"/admin/privasi/permintaan/{made.id}/hapus"
    refused = admin.post(url, data={"keep_handled": "y", "reason": "short"})
    assert refused.status_code == 400 and "Give a reason of at least 10 characters" in refused.text
    assert admin.post(url, data={"keep_handled": "y", "reason": REASON}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Report, closed.id).contact is None
    assert db.session.get(Report, handled.id).contact is not None
    assert db.session.get(Report, handled.id).description == MY_WORDS
    made = db.session.get(SubjectRequest, made.id)
    assert made.state == "partly_done" and made.answer == REASON
    assert db.session.get(User, people.ani.id).active  # kept to follow the report still handled
    [entry] = audit("subject_request.answer")
    assert entry.detail["kept"] == [handled.id] and entry.detail["reports"] == 1


def test_an_account_erasure_removes_the_account(people, sign_in, app):
    report = people.report(reporter=people.ani)
    made = ask_by_account(sign_in(people.ani), "erasure")
    assert sign_in(people.admin).post(f"/admin/privasi/permintaan/{made.id}/hapus",
                                      data={}).status_code == 303
    db.session.expire_all()
    ani = db.session.get(User, people.ani.id)
    assert not ani.active and ani.name != NAME and "ani" not in ani.email
    assert db.session.get(Report, report.id).reporter_id is None
    answer = app.test_client().post("/masuk", data={"email": "ani.akun@example.com",
                                                    "password": "correct-horse-battery"})
    assert answer.status_code != 302


# --- correcting ----------------------------------------------------------------------------------

def test_a_correction_is_applied_to_the_account_and_the_contacts(people, sign_in, english):
    report = people.report(reporter=people.ani)
    ani = sign_in(people.ani)
    refused = ani.post("/privasi/permintaan/akun", data={"kind": "correction", "text": ""})
    assert refused.status_code == 400 and "Say what should be corrected." in refused.text
    made = ask_by_account(ani, "correction", "Nomor saya sekarang 0813 1111 2222.")
    admin = sign_in(people.admin)
    page = admin.get(f"/admin/privasi/permintaan/{made.id}").text
    assert "Nomor saya sekarang" in page and 'value="ani.akun@example.com"' in page
    url = f"/admin/privasi/permintaan/{made.id}/koreksi"
    empty = admin.post(url, data={})
    assert empty.status_code == 400 and "Fill in at least one corrected value." in empty.text
    taken = admin.post(url, data={"account_email": people.budi.email})
    assert taken.status_code == 400 and "already uses this e-mail" in taken.text
    assert admin.post(url, data={"account_email": "ani.baru@example.com",
                                 "contact_phone": "0813 1111 2222"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, people.ani.id).email == "ani.baru@example.com"
    contact = _decrypt(db.session.get(Report, report.id).contact, report.id)
    assert (contact.name, contact.phone, contact.email) == (NAME, "0813 1111 2222", EMAIL)
    assert db.session.get(SubjectRequest, made.id).state == "done"
    assert "0813" not in json.dumps([e.detail for e in audit("subject_request.answer")])


def test_an_answered_request_is_not_answered_twice(people, sign_in, english):
    made = ask_by_account(sign_in(people.ani), "erasure")
    admin = sign_in(people.admin)
    assert admin.post(f"/admin/privasi/permintaan/{made.id}/tolak",
                      data={"reason": REASON}).status_code == 303
    again = admin.post(f"/admin/privasi/permintaan/{made.id}/tolak", data={"reason": REASON})
    assert again.status_code == 409 and "already been answered" in again.text
    wrong_kind = admin.post(f"/admin/privasi/permintaan/{made.id}/ekspor", follow_redirects=True)
    assert "asks for something else" in wrong_kind.text


# --- a reported person ---------------------------------------------------------------------------

def ask_about_me(client, people, kab="32.15", **fields):
    data = {"name": "John Smith", "phone": "0811-2222-3333", "kind": "access",
            "kabupaten": people.make.region(kab).id, "text": "Saya dilaporkan tetangga."}
    return client.post("/privasi/permintaan/tentang-saya", data={**data, **fields})


def test_a_reported_persons_request_goes_to_the_supervisors_of_that_office_only(
        people, client, sign_in, english):
    answer = ask_about_me(client, people)
    assert answer.status_code == 303
    made = only_request()
    assert made.office_id == people.karawang.id and b"John Smith" not in made.details
    path = f"/privasi/keputusan/{made.id}"

    for allowed in (people.supervisor, people.kanwil_supervisor):
        supervisor = sign_in(allowed)
        assert made.reference in supervisor.get("/privasi/keputusan").text
        assert "John Smith" in supervisor.get(path).text
    for refused in (people.sibling_supervisor, people.other_supervisor, people.officer,
                    people.admin, people.ani):
        other = sign_in(refused)
        assert other.get(path).status_code == 404
        assert made.reference not in other.get("/privasi/keputusan").text
    admin_list = sign_in(people.admin).get("/admin/privasi/permintaan").text
    assert made.reference not in admin_list  # the admin counts its clock, without reading it
    assert "Requests about reported persons, decided by supervisors — open: 1" in admin_list
    assert sign_in(people.admin).get(f"/admin/privasi/permintaan/{made.id}").status_code == 404

    supervisor = sign_in(people.supervisor)
    no_reason = supervisor.post(path, data={"decision": "refused", "reason": ""})
    assert no_reason.status_code == 400 and "Give the reason." in no_reason.text
    assert supervisor.post(path, data={"decision": "refused", "reason": REASON}).status_code == 303
    db.session.expire_all()
    decided = db.session.get(SubjectRequest, made.id)
    assert decided.state == "refused" and decided.answered_by_id == people.supervisor.id
    assert REASON in client.get(f"/privasi/permintaan/{made.reference}").text
    assert [e.actor_id for e in audit("subject_request.read")][:1] == [people.supervisor.id]


def test_a_region_no_office_holds_goes_to_the_directorate_general(people, client, sign_in, make):
    ditjen = people.kanwil.parent
    ditjen_supervisor = make.user("supervisor", ditjen)
    assert ask_about_me(client, people, kab="61.04").status_code == 303
    made = only_request()
    assert made.office_id is None
    assert sign_in(ditjen_supervisor).get(f"/privasi/keputusan/{made.id}").status_code == 200
    assert sign_in(people.kanwil_supervisor).get(f"/privasi/keputusan/{made.id}").status_code == 404


# --- nobody else's requests, and bad input -------------------------------------------------------

def test_residents_cannot_see_each_others_requests(people, sign_in):
    people.report(reporter=people.ani)
    made = ask_by_account(sign_in(people.ani), "access")
    sign_in(people.admin).post(f"/admin/privasi/permintaan/{made.id}/ekspor")
    budi = sign_in(people.budi)
    assert budi.get(f"/privasi/permintaan/{made.reference}").status_code == 404
    assert budi.get(f"/privasi/permintaan/{made.reference}/unduh").status_code == 404
    assert made.reference not in budi.get("/privasi/permintaan").text
    assert made.reference in sign_in(people.ani).get("/privasi/permintaan").text
    assert budi.get(f"/admin/privasi/permintaan/{made.id}").status_code == 404


@pytest.mark.parametrize("fields, message", [
    ({"kabupaten": "abc"}, "Choose a regency or city from the list."),
    ({"kabupaten": "0"}, "Choose a regency or city from the list."),
    ({"kabupaten": "99999999999"}, None),
    ({"name": ""}, "Write your name."),
    ({"phone": "", "email": ""}, "Enter a phone number or an email address"),
    ({"phone": "12"}, "Enter a phone number of 8 to 15 digits."),
    ({"kind": "everything"}, "Not a valid choice"),
    ({"text": "x" * 2001}, "Write at most 2000 characters."),
    ({"name": "\x00"}, "Write your name."),
])
def test_bad_input_on_the_reported_persons_form_is_refused_with_a_message(
        people, client, english, fields, message):
    answer = ask_about_me(client, people, **fields)
    assert answer.status_code == 400
    if message:
        assert message in answer.text
    assert db.session.scalars(select(SubjectRequest)).all() == []


def test_bad_input_elsewhere_never_fails(people, client, sign_in):
    kecamatan = db.session.scalar(select(Report.kec_id).where(
        Report.id == people.report().id))
    assert ask_about_me(client, people, kabupaten=str(kecamatan)).status_code == 400
    assert client.post("/privasi/permintaan/kode", data={"code": "\x00", "contact": "x",
                                                         "kind": "x"}).status_code == 400
    assert client.post("/privasi/permintaan/cek", data={"reference": "", "secret": ""}
                       ).status_code == 400
    assert client.get("/privasi/permintaan/%00%00").status_code == 404
    assert client.get("/privasi/permintaan/akun").status_code == 302  # sign in first
    assert sign_in(people.officer).get("/privasi/permintaan/akun").status_code == 404
    admin = sign_in(people.admin)
    assert admin.get("/admin/privasi/permintaan/999999").status_code == 404
    assert admin.post("/admin/privasi/permintaan/999999/tolak").status_code == 404
    assert admin.get("/admin/privasi/permintaan?state=%00").status_code == 200


def test_audit_entries_hold_ids_and_counts_only(people, client, sign_in):
    report = people.report()
    ask_by_code(client, report, "access", contact=EMAIL.upper())
    made = only_request()
    sign_in(people.admin).post(f"/admin/privasi/permintaan/{made.id}/ekspor")
    client.get(f"/privasi/permintaan/{made.reference}/unduh")
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(
        AuditEntry.object == f"subject_request:{made.id}").order_by(AuditEntry.seq))]
    assert actions == ["subject_request.receive", "subject_request.answer",
                       "subject_request.download"]
    details = json.dumps([e.detail for e in audit("subject_request.answer")])
    assert NAME not in details and "0812" not in details and "ani@" not in details
