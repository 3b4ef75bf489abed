"""Benchmark: page weight on a slow phone connection (issue 11, "Weight").

Debian's Chromium (Playwright), in a phone-sized window, throttled through the DevTools protocol
(`Network.emulateNetworkConditions`) to --kbps down and up with --latency-ms added to every
request (400 kbps / 400 ms: a weak 3G or a crowded 4G cell), opens three pages served by gunicorn
(the app exactly as `make run` serves it, with its own compression), each on a first visit (a new
browser context: empty cache, no cookies but the officer's sign-in):

* `/lapor`, the resident's form: ready when DOMContentLoaded and the load event have passed, the
  map is on the page and the requests the page made while loading (the base map) have arrived.
  Target <= 2.5 s; the issue measured 4.8 s before compression and cache headers.
* the officers' report page `/laporan/<id>` (its small map) and the officers' map `/peta` (ready
  when it marks `html[data-apoa-map=ready]` and its loading requests have arrived). Target <= 3 s.

The same pages are measured in the same run with the browser asking for no compression
(`Accept-Encoding: identity`): what the pages cost before this issue's compression. And once more
in the same context straight after the first visit (a repeat visit): what the cache headers save.

A time is the moment, in the page's own clock (milliseconds since the navigation started), when
the last of these happened: the load event ended, the last request made before the network went
quiet received its last byte, the map's ready mark appeared. Bytes are what crossed the network
(Resource Timing's transferSize: headers and compressed bodies; 0 for what came from the cache).

Run: .venv/bin/python bench/page_weight.py [--scale full|smoke] [--runs N] [--kbps K]
[--latency-ms MS] with APOA_DATABASE_URL and APOA_REDIS_URL set (`make bench`); `--scale smoke`
(make bench-smoke) does one run of each against apoa_bench_smoke. Ends with its JSON line; exits
non-zero when a page cannot be loaded or the compressed pages are not compressed (a missed
target does not fail it).
"""
import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import _common as common
import _maps_data as data
from _common import log
from _maps_browser import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOST
from _maps_http import fresh_code, sign_in

SCALES = {
    "full": {"runs": 5, "reports": 300, "database": "apoa_bench_weight"},
    "smoke": {"runs": 1, "reports": 20, "database": common.SMOKE_DATABASE},
}
# The issue's figure for /lapor on a first visit at 400 kbps / 400 ms, before this work.
ISSUE_BASELINE_MS = {"/lapor": 4800}
TARGET_MS = {"form": 2500, "report": 3000, "map": 3000}
GUNICORN = {"worker_class": "gthread", "workers": 2, "threads": 4}
WARM_UP_VISITS = 3
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "id-ID", "timezone_id": "Asia/Jakarta"}
# Reports of the officer's office (Kantor Imigrasi Jakarta Selatan), around this point.
JAKSEL = (106.80, -6.26)
# Records when the officers' map marks itself drawn (map-common.js sets data-apoa-map=ready).
READY_MARK_SCRIPT = """
new MutationObserver(() => {
  if (!window.__apoaReadyAt && document.documentElement && document.documentElement.dataset.apoaMap === "ready") {
    window.__apoaReadyAt = performance.now();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ["data-apoa-map"]});
"""
READY_MS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const ends = [nav.loadEventEnd, nav.domContentLoadedEventEnd, window.__apoaReadyAt || 0,
                ...resources.map(r => r.responseEnd)];
  const entries = [nav, ...resources];
  return {ready_ms: Math.max(...ends), dom_ready_ms: nav.domContentLoadedEventEnd,
          bytes: entries.reduce((sum, e) => sum + e.transferSize, 0),
          requests: entries.length, cached: resources.filter(r => r.transferSize === 0).length,
          encoding: null};
}"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, help="first visits of each page (the median is reported)")
    parser.add_argument("--reports", type=int, help="reports in the officer's office (the map's data)")
    parser.add_argument("--kbps", type=int, default=400, help="throughput down and up, kilobits per second")
    parser.add_argument("--latency-ms", type=int, default=400, help="latency added to every request")
    parser.add_argument("--database")
    return common.parse_scaled(parser, SCALES)


