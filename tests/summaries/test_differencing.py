"""Differencing attacks on the figures shared outside the office (issue 15, item 4): a reader takes
what the pages, the monthly report, the aggregate export and a partner's summary show, and
subtracts — a total less its shown rows, the other states' counts, the month less its weeks, one
period less another, one page against another, the month before and the change, the foreign
guests' table — to get back a count shown as "< 3". `Attacker` does all of it at once, knowing
what the pages say of a hidden count ("< 3" is 1 or 2, "–" at least 3) and narrowing every hidden
count by every sum until nothing changes. No "< 3" may come out as one number.

The world (the month M before the clock's, and the month before it), a Kanwil of two Kantor:

    M     Karawang  8 reports: illegal work 4, overstay 3, other 1; web 6, WhatsApp 2; in the
                    month's weeks 1, 2, 3 and 5; 3 closed in M (violation found 2, unfounded 1)
          Bekasi    1 report (other, web, week 2): the kabupaten of one
    M−1   Karawang  5 reports, Bekasi 2
"""
from datetime import datetime, time, timedelta, timezone
from itertools import product

import pytest

from apoa.errors import UserValueError
from apoa.guests.figures import guest_figures
from apoa.periods import Period, add_months, custom_period, preset_period, Preset
from apoa.summaries import exports, monthly
from apoa.summaries.figures import shared_summary, summary
from apoa.summaries.suppression import Grid, is_shared_month, month_of, shared_month
from apoa.reports.queries import QueueFilters
from tests.summaries.scenario import BEKASI, KARAWANG, KARAWANG_2, with_history

WIB = timezone(timedelta(hours=7))
CAP = 80            # no count of this world comes near it
STATES = ("new", "screening", "assigned", "in_field", "pending_approval")


# --- the attacker ------------------------------------------------------------------------------------

def known(text):
    """What a reader knows of a count from what the page shows."""
    text = str(text)
    if text == "< 3":
        return frozenset({1, 2})
    if text in ("–", "None"):
        return frozenset(range(3, CAP))
    return frozenset({int(text.replace(".", "").replace(",", ""))})


class Attacker:
    """Counts seen (the same count seen on several pages is one unknown) and the sums that tie
    them; `solve` narrows each count to the values every sum still allows."""

    def __init__(self):
        self.values, self.sums = {}, []

    def see(self, key, shown):
        self.values[key] = self.values.get(key, frozenset(range(CAP))) & known(shown)

    def add(self, parts, total):
        self.sums.append((list(parts), total))

    def solve(self):
        changed = True
        while changed:
            changed = False
            for parts, total in self.sums:
                for key in [*parts, total]:
                    allowed = frozenset(v for v in self.values[key] if self._fits(parts, total, key, v))
                    if allowed != self.values[key]:
                        self.values[key], changed = allowed, True
        return self

    def _fits(self, parts, total, key, value):
        """Whether the sum parts = total can hold with `key` at `value`."""
        sums = {0}
        for other in parts:
            if other != key:
                sums = {a + b for a in sums for b in self.values[other] if a + b < 2 * CAP}
        target = {t for t in self.values[total]} if key != total else {value}
        if key != total:
            sums = {s + value for s in sums}
        return bool(sums & target)

    def recovered(self, key):
        """The one value left, or None when the count is still ambiguous."""
        return next(iter(self.values[key])) if len(self.values[key]) == 1 else None


def assert_no_small_count_recovered(attacker, truth):
    """Every count hidden as "< 3" (1 or 2 in `truth`) is still ambiguous; every count's true value is
    among what the attacker allows (the attacker reads the pages right)."""
    attacker.solve()
    for key, values in attacker.values.items():
        if key in truth:
            assert truth[key] in values, (key, truth[key], sorted(values)[:5])
    small = [key for key, value in truth.items() if 0 < value < 3 and key in attacker.values]
    assert small, "the world holds no count of 1 or 2"
    recovered = {key: attacker.recovered(key) for key in small if attacker.recovered(key) is not None}
    assert recovered == {}


# --- the world -------------------------------------------------------------------------------------------

def at(day, hour=10):
    return datetime.combine(day, time(hour), WIB).astimezone(timezone.utc)


