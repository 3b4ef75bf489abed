"""Benchmark: point -> region lookups on the real kecamatan layer (issue 2).

What is measured, in one run and on the same points:

* per point: the latency (p50/p95/p99) of one `apoa.regions.lookup.locate_ids(lon, lat)` call,
  the product's fast path that a report submission pays (a server-side prepared statement over the
  subdivided pieces, executed on the driver cursor inside the app session's transaction); for
  information also `locate(lon, lat)`, i.e. locate_ids plus one query for the names (the CLI);
* two naive single-point baselines, through the same SQLAlchemy session (`db.session.execute`):
  - "naive, kecamatan" (the headline baseline, the stricter one): ST_Contains on the unsubdivided
    `region.geom` outlines of level 'kecamatan', then kabupaten and provinsi by parent code and
    the office, in one statement shaped like the product's lookup;
  - "naive, all levels": `SELECT level, kode FROM region WHERE ST_Contains(geom, point)` over the
    raw outlines of all three levels, what a straightforward implementation without the code
    hierarchy would do.
  The four single-point lookups are interleaved, rotating which goes first, so background load
  hits all alike;
* bulk: points per second of `locate_many(points)` in batches, on one connection, and on
  --workers (default 2) threads at once, each with its own app context, session and connection,
  the points split into equal contiguous parts (a bulk import would use both cores). The naive
  bulk query (ST_Contains on the raw kecamatan outlines, kabupaten outline where no kecamatan
  contains the point) gets exactly the same treatment, and like `locate_many` it runs with
  `SET LOCAL jit = off`, so the comparison is like for like;
* correctness: the kecamatan found by the product and by both naive ways must agree (a point
  exactly on a shared border may differ: ST_Intersects on pieces counts it in, ST_Contains on
  outlines counts it out), points at sea or outside Indonesia must find no region at all, and the
  parallel bulk runs must give the same answers as the one-connection runs;
* where the time goes: planning vs execution time of each single-point statement (EXPLAIN ANALYZE
  on a sample; for the product, of the prepared statement), the cost of `SELECT 1` through the
  session and through the driver cursor, and planning/execution/JIT of one bulk batch each way.

Points are deterministic for a seed: 95% are drawn inside real kecamatan (chosen with probability
proportional to the square root of their area, so both small urban and large rural ones appear;
then ST_GeneratePoints with a seed), 5% are random points in Indonesia's bounding box that lie in
no region (sea, neighbouring countries). The database is only read.

Run: .venv/bin/python bench/region_lookup.py [--scale full|smoke] [--points N] [--bulk N]
[--workers N] [--seed S] [--database NAME] (or `make bench`) with APOA_DATABASE_URL set. At full
scale it reads APOA_DATABASE_URL's database (the development one) unless --database names another on
the same server; `--scale smoke` (make bench-smoke) looks up a few thousand points in
apoa_bench_smoke (created, migrated and given the regions if missing). Prints a table, then as its
last line one JSON object with the figures; exits non-zero when the answers are wrong.
"""
import argparse
import gc
import json
import math
import os
import platform
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.types import Float, Integer

from apoa import create_app
from apoa.extensions import db
from apoa.regions.lookup import (_EXECUTE_SQL, _MANY_SQL, LocatedIds, Location, Place, locate,
                                 locate_ids, locate_many)
from _common import (SMOKE_DATABASE, app_environ, bench_url, durability, durability_line, ensure_database, finish,
                     log, parse_scaled, percentile)

TARGETS = {"p95_ms": 0.3, "bulk_points_per_s": 30_000, "p95_ratio": 10.0, "bulk_ratio": 10.0}
SCALES = {  # database None: APOA_DATABASE_URL's own
    "full": {"points": 5_000, "bulk": 100_000, "batch": 10_000, "database": None},
    "smoke": {"points": 1_000, "bulk": 4_000, "batch": 1_000, "database": SMOKE_DATABASE},
}
OUTSIDE_SHARE = 0.05
BBOX = (94.5, -11.5, 141.5, 6.5)  # west, south, east, north: Indonesia and its seas
WARMUP = 300  # untimed calls per method before the timed ones
EXPLAIN_SAMPLE = 200  # single points explained for the planning/execution split

# Naive single point, kecamatan level (the headline baseline): ST_Contains on the raw kecamatan
# outlines, then kabupaten and provinsi by parent code, names and office, in one statement.
NAIVE_LOCATE_SQL = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
kec AS (
  SELECT r.id, r.kode, r.nama, r.parent_kode FROM region r, pt
  WHERE r.level = 'kecamatan' AND ST_Contains(r.geom, pt.g) ORDER BY r.kode LIMIT 1),
