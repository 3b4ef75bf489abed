"""Near-duplicates: candidates within 300 m and ± 14 days, same category first, never another
office's reports, found through the spatial index; and the count of reports corroborating an original."""
import math
import re
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from apoa.extensions import db
from apoa.reports.duplicates import box_degrees, candidates_query, corroborations, nearby_candidates
from apoa.reports.states import State
from tests.conftest import AuthActions
from tests.factories import World

HERE = (107.30, -6.30)  # Karawang Barat: KANIM-A


def moved(point, north_m=0.0, east_m=0.0):
    """`point` moved by about that many metres (good to a few centimetres at these distances)."""
    lon, lat = point
    return (lon + east_m / (111_320 * math.cos(math.radians(lat))), lat + north_m / 110_580)


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def original(world):
    return world.make.report(point=HERE, category_code="illegal_work")


def near(world, original, north_m=0.0, east_m=0.0, days=0, category="illegal_work", **fields):
    return world.make.report(point=moved(HERE, north_m, east_m), category_code=category,
                             observed_at=original.observed_at + timedelta(days=days), **fields)


def candidate_ids(report, user, **search):
    return [c.report.id for c in nearby_candidates(report, user, **search)]


def test_candidates_lie_within_300_m_and_14_days(world, original):
    inside = [near(world, original, north_m=100), near(world, original, north_m=285),
              near(world, original, east_m=280), near(world, original, north_m=-150, east_m=-150),
              near(world, original, north_m=50, days=13), near(world, original, north_m=60, days=-13)]
    outside = [near(world, original, north_m=320), near(world, original, east_m=330),
               near(world, original, north_m=50, days=15), near(world, original, north_m=50, days=-15),
               near(world, original, north_m=1500)]
    found = candidate_ids(original, world.actors["officer"])
    assert sorted(found) == sorted(r.id for r in inside)
    assert original.id not in found and not set(found) & {r.id for r in outside}


def test_the_distance_is_measured_on_the_earth_in_metres(world, original):
    report = near(world, original, north_m=200)
    [candidate] = nearby_candidates(original, world.actors["officer"])
    assert candidate.report.id == report.id and 198 <= candidate.distance_m <= 202


def test_same_category_first_then_nearest(world, original):
    other_close = near(world, original, north_m=20, category="other")
    same_far = near(world, original, north_m=250)
    same_near = near(world, original, north_m=120)
    other_far = near(world, original, north_m=200, category="overstay")
    candidates = nearby_candidates(original, world.actors["officer"])
    assert [c.report.id for c in candidates] == [same_near.id, same_far.id, other_close.id, other_far.id]
    assert [c.same_category for c in candidates] == [True, True, False, False]


def test_no_candidate_comes_from_another_office(world, original, make):
    mine = near(world, original, north_m=40)
    theirs = near(world, original, north_m=30)
    theirs.office_id = world.other_office.id  # e.g. transferred: same place, KANIM-B's now
    foreign = near(world, original, north_m=35)
    foreign.office_id = make.office(code="KANIM-Y").id
    db.session.flush()
    assert candidate_ids(original, world.actors["officer"]) == [mine.id]
    # The Kanwil sees both its offices (nearest first), never the office under another Kanwil.
    assert candidate_ids(original, world.actors["kanwil_supervisor"]) == [theirs.id, mine.id]
    assert candidate_ids(original, world.actors["regional_head"]) == []
    assert candidate_ids(original, world.actors["admin"]) == []


def test_another_offices_candidates_never_reach_the_page(world, original, app):
    theirs = near(world, original, north_m=30)
    theirs.office_id = world.other_office.id
    db.session.flush()
    client = app.test_client()
    AuthActions(client).login(world.actors["officer"])
    for path in (f"/laporan/{original.id}", f"/laporan/{original.id}/sekitar?metres=1000&days=30"):
        page = client.get(path)
        assert page.status_code == 200
        assert theirs.tracking_code[:5] not in page.text and f"/laporan/{theirs.id}" not in page.text


@pytest.mark.parametrize("lat", [-11.0, -6.3, 0.0, 6.0])
@pytest.mark.parametrize("metres", [100, 300, 1000])
def test_the_bounding_box_holds_the_whole_circle(lat, metres):
    """The index prefilter must never drop a report ST_DWithin would keep."""
    dx, dy = box_degrees(lat, metres)
    east = db.session.scalar(text(
        "SELECT ST_Distance(ST_MakePoint(110, :lat)::geography, ST_MakePoint(110 + :dx, :lat)::geography)"),
        {"lat": lat, "dx": dx})
    north = db.session.scalar(text(
        "SELECT ST_Distance(ST_MakePoint(110, :lat)::geography, ST_MakePoint(110, :lat + :dy)::geography)"),
        {"lat": lat, "dy": dy})
    assert metres <= east <= metres * 1.05 and metres <= north <= metres * 1.05


