"""The shared figures of whole ended months, kept (migration 0026; issue 16, item 3).

Who sees aggregates only (a regional head, a Tim PORA partner, the monthly report, aggregate
exports, the regional map's totals) is shown whole calendar months that have ended, suppressed
(apoa/summaries/suppression.py). What such a page counts from the month's flow — received,
screened and closed with their breakdowns, outcomes, medians, shares, the month's weeks, the month
before, and which of them are withheld — no longer grows once the month has ended, and computing
it is most of the page's time at a million reports (four GROUP BYs over the rollups and two
suppression Grids of some two thousand counts for the Ditjen). So it is computed once per scope of
offices and month (`figures.month_part`) and kept in summary_month_figures; each page view counts
only what is open and overdue now (`figures.from_month_part`). The kept figures equal fresh ones
(tests/summaries/test_stored.py).

- Key: the scope's offices ("*": every office), the month, and FIGURES_VERSION, a hash of the code
  that computes them: changed code never reads figures of the old code (the job deletes them).
- Computed on the first page view that needs them (and kept in that request's transaction, which
  commits at its end), and by the job `fill_month_figures` (apoa/jobs/schedule.py) for the last
  FILL_MONTHS months of every office's jurisdiction, shortly after a month ends and after a
  rebuild of the rollups.
- Forgotten by triggers on summary_flow (migration 0026) when a day they were counted from
  changes: a report of an ended month reopened, transferred, reclassified, moved or deleted.
  TRUNCATE (summary_rebuild()) forgets every month.
- The anomalies of the week of the month's last day read that whole week, which may end up to six
  days into the next month: until it has ended they are counted on each view, then kept.
- A row written while a late change was being committed elsewhere could miss it (the trigger
  found nothing to forget yet): rows are written `checked = false`, and the job computes each such
  row again once and corrects it.
"""
import hashlib
import logging
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import bindparam, case, delete, literal_column, null, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from apoa.auth.permissions import ALL_OFFICES, office_jurisdiction_ids
from apoa.extensions import db
from apoa.periods import add_months, local_today
from apoa.regions.models import Office
from apoa.reports.states import Outcome
from apoa.summaries import figures, rollups
from apoa.summaries.anomalies import Anomaly
from apoa.summaries.models import summary_month_figures as kept
from apoa.summaries.rollups import Scope
from apoa.summaries.suppression import month_of

log = logging.getLogger("apoa.summaries")

FILL_MONTHS = 2         # the job keeps the last two ended months (the default page, the one before)
_SOURCES = ("figures.py", "suppression.py", "rollups.py", "anomalies.py", "stored.py")


def _version():
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


FIGURES_VERSION = _version()


def scope_key(scope):
    return "*" if scope.everywhere else ",".join(str(i) for i in sorted(scope.office_ids))


def scope_of_key(key):
    return Scope(ALL_OFFICES if key == "*" else {int(i) for i in key.split(",") if i})


def anomaly_end(period):
    """The day after the last day the month's anomalies read (the Sunday of its last week)."""
    return figures.anomaly_weeks(period)[1] + timedelta(days=7)


# --- reading -------------------------------------------------------------------------------------

# The rows last read by this process, decoded: {(scope_key, month): (row version, MonthPart)}.
# A row's version is its tuple's (xmin, ctid), which every write changes; the figures are sent
# only when the version differs from the one decoded here. Decoding the Ditjen's month (some 4,000
# counts) takes longer than counting what is open now.
_decoded = {}
DECODED_KEPT = 64
ROW_VERSION = literal_column("(xmin::text || ctid::text)")


