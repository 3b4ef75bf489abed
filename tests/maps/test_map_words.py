"""What the maps' scripts are given to say (issue 11, items 5 and 7): the words for a failed request
and for a report's popup come translated from the server (the scripts hold none), and the names of
the categories the popups show go only to who may see the reports themselves. The scripts' use of
them (status line, no stale clusters, popup) is driven in tests/browser/test_map_failures.py."""
import json
import re

import pytest
from sqlalchemy import select

from apoa.extensions import db
from apoa.reports.models import Category
from tests.factories import World


@pytest.fixture
def world(make):
    return World(make)


def behaviour_options(html, name):
    """The options a map page hands to window.ApoaMaps.<name>(map, options)."""
    return json.loads(re.search(rf"window\.ApoaMaps\.{name}\(map_[0-9a-f]+, (\{{.*\}})\);", html).group(1))


def test_the_officer_map_gets_its_failure_and_popup_words(world, sign_in, english):
    options = behaviour_options(sign_in(world.actors["officer"]).get("/peta").text, "officer")
    labels = options["labels"]
    assert labels["failed"] == ("The map data could not be loaded. Check the connection; the map tries again "
                                "when you move it.")
    assert labels["failedBecause"] == "The map data could not be loaded: %(reason)s"
    assert labels["received"] == "Received %(age)s" and labels["openReport"] == "Open the report"
    assert options["locale"] == "en"


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_popups_name_every_category_in_the_users_language(world, sign_in, request, language):
    if language == "en":
        request.getfixturevalue("english")
    options = behaviour_options(sign_in(world.actors["officer"]).get("/peta").text, "officer")
    assert options["locale"] == language
    categories = db.session.scalars(select(Category)).all()         # inactive ones too: old reports
    assert options["categories"] == {str(c.id): (c.name_en if language == "en" else c.name_id)
                                     for c in categories}


def test_a_regional_head_gets_no_category_names(world, sign_in):
    options = behaviour_options(sign_in(world.actors["regional_head"]).get("/peta").text, "officer")
    assert options["categories"] == {} and options["pointsZoom"] is None


def test_the_regional_map_names_no_reports_and_failures_in_words(world, sign_in, english):
    options = behaviour_options(sign_in(world.actors["regional_head"]).get("/peta/wilayah").text, "regional")
    text = options["text"]
    assert text["legendNone"] == "no reports" and text["legendNote"] == "fewer than 3 reports"
    assert text["error"] == ("The map data could not be loaded. Check the connection; the map tries again "
                             "when you move it.")
