"""Benchmark: the officers' map at a million reports (issue 5).

What is measured, in one run, against the benchmark's own database (`apoa_bench_maps` on the
development PostgreSQL: created, migrated, regions imported, offices and officers made, and
1,000,000 synthetic reports loaded with COPY on the first run; kept and reused later, see
bench/_maps_data.py for how the reports are spread, clustered and made valid):

* the map data endpoint `GET /peta/data.json?bbox=W,S,E,N&zoom=Z`, served by gunicorn and asked
  over HTTP with a signed-in session (password, then a TOTP code, through the real pages) by two
  officers: one of the Ditjen (sees every report) and one of a Kantor Imigrasi (KANIM-JAKSEL,
  Jakarta Selatan and Timur). Views: the country (zoom 5, 95,-11,141,6), a province (zoom 8, Jawa
  Barat 106,-7.9,108.9,-5.9) and the street (zoom 16, the box a 1280×800 window shows around the
  densest 0.01° cell of the reports the officer may see). Each (officer, view) is asked --warmup
  times untimed, then --requests times, interleaved round by round; p50/p95 latency as the client
  sees it, the answer's bytes raw and gzipped (level 6). Then, in-process, the SQL each view sends
  (captured from apoa.maps.clusters.map_data) with EXPLAIN (ANALYZE, BUFFERS);
* the street view as the page asks for it since issue 16: one `/peta/titik/z/x/y.json` per 256 px
  tile of the same street box (bench/_maps_tiles.py): the latency per tile, and the wall time
  until all the window's tiles are in over 6 connections at once (as a browser asks), beside the
  old one-answer path, with ratios (old / new);
* the time until the map is drawn in Chromium: the officers' page /peta at the country view
  (until `html[data-apoa-map=ready]`, then two animation frames, `performance.now()`), and beside
  it the baseline, a folium MarkerCluster page holding every report (1,000,000 points; if that
  cannot render within --baseline-timeout, 100,000 and the output says so) on the app's own
  folium map with local assets, served over local HTTP. Median of cold loads; bytes received;
* ratios: size = baseline page bytes / (our page's HTML + our biggest view's answer); draw time =
  baseline / ours.

Before /peta is drawn, the hotspot snapshot is refreshed once, as the product's worker does every
5 minutes (without it the page would group 30 days of reports itself, which a running installation
never does). `--skip-baseline` draws /peta but not the folium baseline (whose page takes minutes and
gigabytes to make): the ratios are then not computed.

Load on the machine is measured, not assumed: CPU used by other processes during the HTTP
measurement, the load average, and whether a pytest process of anyone else was running.

Run: .venv/bin/python bench/maps.py [--scale full|smoke] [--requests 60] [--browser-runs 5] ... (or
`make bench`) with APOA_DATABASE_URL and APOA_REDIS_URL set (eval "$(scripts/dev.sh services apoa)").
`--scale smoke` (make bench-smoke): 3,000 reports in apoa_bench_smoke, a few requests per view, one
load of each page. Prints a table, then as its last line one JSON object with the figures, the
targets and whether each was met; exits non-zero when /peta or every baseline page fails to draw.
"""
import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"   # git-ignored: the baseline pages (kept for later runs), screenshots
sys.path.insert(0, str(ROOT))

import _common as common  # noqa: E402 - database set-up, gunicorn runner, CPU accounting
import _maps_browser as browser  # noqa: E402
import _maps_data as data  # noqa: E402
import _maps_http as web  # noqa: E402
import _maps_tiles as tile_bench  # noqa: E402

TARGETS = {"view_bytes": 200_000, "zoomed_out_p95_ms": 150, "street_p95_ms": 25, "size_ratio": 100,
           "draw_ratio": 40, "peta_draw_ms": 500}
