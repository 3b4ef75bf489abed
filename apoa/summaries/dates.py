"""One way of writing dates on each summary page (dashboard, monthly report, regional map).

A page that said "Nov 16, 2026" in its period, "16 Nov 2026" beside an anomaly, "16/11" under a
chart and "11/16/26, 4:55 PM" at its foot made the reader wonder whether these were different
kinds of date. Every full date is now the locale's medium date ("16 Nov 2026" in Indonesian,
"Nov 16, 2026" in English); where room is short (a chart's axis) the same pattern without the
year; a moment is that date with the locale's short time, joined as the locale joins them.
"""
from datetime import datetime

from babel.dates import format_skeleton
from flask_babel import format_date, format_time, get_locale, to_user_timezone


def day_text(day):
    """A day (or the local day of a datetime) as the locale's medium date."""
    return format_date(day, "medium")


def day_month_text(day):
    """The medium date without its year, for an axis ("16 Nov", "Nov 16")."""
    if isinstance(day, datetime):
        day = to_user_timezone(day)
    return format_skeleton("MMMd", day, locale=get_locale())


def moment_text(moment):
    """A datetime as the locale's medium date and short time, in the user's time zone."""
    pattern = get_locale().datetime_formats["medium"]
    return pattern.format(format_time(moment, "short"), format_date(moment, "medium"))