kab AS (
  SELECT r.id, r.kode, r.nama, r.parent_kode FROM region r
  WHERE r.kode = (SELECT parent_kode FROM kec)
  UNION ALL
  (SELECT r.id, r.kode, r.nama, r.parent_kode FROM region r, pt
   WHERE NOT EXISTS (SELECT 1 FROM kec) AND r.level = 'kabupaten_kota' AND ST_Contains(r.geom, pt.g)
   ORDER BY r.kode LIMIT 1)),
prov AS (SELECT r.id, r.kode, r.nama FROM region r
         WHERE r.kode = (SELECT parent_kode FROM kab LIMIT 1))
SELECT kec.id, kec.kode, kec.nama, kab.id, kab.kode, kab.nama, prov.id, prov.kode, prov.nama,
       (SELECT o.office_id FROM office_region o WHERE o.region_id = kab.id)
FROM kab LEFT JOIN kec ON true LEFT JOIN prov ON true
"""

# Naive single point, all levels: every raw outline that contains the point, no code hierarchy.
NAIVE_ALL_LEVELS_SQL = """
SELECT level, kode FROM region WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
"""

# The naive bulk lookup: locate_many's query with ST_Contains on the raw outlines.
NAIVE_LOCATE_MANY_SQL = """
SELECT t.i, kec.id, coalesce(kec.parent_id, kab.id), (SELECT o.office_id FROM office_region o
       WHERE o.region_id = coalesce(kec.parent_id, kab.id))
FROM unnest(:lons, :lats) WITH ORDINALITY AS t(lon, lat, i)
LEFT JOIN LATERAL (
  SELECT r.id, (SELECT k.id FROM region k WHERE k.kode = r.parent_kode) AS parent_id
  FROM region r
  WHERE r.level = 'kecamatan' AND ST_Contains(r.geom, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326))
  ORDER BY r.kode LIMIT 1) kec ON true
LEFT JOIN LATERAL (
  SELECT r.id FROM region r
  WHERE kec.id IS NULL AND r.level = 'kabupaten_kota'
    AND ST_Contains(r.geom, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326))
  ORDER BY r.kode LIMIT 1) kab ON true
