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
* the heads' dashboard as heads use it since issue 15: a whole ended month (last month,
  `/ringkasan?bulan=YYYY-MM`), its shared figures kept per scope and month (apoa/summaries/
  stored.py, issue 16 item 3) and what is open now counted per view. For two regional heads (the
  Ditjen: every report, 514 kabupaten rows; KANWIL-DKI: two Kantor of Jakarta):
  - the job that keeps the months (`stored.fill_month_figures`, every office's jurisdiction, the
    last two ended months), timed from nothing kept;
  - `figures.summary(head, last month)` with the month kept (--warmup untimed, --runs timed),
    beside the same Summary counted afresh from the rollups (`figures.computed_figures`: a first
    view, or the job; a quarter of the runs) and from the raw tables (--raw-runs: each report's
    contribution computed from report and report_event through the facts view, then the same
    GROUP BYs; 0 leaves the raw side out). All three must be equal (every figure, count,
    breakdown, hidden "< 3" and withheld "–"); ratio = raw median / kept median;
  - the whole page through the app's test client, signed in through the real sign-in pages
    (password, then TOTP): session, figures, foreign guests, IKM, hotspots (from their snapshot,
    refreshed first as its job does), charts and the template; p50/p95, and one first view of the
    month with nothing kept (computed and kept by that request);
  - the page's parts one by one for the Ditjen, and the rollup readers each view used to run;
* what the triggers cost on write: --writes submissions (submit_report) and as many screenings
  (workflow.apply) with the summaries' triggers on and off, alternating, rolled back;
* the CSV export of every report by a Ditjen officer (`apoa.summaries.exports.csv_rows`, the
  streamed body the export view sends): wall time to the last byte (written to nowhere) and the
  process's resident memory sampled every 20 ms: at the start, after the first 100,000 rows, and
  the peak; "flat" = the peak is within --flat-mb of the RSS after the first 100,000 rows.

Targets (DESIGN.md, issue 16): the head's page p95 <= 100 ms (the Ditjen's), the summary >= 50x
faster than the raw GROUP BY, equal results; 1M-row CSV <= 10 s with flat memory. Prints a table;
the last line is one JSON object with the figures, the targets and whether each was met.

