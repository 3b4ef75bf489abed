"""Every figure of the regional heads' dashboard, for a user, a period and optionally one office.

`summary(user, period, office_id=None)` answers with a Summary built from the rollups (five small
queries whatever the number of reports): totals, closures by outcome, medians, the share handled
within the due time, breakdowns by kabupaten/kota, office, category and channel, the weekly trend,
the change against the previous period, anomalies, hotspots and (for heads of an office) the
officers' workload. The monthly report and the exports reuse it.

Privacy (DESIGN.md): who may not view reports (a regional head) sees aggregates only — every count
from 1 to K−1 is a `Count` that renders "< 3", and figures derived from so few reports (a median,
a share, a change in %) are withheld. Zero stays zero: it names no one. Beside each "< 3", other
counts are withheld ("–") so that none can be worked out by subtraction from a total, from the
other states or from the month before (complementary suppression, apoa/summaries/suppression.py:
`_protect`); the trend is then the period's own weeks, and the views give such a viewer whole
months only (`shared_month`), since overlapping periods subtract. Officers' names (the workload)
are shown only to users who may view reports, that is to the heads of an office (supervisors); a
regional head manages offices, not officers, and gets no per-person figures.

Speed (issue 16, item 3). A whole ended month shared outside the office no longer changes, so its
figures counted from the flow (`month_part`, with their "< 3" and "–") are kept per scope and
month (apoa/summaries/stored.py) and each view adds only what is open now (`from_month_part`):
no line of a page's Grid ties a count of now to one of the flow, so the two parts are hidden
alike apart or together. Every other period (staff) is counted afresh (`computed_figures`).
"""
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from babel.numbers import format_decimal as babel_format_decimal

from flask import has_request_context
from flask.globals import _cv_app
from flask_babel import format_decimal, get_locale, gettext as _, lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import any_, select

from apoa.auth.models import User
from apoa.auth.permissions import (ALL_OFFICES, Permission, can, jurisdiction_office_ids,
                                   office_jurisdiction_ids,
                                   office_subtree_ids)
from apoa.errors import NotFound, UserValueError
from apoa.extensions import db
from apoa.regions.models import Office, Region
from apoa.reports.models import Category
from apoa.reports.states import Channel, Outcome, State
from apoa.summaries import anomalies as anomaly_rules
from apoa.summaries import rollups
from apoa.summaries.dates import day_text
from apoa.summaries.models import ASSIGNEE, CATEGORY, CHANNEL, KAB, OUTCOME_COLUMNS
from apoa.periods import local_today
from apoa.summaries.rollups import ROLLUP, Measures, OpenCounts, Scope
from apoa.summaries.suppression import (K, WITHHELD, Grid, is_shared_month, month_weeks,
                                        shared_month)
TREND_WEEKS = 12
HOTSPOT_LIMIT = 5
IN_PROGRESS_STATES = (State.screening, State.assigned, State.in_field, State.pending_approval)
UNKNOWN_OFFICE = _l("Unknown office: choose one of the offices offered.")


# --- values that know how to show themselves ------------------------------------------------------

def number_text(value):
    """A number as the user's locale writes it: flask_babel's format_decimal, remembered (a page of
    514 kabupaten/kota rows writes the same few hundred numbers thousands of times, and asking
    flask_babel for the locale costs more than the rest)."""
    return _decimal_text(_current_locale(), value)


def _current_locale():
    # The locale flask_babel already chose for this request (kept on `g`), else its get_locale().
    context = _cv_app.get(None)
    chosen = getattr(getattr(context.g, "_flask_babel", None), "babel_locale", None) \
        if context is not None else None
    return chosen if chosen is not None else get_locale()


@lru_cache(maxsize=4096)
def _decimal_text(locale, value):
    return babel_format_decimal(value, locale=locale)


@dataclass(frozen=True, slots=True)
class Count:
    """A count as shown: `suppressed` when it is 1..K−1 and the viewer sees aggregates only
    ("< 3"), `withheld` when it is larger but hidden beside one ("–")."""

    value: int
    suppressed: bool = False
    withheld: bool = False

    @classmethod
    def of(cls, value, suppress):
        value = int(value or 0)
        return cls(value, suppress and 0 < value < K)

    @property
    def hidden(self):
        return self.suppressed or self.withheld

    @property
    def shown(self):
        """The number, or None when it must not be shown."""
        return None if self.hidden else self.value

    @property
    def plural_n(self):
        """The number that picks the plural form of a text showing this count ("< 3": many)."""
        return K if self.hidden else self.value

    def __str__(self):
        if self.withheld:
            return WITHHELD
        return f"< {K}" if self.suppressed else number_text(self.value)

    def __html__(self):
        # Markup, not str: Markup.format() (the monthly map's SVG) escapes a plain str once more,
        # and its tooltips read "&lt; 3".
        return escape(str(self))


