"""Regional indicators per kabupaten/kota of a user's jurisdiction, for a year (the latest when
none is given), and the rates built from them: reports per 100,000 residents and foreign guests
per lodging over a period.

The jurisdiction is the regional map's (apoa/maps/regional.py `jurisdiction_of`): a Kantor's
kabupaten/kota, a Kanwil's Kantor's, every one for the Ditjen. Report counts are the map's own
(`area_counts`, through `visible(..., view_aggregates)`); guest check-ins are counted as the
heads' guest figures count them (apoa/guests/figures.py): a stay that is not cancelled, on the
local day it checked in, plus the GuestTally rows kept for deleted stays.

Privacy. The indicators are public statistics and are shown as they are. A rate is shown only
when its count is 0 or at least SUPPRESS_BELOW: a rate of one or two reports (or guests) and a
public population gives the count back by multiplication, so it is suppressed like the count.
"""
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from apoa.extensions import db
from apoa.guests.models import GuestTally, Stay, StayState
from apoa.indicators.models import LODGINGS, POPULATION, IndicatorSeries, IndicatorValue
from apoa.maps.regional import SUPPRESS_BELOW, area_counts, jurisdiction_areas, jurisdiction_of
from apoa.regions.models import RegionLevel


# --- the series ----------------------------------------------------------------------------------

def all_series():
    """[(IndicatorSeries, number of regions with a figure)] by name, newest year first."""
    counted = (select(IndicatorValue.series_id, func.count().label("n"))
               .group_by(IndicatorValue.series_id).subquery())
    return db.session.execute(
        select(IndicatorSeries, func.coalesce(counted.c.n, 0))
        .outerjoin(counted, counted.c.series_id == IndicatorSeries.id)
        .order_by(IndicatorSeries.name, IndicatorSeries.year.desc())).all()


def indicator_names():
    """The names of every imported indicator, sorted."""
    return db.session.scalars(select(IndicatorSeries.name).distinct()
                              .order_by(IndicatorSeries.name)).all()


def years():
    """Every year with at least one indicator, newest first."""
    return db.session.scalars(select(IndicatorSeries.year).distinct()
                              .order_by(IndicatorSeries.year.desc())).all()


def latest_year():
    return db.session.scalar(select(func.max(IndicatorSeries.year)))


def series_of(name, year=None):
    """The series of indicator `name` for `year` when given, of its latest year otherwise; None
    when there is none."""
    query = select(IndicatorSeries).where(IndicatorSeries.name == name)
    if year is not None:
        query = query.where(IndicatorSeries.year == year)
    return db.session.scalar(query.order_by(IndicatorSeries.year.desc()).limit(1))


def values_of(series, jurisdiction):
    """{kabupaten/kota id: Decimal} of `series` within `jurisdiction`."""
    query = select(IndicatorValue.region_id, IndicatorValue.value).where(
        IndicatorValue.series_id == series.id)
    if not jurisdiction.everywhere:
        query = query.where(IndicatorValue.region_id.in_(jurisdiction.kab_ids))
    return dict(db.session.execute(query).all())


# --- the values of a year, per kabupaten/kota ---------------------------------------------------

@dataclass(frozen=True)
class IndicatorRow:
    kab_id: int
    kode: str
    nama: str
    values: dict            # {name: Decimal}; an indicator without a figure is left out


def indicator_table(user, year=None):
    """(year, [IndicatorSeries of that year], [IndicatorRow] of every kabupaten/kota of the user's
    jurisdiction, by code); the latest year with any indicator when `year` is None."""
    year = year if year is not None else latest_year()
    jurisdiction = jurisdiction_of(user)
    series = db.session.scalars(select(IndicatorSeries).where(IndicatorSeries.year == year)
                                .order_by(IndicatorSeries.name)).all()
    figures = {s.name: values_of(s, jurisdiction) for s in series}
    rows = [IndicatorRow(kab_id, kode, nama,
                         {name: v[kab_id] for name, v in figures.items() if kab_id in v})
            for kab_id, kode, nama in kabupaten_of(jurisdiction)]
    return year, series, rows


def kabupaten_of(jurisdiction):
    """[(id, kode, nama)] of the jurisdiction's kabupaten/kota, by code."""
    return jurisdiction_areas(jurisdiction)


# --- counts the rates divide ---------------------------------------------------------------------

def report_counts(user, jurisdiction, selection):
    """{kab_id: reports} in the selection (the regional map's counts)."""
    return area_counts(user, jurisdiction, RegionLevel.kabupaten_kota, selection)


def guest_counts(user, jurisdiction, selection):
    """{kab_id: foreign guests checked in during the selection's period}: stays not cancelled,
    and the tallies of deleted ones."""
    period = selection.period
    stays = select(Stay.kab_id, func.count()).where(
        Stay.state != StayState.cancelled.value, Stay.checked_in_at >= period.starts_at,
        Stay.checked_in_at < period.ends_at).group_by(Stay.kab_id)
    tallies = select(GuestTally.kab_id, func.sum(GuestTally.check_ins)).where(
        GuestTally.day >= period.start, GuestTally.day < period.end).group_by(GuestTally.kab_id)
    if not jurisdiction.everywhere:
        stays = stays.where(Stay.kab_id.in_(jurisdiction.kab_ids))
        tallies = tallies.where(GuestTally.kab_id.in_(jurisdiction.kab_ids))
    counts = dict(db.session.execute(stays).all())
    for kab_id, n in db.session.execute(tallies).all():
        counts[kab_id] = counts.get(kab_id, 0) + int(n)
    return counts


# --- rates ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rate:
    """A count per unit of an indicator: `count` per `per` of `indicator`."""

    key: str
    title: object
    indicator: str
    per: int
    count: object               # (user, jurisdiction, selection) -> {kab_id: int}
    counted: object             # what is counted, for the legend's "fewer than 3 ..."
    digits: int = 1


RATES = {
    "reports_per_100k": Rate("reports_per_100k", _l("Reports per 100,000 residents"),
                             POPULATION, 100_000, report_counts, _l("reports")),
    "guests_per_lodging": Rate("guests_per_lodging", _l("Foreign guests per lodging"),
                               LODGINGS, 1, guest_counts, _l("foreign guests")),
}


@dataclass(frozen=True)
class AreaRate:
    """An area's rate: `value` None when it has no figure to divide by (`denominator`), or when
    `suppressed` (its count is 1 or 2)."""

    count: int
    denominator: Decimal | None
    value: Decimal | None
    suppressed: bool = False


def area_rate(count, denominator, per):
    """The AreaRate of `count` over `denominator` (None or <= 0: no rate)."""
    if 0 < count < SUPPRESS_BELOW:
        return AreaRate(count, denominator, None, suppressed=True)
    if denominator is None or denominator <= 0:
        return AreaRate(count, denominator, None)
    return AreaRate(count, denominator, Decimal(count) * per / Decimal(denominator))


def rates(user, rate, selection, year=None, jurisdiction=None):
    """(the denominator's IndicatorSeries or None, {kab_id: AreaRate} of every kabupaten/kota of
    the jurisdiction, by code) for `rate` over the selection's period; the indicator's `year`,
    its latest when None."""
    jurisdiction = jurisdiction or jurisdiction_of(user)
    series = series_of(rate.indicator, year)
    denominators = values_of(series, jurisdiction) if series else {}
    counts = rate.count(user, jurisdiction, selection)
    return series, {kab_id: area_rate(counts.get(kab_id, 0), denominators.get(kab_id), rate.per)
                    for kab_id, _kode, _nama in kabupaten_of(jurisdiction)}
