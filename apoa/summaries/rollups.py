"""Reading the summaries' rollups (migration 0007) — or, for the benchmark and the tests, the same
GROUP BY over the raw tables — for a scope of offices.

Each reader takes a `source`: ROLLUP reads summary_flow / summary_open; RAW sums the facts view
summary_flow_facts (every report's contribution, computed from report and report_event) and the
report table, with the same grouping. Both return the same rows, so the benchmark can time one
beside the other and assert they agree.

A period is read from the rollups as its whole weeks (grain 'w') and its ragged ends (grain 'd'):
`spans()` cuts it. Every query is narrowed to the Scope's offices, which apoa/summaries/figures.py
takes from the jurisdiction rules of apoa/auth/permissions.py (`jurisdiction_office_ids`).
"""
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import (Column, Date, Integer, MetaData, String, Table, and_, bindparam, func,
                        literal, or_, select, text, true, tuple_, union_all)
from sqlalchemy.dialects.postgresql import ARRAY

from apoa.auth.permissions import ALL_OFFICES
from apoa.extensions import db
from apoa.reports.models import Report
from apoa.periods import local_midnight
from apoa.reports.states import State
from apoa.summaries.models import (ASSIGNEE, BUCKETS, CATEGORY, CHANNEL, CLOSE_H, DAY,
                                   DURATION_EDGES_HOURS, FLOW_MEASURES, KAB, SCREEN_H, WEEK,
                                   summary_due, summary_flow, summary_open)

ROLLUP, RAW = "rollup", "raw"
# The facts view of migration 0007, kept out of the models' metadata (Alembic must not create it).
flow_facts = Table("summary_flow_facts", MetaData(), *(Column(name) for name in (
    "report_id", "day", "dimension", "office_id", "member_id", "member_code", *FLOW_MEASURES)))


@dataclass(frozen=True)
class Scope:
    """The offices whose reports a summary counts: ALL_OFFICES, or a set of office ids."""

    office_ids: object

    @property
    def everywhere(self):
        return self.office_ids is ALL_OFFICES

    def where(self, office_column):
        if self.office_ids is ALL_OFFICES:
            return true()
        # A literal list (not a subquery) lets the planner use the indexes, as visible() does.
        return office_column.in_(sorted(self.office_ids) or [-1])


_INDEX = {name: i for i, name in enumerate(FLOW_MEASURES)}
_SCREEN = slice(_INDEX[SCREEN_H[0]], _INDEX[SCREEN_H[-1]] + 1)
_CLOSE = slice(_INDEX[CLOSE_H[0]], _INDEX[CLOSE_H[-1]] + 1)


class Measures:
    """Sums of the flow measures over some rows (FLOW_MEASURES, in order): counts and the two
    duration histograms. `measures.received`, `measures.values["closed_unfounded"]`."""

    __slots__ = ("sums",)

    def __init__(self, sums=None):
        self.sums = list(sums) if sums is not None else [0] * len(FLOW_MEASURES)

    def __getattr__(self, name):
        try:
            return self.sums[_INDEX[name]]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def of(cls, **values):
        measures = cls()
        for name, value in values.items():
            measures.sums[_INDEX[name]] = value
        return measures

    def __eq__(self, other):
        return isinstance(other, Measures) and self.sums == other.sums

    @property
    def values(self):
        return dict(zip(FLOW_MEASURES, self.sums))

    def add(self, other):
        self.sums = [a + b for a, b in zip(self.sums, other.sums)]
        return self

    @property
    def screen_histogram(self):
        return self.sums[_SCREEN]

    @property
    def close_histogram(self):
        return self.sums[_CLOSE]


def median_hours(histogram):
    """The median of durations counted in DURATION_EDGES_HOURS buckets, interpolated linearly
    within its bucket; (hours, open_ended): open_ended when it lies in the last, unbounded bucket
    (then hours is that bucket's lower edge). None without any duration."""
    total = sum(histogram)
    if total == 0:
        return None
    half = total / 2
    seen = 0
    for bucket, count in enumerate(histogram):
        if count and seen + count >= half:
            low = DURATION_EDGES_HOURS[bucket - 1] if bucket else 0
            if bucket == BUCKETS - 1:
                return low, True
            high = DURATION_EDGES_HOURS[bucket]
            return low + (high - low) * (half - seen) / count, False
        seen += count
    return None


