"""The regional heads' figures on foreign guests (issue 14, item 8): check-ins and guest nights
per kabupaten/kota and nationality over a period, the trend within it against the previous
period, and the top nationalities, for the dashboard and the monthly report.

Scope: the kabupaten/kota of the offices a summary covers (`apoa/summaries/figures.scope_for`: a
Kantor its own, a Kanwil those of its Kantor, the Ditjen the whole country, optionally narrowed
to one office). Periods are those of apoa/periods.py.

What is counted (the same rules in apoa/guests/retention.py, which keeps deleted stays as
GuestTally rows, so a past month's figures do not change when its stays are deleted):
- a check-in on the local (Jakarta) day the guest checked in; cancelled entries count nothing;
- a guest night for every night from the check-in day up to the check-out day (a guest who
  leaves on the day of arrival spent no night). A guest without a check-out is counted up to the
  planned check-out, or one night without one, and never past tonight (`night_end`).

Privacy (DESIGN.md): who may not view guests (a regional head), and every monthly report, sees a
count of 1 or 2 as "< 3" (`Count`, as in apoa/summaries); 0 stays 0. Counts add up (a table row
to its kabupaten's check-ins, a column to its nationality's, the kabupaten, the nationalities and
the weeks to the totals), so a line with a single "< 3" would give it back by subtraction: that
line then withholds another count too ("–": a cell first, the totals last), until no hidden count
of a line can be worked out from it, also knowing that a "–" is at least 3 (complementary
suppression, apoa/summaries/suppression.py `Grid`). Nationalities past the top ten are not shown,
which hides their counts as well. The previous period's counts are hidden as that period's own
figures hide them (`_page` of each), and the table is protected with TABLE_COLUMNS nationalities
whatever number of them a page shows (the monthly report merges the others into "other
nationalities"), so the dashboard and the monthly report of a month hide the same counts.

Speed: one statement reads the stays and tallies that may count in either period once and groups
them by GROUPING SETS: per kabupaten × nationality with both periods' check-ins and nights, and
per day (check-ins; the days nights start and stop, whose running sum gives the nights per day,
summed here into weeks or months). One more query names the kabupaten. Every stay of both
periods is read and grouped: at 1,000,000 stays (bench/guests.py) about 0.2 s (a Kantor) to 0.5 s
(the Ditjen) for 30 days and 0.4 to 2 s for a year. Reaching them through indexes instead
(ix_stay_checked_out and the present stays' partial indexes) was tried and bought nothing
measurable: the grouping, not the reading, takes the time. Flat times need a rollup of
checked-out stays per day, kabupaten and nationality (bench/RESULTS.md, issue 14, proposes one).
"""
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (Date, Integer, and_, case, cast, func, literal, or_, select, true,
                        tuple_, union_all)

from apoa.auth.permissions import ALL_OFFICES, Permission, can
from apoa.extensions import db
from apoa.guests.countries import country_name
from apoa.guests.models import GuestTally, Stay, StayState
from apoa.periods import add_months, local_midnight, local_today
from apoa.regions.models import Region, office_region
from apoa.summaries.figures import Count, change_of, scope_for
from apoa.summaries.suppression import K, Grid

TOP_NATIONALITIES = 10      # the list of nationalities
TABLE_COLUMNS = 5           # nationalities with a column of their own in the kabupaten table
WEEKLY_UP_TO_DAYS = 93      # a longer period's trend goes by month
CURRENT, PREVIOUS = "current", "previous"
WEEK, MONTH = "week", "month"
OTHER = "other"             # the kabupaten table's column of the other nationalities
STEP_TITLES = {WEEK: _l("Week"), MONTH: _l("Month")}


# --- what the pages show -------------------------------------------------------------------------

@dataclass(frozen=True)
class NationalityRow:
    code: str
    name: str
    check_ins: Count | None         # None: withheld ("–"), see the module docstring
    change: object                  # summaries.figures.Change, or None
    guest_nights: Count | None


