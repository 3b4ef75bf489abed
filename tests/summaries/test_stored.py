"""The shared figures of whole ended months, kept (apoa/summaries/stored.py, migration 0026; issue 16,
item 3): kept figures equal fresh ones, a late change to a report of an ended month forgets them,
the job fills them, and a head's page reads them without counting the month again.

The world is tests/summaries/test_differencing.py's (a Kanwil of two Kantor, the month M before the
clock's with "< 3" and withheld counts, open reports in every state), so the kept figures are
suppressed ones with something to hide.
"""
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, func, select, text

from apoa.extensions import db
from apoa.summaries import figures, rollups, stored
from apoa.summaries.figures import scope_for, shared_summary, summary
from apoa.summaries.models import summary_month_figures as kept
from apoa.summaries.suppression import month_of
from apoa.periods import add_months
from tests.summaries.test_differencing import World

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)      # a fixed "now" for what is open (both sides alike)


@pytest.fixture
def world(make, clock):
    return World(make, clock.today)


def fresh(user, period, office_id=None, now=None, source=rollups.ROLLUP):
    """The suppressed Summary counted afresh, as before the figures were kept."""
    with rollups.small_aggregates() if source == rollups.ROLLUP else rollups.raw_facts():
        result = figures.computed_figures(scope_for(user, office_id), period, source, True, False, now)
    result.scope_label = figures._scope_label(user, office_id)
    result.hotspots = []
    return result


def same(a, b):
    return vars(a) == vars(b)


def kept_rows(month=None):
    query = select(kept.c.scope_key, kept.c.month, kept.c.checked, kept.c.anomalies.is_not(None))
    if month is not None:
        query = query.where(kept.c.month == month)
    return db.session.execute(query.order_by(kept.c.scope_key, kept.c.month)).all()


def test_kept_figures_equal_fresh_ones(world, clock):
    now = datetime.now(timezone.utc)          # the clock's
    before = add_months(world.first, -1)
    for period in (world.month, month_of(before)):
        for office_id in (None, world.office_a.id, world.office_b.id):
            expected = fresh(world.head, period, office_id, now)
            first = summary(world.head, period, office_id, now=now)      # computed and kept
            again = summary(world.head, period, office_id, now=now)      # read back
            assert same(first, expected), (period, office_id)
            assert same(again, expected), (period, office_id)
            assert first.received.value and (period != world.month or any(
                c.hidden for c in (r.received for r in expected.by_category)))
    assert len(kept_rows()) == 6
    # The raw tables give the same figures as the kept ones.
    assert same(summary(world.head, world.month, now=now), fresh(world.head, world.month, None, now,
                                                                  source=rollups.RAW))
    # A partner's summary and the monthly report's figures read the same kept month.
    partner = shared_summary(world.kanwil, world.month, now=now)
    assert partner.by_kabupaten == summary(world.head, world.month, now=now).by_kabupaten
    assert len(kept_rows()) == 6


def test_what_is_open_now_is_counted_at_each_view(world, make, clock):
    now = datetime.now(timezone.utc)
    first = summary(world.head, world.month, now=now)
    # A new report today changes no ended month (nothing is forgotten), only what is open now.
    make.report(point=(107.30, -6.30), category_code="other", created_at=now)
    assert len(kept_rows(world.first)) == 1
    second = summary(world.head, world.month, now=now)
    assert second.open_now.value == first.open_now.value + 1
    assert same(second, fresh(world.head, world.month, None, now))


def test_a_late_change_to_a_report_of_an_ended_month_forgets_its_figures(world, make, clock):
    now = datetime.now(timezone.utc)
    next_month = month_of(add_months(world.first, 1))
    shown = summary(world.head, world.month, now=now)
    if next_month.end <= clock.today:
        summary(world.head, next_month, now=now)
    assert len(kept_rows(world.first)) == 1
    # A report received in the month moves to the other Kantor after the month ended.
    from apoa.reports.models import Report
    report = db.session.scalars(select(Report).where(Report.office_id == world.office_a.id,
                                                     Report.created_at >= world.month.starts_at,
                                                     Report.created_at < world.month.ends_at)
                                .order_by(Report.id)).first()
    report.office_id = world.office_b.id
    db.session.flush()
    assert kept_rows(world.first) == []
    changed = summary(world.head, world.month, now=now)
    assert same(changed, fresh(world.head, world.month, None, now))
    assert ({r.key: r.received.value for r in changed.by_office}
            != {r.key: r.received.value for r in shown.by_office})