class World:
    def __init__(self, make, today):
        self.make = make
        self.kanwil = make.office(kind="kanwil", code="KANWIL-D")
        self.office_a = make.office(parent=self.kanwil, code="KANIM-DA", regions=["32.15"])
        self.office_b = make.office(parent=self.kanwil, code="KANIM-DB", regions=["32.16"])
        self.head = make.user("regional_head", self.kanwil)
        self.supervisor = make.user("supervisor", self.kanwil)
        self.officer = make.user("officer", self.office_a)
        self.first = add_months(today.replace(day=1), -1)
        self.month = month_of(self.first)
        self.value = self.first.strftime("%Y-%m")
        self._reports()

    def day(self, offset, month=0):
        return add_months(self.first, month) + timedelta(days=offset)

    def _closed(self, day, category, channel, outcome):
        created = at(self.day(day))
        h = timedelta(hours=1)
        action = {"action_taken": "administrative"} if outcome == "violation_found" else {}
        with_history(self.make, KARAWANG, created, [
            ("screen", "new", "screening", created + h, None),
            ("dismiss", "screening", "pending_approval", created + 2 * h, {"outcome": outcome}),
            ("approve", "pending_approval", "closed", created + 5 * h, None),
        ], category=category, channel=channel, state="closed", outcome=outcome, **action)

    def _reports(self):
        make = self.make
        self._closed(0, "illegal_work", "web", "violation_found")
        self._closed(1, "illegal_work", "web", "violation_found")
        self._closed(8, "overstay", "whatsapp", "unfounded")
        for day, category, channel, state in ((9, "illegal_work", "web", "new"),
                                              (15, "illegal_work", "web", "screening"),
                                              (16, "overstay", "whatsapp", "new"),
                                              (28, "overstay", "web", "new"),
                                              (28, "other", "web", "new")):
            point = KARAWANG_2 if day == 28 else KARAWANG
            make.report(point=point, category_code=category, channel=channel, state=state,
                        created_at=at(self.day(day)))
        make.report(point=BEKASI, category_code="other", created_at=at(self.day(10)))
        for day in range(5):
            make.report(point=KARAWANG, category_code="overstay", created_at=at(self.day(day + 3, -1)))
        for day in (4, 20):
            make.report(point=BEKASI, category_code="other", created_at=at(self.day(day, -1)))


@pytest.fixture
def world(make, clock):
    return World(make, clock.today)


def exact(world):
    return summary(world.supervisor, world.month)


def shared(world):
    return summary(world.head, world.month)


# --- what a reader sees of a Summary, and the sums a reader knows -------------------------------------

BREAKDOWNS = ("by_kabupaten", "by_office", "by_category", "by_channel")


def counts_of(s):
    """Every count of a Summary, keyed so that the same count on two pages has one key."""
    month, before = s.period.start, s.previous_period.start
    for measure in ("received", "screened", "closed"):
        yield (measure, month, "total"), getattr(s, measure)
    yield ("received", before, "total"), s.received_previous
    yield ("closed", before, "total"), s.closed_previous
    for outcome, count in s.closed_by_outcome:
        yield ("closed", month, "outcome", outcome.value), count
    yield ("open", "total"), s.open_now
    yield ("open", "in_progress"), s.in_progress
    yield ("open", "new"), s.awaiting_screening
    for state, count in s.open_by_state:
        yield ("open", state.value), count
    yield ("overdue", "total"), s.overdue
    for name in BREAKDOWNS:
        for row in getattr(s, name):
            yield ("received", month, name, row.key), row.received
            yield ("received", before, name, row.key), row.received_previous
            yield ("closed", month, name, row.key), row.closed
            yield ("open", name, row.key), row.open_now
            yield ("overdue", name, row.key), row.overdue_now
    for number, point in enumerate(s.weekly):
        yield ("received", month, "week", number), point.received
        yield ("closed", month, "week", number), point.closed


def read_summary(attacker, s):
    """What a reader sees of a Summary: each count as the page shows it."""
    for key, count in counts_of(s):
        attacker.see(key, count)


def truth_of(s):
    """The true counts behind a Summary (a Count keeps its value, whatever it shows)."""
    return {key: count.value for key, count in counts_of(s)}


