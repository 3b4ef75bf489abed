"""The report_grid rollup (migration 0006) behind the zoomed-out map: after any mix of
submissions, workflow actions, transfers, moves, re-categorisations and deletions it holds exactly
what a GROUP BY over the reports gives, and its cell size is the map's."""
import importlib.util
import random
from pathlib import Path

from sqlalchemy import delete, func, select, text, update

from apoa.auth.permissions import can
from apoa.errors import ApoaError
from apoa.extensions import db
from apoa.maps.clusters import GRID_ZOOM, cell_size
from apoa.reports import workflow
from apoa.reports.models import Category, Report
from tests.factories import World

MIGRATION = Path(__file__).resolve().parents[2] / "migrations/versions/20261123_0006_report_grid.py"
PLACES = [(107.30, -6.30), (107.31, -6.31), (107.45, -6.20), (107.15, -6.30), (107.05, -6.05),
          (110.46, -1.67)]
ACTING = ("officer", "assignee", "supervisor", "decider", "kanwil_supervisor", "foreign_supervisor")

GRID_SQL = text("""
    SELECT i, j, office_id, state, category_id, sum(reports) FROM report_grid
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(reports) <> 0 ORDER BY 1, 2, 3, 4, 5""")
RAW_SQL = text("""
    SELECT floor(ST_X(location) / :cell)::int, floor(ST_Y(location) / :cell)::int, office_id, state,
           category_id, count(*) FROM report GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5""")


def grid_rows():
    return [tuple(row) for row in db.session.execute(GRID_SQL)]


def raw_rows():
    return [tuple(row) for row in db.session.execute(RAW_SQL, {"cell": cell_size(GRID_ZOOM)})]


def test_the_grid_cell_is_the_maps_cell_at_grid_zoom():
    spec = importlib.util.spec_from_file_location("migration_0006", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert float(migration.GRID_CELL) == cell_size(GRID_ZOOM)


def test_the_grid_follows_random_workflow_activity(make):
    world = World(make)
    rng = random.Random(20261123)
    categories = db.session.scalars(select(Category.id)).all()
    reports = [make.report(point=rng.choice(PLACES)) for _ in range(25)]
    for _step in range(250):
        roll = rng.random()
        if roll < 0.08:
            reports.append(make.report(point=rng.choice(PLACES)))
        elif roll < 0.12 and reports:
            gone = reports.pop(rng.randrange(len(reports)))
            if not db.session.scalar(select(func.count()).where(Report.duplicate_of_id == gone.id)):
                db.session.execute(delete(Report).where(Report.id == gone.id))
        elif roll < 0.16 and reports:
            lon, lat = rng.choice(PLACES)
            db.session.execute(update(Report).where(Report.id == rng.choice(reports).id).values(
                location=func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)))
        elif roll < 0.20 and reports:
            db.session.execute(update(Report).where(Report.id == rng.choice(reports).id)
                               .values(category_id=rng.choice(categories)))
        elif reports:
            act_at_random(world, rng, rng.choice(reports))
        db.session.expire_all()
    assert grid_rows() == raw_rows()
    assert len(raw_rows()) > 5  # the activity spread reports over several cells, offices and states


def act_at_random(world, rng, report):
    db.session.refresh(report)
    action = rng.choice(list(workflow.Action))
    transition = workflow.transition_for(report, action)
    if transition is None:
        return
    actors = [world.actors[name] for name in ACTING if can(world.actors[name], transition.permission, report)]
    if not actors:
        return
    try:
        with db.session.begin_nested():
            workflow.apply(report, action, rng.choice(actors), **world.params(action))
    except ApoaError:
        pass


def test_rebuild_gives_the_same_grid(make):
    World(make)
    for place in PLACES:
        make.report(point=place)
    kept = grid_rows()
    db.session.execute(text("SELECT report_grid_rebuild()"))
    assert grid_rows() == kept == raw_rows()


def test_closing_a_report_moves_its_count_from_new_to_closed(make):
    World(make)
    report = make.report(point=PLACES[0])
    assert [(row[3], row[5]) for row in grid_rows()] == [("new", 1)]
    db.session.execute(update(Report).where(Report.id == report.id).values(state="closed", outcome="not_found"))
    assert [(row[3], row[5]) for row in grid_rows()] == [("closed", 1)]
    assert grid_rows() == raw_rows()
