"""The STTPOA receipt pages: the printable receipt and its PDF for the organisation's members only,
and the public check by number, which shows the issuer and the day but nothing of the guest, is
lenient with how the number is typed, and limits the numbers that find nothing."""
import pytest
from babel.dates import format_date
from limits import parse_many

from apoa.guests.receipt_views import STTPOA_MISSES_PER_REQUESTER
from apoa.guests.services import cancel, check_in
from apoa.guests.sttpoa import JAKARTA
from tests.guests.test_stays import JOHN, REASON, Lodgings, guest

MISSES = parse_many(STTPOA_MISSES_PER_REQUESTER.limits)[0].amount


@pytest.fixture
def lodgings(make, clock):
    return Lodgings(make, clock)


@pytest.fixture
def stay(lodgings, clock):
    """John Smith (GBR), checked in at Hotel Melati two hours before the clock."""
    [john] = check_in(lodgings.hotel, lodgings.operator, [guest(clock, JOHN)], clock.now)
    return john


def receipt_url(stay, pdf=False):
    return f"/tamu/sttpoa/{stay.id}{'.pdf' if pdf else ''}"


def check_url(number):
    return f"/sttpoa/{number}"


def test_a_member_prints_the_receipt_with_its_number_qr_code_and_guest(lodgings, stay, sign_in, english):
    page = sign_in(lodgings.operator).get(receipt_url(stay))
    assert page.status_code == 200
    assert stay.sttpoa_no in page.text and "<svg" in page.text
    assert "SMITH" in page.text and "123456789" in page.text and "GBR" in page.text
    assert "Hotel Melati" in page.text and lodgings.world.office.name in page.text
    # The QR code and the printed address lead to the public check, as an absolute address.
    assert 'id="sttpoa-check-url">http' in page.text and f"/sttpoa/{stay.sttpoa_no}<" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert 'id="sttpoa-cancelled"' not in page.text


def test_a_member_downloads_the_receipt_as_pdf(lodgings, stay, sign_in):
    answer = sign_in(lodgings.operator).get(receipt_url(stay, pdf=True))
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF")
    assert stay.sttpoa_no in answer.headers["Content-Disposition"]


@pytest.mark.parametrize("who", ["other_operator", "resident", "officer"])
def test_nobody_but_the_organisations_members_sees_the_receipt(lodgings, stay, sign_in, who):
    user = lodgings.other_operator if who == "other_operator" else lodgings.staff[who]
    client = sign_in(user)
    assert client.get(receipt_url(stay)).status_code == 404
    assert client.get(receipt_url(stay, pdf=True)).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(stay, client):
    answer = client.get(receipt_url(stay))
    assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]


def test_the_public_check_shows_the_issuer_and_day_but_nothing_of_the_guest(lodgings, stay, client, english):
    page = client.get(check_url(stay.sttpoa_no))
    assert page.status_code == 200
    assert 'id="sttpoa-valid"' in page.text
    assert "Hotel Melati (Hotel)" in page.text
    assert lodgings.hotel.kabupaten.nama in page.text
    checked_in_on = stay.checked_in_at.astimezone(JAKARTA).date()
    assert format_date(checked_in_on, "long", locale="en") in page.text
    for personal in ("SMITH", "Smith", "JOHN", "123456789", "GBR", "United Kingdom", "2C21AB1234"):
        assert personal not in page.text


def test_a_cancelled_registration_shows_as_no_longer_valid(lodgings, stay, client, clock, sign_in):
    cancel(stay, lodgings.operator, REASON, clock.now)
    page = client.get(check_url(stay.sttpoa_no))
    assert page.status_code == 200
    assert 'id="sttpoa-cancelled"' in page.text and 'id="sttpoa-valid"' not in page.text
    assert 'id="sttpoa-cancelled"' in sign_in(lodgings.operator).get(receipt_url(stay)).text


def test_a_number_typed_in_lowercase_with_spaces_is_found(stay, client):
    number = stay.sttpoa_no
    typed = f"{number[:12]} {number[12:]}".lower()
    page = client.get(check_url(typed))
    assert page.status_code == 200 and number in page.text


def test_an_unknown_number_is_404_and_the_misses_run_out_in_429(stay, client, english):
    unknown = stay.sttpoa_no[:-6] + ("222222" if not stay.sttpoa_no.endswith("222222") else "333333")
    first = client.get(check_url(unknown))
    assert first.status_code == 404 and 'id="sttpoa-unknown"' in first.text
    assert "SMITH" not in first.text and "Hotel Melati" not in first.text
    for _ in range(MISSES - 1):
        assert client.get(check_url("not-a-number")).status_code == 404
    assert client.get(check_url(unknown)).status_code == 429
    # A number that finds its receipt is never refused.
    assert client.get(check_url(stay.sttpoa_no)).status_code == 200