COUNTRY = {"name": "country", "zoom": 5, "bbox": (95, -11, 141, 6)}
PROVINCE = {"name": "province", "zoom": 8, "bbox": (106, -7.9, 108.9, -5.9)}  # Jawa Barat (and Jakarta)
STREET_ZOOM = 16
USERS = {"ditjen": data.DITJEN_OFFICE, "kantor": data.KANTOR_OFFICE}
GUNICORN = {"worker_class": "gthread", "workers": 2, "threads": 4}
SCALES = {
    "full": {"reports": 1_000_000, "lookup_sample": 100_000, "requests": 60, "warmup": 5, "browser_runs": 5,
             "baseline_points": "1000000,100000", "baseline_runs": 3, "baseline_timeout": 120,
             "database": "apoa_bench_maps"},
    "smoke": {"reports": 3_000, "lookup_sample": 1_000, "requests": 10, "warmup": 1, "browser_runs": 1,
              "baseline_points": "3000", "baseline_runs": 1, "baseline_timeout": 60,
              "database": common.SMOKE_DATABASE},
}
log = common.log


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--lookup-sample", type=int,
                        help="points on which locate_many and the set-based lookup are compared")
    parser.add_argument("--requests", type=int, help="timed requests per officer and view")
    parser.add_argument("--warmup", type=int, help="untimed requests per officer and view first")
    parser.add_argument("--map-path", default="/peta", help="the officers' map page (/peta)")
    parser.add_argument("--browser-runs", type=int, help="cold loads of /peta")
    parser.add_argument("--baseline-points",
                        help="folium MarkerCluster sizes to try, in order, until one renders (comma-separated)")
    parser.add_argument("--baseline-runs", type=int, help="cold loads of the baseline page")
    parser.add_argument("--baseline-timeout", type=int, help="seconds a baseline load may take")
    parser.add_argument("--skip-browser", action="store_true", help="measure the endpoint only")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="draw /peta but not the folium baseline (its page takes minutes and gigabytes to make)")
    parser.add_argument("--database")
    args = common.parse_scaled(parser, SCALES)
    args.baseline_points = [int(p) for p in args.baseline_points.split(",") if p.strip()]
    if args.requests < 50 and args.scale == "full":
        parser.error("--requests must be at least 50 (the p95 needs them)")
    return args


# --- load on the machine ---------------------------------------------------------------------