ORDER BY t.i
"""

# Names of the single-point lookups, in the order of the report.
PRODUCT, WITH_NAMES, NAIVE_KEC, NAIVE_ALL = ("locate_ids", "locate", "naive_kecamatan",
                                             "naive_all_levels")

# kode -> (id, level) of every region, filled once by run(); used to turn the codes found by the
# all-levels baseline into ids for the cross-check (outside the timed calls).
REGIONS_BY_KODE = {}


@dataclass(frozen=True)
class Point:
    lon: float
    lat: float
    source_kec_id: int | None  # the kecamatan it was drawn in; None for a point outside


# --- set-up ---------------------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, help="single-point lookups timed per method")
    parser.add_argument("--bulk", type=int, help="points looked up by locate_many")
    parser.add_argument("--naive-bulk", type=int, default=None,
                        help="points for the naive bulk query (default: as many as --bulk)")
    parser.add_argument("--batch", type=int, help="points per bulk call")
    parser.add_argument("--workers", type=int, default=2,
                        help="threads, each with its own connection, for the parallel bulk (2)")
    parser.add_argument("--database", help="database on APOA_DATABASE_URL's server (default: that URL's own)")
    parser.add_argument("--seed", type=int, default=42)
    args = parse_scaled(parser, SCALES)
    args.naive_bulk = min(args.naive_bulk or args.bulk, args.bulk)
    if min(args.points, args.bulk, args.naive_bulk, args.batch, args.workers) < 1:
        parser.error("--points, --bulk, --naive-bulk, --batch and --workers must be positive")
    return args


def require_regions():
    """Stop with a clear message when the database has no imported kecamatan to look up."""
    try:
        count = db.session.execute(text(
            "SELECT (SELECT count(*) FROM region WHERE level = 'kecamatan'),"
            # count(region_id), not count(*): an index-only scan of the SP-GiST index on geom (the
            # plan for count(*) once the table is all-visible) never finishes on PostGIS 3.3.
            " (SELECT count(region_id) FROM region_part WHERE level = 'kecamatan')")).one()
    except ProgrammingError:
        sys.exit("region_lookup: the region tables do not exist; run make run (or flask --app apoa"
                 " db upgrade, then flask --app apoa regions import) first")
    if not all(count):
        sys.exit("region_lookup: the region table has no kecamatan; run make run or"
                 " flask --app apoa regions import first")


def environment():
    row = db.session.execute(text("SELECT current_setting('server_version'), postgis_lib_version(),"
                                  " current_setting('jit'), current_database()")).one()
    return {"cpus": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version(), "postgresql": row[0].split()[0],
            "postgis": row[1], "jit": row[2], "database": row[3], "loadavg_start": load_average(),
            "durability": server_durability()}


def server_durability():
    """The durability settings, asked on a pooled connection of its own."""
    pooled = db.engine.raw_connection()
    try:
        return durability(pooled.driver_connection)
    finally:
        pooled.close()


def load_average():
    return [round(x, 2) for x in os.getloadavg()]


# --- points ---------------------------------------------------------------------------------

def make_points(count, seed):
    """`count` deterministic points: 95% inside kecamatan, 5% outside every region, shuffled."""
    rng = random.Random(seed)
    outside = max(1, round(count * OUTSIDE_SHARE))
    points = inside_points(count - outside, rng) + outside_points(outside, rng)
    rng.shuffle(points)
    return points


def inside_points(count, rng):
    """Points in kecamatan picked with weight sqrt(area): small urban and large rural ones."""
    rows = db.session.execute(text(
        "SELECT id, ST_Area(geom) FROM region WHERE level = 'kecamatan' ORDER BY id")).all()
    picks = Counter(rng.choices([r[0] for r in rows], weights=[math.sqrt(r[1]) for r in rows],
                                k=count))
    ids = sorted(picks)
    statement = text("""
        SELECT c.id, ST_X(d.geom), ST_Y(d.geom)
        FROM unnest(:ids, :counts) WITH ORDINALITY AS c(id, n, i)
        JOIN region r ON r.id = c.id
        CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(r.geom, c.n, :seed + c.i::int)) d
        ORDER BY c.i, d.path""").bindparams(
        bindparam("ids", type_=ARRAY(Integer)), bindparam("counts", type_=ARRAY(Integer)))
    rows = db.session.execute(statement, {"ids": ids, "counts": [picks[i] for i in ids],
                                          "seed": rng.randrange(1, 1_000_000)}).all()
    return [Point(lon=r[1], lat=r[2], source_kec_id=r[0]) for r in rows]


def outside_points(count, rng):
    """Random points in the bounding box that lie in no region outline (sea, other countries)."""
    west, south, east, north = BBOX
    candidates = [(rng.uniform(west, east), rng.uniform(south, north))
                  for _ in range(count * 3 + 100)]
    statement = text("""
        SELECT t.lon, t.lat FROM unnest(:lons, :lats) WITH ORDINALITY AS t(lon, lat, i)
        WHERE NOT EXISTS (SELECT 1 FROM region r
                          WHERE ST_Intersects(r.geom, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326)))
        ORDER BY t.i LIMIT :n""").bindparams(
        bindparam("lons", type_=ARRAY(Float)), bindparam("lats", type_=ARRAY(Float)))
    rows = db.session.execute(statement, {"lons": [c[0] for c in candidates],
                                          "lats": [c[1] for c in candidates], "n": count}).all()
    if len(rows) < count:
        sys.exit("region_lookup: could not find enough points outside every region")
    return [Point(lon=r[0], lat=r[1], source_kec_id=None) for r in rows]


def take(points, count):
    """The first `count` points, cycling when more are asked than exist."""
    return [points[i % len(points)] for i in range(count)]


def load_region_codes():
    REGIONS_BY_KODE.clear()
    REGIONS_BY_KODE.update({kode: (id_, level) for id_, kode, level in db.session.execute(
        text("SELECT id, kode, level FROM region")).all()})


# --- the naive ways -------------------------------------------------------------------------

def naive_locate(lon, lat):
    """Kecamatan baseline, shaped like the product's locate(): a Location or None."""
    row = db.session.execute(text(NAIVE_LOCATE_SQL), {"lon": lon, "lat": lat}).first()
    if row is None:
        return None
    place = lambda values: Place(*values) if values[0] is not None else None  # noqa: E731
    return Location(kecamatan=place(row[0:3]), kabupaten=place(row[3:6]),
                    provinsi=place(row[6:9]), office_id=row[9])


def naive_all_levels(lon, lat):
    """All-levels baseline: the (level, kode) rows of every outline containing the point."""
    return db.session.execute(text(NAIVE_ALL_LEVELS_SQL), {"lon": lon, "lat": lat}).all()


