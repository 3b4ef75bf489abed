"""The tests' clock: no test answers differently on another day (registered by `pytest_plugins` in
tests/conftest.py).

- `clock`: holds Python's wall clock (datetime.now, time.time, in every thread of this process,
  the browser tests' live server included) at a fixed instant, by default ORDINARY, a Wednesday
  morning. A test marked `date_sensitive` (or using the clock in a module so marked) runs once
  at each of INSTANTS instead: a Friday 16:55 WIB (the weekend starts before the working day
  is over); the last day of a month, a Friday, at 06:30 WIB and 29 February 2028 at 00:30 WIB
  (UTC's calendar still shows the day before); 31 December ten minutes before the local new
  year. Expectations come from `clock` (or the hand-made tables below), never from today.
- `--today=2027-02-26T16:55+07:00` (or APOA_TEST_TODAY): the whole run starts at that instant,
  the clock ticking from there. Running test files at a few such dates shows that they do not
  depend on today's date.

The clock does not reach PostgreSQL: now(), the server default of every created_at, keeps the
real date. A test comparing rows' times with the clock sets those times itself (the factories
stamp a report and its first event with the clock; apply() stamps events with now()). Nor does
it reach other processes (the job worker, Chromium).
"""
import os
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine

WIB = ZoneInfo("Asia/Jakarta")


def wib(year, month, day, hour, minute):
    """A local (Jakarta) wall-clock time as an aware UTC datetime: a UTC instant moves the clock
    without touching the process's TZ, which a ZoneInfo destination would set."""
    return datetime(year, month, day, hour, minute, tzinfo=WIB).astimezone(timezone.utc)


ORDINARY = "wednesday"
INSTANTS = {
    ORDINARY: wib(2026, 11, 18, 10, 0),
    "friday-1655": wib(2026, 11, 20, 16, 55),
    "month-end": wib(2027, 4, 30, 6, 30),       # a Friday; UTC: Thursday 29 April, 23:30
    "dec-31": wib(2026, 12, 31, 23, 50),        # a Thursday
    "leap-day": wib(2028, 2, 29, 0, 30),        # a Tuesday; UTC: 28 February, 17:30
}
# By hand: the moment 1, 2 and 3 working days (Monday to Friday in Jakarta; holidays are not
# counted) after each instant, on a Jakarta wall clock.
WORKING_DAYS_LATER = {
    ORDINARY: ("2026-11-19 10:00", "2026-11-20 10:00", "2026-11-23 10:00"),
    "friday-1655": ("2026-11-23 16:55", "2026-11-24 16:55", "2026-11-25 16:55"),
    "month-end": ("2027-05-03 06:30", "2027-05-04 06:30", "2027-05-05 06:30"),
    "dec-31": ("2027-01-01 23:50", "2027-01-04 23:50", "2027-01-05 23:50"),
    "leap-day": ("2028-03-01 00:30", "2028-03-02 00:30", "2028-03-03 00:30"),
}
def working_days_later(clock, days):
    """The moment `days` (1-3) working days after the clock's instant, from WORKING_DAYS_LATER, as
    an aware UTC datetime."""
    local = datetime.strptime(WORKING_DAYS_LATER[clock.name][days - 1], "%Y-%m-%d %H:%M")
    return local.replace(tzinfo=WIB).astimezone(timezone.utc)


class Clock:
    """The fixed wall clock of one test: where it stands, in UTC and in Jakarta, and moving it."""

    def __init__(self, traveller, name):
        self._traveller = traveller
        self.name = name
        self.start = INSTANTS[name]
        traveller.move_to(self.start, tick=False)

    @property
    def now(self):
        """Now, an aware UTC datetime."""
        return datetime.now(timezone.utc)

    @property
    def local(self):
        """Now on a Jakarta wall clock."""
        return self.now.astimezone(WIB)

    @property
    def today(self):
        """Today in Jakarta (the interface's time zone)."""
        return self.local.date()

    def at(self, day, hour=0, minute=0):
        """`day` (a date) at `hour`:`minute` in Jakarta, as an aware UTC datetime."""
        return datetime.combine(day, time(hour, minute), tzinfo=WIB).astimezone(timezone.utc)

    def move_to(self, instant, tick=False):
        """Moves the clock to `instant` (an aware datetime); with `tick` it runs on from there."""
        self._traveller.move_to(instant.astimezone(timezone.utc), tick=tick)

    def advance(self, delta):
        """Moves the clock forward by `delta` (a timedelta)."""
        self._traveller.shift(delta)

    def run(self):
        """Lets the clock run on from where it stands, for code that waits for time to pass."""
        self.move_to(self.now, tick=True)


@pytest.fixture
def clock(request, time_machine):
    """The wall clock held at ORDINARY, or at each of INSTANTS for a `date_sensitive` test."""
    return Clock(time_machine, getattr(request, "param", ORDINARY))


def pytest_collection_modifyitems(items):
    """The clock is set before any other fixture of the test runs (a client signed in before it
    would carry a sign-in time from another day)."""
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names and "clock" in names:
            names.remove("clock")
            names.insert(0, "clock")


def pytest_generate_tests(metafunc):
    """A `date_sensitive` test runs at each of INSTANTS; in a module or class marked so, those
    tests that use the clock (directly or through their fixtures)."""
    if metafunc.definition.get_closest_marker("date_sensitive") is None:
        return
    if "clock" in metafunc.fixturenames:
        metafunc.parametrize("clock", list(INSTANTS), indirect=True, ids=list(INSTANTS))
    elif any(mark.name == "date_sensitive" for mark in metafunc.definition.own_markers):
        raise pytest.UsageError(f"{metafunc.definition.nodeid} is date_sensitive but does not use "
                                "the `clock` fixture")


# --- the whole run at another date ---------------------------------------------------------------

TODAY_HELP = ("run the tests as if now were this instant (ISO 8601, e.g. 2027-02-26T16:55+07:00), "
              "the clock ticking from there; default: $APOA_TEST_TODAY")
_TRAVEL = pytest.StashKey()


def pytest_addoption(parser):
    parser.addoption("--today", default=os.environ.get("APOA_TEST_TODAY"), help=TODAY_HELP)


def pytest_configure(config):
    config.addinivalue_line("markers", "date_sensitive: runs once at each instant of "
                                       "tests/clock.py INSTANTS (needs the `clock` fixture)")
    raw = config.getoption("--today")
    if raw:
        travel = time_machine.travel(parse_today(raw), tick=True)
        travel.start()
        config.stash[_TRAVEL] = travel


def pytest_unconfigure(config):
    travel = config.stash.get(_TRAVEL, None)
    if travel is not None:
        travel.stop()


def pytest_report_header(config):
    travel = config.stash.get(_TRAVEL, None)
    if travel is not None:
        return f"clock: the run starts at {datetime.now(timezone.utc).isoformat()} (--today)"
    return None


def parse_today(raw):
    """An ISO 8601 date or instant; a date means 09:00 in Jakarta, a time without offset
    Jakarta's time."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise pytest.UsageError(f"--today: “{raw}” is not an ISO 8601 date or time") from None
    if len(raw) == 10:
        moment = datetime.combine(date.fromisoformat(raw), time(9, 0))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=WIB)
    return moment.astimezone(timezone.utc)