# --- the data --------------------------------------------------------------------------------

def ensure_reports(app, count):
    """At least `count` reports in Jakarta Selatan, made by the product's own submit_report; the id
    of one of them (the report page measured)."""
    import random

    from sqlalchemy import func, select

    from apoa.extensions import db
    from apoa.regions.models import Office
    from apoa.reports.models import Category, Report
    from apoa.reports.services import NewReport, submit_report

    with app.app_context():
        office_id = db.session.scalar(select(Office.id).where(Office.code == data.KANTOR_OFFICE))
        have = db.session.scalar(select(func.count()).select_from(Report).where(Report.office_id == office_id))
        categories = db.session.scalars(select(Category.id)).all()
        rng = random.Random(11)
        for _ in range(max(0, count - have)):
            submit_report(NewReport(
                category_id=rng.choice(categories), description="Orang asing bekerja di toko tanpa izin kerja.",
                people_count=rng.randint(1, 5), place_kind="workplace",
                observed_at=datetime.now(timezone.utc) - timedelta(hours=rng.randint(1, 300)),
                point=(JAKSEL[0] + rng.gauss(0, 0.02), JAKSEL[1] + rng.gauss(0, 0.02)),
                submission_key=str(uuid.uuid4())))
        db.session.commit()
        report_id = db.session.scalar(select(func.min(Report.id)).where(Report.office_id == office_id))
        db.session.remove()
    return report_id


# --- the browser -----------------------------------------------------------------------------

class ThrottledChromium:
    """Debian's Chromium through Playwright; each visit in a fresh, throttled phone context."""

    def __init__(self, kbps, latency_ms):
        self.conditions = {"offline": False, "latency": latency_ms,
                           "downloadThroughput": kbps * 1000 / 8, "uploadThroughput": kbps * 1000 / 8}

    def __enter__(self):
        from playwright.sync_api import sync_playwright

        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        return self

    def __exit__(self, *exc):
        self.browser.close()
        self.playwright.stop()

    def visit(self, url, ready_selector, cookies, plain=False, throttled=True):
        """A first visit, then a repeat visit in the same context: two figures dicts (or errors)."""
        headers = {"Accept-Encoding": "identity"} if plain else {}
        context = self.browser.new_context(**PHONE, extra_http_headers=headers)
        if cookies:
            context.add_cookies([{"name": k, "value": v, "url": url} for k, v in cookies.items()])
        # Requests to other hosts are only recorded, not intercepted: Playwright's routing would
        # turn the HTTP cache off, and the repeat visit measures it. (The machine has no internet.)
        blocked = []
        context.add_init_script(READY_MARK_SCRIPT)
        page = context.new_page()
        page.on("request", lambda r: urlsplit(r.url).hostname not in (LOCAL_HOST, None) and blocked.append(r.url))
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        if throttled:
            cdp.send("Network.emulateNetworkConditions", self.conditions)
        try:
            first = self._load(page, url, ready_selector)
            repeat = self._load(page, url, ready_selector)
            return {**first, "blocked": blocked}, repeat
        finally:
            context.close()

    def _load(self, page, url, ready_selector, timeout_s=90):
        try:
            answer = page.goto(url, wait_until="load", timeout=timeout_s * 1000)
            page.wait_for_selector(ready_selector, state="attached", timeout=timeout_s * 1000)
            try:
                page.wait_for_load_state("networkidle", timeout=30_000)
            except Exception:  # noqa: BLE001 - a page still polling is measured as it is
                pass
            figures = page.evaluate(READY_MS)
            figures["encoding"] = answer.headers.get("content-encoding")
            figures["status"] = answer.status
            return figures
        except Exception as error:  # noqa: BLE001 - a page that cannot load is a result here
            return {"error": f"{type(error).__name__}: {error}".splitlines()[0][:300]}


