"""Benchmark: the regional heads' summary at a million reports, and a million-row CSV export (issue 6).

What is measured, in one run, against the benchmark's own database (`apoa_bench_summaries` on the
development PostgreSQL; created, migrated and filled on the first run, kept and reused later):

* data: 1,000,000 synthetic reports from the maps benchmark's generator (bench/_maps_data.py:
  spread over the kabupaten/kota by weight, states by age, valid outcomes and assignees), loaded
  with COPY; then their histories (report_event), made here in one set-based INSERT that follows
  each report's state and outcome through the workflow (submit, screen, assign, field check,
  finding or dismissal or duplicate, approval) with seeded pseudo-random step durations (screening
  after an exponential time of mean 8 h, so some are late; field checks of mean 30 h; approvals of
  mean 20 h; squeezed to fit a report's age), about 4.6 events per report; then summary_rebuild();
* the dashboard's figures: `apoa.summaries.figures.summary(user, period)` — every query the page
  sends for its figures (the period's flow, the previous period's, the weekly trend and the
  anomalies' 13 weeks per kabupaten, open and overdue now, the names) — from the rollups, beside
  the same summary computed by the same code from the raw tables (`source=RAW`: each report's
  contribution computed once from report and report_event through the facts view into a
  temporary table, then the same GROUP BY statements over it; what is open, from report), for two
  regional heads (the Ditjen: every report; KANWIL-DKI: two Kantor of Jakarta) and two periods
  (the last 30 and 90 days). Rollup: --warmup untimed, then --runs timed, interleaved; raw:
  --raw-runs timed. The two Summaries must be equal (every figure, count and breakdown); p50/p95
  each, ratio = raw median / rollup median. The summary is timed in an app context, so without
  the hotspots (the maps' raw query, apoa/maps/hotspots.py, not a rollup), which are timed on
  their own, like the three rollup readers one by one;
* what the triggers cost on write: --writes submissions (submit_report) and as many screenings
  (workflow.apply) with the summaries' triggers on and off, alternating, rolled back;
* the CSV export of every report by a Ditjen officer (`apoa.summaries.exports.csv_rows`, the
  streamed body the export view sends): wall time to the last byte (written to nowhere) and the
  process's resident memory sampled every 20 ms: at the start, after the first 100,000 rows, and
  the peak; "flat" = the peak is within --flat-mb of the RSS after the first 100,000 rows.

Targets (DESIGN.md): summary p95 <= 100 ms and >= 50x faster than the raw GROUP BY, equal results;
1M-row CSV <= 10 s with flat memory. Prints a table; the last line is one JSON object with the
figures, the targets and whether each was met.

Run: .venv/bin/python bench/summaries.py [--scale full|smoke] [--runs 40 --raw-runs 3 ...] (or
`make bench`) with APOA_DATABASE_URL and APOA_REDIS_URL set (eval "$(scripts/dev.sh services apoa)").
`--scale smoke` (make bench-smoke): 3,000 reports in apoa_bench_smoke, a few runs of each summary.
Exits non-zero when the rollups' summary differs from the raw one.
"""
import argparse
import os
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _common as common  # noqa: E402 - the benchmark database set-up, percentiles
import _maps_data as data  # noqa: E402 - the million synthetic reports

TARGETS = {"summary_p95_ms": 100, "summary_ratio": 50, "csv_seconds": 10, "csv_flat_mb": 50}
EVENTS_MARKER = "apoa bench summaries events: version {version}, seed {seed}, reports {count}"
EVENTS_VERSION = 1
HEADS = {"ditjen": "DITJEN", "kanwil_dki": "KANWIL-DKI"}
PERIODS = ("last_30_days", "last_90_days")
SCALES = {
    "full": {"reports": 1_000_000, "lookup_sample": 20_000, "runs": 40, "warmup": 3, "raw_runs": 3, "writes": 200,
             "database": "apoa_bench_summaries"},
    "smoke": {"reports": 3_000, "lookup_sample": 1_000, "runs": 5, "warmup": 1, "raw_runs": 1, "writes": 20,
              "database": common.SMOKE_DATABASE},
}
log = common.log
percentile = common.percentile


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--lookup-sample", type=int)
    parser.add_argument("--runs", type=int, help="timed rollup summaries per head and period")
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--raw-runs", type=int, help="timed raw summaries per head and period")
    parser.add_argument("--flat-mb", type=float, default=TARGETS["csv_flat_mb"])
    parser.add_argument("--writes", type=int, help="submissions and screenings per write batch")
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument("--database")
    args = common.parse_scaled(parser, SCALES)
    if args.runs < 20 and args.scale == "full":
        parser.error("--runs must be at least 20 (the p95 needs them)")
    return args