Run: .venv/bin/python bench/summaries.py [--scale full|smoke] [--runs 40 --raw-runs 3 ...] (or
`make bench`) with APOA_DATABASE_URL and APOA_REDIS_URL set (eval "$(scripts/dev.sh services apoa)").
`--scale smoke` (make bench-smoke): 3,000 reports in apoa_bench_smoke, a few runs of each summary.
`--skip-csv`, `--skip-writes` leave those parts out. Exits non-zero when the kept month's summary
differs from a fresh or a raw one.
"""
import argparse
import gc
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

TARGETS = {"page_p95_ms": 100, "summary_ratio": 50, "csv_seconds": 10, "csv_flat_mb": 50}
EVENTS_MARKER = "apoa bench summaries events: version {version}, seed {seed}, reports {count}"
EVENTS_VERSION = 1
HEADS = {"ditjen": "DITJEN", "kanwil_dki": "KANWIL-DKI"}
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
    parser.add_argument("--raw-runs", type=int, help="timed raw summaries per head (0: no raw comparison; the"
                        " raw side takes about a minute each at a million reports)")
    parser.add_argument("--flat-mb", type=float, default=TARGETS["csv_flat_mb"])
    parser.add_argument("--writes", type=int, help="submissions and screenings per write batch")
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument("--skip-writes", action="store_true", help="leave out the triggers' write cost")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="time the pages without gc.freeze() (apoa/wsgi.py freezes the app's objects)")
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


def head_secret(email):
    """A fixed base32 TOTP secret per bench head (public, like the officers')."""
    import base64

    return base64.b32encode(f"apoa-head-{email}".ljust(20, "x")[:20].encode()).decode()


def ensure_heads(app):
    """A regional head per measured office, enrolled with a known TOTP secret (the pages are timed
    through the real sign-in)."""
    from apoa.auth.services import create_user, find_user_by_email
    from apoa.auth.totp import enrol_with_secret
    from apoa.extensions import db

    emails = {}
    with app.app_context():
        for name, office in HEADS.items():
            email = f"kepala.{office.lower()}@bench.apoa.id"
            user = find_user_by_email(email)
            if user is None:
                user = create_user(email, f"Kepala {office}", data.BENCH_PASSWORD, "regional_head", office)
            if user.totp_secret is None:
                enrol_with_secret(user, head_secret(email))
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


def last_month():
    from apoa.summaries import monthly

    return monthly.parse_month(None)


def computed(user, period, source, now):
    """The head's Summary counted afresh (what the first view of a month, or the job, costs): the
    code path of every period before the months were kept."""
    from apoa.summaries import figures, rollups

    with rollups.small_aggregates() if source == rollups.ROLLUP else rollups.raw_facts():
        result = figures.computed_figures(figures.scope_for(user), period, source, True, False, now)
    result.scope_label = figures._scope_label(user, None)
    result.hotspots = []
    return result


def measure_summaries(app, emails, args):
    """`figures.summary(head, last month)` as a head's page calls it, with the month's figures kept
    (apoa/summaries/stored.py), beside the same Summary counted afresh from the rollups (a first
    view, or the job) and from the raw tables; all must be equal."""
    from apoa.auth.services import find_user_by_email
    from apoa.extensions import db
    from apoa.summaries import figures
    from apoa.summaries.rollups import RAW, ROLLUP

    results = {}
    # An app context, not a request: figures.summary() then leaves out the hotspots (timed with
    # the page).
    with app.app_context():
        users = {name: find_user_by_email(email) for name, email in emails.items()}
        period = last_month()
        now = datetime.now(timezone.utc)
        for head in users:          # the month kept, as after the job or a first view
            figures.summary(users[head], period, now=now)
            db.session.commit()
        kept = {head: [] for head in users}
        fresh = {head: [] for head in users}
        summaries, afresh = {}, {}
        fresh_runs = max(args.runs // 4, 3)
        for round_ in range(args.warmup + args.runs):
            for head in users:
                ms, summaries[head] = timed(lambda: figures.summary(users[head], period, now=now))
                db.session.rollback()
                if round_ >= args.warmup:
                    kept[head].append(ms)
                if round_ < args.warmup + fresh_runs:
                    ms, afresh[head] = timed(lambda: computed(users[head], period, ROLLUP, now))
                    db.session.rollback()
                    if round_ >= args.warmup:
                        fresh[head].append(ms)
        for head in users:
            raw_ms, raw = [], None
            for _ in range(args.raw_runs):
                ms, raw = timed(lambda: computed(users[head], period, RAW, now))
                db.session.rollback()
                raw_ms.append(ms)
                log(f"  raw {head} {period.start:%Y-%m}: {ms:.0f} ms")
            ours = comparable(summaries[head])
            equal_fresh = ours == comparable(afresh[head])
            equal_raw = raw is None or ours == comparable(raw)
            for name, other, equal in (("fresh", afresh[head], equal_fresh), ("raw", raw, equal_raw)):
                if not equal:
                    log(f"  DIFFERENT figures for {head} ({name}): "
                        f"{[k for k, v in ours.items() if comparable(other)[k] != v]}")
            key = f"{head} {period.start:%Y-%m}"
            results[key] = {
                "kept_p50_ms": round(statistics.median(kept[head]), 2),
                "kept_p95_ms": round(percentile(kept[head], 95), 2), "kept_max_ms": round(max(kept[head]), 2),
                "fresh_p50_ms": round(statistics.median(fresh[head]), 2),
                "fresh_p95_ms": round(percentile(fresh[head], 95), 2),
                "raw_p50_ms": round(statistics.median(raw_ms), 1) if raw_ms else None,
                "ratio": round(statistics.median(raw_ms) / statistics.median(kept[head]), 1) if raw_ms else None,
                "equal": equal_fresh and equal_raw, "raw_compared": raw is not None,
                "received": summaries[head].received.value, "anomalies": len(summaries[head].anomalies),
                "kabupaten_rows": len(summaries[head].by_kabupaten)}
    return results


def measure_job(app):
    """The job that keeps the months (`stored.fill_month_figures`), from nothing kept: every
    office's jurisdiction, the last two ended months; committed as the worker commits."""
    from sqlalchemy import delete

    from apoa.extensions import db
    from apoa.summaries import stored
    from apoa.summaries.models import summary_month_figures

    with app.app_context():
        db.session.execute(delete(summary_month_figures))
        db.session.commit()
        ms, rows = timed(stored.fill_month_figures)
        db.session.commit()
        db.session.remove()
    return {"rows": rows, "seconds": round(ms / 1000, 1)}


def head_client(app, email, secret):
    """A test client signed in as the head through the real pages (password, then the TOTP code)."""
    import re

    import pyotp

    client = app.test_client()

    def token(path):
        return re.search(r'name="csrf_token"[^>]*value="([^"]*)"', client.get(path).get_data(as_text=True)).group(1)
    answer = client.post("/masuk", data={"csrf_token": token("/masuk"), "email": email,
                                         "password": data.BENCH_PASSWORD})
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in of {email} answered {answer.status_code}")
    # Each code is good once: the step last used is forgotten (the run may sign a head in again
    # within 30 seconds).
    from sqlalchemy import update

    from apoa.auth.models import User
    from apoa.extensions import db

    with app.app_context():
        db.session.execute(update(User).where(User.email == email).values(totp_last_step=None))
        db.session.commit()
        db.session.remove()
    answer = client.post("/masuk/kode", data={"csrf_token": token("/masuk/kode"),
                                              "code": pyotp.TOTP(secret).now()})
    if answer.status_code != 302:
        raise RuntimeError(f"the second step of {email} answered {answer.status_code}")
    return client


def measure_pages(app, emails, args):
    """`GET /ringkasan?bulan=<last month>` for each head through the app's test client (the whole
    request: session, figures, guests, IKM, hotspots from their snapshot, charts, template), the
    month's figures kept; and one first view of the month with nothing kept (computed and kept)."""
    from sqlalchemy import delete

    from apoa.extensions import db
    from apoa.maps.hotspots import refresh_hotspots
    from apoa.summaries.models import summary_month_figures

    common.exempt_from_limits(app)
    with app.app_context():
        refresh_hotspots()              # the job's snapshot, as every 5 minutes
        db.session.commit()
        db.session.remove()
        month = last_month().start.strftime("%Y-%m")
    clients = {head: head_client(app, email, head_secret(email)) for head, email in emails.items()}
    path = f"/ringkasan?bulan={month}"
    # What the process holds so far never becomes garbage: frozen, as apoa/wsgi.py freezes the
    # app's objects in every gunicorn worker (--no-gc-freeze: the collector's full passes then
    # scan them all, 50-300 ms every ten or so views of the Ditjen's page).
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    results = {}
    for head, client in clients.items():
        with app.app_context():
            db.session.execute(delete(summary_month_figures))
            db.session.commit()
            db.session.remove()
        first_ms, answer = timed(lambda: client.get(path))
        assert answer.status_code == 200, answer.status_code
        results[head] = {"first_view_ms": round(first_ms, 1), "runs": []}
    for round_ in range(args.warmup + args.runs):
        for head, client in clients.items():
            ms, answer = timed(lambda: client.get(path))
            assert answer.status_code == 200, answer.status_code
            if round_ >= args.warmup:
                results[head]["runs"].append(ms)
            results[head]["bytes"] = len(answer.data)
    for head, result in results.items():
        runs = result.pop("runs")
        result.update(path=path, p50_ms=round(statistics.median(runs), 1), p95_ms=round(percentile(runs, 95), 1),
                      max_ms=round(max(runs), 1), gc_frozen=args.gc_freeze)
    return results


def measure_parts(app, emails, args):
    """The parts of the Ditjen head's page for last month, one by one: what the kept path runs, and
    (for comparison) the rollup readers the month's figures used to need on every view."""
    from apoa.auth.services import find_user_by_email
    from apoa.extensions import db
    from apoa.feedback.services import open_cases_count
    from apoa.feedback.skm import ikm_for
    from apoa.guests.figures import guest_figures
    from apoa.maps.hotspots import hotspots
    from apoa.periods import local_today
    from apoa.summaries import charts, figures, rollups, stored

    parts = {}
    with app.test_request_context():
        user = find_user_by_email(emails["ditjen"])
        scope = figures.scope_for(user)
        period = last_month()
        now = datetime.now(timezone.utc)
        first_week, _last_week, weeks = figures.anomaly_weeks(period)
        with rollups.small_aggregates():
            part = stored.month_part(scope, period)
        db.session.commit()
        summary = figures.summary(user, period, now=now)
        readers = {
            "kept month figures read (1 SELECT, JSON)": lambda: stored.month_part(scope, period),
            "open now (rollups.open_now)": lambda: rollups.open_now(scope, local_today(), now),
            "assembled Summary (open now, its Grid, rows, names)":
                lambda: figures.from_month_part(part, scope, period, now),
            "figures.summary (whole, kept)": lambda: figures.summary(user, period, now=now),
            "charts.summary_charts": lambda: charts.summary_charts(summary),
            "guest_figures": lambda: guest_figures(user, period, None),
            "ikm_for": lambda: ikm_for(user, period, None),
            "open_cases_count": lambda: open_cases_count(user),
            "hotspots (snapshot)": lambda: hotspots(user, limit=figures.HOTSPOT_LIMIT),
            "before: flow (month)": lambda: rollups.flow(scope, period),
            "before: flow (month before, full)": lambda: rollups.flow(scope, period.previous()),
            "before: daily (two months)": lambda: rollups.daily(scope, period.previous().start, period.end),
            "before: weekly (13 weeks x kabupaten)": lambda: rollups.weekly(scope, first_week, weeks, min_count=5),
            "before: whole month counted afresh": lambda: computed(user, period, rollups.ROLLUP, now),
        }
        for name, read in readers.items():
            with rollups.small_aggregates():
                runs = [timed(read)[0] for _ in range(args.warmup + 20)][args.warmup:]
            db.session.rollback()
            parts[name] = {"p50_ms": round(statistics.median(runs), 2), "p95_ms": round(percentile(runs, 95), 2)}
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

def build_result(args, env, dataset, histories, sizes, summaries, job, pages, parts, writes, csv, seconds):
    worst_page = max(v["p95_ms"] for v in pages.values())
    compared = [v for v in summaries.values() if v["ratio"] is not None]
    worst_ratio = min(v["ratio"] for v in compared) if compared else None
    met = {"page_p95_ms": worst_page <= TARGETS["page_p95_ms"],
           "summary_ratio": worst_ratio is None or worst_ratio >= TARGETS["summary_ratio"],
           "equal_results": all(v["equal"] for v in summaries.values()),
           "csv_seconds": csv is not None and csv["seconds"] <= TARGETS["csv_seconds"],
           "csv_flat": csv is not None and csv["flat"]}
    return {"benchmark": "summaries", "scale": args.scale, "database": args.database,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dataset": {k: dataset[k] for k in ("reports", "reused", "states", "created_from", "created_to")},
            "histories": histories, "rollups": sizes, "summaries": summaries, "job": job, "pages": pages,
            "worst_page_p95_ms": worst_page, "worst_ratio": worst_ratio, "parts_ditjen_month": parts,
            "write_cost": writes, "csv": csv, "targets": TARGETS, "met": met,
            "environment": env, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "run_seconds": round(seconds)}


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def print_report(f):
    env, met = f["environment"], {k: "yes" if v else "NO" for k, v in f["met"].items()}
    print(f"\nSummaries ({f['scale']} scale, database {f['database']}) - {f['date']}, {env['cpus']} cpus, "
          f"PostgreSQL {env['postgresql']}, {f['dataset']['reports']:,} reports, {f['rollups']['events']:,} events;"
          f" summary_flow {f['rollups']['summary_flow_rows']:,} rows ({f['rollups']['summary_flow_mb']} MB),"
          f" summary_open {f['rollups']['summary_open_rows']:,} rows; load average at the end "
          f"{f['loadavg_at_end']}")
    print(common.durability_line(env["durability"]))
    frozen = all(v["gc_frozen"] for v in f["pages"].values())
    rows = [(f"head's page (test client{', gc frozen' if frozen else ''})", "p50", "p95", "max", "first view",
             "bytes")]
    for head, v in f["pages"].items():
        rows.append((f"{head} {v['path']}", f"{v['p50_ms']:.1f} ms", f"{v['p95_ms']:.1f} ms", f"{v['max_ms']:.1f} ms",
                     f"{v['first_view_ms']:.0f} ms", f"{v['bytes']:,}"))
    _table(rows)
    rows = [("figures.summary, head, month", "kept p50", "kept p95", "afresh p50", "afresh p95", "raw p50", "equal",
             "received", "anomalies")]
    for key, v in f["summaries"].items():
        rows.append((key, f"{v['kept_p50_ms']:.1f} ms", f"{v['kept_p95_ms']:.1f} ms", f"{v['fresh_p50_ms']:.1f} ms",
                     f"{v['fresh_p95_ms']:.1f} ms",
                     "-" if v["raw_p50_ms"] is None else f"{v['raw_p50_ms']:.0f} ms",
                     ("yes" if v["equal"] else "NO") + ("" if v["raw_compared"] else " (no raw)"),
                     f"{v['received']:,}", str(v["anomalies"])))
    _table(rows)
    print(f"page p95 (worst) {f['worst_page_p95_ms']} ms (target <= {TARGETS['page_p95_ms']}): "
          f"{met['page_p95_ms']}; ratio raw/kept (worst) "
          f"{'not measured' if f['worst_ratio'] is None else str(f['worst_ratio']) + 'x'} "
          f"(target >= {TARGETS['summary_ratio']}): {met['summary_ratio']}; equal results: {met['equal_results']}")
    print(f"job fill_month_figures from nothing: {f['job']['rows']} rows in {f['job']['seconds']} s")
    for name, part in f["parts_ditjen_month"].items():
        print(f"  part, Ditjen last month: {name}: {part}")
    w = f["write_cost"]
    if w:
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
    """Kept figures that differ from fresh ones or from the raw tables break the run (a missed
    target does not)."""
    different = [key for key, v in f["summaries"].items() if not v["equal"]]
    return [f"the kept month's summary differs from a fresh or raw one for {different}"] if different else []


def main():
    args = parse_args()
    common.require_environment("summaries")
    started = time.perf_counter()
    app, env, dataset, histories, sizes, emails = prepare(args)
    log("job: the months kept for every office")
    job = measure_job(app)
    log(f"summaries: {args.warmup} + {args.runs} runs (kept), {args.raw_runs} raw runs per head")
    summaries = measure_summaries(app, emails, args)
    log(f"pages: {args.warmup} + {args.runs} requests per head")
    pages = measure_pages(app, emails, args)
    parts = measure_parts(app, emails, args)
    writes = None
    if not args.skip_writes:
        log(f"write cost: {args.writes} submissions and screenings with the triggers on and off")
        writes = measure_write_cost(app, args.writes)
    csv = None
    if not args.skip_csv:
        log("CSV export of every report")
        csv = measure_csv(app, args)
    figures = build_result(args, env, dataset, histories, sizes, summaries, job, pages, parts, writes, csv,
                           time.perf_counter() - started)
    common.finish("summaries", figures, print_report, broken_checks(figures))


if __name__ == "__main__":
    main()