@contextmanager
def small_aggregates():
    """For the statements run inside: aggregates over a few thousand rows that take a few
    milliseconds. Their cost estimates trip PostgreSQL's JIT threshold (compiling each for 100 ms
    or more) and its parallel plans (starting workers costs more than it saves, the more so on a
    busy machine): both off inside, back to the defaults after (the transaction goes on)."""
    db.session.execute(text("SET LOCAL jit = off"))
    db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    try:
        yield
    finally:
        db.session.execute(text("SET LOCAL jit TO DEFAULT"))
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather TO DEFAULT"))


@contextmanager
def raw_facts():
    """For the RAW source: every report's contribution computed once from report and report_event
    (the facts view) into a temporary table of the same name, which shadows the view for the
    statements inside (pg_temp comes first in the search path), rather than once per statement."""
    db.session.execute(text("CREATE TEMP TABLE summary_flow_facts ON COMMIT DROP AS "
                            "SELECT * FROM public.summary_flow_facts"))
    try:
        yield
    finally:
        db.session.execute(text("DROP TABLE IF EXISTS pg_temp.summary_flow_facts"))


def spans(period):
    """[(grain, first, end, sign)]: rows with period_start in [first, end) to add (sign 1) or take
    away (sign −1) so that every day of the period is counted once. Whole weeks are read as WEEK
    rows; a ragged end of up to 3 days as its DAY rows, one of 4 to 6 days as its whole week less
    the DAY rows of the other days, so no more than 3 days of DAY rows are read at each end."""
    first_monday = period.start + timedelta(days=-period.start.weekday() % 7)
    last_monday = period.end - timedelta(days=period.end.weekday())
    if first_monday > last_monday:                      # within one week
        return _part_of_week(period.start - timedelta(days=period.start.weekday()),
                             period.start, period.end)
    parts = []
    if period.start < first_monday:
        parts += _part_of_week(first_monday - timedelta(days=7), period.start, first_monday)
    if first_monday < last_monday:
        parts.append((WEEK, first_monday, last_monday, 1))
    if last_monday < period.end:
        parts += _part_of_week(last_monday, last_monday, period.end)
    return parts


def _part_of_week(monday, first, end):
    """The days [first, end) of the week starting `monday`, as the cheaper of: their DAY rows, or
    the WEEK row less the DAY rows of its other days."""
    sunday_after = monday + timedelta(days=7)
    if (end - first).days <= 3:
        return [(DAY, first, end, 1)]
    others = [(DAY, a, b, -1) for a, b in ((monday, first), (end, sunday_after)) if a < b]
    return [(WEEK, monday, sunday_after, 1), *others]


# --- statements, built once per shape ------------------------------------------------------------
# The summary's statements are large (45 sums, a UNION ALL branch per span) and building them costs
# more than running them, so each shape is built once (lru_cache) with bound parameters for the
# dates and the offices, and executed with the values of the day.

OFFICES = bindparam("offices", type_=ARRAY(Integer))


def _in_scope(column, everywhere):
    # An array literal (not a subquery) lets the planner use the indexes, as visible() does.
    return true() if everywhere else column == func.any(OFFICES)


def _scope_params(scope):
    return {} if scope.everywhere else {"offices": sorted(scope.office_ids) or [-1]}


def _span_condition(table, source, i):
    if source == RAW:
        return and_(table.c.day >= bindparam(f"first_{i}"), table.c.day < bindparam(f"end_{i}"))
    return and_(table.c.grain == bindparam(f"grain_{i}"),
                table.c.period_start >= bindparam(f"first_{i}"),
                table.c.period_start < bindparam(f"end_{i}"))


def _span_params(period, source):
    """(signs, parameters) of the spans that make up `period` (one span of days for RAW)."""
    spans_ = [(DAY, period.start, period.end, 1)] if source == RAW else spans(period)
    params = {}
    for i, (grain, first, end, _sign) in enumerate(spans_):
        params.update({f"grain_{i}": grain, f"first_{i}": first, f"end_{i}": end})
    return tuple(sign for *_rest, sign in spans_), params


def _table(source):
    return summary_flow if source == ROLLUP else flow_facts


def _period_rows(source, signs, everywhere, names, dimension=None):
    """The rows making up a period (those of negative spans with their measures negated), a
    subquery."""
    table = _table(source)
    parts = []
    for i, sign in enumerate(signs):
        measures = (table.c[name] if sign > 0 else (-table.c[name]).label(name) for name in names)
        query = (select(table.c.dimension, table.c.office_id, table.c.member_id,
                        table.c.member_code, *measures)
                 .where(_span_condition(table, source, i),
                        _in_scope(table.c.office_id, everywhere)))
        parts.append(query.where(table.c.dimension == dimension) if dimension else query)
    return union_all(*parts).subquery()