# --- the histories ------------------------------------------------------------------------------------

# Each step: (action, from_state, to_state, SQL of its duration in seconds given u in [0, 1)).
STEPS = {
    "submit": (None, "new", "0"),
    "screen": ("new", "screening", "-ln(1 - u) * 8 * 3600"),
    "assign": ("screening", "assigned", "(0.5 + 5.5 * u) * 3600"),
    "start_field_check": ("assigned", "in_field", "-ln(1 - u) * 30 * 3600"),
    "record_finding": ("in_field", "pending_approval", "(1 + 7 * u) * 3600"),
    "dismiss": ("screening", "pending_approval", "(1 + 23 * u) * 3600"),
    "mark_duplicate": ("screening", "pending_approval", "(0.1 + 3.9 * u) * 3600"),
    "approve": ("pending_approval", "closed", "-ln(1 - u) * 20 * 3600"),
}
TO_FIELD = ["submit", "screen", "assign", "start_field_check"]
PATHS = {  # (state, how it was decided) -> actions
    ("new", None): ["submit"], ("screening", None): ["submit", "screen"],
    ("assigned", None): ["submit", "screen", "assign"], ("in_field", None): TO_FIELD,
    ("pending_approval", "field"): [*TO_FIELD, "record_finding"],
    ("pending_approval", "dismiss"): ["submit", "screen", "dismiss"],
    ("pending_approval", "duplicate"): ["submit", "screen", "mark_duplicate"],
}
PATHS.update({("closed", how): [*actions, "approve"] for (state, how), actions in list(PATHS.items())
              if state == "pending_approval"})


def _array(values):
    return "ARRAY[" + ", ".join("NULL" if v is None else f"'{v}'" for v in values) + "]::text[]"


def history_sql():
    """One INSERT of every report's events, following its state and outcome (see the docstring)."""
    how = ("CASE WHEN r.outcome = 'duplicate' THEN 'duplicate' WHEN r.outcome = 'unfounded' AND r.id % 2 = 0"
           " THEN 'dismiss' WHEN r.outcome IS NOT NULL THEN 'field' END")
    path = "CASE " + " ".join(
        f"WHEN r.state = '{state}'" + (f" AND {how} = '{kind}'" if kind else "") + f" THEN {_array(actions)}"
        for (state, kind), actions in PATHS.items()) + " END"
    duration = "CASE p.action " + " ".join(f"WHEN '{a}' THEN {sql}" for a, (_f, _t, sql) in STEPS.items()) + " END"
    from_state = "CASE s.action " + " ".join(f"WHEN '{a}' THEN {'NULL' if f is None else repr(f)}"
                                             for a, (f, _t, _s) in STEPS.items()) + " END"
    to_state = "CASE s.action " + " ".join(f"WHEN '{a}' THEN '{t}'" for a, (_f, t, _s) in STEPS.items()) + " END"
    # u: a pseudo-random number per report and step from a hash (repeatable, parallel-safe).
    return f"""
        INSERT INTO report_event (report_id, action, from_state, to_state, created_at)
        SELECT t.id, t.action, {from_state.replace('s.action', 't.action')}, {to_state.replace('s.action', 't.action')},
               t.created_at + make_interval(secs => t.elapsed * least(1.0, 0.95 * t.age / nullif(t.total, 0)))
        FROM (
            SELECT r.id, r.created_at, s.action, s.n,
                   extract(epoch FROM now() - r.created_at) AS age,
                   sum(s.took) OVER (PARTITION BY r.id ORDER BY s.n) AS elapsed,
                   sum(s.took) OVER (PARTITION BY r.id) AS total
            FROM report r
            CROSS JOIN LATERAL (
                SELECT p.action, p.n, {duration} AS took
                FROM unnest({path}) WITH ORDINALITY p(action, n)
                CROSS JOIN LATERAL (SELECT ((hashtext(r.id || ':' || p.action) & 2147483647) / 2147483648.0) AS u) h
            ) s
        ) t
        ORDER BY t.id, t.n
    """