def summary_sums(attacker, s):
    """The sums a reader knows hold on a summary page."""
    month = s.period.start
    for name in BREAKDOWNS:
        keys = [row.key for row in getattr(s, name)]
        for measure in ("received", "closed"):
            attacker.add([(measure, month, name, k) for k in keys], (measure, month, "total"))
        attacker.add([("open", name, k) for k in keys], ("open", "total"))
        attacker.add([("overdue", name, k) for k in keys], ("overdue", "total"))
    attacker.add([("closed", month, "outcome", o.value) for o, _c in s.closed_by_outcome], ("closed", month, "total"))
    attacker.add([("open", state) for state in STATES], ("open", "total"))
    attacker.add([("open", state) for state in STATES[1:]], ("open", "in_progress"))
    attacker.add([("open", "new"), ("open", "in_progress")], ("open", "total"))
    for measure in ("received", "closed"):
        attacker.add([(measure, month, "week", n) for n in range(len(s.weekly))], (measure, month, "total"))


def previous_sums(attacker, s):
    """The month before's received counts add up too (its column on this page)."""
    before = s.previous_period.start
    for name in BREAKDOWNS:
        attacker.add([("received", before, name, row.key) for row in getattr(s, name)], ("received", before, "total"))


# --- the attacks ------------------------------------------------------------------------------------------

@pytest.mark.date_sensitive
def test_a_total_less_its_shown_rows_gives_no_small_count_back(world):
    s = shared(world)
    truth = truth_of(s)
    assert truth[("received", world.first, "by_kabupaten", bekasi_id(s))] == 1
    rows = {row.label: str(row.received) for row in s.by_kabupaten}
    assert rows["Kabupaten Bekasi"] == "< 3"
    # The naive attack: the total less every shown row. One of the operands is hidden.
    assert "–" in [str(s.received)] + list(rows.values())
    attacker = Attacker()
    read_summary(attacker, s)
    for name in BREAKDOWNS:
        keys = [row.key for row in getattr(s, name)]
        attacker.add([("received", world.first, name, k) for k in keys], ("received", world.first, "total"))
    assert_no_small_count_recovered(attacker, truth)


@pytest.mark.date_sensitive
def test_the_other_states_give_no_state_back(world):
    s = shared(world)
    truth = truth_of(s)
    attacker = Attacker()
    read_summary(attacker, s)
    attacker.add([("open", state) for state in STATES], ("open", "total"))
    attacker.add([("open", state) for state in STATES[1:]], ("open", "in_progress"))
    attacker.add([("open", "new"), ("open", "in_progress")], ("open", "total"))
    for name in BREAKDOWNS:
        attacker.add([("open", name, row.key) for row in getattr(s, name)], ("open", "total"))
    assert str(s.open_by_state[1][1]) == "< 3"                       # the one report in screening
    assert_no_small_count_recovered(attacker, truth)
    # received − closed − open names no count: the closed of a month were received in any month, the open
    # are counted now (the month before's reports among them), so it is no sum a reader can use.
    assert s.received.value - s.closed.value != s.open_now.value


@pytest.mark.date_sensitive
def test_the_month_less_its_weeks_gives_no_week_back(world):
    s = shared(world)
    truth = truth_of(s)
    # the month's own weeks (1–7, 8–14, 15–21, 22–28, 29–), which no other month straddles
    assert [p.start for p in s.weekly] == [world.day(7 * k) for k in range(len(s.weekly))]
    assert sum(p.received.value for p in s.weekly) == s.received.value
    attacker = Attacker()
    read_summary(attacker, s)
    for measure in ("received", "closed"):
        attacker.add([(measure, world.first, "week", n) for n in range(len(s.weekly))],
                     (measure, world.first, "total"))
    assert_no_small_count_recovered(attacker, truth)


@pytest.mark.date_sensitive
def test_every_sum_of_the_page_together_gives_nothing_back(world):
    s = shared(world)
    truth = truth_of(s)
    attacker = Attacker()
    read_summary(attacker, s)
    summary_sums(attacker, s)
    previous_sums(attacker, s)
    assert_no_small_count_recovered(attacker, truth)


