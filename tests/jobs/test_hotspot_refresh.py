"""The refresh job keeps each office's hotspots; the map and the dashboard read them while fresh
and compute live otherwise, with the same answer."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from apoa.maps import hotspots as hotspot_module
from apoa.maps.models import hotspot_snapshot
from tests.factories import World

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc)          # 10.00 WIB
KARAWANG_BARAT = (107.30, -6.30)
TELUKJAMBE = (107.27, -6.33)
CIKAMPEK = (107.45, -6.40)
KETAPANG = (110.0, -1.85)


@pytest.fixture
def world(make, time_machine):
    time_machine.move_to(NOW, tick=False)
    world = World(make)
    world.actors["ditjen_head"] = make.user("regional_head", make.office(kind="ditjen"))
    for point, count, days_ago in ((KARAWANG_BARAT, 3, 2), (TELUKJAMBE, 2, 5), (CIKAMPEK, 1, 10),
                                   (KETAPANG, 2, 1), (KARAWANG_BARAT, 4, 45)):
        for _ in range(count):
            make.report(point=point, created_at=NOW - timedelta(days=days_ago))
    return world


VIEWERS = ("officer", "supervisor", "kanwil_supervisor", "regional_head", "foreign_officer", "ditjen_head")


def live(user, limit=hotspot_module.DEFAULT_LIMIT):
    return hotspot_module.live_cells(user, hotspot_module._permission_for(user), limit)


def test_the_kept_hotspots_equal_the_live_computation(world, harness):
    offices = hotspot_module.refresh_hotspots()
    assert offices == len({world.actors[name].office_id for name in VIEWERS})
    for name in VIEWERS:
        user = world.actors[name]
        for limit in (hotspot_module.DEFAULT_LIMIT, 5, 1):
            assert hotspot_module.snapshot_cells(user, limit) == live(user, limit), (name, limit)
    assert [c.reports for c in live(world.actors["officer"])] == [3, 2, 1]
    assert [c.reports for c in live(world.actors["ditjen_head"])] == [3, 2, 2, 1]


def test_pages_read_the_kept_hotspots_while_fresh_then_compute_live(world, make, harness, time_machine):
    officer = world.actors["officer"]
    hotspot_module.refresh_hotspots()
    for _ in range(5):
        make.report(point=CIKAMPEK, created_at=NOW)
    with harness.test_request_context():
        shown = hotspot_module.hotspots(officer)
    assert [spot.reports for spot in shown] == [3, 2, 1]         # the kept answer, 5 minutes old at most
    assert [spot.place for spot in shown][0] == "Karawang Barat, Kabupaten Karawang"

    time_machine.move_to(NOW + hotspot_module.SNAPSHOT_FRESH + timedelta(seconds=1), tick=False)
    with harness.test_request_context():
        assert [spot.reports for spot in hotspot_module.hotspots(officer)] == [6, 3, 2]


def test_a_new_day_is_not_read_from_yesterdays_hotspots(world, time_machine):
    hotspot_module.refresh_hotspots()
    time_machine.move_to(NOW.replace(hour=17, minute=1), tick=False)   # 00.01 WIB the next day
    assert hotspot_module.snapshot_cells(world.actors["officer"], 10) is None


def test_offices_nobody_looks_from_are_forgotten(world, make, db_session):
    hotspot_module.refresh_hotspots()
    for name in ("foreign_officer", "foreign_supervisor"):      # the whole staff of KANIM-X
        world.actors[name].active = False
    db_session.flush()
    hotspot_module.refresh_hotspots()
    kept = set(db_session.scalars(select(hotspot_snapshot.c.office_id)))
    assert world.actors["foreign_officer"].office_id not in kept
    assert world.actors["officer"].office_id in kept


def test_the_refresh_runs_through_the_queue_like_any_job(world, db_session):
    from apoa import jobs

    jobs.enqueue("apoa.maps.hotspots.refresh_hotspots")
    db_session.commit()
    assert jobs.run_pending() == 1
    assert hotspot_module.snapshot_cells(world.actors["officer"], 10) == live(world.actors["officer"])