def ensure_histories(conn, count, seed):
    """The reports' events and the rollups rebuilt from them, unless this version is already there."""
    wanted = EVENTS_MARKER.format(version=EVENTS_VERSION, seed=seed, count=count)
    with conn.cursor() as cursor:
        cursor.execute("SELECT obj_description('report_event'::regclass, 'pg_class'),"
                       " (SELECT count(*) FROM report_event)")
        comment, events = cursor.fetchone()
    conn.rollback()
    if comment == wanted and events:
        log(f"reusing the {events:,} events already there ({comment})")
        analyze_rollups(conn)  # a migration may have rebuilt them since
        return {"reused": True, "events": events}
    log("making the reports' histories (one INSERT), then summary_rebuild()")
    phases = data.Phases(log)
    with conn.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'; SET LOCAL work_mem = '256MB'")
        cursor.execute("TRUNCATE report_event, attachment")  # the bench reports have no photos
        cursor.execute("ALTER TABLE report_event DISABLE TRIGGER summary_on_event_change")
        cursor.execute("DROP INDEX ix_report_event_report_id_id")
        phases.run("INSERT report_event", cursor.execute, history_sql())
        phases.run("index report_event", cursor.execute,
                   "CREATE INDEX ix_report_event_report_id_id ON report_event (report_id, id)")
        cursor.execute("ALTER TABLE report_event ENABLE TRIGGER summary_on_event_change")
        phases.run("summary_rebuild()", cursor.execute, "SELECT summary_rebuild()")
        cursor.execute(f"COMMENT ON TABLE report_event IS '{wanted}'")
        cursor.execute("SELECT count(*) FROM report_event")
        events = cursor.fetchone()[0]
    phases.run("commit", conn.commit)
    conn.autocommit = True
    with conn.cursor() as cursor:
        for table in ("report_event", "summary_report", "summary_flow", "summary_open"):
            phases.run(f"VACUUM ANALYZE {table}", cursor.execute, f"VACUUM ANALYZE {table}")
    conn.autocommit = False
    return {"reused": False, "events": events, "phases_s": phases.seconds}


def analyze_rollups(conn):
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("ANALYZE summary_flow; ANALYZE summary_open; ANALYZE summary_report")
    conn.autocommit = False


def ensure_heads(app):
    """A regional head per measured office (no second factor: they are used in-process only)."""
    from apoa.auth.services import create_user, find_user_by_email
    from apoa.extensions import db

    emails = {}
    with app.app_context():
        for name, office in HEADS.items():
            email = f"kepala.{office.lower()}@bench.apoa.id"
            if find_user_by_email(email) is None:
                create_user(email, f"Kepala {office}", data.BENCH_PASSWORD, "regional_head", office)
            emails[name] = email
        db.session.commit()
        db.session.remove()
    return emails


def rollup_sizes(conn):
    with conn.cursor() as cursor:
        cursor.execute("""SELECT (SELECT count(*) FROM summary_flow), (SELECT count(*) FROM summary_open),
                                 (SELECT count(*) FROM summary_report), pg_total_relation_size('summary_flow'),
                                 (SELECT count(*) FROM report_event)""")
        flow, open_rows, per_report, flow_bytes, events = cursor.fetchone()
    conn.rollback()
    return {"summary_flow_rows": flow, "summary_open_rows": open_rows, "summary_report_rows": per_report,
            "summary_flow_mb": round(flow_bytes / 2**20, 1), "events": events}


# --- the summary -------------------------------------------------------------------------------------

def timed(function):
    start = time.perf_counter()
    result = function()
    return (time.perf_counter() - start) * 1000, result


def comparable(summary):
    """Every figure of a Summary (its time of making aside)."""
    values = dict(vars(summary))
    values.pop("generated_at")
    return values