def warm_up(chromium, url, ready_selector, cookies, visits=WARM_UP_VISITS):
    """Unthrottled, unmeasured visits first: every gunicorn worker has compiled the templates and
    opened its database connections, as on a server that has been running (a cold worker's first
    answer takes several hundred milliseconds more, which is not the page's weight)."""
    for _ in range(visits):
        for plain in (False, True):
            first, _repeat = chromium.visit(url, ready_selector, cookies, plain=plain, throttled=False)
            if "error" in first:
                raise RuntimeError(f"{url} does not load: {first['error']}")


def measure_page(chromium, url, ready_selector, cookies, runs, plain=False):
    """`runs` first visits (each followed by a repeat visit): medians and each run's figures."""
    firsts, repeats = [], []
    for number in range(runs):
        first, repeat = chromium.visit(url, ready_selector, cookies, plain=plain)
        log(f"    {'plain' if plain else 'compressed'} run {number + 1}: "
            + (f"{first['ready_ms']:.0f} ms, {first['bytes']:,} bytes; repeat {repeat.get('ready_ms', 0):.0f} ms, "
               f"{repeat.get('bytes', 0):,} bytes" if "error" not in first else f"FAILED: {first['error']}"))
        if "error" in first or "error" in repeat:
            return {"error": first.get("error") or repeat.get("error")}
        firsts.append(first)
        repeats.append(repeat)
    return {"ready_ms": round(statistics.median(f["ready_ms"] for f in firsts)),
            "dom_ready_ms": round(statistics.median(f["dom_ready_ms"] for f in firsts)),
            "ready_ms_runs": [round(f["ready_ms"]) for f in firsts],
            "bytes": firsts[0]["bytes"], "requests": firsts[0]["requests"],
            "document_encoding": firsts[0]["encoding"], "blocked": firsts[0]["blocked"],
            "repeat_ready_ms": round(statistics.median(r["ready_ms"] for r in repeats)),
            "repeat_bytes": repeats[0]["bytes"], "repeat_cached": repeats[0]["cached"]}


# --- the run ---------------------------------------------------------------------------------

def pages(report_id):
    """(name, path, what marks it ready, signed in?)"""
    return (("form", "/lapor", ".leaflet-container", False),
            ("report", f"/laporan/{report_id}", ".leaflet-container", True),
            ("map", "/peta", "html[data-apoa-map=ready]", True))


def officer_cookies(app, port):
    email = common.officer_email(data.KANTOR_OFFICE)
    code = fresh_code(app, email, data.totp_secret(data.KANTOR_OFFICE))
    client = sign_in(port, email, common.BENCH_PASSWORD, code)
    client.close()
    return client.cookies


def run(args, workdir):
    from apoa import create_app

    db_url = common.bench_url(os.environ["APOA_DATABASE_URL"], args.database)
    log(f"preparing database {args.database}")
    common.ensure_database(db_url)
    env = common.app_environ(db_url, os.environ["APOA_REDIS_URL"])
    app = create_app(environ=env)
    data.ensure_offices_and_officers(app)
    report_id = ensure_reports(app, args.reports)
    server = common.Gunicorn(GUNICORN, env, workdir)
    results = {}
    try:
        server.start()
        cookies = officer_cookies(app, server.port)
        with ThrottledChromium(args.kbps, args.latency_ms) as chromium:
            for name, path, ready, signed_in in pages(report_id):
                url = f"http://127.0.0.1:{server.port}{path}"
                log(f"{path}: {args.runs} first visits at {args.kbps} kbps / {args.latency_ms} ms, "
                    "compressed and plain")
                jar = cookies if signed_in else None
                warm_up(chromium, url, ready, jar)
                results[name] = {"path": path,
                                 "compressed": measure_page(chromium, url, ready, jar, args.runs),
                                 "plain": measure_page(chromium, url, ready, jar, args.runs, plain=True)}
    finally:
        server.stop()
        common.discard_jobs(os.environ["APOA_REDIS_URL"], db_url)
    return build_result(args, results)