def naive_locate_many(points):
    """Bulk baseline, run like locate_many: one statement per batch, with JIT off."""
    statement = text(NAIVE_LOCATE_MANY_SQL).bindparams(
        bindparam("lons", type_=ARRAY(Float)), bindparam("lats", type_=ARRAY(Float)))
    lons, lats = zip(*points)
    db.session.execute(text("SET LOCAL jit = off"))  # as locate_many does: like for like
    rows = db.session.execute(statement, {"lons": list(lons), "lats": list(lats)}).all()
    return [LocatedIds(kec_id=r[1], kab_id=r[2], office_id=r[3]) for r in rows]


def answer(result):
    """(kecamatan id, kabupaten id) of any lookup's result; None when no region was found.
    For the all-levels rows, the lowest code per level wins, as in the product."""
    if isinstance(result, Location):
        return (result.kecamatan.id if result.kecamatan else None, result.kabupaten.id)
    if isinstance(result, list):
        if not result:
            return None
        codes = lambda level: [kode for lvl, kode in result if lvl == level]  # noqa: E731
        kec, kab = min(codes("kecamatan"), default=None), min(codes("kabupaten_kota"), default=None)
        return (REGIONS_BY_KODE[kec][0] if kec else None, REGIONS_BY_KODE[kab][0] if kab else None)
    if result is None or (result.kec_id is None and result.kab_id is None):
        return None
    return (result.kec_id, result.kab_id)


# --- timing ---------------------------------------------------------------------------------

def time_single(lookups, points):
    """Time one call per point of each lookup, interleaved (rotating which goes first) so
    background load hits all alike; returns {name: (latencies in ns, answers)}."""
    names = list(lookups)
    for lookup in lookups.values():
        for p in take(points, WARMUP):
            lookup(p.lon, p.lat)
    gc.collect()
    timed = {name: ([], []) for name in names}
    for i, p in enumerate(points):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter_ns()
            result = lookups[name](p.lon, p.lat)
            timed[name][0].append(time.perf_counter_ns() - start)
            timed[name][1].append(answer(result))
    return timed


def run_batches(lookup_many, coords, batch):
    results = []
    for i in range(0, len(coords), batch):
        results.extend(lookup_many(coords[i:i + batch]))
    return results


def time_bulk(lookup_many, points, batch):
    """(points per second, answers) of `lookup_many` over `points` in batches on this thread's
    session (one connection), after a warm-up."""
    coords = [(p.lon, p.lat) for p in points]
    lookup_many(coords[:min(batch, 1_000)])
    gc.collect()
    start = time.perf_counter()
    results = run_batches(lookup_many, coords, batch)
    seconds = time.perf_counter() - start
    db.session.rollback()  # end the transaction (and its SET LOCAL)
    return len(coords) / seconds, [answer(r) for r in results]


def time_bulk_parallel(lookup_many, points, batch, workers):
    """(points per second, answers) of `lookup_many` over `points` split into `workers`
    contiguous parts, each run in batches by its own thread with its own app context, session
    and connection. The clock runs from the moment all workers are warmed up and released
    together until the last one finishes."""
    app = current_app._get_current_object()
    coords = [(p.lon, p.lat) for p in points]
    size = math.ceil(len(coords) / workers)
    parts = [coords[k * size:(k + 1) * size] for k in range(workers)]
    results, errors = [None] * workers, []
    ready = threading.Barrier(workers + 1)

    def work(k):
        with app.app_context():  # its own scoped session, so its own pooled connection
            try:
                lookup_many(parts[k][:min(batch, 1_000)] or coords[:1])  # warm the connection
                ready.wait()
                results[k] = run_batches(lookup_many, parts[k], batch)
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                errors.append(error)
                ready.abort()
            finally:
                db.session.rollback()

    threads = [threading.Thread(target=work, args=(k,), name=f"bulk-{k}") for k in range(workers)]
    for thread in threads:
        thread.start()
    gc.collect()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        pass
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    return len(coords) / seconds, [answer(r) for part in results for r in part]


def percentile_ms(latencies_ns, q):
    """Nearest-rank percentile, in milliseconds."""
    return percentile(latencies_ns, q) / 1e6


def latency_summary(latencies_ns):
    return {f"p{q}": round(percentile_ms(latencies_ns, q), 4) for q in (50, 95, 99)}


# --- correctness ----------------------------------------------------------------------------

