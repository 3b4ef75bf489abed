"""Fixtures of the feedback tests."""
import pytest

from tests.feedback.helpers import Offices


@pytest.fixture
def offices(make):
    """Karawang and Purwakarta under one Kanwil, Kotabumi in Lampung, their supervisors and a
    report in Kotabumi (tests/feedback/helpers.py). test_cases.py has its own."""
    return Offices(make)