def measure_summaries(app, emails, args):
    from apoa.auth.services import find_user_by_email
    from apoa.extensions import db
    from apoa.summaries import figures
    from apoa.periods import parse_period
    from apoa.summaries.rollups import RAW, ROLLUP

    results = {}
    # An app context, not a request: figures.summary() then leaves out the hotspots, which are the
    # maps' raw query (apoa/maps/hotspots.py), timed on their own in measure_parts().
    with app.app_context():
        users = {name: find_user_by_email(email) for name, email in emails.items()}
        cases = [(head, period) for head in users for period in PERIODS]
        now = datetime.now(timezone.utc)
        timings = {case: [] for case in cases}
        summaries = {}
        for round_ in range(args.warmup + args.runs):
            for head, period in cases:
                ms, result = timed(lambda: figures.summary(users[head], parse_period({"period": period}),
                                                           source=ROLLUP, now=now))
                db.session.rollback()
                if round_ >= args.warmup:
                    timings[(head, period)].append(ms)
                summaries[(head, period)] = result
        for head, period in cases:
            raw_ms, raw = [], None
            for _ in range(args.raw_runs):
                ms, raw = timed(lambda: figures.summary(users[head], parse_period({"period": period}),
                                                        source=RAW, now=now))
                db.session.rollback()
                raw_ms.append(ms)
                log(f"  raw {head} {period}: {ms:.0f} ms")
            rollup = summaries[(head, period)]
            equal = comparable(raw) == comparable(rollup)
            if not equal:
                different = [k for k, v in comparable(rollup).items() if comparable(raw)[k] != v]
                log(f"  DIFFERENT figures for {head} {period}: {different}")
            ours = timings[(head, period)]
            results[f"{head} {period}"] = {
                "rollup_p50_ms": round(statistics.median(ours), 2), "rollup_p95_ms": round(percentile(ours, 95), 2),
                "rollup_max_ms": round(max(ours), 2), "raw_p50_ms": round(statistics.median(raw_ms), 1),
                "raw_p95_ms": round(percentile(raw_ms, 95), 1),
                "ratio": round(statistics.median(raw_ms) / statistics.median(ours), 1),
                "equal": equal, "received": rollup.received.value, "closed": rollup.closed.value,
                "anomalies": len(rollup.anomalies), "kabupaten_rows": len(rollup.by_kabupaten)}
    return results


def measure_parts(app, emails, args):
    """The rollup readers one by one, and the hotspots (raw), for the Ditjen over 30 days."""
    from datetime import timedelta

    from apoa.auth.services import find_user_by_email
    from apoa.extensions import db
    from apoa.maps.hotspots import hotspots
    from apoa.summaries import figures, rollups
    from apoa.periods import local_today, parse_period

    parts = {}
    with app.test_request_context():
        user = find_user_by_email(emails["ditjen"])
        scope = figures.scope_for(user)
        period = parse_period({"period": "last_30_days"})
        now = datetime.now(timezone.utc)
        first_week = period.last - timedelta(days=period.last.weekday() + 7 * 12)
        readers = {
            "flow (period)": lambda s: rollups.flow(scope, period, s),
            "flow (previous period)": lambda s: rollups.flow(scope, period.previous(), s, full=False),
            "weekly (13 weeks x kabupaten)": lambda s: rollups.weekly(scope, first_week, 13, s, min_count=5),
            "open now": lambda s: rollups.open_now(scope, local_today(), now, s),
        }
        for name, read in readers.items():
            with rollups.small_aggregates():
                runs = [timed(lambda: read(rollups.ROLLUP))[0] for _ in range(args.warmup + 20)][args.warmup:]
            raw = timed(lambda: read(rollups.RAW))[0]
            db.session.rollback()
            parts[name] = {"rollup_p50_ms": round(statistics.median(runs), 2),
                           "rollup_p95_ms": round(percentile(runs, 95), 2), "raw_ms": round(raw, 1)}
        runs = [timed(lambda: hotspots(user, limit=figures.HOTSPOT_LIMIT))[0] for _ in range(6)][1:]
        parts["hotspots (apoa/maps/hotspots.py, raw)"] = {"p50_ms": round(statistics.median(runs), 1),
                                                          "max_ms": round(max(runs), 1)}
        db.session.rollback()
    return parts


# --- what the triggers cost on write ----------------------------------------------------------------------

SUMMARY_TRIGGERS = (("report", "summary_on_report_insert_delete"), ("report", "summary_on_report_update"),
                    ("report_event", "summary_on_event_change"))