def compare(points, fast, naive):
    """Points where two ways find different kecamatan (and how many lie on a border), and
    outside points for which either way found a region."""
    kec = lambda a: a[0] if a else None  # noqa: E731
    differing = [(p, kec(a), kec(b)) for p, a, b in zip(points, fast, naive) if kec(a) != kec(b)]
    on_border = sum(1 for p, a, b in differing if on_kecamatan_border(p, (a, b)))
    outside = [(a, b) for p, a, b in zip(points, fast, naive) if p.source_kec_id is None]
    return {"compared": len(points), "disagree": len(differing), "disagree_on_border": on_border,
            "disagree_off_border": len(differing) - on_border, "outside_points": len(outside),
            "outside_found_region": sum(1 for a, b in outside if a is not None or b is not None),
            "examples": [{"lon": p.lon, "lat": p.lat, "product": a, "naive": b}
                         for p, a, b in differing[:5]]}


def on_kecamatan_border(point, kec_ids):
    """True when the point lies (within 1e-9 degrees) on the outline of either kecamatan."""
    ids = [i for i in kec_ids if i is not None]
    return bool(ids) and bool(db.session.execute(text(
        "SELECT bool_or(ST_DWithin(ST_Boundary(geom), ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),"
        " 1e-9)) FROM region WHERE id = ANY(:ids)"),
        {"lon": point.lon, "lat": point.lat, "ids": ids}).scalar())


def source_share(points, answers):
    """Share of inside points found in the kecamatan they were drawn in (the rest lie where
    outlines overlap, and the lowest code wins)."""
    inside = [(p, a) for p, a in zip(points, answers) if p.source_kec_id is not None]
    return round(sum(1 for p, a in inside if a and a[0] == p.source_kec_id) / len(inside), 4)


# --- where the time goes --------------------------------------------------------------------

def plan_of(value):
    return (json.loads(value) if isinstance(value, str) else value)[0]


def single_breakdown(sql, points):
    """Median server-side planning and execution time of a single-point statement sent as text
    through the session (re-planned each call), in ms."""
    plans = [plan_of(db.session.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql),
                                        {"lon": p.lon, "lat": p.lat}).scalar())
             for p in points[:EXPLAIN_SAMPLE]]
    return plan_summary(plans)


def prepared_breakdown(points):
    """The same for the product's prepared statement, EXPLAIN ANALYZE EXECUTE on the driver
    cursor of the session's connection (the plan cached by PREPARE is used)."""
    locate_ids(points[0].lon, points[0].lat)  # make sure this connection has prepared it
    plans = []
    with db.session.connection().connection.driver_connection.cursor() as cursor:
        for p in points[:EXPLAIN_SAMPLE]:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + _EXECUTE_SQL,
                           (float(p.lon), float(p.lat)))
            plans.append(plan_of(cursor.fetchone()[0]))
    return plan_summary(plans)


def plan_summary(plans):
    return {"planning_ms_p50": round(median([p["Planning Time"] for p in plans]), 4),
            "execution_ms_p50": round(median([p["Execution Time"] for p in plans]), 4),
            "sample": len(plans)}


def select_one_ms():
    """p50 of `SELECT 1` through the session and through the driver cursor of the same
    connection: the fixed cost of any query each way, in ms."""
    session, driver = [], []
    for _ in range(1_000):
        start = time.perf_counter_ns()
        db.session.execute(text("SELECT 1")).first()
        session.append(time.perf_counter_ns() - start)
    with db.session.connection().connection.driver_connection.cursor() as cursor:
        for _ in range(1_000):
            start = time.perf_counter_ns()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            driver.append(time.perf_counter_ns() - start)
    return {"session_ms_p50": round(percentile_ms(session, 50), 4),
            "driver_cursor_ms_p50": round(percentile_ms(driver, 50), 4)}


def bulk_breakdown(sql, points):
    """Server-side planning, execution and JIT compilation time of one bulk batch, run as the
    benchmark runs it (SET LOCAL jit = off)."""
    statement = text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).bindparams(
        bindparam("lons", type_=ARRAY(Float)), bindparam("lats", type_=ARRAY(Float)))
    db.session.execute(text("SET LOCAL jit = off"))
    plan = plan_of(db.session.execute(statement, {"lons": [p.lon for p in points],
                                                  "lats": [p.lat for p in points]}).scalar())
    db.session.rollback()
    return {"points": len(points), "planning_ms": round(plan["Planning Time"], 1),
            "execution_ms": round(plan["Execution Time"], 1),
            "jit_ms": round(plan.get("JIT", {}).get("Timing", {}).get("Total", 0.0), 1)}


