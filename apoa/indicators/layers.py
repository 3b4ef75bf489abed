"""The regional map's other layers (apoa/maps/regional.py draws the reports): an indicator, or a
rate (apoa/indicators/queries.py RATES), per kabupaten/kota of the user's jurisdiction, with a
legend that names the indicator, its unit, year and source.

A layer is named in the map's address as `layer=`: "reports" (regional.py), "indicator:NAME"
(e.g. "indicator:population"), or a rate's key ("reports_per_100k", "guests_per_lodging"). These
layers are drawn per kabupaten/kota at every zoom: the figures exist for nothing smaller.

Bands are quantiles of the values of every kabupaten/kota of the jurisdiction (as for counts,
the legend stays put while the user pans). Band "none" is an area without a figure ("–"), or for
a rate one whose count is 0 ("0"); band 0 a rate whose count is 1 or 2: "< 3", never the rate,
and such areas sort by name in the table. An indicator's figures are public and never hidden.

Figures shared outside the office (regional.py: a month, for who sees aggregates only): a rate
times its public denominator gives its count back, so an area whose count the month's figures
withhold ("–") has its rate withheld too — the reports' from the regional map's Grid of the
month (the same column as the reports layer), the foreign guests' as the guests' figures of the
month hide their check-ins per kabupaten/kota (apoa/guests/figures.py). Such an area shows "–"
for the count and the rate, is drawn like a "< 3", sorts with them by name, and its rate is left
out of the bands.
"""
import json
import math
from dataclasses import dataclass

from flask_babel import format_decimal, format_number, gettext as _, lazy_gettext as _l

from apoa.errors import UserValueError
from apoa.guests.figures import guest_figures
from apoa.indicators import queries
from apoa.indicators.models import indicator_title
from apoa.maps import regional
from apoa.regions.models import RegionLevel
from apoa.summaries.suppression import WITHHELD

REPORTS = regional.REPORTS_LAYER
INDICATOR_PREFIX = "indicator:"
NO_FIGURE = "–"
VALUE_FORMAT, RATE_FORMAT = "#,##0.##", "#,##0.0"


# --- which layers ------------------------------------------------------------------------------

def layer_choices():
    """[(key, title)] the map offers: the reports, each imported indicator, and each rate whose
    indicator has been imported."""
    names = queries.indicator_names()
    return ([(REPORTS, _l("Reports"))]
            + [(INDICATOR_PREFIX + name, indicator_title(name)) for name in names]
            + [(key, rate.title) for key, rate in queries.RATES.items() if rate.indicator in names])


def year_choices():
    return [("", _l("Latest"))] + [(str(year), str(year)) for year in queries.years()]


def parse_year(raw):
    """None for "the latest", else the year; UserValueError otherwise."""
    if not raw:
        return None
    if not raw.isdigit():
        raise UserValueError(_l("Unknown year."))
    return int(raw)


# --- one layer's figures -------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerFigures:
    """An indicator's or a rate's properties per kabupaten/kota, and what its legend says."""

    title: str
    series: object              # the IndicatorSeries shown or divided by; None without any
    properties: dict            # {kab_id: {"band", "label", maybe "value"}}
    legend: list
    tooltip: str
    columns: list               # the table's column titles after the region's name
    cells: dict                 # {kab_id: [text per column]}
    order: dict                 # {kab_id: sort key, before the region's name}

    def head(self):
        """The layer's title, unit, year and source, for the legend and the page."""
        series = self.series
        return {"title": self.title, "unit": series.unit if series else None,
                "year": series.year if series else None,
                "source": series.source if series else None,
                "sourceLine": source_line(series)}


def source_line(series):
    if series is None:
        return _("No figure has been imported for this layer.")
    return _("%(indicator)s %(year)d (%(unit)s). Source: %(source)s",
             indicator=series.title, year=series.year, unit=series.unit, source=series.source)


