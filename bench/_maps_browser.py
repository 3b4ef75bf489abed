"""Time until a map is drawn in Debian's Chromium (Playwright), offline: every request to anything
but 127.0.0.1 is blocked, as in tests/browser/conftest.py.

A run opens the page in a fresh browser context (empty cache), waits for the page's own sign that
it has drawn (the officers' map sets `html[data-apoa-map=ready]` once the first data is drawn; the
folium baseline has drawn when its cluster icons are in the page), lets two animation frames pass
(the frame holding the change is painted) and reads `performance.now()`: milliseconds since the
navigation started, so download, parsing, scripts, data requests and drawing are all inside. That
figure also holds the time Playwright takes to notice the sign (often 100-300 ms on 2 busy cores), so
a page that leaves its own performance mark two frames after drawing (the officers' map:
`apoa-map-drawn`, set by map-common.js) is timed by that mark, read inside the page; the noticed time
is kept beside it (`noticed_ms`) and is what a comparison with the folium baseline uses. The
bytes are the response bodies the page received (as transferred), summed from Playwright's
request events once the network is idle.
"""
import mimetypes
import shutil
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
# The launch arguments of tests/browser/conftest.py (no background traffic to Google's services).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOST = "127.0.0.1"
# What the page loaded and when, relative to the navigation start (Resource Timing).
WATERFALL = """() => performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"))
    .map(e => ({path: new URL(e.name).pathname + new URL(e.name).search, start_ms: Math.round(e.startTime),
                end_ms: Math.round(e.responseEnd), bytes: e.encodedBodySize}))"""
DRAWN_AFTER_TWO_FRAMES = ("() => new Promise(resolve => requestAnimationFrame("
                          "() => requestAnimationFrame(() => resolve(performance.now()))))")
OFFICER_MAP_READY = "html[data-apoa-map=ready]"
OFFICER_MAP_DRAWN_MARK = "apoa-map-drawn"
MARK_SET = "mark => performance.getEntriesByName(mark).length > 0"
MARK_TIME = "mark => performance.getEntriesByName(mark)[0].startTime"
CLUSTER_ICONS = ".leaflet-marker-icon"


class Chromium:
    """Playwright's Chromium (Debian's binary), started once for all runs."""

    def __enter__(self):
        from playwright.sync_api import sync_playwright

        if not Path(CHROMIUM).exists():
            raise RuntimeError(f"no Chromium at {CHROMIUM}: install Debian's chromium (`make setup`)")
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        return self

    def __exit__(self, *exc):
        self.browser.close()
        self.playwright.stop()

    def time_page(self, url, ready_selector, viewport, cookies=None, timeout_s=60, screenshot=None,
                  drawn_mark=None):
        """One cold load of `url`: {draw_ms, noticed_ms, bytes, requests, blocked, failed} or
        {error, ...}; draw_ms from the page's `drawn_mark` when given, else as noticed; a
        screenshot saved at `screenshot` after the measurement, if given."""
        context = self.browser.new_context(viewport=viewport)
        if cookies:
            context.add_cookies([{"name": k, "value": v, "url": url} for k, v in cookies.items()])
        blocked, failed, finished, crashed = [], [], [], []
        context.route("**/*", _only_this_machine(blocked))
        page = context.new_page()
        page.on("requestfinished", lambda request: finished.append(request))
        page.on("requestfailed", lambda r: failed.append(f"{r.url[:120]}: {r.failure}"))
        page.on("crash", lambda _page: crashed.append(True))
        deadline = time.monotonic() + timeout_s
        try:
            page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
            page.wait_for_selector(ready_selector, state="attached",
                                   timeout=max(1, deadline - time.monotonic()) * 1000)
            noticed_ms = page.evaluate(DRAWN_AFTER_TWO_FRAMES)
            draw_ms = noticed_ms
            if drawn_mark:
                page.wait_for_function(MARK_SET, arg=drawn_mark,
                                       timeout=max(1, deadline - time.monotonic()) * 1000)
                draw_ms = page.evaluate(MARK_TIME, drawn_mark)
            dom_ready_ms = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
            try:
                page.wait_for_load_state("networkidle", timeout=15_000)
            except Exception:  # noqa: BLE001 - a page still polling is measured as it is
                pass
            waterfall = page.evaluate(WATERFALL)  # also what arrived after the drawing
            sizes = [r.sizes() for r in finished]
            if screenshot:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot))
            return {"draw_ms": round(draw_ms, 1), "noticed_ms": round(noticed_ms, 1),
                    "dom_ready_ms": round(dom_ready_ms, 1),
                    "bytes": sum(s["responseBodySize"] for s in sizes), "requests": len(finished),
                    "blocked": blocked, "failed": failed, "waterfall": waterfall}
        except Exception as error:  # noqa: BLE001 - a page that cannot render is a result here
            reason = "the page crashed (renderer out of memory?)" if crashed else f"{type(error).__name__}: {error}"
            return {"error": reason.splitlines()[0][:300], "blocked": blocked, "failed": failed}
        finally:
            context.close()


