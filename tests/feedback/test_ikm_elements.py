"""The nine SKM elements' means (NRR per element, 1–4 with two decimals) beside the IKM on the
dashboard and in the monthly report, withheld with the index below three answers ("< 3").

The ratings are given in the last whole month (relative to the clock): a regional head sees whole
months only."""
import re
from datetime import datetime, time, timedelta, timezone

import pytest

from apoa.feedback.skm import SkmElement, rate
from apoa.reports.states import State
from tests.factories import World


@pytest.fixture
def world(make, clock):
    return World(make)


def last_month(clock):
    """(first day, last day) of the last whole month."""
    last = clock.today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def rated(world, clock, *scores):
    """A rating given on the 10th of the last whole month, at noon UTC."""
    given = datetime.combine(last_month(clock)[0].replace(day=10), time(12), timezone.utc)
    return rate(world.report_in(State.closed), dict(zip(SkmElement, scores)), now=given)


def month_args(clock, who):
    """The dashboard's query for the last whole month: a custom period for staff of the office,
    the month for a head."""
    first, last = last_month(clock)
    if who == "regional_head":
        return {"bulan": first.strftime("%Y-%m")}
    return {"period": "custom", "from": first.isoformat(), "to": last.isoformat()}


def means_shown(page, prefix):
    """{element value: the mean as shown} of the page's element table."""
    return dict(re.findall(rf'id="{prefix}([a-z]+)">([^<]+)<', page))


def three_ratings(world, clock):
    """Means 4.00, 3.67, 3.00, 2.33, 2.00, 1.67, 1.00, 3.33 and 2.67 (sums 12, 11, 9, 7, 6, 5, 3,
    10, 8 over three answers)."""
    rated(world, clock, 4, 4, 3, 3, 2, 2, 1, 4, 3)
    rated(world, clock, 4, 4, 3, 2, 2, 2, 1, 3, 3)
    rated(world, clock, 4, 3, 3, 2, 2, 1, 1, 3, 2)


EXPECTED = {"requirements": "4.00", "procedure": "3.67", "duration": "3.00", "cost": "2.33",
            "product": "2.00", "competence": "1.67", "conduct": "1.00", "complaints": "3.33",
            "facilities": "2.67"}


@pytest.mark.parametrize("who", ["supervisor", "regional_head"])
def test_the_dashboard_shows_each_elements_mean(world, sign_in, english, clock, who):
    three_ratings(world, clock)
    page = sign_in(world.actors[who]).get("/ringkasan", query_string=month_args(clock, who)).text
    assert means_shown(page, "ikm-mean-") == EXPECTED
    assert "Systems, mechanisms and procedures" in page and 'id="ikm-elements"' in page
    # the index itself: sum of the means 23.67 / 9 = 2.6296 × 25 = 65.74
    assert re.search(r'id="kpi-ikm">65.74<', page)


def test_the_monthly_report_shows_each_elements_mean(world, sign_in, english, clock):
    three_ratings(world, clock)
    page = sign_in(world.actors["regional_head"]).get(
        "/ringkasan/bulanan", query_string=month_args(clock, "regional_head")).text
    assert means_shown(page, "m-ikm-mean-") == EXPECTED
    assert 'id="monthly-ikm-elements"' in page


@pytest.mark.parametrize("who", ["supervisor", "regional_head"])
def test_below_three_answers_no_mean_is_shown_and_the_count_reads_less_than_3(world, sign_in, english, clock, who):
    rated(world, clock, 4, 4, 4, 4, 4, 4, 4, 4, 4)
    rated(world, clock, 1, 1, 1, 1, 1, 1, 1, 1, 1)
    client = sign_in(world.actors[who])
    page = client.get("/ringkasan", query_string=month_args(clock, who)).text
    assert 'id="ikm-elements"' not in page and means_shown(page, "ikm-mean-") == {}
    assert re.search(r'id="kpi-ikm-answers">&lt; 3<', page)
    monthly = client.get("/ringkasan/bulanan", query_string=month_args(clock, "regional_head"))
    assert monthly.status_code == 200
    assert 'id="monthly-ikm-elements"' not in monthly.text
    assert re.search(r'id="m-ikm-answers">&lt; 3<', monthly.text)