class LoadSampler(threading.Thread):
    """Every second: the 1-minute load average and whether anyone's pytest is running."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples, self.done = [], threading.Event()

    def run(self):
        while not self.done.wait(1.0):
            self.samples.append((time.time(), os.getloadavg()[0], pytest_running()))

    def between(self, start, end):
        inside = [s for s in self.samples if start <= s[0] <= end]
        if not inside:
            return {"samples": 0}
        return {"samples": len(inside), "loadavg_max": round(max(s[1] for s in inside), 2),
                "pytest_seen": sum(1 for s in inside if s[2])}


def pytest_running():
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes()
        except OSError:
            continue
        if b"pytest" in text and int(cmdline.parent.name) != os.getpid():
            return True
    return False


# --- the endpoint ----------------------------------------------------------------------------

def views_for(conn, app):
    """(user, view) → view, the street box around the densest spot the user may see."""
    views = {}
    for user, office in USERS.items():
        offices = None if office == data.DITJEN_OFFICE else jurisdiction(app, office)
        lon, lat, reports = web.densest_spot(conn, offices)
        street = {"name": "street", "zoom": STREET_ZOOM, "bbox": web.viewport_bbox(lon, lat, STREET_ZOOM),
                  "densest_cell_reports": reports}
        for view in (COUNTRY, PROVINCE, street):
            views[f"{user} {view['name']}"] = {**view, "user": user}
    return views


def jurisdiction(app, office_code):
    """The office ids whose reports this office's officer sees (the product's own rule)."""
    from apoa.auth.permissions import jurisdiction_office_ids
    from apoa.auth.services import find_user_by_email
    from apoa.extensions import db

    with app.app_context():
        ids = jurisdiction_office_ids(find_user_by_email(data.officer_email(office_code)))
        db.session.remove()
    return ids


def measure_endpoint(args, app, server, conn, pg_pid, sampler):
    """Sign both officers in, time every view, account the CPU; then each view in-process."""
    clients = {user: web.sign_in(server.port, data.officer_email(office), data.BENCH_PASSWORD,
                                 web.fresh_code(app, data.officer_email(office), data.totp_secret(office)))
               for user, office in USERS.items()}
    views = views_for(conn, app)
    before = common.cpu_snapshot(server.process.pid, pg_pid, common.session_pids(conn))
    start = time.time()
    figures = web.measure_views(clients, views, args.requests, args.warmup)
    end = time.time()
    log(f"measuring the street views in tiles: {args.warmup} + {args.requests} rounds")
    tiles_start = time.time()
    tiles = tile_bench.measure_street_tiles(clients, views, args.requests, args.warmup)
    tiles_load = sampler.between(tiles_start, time.time())
    floor = web.request_floor(clients["ditjen"], args.requests)
    after = common.cpu_snapshot(server.process.pid, pg_pid, common.session_pids(conn))
    conn.rollback()
    requests = sum(f["requests"] for f in figures.values()) + args.warmup * len(views)
    per_request, cores_busy, other_cores = common.cpu_per_request(before, after, requests, end - start)
    load = {"cpu_ms_per_request": {k.replace("apoa_bench", args.database): v for k, v in per_request.items()},
            "cores_busy": cores_busy, "other_cores": other_cores, **sampler.between(start, end),
            "street_tiles": tiles_load}
    for key, view in views.items():
        figures[key]["server"] = server_side(app, data.officer_email(USERS[view["user"]]), view)
    return clients, figures, tiles, load, floor


def server_side(app, email, view):
    explained = web.explain_view(app, email, view)
    if "error" in explained:
        return explained
    costliest = explained.pop("costliest") or {}
    return {**explained, "costliest_execution_ms": costliest.get("execution_ms"),
            "costliest_plan": costliest.get("plan"), "costliest_sql": costliest.get("sql")}


# --- the browser -----------------------------------------------------------------------------

def officer_page_available(client, path):
    status, _headers, body = client.request("GET", path)
    return status == 200 and b"officer-map" in body, status, len(body)


def page_latency(client, path, count=20):
    """p50 ms of GET /peta itself (the HTML, before any script or data): part of every draw."""
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        client.request("GET", path)
        samples.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(samples), 1)


def refresh_hotspots(app):
    """What the product's worker does every 5 minutes (`refresh_hotspots` in apoa/jobs/schedule.py):
    without a fresh snapshot /peta groups the last 30 days' reports itself (~250 ms at 1,000,000),
    which a running installation never does. Returns the job's seconds."""
    from apoa.extensions import db
    from apoa.maps.hotspots import refresh_hotspots as job

    with app.app_context():
        start = time.perf_counter()
        job()
        db.session.commit()
        db.session.remove()
    return round(time.perf_counter() - start, 2)


def measure_officer_page(args, server, client, chromium):
    available, status, html_bytes = officer_page_available(client, args.map_path)
    if not available:
        return {"error": f"{args.map_path} is not there yet (GET answered {status})", "html_bytes": None}
    html_ms = page_latency(client, args.map_path)
    url = f"http://127.0.0.1:{server.port}{args.map_path}"
    log(f"drawing {args.map_path} in Chromium ({args.browser_runs} cold loads)")
    result = browser.median_of_runs(chromium, url, browser.OFFICER_MAP_READY, web.VIEWPORT, args.browser_runs,
                                    cookies=client.cookies, timeout_s=60, log=log,
                                    screenshot=OUT / "maps-officer-page.png",
                                    drawn_mark=browser.OFFICER_MAP_DRAWN_MARK)
    return {**result, "html_bytes": html_bytes, "html_p50_ms": html_ms}


def baseline_page(env, db_url, count, marker):
    """The folium page of `count` points, made once per data set and kept in bench/out/."""
    import folium

    key = hashlib.sha256(marker.encode()).hexdigest()[:10]
    out = OUT / f"maps-baseline-{count}-folium{folium.__version__}-{key}.html"
    if out.exists():
        log(f"baseline: reusing {out.relative_to(ROOT)}")
        return out, None
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"baseline: rendering a folium MarkerCluster of {count:,} points (a separate process)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "_maps_baseline.py"), db_url, str(count), str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the baseline page could not be made:\n{done.stderr[-2000:]}")
    return out, round(time.perf_counter() - start, 1)