@dataclass(frozen=True)
class KabupatenRow:
    kab_id: int
    label: str
    check_ins: Count | None
    change: object
    guest_nights: Count | None
    cells: list                     # Count | None per column of GuestFigures.columns
    other: Count | None             # the other nationalities


@dataclass(frozen=True)
class TrendPoint:
    first: object                   # the first and last day of the week or month (of the period)
    last: object
    check_ins: Count | None
    check_ins_previous: Count | None
    change: object
    guest_nights: Count | None


@dataclass
class GuestFigures:
    period: object
    previous_period: object
    suppressed: bool
    check_ins: Count
    check_ins_previous: Count
    check_ins_change: object
    guest_nights: Count
    guest_nights_previous: Count
    guest_nights_change: object
    step: str                                       # WEEK or MONTH: the trend's buckets
    columns: list = field(default_factory=list)     # [(code, name)] of the table's nationalities
    by_kabupaten: list = field(default_factory=list)
    top_nationalities: list = field(default_factory=list)
    trend: list = field(default_factory=list)

    @property
    def step_title(self):
        return STEP_TITLES[self.step]


# --- counting rules shared with retention -------------------------------------------------------

def local_day(moment_column):
    """The local (interface time zone) date of a timestamptz column, in SQL."""
    return cast(func.timezone(current_app.config["BABEL_DEFAULT_TIMEZONE"], moment_column), Date)


def night_end(today):
    """SQL: the day after a stay's last night (its nights are the days from the check-in day up
    to, not including, this one). `today` is the local date (a guest present tonight spends it)."""
    checked_in = local_day(Stay.checked_in_at)
    tonight_over = today + timedelta(days=1)
    planned = func.coalesce(Stay.planned_check_out, checked_in + 1)
    return case(
        (Stay.state == StayState.checked_out.value, local_day(Stay.checked_out_at)),
        else_=func.greatest(checked_in, func.least(planned, tonight_over)))


# --- the figures ---------------------------------------------------------------------------------

def guest_figures(user, period, office_id=None, suppress=None, today=None,
                  table_columns=TABLE_COLUMNS):
    """The GuestFigures of `period` for `user`, over the user's jurisdiction or `office_id` within
    it. NotFound when the user may not see aggregates (or that office). Counts are suppressed for
    who may not view guests, or when `suppress` says so (the monthly report). The kabupaten table
    gives `table_columns` nationalities a column of their own."""
    scope = scope_for(user, office_id)
    if suppress is None:
        suppress = not can(user, Permission.view_guests)
    today = today or local_today()
    previous = period.previous()
    low, high = min(period.start, previous.start), max(period.end, previous.end)
    rows = db.session.execute(_facts_query(scope, period, previous, low, high, today)).all()
    step = WEEK if period.days <= WEEKLY_UP_TO_DAYS else MONTH
    return _assemble(period, previous, step, Tables(rows, low, high), suppress, table_columns)


@dataclass(frozen=True)
class Bucket:
    index: int
    start: object
    end: object         # excluded


def _steps(period, step):
    """The trend's weeks (or months) of `period`, counted from its start: the n-th week of the
    period is compared with the n-th week of the previous one."""
    starts, k = [], 0
    while True:
        start = (period.start + timedelta(days=7 * k) if step == WEEK
                 else add_months(period.start, k))
        if start >= period.end:
            break
        starts.append(start)
        k += 1
    return [Bucket(i, s, min(n, period.end))
            for i, (s, n) in enumerate(zip(starts, starts[1:] + [period.end]))]


def _in_scope(kab_column, scope):
    if scope.office_ids is ALL_OFFICES:
        return true()
    kabupaten = select(office_region.c.region_id).where(
        office_region.c.office_id.in_(sorted(scope.office_ids) or [-1]))
    return kab_column.in_(kabupaten.scalar_subquery())


