"""Notification mail through a real local SMTP server (the sink): each one, a daily digest, or
none, as each user chose; sent once; kept for the next try when the server fails; and never
holding the description, the reporter's contact details, the address or the coordinates."""
import pytest
from flask_babel import force_locale
from sqlalchemy import select

from apoa import jobs
from apoa.extensions import db
from apoa.notifications import jobs as notification_jobs
from apoa.notifications.models import Kind, Notification
from apoa.reports.tracking import display
from tests.notifications.conftest import ADDRESS, CONTACT, DESCRIPTION, KARAWANG
from tests.notifications.mailsink import BASE_URL, free_port, start_sink, stop_sink


def choose(world, **choices):
    for name, choice in choices.items():
        world.actors[name].email_notifications = choice
    db.session.flush()


def readable(mail):
    """What a person reads of a mail: its subject and its text."""
    return f"{mail['Subject']}\n{mail.get_content()}"


def unmailed():
    return db.session.scalars(select(Notification.id).where(Notification.emailed_at.is_(None),
                                                            Notification.email_plan.is_not(None))).all()


def test_a_new_report_is_mailed_to_each_officer_who_wants_each_mail(world, submit, mail_to_sink,
                                                                     db_session):
    choose(world, supervisor="digest", decider="none")
    report = submit()
    db_session.commit()
    assert jobs.run_pending() == 1
    officer = world.actors["officer"]
    assert sorted(mail["To"] for mail in mail_to_sink.messages()) == sorted(
        [officer.email, world.actors["assignee"].email])

    mail = mail_to_sink.messages(to=officer.email)[0]
    text = readable(mail)
    assert mail["Subject"].startswith("[APOA] ") and display(report.tracking_code) in mail["Subject"]
    with force_locale("id"):
        assert str(Kind.new_report.title) in text
    assert "Karawang Barat, Kabupaten Karawang" in text
    assert f"{BASE_URL}/laporan/{report.id}" in text
    assert f"{BASE_URL}/notifikasi/pengaturan" in text
    assert mail["Content-Language"] == "id" and mail.get_content_type() == "text/plain"


def test_a_mail_holds_no_description_contact_address_or_coordinates(world, submit, mail_to_sink,
                                                                    db_session):
    submit()
    db_session.commit()
    jobs.run_pending()
    mails = mail_to_sink.messages()
    assert len(mails) == 4
    lon, lat = KARAWANG
    private = (DESCRIPTION, ADDRESS, CONTACT.name, CONTACT.phone, CONTACT.email, "81234567890",
               f"{lon:.2f}", f"{lat:.2f}", str(lon), str(lat))
    for mail in mails:
        text = readable(mail)
        assert not [value for value in private if value in text], text


def test_each_mail_goes_once(world, submit, mail_to_sink, db_session):
    submit()
    db_session.commit()
    jobs.run_pending()
    assert notification_jobs.send_pending_emails() == 0
    assert len(mail_to_sink.messages()) == 4 and unmailed() == []


def test_a_failed_send_keeps_the_mail_and_fails_the_job_for_a_retry(world, submit, mail_to_sink,
                                                                     harness, monkeypatch):
    submit()
    monkeypatch.setitem(harness.config, "SMTP_PORT", free_port())        # nothing listens there
    with pytest.raises(OSError):
        notification_jobs.send_pending_emails()
    assert len(unmailed()) == 4 and mail_to_sink.messages() == []

    monkeypatch.setitem(harness.config, "SMTP_PORT", mail_to_sink.port)  # the server is back
    assert notification_jobs.send_pending_emails() == 4
    assert unmailed() == []


def test_a_digest_brings_the_days_notifications_in_one_mail(world, submit, mail_to_sink, db_session):
    choose(world, officer="digest", assignee="none", supervisor="none", decider="none")
    first, second = submit(), submit()
    db_session.commit()
    jobs.run_pending()
    assert mail_to_sink.messages() == []                     # nobody wants each one

    assert notification_jobs.send_daily_digests() == 1
    db_session.commit()
    assert jobs.run_pending() == 1                            # one job per digest
    [mail] = mail_to_sink.messages(to=world.actors["officer"].email)
    text = readable(mail)
    assert display(first.tracking_code) in text and display(second.tracking_code) in text
    assert f"{BASE_URL}/laporan/{first.id}" in text and DESCRIPTION not in text

    assert notification_jobs.send_daily_digests() == 0      # sent is sent
    assert len(mail_to_sink.messages()) == 1


def test_no_mail_for_who_chose_none_but_the_bell_still_counts(world, submit, mail_to_sink, db_session):
    from apoa.notifications.inbox import unread_count

    choose(world, officer="none", assignee="none", supervisor="none", decider="none")
    submit()
    db_session.commit()
    assert notification_jobs.send_pending_emails() == 0
    assert notification_jobs.send_daily_digests() == 0
    assert mail_to_sink.messages() == []
    assert unread_count(world.actors["officer"]) == 1


def test_a_choice_changed_later_mails_no_backlog(world, submit, mail_to_sink, db_session):
    choose(world, officer="none")
    submit()
    choose(world, officer="each")
    db_session.commit()
    jobs.run_pending()
    assert world.actors["officer"].email not in {mail["To"] for mail in mail_to_sink.messages()}


def test_a_mail_server_that_wants_a_login_gets_it(world, submit, harness, monkeypatch, tmp_path,
                                                  mail_to_sink):
    guarded = start_sink(tmp_path, login="apoa:rahasia-smtp")
    try:
        monkeypatch.setitem(harness.config, "SMTP_PORT", guarded.port)
        monkeypatch.setitem(harness.config, "SMTP_USER", "apoa")
        monkeypatch.setitem(harness.config, "SMTP_PASSWORD", "salah")
        submit()
        with pytest.raises(OSError):                     # smtplib's errors are OSErrors
            notification_jobs.send_pending_emails()
        monkeypatch.setitem(harness.config, "SMTP_PASSWORD", "rahasia-smtp")
        assert notification_jobs.send_pending_emails() == 4
        assert len(guarded.messages()) == 4
    finally:
        stop_sink(guarded)