@dataclass(frozen=True, slots=True)
class Change:
    """This period against the previous one; percent is None when the previous count was 0."""

    current: int
    previous: int

    @property
    def percent(self):
        return (None if not self.previous
                else round(100 * (self.current - self.previous) / self.previous))

    @property
    def direction(self):
        return ("up" if self.current > self.previous
                else "down" if self.current < self.previous else "same")

    def __str__(self):
        arrow = {"up": "↑", "down": "↓", "same": "→"}[self.direction]
        if self.percent is None:
            # Outside the f-string: Babel's extractor does not look inside one ("↑ new" was
            # never offered for translation).
            new = _("new")
            return f"{arrow} {new}" if self.current else "→"
        return f"{arrow} {number_text(abs(self.percent))}%"

    def __html__(self):
        return escape(str(self))


def change_of(current, previous, suppress):
    """A Change, or None when either side is too small to be shown."""
    if suppress and (0 < current < K or 0 < previous < K):
        return None
    return Change(current, previous)


@dataclass(frozen=True, slots=True)
class Duration:
    """An estimated median duration in hours; `open_ended` when it is at least `hours`."""

    hours: float
    open_ended: bool = False

    def __str__(self):
        prefix = "≥ " if self.open_ended else "≈ "
        if self.hours < 48:
            return prefix + _("%(hours)s h", hours=number_text(round(self.hours, 1)))
        return prefix + _("%(days)s days", days=number_text(round(self.hours / 24, 1)))

    def __html__(self):
        return escape(str(self))


def median_of(histogram, suppress):
    total = sum(histogram)
    if total == 0 or (suppress and total < K):
        return None
    hours, open_ended = rollups.median_hours(histogram)
    return Duration(hours, open_ended)


@dataclass(frozen=True, slots=True)
class Share:
    part: int
    whole: int

    @property
    def percent(self):
        return round(100 * self.part / self.whole)

    def __str__(self):
        return f"{number_text(self.percent)}%"

    def __html__(self):
        return escape(str(self))


def share_of(part, whole, suppress):
    if whole == 0 or (suppress and whole < K):
        return None
    return Share(part, whole)


# --- the summary ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BreakdownRow:
    key: object             # kab/category/office id, channel code; None for "none"
    label: str
    received: Count
    received_previous: Count
    change: Change | None
    screened: Count
    closed: Count
    within_due: Share | None
    median_to_closure: Duration | None
    open_now: Count
    overdue_now: Count


@dataclass(frozen=True, slots=True)
class WeekPoint:
    start: object           # the Monday
    received: Count
    closed: Count


@dataclass(frozen=True, slots=True)
class AnomalyRow:
    anomaly: anomaly_rules.Anomaly
    label: str
    suppress: bool

    def reason(self):
        """"12 reports this week; usually 2–4" (in the user's language). Without the numbers for
        who sees aggregates only: a week's count of a kabupaten is not one of the month's cells,
        and beside them it would give some back."""
        a = self.anomaly
        if self.suppress:
            return _("more reports than usual in the week of %(week)s", week=day_text(a.week_start))
        return _("%(count)s reports in the week of %(week)s; usually %(usual)s a week",
                 count=format_decimal(a.count), week=day_text(a.week_start),
                 usual=usual_text(a.usual_low, a.usual_high, self.suppress))


def usual_text(low, high, suppress):
    """"2–4", "3", "0", or "< 3" when the usual weeks held 1 or 2 reports (and must not be
    told apart): a week without reports is 0, never "< 3"."""
    if suppress and 0 < high < K:
        return f"< {K}"
    if low == high:
        return format_decimal(low)
    return f"{format_decimal(low)}–{format_decimal(high)}"


@dataclass(frozen=True, slots=True)
class WorkloadRow:
    assignee_id: int
    name: str
    open: int
    overdue: int
    by_state: dict