def _facts_query(scope, period, previous, low, high, today):
    """One pass over the stays and tallies that may count between `low` and `high`, grouped by
    (kab_id, nationality) with both periods' check-ins and nights, and by day: check-ins per day,
    and the days nights start and stop being counted (their running sum is the nights per day)."""
    facts = union_all(_kept_stays(scope, today, low, high), _tallies(scope, low, high)) \
        .subquery("facts")
    ci, ne, w_in, w_night = facts.c.ci, facts.c.ne, facts.c.w_in, facts.c.w_night
    night_from = func.greatest(ci, low).label("night_from")
    night_to = func.least(ne, high).label("night_to")

    def check_ins(start, end):
        return func.sum(w_in * cast(and_(ci >= start, ci < end), Integer))

    def nights(p):
        return func.sum(w_night * func.greatest(0, func.least(ne, p.end)
                                                - func.greatest(ci, p.start)))

    return select(
        facts.c.kab_id, facts.c.nationality, ci, night_from, night_to,
        check_ins(period.start, period.end), nights(period),
        check_ins(previous.start, previous.end), nights(previous),
        check_ins(low, high), func.sum(w_night * cast(night_to > night_from, Integer)),
    ).group_by(func.grouping_sets(tuple_(facts.c.kab_id, facts.c.nationality), tuple_(ci),
                                  tuple_(night_from), tuple_(night_to)))


def _kept_stays(scope, today, low, high):
    """The stays of `scope`, not cancelled, that may count between `low` and `high` (dates): their
    check-in day (ci) and night end (ne), each weighing one check-in and one guest."""
    low_at = local_midnight(low)
    return select(
        Stay.kab_id, Stay.nationality, local_day(Stay.checked_in_at).label("ci"),
        night_end(today).label("ne"), literal(1).label("w_in"), literal(1).label("w_night"),
    ).where(
        Stay.state != StayState.cancelled.value, _in_scope(Stay.kab_id, scope),
        Stay.checked_in_at < local_midnight(high),
        # Left before `low`, or (without a check-out) planned to: only check-ins from the day
        # before `low` on can still count (one night without a plan).
        or_(Stay.checked_out_at >= low_at,
            and_(Stay.checked_out_at.is_(None),
                 or_(Stay.planned_check_out >= low,
                     Stay.checked_in_at >= low_at - timedelta(days=1)))),
    )


def _tallies(scope, low, high):
    """The counts kept for deleted stays, one row per day: its check-ins, and its guest nights as
    guests staying from that day to the next."""
    tally = GuestTally.__table__.c
    return select(tally.kab_id, tally.nationality, tally.day.label("ci"),
                  (tally.day + 1).label("ne"), tally.check_ins.label("w_in"),
                  tally.guest_nights.label("w_night"),
                  ).where(tally.day >= low, tally.day < high, _in_scope(tally.kab_id, scope))


# --- from rows to what the pages show -----------------------------------------------------------

class Tables:
    """The query's rows, summed the ways the pages need."""

    def __init__(self, rows, low, high):
        self.cells = {CURRENT: {}, PREVIOUS: {}}    # (kab, nationality) → (check-ins, nights)
        arrivals, starts, ends = Counter(), Counter(), Counter()
        for kab, nationality, ci, night_from, night_to, *sums in rows:
            now_in, now_nights, before_in, before_nights, day_in, day_nights = map(int, sums)
            if kab is not None:
                for which, pair in ((CURRENT, (now_in, now_nights)),
                                    (PREVIOUS, (before_in, before_nights))):
                    if any(pair):
                        self.cells[which][(kab, nationality)] = pair
            elif ci is not None:
                arrivals[ci] += day_in
            elif night_from is not None:
                starts[night_from] += day_nights
            elif night_to is not None:
                ends[night_to] += day_nights
        self.daily, staying = {}, 0                 # day → (check-ins, nights)
        for day in (low + timedelta(days=k) for k in range((high - low).days)):
            staying += starts[day] - ends[day]
            self.daily[day] = (arrivals[day], staying)

    def over(self, bucket):
        """(check-ins, nights) of the days of `bucket`."""
        days = [self.daily[bucket.start + timedelta(days=k)]
                for k in range((bucket.end - bucket.start).days)]
        return sum(d[0] for d in days), sum(d[1] for d in days)

    def summed(self, which, by):
        """{kab or nationality: (check-ins, nights)}; `by` is 0 (kab) or 1 (nationality)."""
        result = {}
        for key, (check_ins, nights) in self.cells[which].items():
            before = result.get(key[by], (0, 0))
            result[key[by]] = (before[0] + check_ins, before[1] + nights)
        return result

    def total(self, which):
        pairs = self.cells[which].values()
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