@pytest.mark.date_sensitive
def test_the_month_before_is_hidden_as_its_own_page_hides_it_and_the_change_tells_nothing(world):
    s = shared(world)
    before = summary(world.head, month_of(add_months(world.first, -1)))
    # The previous month's column shows what that month's own page shows, count for count.
    assert str(s.received_previous) == str(before.received) and str(s.closed_previous) == str(before.closed)
    for name in BREAKDOWNS:
        this_page = {row.key: str(row.received_previous) for row in getattr(s, name) if row.received_previous.value}
        own_page = {row.key: str(row.received) for row in getattr(before, name) if row.received.value}
        assert this_page == own_page, name
    # A change is shown only between two shown counts: a percentage of a hidden one would give it back.
    for name in BREAKDOWNS:
        for row in getattr(s, name):
            if row.change is not None:
                assert row.received.shown is not None and row.received_previous.shown is not None
    assert any(row.change is None and row.received_previous.value for row in s.by_kabupaten)
    # Both pages read together: the two months' counts and their sums.
    attacker = Attacker()
    read_summary(attacker, s)
    read_summary(attacker, before)
    summary_sums(attacker, s)
    summary_sums(attacker, before)
    truth = {**truth_of(before), **truth_of(s)}
    assert_no_small_count_recovered(attacker, truth)


@pytest.mark.date_sensitive
def test_no_two_periods_a_head_may_see_overlap(world, sign_in, clock):
    today = clock.today
    # The dashboard of a head offers months that have ended; presets and typed dates are not read.
    client = sign_in(world.head)
    page = client.get("/ringkasan", query_string={"period": "custom", "from": world.day(0).isoformat(),
                                                  "to": world.day(28).isoformat()}).text
    assert f'<option value="{world.value}" selected>' in page and 'name="from"' not in page
    assert client.get("/ringkasan", query_string={"bulan": today.strftime("%Y-%m")}).status_code == 400
    # So 1–29 and 1–30 of a month, or this month so far on two days, are never both shown.
    with pytest.raises(UserValueError):
        monthly.parse_month(today.strftime("%Y-%m"), today)
    for option, _title in monthly.months_to_choose(today):
        month = monthly.parse_month(option, today)
        assert is_shared_month(month, today) and month.previous().end == month.start
    # A partner asking for any period gets the last month that ended within it: the same figures as the
    # month's own page, never a period that overlaps it.
    rolling = [preset_period(preset, today) for preset in (Preset.last_30_days, Preset.last_90_days, Preset.this_month)]
    for period in [*rolling, custom_period(world.day(0), world.day(29)), world.month]:
        month = shared_month(period, today)
        assert is_shared_month(month, today) and month.end <= min(period.end, today)
    partner = shared_summary(world.office_a, custom_period(world.day(-3), world.month.last))
    assert partner.period == world.month
    assert shared_summary(world.office_a, custom_period(world.day(0), world.day(27))).period.end <= world.first
    # Aggregate exports count a whole ended month, or are refused.
    for first, last in ((world.day(0), world.day(28)), (world.day(1), world.month.last)):
        with pytest.raises(UserValueError):
            exports.aggregate_month(QueueFilters(received_from=first, received_to=last), today)
    assert exports.aggregate_month(QueueFilters(received_from=world.day(0), received_to=world.month.last),
                                   today) == world.month


@pytest.mark.date_sensitive
def test_overlapping_periods_would_give_a_day_back_which_is_why_they_are_not_offered(world):
    """What the restriction prevents: two custom periods a day apart, each with large shown totals,
    differ by the last day's single report."""
    last = custom_period(world.day(0), world.day(28))
    shorter = custom_period(world.day(0), world.day(27))
    longer_count = exact_received(world, last)
    assert longer_count - exact_received(world, shorter) == 2            # the two reports of day 29
    assert not is_shared_month(last, world.month.end) and not is_shared_month(shorter, world.month.end)


def exact_received(world, period):
    return summary(world.supervisor, period).received.value