def median(values):
    return sorted(values)[len(values) // 2]


# --- report ---------------------------------------------------------------------------------

def ratio(slow, fast):
    return round(slow / fast, 2) if fast else None


def build_result(args, env, single, bulk, checks, breakdown):
    product, named, kec, every = (single[PRODUCT], single[WITH_NAMES], single[NAIVE_KEC],
                                  single[NAIVE_ALL])
    f = {"benchmark": "region_lookup", "scale": args.scale,
         "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "seed": args.seed,
         "points": args.points,
         # per point: locate_ids, the product's fast path
         "p50_ms": product["p50"], "p95_ms": product["p95"], "p99_ms": product["p99"],
         # for information: locate() = locate_ids + the names
         "locate_with_names_p50_ms": named["p50"], "locate_with_names_p95_ms": named["p95"],
         "locate_with_names_p99_ms": named["p99"],
         "naive_kecamatan_p50_ms": kec["p50"], "naive_kecamatan_p95_ms": kec["p95"],
         "naive_kecamatan_p99_ms": kec["p99"],
         "naive_all_levels_p50_ms": every["p50"], "naive_all_levels_p95_ms": every["p95"],
         "naive_all_levels_p99_ms": every["p99"],
         "p95_ratio_vs_naive_kecamatan": ratio(kec["p95"], product["p95"]),
         "p95_ratio_vs_naive_all_levels": ratio(every["p95"], product["p95"]),
         "bulk_points": args.bulk, "naive_bulk_points": args.naive_bulk, "bulk_batch": args.batch,
         "bulk_workers": args.workers,
         "bulk_1conn_points_per_s": round(bulk["product_1"]),
         "naive_bulk_1conn_points_per_s": round(bulk["naive_1"]),
         "bulk_ratio_1conn": ratio(bulk["product_1"], bulk["naive_1"]),
         f"bulk_{args.workers}conn_points_per_s": round(bulk["product_n"]),
         f"naive_bulk_{args.workers}conn_points_per_s": round(bulk["naive_n"]),
         f"bulk_ratio_{args.workers}conn": ratio(bulk["product_n"], bulk["naive_n"]),
         "naive_bulk_jit": "off (SET LOCAL jit = off, as locate_many)"}
    n = args.workers
    f["met"] = {
        "p95_ms": f["p95_ms"] <= TARGETS["p95_ms"],
        "p95_ratio_vs_naive_kecamatan": (f["p95_ratio_vs_naive_kecamatan"] or 0)
        >= TARGETS["p95_ratio"],
        "p95_ratio_vs_naive_all_levels": (f["p95_ratio_vs_naive_all_levels"] or 0)
        >= TARGETS["p95_ratio"],
        f"bulk_{n}conn_points_per_s": f[f"bulk_{n}conn_points_per_s"]
        >= TARGETS["bulk_points_per_s"],
        "bulk_1conn_points_per_s": f["bulk_1conn_points_per_s"] >= TARGETS["bulk_points_per_s"],
        f"bulk_ratio_{n}conn": (f[f"bulk_ratio_{n}conn"] or 0) >= TARGETS["bulk_ratio"],
        "bulk_ratio_1conn": (f["bulk_ratio_1conn"] or 0) >= TARGETS["bulk_ratio"],
        "correct": all(checks[k]["disagree_off_border"] == 0 and checks[k]["outside_found_region"]
                       == 0 for k in ("single_vs_naive_kecamatan", "single_vs_naive_all_levels",
                                      "bulk"))
        and checks["locate_matches_locate_ids"] and checks["parallel_matches_one_connection"],
    }
    env = env | {"loadavg_end": load_average()}
    return f | {"targets": TARGETS, "checks": checks, "breakdown": breakdown, "environment": env}


def print_report(f):
    env, met = f["environment"], {k: "yes" if v else "NO" for k, v in f["met"].items()}
    n = f["bulk_workers"]
    print(f"\nRegion lookup ({f['scale']} scale, database {env['database']}) - {f['date']}, seed {f['seed']},"
          f" {env['cpus']} cpus, PostgreSQL {env['postgresql']}, PostGIS {env['postgis']}, jit={env['jit']}"
          f" (bulk: jit off both ways), load average {env['loadavg_start'][0]} -> {env['loadavg_end'][0]}")
    print(durability_line(env["durability"]))
    r = lambda slow, fast: f"{ratio(slow, fast)}x"  # noqa: E731
    rows = [
        ("", "product", "naive, kecamatan", "ratio", "naive, all levels", "ratio", "target",
         "met (vs kecamatan; vs all levels)"),
        (f"per point p50 ms, locate_ids (n={f['points']:,})", f"{f['p50_ms']:.3f}",
         f"{f['naive_kecamatan_p50_ms']:.3f}", r(f['naive_kecamatan_p50_ms'], f['p50_ms']),
         f"{f['naive_all_levels_p50_ms']:.3f}", r(f['naive_all_levels_p50_ms'], f['p50_ms']),
         "", ""),
        ("per point p95 ms, locate_ids", f"{f['p95_ms']:.3f}",
         f"{f['naive_kecamatan_p95_ms']:.3f}", f"{f['p95_ratio_vs_naive_kecamatan']}x",
         f"{f['naive_all_levels_p95_ms']:.3f}", f"{f['p95_ratio_vs_naive_all_levels']}x",
         f"<= {TARGETS['p95_ms']} ms, >= {TARGETS['p95_ratio']:g}x",
         f"{met['p95_ms']}, {met['p95_ratio_vs_naive_kecamatan']}; "
         f"{met['p95_ratio_vs_naive_all_levels']}"),
        ("per point p99 ms, locate_ids", f"{f['p99_ms']:.3f}",
         f"{f['naive_kecamatan_p99_ms']:.3f}", r(f['naive_kecamatan_p99_ms'], f['p99_ms']),
         f"{f['naive_all_levels_p99_ms']:.3f}", r(f['naive_all_levels_p99_ms'], f['p99_ms']),
         "", ""),
        ("info: locate() with names p50 / p95 ms",
         f"{f['locate_with_names_p50_ms']:.3f} / {f['locate_with_names_p95_ms']:.3f}", "",
         r(f['naive_kecamatan_p95_ms'], f['locate_with_names_p95_ms']) + " (p95)", "",
         r(f['naive_all_levels_p95_ms'], f['locate_with_names_p95_ms']) + " (p95)", "", ""),
        (f"bulk points/s, 1 connection (n={f['bulk_points']:,} / {f['naive_bulk_points']:,})",
         f"{f['bulk_1conn_points_per_s']:,}", f"{f['naive_bulk_1conn_points_per_s']:,}",
         f"{f['bulk_ratio_1conn']}x", "", "",
         f">= {TARGETS['bulk_points_per_s']:,}/s, >= {TARGETS['bulk_ratio']:g}x",
         f"{met['bulk_1conn_points_per_s']}, {met['bulk_ratio_1conn']}"),
        (f"bulk points/s, {n} connections (headline)", f"{f[f'bulk_{n}conn_points_per_s']:,}",
         f"{f[f'naive_bulk_{n}conn_points_per_s']:,}", f"{f[f'bulk_ratio_{n}conn']}x", "", "",
         f">= {TARGETS['bulk_points_per_s']:,}/s, >= {TARGETS['bulk_ratio']:g}x",
         f"{met[f'bulk_{n}conn_points_per_s']}, {met[f'bulk_ratio_{n}conn']}"),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print_checks(f["checks"], met["correct"])
    print_breakdown(f["breakdown"])


def print_checks(checks, correct):
    for name in ("single_vs_naive_kecamatan", "single_vs_naive_all_levels", "bulk"):
        c = checks[name]
        print(f"agreement ({name}, {c['compared']:,} points): {c['disagree']} differ "
              f"({c['disagree_on_border']} on a border, {c['disagree_off_border']} off it); "
              f"{c['outside_found_region']} of {c['outside_points']} outside points found a region")
    print(f"locate() agrees with locate_ids: {checks['locate_matches_locate_ids']}; parallel bulk"
          f" answers equal the one-connection ones: {checks['parallel_matches_one_connection']}")
    print(f"inside points found in the kecamatan they were drawn in: {checks['source_share']:.2%}"
          f" (the rest lie where outlines overlap; the lowest code wins); correct: {correct}")


def print_breakdown(b):
    print(f"where the time goes (server side, p50 of {b[PRODUCT]['sample']} EXPLAIN ANALYZE):")
    for name, label in ((PRODUCT, "locate_ids (prepared)"), (NAIVE_KEC, "naive, kecamatan"),
                        (NAIVE_ALL, "naive, all levels")):
        s = b[name]
        print(f"  single point, {label:21s}: planning {s['planning_ms_p50']:.3f} ms"
              f" + execution {s['execution_ms_p50']:.3f} ms")
    s1 = b["select_1"]
    print(f"  SELECT 1: {s1['session_ms_p50']:.3f} ms through db.session.execute,"
          f" {s1['driver_cursor_ms_p50']:.3f} ms on the driver cursor (client + round trip)")
    for name, label in (("bulk", "locate_many"), ("naive_bulk", "naive bulk")):
        s = b[name]
        print(f"  one {label} batch of {s['points']:,} (jit off): planning {s['planning_ms']:.1f}"
              f" ms, execution {s['execution_ms']:.1f} ms, JIT {s['jit_ms']:.1f} ms")
    print()


# --- main -----------------------------------------------------------------------------------

def run(args):
    require_regions()
    env = environment()
    load_region_codes()
    log(f"generating {max(args.points, args.bulk):,} points (seed {args.seed})")
    points = make_points(max(args.points, args.bulk), args.seed)
    single_points = take(points, args.points)
    db.session.rollback()

    log(f"timing {args.points:,} single lookups per method (4 methods), interleaved")
    timed = time_single({PRODUCT: locate_ids, NAIVE_KEC: naive_locate, NAIVE_ALL: naive_all_levels,
                         WITH_NAMES: locate}, single_points)
    single = {name: latency_summary(latencies) for name, (latencies, _) in timed.items()}
    answers = {name: found for name, (_, found) in timed.items()}
    db.session.rollback()

    bulk_points = take(points, args.bulk)
    naive_points = bulk_points[:args.naive_bulk]
    log(f"timing locate_many on {args.bulk:,} points and the naive bulk query on"
        f" {args.naive_bulk:,}, on 1 connection, then on {args.workers} connections")
    bulk, bulk_answers = {}, {}
    bulk["product_1"], bulk_answers["product_1"] = time_bulk(locate_many, bulk_points, args.batch)
    bulk["naive_1"], bulk_answers["naive_1"] = time_bulk(naive_locate_many, naive_points,
                                                         args.batch)
    bulk["product_n"], bulk_answers["product_n"] = time_bulk_parallel(
        locate_many, bulk_points, args.batch, args.workers)
    bulk["naive_n"], bulk_answers["naive_n"] = time_bulk_parallel(
        naive_locate_many, naive_points, args.batch, args.workers)

    log("checking agreement and measuring where the time goes")
    checks = {
        "single_vs_naive_kecamatan": compare(single_points, answers[PRODUCT], answers[NAIVE_KEC]),
        "single_vs_naive_all_levels": compare(single_points, answers[PRODUCT], answers[NAIVE_ALL]),
        "bulk": compare(naive_points, bulk_answers["product_1"], bulk_answers["naive_1"]),
        "locate_matches_locate_ids": answers[WITH_NAMES] == answers[PRODUCT],
        "parallel_matches_one_connection": (bulk_answers["product_n"] == bulk_answers["product_1"]
                                            and bulk_answers["naive_n"] == bulk_answers["naive_1"]),
        "source_share": source_share(single_points, answers[PRODUCT])}
    breakdown = {PRODUCT: prepared_breakdown(single_points),
                 NAIVE_KEC: single_breakdown(NAIVE_LOCATE_SQL, single_points),
                 NAIVE_ALL: single_breakdown(NAIVE_ALL_LEVELS_SQL, single_points),
                 "select_1": select_one_ms(),
                 "bulk": bulk_breakdown(_MANY_SQL, bulk_points[:args.batch]),
                 "naive_bulk": bulk_breakdown(NAIVE_LOCATE_MANY_SQL, naive_points[:args.batch])}
    return build_result(args, env, single, bulk, checks, breakdown)


def bench_app(args):
    """The app on the database to read: APOA_DATABASE_URL's, or --database on its server (made
    ready first: created, migrated, the regions imported)."""
    if args.database is None:
        return create_app()
    db_url = bench_url(os.environ["APOA_DATABASE_URL"], args.database)
    log(f"preparing database {args.database}")
    ensure_database(db_url)
    return create_app(environ=app_environ(db_url, os.environ.get("APOA_REDIS_URL")))


def broken_checks(f):
    """Wrong answers break the run; missed speed targets do not."""
    return [] if f["met"]["correct"] else ["the product's lookups disagree with the naive ones or"
                                           " with each other, or find a region at sea (see checks)"]


def main():
    args = parse_args()
    if not os.environ.get("APOA_DATABASE_URL"):
        sys.exit("region_lookup: APOA_DATABASE_URL is not set; run `make bench`, or first"
                 " eval \"$(scripts/dev.sh services apoa)\"")
    app = bench_app(args)
    with app.app_context():
        try:
            figures = run(args)
        except OperationalError as error:
            sys.exit(f"region_lookup: cannot reach the database: {error.orig}")
        finally:
            db.session.rollback()  # read only: leave nothing behind
    finish("region_lookup", figures, print_report, broken_checks(figures))


if __name__ == "__main__":
    main()
