"""Rate limits that fit shared mobile networks: budgets per device cookie and account first, a
per-address ceiling high enough for a carrier-grade NAT that counts accepted reports only, status
lookups that find their report never limited, failed validation free, and a 429 that says truly how
long to wait."""
import re

import pytest
from limits import parse_many
from sqlalchemy import func, select

from apoa.extensions import db
from apoa.reports import abuse, public_views
from apoa.reports.abuse import (CODE_MISSES_PER_REQUESTER, REPORTS_PER_ADDRESS,
                                REPORTS_PER_REQUESTER, Budget, address_key)
from apoa.reports.models import Report
from apoa.reports.tracking import new_code
from tests.reports.helpers import form_data

PER_DEVICE = parse_many(REPORTS_PER_REQUESTER.limits)[0].amount  # 10 an hour
MISSES = parse_many(CODE_MISSES_PER_REQUESTER.limits)[0].amount  # 20 an hour
NAT = "203.0.113.7"  # one public address for many phones


def report_count():
    return db.session.scalar(select(func.count()).select_from(Report))


def phone(app, address=NAT):
    """A phone behind `address` that has opened the form once (it holds a device cookie)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    assert client.get("/lapor").status_code == 200
    assert client.get_cookie("apoa_device") is not None
    return client


def send(client, **overrides):
    return client.post("/lapor", data=form_data(**overrides))


def wait_on_page(answer):
    return re.search(r'id="error-message">([^<]+)<', answer.text).group(1)


def test_many_phones_behind_one_address_each_send_their_first_report(app):
    phones = [phone(app) for _ in range(3 * PER_DEVICE)]
    before = report_count()
    assert [send(p).status_code for p in phones] == [303] * len(phones)
    assert report_count() == before + len(phones)


def test_one_phone_at_its_limit_gets_429_saying_how_long_to_wait(app, english):
    mine, neighbour = phone(app), phone(app)
    for _ in range(PER_DEVICE):
        assert send(mine).status_code == 303
    refused = send(mine)
    assert refused.status_code == 429
    # The hour began with the first report, seconds ago: an hour to wait, not "a moment".
    assert 3500 < int(refused.headers["Retry-After"]) <= 3600
    assert wait_on_page(refused) == "You have sent too many requests. You can try again in 60 minutes."
    assert send(neighbour).status_code == 303  # the same address, another phone


def test_the_wait_is_that_of_the_longest_exhausted_limit(app, english):
    """Hourly and daily limits both used up: the page names the day's reset, not the hour's."""
    mine = phone(app)
    with app.test_request_context(environ_base={"REMOTE_ADDR": NAT},
                                  headers={"Cookie": f"apoa_device={mine.get_cookie('apoa_device').value}"}):
        for _ in range(parse_many(REPORTS_PER_REQUESTER.limits)[1].amount):
            abuse.spend([REPORTS_PER_REQUESTER])
    refused = send(mine)
    assert refused.status_code == 429
    assert 23 * 3600 < int(refused.headers["Retry-After"]) <= 24 * 3600
    assert "try again in 24 hours" in wait_on_page(refused)


def test_a_form_that_fails_validation_costs_nothing(app):
    mine = phone(app)
    for _ in range(2 * PER_DEVICE):
        assert send(mine, description="short").status_code == 400
    assert send(mine).status_code == 303


def test_a_retried_submission_is_never_refused(app):
    mine = phone(app)
    data = form_data()
    first = mine.post("/lapor", data=data)
    for _ in range(PER_DEVICE - 1):
        assert send(mine).status_code == 303
    assert send(mine).status_code == 429
    again = mine.post("/lapor", data=data)  # the phone lost the first answer and resends
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]


def test_a_signed_in_residents_budget_follows_the_account_across_devices(app, make, sign_in):
    resident = make.user(role="resident")
    laptop, handphone = sign_in(resident), sign_in(resident)
    for _ in range(PER_DEVICE):
        assert send(laptop).status_code == 303
    assert send(handphone).status_code == 429


def test_the_address_ceiling_counts_accepted_reports_only(app, monkeypatch):
    """With a ceiling of 3 (the real one is far higher), three phones' reports fill it; any number
    of refused forms before them did not count, and another address is not affected."""
    small = Budget("reports-address-small", "3 per hour", address_key)
    monkeypatch.setattr(public_views, "REPORT_BUDGETS", (REPORTS_PER_REQUESTER, small))
    for _ in range(5):
        assert send(phone(app), consent=None).status_code == 400
    for _ in range(3):
        assert send(phone(app)).status_code == 303
    assert send(phone(app)).status_code == 429
    assert send(phone(app, address="198.51.100.9")).status_code == 303


def test_the_real_address_ceiling_fits_a_carrier_grade_nat():
    hourly, daily = parse_many(REPORTS_PER_ADDRESS.limits)
    assert hourly.amount >= 10 * PER_DEVICE and daily.amount >= 500


def test_ipv6_phones_count_per_subscriber_prefix(app):
    def key(address):
        with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
            return address_key()
    assert key("2001:db8:1:2::10") == key("2001:db8:1:2:abcd::1") != key("2001:db8:1:3::10")
    assert key("203.0.113.7") != key("203.0.113.8")


# --- tracking codes ----------------------------------------------------------------------------

def test_a_code_that_finds_its_report_is_never_limited(client, make):
    code = make.report().tracking_code
    for _ in range(MISSES):
        assert client.get(f"/status/{new_code()}").status_code == 404
    assert client.get(f"/status/{new_code()}").status_code == 429
    for _ in range(MISSES + 5):  # misses used up: every lookup that finds the report still works
        assert client.get(f"/status/{code}").status_code == 200
        assert client.get(f"/lapor/tanda-terima/{code}").status_code == 200
    answer = client.post("/status", data={"code": code}, follow_redirects=True)
    assert answer.status_code == 200


def test_receipt_misses_stay_limited_and_say_how_long(client, english):
    for _ in range(MISSES):
        assert client.get(f"/lapor/tanda-terima/{new_code()}").status_code == 404
    refused = client.get(f"/lapor/tanda-terima/{new_code()}")
    assert refused.status_code == 429
    assert 3500 < int(refused.headers["Retry-After"]) <= 3600
    assert "try again in 60 minutes" in wait_on_page(refused)


def test_misses_count_per_phone_behind_a_shared_address(app):
    guesser, neighbour = phone(app), phone(app)
    for _ in range(MISSES):
        assert guesser.get(f"/status/{new_code()}").status_code == 404
    assert guesser.get(f"/status/{new_code()}").status_code == 429
    assert neighbour.get(f"/status/{new_code()}").status_code == 404  # a typo of their own


def test_follow_ups_failing_validation_cost_nothing(client, make):
    code = make.report().tracking_code
    for _ in range(15):
        assert client.post(f"/status/{code}/tambahan", data={"note": "pendek"}).status_code == 400
    answer = client.post(f"/status/{code}/tambahan", data={"note": "Mereka kembali lagi pagi ini."})
    assert answer.status_code == 303


@pytest.mark.usefixtures("english")
def test_a_limit_kept_by_flask_limiter_also_says_how_long(client):
    """The sign-in form's own limit (10 a minute), kept by Flask-Limiter's decorator."""
    for _ in range(10):
        client.post("/masuk", data={"email": "nobody@example.com", "password": "wrong-password"})
    refused = client.post("/masuk", data={"email": "nobody@example.com", "password": "wrong-password"})
    assert refused.status_code == 429
    assert re.fullmatch(r"You have sent too many requests\. You can try again in (\d+ seconds?|1 minute)\.",
                        wait_on_page(refused))
