"""Complementary suppression: figures shared outside the office (regional heads' dashboard, Tim PORA
partners, the monthly report, aggregate exports, the foreign guests' figures) hide every count
from 1 to K−1 ("< 3") and, beside it, enough other counts ("–", withheld) that no hidden count can
be worked out by subtraction (issue 15, item 4).

What an attacker can subtract, and what answers each:

- *A total and its parts.* Each breakdown (by kabupaten/kota, office, category, channel; closed by
  outcome; open now by state; the weeks of the period) adds up to a total shown beside it. Each
  such sum is a line of a `Grid`; a line never holds a single hidden count.
- *Another state's count.* Open now = awaiting screening + in progress, and in progress = the four
  states of the work; each is a line too. Received in a period is *not* open + closed: the closed
  of a period were received in any period, and the open are counted now; there is no such line.
- *What "< 3" and "–" say.* A reader knows a "< 3" is 1 or 2 and a "–" at least K (only counts
  from K on are withheld, never a 0). A line with "< 3" = 1 and one "–" = 3 beside a total of 4
  gives the 1 back (the "–" cannot be 2), and two "< 3" summing to 2 are both 1. So a line is
  safe only when every hidden count in it could be one more or one less with the others still
  within what they show (`Grid.pinned`); a line that is not withholds one more count.
- *The secondary cells* are chosen deterministically: a line's smallest non-zero shown count
  first, the breakdown's cells before its subtotals and its total last (`give_way`), equal ones in
  the order they were added (stable, sorted keys), preferring the first whose withholding makes
  the line safe. The same figures always hide the same cells, so the dashboard, the monthly page
  and its PDF, the exports and a partner's page agree.
- *An overlapping period.* 1–30 Nov less 1–29 Nov is 30 Nov, whatever each page hides; no
  suppression of single pages can stop it. So figures shared outside the office are counted over
  whole calendar months that have ended (`shared_month`, `is_shared_month`), which never overlap:
  the dashboard of who sees aggregates only offers months, the monthly report refuses the month
  still running (its figures would grow day by day), aggregate exports count one month, and
  `shared_summary` (partners) is given the last ended month within the period asked for. A
  month's trend is its own weeks (days 1–7, 8–14, 15–21, 22–28, 29–end: `month_weeks`), which
  never straddle two months, where ISO weeks would (a month less its whole ISO weeks is its
  ragged days).
- *The previous period and the change.* A page shows the month before beside the month: those
  counts are hidden exactly as that month's own page hides them (its own Grid), and a change or a
  share is shown only when every count it rests on is shown on its own page.

Not covered: figures counted "now" (open, overdue, and the states of an export's reports) are a
snapshot; two snapshots taken a day apart differ by the reports that moved in between, which no
suppression of one snapshot can hide. And each scope's page is protected on its own: a Kanwil's
page and its Kantor's (`office=`) share counts (a Kantor's total is a row of the Kanwil's "by
office"), which their Grids do not see together; that would take one Grid over the Kantor ×
breakdown table of the whole jurisdiction.
"""
import math
from datetime import timedelta

from apoa.periods import BY_MONTH, Period, Preset, add_months

K = 3
WITHHELD = "–"      # how a count withheld beside a "< 3" reads
INFINITY = math.inf
TRIES = 8           # candidates tried for a line before taking the smallest anyway


# --- the periods that may be shared --------------------------------------------------------------

def month_of(first):
    """The days of the calendar month starting on `first`, compared with the month before."""
    return Period(first, add_months(first, 1), Preset.custom, BY_MONTH)


def is_shared_month(period, today):
    """Whether `period` is a whole calendar month that has ended by `today` (a local date)."""
    return (period.start.day == 1 and period.end == add_months(period.start, 1)
            and period.end <= today)


def shared_month(period, today):
    """`period` itself when it is a whole ended month, otherwise the last month that ended by the
    end of `period` (and by `today`): the figures a head or a partner may see for it."""
    if is_shared_month(period, today):
        return month_of(period.start)
    end = min(period.end, today).replace(day=1)
    return month_of(add_months(end, -1))


def month_weeks(period):
    """[(first, end)] of the period's own weeks, counted from its first day (the last one may be
    shorter): for a month 1–7, 8–14, 15–21, 22–28 and 29 to its end."""
    starts = []
    day = period.start
    while day < period.end:
        starts.append(day)
        day += timedelta(days=7)
    return [(start, min(start + timedelta(days=7), period.end)) for start in starts]


# --- the grid ------------------------------------------------------------------------------------