def _only_this_machine(blocked):
    def handle(route):
        if urlsplit(route.request.url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")
    return handle


def median_of_runs(chromium, url, ready_selector, viewport, runs, cookies=None, timeout_s=60, log=print,
                   screenshot=None, drawn_mark=None):
    """`runs` cold loads; the median draw time, bytes of the first, each run's figure. Stops at
    the first run that fails (the page cannot render). The first run leaves a screenshot."""
    results = []
    for number in range(runs):
        result = chromium.time_page(url, ready_selector, viewport, cookies, timeout_s,
                                    screenshot=screenshot if number == 0 else None, drawn_mark=drawn_mark)
        log(f"    run {number + 1}: " + (f"{result['draw_ms']:.0f} ms, {result['bytes']:,} bytes"
                                         if "error" not in result else f"FAILED: {result['error']}"))
        results.append(result)
        if "error" in result:
            return {"error": result["error"], "runs": results}
    draws = [r["draw_ms"] for r in results]
    return {"draw_ms": round(statistics.median(draws), 1), "draw_ms_runs": draws,
            "noticed_ms": round(statistics.median(r["noticed_ms"] for r in results), 1),
            "dom_ready_ms": round(statistics.median(r["dom_ready_ms"] for r in results), 1),
            "bytes": results[0]["bytes"], "requests": results[0]["requests"],
            "waterfall_first_run": results[0]["waterfall"],
            "blocked": sorted({u for r in results for u in r["blocked"]}),
            "failed": sorted({f for r in results for f in r["failed"]})}


# --- a local server for the baseline page ----------------------------------------------------

class StaticServer:
    """Serves one HTML file at / and the app's vendor assets at /assets/vendor/<package>/<file>
    (the same folders apoa/maps/assets.py serves), on 127.0.0.1, in a thread."""

    def __init__(self, html_path):
        from apoa.maps.assets import PACKAGES

        html_path, packages = Path(html_path), PACKAGES

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = urlsplit(self.path).path
                if path == "/":
                    return self._send(html_path, "text/html; charset=utf-8")
                if path == "/favicon.ico":  # asked by Chromium itself; none, and no error either
                    self.send_response(204)
                    return self.end_headers()
                parts = path.split("/")
                if len(parts) >= 5 and parts[1:3] == ["assets", "vendor"] and parts[3] in packages:
                    folder = packages[parts[3]].resolve()
                    target = (folder / "/".join(parts[4:])).resolve()
                    if target.is_file() and folder in target.parents:
                        return self._send(target, mimetypes.guess_type(target.name)[0] or "application/octet-stream")
                self.send_error(404)

            def _send(self, file_path, content_type):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(file_path.stat().st_size))
                self.end_headers()
                with open(file_path, "rb") as f:
                    shutil.copyfileobj(f, self.wfile, 1 << 20)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((LOCAL_HOST, 0), Handler)
        self.url = f"http://{LOCAL_HOST}:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
