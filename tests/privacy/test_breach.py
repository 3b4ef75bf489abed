"""Breach support (UU PDP Pasal 46): for a window, a scope and data sets, the counts of whose data
may be affected per channel they can be told by (never the contacts themselves), each person once;
the window's edges; the Indonesian draft notice; the 3×24-hour deadline from discovery; one audit
entry with counts only; clear errors for bad input; 404 for anyone but the admin."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.errors import UserValueError
from apoa.feedback.models import ServiceCase
from apoa.guests.services import check_in
from apoa.privacy.breach import Reach, Scope, Window, assess, check_data_sets, check_window
from apoa.reports.contact import Contact, encrypt_contact
from apoa.whatsapp.models import Conversation, Outbound
from apoa.whatsapp.numbers import encrypt_number, sender_hash
from tests.clock import WIB
from tests.guests.test_stays import JOHN, guest, lodgings  # noqa: F401 (the fixture)

EMAIL = "pelapor.rahasia@example.com"
PHONE = "0812-9999-0001"
WA_PHONE = "0813-7777-0002"
SECRETS = (EMAIL, PHONE, WA_PHONE, "9999", "7777")


def days(n):
    return timedelta(days=n)


class Reports:
    """Reports received at known times before the clock, with every kind of reporter."""

    def __init__(self, make, clock):
        now = clock.now
        self.account = make.user("resident")
        self.by_email = make.report(created_at=now - days(10), contact=encrypt_contact(Contact(email=EMAIL)))
        self.by_phone = make.report(created_at=now - days(5),
                                    contact=encrypt_contact(Contact(name="Budi", phone=PHONE)))
        self.by_whatsapp = make.report(created_at=now - days(3), channel="whatsapp",
                                       contact=encrypt_contact(Contact(phone=WA_PHONE)))
        self.by_account = make.report(created_at=now - days(2), reporter_id=self.account.id)
        self.by_account_again = make.report(created_at=now - days(1), reporter_id=self.account.id)
        self.anonymous = make.report(created_at=now - days(4))
        self.old = make.report(created_at=now - days(20))


@pytest.fixture
def reports(make, clock):
    return Reports(make, clock)


def window(clock, start, end, scope=Scope.held, discovered=None):
    return Window(start=clock.now - start, end=clock.now - end,
                  discovered=clock.now - (discovered if discovered is not None else end), scope=scope)


def people(assessment):
    return {(group.value, reach.value): count for (group, reach), count in assessment.totals.items()}


def test_stored_data_counts_every_row_made_up_to_the_end_of_the_window(reports, clock, make):
    result = assess(window(clock, days(8), timedelta(hours=36)), ["contacts"], make.user("admin"), clock.now)
    assert people(result) == {("reporters", "email"): 1, ("reporters", "phone"): 1, ("reporters", "whatsapp"): 1}
    assert result.results[0].rows == {"contacts": 3}


def test_data_received_in_the_window_counts_only_rows_made_within_it(reports, clock, make):
    result = assess(window(clock, days(8), timedelta(hours=36), Scope.received), ["reports"], make.user("admin"),
                    clock.now)
    # by_phone, by_whatsapp, by_account and anonymous; the one at 10 days and the one a day ago are outside.
    assert people(result) == {("reporters", "phone"): 1, ("reporters", "whatsapp"): 1, ("reporters", "email"): 1,
                              ("reporters", "public_notice"): 1, ("reported", "public_notice"): 4}


def test_a_reporter_with_an_account_is_one_person_whatever_the_number_of_reports(reports, clock, make):
    result = assess(window(clock, days(2), timedelta(0), Scope.received), ["reports"], make.user("admin"), clock.now)
    assert people(result) == {("reporters", "email"): 1, ("reported", "public_notice"): 2}


def test_the_edges_of_the_window_are_included(reports, clock, make):
    admin = make.user("admin")
    edges = Window(start=reports.by_phone.created_at, end=reports.by_whatsapp.created_at,
                   discovered=clock.now, scope=Scope.received)
    assert assess(edges, ["contacts"], admin, clock.now).results[0].rows == {"contacts": 2}
    narrower = Window(start=reports.by_phone.created_at + timedelta(microseconds=1),
                      end=reports.by_whatsapp.created_at - timedelta(microseconds=1), discovered=clock.now,
                      scope=Scope.received)
    assert assess(narrower, ["contacts"], admin, clock.now).results[0].rows == {"contacts": 0}


def test_photos_count_their_reporters_and_the_people_shown(reports, clock, make, tmp_path):
    for photo in (make.photo(reports.by_email, tmp_path), make.photo(reports.by_email, tmp_path),
                  make.photo(reports.old, tmp_path)):
        photo.created_at = reports.by_email.created_at
    make.session.flush()
    result = assess(window(clock, days(12), days(1)), ["photos"], make.user("admin"), clock.now)
    assert result.results[0].rows == {"photos": 3, "reports": 2}
    assert people(result) == {("reporters", "email"): 1, ("reporters", "public_notice"): 1,
                              ("reported", "public_notice"): 3}


def test_guests_are_told_through_their_lodging_each_guest_once(lodgings, clock, make):  # noqa: F811
    check_in(lodgings.hotel, lodgings.operator, [guest(clock), guest(clock, JOHN)], clock.now)
    check_in(lodgings.other_hotel, lodgings.other_operator, [guest(clock, JOHN, hours_ago=1)], clock.now)
    result = assess(window(clock, timedelta(hours=1), timedelta(0)), ["guests"], make.user("admin"), clock.now)
    assert result.results[0].rows == {"stays": 3, "passport_photos": 0, "organisations": 2}
    assert people(result) == {("guests", "organisation"): 2}


def test_whatsapp_numbers_accounts_and_cases(clock, make):
    admin = make.user("admin")
    staff = make.user("officer")
    resident = make.user("resident")
    for user in (admin, staff, resident):
        user.created_at = clock.now - days(30)
    make.session.add(Conversation(sender_hash=sender_hash(WA_PHONE), phone=encrypt_number(WA_PHONE),
                                  last_inbound_at=clock.now - days(2)))
    make.session.add(Outbound(to_hash=sender_hash(WA_PHONE), phone=encrypt_number(WA_PHONE), purpose="reply",
                              payload={}, created_at=clock.now - days(2)))
    make.session.add(Outbound(to_hash=sender_hash(PHONE), phone=encrypt_number(PHONE), purpose="status",
                              payload={}, created_at=clock.now - days(2)))
    make.session.add(ServiceCase(office_id=staff.office_id, kind="complaint", channel="whatsapp", body="Lama sekali",
                                 contact=encrypt_number(PHONE), due_at=clock.now, created_at=clock.now - days(2)))
    make.session.flush()
    result = assess(window(clock, days(3), days(1)), ["whatsapp", "accounts", "cases"], admin, clock.now)
    assert people(result) == {("whatsapp_users", "whatsapp"): 2, ("staff", "email"): 2, ("residents", "email"): 1,
                              ("complainants", "whatsapp"): 1}
    assert result.by_reach() == {Reach.whatsapp: 3, Reach.email: 3}


def test_the_assessment_is_audited_with_counts_only(reports, clock, make):
    admin = make.user("admin")
    assess(window(clock, days(30), timedelta(0)), ["reports", "contacts"], admin, clock.now)
    [entry] = make.session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.breach_assessed")).all()
    assert entry.actor_id == admin.id
    assert entry.detail["data_sets"] == {"reports": {"reports": 7}, "contacts": {"contacts": 3}}
    assert entry.detail["people"]["reporters/email"] == 2
    assert not any(secret in json.dumps(entry.detail) for secret in SECRETS)


@pytest.mark.date_sensitive
def test_the_deadline_is_three_times_24_hours_after_discovery(reports, clock, make):
    admin = make.user("admin")
    result = assess(window(clock, days(5), days(3), discovered=timedelta(hours=70)), ["reports"], admin, clock.now)
    assert result.deadline == clock.now + timedelta(hours=2)
    assert result.time_left == timedelta(hours=2) and not result.overdue
    clock.advance(timedelta(hours=3))
    late = assess(window(clock, days(5), days(3), discovered=timedelta(hours=73)), ["reports"], admin, clock.now)
    assert late.overdue and late.time_left == -timedelta(hours=1)


@pytest.mark.parametrize("start, end, discovered, message", [
    (days(1), days(2), days(1), "The end of the window must not be before its start."),
    (days(2), days(1), days(3), "The breach cannot have been discovered before the window starts."),
    (days(2), -days(1), days(1), "The window and the discovery cannot lie in the future."),
    (days(2), days(1), -timedelta(hours=1), "The window and the discovery cannot lie in the future."),
])
def test_times_that_make_no_sense_are_refused(clock, start, end, discovered, message, english):
    with pytest.raises(UserValueError) as refused:
        check_window(clock.now - start, clock.now - end, clock.now - discovered, clock.now)
    assert str(refused.value.message) == message


def test_unknown_or_no_data_sets_are_refused(english):
    with pytest.raises(UserValueError, match="Unknown data set: passwords"):
        check_data_sets(["reports", "passwords"])
    with pytest.raises(UserValueError, match="Choose at least one data set"):
        check_data_sets([])
    assert [d.key for d in check_data_sets(["photos", "reports"])] == ["reports", "photos"]


# --- the page ------------------------------------------------------------------------------------

def local(moment):
    return moment.astimezone(WIB).strftime("%Y-%m-%dT%H:%M")


def form(clock, start=days(8), end=days(1), discovered=timedelta(hours=20), **fields):
    return {"start": local(clock.now - start), "end": local(clock.now - end),
            "discovered": local(clock.now - discovered), "scope": "held", "data_sets": ["reports", "contacts"],
            "measures": "Akses ke server ditutup dan kunci diganti.", **fields}


def test_the_admin_sees_counts_the_deadline_and_the_draft_notice(reports, clock, make, sign_in, english):
    client = sign_in(make.user("admin"))
    assert client.get("/admin/privasi/kebocoran").status_code == 200
    answer = client.post("/admin/privasi/kebocoran", data=form(clock))
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert '<span class="badge" id="time-left">52 h 0 min left</span>' in page
    assert 'data-group="reporters" data-reach="email"' in page
    assert "PEMBERITAHUAN KEGAGALAN PELINDUNGAN DATA PRIBADI" in page
    assert "data kontak pelapor (nama, nomor telepon/WhatsApp, alamat e-mail)" in page
    assert "Akses ke server ditutup dan kunci diganti." in page
    assert not any(secret in page for secret in SECRETS)
    assert answer.headers["Cache-Control"] == "private, no-store"


def test_an_overdue_notice_says_so(reports, clock, make, sign_in, english):
    client = sign_in(make.user("admin"))
    answer = client.post("/admin/privasi/kebocoran", data=form(clock, discovered=timedelta(hours=80)))
    assert "Overdue by 8 h 0 min" in answer.text and "badge-overdue" in answer.text


@pytest.mark.parametrize("changes, message", [
    ({"end": None}, "The end of the window must not be before its start."),
    ({"data_sets": ["reports", "passwords"]}, "Unknown data set: passwords."),
    ({"data_sets": []}, "Choose at least one data set."),
    ({"start": "kemarin"}, "Not a valid datetime value."),
    ({"start": ""}, "Give the start of the window."),
    ({"discovered": "9999-12-31T10:00"}, ""),
])
def test_bad_input_is_shown_beside_the_fields(clock, make, sign_in, english, changes, message):
    client = sign_in(make.user("admin"))
    data = form(clock)
    if "end" in changes:
        data["end"] = local(clock.now - days(9))
    else:
        data.update(changes)
    answer = client.post("/admin/privasi/kebocoran", data=data)
    assert answer.status_code == 400
    assert message in answer.text and 'class="field-error"' in answer.text


@pytest.mark.parametrize("role", ["officer", "supervisor", "regional_head", "resident", "lodging"])
def test_nobody_but_the_admin_finds_breach_support(reports, clock, make, sign_in, role):
    client = sign_in(make.user(role))
    assert client.get("/admin/privasi/kebocoran").status_code == 404
    assert client.post("/admin/privasi/kebocoran", data=form(clock)).status_code == 404
    assert make.session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.breach_assessed")).all() == []


def test_anonymous_visitors_get_404(client):
    assert client.get("/admin/privasi/kebocoran").status_code == 404