def _by_member_or_office(rows, *measures):
    """`rows` (a subquery with dimension, office and member columns) summed per member and, from
    the same rows, per office."""
    return (select(rows.c.dimension, rows.c.office_id, rows.c.member_id, rows.c.member_code,
                   func.grouping(rows.c.office_id).label("by_member"), *measures)
            .group_by(func.grouping_sets(tuple_(rows.c.dimension, rows.c.member_id,
                                                rows.c.member_code),
                                         tuple_(rows.c.dimension, rows.c.office_id))))


@lru_cache(maxsize=128)
def _flow_statement(source, signs, everywhere, full):
    names = FLOW_MEASURES if full else ("received",)
    rows = _period_rows(source, signs, everywhere, names)
    return _by_member_or_office(rows, *(func.sum(rows.c[name]).label(name) for name in names))


@lru_cache(maxsize=128)
def _total_statement(source, signs, everywhere):
    # Every report is counted once in each dimension: the 'channel' rows, the fewest, give the
    # total.
    rows = _period_rows(source, signs, everywhere, FLOW_MEASURES, dimension=CHANNEL)
    return select(*(func.coalesce(func.sum(rows.c[name]), 0) for name in FLOW_MEASURES))


# --- flow: received, screened, closed over periods -----------------------------------------------

def flow(scope, period, source=ROLLUP, full=True):
    """The period's flow: {"members": {(dimension, member_id, member_code): Measures}, "offices":
    {office_id: Measures}, "total": Measures}. Office sums and the total come from the 'kab' rows,
    in which every report is counted once. With full=False (the period compared against) members
    and offices carry `received` only, and the total every measure."""
    signs, params = _span_params(period, source)
    params.update(_scope_params(scope))
    statement = _flow_statement(source, signs, scope.everywhere, full)
    members, offices = {}, {}
    for dimension, office_id, member_id, member_code, by_member, *sums in db.session.execute(
            statement, params).all():
        measures = Measures(sums) if full else Measures.of(received=sums[0])
        if by_member:
            members[(dimension, member_id, member_code)] = measures
        elif dimension == KAB:
            offices[office_id] = measures
    if full:
        total = Measures()
        for measures in offices.values():
            total.add(measures)
    else:
        total = Measures(db.session.execute(_total_statement(source, signs, scope.everywhere),
                                            params).one())
    return {"members": members, "offices": offices, "total": total}


@lru_cache(maxsize=16)
def _weekly_statements(source, everywhere):
    """(totals per week, the weeks of the kabupaten that reached MIN_COUNT in the last week)."""
    table = _table(source)
    if source == ROLLUP:
        week = table.c.period_start
        where = and_(table.c.grain == WEEK, week >= bindparam("first"), week < bindparam("end"))
    else:
        week = func.date_trunc("week", table.c.day).cast(Date)
        where = and_(table.c.day >= bindparam("first"), table.c.day < bindparam("end"))
    where = and_(where, _in_scope(table.c.office_id, everywhere))
    # Totals from the 'channel' rows (the fewest; every report is in one), kabupaten from 'kab'.
    totals = (select(week.label("week"), func.sum(table.c.received), func.sum(table.c.closed))
              .where(where, table.c.dimension == CHANNEL).group_by(week))
    where = and_(where, table.c.dimension == KAB)
    per_week = (select(table.c.member_id, week.label("week"),
                       func.sum(table.c.received).label("received"))
                .where(where).group_by(table.c.member_id, week).subquery())
    candidates = (select(per_week.c.member_id, func.array_agg(per_week.c.week),
                         func.array_agg(per_week.c.received))
                  .group_by(per_week.c.member_id)
                  .having(func.coalesce(func.sum(per_week.c.received)
                                        .filter(per_week.c.week == bindparam("last")), 0)
                          >= bindparam("min_count")))
    return totals, candidates