def test_a_rebuild_of_the_rollups_forgets_every_month(world):
    summary(world.head, world.month)
    assert kept_rows()
    db.session.execute(text("SELECT summary_rebuild()"))
    assert kept_rows() == []
    assert same(summary(world.head, world.month, now=NOW), fresh(world.head, world.month, None, NOW))


def test_the_anomalies_of_a_week_not_over_are_counted_but_not_kept(world, clock):
    scope = scope_for(world.head)
    end = stored.anomaly_end(world.month)
    with rollups.small_aggregates():
        part = stored.month_part(scope, world.month, today=world.month.end)   # the next month's first day
        assert part.anomalies is not None
        (row,) = kept_rows(world.first)
        assert row[3] is (world.month.end >= end)
        again = stored.month_part(scope, world.month, today=max(end, world.month.end))
    assert again.anomalies == part.anomalies
    assert kept_rows(world.first)[0][3] is True


def test_the_job_keeps_the_last_months_of_every_office(world, clock):
    count = stored.fill_month_figures()
    months = {add_months(clock.today.replace(day=1), -k) for k in (1, 2)}
    rows = kept_rows()
    assert {row.month for row in rows} == months
    keys = {row.scope_key for row in rows}
    assert stored.scope_key(scope_for(world.head)) in keys and "*" in keys
    assert count == len(rows) and not any(row.checked for row in rows)
    # Each row written is computed once more by the next run, then left alone.
    assert stored.fill_month_figures() == len(rows)
    assert all(row.checked for row in kept_rows())
    assert stored.fill_month_figures() == 0
    # Rows of another version of the code are forgotten.
    db.session.execute(kept.update().where(kept.c.scope_key == "*").values(version="old"))
    stored.fill_month_figures()
    assert db.session.scalar(select(func.count()).select_from(kept).where(kept.c.version == "old")) == 0


def statements_during(function):
    seen = []

    def listener(_conn, _cursor, statement, *_args):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = function()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return result, seen


def test_a_heads_page_reads_the_kept_figures_without_counting_the_month(world, sign_in, clock):
    client = sign_in(world.head)
    args = {"bulan": world.value}
    answer, first = statements_during(lambda: client.get("/ringkasan", query_string=args))
    assert answer.status_code == 200
    assert any("summary_flow" in s for s in first)            # computed once, and kept
    assert len(kept_rows(world.first)) == 1
    answer, again = statements_during(lambda: client.get("/ringkasan", query_string=args))
    assert answer.status_code == 200
    assert not [s for s in again if "summary_flow" in s]      # the month is not counted again
    assert len([s for s in again if "summary_month_figures" in s]) == 1
    assert len(again) <= len(first) - 5
    # The job's figures are read the same way.
    db.session.execute(kept.delete())
    stored.fill_month_figures()
    _answer, after_job = statements_during(lambda: client.get("/ringkasan", query_string=args))
    assert not [s for s in after_job if "summary_flow" in s]


def test_the_regional_map_takes_the_months_totals_from_the_kept_figures(world):
    from apoa.maps.regional import TOTAL, dashboard_counts
    shown = summary(world.head, world.month)
    counts, seen = statements_during(lambda: dashboard_counts(world.head, world.month))
    assert not [s for s in seen if "summary_flow" in s or "summary_open" in s]
    assert counts[TOTAL] == shown.received
    assert {k: v for k, v in counts.items() if k != TOTAL} == {
        row.key: row.received for row in shown.by_kabupaten if row.received.value}


def test_kept_json_reads_back_alike(world):
    scope = scope_for(world.head)
    with rollups.small_aggregates():
        part = figures.month_part(scope, world.month)
    back = stored.part_from_json(stored.part_to_json(part))
    assert replace(back, anomalies=part.anomalies) == part
    assert stored.anomalies_from_json(stored.anomalies_to_json(part.anomalies)) == part.anomalies


def test_the_command_keeps_the_months_as_the_job_does(world, runner, clock):
    answer = runner.invoke(args=["summaries", "store-months", "--months", "1"])
    assert answer.exit_code == 0, answer.output
    rows = kept_rows()
    assert f"stored months computed: {len(rows)}" in answer.output
    assert {row.month for row in rows} == {add_months(clock.today.replace(day=1), -1)}
    refused = runner.invoke(args=["summaries", "store-months", "--months", "0"])
    assert refused.exit_code == 2 and "--months" in refused.output
