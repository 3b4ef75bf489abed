"""Charts drawn by the server as SVG: no JavaScript, nothing from elsewhere, the same markup on the
dashboard, the printable monthly report and its PDF.

Each chart is a <figure> holding an <svg role="img"> named by its <title> and described by its
<desc> (aria-labelledby), and the same numbers as a table in a <details> beside it, for screen
readers and for anyone who wants the figures. The SVG has a viewBox and no fixed size, so it scales
to the width it is given (a 360 px phone included); the stylesheet caps its width on large
screens. Colours are presentation attributes (the PDF renderer reads those; CSS classes let the
page restyle them), never style="" (the CSP forbids it).

A count that must not be shown (fewer than 3 reports, for who sees aggregates only) has no value:
it is drawn as a dashed outline up to 3 ("somewhere below 3"), and the table says "< 3". A count
withheld beside one ("–", apoa/summaries/suppression.py) is drawn as nothing but its "–": any
length would tell something of it.
"""
from dataclasses import dataclass

from flask_babel import format_decimal, gettext as _
from markupsafe import Markup

from apoa.summaries.dates import day_month_text, day_text
from apoa.summaries.suppression import K, WITHHELD

WIDTH = 320
FONT = 11
BAR_ROW = 30            # a label line above each bar, then the bar
BAR_HEIGHT = 12
PALETTE = {"received": "#1d5fa6", "closed": "#2e7d4f", "suppressed": "#8a8f98", "grid": "#d5d9e0",
           "text": "#1f2430", "muted": "#5b6270"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None       # None: suppressed
    text: str               # what the table and the bar's end say ("12", "< 3")


@dataclass(frozen=True)
class Column:
    label: str              # the x-axis label ("3 Nov")
    long_label: str         # the table's row header ("week of 3 Nov 2026")
    values: tuple           # one per series: int, or None when suppressed
    texts: tuple


def _number(value):
    return format_decimal(value)


def _figure(chart_id, title, description, svg_body, height, table):
    ids = f"{chart_id}-title {chart_id}-desc"
    svg = Markup(
        '<svg class="chart-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
        'width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-labelledby="{ids}" '
        'font-size="{font}" font-family="system-ui, sans-serif">'
        '<title id="{cid}-title">{title}</title><desc id="{cid}-desc">{desc}</desc>{body}</svg>'
    ).format(w=WIDTH, h=height, ids=ids, font=FONT, cid=chart_id, title=title, desc=description,
             body=svg_body)
    return Markup('<figure class="chart" id="{cid}">{svg}<details class="chart-data">'
                  '<summary>{summary}</summary>{table}</details></figure>').format(
        cid=chart_id, svg=svg, summary=_("Data table"), table=table)


def _table(table_id, caption, headers, rows):
    head = Markup("").join(Markup('<th scope="col">{}</th>').format(h) for h in headers)
    body = Markup("").join(
        Markup("<tr><th scope=\"row\">{}</th>{}</tr>").format(
            label,
            Markup("").join(Markup('<td class="num">{}</td>').format(cell) for cell in cells))
        for label, cells in rows)
    return Markup('<table class="data" id="{}"><caption>{}</caption>'
                  '<thead><tr>{}</tr></thead><tbody>{}</tbody>'
                  '</table>').format(table_id, caption, head, body)


# --- horizontal bars -----------------------------------------------------------------------------

def bar_chart(chart_id, title, bars, value_header, description=None, series="received"):
    """A horizontal bar per item, its label above it and its count at its end (largest first as
    given). `bars` are Bar items; `value_header` names the counted thing in the table."""
    bars = list(bars)
    top = max([b.value for b in bars if b.value is not None] + [K, 1])
    label_width = WIDTH - 40       # room for the count after the longest bar
    parts = []
    for index, bar in enumerate(bars):
        y = index * BAR_ROW
        parts.append(Markup('<text x="0" y="{y}" fill="{c}" class="chart-label">{label}</text>')
                     .format(y=y + FONT, c=PALETTE["text"], label=_shorten(bar.label, 52)))
        parts.append(_bar(bar, y + FONT + 4, top, label_width, series))
    height = max(len(bars), 1) * BAR_ROW + 4
    if not bars:
        parts.append(Markup('<text x="0" y="{y}" fill="{c}">{t}</text>').format(
            y=FONT + 4, c=PALETTE["muted"], t=_("No reports")))
    description = description or _describe_bars(title, bars)
    table = _table(f"{chart_id}-data", title, [_("Name"), value_header],
                   [(b.label, [b.text]) for b in bars])
    return _figure(chart_id, title, description, Markup("").join(parts), height, table)


def _bar(bar, y, top, width, series):
    if bar.value is None and bar.text == WITHHELD:
        return Markup('<text x="0" y="{ty}" fill="{c}" class="chart-value chart-withheld">{t}'
                      '</text>').format(ty=y + BAR_HEIGHT - 2, c=PALETTE["muted"], t=WITHHELD)
    if bar.value is None:
        length = max(width * K / top, 2)
        rect = Markup('<rect x="0" y="{y}" width="{w:.1f}" height="{h}" fill="none" stroke="{c}" '
                      'stroke-dasharray="3 2" class="chart-suppressed"/>').format(
            y=y, w=length, h=BAR_HEIGHT, c=PALETTE["suppressed"])
    else:
        length = width * bar.value / top
        rect = Markup('<rect x="0" y="{y}" width="{w:.1f}" height="{h}" fill="{c}" '
                      'class="chart-{s}"/>').format(
            y=y, w=length, h=BAR_HEIGHT, c=PALETTE[series], s=series)
    text = Markup('<text x="{x:.1f}" y="{ty}" fill="{c}" class="chart-value">{t}</text>').format(
        x=length + 4, ty=y + BAR_HEIGHT - 2, c=PALETTE["text"], t=bar.text)
    return rect + text


def _describe_bars(title, bars):
    if not bars:
        return _("%(title)s: no reports.", title=title)
    shown = ", ".join(f"{b.label} {b.text}" for b in bars[:5])
    more = _(" and %(n)s more", n=len(bars) - 5) if len(bars) > 5 else ""
    return _("%(title)s: %(items)s%(more)s.", title=title, items=shown, more=more)


def _shorten(text, limit):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


# --- weekly columns and line ---------------------------------------------------------------------

PLOT_LEFT, PLOT_TOP, PLOT_HEIGHT, AXIS_ROOM = 30, 22, 130, 30


def weekly_chart(chart_id, title, columns, series_names, description=None):
    """Weeks along the x axis: the first series as columns, the second (if any) as a line with
    dots. `columns` are Column items; `series_names` name the series (legend and table headers)."""
    columns = list(columns)
    values = [v for c in columns for v in c.values if v is not None]
    top = _nice_top(max(values + [K]))
    plot_width = WIDTH - PLOT_LEFT - 4
    step = plot_width / max(len(columns), 1)
    scale = PLOT_HEIGHT / top
    parts = [_legend(series_names), _grid(top, scale)]
    for index, column in enumerate(columns):
        x = PLOT_LEFT + index * step
        parts.append(_column(column.values[0], x + step * 0.15, step * 0.7, scale,
                             column.texts[0] == WITHHELD))
        if index % 2 == (len(columns) - 1) % 2:       # every other label, the last week always
            parts.append(Markup('<text x="{x:.1f}" y="{y}" text-anchor="middle" fill="{c}" '
                                'class="chart-axis">{t}</text>').format(
                x=x + step / 2, y=PLOT_TOP + PLOT_HEIGHT + 14, c=PALETTE["muted"], t=column.label))
    if len(series_names) > 1:
        parts.append(_line([c.values[1] for c in columns], step, scale))
    height = PLOT_TOP + PLOT_HEIGHT + AXIS_ROOM
    description = description or _describe_weeks(title, columns, series_names)
    table = _table(f"{chart_id}-data", title, [_("Week"), *series_names],
                   [(c.long_label, list(c.texts)) for c in columns])
    return _figure(chart_id, title, description, Markup("").join(parts), height, table)


def _nice_top(value):
    """A round whole axis maximum at or above `value` (1, 2, 4, 5 × 10^n)."""
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 4, 5, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _legend(series_names):
    parts = []
    x = 0
    for index, name in enumerate(series_names):
        colour = PALETTE["received" if index == 0 else "closed"]
        marker = (Markup('<rect x="{x}" y="3" width="10" height="10" fill="{c}"/>')
                  if index == 0 else
                  Markup('<line x1="{x}" y1="8" x2="{x2}" y2="8" stroke="{c}" stroke-width="2"/>'))
        parts.append(marker.format(x=x, x2=x + 10, c=colour))
        parts.append(Markup('<text x="{x}" y="12" fill="{c}">{t}</text>').format(
            x=x + 14, c=PALETTE["text"], t=name))
        x += 24 + len(str(name)) * FONT * 0.55
    return Markup("").join(parts)


def _grid(top, scale):
    parts = []
    # Whole numbers only on the axis: the middle line when the top halves evenly.
    for value in sorted({0, top, *([top // 2] if top % 2 == 0 else [])}):
        y = PLOT_TOP + PLOT_HEIGHT - value * scale
        parts.append(Markup('<line x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}" stroke="{c}" '
                            'stroke-width="1"/>'
                            '<text x="{tx}" y="{ty:.1f}" text-anchor="end" fill="{m}" '
                            'class="chart-axis">{t}</text>')
                     .format(x1=PLOT_LEFT, x2=WIDTH, y=y, c=PALETTE["grid"], tx=PLOT_LEFT - 4,
                             ty=y + 4, m=PALETTE["muted"], t=_number(value)))
    return Markup("").join(parts)


def _column(value, x, width, scale, withheld=False):
    bottom = PLOT_TOP + PLOT_HEIGHT
    if withheld:
        return Markup('<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" fill="{c}" '
                      'class="chart-withheld">{t}</text>').format(
            x=x + width / 2, y=bottom - 4, c=PALETTE["muted"], t=WITHHELD)
    if value is None:
        height = K * scale
        return Markup('<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="none" '
                      'stroke="{c}" stroke-dasharray="3 2" class="chart-suppressed"/>').format(
            x=x, y=bottom - height, w=width, h=height, c=PALETTE["suppressed"])
    height = value * scale
    return Markup('<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{c}" '
                  'class="chart-received"/>').format(x=x, y=bottom - height, w=width, h=height,
                                                     c=PALETTE["received"])


def _line(values, step, scale):
    bottom = PLOT_TOP + PLOT_HEIGHT
    points = [(PLOT_LEFT + (i + 0.5) * step, bottom - v * scale)
              for i, v in enumerate(values) if v is not None]
    if not points:
        return Markup("")
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = Markup("").join(Markup('<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{c}"/>').format(
        x=x, y=y, c=PALETTE["closed"]) for x, y in points)
    return Markup('<polyline points="{p}" fill="none" stroke="{c}" stroke-width="2" '
                  'class="chart-closed"/>{d}').format(p=path, c=PALETTE["closed"], d=dots)


def _describe_weeks(title, columns, series_names):
    if not columns:
        return _("%(title)s: no weeks.", title=title)
    first, last = columns[0], columns[-1]
    return _("%(title)s, %(weeks)s weeks from %(first)s to %(last)s. Latest week: %(latest)s.",
             title=title, weeks=len(columns), first=first.long_label, last=last.long_label,
             latest=", ".join(f"{name} {text}" for name, text in zip(series_names, last.texts)))



# --- from the summary's figures ------------------------------------------------------------------

def breakdown_chart(chart_id, title, rows, limit=10):
    """A bar chart of the received counts of Summary breakdown rows (the busiest `limit`)."""
    bars = [Bar(row.label, row.received.shown, str(row.received)) for row in rows[:limit]]
    return bar_chart(chart_id, title, bars, _("Received"))


def trend_chart(chart_id, title, weekly):
    """The weekly trend of a Summary (its `weekly` WeekPoints): received as columns, closed as a
    line."""
    columns = [Column(day_month_text(p.start), _("week of %(day)s", day=day_text(p.start)),
                      (p.received.shown, p.closed.shown), (str(p.received), str(p.closed)))
               for p in weekly]
    return weekly_chart(chart_id, title, columns, (_("Received"), _("Closed")))


def summary_charts(summary):
    """The dashboard's charts of a Summary, by name (the monthly report uses the same)."""
    outcome_bars = [Bar(str(outcome.title), count.shown, str(count))
                    for outcome, count in summary.closed_by_outcome]
    return {
        "outcome_chart": bar_chart("chart-outcome", _("Reports closed by outcome"), outcome_bars,
                                   _("Closed"), series="closed"),
        "trend_chart": trend_chart("chart-trend", _("Reports received and closed per week"),
                                   summary.weekly),
        "kab_chart": breakdown_chart("chart-kabupaten", _("Reports received by regency/city"),
                                     summary.by_kabupaten),
        "category_chart": breakdown_chart("chart-category", _("Reports received by category"),
                                          summary.by_category),
        "channel_chart": breakdown_chart("chart-channel", _("Reports received by channel"),
                                         summary.by_channel),
    }