def month_part(scope, period, today=None, with_anomalies=True):
    """The MonthPart of `period` (a whole ended month) over `scope`, kept or computed now (and then
    kept). Run inside rollups.small_aggregates(). The MonthPart returned is shared: not to be
    changed."""
    today = today or local_today()
    key = scope_key(scope)
    known_version, known = _decoded.get((key, period.start), (None, None))
    row = db.session.execute(
        select(ROW_VERSION.label("row_version"),
               case((ROW_VERSION == bindparam("known", known_version), null()),
                    else_=kept.c.figures).label("figures"),
               kept.c.anomalies)
        .where(kept.c.scope_key == key, kept.c.month == period.start,
               kept.c.version == FIGURES_VERSION)).first()
    if row is None:
        part = figures.month_part(scope, period, with_anomalies=with_anomalies)
        final = with_anomalies and today >= anomaly_end(period)
        _write(insert(kept).values(**_row(key, period, part, final))
               .on_conflict_do_nothing(index_elements=["scope_key", "month", "version"]))
        return part
    if row.figures is None and known is not None:
        part = known
    else:
        part = part_from_json(row.figures)
        if row.anomalies is not None:
            part.anomalies = anomalies_from_json(row.anomalies)
        if len(_decoded) >= DECODED_KEPT:
            _decoded.clear()
        _decoded[(key, period.start)] = (row.row_version, part)
    if not with_anomalies or part.anomalies is not None:
        return part
    part = replace(part, anomalies=figures.month_anomalies(scope, period))
    if today >= anomaly_end(period):
        _write(update(kept).where(kept.c.scope_key == key, kept.c.month == period.start,
                                  kept.c.version == FIGURES_VERSION)
               .values(anomalies=anomalies_to_json(part.anomalies), checked=False))
    return part


def _row(key, period, part, final, checked=False):
    previous = period.previous()
    return {"scope_key": key, "month": period.start, "version": FIGURES_VERSION,
            "flow_from": min(previous.start, period.start), "flow_to": period.end,
            "anomaly_from": figures.anomaly_weeks(period)[0], "anomaly_to": anomaly_end(period),
            "figures": part_to_json(part),
            "anomalies": anomalies_to_json(part.anomalies) if final else None,
            "checked": checked}


def _write(statement):
    """Keep what was computed, in a savepoint: a session that may not write (a read-only
    replica) still answers, the figures computed again next time."""
    try:
        with db.session.begin_nested():
            db.session.execute(statement)
    except DBAPIError as error:
        log.warning("month figures not kept: %s", type(error).__name__)


# --- the job -------------------------------------------------------------------------------------

def fill_month_figures(months=FILL_MONTHS):
    """Job: keep the figures of the last `months` ended months of every office's jurisdiction,
    compute again once each row written since the last run (`checked`), keep the anomalies whose
    week has ended, and forget rows of other code versions. Returns the number of rows computed."""
    today = local_today()
    first = today.replace(day=1)
    periods = [month_of(add_months(first, -k)) for k in range(1, months + 1)]
    db.session.execute(delete(kept).where(kept.c.version != FIGURES_VERSION))
    scopes = {}
    for office in db.session.scalars(select(Office).order_by(Office.id)):
        scope = Scope(office_jurisdiction_ids(office))
        scopes.setdefault(scope_key(scope), scope)
    done = 0
    with rollups.small_aggregates():
        rows = {(r.scope_key, r.month): r for r in db.session.execute(
            select(kept.c.scope_key, kept.c.month, kept.c.checked, kept.c.anomalies.is_(None)
                   .label("no_anomalies"), kept.c.anomaly_to)
            .where(kept.c.version == FIGURES_VERSION)).all()}
        wanted = {(key, period.start) for key in scopes for period in periods}
        for key, month in sorted(wanted | set(rows)):
            row = rows.get((key, month))
            if row is not None and row.checked and not (row.no_anomalies
                                                        and today >= row.anomaly_to):
                continue
            period = month_of(month)
            part = figures.month_part(scopes.get(key) or scope_of_key(key), period)
            values = _row(key, period, part, today >= anomaly_end(period), checked=row is not None)
            if row is None:         # checked by the next run
                db.session.execute(insert(kept).values(**values).on_conflict_do_nothing(
                    index_elements=["scope_key", "month", "version"]))
            else:
                # An UPDATE, not an upsert: a row forgotten meanwhile by a late change (whose
                # transaction may have committed after these figures were counted) stays forgotten.
                db.session.execute(update(kept).where(
                    kept.c.scope_key == key, kept.c.month == month,
                    kept.c.version == FIGURES_VERSION).values(
                    **{name: values[name] for name in ("figures", "anomalies", "checked")}))
            done += 1
    log.info("month figures computed: %d rows", done)
    return done