def weekly(scope, first_week, weeks, source=ROLLUP, min_count=1, totals=True):
    """Received and closed per week (Mondays from `first_week`, `weeks` of them), and the weekly
    counts of each kabupaten that received at least `min_count` reports in the last of these weeks:
    ({week: (received, closed)}, {kab_id: {week: received}}); the first {} with totals=False (not
    read)."""
    last = first_week + timedelta(days=7 * (weeks - 1))
    params = {"first": first_week, "end": last + timedelta(days=7), "last": last,
              "min_count": min_count, **_scope_params(scope)}
    totals_statement, candidates_statement = _weekly_statements(source, scope.everywhere)
    totals = {} if not totals else {
        week: (received, closed)
        for week, received, closed in db.session.execute(totals_statement, params).all()}
    per_kab = {kab_id: {week: n for week, n in zip(weeks_, counts) if n}
               for kab_id, weeks_, counts in db.session.execute(candidates_statement, params).all()}
    return totals, per_kab


@lru_cache(maxsize=8)
def _daily_statement(source, everywhere):
    table = _table(source)
    if source == ROLLUP:
        day = table.c.period_start
        where = and_(table.c.grain == DAY, day >= bindparam("first"), day < bindparam("end"))
    else:
        day = table.c.day
        where = and_(day >= bindparam("first"), day < bindparam("end"))
    # Totals from the 'channel' rows, as the weekly totals.
    return (select(day, func.sum(table.c.received), func.sum(table.c.closed))
            .where(where, table.c.dimension == CHANNEL, _in_scope(table.c.office_id, everywhere))
            .group_by(day))


def daily(scope, first, end, source=ROLLUP):
    """Received and closed per local day from `first` to `end` (excluded): {day: (received,
    closed)}, days without either left out. For the weeks of a month (apoa/summaries/
    suppression.py), which ISO weeks would straddle."""
    params = {"first": first, "end": end, **_scope_params(scope)}
    return {day: (int(received or 0), int(closed or 0)) for day, received, closed
            in db.session.execute(_daily_statement(source, scope.everywhere), params).all()}


# --- open now ------------------------------------------------------------------------------------

@dataclass
class OpenCounts:
    """Open reports now and how many of them are overdue; by state where asked for."""

    total: int = 0
    overdue: int = 0
    by_state: dict = field(default_factory=dict)


def open_now(scope, today, now, source=ROLLUP, assignee_states=False):
    """Open reports now: {"members": {(dimension, member_id, member_code): OpenCounts}, "offices":
    {office_id: OpenCounts}, "total": OpenCounts with by_state}; the assignees' by_state too when
    `assignee_states` (for the workload).

    From the rollups, overdue = open − not yet due, the reports due after today or without a due
    time (summary_due from today on: a few days of rows) and those due later today (from report,
    on its due_at index): being overdue changes with the clock, which no trigger sees."""
    if source == RAW:
        return _open_raw(scope, now, assignee_states)
    result = {"members": defaultdict(OpenCounts), "offices": defaultdict(OpenCounts),
              "total": OpenCounts()}
    params = {"today": today, "now": now, "tomorrow": local_midnight(today + timedelta(days=1)),
              **_scope_params(scope)}
    open_statement, states_statement, not_due_statement = _open_statements(scope.everywhere)
    for (dimension, office_id, member_id, member_code, state, no_office, no_state,
         reports) in db.session.execute(open_statement, params).all():
        if not no_state:
            if dimension == KAB:
                result["total"].by_state[state] = reports
        elif no_office:
            result["members"][(dimension, member_id, member_code)].total = reports
        elif dimension == KAB:
            result["offices"][office_id].total = reports
    if assignee_states:
        for member_id, state, reports in db.session.execute(states_statement, params).all():
            result["members"][(ASSIGNEE, member_id, None)].by_state[state] = reports
    not_due = defaultdict(int)
    for row in db.session.execute(not_due_statement, params).all():
        if row.by_member or row.dimension == KAB:
            not_due[_key(row)] += int(row.reports)
    for kind in ("members", "offices"):
        for key, counts in result[kind].items():
            counts.overdue = counts.total - not_due.get((kind, key), 0)
    result["total"].total = sum(result["total"].by_state.values())
    result["total"].overdue = sum(c.overdue for c in result["offices"].values())
    return {**result, "members": dict(result["members"]), "offices": dict(result["offices"])}