def test_the_search_uses_the_spatial_index(world, original, make):
    """The bounding box (`location && ST_Expand(...)`) is what lets the GiST index answer; a
    geography cast of the column alone could not. Sequential scans are discouraged so the plan
    shows whether the index can be used at all (a tiny table would otherwise be scanned)."""
    ditjen_officer = make.user("officer", world.office.parent.parent)
    for n in range(20):
        near(world, original, north_m=20 * n)
    compiled = candidates_query(original, ditjen_officer).compile(dialect=postgresql.dialect())
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params))
    connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
    assert "ix_report_location" in plan, plan


# --- marking duplicates and the corroboration count ------------------------------------------------

def signed_in(app, user):
    client = app.test_client()
    assert AuthActions(client).login(user).status_code == 302
    return client


def mark(client, report, original):
    return client.post(f"/laporan/{report.id}/aksi/mark_duplicate",
                       data={"mark_duplicate-original": str(original.id)})


def test_marking_duplicates_counts_the_reports_corroborating_the_original(world, original, app, english):
    first, second = near(world, original, north_m=80), near(world, original, north_m=150, days=2)
    officer = signed_in(app, world.actors["officer"])
    page = officer.get(f"/laporan/{first.id}")
    assert f'name="mark_duplicate-original" type="radio" value="{original.id}"' in page.text
    assert mark(officer, first, original).status_code == 303
    assert mark(officer, second, first).status_code == 303  # a duplicate of a duplicate: the root
    db.session.expire_all()
    assert (first.state, first.duplicate_of_id, second.duplicate_of_id) == ("pending_approval", original.id,
                                                                           original.id)
    assert corroborations(original) == 2

    supervisor = signed_in(app, world.actors["supervisor"])
    assert supervisor.post(f"/laporan/{first.id}/aksi/approve").status_code == 303  # closed
    assert corroborations(original) == 2  # closed or pending, both corroborate
    page = supervisor.get(f"/laporan/{original.id}")
    assert re.search(r'id="corroborations">\s*Corroborating reports: 2<', page.text)

    answer = supervisor.post(f"/laporan/{second.id}/aksi/send_back",
                             data={"send_back-note": "Bukan laporan yang sama, cek lagi."})
    assert answer.status_code == 303
    assert corroborations(original) == 1
    assert "Corroborating reports: 1<" in supervisor.get(f"/laporan/{original.id}").text


def test_the_duplicates_page_links_to_the_original(world, original, app, english):
    copy = near(world, original, north_m=80)
    officer = signed_in(app, world.actors["officer"])
    mark(officer, copy, original)
    page = officer.get(f"/laporan/{copy.id}")
    outcome = re.search(r"<dt>Outcome</dt><dd>(.*?)</dd>", page.text, re.S).group(1)
    assert outcome.startswith("Duplicate") and f'href="/laporan/{original.id}"' in outcome


# --- the wider search page -------------------------------------------------------------------------

def test_the_nearby_page_searches_wider_on_request(world, original, app):
    close = near(world, original, north_m=100)
    farther = near(world, original, north_m=800)
    older = near(world, original, north_m=50, days=-25)
    client = signed_in(app, world.actors["officer"])

    def shown(query=""):
        page = client.get(f"/laporan/{original.id}/sekitar{query}")
        assert page.status_code == 200
        return {r.id for r in (close, farther, older) if f'href="/laporan/{r.id}"' in page.text}

    assert shown() == {close.id}
    assert shown("?metres=1000") == {close.id, farther.id}
    assert shown("?metres=1000&days=30") == {close.id, farther.id, older.id}
    assert shown("?metres=50000&days=9999") == {close.id}  # not in the allowlists: the defaults


def test_the_nearby_page_offers_the_duplicate_form_while_the_state_allows_it(world, original, app):
    near(world, original, north_m=100)
    for who, offered in (("officer", True), ("assignee", True), ("kanwil_supervisor", True)):
        page = signed_in(app, world.actors[who]).get(f"/laporan/{original.id}/sekitar")
        assert ('id="action-mark_duplicate"' in page.text) is offered, who
    closed = world.report_in(State.closed)
    page = signed_in(app, world.actors["officer"]).get(f"/laporan/{closed.id}/sekitar")
    assert 'id="action-mark_duplicate"' not in page.text


def test_a_report_never_counts_as_its_own_candidate(world, original):
    twin = near(world, original)  # the very same place and time
    assert candidate_ids(original, world.actors["officer"]) == [twin.id]
    assert candidate_ids(twin, world.actors["officer"]) == [original.id]