@dataclass
class Summary:
    """Every figure of the dashboard (see the module docstring)."""

    period: object
    previous_period: object
    scope_label: str
    suppressed: bool                    # counts 1..K−1 are shown as "< 3"
    generated_at: datetime
    received: Count
    received_previous: Count
    received_change: Change | None
    screened: Count
    closed: Count
    closed_previous: Count
    closed_change: Change | None
    closed_by_outcome: list             # [(Outcome, Count)] in Outcome order
    open_now: Count                     # every report not closed, now
    awaiting_screening: Count           # open now, state new
    in_progress: Count                  # open now, screening .. pending_approval
    open_by_state: list                 # [(State, Count)]
    overdue: Count                      # of the reports open now, those past their due time
    # Each period figure below counts its own reports, which the pages name beside it: the
    # medians and shares of screening over the reports screened in the period (`screened`),
    # those of closure over the reports closed in it (`closed`). `overdue` counts the reports
    # open now: a share "within due time" of the closed ones says nothing about them.
    median_to_screening: Duration | None
    median_to_screening_previous: Duration | None
    median_to_closure: Duration | None
    median_to_closure_previous: Duration | None
    screened_within_due: Share | None   # screened in the period, the first screening in time
    within_due: Share | None            # closed in the period with every step within its due time
    within_due_previous: Share | None
    by_kabupaten: list = field(default_factory=list)
    by_office: list = field(default_factory=list)
    by_category: list = field(default_factory=list)
    by_channel: list = field(default_factory=list)
    weekly: list = field(default_factory=list)
    anomalies: list = field(default_factory=list)
    anomaly_week: object = None
    hotspots: list = field(default_factory=list)
    workload: list | None = None        # None: not shown to this user


# --- building it ---------------------------------------------------------------------------------