def build_result(args, results):
    for name, result in results.items():
        ours, plain = result["compressed"], result["plain"]
        result["target_ms"] = TARGET_MS[name]
        if "error" in ours or "error" in plain:
            continue
        result["met"] = ours["ready_ms"] <= TARGET_MS[name]
        result["faster_than_plain"] = round(plain["ready_ms"] / ours["ready_ms"], 2)
        result["lighter_than_plain"] = round(plain["bytes"] / ours["bytes"], 2)
        issue = ISSUE_BASELINE_MS.get(result["path"])
        result["issue_baseline_ms"] = issue
        result["faster_than_issue_baseline"] = round(issue / ours["ready_ms"], 2) if issue else None
    return {"benchmark": "page_weight", "scale": args.scale, "runs": args.runs, "kbps": args.kbps,
            "latency_ms": args.latency_ms, "reports": args.reports, "pages": results}


def print_report(f):
    print(f"\nPage weight: first visits in Chromium at {f['kbps']} kbps / {f['latency_ms']} ms, 360 px phone, "
          f"median of {f['runs']} (scale {f['scale']})\n")
    print(f"{'page':<18} {'ready':>8} {'target':>7} {'bytes':>9} {'req':>4} | {'plain':>8} {'bytes':>9} "
          f"{'x time':>6} {'x bytes':>7} | {'repeat':>7} {'bytes':>7}")
    for result in f["pages"].values():
        ours, plain = result["compressed"], result["plain"]
        if "error" in ours or "error" in plain:
            print(f"{result['path']:<18} FAILED: {ours.get('error') or plain.get('error')}")
            continue
        print(f"{result['path']:<18} {ours['ready_ms']:>6} ms {result['target_ms']:>4} ms {ours['bytes']:>9,} "
              f"{ours['requests']:>4} | {plain['ready_ms']:>5} ms {plain['bytes']:>9,} "
              f"{result['faster_than_plain']:>6} {result['lighter_than_plain']:>7} | "
              f"{ours['repeat_ready_ms']:>4} ms {ours['repeat_bytes']:>7,}")
    form = f["pages"].get("form", {})
    if form.get("faster_than_issue_baseline"):
        print(f"\n/lapor: {form['compressed']['ready_ms']} ms against the issue's {form['issue_baseline_ms']} ms: "
              f"{form['faster_than_issue_baseline']}x faster")
    print("plain: the same pages with `Accept-Encoding: identity` (no compression); repeat: the same context "
          "straight after (cache headers at work)\n")


def broken_checks(f):
    """A page that cannot load, or a compressed run whose page was not compressed, breaks the run."""
    broken = []
    for result in f["pages"].values():
        for variant in ("compressed", "plain"):
            if "error" in result[variant]:
                broken.append(f"{result['path']} ({variant}) did not load: {result[variant]['error']}")
        ours, plain = result["compressed"], result["plain"]
        if "error" not in plain and plain["document_encoding"]:
            broken.append(f"{result['path']} (plain) arrived compressed: the baseline is not a baseline")
        if "error" not in ours and ours["document_encoding"] not in ("br", "gzip"):
            broken.append(f"{result['path']} arrived uncompressed ({ours['document_encoding']})")
        if "error" not in ours and ours["blocked"]:
            broken.append(f"{result['path']} asked for other hosts: {ours['blocked'][:3]}")
    return broken


def main():
    args = parse_args()
    common.require_environment("page_weight")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="apoa-bench-weight-") as workdir:
        figures = run(args, workdir)
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    common.finish("page_weight", figures, print_report, broken_checks(figures))


if __name__ == "__main__":
    main()