@lru_cache(maxsize=4)
def _open_statements(everywhere):
    """(open by member, office and state; the assignees' states; what is not due yet)."""
    t = summary_open
    in_scope = _in_scope(t.c.office_id, everywhere)
    open_statement = (select(t.c.dimension, t.c.office_id, t.c.member_id, t.c.member_code,
                             t.c.state, func.grouping(t.c.office_id), func.grouping(t.c.state),
                             func.sum(t.c.reports))
                      .where(in_scope)
                      .group_by(func.grouping_sets(tuple_(t.c.dimension, t.c.member_id,
                                                          t.c.member_code),
                                                   tuple_(t.c.dimension, t.c.office_id),
                                                   tuple_(t.c.dimension, t.c.state))))
    states_statement = (select(t.c.member_id, t.c.state, func.sum(t.c.reports))
                        .where(t.c.dimension == ASSIGNEE, in_scope)
                        .group_by(t.c.member_id, t.c.state))
    return open_statement, states_statement, _not_yet_due_statement(everywhere)


def _key(row):
    if row.by_member:
        return "members", (row.dimension, row.member_id, row.member_code)
    return "offices", row.office_id


def _not_yet_due_statement(everywhere):
    t = summary_due
    later_days = (select(t.c.dimension, t.c.office_id, t.c.member_id, t.c.member_code,
                         t.c.reports)
                  .where(or_(t.c.due_day > bindparam("today"), t.c.due_day.is_(None)),
                         _in_scope(t.c.office_id, everywhere)))
    # The reports due later today, read once (a CTE used by the four dimensions).
    due_later = (select(Report.office_id, Report.kab_id, Report.category_id, Report.channel,
                        Report.assignee_id)
                 .where(Report.due_at >= bindparam("now"), Report.due_at < bindparam("tomorrow"),
                        Report.state != State.closed.value, _in_scope(Report.office_id, everywhere))
                 .cte("due_later"))

    def later_today(dimension, member_id, member_code):
        return select(dimension.label("dimension"), due_later.c.office_id,
                      member_id.label("member_id"), member_code.label("member_code"),
                      literal(1).label("reports"))
    later = [later_today(literal(KAB), due_later.c.kab_id, literal(None, String)),
             later_today(literal(CATEGORY), due_later.c.category_id, literal(None, String)),
             later_today(literal(CHANNEL), literal(None, Integer), due_later.c.channel),
             later_today(literal(ASSIGNEE), due_later.c.assignee_id, literal(None, String)).where(
                 due_later.c.assignee_id.is_not(None))]
    rows = union_all(later_days, *later).subquery()
    return _by_member_or_office(rows, func.sum(rows.c.reports).label("reports"))


def _dimension_selects(query_for):
    """One query of `report` per dimension (kab, category, channel, assignee)."""
    return [query_for(literal(KAB), Report.kab_id, literal(None, String)),
            query_for(literal(CATEGORY), Report.category_id, literal(None, String)),
            query_for(literal(CHANNEL), literal(None, Integer), Report.channel),
            query_for(literal(ASSIGNEE), Report.assignee_id, literal(None, String)).where(
                Report.assignee_id.is_not(None))]


def _open_raw(scope, now, assignee_states):
    """The same as open_now() from the report table: a GROUP BY over every open report."""
    def query_for(dimension, member_id, member_code):
        return select(dimension.label("dimension"), Report.office_id, member_id.label("member_id"),
                      member_code.label("member_code"), Report.state,
                      (Report.due_at < now).cast(Integer).label("late")).where(
            Report.state != State.closed.value, scope.where(Report.office_id))
    rows = union_all(*_dimension_selects(query_for)).subquery()
    query = _by_member_or_office(
        rows, rows.c.state, func.count().label("reports"),
        func.coalesce(func.sum(rows.c.late), 0).label("overdue")).group_by(rows.c.state)
    result = {"members": defaultdict(OpenCounts), "offices": defaultdict(OpenCounts),
              "total": OpenCounts()}
    for row in db.session.execute(query).all():
        kind, key = _key(row)
        if kind == "offices" and row.dimension != KAB:
            continue
        counts = result[kind][key]
        counts.total += row.reports
        counts.overdue += row.overdue
        if kind == "members" and row.dimension == KAB:
            result["total"].by_state[row.state] = (result["total"].by_state.get(row.state, 0)
                                                   + row.reports)
            result["total"].overdue += row.overdue
        if assignee_states and kind == "members" and row.dimension == ASSIGNEE:
            counts.by_state[row.state] = row.reports
    result["total"].total = sum(result["total"].by_state.values())
    return {**result, "members": dict(result["members"]), "offices": dict(result["offices"])}
