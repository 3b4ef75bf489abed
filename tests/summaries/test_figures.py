"""Every figure of the summary against the hand-computed scenario (tests/summaries/scenario.py),
for a supervisor of the Kanwil (exact counts), a regional head (counts below 3 suppressed) and a
Kantor's supervisor (its office only); the same from the raw tables; and the anomaly rule."""
from collections import Counter
from datetime import timedelta

import pytest

from apoa.errors import NotFound
from apoa.reports.states import Outcome, State
from apoa.summaries import anomalies
from apoa.summaries.figures import Count, Duration, summary
from apoa.periods import Period
from apoa.summaries.rollups import RAW, median_hours, spans

from tests.summaries.scenario import BEKASI, Scenario, at, category_id


# The scenario stands around the clock's week: each test using it runs at every instant of
# tests/clock.py (a week that ends a year, one with 29 February, ...).
pytestmark = pytest.mark.date_sensitive


@pytest.fixture
def world(make, clock):
    return Scenario(make, clock.today)


def counts(rows):
    """{label: (received, previous, closed, open now, overdue now)} with counts as shown."""
    return {r.label: (str(r.received), str(r.received_previous), str(r.closed), str(r.open_now), str(r.overdue_now))
            for r in rows}


def test_headline_figures_for_the_kanwil(world):
    s = summary(world.users["kanwil_supervisor"], world.period)
    assert not s.suppressed
    assert (s.received.value, s.received_previous.value) == (4, 2)
    assert (s.received_change.percent, s.received_change.direction) == (100, "up")
    assert (s.screened.value, s.closed.value, s.closed_previous.value) == (3, 3, 0)
    assert dict((o, c.value) for o, c in s.closed_by_outcome) == {
        Outcome.violation_found: 1, Outcome.compliant: 0, Outcome.not_found: 1, Outcome.unfounded: 1,
        Outcome.duplicate: 0, Outcome.out_of_scope: 0}
    assert (s.awaiting_screening.value, s.in_progress.value, s.overdue.value) == (2, 1, 1)
    assert dict((st, c.value) for st, c in s.open_by_state) == {
        State.new: 2, State.screening: 0, State.assigned: 1, State.in_field: 0, State.pending_approval: 0}
    assert s.median_to_screening == Duration(3.0)
    assert s.median_to_closure == Duration(96.0)
    assert (s.screened_within_due.part, s.screened_within_due.whole, s.screened_within_due.percent) == (2, 3, 67)
    assert (s.within_due.part, s.within_due.whole) == (2, 3)
    assert s.within_due_previous is None            # nothing closed in the previous period
    assert s.median_to_screening_previous == Duration(2 + 2 * 0.5)   # r4 alone: 2 h, bucket [2,4)


def test_breakdowns_for_the_kanwil(world):
    s = summary(world.users["kanwil_supervisor"], world.period)
    assert counts(s.by_kabupaten) == {"Kabupaten Karawang": ("3", "2", "3", "2", "1"),
                                      "Kabupaten Bekasi": ("1", "0", "0", "1", "0")}
    assert counts(s.by_office) == {world.office_a.name: ("3", "2", "3", "2", "1"),
                                   world.office_b.name: ("1", "0", "0", "1", "0")}
    by_category = {r.key: (r.received.value, r.received_previous.value, r.closed.value) for r in s.by_category}
    assert by_category == {category_id("illegal_work"): (2, 0, 1), category_id("overstay"): (1, 2, 2),
                           category_id("other"): (1, 0, 0)}
    by_channel = {r.key: (r.received.value, r.received_previous.value, r.closed.value) for r in s.by_channel}
    assert by_channel == {"web": (3, 1, 2), "whatsapp": (1, 0, 1), "android": (0, 1, 0)}
    karawang = s.by_kabupaten[0]
    assert (karawang.within_due.part, karawang.within_due.whole) == (2, 3)
    assert karawang.median_to_closure == Duration(96.0)
    assert karawang.change.percent == 50


def test_weekly_trend_and_workload(world):
    s = summary(world.users["kanwil_supervisor"], world.period)
    weeks = {p.start: (p.received.value, p.closed.value) for p in s.weekly}
    assert len(s.weekly) == 12 and s.weekly[-1].start == world.day(-7)
    assert weeks[world.day(-7)] == (0, 0)
    assert weeks[world.day(-14)] == (4, 3)
    assert weeks[world.day(-21)] == (1, 0)
    assert weeks[world.day(-28)] == (1, 0)
    assert sum(r for r, _c in weeks.values()) == 6
    assert [(w.name, w.open, w.overdue) for w in s.workload] == [("Budi Petugas", 1, 1)]
    assert s.anomalies == []