def parse_office(raw):
    """The office id asked for (`office=` of the dashboard and the monthly report), None for the
    whole jurisdiction; UserValueError if not a number (an office outside the jurisdiction is a
    404, from scope_for)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    # isdigit() alone lets through "²" and other digits that int() refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise UserValueError(UNKNOWN_OFFICE)
    return int(raw)


def scope_for(user, office_id=None):
    """The offices a summary for `user` counts (narrowed to `office_id` and the offices below it),
    or NotFound when the user may not see aggregates there."""
    if not can(user, Permission.view_aggregates):
        raise NotFound()
    offices = jurisdiction_office_ids(user)
    if office_id is None:
        return Scope(offices)
    if offices is not ALL_OFFICES and office_id not in offices:
        raise NotFound()
    subtree = office_subtree_ids(office_id)
    if not subtree:
        raise NotFound()
    return Scope(subtree if offices is ALL_OFFICES else subtree & offices)


def offices_to_choose(user):
    """The offices a user may narrow the summary to: (id, name), by name."""
    offices = jurisdiction_office_ids(user)
    query = select(Office.id, Office.name).order_by(Office.name)
    if offices is not ALL_OFFICES:
        query = query.where(Office.id.in_(sorted(offices) or [-1]))
    return db.session.execute(query).all()


def summary(user, period, office_id=None, source=ROLLUP, now=None):
    """The Summary of `period` for `user`, over the user's jurisdiction or `office_id` within it.
    Raises NotFound when the user may not see aggregates (or that office)."""
    scope = scope_for(user, office_id)
    suppress = not can(user, Permission.view_report)
    with_workload = can(user, Permission.view_report)
    now = now or datetime.now(timezone.utc)
    with rollups.small_aggregates() if source == ROLLUP else rollups.raw_facts():
        result = _figures(scope, period, source, suppress, with_workload, now)
    result.scope_label = _scope_label(user, office_id)
    result.hotspots = _hotspots(user)
    return result


def shared_figures(user, period, office_id=None, source=ROLLUP, now=None):
    """The Summary of `period` for `user` as it leaves the office (the monthly report, aggregate
    exports): suppressed whoever asks, without workload or hotspots. NotFound as `summary`."""
    scope = scope_for(user, office_id)
    now = now or datetime.now(timezone.utc)
    with rollups.small_aggregates() if source == ROLLUP else rollups.raw_facts():
        result = _figures(scope, period, source, True, False, now)
    result.scope_label = _scope_label(user, office_id)
    return result


def shared_summary(office, period, source=ROLLUP, now=None):
    """The Summary of `period` over `office`'s jurisdiction as shared outside the office (with a
    Tim PORA team, apoa/partners): every count suppressed as for a regional head, no workload, no
    hotspots (those link to the officers' map). Counted over a whole month that has ended: the
    last one ending within `period` (`suppression.shared_month`; `Summary.period` says which),
    since figures of overlapping periods subtract."""
    scope = Scope(office_jurisdiction_ids(office))
    now = now or datetime.now(timezone.utc)
    period = shared_month(period, local_today())
    with rollups.small_aggregates() if source == ROLLUP else rollups.raw_facts():
        result = _figures(scope, period, source, True, False, now)
    result.scope_label = office.name
    result.hotspots = []
    return result


def _figures(scope, period, source, suppress, with_workload, now):
    if suppress and not with_workload and source == ROLLUP and is_shared_month(period,
                                                                               local_today()):
        # A whole ended month shared outside the office: its flow is kept (apoa/summaries/
        # stored.py), what is open now is counted here.
        from apoa.summaries import stored

        return from_month_part(stored.month_part(scope, period), scope, period, now)
    return computed_figures(scope, period, source, suppress, with_workload, now)


def computed_figures(scope, period, source, suppress, with_workload, now):
    """The Summary's figures counted afresh (every period; the reference the kept months of
    apoa/summaries/stored.py must equal)."""
    previous = period.previous()
    current_flow = rollups.flow(scope, period, source)
    # Suppressed, the month before is hidden as its own page hides it: its every measure counts.
    previous_flow = rollups.flow(scope, previous, source, full=suppress)
    open_counts = rollups.open_now(scope, local_today(), now, source, assignee_states=with_workload)
    labels = Labels(current_flow, previous_flow, open_counts)
    result = _headline(period, previous, current_flow, previous_flow, open_counts, suppress, now)
    for attribute, dimension in (("by_kabupaten", KAB), ("by_category", CATEGORY),
                                 ("by_channel", CHANNEL)):
        setattr(result, attribute, _breakdown(dimension, current_flow, previous_flow, open_counts,
                                              labels, suppress))
    result.by_office = _office_breakdown(current_flow, previous_flow, open_counts, labels, suppress)
    _add_weekly(result, scope, period, source, labels, suppress)
    if suppress:
        days = rollups.daily(scope, min(previous.start, period.start), period.end, source)
        result = _protect(result, current_flow, previous_flow, open_counts, days)
    if with_workload:
        result.workload = _workload(open_counts)
    return result


def _headline(period, previous, current_flow, previous_flow, open_counts, suppress, now):
    now_total, before = current_flow["total"], previous_flow["total"]
    open_total = open_counts["total"]
    count = lambda value: Count.of(value, suppress)  # noqa: E731
    return Summary(
        period=period, previous_period=previous, scope_label="", suppressed=suppress,
        generated_at=now,
        received=count(now_total.received), received_previous=count(before.received),
        received_change=change_of(now_total.received, before.received, suppress),
        screened=count(now_total.screened), closed=count(now_total.closed),
        closed_previous=count(before.closed),
        closed_change=change_of(now_total.closed, before.closed, suppress),
        closed_by_outcome=[(Outcome(name), count(now_total.values[f"closed_{name}"]))
                           for name in OUTCOME_COLUMNS],
        open_now=count(open_total.total),
        awaiting_screening=count(open_total.by_state.get(State.new.value, 0)),
        in_progress=count(sum(open_total.by_state.get(s.value, 0) for s in IN_PROGRESS_STATES)),
        open_by_state=[(s, count(open_total.by_state.get(s.value, 0)))
                       for s in State if s is not State.closed],
        overdue=count(open_total.overdue),
        median_to_screening=median_of(now_total.screen_histogram, suppress),
        median_to_screening_previous=median_of(before.screen_histogram, suppress),
        median_to_closure=median_of(now_total.close_histogram, suppress),
        median_to_closure_previous=median_of(before.close_histogram, suppress),
        screened_within_due=share_of(now_total.screened_on_time, now_total.screened, suppress),
        within_due=share_of(now_total.closed_on_time, now_total.closed, suppress),
        within_due_previous=share_of(before.closed_on_time, before.closed, suppress),
    )


def _row(key, label, now, before, open_counts, suppress):
    now, before, open_counts = now or Measures(), before or Measures(), open_counts or OpenCounts()
    return BreakdownRow(
        key=key, label=label, received=Count.of(now.received, suppress),
        received_previous=Count.of(before.received, suppress),
        change=change_of(now.received, before.received, suppress),
        screened=Count.of(now.screened, suppress), closed=Count.of(now.closed, suppress),
        within_due=share_of(now.closed_on_time, now.closed, suppress),
        median_to_closure=median_of(now.close_histogram, suppress),
        open_now=Count.of(open_counts.total, suppress),
        overdue_now=Count.of(open_counts.overdue, suppress))


def _member_key(dimension, member_id, member_code):
    return member_code if dimension == CHANNEL else member_id


def _breakdown(dimension, current_flow, previous_flow, open_counts, labels, suppress):
    keys = {k for source in (current_flow["members"], previous_flow["members"],
                             open_counts["members"])
            for k in source if k[0] == dimension}
    rows = [_row(_member_key(*k), labels.name(dimension, _member_key(*k)),
                 current_flow["members"].get(k), previous_flow["members"].get(k),
                 open_counts["members"].get(k), suppress) for k in keys]
    return _sorted_rows(rows)


def _office_breakdown(current_flow, previous_flow, open_counts, labels, suppress):
    keys = (set(current_flow["offices"]) | set(previous_flow["offices"])
            | set(open_counts["offices"]))
    rows = [_row(k, labels.name("office", k), current_flow["offices"].get(k),
                 previous_flow["offices"].get(k), open_counts["offices"].get(k), suppress)
            for k in keys]
    return _sorted_rows(rows)


def _sorted_rows(rows):
    """Busiest first; rows without anything received now or before, nor open, are left out.
    Hidden counts ("< 3", "–") sort after the shown ones, by name, so a row's place never tells
    more than its figures."""
    rows = [r for r in rows if r.received.value or r.received_previous.value or r.open_now.value
            or r.closed.value or r.screened.value]

    def order(row):
        received = row.received
        group = 2 if not received.value else 1 if received.hidden else 0
        return (group, -(received.shown or 0), -(row.open_now.shown or 0), row.label)
    return sorted(rows, key=order)


def anomaly_weeks(period):
    """(first Monday, last Monday, number of weeks) read for the trend and the anomalies: the
    weeks up to the week of the period's last day (which may end up to six days after it)."""
    last_week = period.last - timedelta(days=period.last.weekday())
    first_week = last_week - timedelta(days=7 * max(TREND_WEEKS, anomaly_rules.BASELINE_WEEKS))
    return first_week, last_week, (last_week - first_week).days // 7 + 1


