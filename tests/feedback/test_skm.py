"""The residents' rating of the service (SKM) and the office's index (IKM), apoa/feedback/skm.py:
the arithmetic of PermenPAN-RB 14/2017 on a hand-computed example, the categories at their
boundaries, only closed reports and once each, a rating that changes nothing about the report, the
link on the status page and on "my reports", the form's clear messages, and the dashboard and
monthly report sections with the number of answers."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from apoa.audit.models import AuditEntry
from apoa.auth.permissions import ALL_OFFICES
from apoa.errors import Conflict, UserValueError
from apoa.extensions import db
from apoa.feedback.models import ServiceRating
from apoa.feedback.skm import Quality, SkmElement, ikm, index_of, quality_of, rate
from apoa.reports.models import ReportEvent
from apoa.reports.states import State
from tests.factories import World

COMMENT = "Petugas ramah, tetapi proses terlalu lama."


@pytest.fixture
def world(make, clock):
    return World(make)


def answers(*scores):
    """Answers for the nine elements in the regulation's order."""
    assert len(scores) == 9
    return dict(zip(SkmElement, scores))


def rated(world, scores, comment=None, now=None):
    return rate(world.report_in(State.closed), answers(*scores), comment, now=now)


def week(clock):
    return clock.today - timedelta(days=6), clock.today + timedelta(days=1)


def form_data(*scores, comment=""):
    data = {element.value: str(score) for element, score in zip(SkmElement, scores)}
    data["comment"] = comment
    return data


# --- the arithmetic -----------------------------------------------------------------------------

def test_ikm_as_hand_computed(world, clock):
    """Three answers. Means per element: 4, 3, 2, 3, 3, 3, 4, 2, 3 (sums 12, 9, 6, 9, 9, 9, 12, 6,
    9 over 3). Sum of the means 27; unit value 27 / 9 = 3.0000; × 25 = 75.00: C (65.00–76.60)."""
    rated(world, (4, 3, 2, 3, 3, 3, 4, 2, 3))
    rated(world, (4, 4, 1, 3, 2, 3, 4, 2, 4))
    rated(world, (4, 2, 3, 3, 4, 3, 4, 2, 2))
    result = ikm({world.office.id}, *week(clock))
    assert result.answers == 3
    assert [result.means[e] for e in SkmElement] == [Decimal(v) for v in "432333423"]
    assert result.unit_value == Decimal("3.0000") and result.value == Decimal("75.00")
    assert result.quality is Quality.C


def test_uneven_means_are_weighted_equally(world, clock):
    """Means 4, 4, 4, 4, 4, 4, 4, 4 and 11/3: sum 35.6667, / 9 = 3.96296, × 25 = 99.07: A."""
    for last in (4, 4, 3):
        rated(world, (4, 4, 4, 4, 4, 4, 4, 4, last))
    result = ikm(ALL_OFFICES, *week(clock))
    assert result.value == Decimal("99.07") and result.quality is Quality.A
    assert result.means[SkmElement.facilities] == Decimal("3.67")


def test_index_of_all_fours_is_exactly_100_and_all_ones_25():
    assert index_of([4] * 9) == (Decimal(4), Decimal(100))
    assert index_of([1] * 9) == (Decimal(1), Decimal(25))


@pytest.mark.parametrize("value, quality", [
    ("25.00", Quality.D), ("64.99", Quality.D), ("64.994", Quality.D), ("64.995", Quality.C),
    ("65.00", Quality.C), ("76.60", Quality.C), ("76.61", Quality.B), ("88.30", Quality.B),
    ("88.31", Quality.A), ("100.00", Quality.A)])
def test_categories_at_the_boundaries(value, quality):
    assert quality_of(Decimal(value)) is quality


def test_fewer_than_three_answers_show_only_the_count(world, clock):
    rated(world, (4,) * 9)
    rated(world, (3,) * 9)
    result = ikm({world.office.id}, *week(clock))
    assert result.answers == 2 and not result.shown and result.value is None
    assert result.answers_text == "< 3"


def test_the_period_and_the_office_bound_the_answers(world, clock):
    for _ in range(3):
        rated(world, (4,) * 9)
    rated(world, (1,) * 9, now=clock.now - timedelta(days=30))     # before the period
    assert ikm({world.other_office.id}, *week(clock)).answers == 0
    assert ikm({world.office.id}, *week(clock)).value == Decimal("100.00")


# --- rating -------------------------------------------------------------------------------------

@pytest.mark.parametrize("state", [State.new, State.assigned, State.pending_approval])
def test_only_a_closed_report_can_be_rated(world, state, english):
    with pytest.raises(UserValueError, match="once the report is completed"):
        rate(world.report_in(state), answers(*(3,) * 9))


def test_once_per_report(world, english):
    report = world.report_in(State.closed)
    rate(report, answers(*(3,) * 9))
    with pytest.raises(Conflict, match="already been rated"):
        rate(report, answers(*(4,) * 9))
    assert db.session.scalar(select(func.count()).select_from(ServiceRating)) == 1


@pytest.mark.parametrize("scores", [(0,) + (3,) * 8, (3,) * 8 + (5,), (3,) * 8 + ("x",), (3,) * 8 + (None,)])
def test_every_score_is_one_to_four(world, scores, english):
    with pytest.raises(UserValueError, match="from 1 to 4"):
        rate(world.report_in(State.closed), answers(*scores))


def test_a_missing_element_is_refused(world, english):
    given = answers(*(3,) * 9)
    del given[SkmElement.cost]
    with pytest.raises(UserValueError, match="Costs and fees"):
        rate(world.report_in(State.closed), given)


