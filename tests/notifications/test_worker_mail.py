"""End to end, as `make run` does it: a resident's report in Karawang is committed; in the same
commit the Karawang officer's bell gets a notification, and the real job worker (a process of its
own) mails it through the real SMTP sink. Nobody of another office hears of it."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select

from apoa.auth.models import User
from apoa.auth.services import create_user
from apoa.extensions import db
from apoa.notifications.inbox import unread_count
from apoa.notifications.models import Notification
from apoa.regions import offices
from apoa.regions.models import Office, office_region
from apoa.reports.models import Category, Report
from apoa.reports.services import NewReport, submit_report
from apoa.reports.tracking import display
from tests.conftest import TEST_PASSWORD
from tests.notifications.conftest import DESCRIPTION, KARAWANG
from tests.notifications.mailsink import BASE_URL

pytestmark = pytest.mark.no_db_transaction


@pytest.fixture
def karawang(job_worker, jobs_regions):
    """KANIM Karawang (32.15) and KANIM Bekasi (32.16) with an officer each, committed in the
    worker's database; removed again afterwards."""
    app, token = job_worker.app, uuid.uuid4().hex[:8]
    codes = [f"{kind}-{token}" for kind in ("DITJEN", "KANWIL", "KRW", "BKS")]
    with app.app_context():
        offices.create_office(codes[0], "Direktorat Jenderal Imigrasi", "ditjen")
        offices.create_office(codes[1], "Kanwil Jawa Barat", "kanwil", parent_code=codes[0])
        for code, kabupaten in ((codes[2], "32.15"), (codes[3], "32.16")):
            offices.create_office(code, f"Kantor Imigrasi {code}", "kantor", parent_code=codes[1])
            offices.set_jurisdiction(code, [kabupaten])
        emails = {code: f"petugas.{code.lower()}@imigrasi.example.go.id" for code in codes[2:]}
        for code, email in emails.items():
            create_user(email, f"Petugas {code}", TEST_PASSWORD, "officer", office_code=code)
        db.session.commit()
        db.session.remove()
    yield {"app": app, "officer": emails[codes[2]], "bekasi_officer": emails[codes[3]]}
    with app.app_context():
        remove(codes, list(emails.values()))
        db.session.remove()


def remove(codes, emails):
    office_ids = select(Office.id).where(Office.code.in_(codes))
    db.session.execute(delete(Report).where(Report.office_id.in_(office_ids)))
    db.session.execute(delete(User).where(User.email.in_(emails)))
    db.session.execute(delete(office_region).where(office_region.c.office_id.in_(office_ids)))
    for code in reversed(codes):                                  # children before parents
        db.session.execute(delete(Office).where(Office.code == code))
    db.session.commit()


def submit_in_karawang(app):
    with app.app_context():
        category = db.session.scalar(select(Category.id).where(Category.code == "illegal_work"))
        report = submit_report(NewReport(
            category_id=category, description=DESCRIPTION, people_count=3, place_kind="workplace",
            observed_at=datetime.now(timezone.utc) - timedelta(hours=1), point=KARAWANG,
            submission_key=str(uuid.uuid4())))
        db.session.commit()
        found = report.id, report.tracking_code
        db.session.remove()
    return found


def mailed(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        sent = db.session.scalars(select(Notification.emailed_at)
                                  .where(Notification.user_id == user.id)).all()
        db.session.remove()
    return sent and all(sent)


def test_a_report_in_karawang_reaches_the_karawang_officer_in_the_app_and_by_mail(
        karawang, job_worker, smtp_sink):
    app = karawang["app"]
    report_id, code = submit_in_karawang(app)

    with app.app_context():                        # in the bell as soon as the report is committed
        officer = db.session.scalar(select(User).where(User.email == karawang["officer"]))
        bekasi = db.session.scalar(select(User).where(User.email == karawang["bekasi_officer"]))
        assert (unread_count(officer), unread_count(bekasi)) == (1, 0)
        db.session.remove()

    [mail] = smtp_sink.wait_for(1, to=karawang["officer"])
    text = mail.get_content()
    assert display(code) in mail["Subject"] and f"{BASE_URL}/laporan/{report_id}" in text
    assert "Karawang Barat, Kabupaten Karawang" in text and DESCRIPTION not in text
    job_worker.wait_until(lambda: mailed(app, karawang["officer"]), what="emailed_at set")
    assert smtp_sink.messages(to=karawang["bekasi_officer"]) == []