def _add_weekly(summary, scope, period, source, labels, suppress):
    """The TREND_WEEKS weeks up to the week of the period's last day, and that week's anomalies."""
    first_week, last_week, weeks = anomaly_weeks(period)
    totals, per_kab = rollups.weekly(scope, first_week, weeks, source,
                                     min_count=anomaly_rules.MIN_COUNT)
    shown_from = last_week - timedelta(days=7 * (TREND_WEEKS - 1))
    summary.weekly = [WeekPoint(week, Count.of(totals.get(week, (0, 0))[0], suppress),
                                Count.of(totals.get(week, (0, 0))[1], suppress))
                      for week in (shown_from + timedelta(days=7 * k) for k in range(TREND_WEEKS))]
    summary.anomaly_week = last_week
    labels.want(KAB, per_kab)
    summary.anomalies = [AnomalyRow(a, labels.name(KAB, a.kab_id), suppress)
                         for a in anomaly_rules.find_anomalies(per_kab, last_week)]


# --- complementary suppression (apoa/summaries/suppression.py) ------------------------------------

FLOW_SHOWN = ("received", "screened", "closed")
DIMENSIONS = (KAB, "office", CATEGORY, CHANNEL)
OPEN_STATES = tuple(s.value for s in State if s is not State.closed)
IN_PROGRESS = ("open", "in_progress")


def _give_way(key):
    """Breakdown cells first, then a subtotal (in progress), the totals last."""
    return 2 if key[1] == "total" else 1 if key == IN_PROGRESS else 0


def page_grid(flow, period, days, open_counts=None):
    """The Grid of a page's counts: the period's flow (received, screened, closed) by kabupaten,
    office, category, channel, outcome and week of the period, each adding up to its total; and
    (for the page's own period) what is open and overdue now by the same and by state. Built the
    same for a month whether it is the page's or the one before, so both hide the same."""
    grid = Grid(give_way=_give_way)
    parts = defaultdict(list)
    members = [((dimension, _member_key(dimension, member_id, code)), measures)
               for (dimension, member_id, code), measures in flow["members"].items()
               if dimension in (KAB, CATEGORY, CHANNEL)]
    members += [(("office", office_id), measures)
                for office_id, measures in flow["offices"].items()]
    for (dimension, key), measures in sorted(members, key=lambda item: repr(item[0])):
        for measure in FLOW_SHOWN:
            grid.set((measure, dimension, key), getattr(measures, measure))
            parts[(measure, dimension)].append((measure, dimension, key))
    total = flow["total"]
    for measure in FLOW_SHOWN:
        grid.set((measure, "total"), getattr(total, measure))
    for (measure, _dimension), keys in parts.items():
        grid.add_sum(keys, (measure, "total"))
    outcomes = []
    for name in OUTCOME_COLUMNS:
        grid.set(("closed", "outcome", name), total.values[f"closed_{name}"])
        outcomes.append(("closed", "outcome", name))
    grid.add_sum(outcomes, ("closed", "total"))
    for measure, index in (("received", 0), ("closed", 1)):
        weeks = []
        for number, (first, end) in enumerate(month_weeks(period)):
            grid.set((measure, "week", number), _days_sum(days, first, end, index))
            weeks.append((measure, "week", number))
        grid.add_sum(weeks, (measure, "total"))
    if open_counts is not None:
        _open_lines(grid, open_counts)
    return grid


def _days_sum(days, first, end, index):
    return sum(days.get(first + timedelta(days=k), (0, 0))[index]
               for k in range((end - first).days))