def test_the_comment_is_at_most_1000_characters_and_never_audited(world, english):
    with pytest.raises(UserValueError, match="1000"):
        rated(world, (3,) * 9, comment="x" * 1001)
    rating = rated(world, (3,) * 9, comment=COMMENT)
    assert rating.comment == COMMENT
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "service.rated")).one()
    assert COMMENT not in str(entry.detail)


def test_the_rating_changes_nothing_about_the_report(world, clock):
    report = world.report_in(State.closed)
    db.session.refresh(report)
    before = (report.state, report.updated_at, report.outcome)
    events = db.session.scalar(select(func.count()).where(ReportEvent.report_id == report.id))
    clock.advance(timedelta(hours=2))
    rate(report, answers(*(2,) * 9), COMMENT)
    db.session.expire_all()
    assert (report.state, report.updated_at, report.outcome) == before
    assert db.session.scalar(select(func.count()).where(ReportEvent.report_id == report.id)) == events


# --- the pages ----------------------------------------------------------------------------------

def test_the_status_page_links_to_the_rating_only_when_closed_and_unrated(world, client, english):
    open_report, closed = world.report_in(State.in_field), world.report_in(State.closed)
    assert "Rate our service" not in client.get(f"/status/{open_report.tracking_code}").text
    assert 'id="rate-service"' in client.get(f"/status/{closed.tracking_code}").text
    rate(closed, answers(*(3,) * 9))
    assert "Rate our service" not in client.get(f"/status/{closed.tracking_code}").text


def test_a_resident_rates_through_the_form(world, client, english):
    report = world.report_in(State.closed)
    page = client.get(f"/status/{report.tracking_code}/nilai")
    assert page.status_code == 200
    assert page.text.count('type="radio"') == 36 and "Very appropriate" in page.text
    answer = client.post(f"/status/{report.tracking_code}/nilai", data=form_data(*(4,) * 9, comment=COMMENT))
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/nilai/terima-kasih")
    assert "Thank you for your rating" in client.get(answer.headers["Location"]).text
    rating = db.session.scalars(select(ServiceRating)).one()
    assert rating.report_id == report.id and rating.office_id == report.office_id and rating.comment == COMMENT
    # a second visit goes to the thank-you page; a second post adds nothing
    again = client.post(f"/status/{report.tracking_code}/nilai", data=form_data(*(1,) * 9))
    assert again.status_code == 303 and again.headers["Location"].endswith("/nilai/terima-kasih")
    assert db.session.scalar(select(func.count()).select_from(ServiceRating)) == 1


@pytest.mark.parametrize("data", [form_data(*(3,) * 8, 7), {**form_data(*(3,) * 9), "cost": ""},
                                  form_data(*(3,) * 9, comment="y" * 1001)])
def test_a_bad_answer_gets_a_clear_message(world, client, english, data):
    report = world.report_in(State.closed)
    answer = client.post(f"/status/{report.tracking_code}/nilai", data=data)
    assert answer.status_code == 400
    assert re.search(r"Choose one of the four answers|Not a valid choice|at most 1000 characters", answer.text)
    assert 'class="error-summary"' in answer.text
    assert db.session.scalar(select(func.count()).select_from(ServiceRating)) == 0


def test_an_open_report_leads_back_to_its_status_and_an_unknown_code_is_404(world, client):
    report = world.report_in(State.assigned)
    answer = client.get(f"/status/{report.tracking_code}/nilai")
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/status/{report.tracking_code}")
    assert client.get("/status/NOPE-NOPE/nilai").status_code == 404


def test_my_reports_links_closed_unrated_reports(world, make, sign_in, english):
    resident = world.actors["resident"]
    closed = world.report_in(State.closed)
    closed.reporter_id = resident.id
    rated_report = world.report_in(State.closed)
    rated_report.reporter_id = resident.id
    db.session.flush()
    rate(rated_report, answers(*(3,) * 9))
    page = sign_in(resident).get("/laporan-saya").text
    assert f"/status/{closed.tracking_code}/nilai" in page
    assert f"/status/{rated_report.tracking_code}/nilai" not in page


def test_the_dashboard_shows_the_ikm_with_its_answers(world, sign_in, english, clock):
    supervisor = world.actors["supervisor"]
    start, end = week(clock)
    args = {"period": "custom", "from": start.isoformat(), "to": clock.today.isoformat()}
    client = sign_in(supervisor)
    for _ in range(2):
        rated(world, (3,) * 9)
    page = client.get("/ringkasan", query_string=args).text
    assert re.search(r'id="kpi-ikm-answers">&lt; 3<', page) and 'id="ikm-too-few"' in page
    rated(world, (3,) * 9)
    page = client.get("/ringkasan", query_string=args).text
    assert re.search(r'id="kpi-ikm">75.00<', page) and re.search(r'id="kpi-ikm-answers">3<', page)
    assert "C (Fair)" in page


def test_the_monthly_report_shows_the_ikm(world, sign_in, english, clock):
    # Figures shared outside the office cover whole months only: the last one, here.
    last_month = (clock.today.replace(day=1) - timedelta(days=1)).replace(day=10)
    for _ in range(3):
        rated(world, (4,) * 9, now=clock.now - (clock.today - last_month))
    page = sign_in(world.actors["regional_head"]).get(
        "/ringkasan/bulanan", query_string={"bulan": last_month.strftime("%Y-%m")}).text
    assert re.search(r'id="m-ikm">100.00<', page) and re.search(r'id="m-ikm-answers">3<', page)