@pytest.mark.date_sensitive
def test_the_dashboard_the_monthly_report_and_the_export_agree_and_give_nothing_back_together(world, sign_in):
    dashboard = shared(world)
    report = monthly.monthly_report(world.head, world.month)
    printed = monthly.monthly_report(world.supervisor, world.month)      # a supervisor prints the same
    for s in (report.summary, printed.summary):
        for name in ("received", "closed", "screened", "open_now", "received_previous", "closed_by_outcome"):
            assert str(getattr(s, name)) == str(getattr(dashboard, name)), name
        for name in BREAKDOWNS:
            assert [(r.key, str(r.received), str(r.closed)) for r in getattr(s, name)] == \
                [(r.key, str(r.received), str(r.closed)) for r in getattr(dashboard, name)], name
    # The monthly page (and so its PDF, the same HTML) shows the Summary's counts.
    page = sign_in(world.head).get("/ringkasan/bulanan", query_string={"bulan": world.value}).text
    assert f'id="m-received">{dashboard.received}<' in page
    # The export of the month: kabupaten × state × category, each kabupaten's cells adding up to its count
    # on the summary, each category's to the category's.
    export = exports.aggregate_export(world.head, QueueFilters())
    lines = export.lines
    attacker = Attacker()
    read_summary(attacker, dashboard)
    summary_sums(attacker, dashboard)
    truth = truth_of(dashboard)
    kab_of = {row.label: row.key for row in dashboard.by_kabupaten}
    category_of = {row.label: row.key for row in dashboard.by_category}
    by_kab, by_category = {}, {}
    for kode, name, state, category, count, *_point in lines:
        kab = kab_of[name]
        if state == "—":                # a kabupaten in one line: its count as on the summary
            assert str(count) == str(next(r.received for r in dashboard.by_kabupaten if r.key == kab))
            continue
        key = ("cell", kab, state, category)
        attacker.see(key, count)
        by_kab.setdefault(kab, []).append(key)
        by_category.setdefault(category_of[category], []).append(key)
    for kab, keys in by_kab.items():
        attacker.add(keys, ("received", world.first, "by_kabupaten", kab))
    for category, keys in by_category.items():
        attacker.add(keys, ("received", world.first, "by_category", category))
    truth.update(exact_cells(world))
    assert_no_small_count_recovered(attacker, truth)


def exact_cells(world):
    """The export's cells, counted from the reports of the month."""
    from apoa.extensions import db
    from apoa.reports.models import Category, Report
    from apoa.reports.states import State
    from sqlalchemy import func, select

    titles = {s.value: str(s.title) for s in State}
    name = exports._category_name()
    rows = db.session.execute(
        select(Report.kab_id, Report.state, name, func.count())
        .join(Category, Category.id == Report.category_id)
        .where(Report.created_at >= world.month.starts_at, Report.created_at < world.month.ends_at,
               Report.office_id.in_([world.office_a.id, world.office_b.id]))
        .group_by(Report.kab_id, Report.state, name)).all()
    return {("cell", kab, titles[state], category): n for kab, state, category, n in rows}


@pytest.mark.date_sensitive
def test_staff_who_may_view_reports_see_exact_figures_and_what_is_shown_is_right(world):
    s, e = shared(world), exact(world)
    assert not e.suppressed and e.received.value == 9 and e.received_previous.value == 7
    assert {r.label: r.received.value for r in e.by_kabupaten} == {"Kabupaten Karawang": 8, "Kabupaten Bekasi": 1}
    assert all(not c.hidden for c in (e.received, e.closed, e.open_now, *(c for _s, c in e.open_by_state)))
    assert len(e.weekly) == 12                                        # their trend stays the ISO weeks
    # Every count the head is shown is the supervisor's exact one (the weeks: those of the month).
    exact_counts, shown, hidden = truth_of(e), 0, 0
    for key, count in counts_of(s):
        if key[1:3] == (world.first, "week"):
            continue
        if count.shown is None:
            hidden += 1
        else:
            assert count.shown == exact_counts.get(key, 0), key
            shown += 1
    assert shown > 10 and hidden > 3
    days = [(p.start, p.start + timedelta(days=7)) for p in s.weekly]
    assert [p.received.value for p in s.weekly] == [
        exact_received(world, custom_period(first, min(end, world.month.end) - timedelta(days=1)))
        for first, end in days]


@pytest.mark.date_sensitive
def test_a_partner_sees_the_months_shared_figures(world):
    partner = shared_summary(world.office_a.parent, world.month)
    head = shared(world)
    assert partner.workload is None and partner.hotspots == []
    assert [(r.key, str(r.received)) for r in partner.by_kabupaten] == \
        [(r.key, str(r.received)) for r in head.by_kabupaten]
    assert str(partner.received) == str(head.received)


def bekasi_id(s):
    return next(row.key for row in s.by_kabupaten if row.label == "Kabupaten Bekasi")


# --- the guests' table ------------------------------------------------------------------------------------