def _open_lines(grid, open_counts):
    """Open now by state (new + in progress = open), and open and overdue by each breakdown."""
    total = open_counts["total"]
    states = [("open", "state", state) for state in OPEN_STATES]
    for key in states:
        grid.set(key, total.by_state.get(key[2], 0))
    grid.set(("open", "total"), total.total)
    grid.set(("overdue", "total"), total.overdue)
    grid.set(IN_PROGRESS, sum(total.by_state.get(s.value, 0) for s in IN_PROGRESS_STATES))
    grid.add_sum(states, ("open", "total"))
    grid.add_sum([("open", "state", s.value) for s in IN_PROGRESS_STATES], IN_PROGRESS)
    grid.add_sum([("open", "state", State.new.value), IN_PROGRESS], ("open", "total"))
    members = [((dimension, _member_key(dimension, member_id, code)), counts)
               for (dimension, member_id, code), counts in open_counts["members"].items()
               if dimension in (KAB, CATEGORY, CHANNEL)]
    members += [(("office", office_id), counts)
                for office_id, counts in open_counts["offices"].items()]
    parts = defaultdict(list)
    for (dimension, key), counts in sorted(members, key=lambda item: repr(item[0])):
        for measure, value in (("open", counts.total), ("overdue", counts.overdue)):
            grid.set((measure, dimension, key), value)
            parts[(measure, dimension)].append((measure, dimension, key))
    for (measure, _dimension), keys in parts.items():
        grid.add_sum(keys, (measure, "total"))


def shown_count(grid, key):
    """The Count of `key` as the page `grid` shows it."""
    value = grid.values.get(key, 0)
    return Count(value, grid.is_small(key), grid.is_withheld(key))


def _protect(summary, current_flow, previous_flow, open_counts, days):
    """`summary` (its counts suppressed one by one) with the counts withheld that would give a
    "< 3" back (`page_grid` of its period), the month before's as that month's own page hides
    them, and every change, share and median withheld whose counts are hidden."""
    now = page_grid(current_flow, summary.period, days, open_counts)
    before = page_grid(previous_flow, summary.previous_period, days)
    shown = {id(now): now.shown(), id(before): before.shown()}
    zero = (0, False, False)

    def count(key, grid=now):
        return Count(*shown[id(grid)].get(key, zero))

    def rests_on(grid, key, value):
        """`value` (a share, a median) when the count it is taken over is shown, else None."""
        return None if grid.is_hidden(key) else value

    def change(key, before_key=None):
        if now.is_hidden(key) or before.is_hidden(before_key or key):
            return None
        return change_of(now.values.get(key, 0), before.values.get(before_key or key, 0), True)

    def row(dimension, r):
        key = lambda measure: (measure, dimension, r.key)  # noqa: E731
        return replace(
            r, received=count(key("received")), received_previous=count(key("received"), before),
            change=change(key("received")), screened=count(key("screened")),
            closed=count(key("closed")),
            within_due=rests_on(now, key("closed"), r.within_due),
            median_to_closure=rests_on(now, key("closed"), r.median_to_closure),
            open_now=count(key("open")), overdue_now=count(key("overdue")))

    received, closed, screened = ("received", "total"), ("closed", "total"), ("screened", "total")
    weeks = [WeekPoint(first, count(("received", "week", number)),
                       count(("closed", "week", number)))
             for number, (first, _end) in enumerate(month_weeks(summary.period))]
    return replace(
        summary,
        received=count(received), received_previous=count(received, before),
        received_change=change(received), screened=count(screened), closed=count(closed),
        closed_previous=count(closed, before), closed_change=change(closed),
        closed_by_outcome=[(outcome, count(("closed", "outcome", outcome.value)))
                           for outcome, _count in summary.closed_by_outcome],
        open_now=count(("open", "total")),
        awaiting_screening=count(("open", "state", State.new.value)),
        in_progress=count(IN_PROGRESS),
        open_by_state=[(state, count(("open", "state", state.value)))
                       for state, _count in summary.open_by_state],
        overdue=count(("overdue", "total")),
        median_to_screening=rests_on(now, screened, summary.median_to_screening),
        median_to_screening_previous=rests_on(before, screened,
                                              summary.median_to_screening_previous),
        median_to_closure=rests_on(now, closed, summary.median_to_closure),
        median_to_closure_previous=rests_on(before, closed, summary.median_to_closure_previous),
        screened_within_due=rests_on(now, screened, summary.screened_within_due),
        within_due=rests_on(now, closed, summary.within_due),
        within_due_previous=rests_on(before, closed, summary.within_due_previous),
        **{attribute: _sorted_rows([row(dimension, r) for r in getattr(summary, attribute)])
           for attribute, dimension in (("by_kabupaten", KAB), ("by_office", "office"),
                                        ("by_category", CATEGORY), ("by_channel", CHANNEL))},
        weekly=weeks,
    )


