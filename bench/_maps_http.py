"""The maps benchmark over HTTP: staff sign-in (password, then a TOTP code) with a plain keep-alive
client, and the latency and size of `GET /peta/data.json` for each view; plus, in-process, the SQL
that answers a view and its EXPLAIN ANALYZE (for the lead when a target is missed)."""
import functools
import gzip
import http.client
import json
import re
import statistics
import time
import urllib.parse

from _common import percentile

SECOND_STEP = "/masuk/kode"
# A desktop browser window: the street view's box is what it shows at that zoom.
VIEWPORT = {"width": 1280, "height": 800}
DEGREES_PER_PIXEL_AT_ZOOM_0 = 360 / 256


class HttpClient:
    """One keep-alive connection to 127.0.0.1 that keeps the cookies it is given."""

    def __init__(self, port):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies = {}

    def request(self, method, path, form=None):
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _sep, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, data

    def csrf_token(self, path):
        status, _headers, body = self.request("GET", path)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', body.decode())
        if status != 200 or match is None:
            raise RuntimeError(f"GET {path} answered {status} without a CSRF token")
        return match.group(1)

    def close(self):
        self.connection.close()


def sign_in(port, email, password, code):
    """A client signed in as a staff user through the real pages (password, then the code)."""
    client = HttpClient(port)
    status, headers, _body = client.request("POST", "/masuk", {
        "csrf_token": client.csrf_token("/masuk"), "email": email, "password": password})
    if status != 302 or headers.get("Location") != SECOND_STEP:
        raise RuntimeError(f"sign-in of {email} answered {status} {headers.get('Location')}")
    status, headers, _body = client.request("POST", SECOND_STEP, {
        "csrf_token": client.csrf_token(SECOND_STEP), "code": code})
    if status != 302:
        raise RuntimeError(f"the second step of {email} answered {status}")
    return client


def fresh_code(app, email, secret):
    """The current TOTP code, after clearing the record of used steps (each code is good once, and
    the benchmark may sign the same officer in again within 30 seconds)."""
    import pyotp
    from sqlalchemy import update

    from apoa.auth.models import User
    from apoa.extensions import db

    with app.app_context():
        db.session.execute(update(User).where(User.email == email).values(totp_last_step=None))
        db.session.commit()
        db.session.remove()
    return pyotp.TOTP(secret).now()


# --- the views -------------------------------------------------------------------------------

def viewport_bbox(lon, lat, zoom):
    """The box a VIEWPORT-sized window centred on (lon, lat) shows at `zoom` (Web Mercator)."""
    import math

    per_pixel = DEGREES_PER_PIXEL_AT_ZOOM_0 / 2 ** zoom
    half_w = VIEWPORT["width"] / 2 * per_pixel
    half_h = VIEWPORT["height"] / 2 * per_pixel * math.cos(math.radians(lat))
    return (round(lon - half_w, 5), round(lat - half_h, 5), round(lon + half_w, 5), round(lat + half_h, 5))


def densest_spot(conn, office_ids=None, cell=0.01):
    """Centre of the 0.01° cell holding the most reports (of these offices, if given)."""
    where, params = ("WHERE office_id = ANY(%s)", (sorted(office_ids),)) if office_ids else ("", ())
    with conn.cursor() as cursor:
        cursor.execute(f"""
            SELECT floor(ST_X(location) / {cell}), floor(ST_Y(location) / {cell}), count(*) FROM report {where}
            GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1""", params)
        i, j, reports = cursor.fetchone()
    conn.rollback()
    return round((i + 0.5) * cell, 5), round((j + 0.5) * cell, 5), reports


def data_path(view):
    bbox = ",".join(str(v) for v in view["bbox"])
    return f"/peta/data.json?bbox={bbox}&zoom={view['zoom']}"


def describe(body):
    """What an answer holds: kind, cells or points, truncated."""
    data = json.loads(body)
    kind = data.get("kind")
    items = data.get("cells") if "cells" in data else data.get("rows", [])
    summary = {"kind": kind, "items": len(items or []), "truncated": bool(data.get("truncated"))}
    if kind == "clusters" and items:
        summary["reports_in_cells"] = sum(c.get("count", 0) for c in items)
    return summary


