"""Guessing tracking codes: misses on the receipt (/lapor/tanda-terima/<code>) are limited like
misses on the status page, and the addresses that take a code share one budget of misses."""
from apoa.reports.public_views import STATUS_MISS_LIMIT
from apoa.reports.tracking import new_code

MISSES = int(STATUS_MISS_LIMIT.split()[0])


def test_repeated_receipt_misses_are_limited_but_hits_are_not(client, make):
    report = make.report()
    for _ in range(MISSES + 5):
        assert client.get(f"/lapor/tanda-terima/{report.tracking_code}").status_code == 200
    for _ in range(MISSES):
        assert client.get(f"/lapor/tanda-terima/{new_code()}").status_code == 404
    assert client.get(f"/lapor/tanda-terima/{new_code()}").status_code == 429


def test_receipt_and_status_misses_share_one_budget(client):
    for number in range(MISSES):
        page = "/lapor/tanda-terima" if number % 2 else "/status"
        assert client.get(f"{page}/{new_code()}").status_code == 404
    assert client.get(f"/lapor/tanda-terima/{new_code()}").status_code == 429
    assert client.get(f"/status/{new_code()}").status_code == 429