def _hotspots(user):
    """The busiest map cells (apoa/maps/hotspots.py), each linking to the map: in a request only,
    since the links are built by url_for."""
    from apoa.maps.hotspots import hotspots

    return hotspots(user, limit=HOTSPOT_LIMIT) if has_request_context() else []


def _workload(open_counts):
    """Open reports per assignee, busiest first (for users who may view reports only)."""
    members = {k[1]: v for k, v in open_counts["members"].items() if k[0] == ASSIGNEE and v.total}
    if not members:
        return []
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(members))).all())
    rows = [WorkloadRow(user_id, names.get(user_id, "?"), counts.total, counts.overdue,
                        dict(counts.by_state))
            for user_id, counts in members.items()]
    return sorted(rows, key=lambda r: (-r.open, -r.overdue, r.name))


def _scope_label(user, office_id):
    office = db.session.get(Office, office_id) if office_id else user.office
    return office.name if office else str(_l("All offices"))


class Labels:
    """Names of the members the figures mention, loaded in one query per kind."""

    def __init__(self, *sources):
        self.wanted = {KAB: set(), CATEGORY: set(), "office": set()}
        for source in sources:
            for dimension, member_id, _code in source["members"]:
                if dimension in (KAB, CATEGORY):
                    self.wanted[dimension].add(member_id)
            self.wanted["office"].update(source["offices"])
        self.names = None

    def want(self, kind, ids):
        self.wanted[kind].update(ids)
        self.names = None

    def name(self, kind, key):
        if kind == CHANNEL:
            return str(Channel(key).title) if key in Channel._value2member_map_ else str(key)
        if key is None:
            return str(NONE_LABELS[kind])
        if self.names is None:
            self.names = self._load()
        return self.names[kind].get(key, "?")

    def _load(self):
        # One array parameter each (= ANY), not hundreds of IN parameters.
        ids = {kind: sorted(i for i in ids if i is not None) for kind, ids in self.wanted.items()}
        locale = get_locale()
        return {
            KAB: dict(db.session.execute(select(Region.id, Region.nama)
                                         .where(Region.id == any_(ids[KAB]))).all()),
            CATEGORY: {c.id: c.name_for(locale) for c in
                       db.session.scalars(select(Category)
                                          .where(Category.id == any_(ids[CATEGORY])))},
            "office": dict(db.session.execute(select(Office.id, Office.name)
                                              .where(Office.id == any_(ids["office"]))).all()),
        }


NONE_LABELS = {KAB: _l("Outside any regency/city"), CATEGORY: _l("No category"),
               "office": _l("No office")}


# --- a whole ended month shared outside the office, kept (apoa/summaries/stored.py) --------------

HEADLINE_FLOW = ("received", "received_previous", "received_change", "screened", "closed",
                 "closed_previous", "closed_change", "closed_by_outcome", "median_to_screening",
                 "median_to_screening_previous", "median_to_closure", "median_to_closure_previous",
                 "screened_within_due", "within_due", "within_due_previous")
BREAKDOWNS = (("by_kabupaten", KAB), ("by_office", "office"), ("by_category", CATEGORY),
              ("by_channel", CHANNEL))


@dataclass(frozen=True, slots=True)
class FlowRow:
    """A breakdown row's figures counted from the month's flow (a BreakdownRow without its name
    and its counts of now)."""

    received: Count
    received_previous: Count
    change: Change | None
    screened: Count
    closed: Count
    within_due: Share | None
    median_to_closure: Duration | None


NO_FLOW = FlowRow(Count(0), Count(0), Change(0, 0), Count(0), Count(0), None, None)


@dataclass
class MonthPart:
    """What a suppressed Summary of a whole month counts from the month's flow and the month
    before's, which no longer changes once the month has ended (unless a late change to a report
    moves it: migration 0026 forgets it then): the headline's flow figures (HEADLINE_FLOW), the
    breakdowns' rows by key ({attribute: {key: FlowRow}}), the month's weeks and the anomalies of
    the week of its last day (None: not counted)."""

    headline: dict
    rows: dict
    weekly: list
    anomaly_week: object
    anomalies: list | None = None


class _Unnamed:
    """Labels for figures kept without names (a name is looked up when the page is shown)."""

    def name(self, _kind, _key):
        return ""

    def want(self, _kind, _ids):
        pass


def _no_open():
    return {"members": {}, "offices": {}, "total": OpenCounts()}