# --- JSON ----------------------------------------------------------------------------------------
# Counts as [value, suppressed, withheld], changes [current, previous], shares [part, whole],
# medians [hours, open-ended], dates ISO; the `json` column keeps the text as written, so floats
# come back as they were.

def _count(c):
    return [c.value, c.suppressed, c.withheld]


def _optional(value, fields):
    return None if value is None else [getattr(value, name) for name in fields]


CHANGE, SHARE, DURATION = ("current", "previous"), ("part", "whole"), ("hours", "open_ended")
FLOW_ROW = (("received", _count), ("received_previous", _count),
            ("change", lambda v: _optional(v, CHANGE)), ("screened", _count),
            ("closed", _count), ("within_due", lambda v: _optional(v, SHARE)),
            ("median_to_closure", lambda v: _optional(v, DURATION)))
KINDS = {"received": "count", "received_previous": "count", "received_change": "change",
         "screened": "count", "closed": "count", "closed_previous": "count",
         "closed_change": "change", "closed_by_outcome": "outcomes",
         "median_to_screening": "duration", "median_to_screening_previous": "duration",
         "median_to_closure": "duration", "median_to_closure_previous": "duration",
         "screened_within_due": "share", "within_due": "share", "within_due_previous": "share"}
ANOMALY = ("kab_id", "week_start", "count", "usual_low", "usual_high", "median", "mad", "score")


def _dump(kind, value):
    if kind == "count":
        return _count(value)
    if kind == "outcomes":
        return [[outcome.value, _count(c)] for outcome, c in value]
    return _optional(value, {"change": CHANGE, "share": SHARE, "duration": DURATION}[kind])


def _load(kind, value):
    if kind == "count":
        return figures.Count(*value)
    if kind == "outcomes":
        return [(Outcome(outcome), figures.Count(*c)) for outcome, c in value]
    if value is None:
        return None
    return {"change": figures.Change, "share": figures.Share,
            "duration": figures.Duration}[kind](*value)


def part_to_json(part):
    return {
        "headline": {name: _dump(KINDS[name], part.headline[name]) for name in KINDS},
        "rows": {attribute: [[key, *(dump(getattr(row, name)) for name, dump in FLOW_ROW)]
                             for key, row in rows.items()]
                 for attribute, rows in part.rows.items()},
        "weekly": [[w.start.isoformat(), _count(w.received), _count(w.closed)]
                   for w in part.weekly],
        "anomaly_week": part.anomaly_week.isoformat(),
    }


def _flow_row(values):
    received, received_previous, change, screened, closed, within_due, median = values
    Count = figures.Count
    return figures.FlowRow(
        Count(*received), Count(*received_previous),
        None if change is None else figures.Change(*change), Count(*screened), Count(*closed),
        None if within_due is None else figures.Share(*within_due),
        None if median is None else figures.Duration(*median))


def part_from_json(data):
    return figures.MonthPart(
        headline={name: _load(kind, data["headline"][name]) for name, kind in KINDS.items()},
        rows={attribute: {key: _flow_row(values) for key, *values in rows}
              for attribute, rows in data["rows"].items()},
        weekly=[figures.WeekPoint(date.fromisoformat(start), figures.Count(*received),
                                  figures.Count(*closed))
                for start, received, closed in data["weekly"]],
        anomaly_week=date.fromisoformat(data["anomaly_week"]))


def anomalies_to_json(anomalies):
    return [[a.kab_id, a.week_start.isoformat(), a.count, a.usual_low, a.usual_high, a.median,
             a.mad, a.score] for a in anomalies]


def anomalies_from_json(data):
    return [Anomaly(kab_id, date.fromisoformat(week), count, low, high, median, mad, score)
            for kab_id, week, count, low, high, median, mad, score in data]