@dataclass
class Page:
    """One period's own figures as its page would show them: what is hidden is in `grid`."""

    grid: Grid
    kabs: list              # ranked, busiest first
    nationalities: list     # ranked
    columns: list           # the TABLE_COLUMNS nationalities with a column of their own
    buckets: list

    def shown(self, key):
        """Count (maybe "< 3"), or None when withheld ("–")."""
        if key in self.grid.withheld():
            return None
        return Count.of(self.grid.values.get(key, 0), self.grid.suppress)

    def total(self, key):
        """A total as a Count (withheld: "–")."""
        return Count(self.grid.values.get(key, 0), self.grid.suppress and self.grid.is_small(key),
                     key in self.grid.withheld())

    def hidden(self, key):
        return self.grid.is_hidden(key)


def _assemble(period, previous, step, tables, suppress, table_columns):
    names = _kab_names(set(tables.summed(CURRENT, 0)) | set(tables.summed(PREVIOUS, 0)))
    now = _page(tables, CURRENT, period, step, suppress, names)
    before = _page(tables, PREVIOUS, previous, step, suppress, names)

    def change(key):
        """None when the count or the one before is hidden on its own page."""
        if now.hidden(key) or before.hidden(key):
            return None
        return change_of(now.grid.values.get(key, 0), before.grid.values.get(key, 0), suppress)

    shown_columns = now.columns[:table_columns]
    return GuestFigures(
        period=period, previous_period=previous, suppressed=suppress,
        check_ins=now.total(TOTAL), check_ins_previous=before.total(TOTAL),
        check_ins_change=change(TOTAL),
        guest_nights=now.total(TOTAL_NIGHTS), guest_nights_previous=before.total(TOTAL_NIGHTS),
        guest_nights_change=change(TOTAL_NIGHTS),
        step=step, columns=[(code, country_name(code)) for code in shown_columns],
        by_kabupaten=[KabupatenRow(
            kab_id=kab, label=names.get(kab, "?"), check_ins=now.shown(("kab", kab)),
            change=change(("kab", kab)), guest_nights=now.shown(("kab_nights", kab)),
            cells=[now.shown(("cell", kab, code)) for code in shown_columns],
            other=_merged(now, [("cell", kab, code)
                                for code in (*now.columns[table_columns:], OTHER)]))
            for kab in now.kabs],
        top_nationalities=[NationalityRow(
            code=code, name=country_name(code), check_ins=now.shown(("nat", code)),
            change=change(("nat", code)), guest_nights=now.shown(("nat_nights", code)))
            for code in now.nationalities[:TOP_NATIONALITIES]],
        trend=[TrendPoint(
            first=b.start, last=b.end - timedelta(days=1), check_ins=now.shown(("in", b.index)),
            check_ins_previous=before.shown(("in", b.index)), change=change(("in", b.index)),
            guest_nights=now.shown(("nights", b.index))) for b in now.buckets])


def _merged(page, keys):
    """The sum of `keys` as one cell: shown when each of them is, else withheld (a "< 3" of the
    sum could tell more than the cells do)."""
    if len([key for key in keys if page.grid.values.get(key)]) <= 1:
        key = next((key for key in keys if page.grid.values.get(key)), keys[-1])
        return page.shown(key)
    if any(page.hidden(key) for key in keys):
        return None
    return Count.of(sum(page.grid.values.get(key, 0) for key in keys), page.grid.suppress)


