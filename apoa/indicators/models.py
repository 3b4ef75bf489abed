"""Regional indicators: one `indicator_series` per indicator and year (its unit and source), and
its `indicator_value` per kabupaten/kota.

A series is what one import writes for one column of its file: importing the same indicator for
the same year again replaces the series whole (apoa/indicators/importer.py), so a year never mixes
the figures of two files. The figures are public statistics (BPS tables and the like): they name
no one and are shown without suppression; only counts of reports and guests are suppressed.
"""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (CheckConstraint, DateTime, ForeignKey, Index, Numeric, String, Text,
                        UniqueConstraint, func)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apoa.extensions import db

# An indicator's name as written in a file's header and in the map's addresses: lower case
# letters, digits and "_", starting with a letter.
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
NAME_PATTERN_SQL = f"name ~ '{NAME_PATTERN}'"
FIRST_YEAR, LAST_YEAR = 1900, 2100

# Indicators the rates need, and the titles of common ones; any other name is shown as written.
POPULATION, LODGINGS = "population", "lodgings"
TITLES = {
    POPULATION: _l("Population"),
    "area": _l("Area"),
    LODGINGS: _l("Lodgings"),
    "industrial_estates": _l("Industrial estates"),
    "ports": _l("Ports"),
}


def indicator_title(name):
    """The indicator's title in the page's language, or its name with spaces for one not known."""
    return TITLES.get(name) or name.replace("_", " ")


class IndicatorSeries(db.Model):
    """One indicator for one year: its unit, source, and who imported it when."""

    __tablename__ = "indicator_series"
    __table_args__ = (
        UniqueConstraint("name", "year"),
        CheckConstraint(NAME_PATTERN_SQL, name="name_format"),
        CheckConstraint(f"year BETWEEN {FIRST_YEAR} AND {LAST_YEAR}", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    year: Mapped[int]
    unit: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())

    values = relationship("IndicatorValue", cascade="all, delete-orphan", passive_deletes=True)

    @property
    def title(self):
        return indicator_title(self.name)

    def __repr__(self):
        return f"<IndicatorSeries {self.name} {self.year}>"


class IndicatorValue(db.Model):
    """An indicator's figure for one kabupaten/kota in its series' year."""

    __tablename__ = "indicator_value"
    __table_args__ = (Index("ix_indicator_value_region_id", "region_id"),)

    series_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_series.id", ondelete="CASCADE"), primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"),
                                           primary_key=True)
    value = mapped_column(Numeric, nullable=False)
