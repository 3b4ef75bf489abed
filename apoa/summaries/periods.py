"""The period a summary covers: a run of whole local days (Asia/Jakarta), end exclusive.

A period comes from a preset ("last 30 days", "last month", ...) or from two typed dates, and
knows the period it is compared against (`previous()`): the same number of days just before, or
for the calendar presets the same stretch of the week or month before, so "this month so far"
is compared with the same days of last month, not with an arbitrary 24-day run.

Days are those of the interface's time zone, as apoa.reports.queries.local_midnight counts them,
and the rollups bucket reports by the same local day.
"""
import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import format_date, lazy_gettext as _l, to_user_timezone

from apoa.errors import UserValueError
from apoa.reports.queries import local_midnight

MAX_DAYS = 366          # a custom period longer than a year is refused: use two summaries
EARLIEST = date(2000, 1, 1)


class Preset(str, enum.Enum):
    this_week = "this_week"
    last_7_days = "last_7_days"
    last_30_days = "last_30_days"
    last_90_days = "last_90_days"
    this_month = "this_month"
    last_month = "last_month"
    custom = "custom"

    @property
    def title(self):
        return PRESET_TITLES[self]


PRESET_TITLES = {
    Preset.this_week: _l("This week"),
    Preset.last_7_days: _l("Last 7 days"),
    Preset.last_30_days: _l("Last 30 days"),
    Preset.last_90_days: _l("Last 90 days"),
    Preset.this_month: _l("This month"),
    Preset.last_month: _l("Last month"),
    Preset.custom: _l("Custom dates"),
}
DEFAULT_PRESET = Preset.last_30_days

# How a period steps back to the one it is compared with.
BY_LENGTH, BY_WEEK, BY_MONTH = "length", "week", "month"


@dataclass(frozen=True)
class Period:
    """Local days from `start` (included) to `end` (excluded)."""

    start: date
    end: date
    preset: Preset = Preset.custom
    step: str = BY_LENGTH

    def __post_init__(self):
        if self.end <= self.start:
            raise ValueError("a period ends after it starts")

    @property
    def days(self):
        return (self.end - self.start).days

    @property
    def last_day(self):
        return self.end - timedelta(days=1)

    @property
    def starts_at(self):
        """The first moment of the period, an aware UTC datetime."""
        return local_midnight(self.start)

    @property
    def ends_at(self):
        return local_midnight(self.end)

    def previous(self):
        """The period this one is compared with (see the module docstring)."""
        if self.step == BY_MONTH:
            start = add_months(self.start, -1)
            return Period(start, start + (self.end - self.start) if self.preset is Preset.this_month
                          else add_months(self.end, -1), self.preset, self.step)
        shift = timedelta(days=7 if self.step == BY_WEEK else self.days)
        return Period(self.start - shift, self.end - shift, self.preset, self.step)

    def label(self):
        """"1 Nov 2026 – 30 Nov 2026" in the user's language (both days included)."""
        return f"{format_date(self.start, 'medium')} – {format_date(self.last_day, 'medium')}"

    def as_args(self):
        """The query arguments that give this period back through parse_period()."""
        if self.preset is Preset.custom:
            return {"period": self.preset.value, "from": self.start.isoformat(), "to": self.last_day.isoformat()}
        return {"period": self.preset.value}


def add_months(day, months):
    """`day` moved by whole months, kept within the target month (31 Mar − 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


def local_today():
    """Today in the interface's time zone."""
    return to_user_timezone(datetime.now().astimezone()).date()


def preset_period(preset, today):
    """The period `preset` means on `today` (a local date); periods that run "until now" include today."""
    tomorrow = today + timedelta(days=1)
    if preset is Preset.this_week:
        return Period(today - timedelta(days=today.weekday()), tomorrow, preset, BY_WEEK)
    if preset is Preset.this_month:
        return Period(today.replace(day=1), tomorrow, preset, BY_MONTH)
    if preset is Preset.last_month:
        first = today.replace(day=1)
        return Period(add_months(first, -1), first, preset, BY_MONTH)
    days = {Preset.last_7_days: 7, Preset.last_30_days: 30, Preset.last_90_days: 90}[preset]
    return Period(tomorrow - timedelta(days=days), tomorrow, preset, BY_LENGTH)


def parse_period(args, today=None):
    """The period asked for in `args` (a mapping such as request.args): `period` is a preset name;
    with `period=custom` (or with `from`/`to` and no preset) the two dates, both included, as
    YYYY-MM-DD. No arguments give the last 30 days. Raises UserValueError with a message that says
    what to change."""
    today = today or local_today()
    raw = (args.get("period") or "").strip()
    if not raw:
        raw = Preset.custom.value if (args.get("from") or args.get("to")) else DEFAULT_PRESET.value
    try:
        preset = Preset(raw)
    except ValueError:
        raise UserValueError(_l("Unknown period “%(name)s”. Choose one of the periods offered.",
                                name=raw[:40])) from None
    if preset is not Preset.custom:
        return preset_period(preset, today)
    return custom_period(args.get("from"), args.get("to"), today)


def custom_period(raw_from, raw_to, today):
    start = _parse_day(raw_from, _l("the first day"))
    last = _parse_day(raw_to, _l("the last day"))
    if last < start:
        raise UserValueError(_l("The last day (%(last)s) is before the first day (%(first)s).",
                                last=last.isoformat(), first=start.isoformat()))
    if start > today:
        raise UserValueError(_l("The period starts in the future: choose a first day up to today."))
    if (last - start).days + 1 > MAX_DAYS:
        raise UserValueError(_l("A period can be at most %(days)d days long.", days=MAX_DAYS))
    return Period(start, last + timedelta(days=1), Preset.custom, BY_LENGTH)


def _parse_day(raw, which):
    raw = (raw or "").strip()
    if not raw:
        raise UserValueError(_l("Give %(which)s of the period as a date (YYYY-MM-DD).", which=which))
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise UserValueError(_l("“%(value)s” is not a date: write %(which)s as YYYY-MM-DD, for example 2026-11-01.",
                                value=raw[:20], which=which)) from None
    if day < EARLIEST:
        raise UserValueError(_l("Choose a date from %(year)d on.", year=EARLIEST.year))
    return day