def test_the_guests_table_gives_no_small_count_back(make, clock):
    """1 German beside 3 British in Karawang's row of 4, Bekasi's 4 Germans: the old rule withheld the 3
    British only, and "< 3" + "–" = 4 with "–" at least 3 gave the 1 back."""
    from tests.guests.test_figures import ANNA, JOHN, Guests

    guests = Guests(make, clock)
    for n in range(3):
        guests.stay(guests.karawang, JOHN, days_ago=10, nights=2, number=f"GB{n}0001")
    guests.stay(guests.karawang, ANNA, days_ago=5, nights=1)
    for n in range(4):
        guests.stay(guests.bekasi, ANNA, days_ago=3, nights=1, number=f"DE{n}0001")
    period = custom_period(clock.today - timedelta(days=27), clock.today)
    head = guest_figures(guests.actors["regional_head"], period, today=clock.today)
    exact_figures = guest_figures(guests.actors["regional_head"], period, suppress=False, today=clock.today)
    attacker, truth = Attacker(), {}

    def see(key, shown, value):
        attacker.see(key, "–" if shown is None else shown)
        truth[key] = value.value

    see("total", head.check_ins, exact_figures.check_ins)
    columns = [code for code, _name in head.columns]
    for row, exact_row in zip(head.by_kabupaten, exact_figures.by_kabupaten):
        see(("kab", row.kab_id), row.check_ins, exact_row.check_ins)
        for code, cell, exact_cell in zip(columns, row.cells, exact_row.cells):
            see(("cell", row.kab_id, code), cell, exact_cell)
        see(("other", row.kab_id), row.other, exact_row.other)
        attacker.add([*(("cell", row.kab_id, c) for c in columns), ("other", row.kab_id)], ("kab", row.kab_id))
    nationalities = {n.code: n for n in head.top_nationalities}
    for n, e in zip(head.top_nationalities, exact_figures.top_nationalities):
        see(("nat", n.code), n.check_ins, e.check_ins)
    for code in columns:
        attacker.add([("cell", row.kab_id, code) for row in head.by_kabupaten], ("nat", code))
    attacker.add([("kab", row.kab_id) for row in head.by_kabupaten], "total")
    attacker.add([("nat", code) for code in nationalities], "total")
    assert truth[("cell", head.by_kabupaten[0].kab_id, "D")] in (1, 4)
    assert_no_small_count_recovered(attacker, truth)


# --- the grid on its own ----------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [
    (1, 3, 10), (1, 3, 3), (1, 1, 10), (2, 2, 10), (1, 2, 5), (2, 3, 3, 9), (1, 1, 1), (2, 2), (1, 4),
])
def test_a_line_of_the_grid_never_gives_a_small_count_back(values):
    """Each line alone, against every assignment a reader could think of: no "< 3" is determined."""
    grid = Grid(give_way=lambda key: 2 if key == "total" else 0)
    parts = [f"c{i}" for i in range(len(values))]
    for key, value in zip(parts, values):
        grid.set(key, value)
    grid.set("total", sum(values))
    grid.add_sum(parts, "total")
    hidden = grid.hidden()
    shown = {key: ("< 3" if grid.is_small(key) else "–" if key in hidden else str(grid.values[key]))
             for key in [*parts, "total"]}
    choices = [sorted(known(shown[key]))[:12] for key in parts]
    totals = known(shown["total"])
    possible = {key: set() for key in parts}
    for assignment in product(*choices):
        if sum(assignment) in totals:
            for key, value in zip(parts, assignment):
                possible[key].add(value)
    for key, value in zip(parts, values):
        if 0 < value < 3:
            assert len(possible[key]) > 1, (values, shown)


def test_the_same_figures_always_hide_the_same_cells():
    def grid():
        g = Grid(give_way=lambda key: 2 if key == "total" else 0)
        for key, value in (("a", 5), ("b", 1), ("c", 4), ("d", 4), ("total", 14)):
            g.set(key, value)
        g.add_sum(["a", "b", "c", "d"], "total")
        return g
    assert grid().withheld() == grid().withheld() == {"c"}           # the smallest that suffices, first added


def test_shared_months_are_whole_months_that_have_ended():
    from datetime import date

    today = date(2026, 12, 5)
    assert shared_month(Period(date(2026, 11, 5), date(2026, 12, 6)), today) == month_of(date(2026, 11, 1))
    assert shared_month(month_of(date(2026, 10, 1)), today) == month_of(date(2026, 10, 1))
    assert shared_month(month_of(date(2026, 12, 1)), today) == month_of(date(2026, 11, 1))
    assert not is_shared_month(month_of(date(2026, 12, 1)), today)