def layer_figures(user, selection, jurisdiction=None):
    """The LayerFigures of the selection's layer (not the reports)."""
    jurisdiction = jurisdiction or regional.jurisdiction_of(user)
    if selection.layer.startswith(INDICATOR_PREFIX):
        return _indicator(selection.layer[len(INDICATOR_PREFIX):], selection.year, jurisdiction)
    rate = queries.RATES.get(selection.layer)
    if rate is None:
        raise UserValueError(_l("Unknown layer: choose one of the layers offered."))
    return _rate(user, rate, selection, jurisdiction)


def _indicator(name, year, jurisdiction):
    series = queries.series_of(name, year)
    values = queries.values_of(series, jurisdiction) if series else {}
    bands = value_bands(values.values())
    properties, cells, order = {}, {}, {}
    for kab_id, _kode, _nama in queries.kabupaten_of(jurisdiction):
        value = values.get(kab_id)
        properties[kab_id] = _valued(value, bands, VALUE_FORMAT)
        cells[kab_id] = [properties[kab_id]["label"]]
        order[kab_id] = (value is None, -(value or 0))
    title = _with_unit(indicator_title(name), series)
    legend = ([{"band": regional.NO_REPORTS_BAND, "label": NO_FIGURE, "note": _("no figure")}]
              + _band_entries(bands, VALUE_FORMAT))
    tooltip = "%(name)s: %(count)s" + (f" {series.unit}" if series else "")
    return LayerFigures(title, series, properties, legend, tooltip, [title], cells, order)


@dataclass(frozen=True)
class Withheld:
    """An AreaRate whose count the month's shared figures withhold: neither count nor rate."""

    area: object
    value = None
    suppressed = False
    withheld = True

    @property
    def count(self):
        return self.area.count

    @property
    def denominator(self):
        return self.area.denominator


def withheld_counts(user, rate, selection, jurisdiction):
    """The kabupaten/kota ids whose count of `rate` the month shared outside the office withholds
    ("–"); none for staff."""
    if not selection.shared:
        return set()
    if rate.key == "guests_per_lodging":
        guests = guest_figures(user, selection.period, suppress=True)
        # The guests' figures give a withheld count as None.
        return {row.kab_id for row in guests.by_kabupaten if row.check_ins is None}
    column = regional.area_figures(user, jurisdiction, RegionLevel.kabupaten_kota, selection)
    return {kab_id for kab_id, (_n, _small, withheld) in column.items() if withheld}


def _rate(user, rate, selection, jurisdiction):
    series, area_rates = queries.rates(user, rate, selection, selection.year, jurisdiction)
    withheld = withheld_counts(user, rate, selection, jurisdiction)
    # A withheld count's rate is never shown, so it cuts no band either.
    area_rates = {kab_id: Withheld(area) if kab_id in withheld else area
                  for kab_id, area in area_rates.items()}
    values = [r.value for r in area_rates.values() if r.value]
    bands = value_bands(values)
    properties, cells, order = {}, {}, {}
    for kab_id, area in area_rates.items():
        properties[kab_id] = _rated(area, bands)
        figure = area.denominator
        cells[kab_id] = [_count_label(area), NO_FIGURE if figure is None
                         else _number(figure, VALUE_FORMAT), properties[kab_id]["label"]]
        # The region's name completes the key in layer_table.
        order[kab_id] = (_rate_group(area), -(area.value or 0))
    legend = ([{"band": regional.NO_REPORTS_BAND, "label": "0",
                "note": _("none counted")},
               {"band": regional.NO_REPORTS_BAND, "label": NO_FIGURE, "note": _("no figure")},
               {"band": 0, "label": regional.SUPPRESSED_LABEL,
                "note": _("fewer than %(k)d %(counted)s: rate hidden", k=regional.SUPPRESS_BELOW,
                          counted=rate.counted)}]
              + ([{"band": 0, "label": WITHHELD,
                   "note": _("withheld, so that no “< 3” can be worked out: rate hidden")}]
                 if selection.shared else [])
              + _band_entries(bands, RATE_FORMAT))
    columns = [str(rate.counted).capitalize(),
               _with_unit(indicator_title(rate.indicator), series), str(rate.title)]
    return LayerFigures(str(rate.title), series, properties, legend, "%(name)s: %(count)s",
                        columns, cells, order)