def measure_write_cost(app, count):
    """Milliseconds per submission (submit_report) and per workflow step (apply: screen) with the
    summaries' triggers on and off, alternating, each batch in a transaction rolled back."""
    import uuid
    from datetime import timedelta

    from sqlalchemy import select, text

    from apoa.auth.services import find_user_by_email
    from apoa.extensions import db
    from apoa.reports.models import Category, Report
    from apoa.reports.services import NewReport, submit_report
    from apoa.reports.workflow import Action, apply

    timings = {"submit_on": [], "submit_off": [], "screen_on": [], "screen_off": []}
    with app.test_request_context():
        officer_email = data.officer_email(data.DITJEN_OFFICE)
        category = db.session.scalar(select(Category.id).order_by(Category.position).limit(1))
        for round_ in range(4):
            on = round_ % 2 == 0
            officer = find_user_by_email(officer_email)
            if not on:
                for table, trigger in SUMMARY_TRIGGERS:
                    db.session.execute(text(f'ALTER TABLE {table} DISABLE TRIGGER "{trigger}"'))
            start = time.perf_counter()
            for k in range(count):
                submit_report(NewReport(category_id=category, description="Beberapa orang asing bekerja di proyek.",
                                        people_count=2, place_kind="project_site",
                                        observed_at=datetime.now(timezone.utc) - timedelta(hours=2),
                                        point=(106.80 + k * 1e-5, -6.20), submission_key=str(uuid.uuid4())))
            timings["submit_on" if on else "submit_off"].append((time.perf_counter() - start) * 1000 / count)
            fresh = db.session.scalars(select(Report).where(Report.state == "new").order_by(Report.id.desc())
                                       .limit(count)).all()
            start = time.perf_counter()
            for report in fresh:
                apply(report, Action.screen, officer)
            timings["screen_on" if on else "screen_off"].append((time.perf_counter() - start) * 1000 / count)
            db.session.rollback()
    result = {name: round(statistics.median(values), 2) for name, values in timings.items()}
    result.update(count=count, submit_added_ms=round(result["submit_on"] - result["submit_off"], 2),
                  screen_added_ms=round(result["screen_on"] - result["screen_off"], 2))
    return result


# --- the CSV export -------------------------------------------------------------------------------------

def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.done = rss_mb(), threading.Event()

    def run(self):
        while not self.done.wait(0.02):
            self.peak = max(self.peak, rss_mb())


def measure_csv(app, args):
    from apoa.auth.services import find_user_by_email
    from apoa.extensions import db
    from apoa.reports.queries import QueueFilters
    from apoa.summaries.exports import csv_rows

    with app.test_request_context():
        officer = find_user_by_email(data.officer_email(data.DITJEN_OFFICE))
        sampler = RssSampler()
        at_start = rss_mb()
        sampler.start()
        start = time.perf_counter()
        bytes_out, rows_seen, after_first, first_seconds = 0, 0, None, None
        for chunk in csv_rows(officer, QueueFilters()):
            bytes_out += len(chunk)
            rows_seen += chunk.count(b"\n")
            if after_first is None and rows_seen >= 100_000:
                after_first, first_seconds = rss_mb(), time.perf_counter() - start
        seconds = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
        db.session.rollback()
    rows = rows_seen - 1  # the header line
    after_first = after_first or sampler.peak
    growth = sampler.peak - after_first
    return {"rows": rows, "bytes": bytes_out, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
            "rss_start_mb": round(at_start, 1), "rss_after_100k_rows_mb": round(after_first, 1),
            "seconds_to_100k_rows": round(first_seconds or 0, 2),
            "rss_peak_mb": round(sampler.peak, 1), "growth_after_100k_rows_mb": round(growth, 1),
            "flat": growth <= args.flat_mb}


# --- report -------------------------------------------------------------------------------------------

def build_result(args, env, dataset, histories, sizes, summaries, parts, writes, csv, seconds):
    worst_p95 = max(v["rollup_p95_ms"] for v in summaries.values())
    worst_ratio = min(v["ratio"] for v in summaries.values())
    met = {"summary_p95_ms": worst_p95 <= TARGETS["summary_p95_ms"],
           "summary_ratio": worst_ratio >= TARGETS["summary_ratio"],
           "equal_results": all(v["equal"] for v in summaries.values()),
           "csv_seconds": csv is not None and csv["seconds"] <= TARGETS["csv_seconds"],
           "csv_flat": csv is not None and csv["flat"]}
    return {"benchmark": "summaries", "scale": args.scale, "database": args.database,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dataset": {k: dataset[k] for k in ("reports", "reused", "states", "created_from", "created_to")},
            "histories": histories, "rollups": sizes, "summaries": summaries, "worst_rollup_p95_ms": worst_p95,
            "worst_ratio": worst_ratio, "parts_ditjen_30_days": parts, "write_cost": writes, "csv": csv,
            "targets": TARGETS, "met": met,
            "environment": env, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "run_seconds": round(seconds)}