def measure_baseline(args, env, db_url, marker, chromium):
    """The largest MarkerCluster page of --baseline-points that renders, and every attempt."""
    attempts = []
    for count in args.baseline_points:
        path, build_s = baseline_page(env, db_url, count, marker)
        with browser.StaticServer(path) as static:
            log(f"drawing the baseline ({count:,} points, {path.stat().st_size:,} bytes) in Chromium")
            result = browser.median_of_runs(chromium, static.url, browser.CLUSTER_ICONS, web.VIEWPORT,
                                            args.baseline_runs, timeout_s=args.baseline_timeout, log=log,
                                            screenshot=OUT / f"maps-baseline-{count}.png")
        attempt = {"points": count, "html_bytes": path.stat().st_size, "build_s": build_s, **result}
        attempts.append(attempt)
        if "error" not in result:
            return attempt, attempts
    return None, attempts


# --- the result ------------------------------------------------------------------------------

def build_result(args, env, dataset, figures, floor, load, page, baseline, attempts):
    zoomed_out = [f for f in figures.values() if f["view"] in ("country", "province")]
    street = [f for f in figures.values() if f["view"] == "street"]
    biggest = max(f["bytes"] for f in figures.values())
    ours_bytes = (page.get("html_bytes") or 0) + biggest if page and "error" not in page else None
    size_ratio = round(baseline["html_bytes"] / ours_bytes, 1) if baseline and ours_bytes else None
    # Both as Playwright noticed them: the baseline has no mark of its own inside the page.
    draw_ratio = (round(baseline["draw_ms"] / page["noticed_ms"], 1)
                  if baseline and page and "noticed_ms" in page else None)
    # For information: everything each page received (scripts, styles, outlines, data included).
    transfer_ratio = (round(baseline["bytes"] / page["bytes"], 1)
                      if baseline and page and "bytes" in page else None)
    met = {"view_bytes": biggest <= TARGETS["view_bytes"],
           "zoomed_out_p95_ms": max(f["p95_ms"] for f in zoomed_out) <= TARGETS["zoomed_out_p95_ms"],
           "street_p95_ms": max(f["p95_ms"] for f in street) <= TARGETS["street_p95_ms"],
           "size_ratio": size_ratio is not None and size_ratio >= TARGETS["size_ratio"],
           "draw_ratio": draw_ratio is not None and draw_ratio >= TARGETS["draw_ratio"]}
    slowest = max(figures, key=lambda k: figures[k]["p95_ms"])
    return {"benchmark": "maps", "scale": args.scale, "database": args.database,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "dataset": dataset,
            "views": figures, "request_floor": floor, "biggest_view_bytes": biggest,
            "officer_page": page, "baseline": baseline, "baseline_attempts": attempts,
            "baseline_points_note": None if not baseline or baseline["points"] == args.reports else
            f"a MarkerCluster of {args.reports:,} points could not render; the baseline holds {baseline['points']:,}",
            "ours_bytes_for_ratio": ours_bytes, "size_ratio": size_ratio, "draw_ratio": draw_ratio,
            "transfer_ratio": transfer_ratio,
            "slowest_view": slowest, "targets": TARGETS, "met": met, "load": load, "environment": env,
            "gunicorn": GUNICORN}