def _count_label(area):
    if area.suppressed:
        return regional.SUPPRESSED_LABEL
    if getattr(area, "withheld", False):
        return WITHHELD
    return format_number(area.count)


def _rate_group(area):
    """Rates first (largest first), then the hidden ones ("< 3" and "–"), then those counting
    none, then those without a figure; within a group by name (never by a hidden count)."""
    if area.suppressed or getattr(area, "withheld", False):
        return 1
    if area.count == 0:
        return 2
    return 0 if area.value is not None else 3


def _with_unit(title, series):
    return f"{title} ({series.unit})" if series is not None else str(title)


# --- bands ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValueBand:
    number: int
    low: object         # the smallest value in the band
    high: object        # the largest, included


def value_bands(values, classes=regional.CLASSES):
    """Up to `classes` bands split at the values' quantiles (equal numbers of areas per band;
    ties merge bands), each from its smallest value to its largest."""
    values = sorted(values)
    if not values:
        return []
    highs = sorted({values[math.ceil(len(values) * k / classes) - 1]
                    for k in range(1, classes + 1)})
    bands, previous = [], None
    for number, high in enumerate(highs, start=1):
        low = next(v for v in values if previous is None or v > previous)
        bands.append(ValueBand(number, low, high))
        previous = high
    return bands


def _band_entries(bands, pattern):
    entries = []
    for band in bands:
        low, high = _number(band.low, pattern), _number(band.high, pattern)
        entries.append({"band": band.number, "label": low if low == high else f"{low}–{high}"})
    return entries


def _number(value, pattern):
    return format_decimal(value, format=pattern)


def _band_of(value, bands):
    return next(b.number for b in bands if value <= b.high)


def _valued(value, bands, pattern):
    if value is None:
        return {"band": regional.NO_REPORTS_BAND, "label": NO_FIGURE}
    return {"band": _band_of(value, bands), "label": _number(value, pattern),
            "value": float(value)}


def _rated(area, bands):
    if area.suppressed:
        return {"band": 0, "label": regional.SUPPRESSED_LABEL}
    if getattr(area, "withheld", False):
        return {"band": 0, "label": WITHHELD}
    if area.count == 0:
        return {"band": regional.NO_REPORTS_BAND, "label": "0"}
    return _valued(area.value, bands, RATE_FORMAT)


# --- the map's data and the page's table ---------------------------------------------------------

def layer_json(user, bbox, zoom, selection):
    """The map's answer for a layer other than the reports, as JSON text (the shape of
    regional.choropleth_json, with the layer's title, unit, year and source)."""
    jurisdiction = regional.jurisdiction_of(user)
    figures = layer_figures(user, selection, jurisdiction)
    level = RegionLevel.kabupaten_kota
    counted = {str(kab_id): props for kab_id, props in figures.properties.items()}
    head = json.dumps({
        "level": level.value, "state": selection.state, "legend": figures.legend,
        "layer": {"key": selection.layer, "tooltip": figures.tooltip, **figures.head()},
        "period": selection.period_json(),
    }, ensure_ascii=False)
    areas = regional.areas_geojson(jurisdiction, level, bbox, zoom, counted)
    return f'{head[:-1]}, "areas": {areas}}}'


@dataclass(frozen=True)
class LayerRow:
    kode: str
    nama: str
    band: int | str
    label: str
    cells: list


def layer_table(user, selection):
    """(LayerFigures, [LayerRow]) of every kabupaten/kota of the jurisdiction, largest first,
    suppressed rates by name, areas without a figure last."""
    jurisdiction = regional.jurisdiction_of(user)
    figures = layer_figures(user, selection, jurisdiction)
    rows = [((*figures.order[kab_id], nama, kode),
             LayerRow(kode, nama, figures.properties[kab_id]["band"],
                      figures.properties[kab_id]["label"], figures.cells[kab_id]))
            for kab_id, kode, nama in queries.kabupaten_of(jurisdiction)]
    return figures, [row for _key, row in sorted(rows, key=lambda pair: pair[0])]