def month_part(scope, period, source=ROLLUP, with_anomalies=True):
    """The MonthPart of `period` (a whole month) over `scope`: the same figures as
    computed_figures() suppressed, without the counts of now. Run inside small_aggregates()."""
    previous = period.previous()
    current_flow = rollups.flow(scope, period, source)
    previous_flow = rollups.flow(scope, previous, source, full=True)
    days = rollups.daily(scope, min(previous.start, period.start), period.end, source)
    # Nothing open: no line of the Grid ties a count of now to one of the flow, so the flow's
    # counts are hidden alike with or without them (tests/summaries/test_stored.py holds it).
    no_open = _no_open()
    result = _headline(period, previous, current_flow, previous_flow, no_open, True, None)
    labels = _Unnamed()
    for attribute, dimension in (("by_kabupaten", KAB), ("by_category", CATEGORY),
                                 ("by_channel", CHANNEL)):
        setattr(result, attribute, _breakdown(dimension, current_flow, previous_flow, no_open,
                                              labels, True))
    result.by_office = _office_breakdown(current_flow, previous_flow, no_open, labels, True)
    result = _protect(result, current_flow, previous_flow, no_open, days)
    rows = {attribute: {row.key: FlowRow(row.received, row.received_previous, row.change,
                                         row.screened, row.closed, row.within_due,
                                         row.median_to_closure)
                        for row in getattr(result, attribute)}
            for attribute, _dimension in BREAKDOWNS}
    return MonthPart(headline={name: getattr(result, name) for name in HEADLINE_FLOW}, rows=rows,
                     weekly=result.weekly, anomaly_week=anomaly_weeks(period)[1],
                     anomalies=month_anomalies(scope, period, source) if with_anomalies else None)


def month_anomalies(scope, period, source=ROLLUP):
    """The anomalies of the week of the period's last day ([anomaly_rules.Anomaly])."""
    first_week, last_week, weeks = anomaly_weeks(period)
    _totals, per_kab = rollups.weekly(scope, first_week, weeks, source,
                                      min_count=anomaly_rules.MIN_COUNT, totals=False)
    return anomaly_rules.find_anomalies(per_kab, last_week)


def from_month_part(part, scope, period, now, source=ROLLUP):
    """The suppressed Summary of `period` from its MonthPart and what is open now (counted here:
    open by state, kabupaten/kota, office, category and channel, and overdue; their own Grid)."""
    open_counts = rollups.open_now(scope, local_today(), now, source)
    grid = Grid(give_way=_give_way)
    _open_lines(grid, open_counts)
    shown = grid.shown()
    zero = (0, False, False)

    def count(key):
        return Count(*shown.get(key, zero))

    keys = {"office": set(open_counts["offices"])}
    for dimension, member_id, code in open_counts["members"]:
        keys.setdefault(dimension, set()).add(_member_key(dimension, member_id, code))
    labels = Labels()
    for attribute, dimension in BREAKDOWNS:
        keys[dimension] = keys.get(dimension, set()) | set(part.rows[attribute])
        if dimension != CHANNEL:
            labels.want(dimension, keys[dimension])
    labels.want(KAB, [a.kab_id for a in part.anomalies])
    summary = Summary(
        period=period, previous_period=period.previous(), scope_label="", suppressed=True,
        generated_at=now, **part.headline,
        open_now=count(("open", "total")),
        awaiting_screening=count(("open", "state", State.new.value)),
        in_progress=count(IN_PROGRESS),
        open_by_state=[(state, count(("open", "state", state.value)))
                       for state in State if state is not State.closed],
        overdue=count(("overdue", "total")),
        weekly=list(part.weekly), anomaly_week=part.anomaly_week,
        anomalies=[AnomalyRow(a, labels.name(KAB, a.kab_id), True) for a in part.anomalies])
    for attribute, dimension in BREAKDOWNS:
        flows = part.rows[attribute]
        rows = []
        for key in keys[dimension]:
            f = flows.get(key, NO_FLOW)
            rows.append(BreakdownRow(
                key, labels.name(dimension, key), f.received, f.received_previous, f.change,
                f.screened, f.closed, f.within_due, f.median_to_closure,
                count(("open", dimension, key)), count(("overdue", dimension, key))))
        setattr(summary, attribute, _sorted_rows(rows))
    return summary


def shared_received(user, period):
    """(received in all, {kab id: received}) as Counts, as the dashboard of who sees aggregates
    only shows them for `period` (a whole ended month): for the regional map, which must agree."""
    scope = scope_for(user)
    with rollups.small_aggregates():
        if is_shared_month(period, local_today()):
            from apoa.summaries import stored

            part = stored.month_part(scope, period, with_anomalies=False)
            return part.headline["received"], {key: row.received
                                               for key, row in part.rows["by_kabupaten"].items()}
        result = _figures(scope, period, ROLLUP, True, False, datetime.now(timezone.utc))
    return result.received, {row.key: row.received for row in result.by_kabupaten}