def print_report(f):
    env, met = f["environment"], {k: "yes" if v else "NO" for k, v in f["met"].items()}
    print(f"\nSummaries ({f['scale']} scale, database {f['database']}) - {f['date']}, {env['cpus']} cpus, "
          f"PostgreSQL {env['postgresql']}, {f['dataset']['reports']:,} reports, {f['rollups']['events']:,} events;"
          f" summary_flow {f['rollups']['summary_flow_rows']:,} rows ({f['rollups']['summary_flow_mb']} MB),"
          f" summary_open {f['rollups']['summary_open_rows']:,} rows")
    print(common.durability_line(env["durability"]))
    rows = [("head, period", "rollup p50", "rollup p95", "raw p50", "ratio", "equal", "received", "anomalies")]
    for key, v in f["summaries"].items():
        rows.append((key, f"{v['rollup_p50_ms']:.1f} ms", f"{v['rollup_p95_ms']:.1f} ms", f"{v['raw_p50_ms']:.0f} ms",
                     f"{v['ratio']:.0f}x", "yes" if v["equal"] else "NO", f"{v['received']:,}", str(v["anomalies"])))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    print(f"summary p95 (worst) {f['worst_rollup_p95_ms']} ms (target <= {TARGETS['summary_p95_ms']}): "
          f"{met['summary_p95_ms']}; ratio (worst) {f['worst_ratio']}x (target >= {TARGETS['summary_ratio']}): "
          f"{met['summary_ratio']}; equal results: {met['equal_results']}")
    for name, part in f["parts_ditjen_30_days"].items():
        print(f"  part, Ditjen 30 days: {name}: {part}")
    w = f["write_cost"]
    print(f"write cost (ms each, triggers on / off): submission {w['submit_on']} / {w['submit_off']} "
          f"(+{w['submit_added_ms']}), screening {w['screen_on']} / {w['screen_off']} (+{w['screen_added_ms']})")
    csv = f["csv"]
    if csv:
        print(f"CSV export: {csv['rows']:,} rows, {csv['bytes'] / 2**20:.0f} MB in {csv['seconds']} s "
              f"({csv['rows_per_s']:,} rows/s; target <= {TARGETS['csv_seconds']} s: {met['csv_seconds']}); RSS start "
              f"{csv['rss_start_mb']} MB, after 100k rows {csv['rss_after_100k_rows_mb']} MB, peak "
              f"{csv['rss_peak_mb']} MB (growth {csv['growth_after_100k_rows_mb']} MB, flat within "
              f"{TARGETS['csv_flat_mb']} MB: {met['csv_flat']})")
    print()


def prepare(args):
    """The benchmark database with its reports, their histories and the regional heads."""
    import psycopg2

    from apoa import create_app

    db_url = common.bench_url(os.environ["APOA_DATABASE_URL"], args.database)
    log(f"preparing database {args.database}")
    common.ensure_database(db_url)
    app = create_app(environ=common.app_environ(db_url, os.environ["APOA_REDIS_URL"]))
    dataset = data.ensure_reports(app, db_url, args.reports, args.seed, args.lookup_sample, log)
    conn = psycopg2.connect(db_url)
    histories = ensure_histories(conn, args.reports, args.seed)
    sizes = rollup_sizes(conn)
    env = data.environment(conn)
    conn.close()
    return app, env, dataset, histories, sizes, ensure_heads(app)


def broken_checks(f):
    """Different figures from the rollups and from the raw tables break the run (a missed target
    does not)."""
    different = [key for key, v in f["summaries"].items() if not v["equal"]]
    return [f"the rollups' summary differs from the raw one for {different}"] if different else []


def main():
    args = parse_args()
    common.require_environment("summaries")
    started = time.perf_counter()
    app, env, dataset, histories, sizes, emails = prepare(args)
    log(f"summaries: {args.warmup} + {args.runs} rollup runs and {args.raw_runs} raw runs per head and period")
    summaries = measure_summaries(app, emails, args)
    parts = measure_parts(app, emails, args)
    log(f"write cost: {args.writes} submissions and screenings with the triggers on and off")
    writes = measure_write_cost(app, args.writes)
    csv = None
    if not args.skip_csv:
        log("CSV export of every report")
        csv = measure_csv(app, args)
    figures = build_result(args, env, dataset, histories, sizes, summaries, parts, writes, csv,
                           time.perf_counter() - started)
    common.finish("summaries", figures, print_report, broken_checks(figures))


if __name__ == "__main__":
    main()