class Grid:
    """Counts (`values`: {key: int}) and the lines that tie them (each sum: parts = total, or any
    two sides that are equal), from which `withheld()` picks the counts to hide beside the "< 3".

    Keys are added with `set` in a stable order. Besides the counts of this page: `unknown` keys
    are not shown at all (anything from 0 on), `fixed_shown` keys are shown elsewhere (a page
    this one must agree with) and are never withheld, `fixed_hidden` ones are hidden elsewhere."""

    def __init__(self, suppress=True, give_way=None, k=K):
        self.suppress, self.k = suppress, k
        self.give_way = give_way or (lambda key: 1)
        self.values, self.order = {}, {}
        self.lines = []
        self.unknown, self.fixed_shown, self.fixed_hidden = set(), set(), set()
        self._withheld = None

    def set(self, key, value):
        if key not in self.order:
            self.order[key] = len(self.order)
        self.values[key] = int(value or 0)
        self._withheld = None

    def set_unknown(self, keys):
        """The keys not shown at all (anything from 0 on, to a reader)."""
        self.unknown = set(keys)
        self._withheld = None

    def add_sum(self, parts, total):
        """`parts` add up to `total` (keys)."""
        self.add_equation(parts, (total,))

    def add_equation(self, left, right):
        """The counts of `left` add up to those of `right`."""
        for key in (*left, *right):
            self.values.setdefault(key, 0)
            self.order.setdefault(key, len(self.order))
        self.lines.append((tuple(left), tuple(right)))
        self._withheld = None

    # --- what is hidden -------------------------------------------------------------------------

    def is_small(self, key):
        return 0 < self.values.get(key, 0) < self.k

    def primaries(self):
        return {key for key in self.values if self.is_small(key)}

    def withheld(self):
        """The keys withheld here ("–") beside the "< 3" ones (none when not suppressing)."""
        if self._withheld is None:
            self._withheld = self._solve() if self.suppress else set()
        return self._withheld

    def hidden(self):
        """Every key a reader of this page does not see the number of."""
        if not self.suppress:
            return set(self.unknown)
        return self.primaries() | self.unknown | self.fixed_hidden | self.withheld()

    def is_hidden(self, key):
        return self.suppress and (self.is_small(key) or key in self.unknown
                                  or key in self.fixed_hidden or key in self.withheld())

    def is_withheld(self, key):
        """Hidden here although not below K: shown as "–"."""
        return key in self.withheld() or (key in self.fixed_hidden and not self.is_small(key))

    def shown(self):
        """{key: (value, below K and hidden, withheld)} of every count: how the page shows it."""
        withheld = self.withheld()
        small = self.k if self.suppress else 0
        return {key: (value, 0 < value < small,
                      key in withheld or (key in self.fixed_hidden and value >= self.k))
                for key, value in self.values.items()}

    def unsafe_lines(self):
        """Lines in which a hidden count can still be worked out (none can be withheld in them:
        every other count is shown elsewhere); the caller must hide more itself."""
        hidden = self.hidden()
        return [line for line in self.lines if self.pinned(line, hidden)]

    # --- the search -----------------------------------------------------------------------------

    def _solve(self):
        hidden = self.primaries() | self.unknown | self.fixed_hidden
        withheld = set()
        lines_of = {}
        for index, line in enumerate(self.lines):
            for side in line:
                for key in side:
                    lines_of.setdefault(key, []).append(index)
        # Every line once, then again each line a newly withheld count lies on, until none is left.
        pending = list(range(len(self.lines)))
        while pending:
            index = min(pending)
            pending.remove(index)
            line = self.lines[index]
            if not self.pinned(line, hidden):
                continue
            key = self._complement(line, hidden)
            if key is not None:
                hidden.add(key)
                withheld.add(key)
                pending = sorted(set(pending) | set(lines_of[key]))
        return withheld - self.unknown - self.fixed_hidden

    def _complement(self, line, hidden):
        """The count this line withholds next: the first of its smallest shown ones (totals last)
        that makes it safe, or the very first when none does alone."""
        keys = {key for side in line for key in side}
        candidates = sorted((key for key in keys
                             if key not in hidden and key not in self.fixed_shown
                             and self.values[key]),
                            key=lambda key: (self.give_way(key), self.values[key], self.order[key]))
        for key in candidates[:TRIES]:
            if not self.pinned(line, hidden | {key}):
                return key
        return candidates[0] if candidates else None

    def _domain(self, key):
        """What a reader knows of a hidden count: (lowest, highest)."""
        if key in self.unknown:
            return 0, INFINITY
        if self.is_small(key):
            return 1, self.k - 1
        return self.k, INFINITY

    def pinned(self, line, hidden):
        """The hidden non-zero counts of `line` that the line gives back: those that could be
        neither one more nor one less while the line's other hidden counts stay within what
        they show. (An exact check for one line; lines are checked one by one, and a count
        given back by one line is withheld beside another, so the search reaches them all.)"""
        terms = []      # (key, sign, lowest and highest change of sign × count)
        for sign, side in ((1, line[0]), (-1, line[1])):
            for key in side:
                if key in hidden:
                    low, high = self._domain(key)
                    value = self.values[key]
                    a, b = sign * (low - value), sign * (high - value)
                    terms.append((key, sign, min(a, b), max(a, b)))
        if not terms:
            return []
        low_sum = sum(t[2] for t in terms if t[2] != -INFINITY)
        low_open = sum(1 for t in terms if t[2] == -INFINITY)
        high_sum = sum(t[3] for t in terms if t[3] != INFINITY)
        high_open = sum(1 for t in terms if t[3] == INFINITY)
        pinned = []
        for key, sign, low, high in terms:
            if not self.values[key]:
                continue                    # a hidden 0 (not shown at all) names no one
            # How far the line's other hidden counts can move, together.
            others_low = (-INFINITY if low_open - (low == -INFINITY) > 0
                          else low_sum - (0 if low == -INFINITY else low))
            others_high = (INFINITY if high_open - (high == INFINITY) > 0
                           else high_sum - (0 if high == INFINITY else high))
            lowest, highest = self._domain(key)
            value = self.values[key]
            # One more here is one less (sign × 1) elsewhere, and the other way round.
            up = value + 1 <= highest and (others_low <= -1 if sign > 0 else others_high >= 1)
            down = value - 1 >= lowest and (others_high >= 1 if sign > 0 else others_low <= -1)
            if not (up or down):
                pinned.append(key)
        return pinned
