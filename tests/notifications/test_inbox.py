"""The bell on every staff page, the list of one's own notifications, marking them read, and the
e-mail choice: what an officer sees and does in the app."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from apoa.extensions import db
from apoa.notifications.inbox import MAX_PAGE, PER_PAGE
from apoa.notifications.models import Kind, Notification
from apoa.notifications.services import write
from apoa.reports.states import State
from apoa.reports.tracking import display
from tests.notifications.conftest import ADDRESS, CONTACT, DESCRIPTION

BELL = re.compile(r'<a href="/notifikasi" class="bell" id="bell"[^>]*>(.*?)</a>', re.S)


def bell(page):
    """The bell's unread count as shown ("" for none), or None when the page has no bell."""
    assert page.status_code == 200, page.status_code
    found = BELL.search(page.text)
    if found is None:
        return None
    badge = re.search(r'class="badge[^"]*">([^<]*)<', found.group(1))
    return badge.group(1) if badge else ""


def listed(page):
    """The notification ids on the list page, in the order shown."""
    return [int(i) for i in re.findall(r'data-notification-id="(\d+)"', page.text)]


@pytest.fixture
def notify_many(world, clock):
    """`notify_many(user, n)`: n notifications for `user`, each about a report of KANIM-A."""
    def notify_many(user, n):
        report = world.report_in(State.new)
        for i in range(n):
            write(Kind.due_soon, report, [user], f"test:{report.id}:{i}", clock.now + timedelta(seconds=i))
        return report
    return notify_many


def test_the_bell_counts_the_unread_on_every_staff_page(world, submit, sign_in):
    submit()
    submit()
    officer = sign_in(world.actors["officer"])
    for url in ("/laporan", "/peta", "/notifikasi", "/notifikasi/pengaturan"):
        assert bell(officer.get(url)) == "2", url


def test_without_notifications_the_bell_shows_no_number(world, sign_in):
    assert bell(sign_in(world.actors["officer"]).get("/laporan")) == ""


def test_only_report_staff_have_a_bell(world, sign_in):
    assert bell(sign_in(world.actors["admin"]).get("/admin/pengguna")) is None
    assert bell(sign_in(world.actors["resident"]).get("/")) is None


def test_the_list_shows_the_report_by_code_category_place_and_state(world, submit, sign_in):
    report = submit()
    page = sign_in(world.actors["officer"]).get("/notifikasi")
    assert len(listed(page)) == 1
    assert display(report.tracking_code) in page.text
    assert f'href="/laporan/{report.id}"' in page.text
    assert "Karawang Barat, Kabupaten Karawang" in page.text
    assert "Dugaan bekerja tanpa izin" in page.text
    for private in (DESCRIPTION, ADDRESS, CONTACT.name, CONTACT.phone, "107.3", "-6.3"):
        assert private not in page.text


def test_each_sees_their_own_notifications_only(world, submit, sign_in):
    submit()
    assert listed(sign_in(world.actors["other_officer"]).get("/notifikasi")) == []
    assert len(listed(sign_in(world.actors["supervisor"]).get("/notifikasi"))) == 1


def test_newest_first_in_pages(world, notify_many, sign_in):
    notify_many(world.actors["officer"], PER_PAGE + 5)
    officer = sign_in(world.actors["officer"])
    first, second = officer.get("/notifikasi"), officer.get("/notifikasi?page=2")
    assert len(listed(first)) == PER_PAGE and len(listed(second)) == 5
    shown = listed(first) + listed(second)
    assert shown == sorted(shown, reverse=True)
    assert 'rel="next"' in first.text and 'rel="next"' not in second.text


@pytest.mark.parametrize("page", ["0", "-3", "abc", "²", str(MAX_PAGE * 10)])
def test_odd_page_numbers_show_a_page(world, notify_many, sign_in, page):
    notify_many(world.actors["officer"], 2)
    answer = sign_in(world.actors["officer"]).get(f"/notifikasi?page={page}")
    assert answer.status_code == 200


def test_mark_one_read(world, submit, sign_in):
    submit()
    submit()
    officer = sign_in(world.actors["officer"])
    [newest, oldest] = listed(officer.get("/notifikasi"))
    answer = officer.post(f"/notifikasi/{oldest}/dibaca")
    assert answer.status_code == 302 and answer.headers["Location"] == "/notifikasi"
    page = officer.get("/notifikasi")
    assert bell(page) == "1"
    assert f'action="/notifikasi/{oldest}/dibaca"' not in page.text
    assert f'action="/notifikasi/{newest}/dibaca"' in page.text


def test_mark_all_read(world, notify_many, sign_in):
    notify_many(world.actors["officer"], PER_PAGE + 3)
    officer = sign_in(world.actors["officer"])
    answer = officer.post("/notifikasi/dibaca-semua", data={"page": "2"})
    assert answer.headers["Location"] == "/notifikasi?page=2"
    assert bell(officer.get("/notifikasi")) == ""
    assert db.session.scalars(select(Notification.read_at)).all().count(None) == 0


def test_nobody_marks_anothers_notification(world, submit, sign_in):
    submit()
    theirs = db.session.scalar(select(Notification.id).where(
        Notification.user_id == world.actors["supervisor"].id))
    officer = sign_in(world.actors["officer"])
    assert officer.post(f"/notifikasi/{theirs}/dibaca").status_code == 404
    assert officer.post("/notifikasi/999999999/dibaca").status_code == 404
    assert db.session.get(Notification, theirs).read_at is None


def test_marking_read_takes_a_post(world, submit, sign_in):
    submit()
    officer = sign_in(world.actors["officer"])
    [mine] = listed(officer.get("/notifikasi"))
    assert officer.get(f"/notifikasi/{mine}/dibaca").status_code == 405
    assert officer.get("/notifikasi/dibaca-semua").status_code == 405


def test_residents_have_no_notification_pages(world, sign_in, client):
    resident = sign_in(world.actors["resident"])
    assert resident.get("/notifikasi").status_code == 403
    assert resident.get("/notifikasi/pengaturan").status_code == 403
    anonymous = client.get("/notifikasi")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/masuk")


def test_the_email_choice_is_each_by_default_and_can_be_changed(world, sign_in):
    officer = world.actors["officer"]
    client = sign_in(officer)
    page = client.get("/notifikasi/pengaturan")
    assert re.search(r'<input[^>]*checked[^>]*value="each"|<input[^>]*value="each"[^>]*checked',
                     page.text)
    answer = client.post("/notifikasi/pengaturan", data={"email": "digest"})
    assert answer.status_code == 302
    db.session.refresh(officer)
    assert officer.email_notifications == "digest"


@pytest.mark.parametrize("value", ["", "weekly", "each\x00", "x" * 500])
def test_an_unknown_email_choice_is_refused_with_a_message(world, sign_in, value):
    officer = world.actors["officer"]
    answer = sign_in(officer).post("/notifikasi/pengaturan", data={"email": value})
    assert answer.status_code == 400
    assert 'class="field-error"' in answer.text
    db.session.refresh(officer)
    assert officer.email_notifications == "each"


def test_the_list_takes_the_same_statements_for_few_and_many(world, notify_many, sign_in, db_session):
    officer = world.actors["officer"]
    client = sign_in(officer)
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    notify_many(officer, 2)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get("/notifikasi")
        few = len(seen)
        notify_many(officer, PER_PAGE)
        seen.clear()
        client.get("/notifikasi")
        many = len(seen)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert few == many
    assert sum("FROM notification" in statement for statement in seen) == 2   # the page, the bell