def test_a_kantor_supervisor_sees_only_the_office(world):
    s = summary(world.users["supervisor_a"], world.period)
    assert (s.received.value, s.closed.value, s.awaiting_screening.value) == (3, 3, 1)
    assert [r.label for r in s.by_kabupaten] == ["Kabupaten Karawang"]
    assert [r.label for r in s.by_office] == [world.office_a.name]


def test_a_regional_head_sees_counts_below_three_suppressed_and_no_names(world):
    s = summary(world.users["regional_head"], world.period)
    assert s.suppressed
    # Karawang's 3 beside Bekasi's "< 3" would give the 1 back from the total 4: the total is withheld.
    assert (str(s.received), str(s.received_previous), str(s.screened)) == ("–", "< 3", "3")
    # Three outcomes of 1 each ("< 3" + "< 3" + "< 3" = 3 makes each 1): the closed count is withheld too,
    # and what is counted over it.
    assert str(s.closed) == "–" and s.within_due is None and s.median_to_closure is None
    assert s.received_change is None and s.closed_change is None
    assert (str(s.awaiting_screening), str(s.in_progress), str(s.overdue)) == ("< 3", "< 3", "< 3")
    assert str(s.open_now) == "–"                         # the three categories' 1 + 1 + 1
    assert s.median_to_screening == Duration(3.0)         # three durations: enough
    assert s.screened_within_due.whole == 3
    assert counts(s.by_kabupaten) == {"Kabupaten Karawang": ("3", "< 3", "–", "< 3", "< 3"),
                                      "Kabupaten Bekasi": ("< 3", "0", "0", "< 3", "0")}
    assert s.by_kabupaten[1].median_to_closure is None
    assert all(c.suppressed for _o, c in s.closed_by_outcome if 0 < c.value < 3)
    assert s.workload is None
    # the trend is the period's own weeks (which no month or other period straddles)
    assert [(p.start, str(p.received)) for p in s.weekly] == [(world.day(-14), "–"), (world.day(-7), "0")]


def test_the_ditjen_sees_every_office_and_another_kanwil_none_of_these(world):
    ditjen = summary(world.users["ditjen_head"], world.period)
    assert ditjen.received.value >= 5          # r7 of KANIM-X too (and any other report of the run)
    foreign = summary(world.users["foreign_head"], world.period)
    assert {r.label for r in foreign.by_kabupaten} == {"Kabupaten Ketapang"}
    assert str(foreign.received) == "< 3"


@pytest.mark.parametrize("role", ["officer", "admin", "resident"])
def test_no_summary_without_view_aggregates(world, role):
    with pytest.raises(NotFound):
        summary(world.users[role], world.period)


def test_an_office_outside_the_jurisdiction_is_not_found(world):
    with pytest.raises(NotFound):
        summary(world.users["kanwil_supervisor"], world.period, office_id=world.office_x.id)
    only_b = summary(world.users["kanwil_supervisor"], world.period, office_id=world.office_b.id)
    assert only_b.received.value == 1


def test_the_raw_group_by_gives_the_same_summary(world):
    for user in ("kanwil_supervisor", "regional_head"):
        from_rollups = summary(world.users[user], world.period)
        from_raw = summary(world.users[user], world.period, source=RAW, now=from_rollups.generated_at)
        for name in ("received", "closed", "screened", "overdue", "in_progress", "median_to_closure",
                     "within_due", "by_kabupaten", "by_office", "by_category", "by_channel", "weekly",
                     "closed_by_outcome", "workload"):
            assert getattr(from_raw, name) == getattr(from_rollups, name), name


def test_a_reopened_report_leaves_the_closed_count(world):
    r2 = world.reports["r2"]
    from apoa.extensions import db
    from apoa.reports.models import ReportEvent

    db.session.add(ReportEvent(report_id=r2.id, action="reopen", from_state="closed", to_state="screening",
                               created_at=at(world.day(-9), 9)))
    r2.state, r2.outcome = "screening", None
    db.session.flush()
    s = summary(world.users["kanwil_supervisor"], world.period)
    assert s.closed.value == 2
    assert dict((o, c.value) for o, c in s.closed_by_outcome)[Outcome.unfounded] == 0
    assert s.screened.value == 3                          # its first screening still counts


# --- the pieces ---------------------------------------------------------------------------------------

def test_median_interpolates_within_the_bucket():
    assert median_hours([0] * 14) is None
    assert median_hours([0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]) == (3.0, False)
    assert median_hours([4] + [0] * 13) == (0.5, False)
    assert median_hours([0] * 13 + [1]) == (1440, True)


