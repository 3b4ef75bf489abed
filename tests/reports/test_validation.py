"""The validation matrix of the report form, explored with hypothesis: coordinates, lengths, dates."""
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from sqlalchemy import select

from apoa.extensions import db
from apoa.forms import without_controls
from apoa.reports.forms import ReportForm
from apoa.reports.models import Category
from tests.reports.helpers import form_data, local_time

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def validate(harness, **overrides):
    """Errors of the form for a submission, by field (validation only; nothing is stored)."""
    categories = db.session.scalars(select(Category)).all()
    with harness.test_request_context("/lapor", method="POST", data=form_data(**overrides)):
        form = ReportForm(categories)
        form.validate()
        return form.errors


@SETTINGS
@given(lat=st.floats(allow_nan=False, allow_infinity=False, width=32),
       lon=st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_coordinates_are_accepted_exactly_inside_their_ranges(harness, lat, lon):
    errors = validate(harness, latitude=repr(lat), longitude=repr(lon))
    assert ("latitude" in errors) == (not -90 <= lat <= 90)
    assert ("longitude" in errors) == (not -180 <= lon <= 180)


@SETTINGS
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12))
def test_coordinate_text_that_is_not_a_number_is_refused(harness, text):
    try:  # every form drops control characters first (apoa/forms.py)
        float(without_controls(text).strip().replace(",", "."))
    except ValueError:
        assert "latitude" in validate(harness, latitude=text)


def test_a_comma_is_accepted_as_decimal_separator(harness):
    assert validate(harness, latitude="-6,30", longitude="107,30") == {}


@SETTINGS
@given(length=st.integers(min_value=0, max_value=2100))
def test_description_length_bounds(harness, length):
    errors = validate(harness, description="a" * length)
    assert ("description" in errors) == (not 10 <= length <= 2000)


@pytest.mark.date_sensitive
@SETTINGS
@given(minutes=st.integers(min_value=-200 * 24 * 60, max_value=3 * 24 * 60))
@example(minutes=10).via("the last minute allowed ahead")
@example(minutes=11).via("the first refused ahead")
@example(minutes=-90 * 24 * 60).via("the oldest allowed")
@example(minutes=-90 * 24 * 60 - 1).via("the first refused as too old")
def test_observed_time_not_in_the_future_and_not_too_old(harness, clock, minutes):
    # Ten minutes of clock drift are tolerated, and 90 days back (APOA_REPORT_MAX_AGE_DAYS): on the
    # held clock, standing on a whole minute, the limits hold to the minute.
    errors = validate(harness, observed_at=local_time(timedelta(minutes=minutes)))
    assert ("observed_at" in errors) == (minutes > 10 or minutes < -90 * 24 * 60)


@SETTINGS
@given(count=st.integers(min_value=-5, max_value=1100))
def test_people_count_bounds(harness, count):
    assert ("people_count" in validate(harness, people_count=str(count))) == (not 1 <= count <= 1000)