def print_report(f):
    env, met = f["environment"], {k: "yes" if v else "NO" for k, v in f["met"].items()}
    d = f["dataset"]
    print(f"\nOfficers' map ({f['scale']} scale, database {f['database']}) - {f['date']}, {env['cpus']} cpus, "
          f"PostgreSQL {env['postgresql']}, PostGIS {env['postgis']}, {d['reports']:,} reports "
          f"({'reused' if d['reused'] else 'generated in this run'})")
    print(common.durability_line(env["durability"]))
    if not d["reused"]:
        print("data set made in this run: " + ", ".join(f"{k} {v} s" for k, v in d["phases_s"].items()))
        lookup = d["lookup"]
        print(f"region lookup on {lookup['points']:,} points: " + ", ".join(
            f"{k} {v:,} points/s" for k, v in lookup["points_per_s"].items())
            + f" ({lookup['disagreements']} disagreements); {lookup['used']} used for the rest"
              f" ({lookup['rest_points_per_s']:,} points/s, {lookup['redrawn']:,} points redrawn off the sea)")
    print(f"data: {d['reports']:,} reports in {d['kabupaten_with_reports']} kabupaten/kota,"
          f" {d['reports_with_office']:,} in a Kantor's jurisdiction, states {d['states']}")
    rows = [("officer, view", "zoom", "answer", "p50 ms", "p95 ms", "bytes", "gzip", "in-process ms (SQL, JSON)",
             "target p95", "met")]
    for key, v in f["views"].items():
        target = TARGETS["street_p95_ms" if v["view"] == "street" else "zoomed_out_p95_ms"]
        server = v.get("server") or {}
        rows.append((key, str(v["zoom"]), f"{v['items']:,} {v['kind']}" + (" (truncated)" if v["truncated"] else ""),
                     f"{v['p50_ms']:.1f}", f"{v['p95_ms']:.1f}", f"{v['bytes']:,}", f"{v['gzip_bytes']:,}",
                     f"{server.get('map_data_ms', '-')} ({server.get('sql_ms', '-')}, {server.get('json_ms', '-')})",
                     f"<= {target}", "yes" if v["p95_ms"] <= target else "NO"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    floor = f["request_floor"]
    print(f"floor: a signed-in request answered 400 before any report query (bad bbox): p50 {floor['p50_ms']} ms,"
          f" p95 {floor['p95_ms']} ms")
    print(f"biggest answer: {f['biggest_view_bytes']:,} bytes (target <= {TARGETS['view_bytes']:,}):"
          f" {met['view_bytes']}")
    tile_bench.print_tiles(f["street_tiles"], f["views"], TARGETS["street_p95_ms"])
    page, base = f["officer_page"] or {}, f["baseline"]
    ours = (f"{page['draw_ms']:.0f} ms (median of {len(page['draw_ms_runs'])}; by the page's mark, "
            f"{page['noticed_ms']:.0f} ms as Playwright noticed it), {page['bytes']:,} bytes received,"
            f" page HTML {page['html_bytes']:,} bytes (served in {page['html_p50_ms']} ms, p50)"
            if "draw_ms" in page else page.get("error", "not measured"))
    print(f"{'/peta drawn in Chromium':<32} {ours} (target <= {TARGETS['peta_draw_ms']} ms: {met['peta_draw_ms']})")
    if page.get("waterfall_first_run"):
        heaviest = sorted(page["waterfall_first_run"], key=lambda e: -e["bytes"])[:6]
        print("  what /peta loads (first run, until the network is idle; bytes, received at ms): " + ", ".join(
            f"{e['path'][:60]} {e['bytes']:,} B @{e['end_ms']}" for e in heaviest))
    if base:
        print(f"{'baseline (folium MarkerCluster)':<32} {base['points']:,} points: {base['draw_ms']:.0f} ms (median of "
              f"{len(base['draw_ms_runs'])}), HTML {base['html_bytes']:,} bytes, {base['bytes']:,} bytes received")
    for attempt in f["baseline_attempts"]:
        if "error" in attempt:
            print(f"  baseline of {attempt['points']:,} points could not render: {attempt['error']}")
    if f["baseline_points_note"]:
        print(f"  NOTE: {f['baseline_points_note']}")
    print(f"size ratio (baseline HTML / (our page HTML + biggest answer)): {f['size_ratio']} (>= "
          f"{TARGETS['size_ratio']}): {met['size_ratio']};  draw-time ratio: {f['draw_ratio']} (>= "
          f"{TARGETS['draw_ratio']}): {met['draw_ratio']};  for information, all bytes received by the baseline /"
          f" by /peta: {f['transfer_ratio']}")
    load = f["load"]
    print(f"load during the endpoint measurement: other processes used {load['other_cores']} cores; load average up "
          f"to {load.get('loadavg_max')}; someone's pytest running in {load.get('pytest_seen', 0)} of "
          f"{load.get('samples', 0)} one-second samples")
    for phase in ("officer_page", "baseline"):
        if load.get(phase, {}).get("samples"):
            p = load[phase]
            print(f"load while drawing the {phase.replace('_', ' ')}: load average up to {p['loadavg_max']}; pytest "
                  f"running in {p['pytest_seen']} of {p['samples']} one-second samples")
    slow = f["views"][f["slowest_view"]].get("server") or {}
    if slow.get("costliest_plan"):
        print(f"slowest view: {f['slowest_view']}; its costliest statement, EXPLAIN (ANALYZE, BUFFERS):")
        print("\n".join("    " + line for line in slow["costliest_plan"]))
    print()


# --- main ------------------------------------------------------------------------------------

def run(args, workdir, sampler):
    import psycopg2

    from apoa import create_app

    db_url = common.bench_url(os.environ["APOA_DATABASE_URL"], args.database)
    log(f"preparing database {args.database}")
    common.ensure_database(db_url)
    env_vars = common.app_environ(db_url, os.environ["APOA_REDIS_URL"])
    app = create_app(environ=env_vars)
    dataset = data.ensure_reports(app, db_url, args.reports, args.seed, args.lookup_sample, log)
    conn = psycopg2.connect(db_url)
    env = data.environment(conn)
    pg_pid = common.postmaster_pid_of(db_url)
    server = common.Gunicorn(GUNICORN, env_vars, workdir)
    page = baseline = None
    attempts = []
    try:
        server.start()
        log(f"measuring /peta/data.json: {args.warmup} + {args.requests} requests per officer and view")
        clients, figures, tiles, load, floor = measure_endpoint(args, app, server, conn, pg_pid, sampler)
        if not args.skip_browser:
            with browser.Chromium() as chromium:
                hotspots_s = refresh_hotspots(app)
                start = time.time()
                page = measure_officer_page(args, server, clients["ditjen"], chromium)
                page["hotspots_refreshed_before_s"] = hotspots_s
                load["officer_page"] = sampler.between(start, time.time())
                if not args.skip_baseline:
                    start = time.time()
                    baseline, attempts = measure_baseline(args, env_vars, db_url,
                                                          data.marker(args.reports, args.seed), chromium)
                    load["baseline"] = sampler.between(start, time.time())
    finally:
        server.stop()
        conn.close()
    result = build_result(args, env, dataset, figures, floor, load, page, baseline, attempts)
    result["street_tiles"] = tiles
    result["met"]["street_tile_p95_ms"] = all(t["tile_p95_ms"] <= TARGETS["street_p95_ms"] for t in tiles.values())
    result["met"]["peta_draw_ms"] = bool(page and "draw_ms" in page and page["draw_ms"] <= TARGETS["peta_draw_ms"])
    return result


def broken_checks(args, f):
    """Pages that could not be drawn break the run (a missed target does not)."""
    if args.skip_browser:
        return []
    broken = []
    if "draw_ms" not in (f["officer_page"] or {}):
        broken.append(f"{args.map_path} was not drawn: {(f['officer_page'] or {}).get('error')}")
    if f["baseline"] is None and not args.skip_baseline:
        broken.append("no baseline page could be drawn (see baseline_attempts)")
    return broken


def main():
    args = parse_args()
    common.require_environment("maps")
    sampler = LoadSampler()
    sampler.start()
    workdir = tempfile.mkdtemp(prefix="apoa-bench-maps-")
    try:
        figures = run(args, workdir, sampler)
    finally:
        sampler.done.set()
        shutil.rmtree(workdir, ignore_errors=True)
    common.finish("maps", figures, print_report, broken_checks(args, figures))


if __name__ == "__main__":
    main()