def test_a_period_is_read_as_whole_weeks_and_at_most_three_days_at_each_end():
    from datetime import date

    monday = date(2026, 11, 9)
    d = lambda n: monday + timedelta(days=n)  # noqa: E731
    # Wed 4 Nov .. Tue 24 Nov: the week of 2 Nov less Mon and Tue, the two weeks from 9 Nov, Mon–Tue 23–24.
    assert spans(Period(d(-5), d(16))) == [("w", d(-7), d(0), 1), ("d", d(-7), d(-5), -1), ("w", d(0), d(14), 1),
                                           ("d", d(14), d(16), 1)]
    assert spans(Period(d(0), d(7))) == [("w", d(0), d(7), 1)]
    assert spans(Period(d(1), d(3))) == [("d", d(1), d(3), 1)]
    assert spans(Period(d(1), d(6))) == [("w", d(0), d(7), 1), ("d", d(0), d(1), -1), ("d", d(6), d(7), -1)]


@pytest.mark.parametrize("start_offset", range(7))
@pytest.mark.parametrize("days", [1, 2, 3, 4, 5, 6, 7, 8, 13, 30, 31, 90])
def test_the_spans_count_every_day_of_the_period_once(start_offset, days):
    from datetime import date

    start = date(2026, 11, 9) + timedelta(days=start_offset)
    period = Period(start, start + timedelta(days=days))
    counted = Counter()
    for grain, first, end, sign in spans(period):
        width = 7 if grain == "w" else 1
        day = first
        while day < end:
            for k in range(width):
                counted[day + timedelta(days=k)] += sign
            day += timedelta(days=width)
    assert {day: n for day, n in counted.items() if n} == {start + timedelta(days=k): 1 for k in range(days)}
    assert sum((end - first).days for grain, first, end, _s in spans(period) if grain == "d") <= 6


def test_count_renders_suppressed_as_less_than_three():
    assert str(Count.of(2, True)) == "< 3" and Count.of(2, True).shown is None
    assert str(Count.of(0, True)) == "0" and str(Count.of(3, True)) == "3" and str(Count.of(2, False)) == "2"


# --- anomalies ------------------------------------------------------------------------------------------

USUAL = [2, 3, 2, 4, 3, 2, 3, 2, 4, 3, 2, 3]        # median 3, MAD 1, middle half 2–3


def weeks_of(counts_, this_week):
    monday = this_week
    return {monday - timedelta(days=7 * (len(counts_) - k)): c for k, c in enumerate(counts_)}


@pytest.mark.parametrize("count, usual, flagged", [
    (12, USUAL, True),          # z = 0.6745 × 9 / 1 = 6.1
    (6, USUAL, False),          # z = 2.0
    (6, [0] * 12, True),        # MAD 0 → 1: z = 4.0
    (5, [0] * 12, False),       # z = 3.4
    (4, [0] * 12, False),       # below the minimum count
])
def test_the_robust_z_score_flags_far_rises_only(count, usual, flagged):
    from datetime import date

    week = date(2026, 11, 16)
    per_kab = {7: {**weeks_of(usual, week), week: count}}
    found = anomalies.find_anomalies(per_kab, week)
    assert bool(found) == flagged
    if flagged and usual == USUAL:
        a = found[0]
        assert (a.count, a.usual_low, a.usual_high, a.median, a.mad) == (12, 2, 3, 3, 1)
        assert found[0].score == 6.1


def test_a_spike_in_a_kabupaten_is_flagged_on_the_summary_with_its_reason(world, make, english):
    last_week = world.day(-7)
    # Bekasi: 3 and 2 reports in alternate weeks for 12 weeks (r6 of the scenario makes the last one 4):
    # median 2.5, MAD 0.5 (counted as 1), middle half 2–3; then 9 in the last week: z = 4.4.
    for k in range(1, 13):
        for n in range(3 if k % 2 else 2):
            make.report(point=BEKASI, created_at=at(last_week - timedelta(days=7 * k - n), 10))
    for n in range(9):
        make.report(point=BEKASI, created_at=at(last_week + timedelta(days=n % 7), 11))
    s = summary(world.users["kanwil_supervisor"], Period(world.day(-28), world.monday))
    assert [a.label for a in s.anomalies] == ["Kabupaten Bekasi"]
    flagged = s.anomalies[0].anomaly
    assert (flagged.count, flagged.median, flagged.mad, flagged.score) == (9, 2.5, 1.0, 4.4)
    assert (flagged.usual_low, flagged.usual_high, flagged.week_start) == (2, 3, last_week)
    reason = s.anomalies[0].reason()
    assert reason.startswith("9 reports in the week of ") and reason.endswith("; usually 2–3 a week")