def measure_views(clients, views, rounds, warmup):
    """Latency of every (user, view), interleaved round by round (background load hits all alike);
    each answer's size raw and gzipped (level 6)."""
    samples = {key: [] for key in views}
    last = {}
    for number in range(warmup + rounds):
        for key, view in views.items():
            client = clients[view["user"]]
            start = time.perf_counter()
            status, headers, body = client.request("GET", data_path(view))
            elapsed = (time.perf_counter() - start) * 1000
            if status != 200:
                raise RuntimeError(f"{data_path(view)} as {view['user']} answered {status}: {body[:300]!r}")
            if number >= warmup:
                samples[key].append(elapsed)
            last[key] = body
    figures = {}
    for key, view in views.items():
        ordered = sorted(samples[key])
        body = last[key]
        figures[key] = {"user": view["user"], "view": view["name"], "zoom": view["zoom"], "bbox": view["bbox"],
                        "densest_cell_reports": view.get("densest_cell_reports"),
                        "requests": len(ordered), "p50_ms": round(percentile(ordered, 50), 2),
                        "p95_ms": round(percentile(ordered, 95), 2), "max_ms": round(ordered[-1], 2),
                        "bytes": len(body), "gzip_bytes": len(gzip.compress(body, 6)), **describe(body)}
    return figures


def request_floor(client, count):
    """p50/p95 ms of the cheapest signed-in answer of the same endpoint (a bad bbox: session,
    user and error handling, no query of reports): the fixed cost every view pays."""
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        status, _headers, _body = client.request("GET", "/peta/data.json?bbox=x&zoom=5")
        samples.append((time.perf_counter() - start) * 1000)
        if status != 400:
            raise RuntimeError(f"a bad bbox answered {status}, not 400")
    ordered = sorted(samples)
    return {"requests": count, "p50_ms": round(percentile(ordered, 50), 2), "p95_ms": round(percentile(ordered, 95), 2)}


# --- where the time goes: the view's SQL, explained ------------------------------------------

def explain_view(app, email, view, calls=10):
    """Where one view's time goes, in-process: apoa.maps.clusters.map_data's wall time and the
    JSON encoding of its answer (medians of `calls`), the statements it sends, and the costliest
    one's EXPLAIN (ANALYZE, BUFFERS). {"error": ...} if the module's interface has changed (the
    benchmark goes on without it)."""
    from flask import json as flask_json  # the encoder jsonify uses
    from sqlalchemy import select

    from apoa.auth.models import User
    from apoa.extensions import db
    from apoa.maps import clusters

    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == email))
        try:
            ask = functools.partial(clusters.map_data, user, clusters.parse_bbox(",".join(map(str, view["bbox"]))),
                                    clusters.parse_zoom(str(view["zoom"])))
            statements = captured_statements(db.engine, ask)
        except (AttributeError, TypeError) as error:
            return {"error": f"map_data could not be called: {error!r}"}
        map_data_ms, json_ms = [], []
        for _ in range(calls):
            start = time.perf_counter()
            answer = ask()
            middle = time.perf_counter()
            flask_json.dumps(answer)
            map_data_ms.append((middle - start) * 1000)
            json_ms.append((time.perf_counter() - middle) * 1000)
        explained = explain(db.session.connection().connection.driver_connection, statements)
        db.session.rollback()
        db.session.remove()
    costliest = max(explained, key=lambda e: e["execution_ms"], default=None)
    return {"map_data_ms": round(statistics.median(map_data_ms), 2), "json_ms": round(statistics.median(json_ms), 2),
            "statements": len(explained),
            "sql_ms": round(sum(e["planning_ms"] + e["execution_ms"] for e in explained), 2), "costliest": costliest}


def captured_statements(engine, call):
    """The SQL (parameters filled in) that `call()` sends."""
    from sqlalchemy import event

    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(cursor.mogrify(statement, parameters).decode())

    event.listen(engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return [sql for sql in statements if sql.lstrip().upper().startswith(("SELECT", "WITH"))]


def explain(connection, statements):
    # The driver's cursor: the SQL may hold colons and percent signs of its own.
    explained = []
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
            explained.append({"sql": sql, "plan": plan, **plan_times(plan)})
    return explained


def plan_times(plan):
    times = {"planning_ms": 0.0, "execution_ms": 0.0}
    for line in plan:
        match = re.match(r"\s*(Planning|Execution) Time: ([\d.]+) ms", line)
        if match:
            times[f"{match.group(1).lower()}_ms"] = float(match.group(2))
    return times