def _page(tables, which, period, step, suppress, names):
    """The Page of `period` (`which` of the two the tables hold)."""
    by_kab, by_nationality = tables.summed(which, 0), tables.summed(which, 1)
    nationalities = _ranked(by_nationality, suppress, country_name)
    columns = [code for code in nationalities if by_nationality[code][0]][:TABLE_COLUMNS]
    kabs = _ranked(by_kab, suppress, lambda k: names.get(k, "?"))
    buckets = _steps(period, step)
    grid = Grid(suppress, give_way=_give_way)
    check_ins, nights = tables.total(which)
    grid.set(TOTAL, check_ins)
    grid.set(TOTAL_NIGHTS, nights)
    _fill_table(grid, tables.cells[which], by_kab, kabs, columns)
    _fill_nationalities(grid, by_nationality, nationalities, columns, kabs)
    _fill_trend(grid, tables, buckets)
    return Page(grid, kabs, nationalities, columns, buckets)


TOTAL, TOTAL_NIGHTS = ("total",), ("total_nights",)


def _fill_table(grid, cells, by_kab, kabs, columns):
    """The kabupaten × nationality table: each row adds up to its kabupaten's check-ins, each
    column to its nationality's, and the kabupaten's check-ins and nights to the totals."""
    for kab in kabs:
        row = {c: cells.get((kab, c), (0, 0))[0] for c in columns}
        row[OTHER] = by_kab[kab][0] - sum(row.values())
        for code, value in row.items():
            grid.set(("cell", kab, code), value)
        grid.set(("kab", kab), by_kab[kab][0])
        grid.set(("kab_nights", kab), by_kab[kab][1])
        grid.add_sum([("cell", kab, c) for c in (*columns, OTHER)], ("kab", kab))
    for code in columns:
        grid.add_sum([("cell", kab, code) for kab in kabs], ("nat", code))
    grid.add_sum([("kab", kab) for kab in kabs], TOTAL)
    grid.add_sum([("kab_nights", kab) for kab in kabs], TOTAL_NIGHTS)


def _fill_nationalities(grid, by_nationality, ranked, columns, kabs):
    """Every nationality (those past TOP_NATIONALITIES are not shown: unknown to the reader) adds
    up to the totals; the table's "other" column to the nationalities without a column."""
    for code in ranked:
        grid.set(("nat", code), by_nationality[code][0])
        grid.set(("nat_nights", code), by_nationality[code][1])
    grid.set_unknown(key for code in ranked[TOP_NATIONALITIES:]
                     for key in (("nat", code), ("nat_nights", code)))
    grid.add_sum([("nat", code) for code in ranked], TOTAL)
    grid.add_sum([("nat_nights", code) for code in ranked], TOTAL_NIGHTS)
    grid.add_equation([("cell", kab, OTHER) for kab in kabs],
                      [("nat", code) for code in ranked if code not in columns])


def _fill_trend(grid, tables, buckets):
    for b in buckets:
        check_ins, nights = tables.over(b)
        grid.set(("in", b.index), check_ins)
        grid.set(("nights", b.index), nights)
    for kind, total in (("in", TOTAL), ("nights", TOTAL_NIGHTS)):
        grid.add_sum([(kind, b.index) for b in buckets], total)


def _ranked(sums, suppress, name_of):
    """Keys by check-ins, then nights, busiest first; counts that show as "< 3" rank alike (by
    name), so the order never tells a 1 from a 2."""
    def shown(value):
        return 1 if suppress and 0 < value < K else value
    return sorted(sums, key=lambda k: (-shown(sums[k][0]), -shown(sums[k][1]), name_of(k)))


def _kab_names(sums):
    ids = sorted(sums)
    return dict(db.session.execute(select(Region.id, Region.nama).where(Region.id.in_(ids))).all())


def _give_way(key):
    """Which count gives way first when a line needs one more hidden: a table cell, then a
    kabupaten's or nationality's count, the totals last."""
    return {"cell": 0, "total": 2, "total_nights": 2}.get(key[0], 1)
