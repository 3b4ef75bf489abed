"""Periods: runs of whole local days that the dashboard, the monthly report and the regional map
count reports over, and the bounds of every date a user may type.

Days are those of the interface's time zone (Asia/Jakarta): a day starts at its local midnight
(`local_midnight`), and the rollups bucket reports by the same local day.

A period comes from a preset ("last 30 days", "last month", ...) or from two typed dates. It runs
from `start` (included) to `end` (excluded); `first` and `last` are the days shown, both
included. It knows the period it is compared against (`previous()`): the same number of days just
before, or for the calendar presets the same stretch of the week or month before, so "this month
so far" is compared with the same days of last month, not with an arbitrary 24-day run.
"""
import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import format_date, lazy_gettext as _l, to_user_timezone, to_utc

from apoa.errors import UserValueError

# Every date a user types lies between these: earlier or later ones are typing mistakes, and the
# calendar's own edges (year 1, year 9999) overflow the conversion to UTC and the day after.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


def local_today():
    """Today in the interface's time zone."""
    return to_user_timezone(datetime.now(timezone.utc)).date()


def local_midnight(day):
    """The start of `day` in the interface's time zone (Asia/Jakarta), as an aware UTC datetime."""
    return to_utc(datetime.combine(day, time.min)).replace(tzinfo=timezone.utc)


def add_months(day, months):
    """`day` moved by whole months, kept within the target month (31 Mar − 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


# --- presets -------------------------------------------------------------------------------------

class Preset(str, enum.Enum):
    this_week = "this_week"
    last_7_days = "last_7_days"
    last_30_days = "last_30_days"
    last_90_days = "last_90_days"
    last_365_days = "last_365_days"
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
    Preset.last_365_days: _l("Last 365 days"),
    Preset.this_month: _l("This month"),
    Preset.last_month: _l("Last month"),
    Preset.custom: _l("Custom dates"),
}
# "Last N days" are today and the N - 1 days before.
ROLLING_DAYS = {Preset.last_7_days: 7, Preset.last_30_days: 30, Preset.last_90_days: 90,
                Preset.last_365_days: 365}

# How a period steps back to the one it is compared with.
BY_LENGTH, BY_WEEK, BY_MONTH = "length", "week", "month"


# --- the period ----------------------------------------------------------------------------------

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
    def first(self):
        """The first day shown (the same as `start`)."""
        return self.start

    @property
    def last(self):
        """The last day shown, included."""
        return self.end - timedelta(days=1)

    @property
    def starts_at(self):
        """The first moment of the period, an aware UTC datetime."""
        return local_midnight(self.start)

    @property
    def ends_at(self):
        """The first moment after the period, an aware UTC datetime."""
        return local_midnight(self.end)

    def previous(self):
        """The period this one is compared with (see the module docstring)."""
        if self.step == BY_MONTH:
            start = add_months(self.start, -1)
            if self.preset is Preset.this_month:
                # The same days of the month before, never past its end (1-31 Dec: 1-30 Nov).
                end = min(start + (self.end - self.start), self.start)
            else:
                end = add_months(self.end, -1)
            return Period(start, end, self.preset, self.step)
        shift = timedelta(days=7 if self.step == BY_WEEK else self.days)
        return Period(self.start - shift, self.end - shift, self.preset, self.step)

    def label(self):
        """"1 Nov 2026 – 30 Nov 2026" in the user's language (both days included)."""
        return f"{format_date(self.first, 'medium')} – {format_date(self.last, 'medium')}"

    def as_args(self):
        """The query arguments that give this period back through parse_period()."""
        if self.preset is Preset.custom:
            return {"period": self.preset.value, "from": self.first.isoformat(),
                    "to": self.last.isoformat()}
        return {"period": self.preset.value}


def preset_period(preset, today):
    """The period `preset` means on `today` (a local date); periods that run "until now" include
    today."""
    tomorrow = today + timedelta(days=1)
    if preset is Preset.this_week:
        return Period(today - timedelta(days=today.weekday()), tomorrow, preset, BY_WEEK)
    if preset is Preset.this_month:
        return Period(today.replace(day=1), tomorrow, preset, BY_MONTH)
    if preset is Preset.last_month:
        first = today.replace(day=1)
        return Period(add_months(first, -1), first, preset, BY_MONTH)
    return Period(tomorrow - timedelta(days=ROLLING_DAYS[preset]), tomorrow, preset, BY_LENGTH)


def custom_period(first, last, today=None, max_days=None):
    """The days from `first` to `last`, both included. Refused with a message saying what to
    change: dates outside EARLIEST..LATEST, the last before the first, and when given, a first
    day after `today` or more than `max_days` days."""
    if not (within_bounds(first) and within_bounds(last)):
        raise UserValueError(bounds_message())
    if last < first:
        raise UserValueError(_l("The last day (%(last)s) is before the first day (%(first)s).",
                                last=last.isoformat(), first=first.isoformat()))
    if today is not None and first > today:
        raise UserValueError(_l("The period starts in the future: choose a first day up to "
                                "today."))
    if max_days is not None and (last - first).days + 1 > max_days:
        raise UserValueError(_l("A period can be at most %(days)d days long.", days=max_days))
    return Period(first, last + timedelta(days=1), Preset.custom, BY_LENGTH)


def within_bounds(day):
    """Whether `day` (a date or datetime) lies between EARLIEST and LATEST."""
    if isinstance(day, datetime):
        day = day.date()
    return EARLIEST <= day <= LATEST


def bounds_message():
    return _l("Dates must lie between %(earliest)s and %(latest)s.",
              earliest=EARLIEST.isoformat(), latest=LATEST.isoformat())


# --- the dashboard's query arguments -------------------------------------------------------------

MAX_DAYS = 366          # a custom summary longer than a year is refused: use two summaries
# The dashboard's chooser, in its order (a year is a custom period there).
SUMMARY_PRESETS = (Preset.this_week, Preset.last_7_days, Preset.last_30_days, Preset.last_90_days,
                   Preset.this_month, Preset.last_month, Preset.custom)
DEFAULT_PRESET = Preset.last_30_days


def parse_period(args, today=None):
    """The period asked for in `args` (a mapping such as request.args): `period` is a preset name;
    with `period=custom` (or with `from`/`to` and no preset) the two dates, both included, as
    YYYY-MM-DD. No arguments give the last 30 days. Raises UserValueError with a message that says
    what to change."""
    today = today or local_today()
    raw = (args.get("period") or "").strip()
    if not raw:
        raw = Preset.custom.value if (args.get("from") or args.get("to")) else DEFAULT_PRESET.value
    preset = next((p for p in SUMMARY_PRESETS if p.value == raw), None)
    if preset is None:
        raise UserValueError(_l("Unknown period “%(name)s”. Choose one of the periods offered.",
                                name=raw[:40]))
    if preset is not Preset.custom:
        return preset_period(preset, today)
    return custom_period(parse_day(args.get("from"), _l("the first day")),
                         parse_day(args.get("to"), _l("the last day")), today, MAX_DAYS)


def parse_day(raw, which):
    """A date typed as YYYY-MM-DD; `which` names it in the message when it is not one."""
    raw = (raw or "").strip()
    if not raw:
        raise UserValueError(_l("Give %(which)s of the period as a date (YYYY-MM-DD).",
                                which=which))
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise UserValueError(_l("“%(value)s” is not a date: write %(which)s as YYYY-MM-DD, for "
                                "example 2026-11-01.", value=raw[:20], which=which)) from None
