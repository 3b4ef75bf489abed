"""Benchmark: point -> region lookups on the real kecamatan layer (issue 2).

What is measured, in one run and on the same points:

* per point: the latency of one `apoa.regions.lookup.locate(lon, lat)` call (p50/p95/p99) through
  the app's own SQLAlchemy session, i.e. what a report submission pays;
* bulk: points per second of `locate_many(points)`, in batches (map imports, back-fills);
* the naive way, for comparison: the same questions answered with ST_Contains on the unsubdivided
  `region.geom` outlines (level 'kecamatan', then kabupaten and provinsi by parent code), shaped
  like the product's functions and run through the same session path, so the only difference is
  the geometry tested. Single lookups of both ways are interleaved, so background load hits both;
* correctness: the kecamatan found by both ways must agree (a point exactly on a shared border may
  differ: ST_Intersects on pieces counts it in, ST_Contains on outlines counts it out), and points
  at sea or outside Indonesia must find no region at all;
* where the time goes: planning vs execution time of the single-point SQL (EXPLAIN ANALYZE on a
  sample), the cost of `SELECT 1` through the same session, and the JIT share of one bulk batch,
  so that a missed target comes with its explanation.

Points are deterministic for a seed: 95% are drawn inside real kecamatan (chosen with probability
proportional to the square root of their area, so both small urban and large rural ones appear;
then ST_GeneratePoints with a seed), 5% are random points in Indonesia's bounding box that lie in
no region (sea, neighbouring countries). The database is only read.

Run: .venv/bin/python bench/region_lookup.py [--points N] [--bulk N] [--seed S]  (or `make bench`)
with APOA_DATABASE_URL set. Prints a table, then as its last line one JSON object with the figures.
"""
import argparse
import gc
import json
import math
import os
import platform
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.types import Float, Integer

from apoa import create_app
from apoa.extensions import db
from apoa.regions.lookup import (_LOCATE_MANY_SQL, _LOCATE_SQL, LocatedIds, Location, Place, locate,
                                 locate_many)

TARGETS = {"p95_ms": 0.3, "bulk_points_per_s": 30_000, "p95_ratio": 10.0, "bulk_ratio": 10.0}
OUTSIDE_SHARE = 0.05
BBOX = (94.5, -11.5, 141.5, 6.5)  # west, south, east, north: Indonesia and its seas
WARMUP = 300  # untimed calls per method before the timed ones
EXPLAIN_SAMPLE = 200  # single points explained for the planning/execution split

# The naive single-point lookup: _LOCATE_SQL with ST_Contains on the raw outlines.
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

# The naive bulk lookup: _LOCATE_MANY_SQL with ST_Contains on the raw outlines.
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


@dataclass(frozen=True)
class Point:
    lon: float
    lat: float
    source_kec_id: int | None  # the kecamatan it was drawn in; None for a point outside


# --- set-up ---------------------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=5_000,
                        help="single-point lookups timed per method (default 5000)")
    parser.add_argument("--bulk", type=int, default=100_000,
                        help="points looked up by locate_many (default 100000)")
    parser.add_argument("--naive-bulk", type=int, default=None,
                        help="points for the naive bulk query (default: as many as --bulk)")
    parser.add_argument("--batch", type=int, default=10_000, help="points per bulk call (10000)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    args.naive_bulk = min(args.naive_bulk or args.bulk, args.bulk)
    if min(args.points, args.bulk, args.naive_bulk, args.batch) < 1:
        parser.error("--points, --bulk, --naive-bulk and --batch must be positive")
    return args


def require_regions():
    """Stop with a clear message when the database has no imported kecamatan to look up."""
    try:
        count = db.session.execute(text(
            "SELECT (SELECT count(*) FROM region WHERE level = 'kecamatan'),"
            " (SELECT count(*) FROM region_part WHERE level = 'kecamatan')")).one()
    except ProgrammingError:
        sys.exit("region_lookup: the region tables do not exist; run make run (or flask --app apoa"
                 " db upgrade, then flask --app apoa regions import) first")
    if not all(count):
        sys.exit("region_lookup: the region table has no kecamatan; run make run or"
                 " flask --app apoa regions import first")


def environment():
    row = db.session.execute(text("SELECT current_setting('server_version'), postgis_lib_version(),"
                                  " current_setting('jit')")).one()
    return {"cpus": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version(), "postgresql": row[0].split()[0],
            "postgis": row[1], "jit": row[2]}


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


# --- the naive way, shaped like the product's locate() and locate_many() ----------------------

def naive_locate(lon, lat):
    row = db.session.execute(text(NAIVE_LOCATE_SQL), {"lon": lon, "lat": lat}).first()
    if row is None:
        return None
    place = lambda values: Place(*values) if values[0] is not None else None  # noqa: E731
    return Location(kecamatan=place(row[0:3]), kabupaten=place(row[3:6]),
                    provinsi=place(row[6:9]), office_id=row[9])


def naive_locate_many(points):
    statement = text(NAIVE_LOCATE_MANY_SQL).bindparams(
        bindparam("lons", type_=ARRAY(Float)), bindparam("lats", type_=ARRAY(Float)))
    lons, lats = zip(*points)
    rows = db.session.execute(statement, {"lons": list(lons), "lats": list(lats)}).all()
    return [LocatedIds(kec_id=r[1], kab_id=r[2], office_id=r[3]) for r in rows]


def answer(result):
    """(kecamatan id, kabupaten id) of a Location or LocatedIds; None when no region was found."""
    if isinstance(result, Location):
        return (result.kecamatan.id if result.kecamatan else None, result.kabupaten.id)
    if result is None or (result.kec_id is None and result.kab_id is None):
        return None
    return (result.kec_id, result.kab_id)


# --- timing ---------------------------------------------------------------------------------

def time_single(lookups, points):
    """Time one call per point of each lookup, interleaved (alternating which goes first) so
    background load hits all alike; returns {name: (latencies in ns, answers)}."""
    for lookup in lookups.values():
        for p in take(points, WARMUP):
            lookup(p.lon, p.lat)
    gc.collect()
    timed = {name: ([], []) for name in lookups}
    for i, p in enumerate(points):
        for name in (list(lookups) if i % 2 == 0 else list(reversed(lookups))):
            start = time.perf_counter_ns()
            result = lookups[name](p.lon, p.lat)
            timed[name][0].append(time.perf_counter_ns() - start)
            timed[name][1].append(answer(result))
    return timed


def time_bulk(lookup_many, points, batch):
    """(points per second, answers) of `lookup_many` over `points` in batches, after a warm-up."""
    coords = [(p.lon, p.lat) for p in points]
    lookup_many(coords[:min(batch, 1_000)])
    gc.collect()
    results = []
    start = time.perf_counter()
    for i in range(0, len(coords), batch):
        results.extend(lookup_many(coords[i:i + batch]))
    seconds = time.perf_counter() - start
    return len(coords) / seconds, [answer(r) for r in results]


def percentile_ms(latencies_ns, q):
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(latencies_ns)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] / 1e6


def latency_summary(latencies_ns):
    return {f"p{q}": round(percentile_ms(latencies_ns, q), 4) for q in (50, 95, 99)}


# --- correctness ----------------------------------------------------------------------------

def compare(points, fast, naive):
    """Points where the two ways find different kecamatan (and how many lie on a border), and
    outside points for which either way found a region."""
    kec = lambda a: a[0] if a else None  # noqa: E731
    differing = [(p, kec(a), kec(b)) for p, a, b in zip(points, fast, naive) if kec(a) != kec(b)]
    on_border = sum(1 for p, a, b in differing if on_kecamatan_border(p, (a, b)))
    outside = [(a, b) for p, a, b in zip(points, fast, naive) if p.source_kec_id is None]
    return {"compared": len(points), "disagree": len(differing), "disagree_on_border": on_border,
            "disagree_off_border": len(differing) - on_border, "outside_points": len(outside),
            "outside_found_region": sum(1 for a, b in outside if a is not None or b is not None),
            "examples": [{"lon": p.lon, "lat": p.lat, "subdivided": a, "naive": b}
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

def single_breakdown(sql, points):
    """Median server-side planning and execution time of a single-point statement, in ms."""
    plans, runs = [], []
    for p in points[:EXPLAIN_SAMPLE]:
        plan = db.session.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql),
                                  {"lon": p.lon, "lat": p.lat}).scalar()[0]
        plans.append(plan["Planning Time"])
        runs.append(plan["Execution Time"])
    return {"planning_ms_p50": round(median(plans), 4), "execution_ms_p50": round(median(runs), 4),
            "sample": len(plans)}


def select_one_ms():
    """p50 of `SELECT 1` through the same session: the fixed cost of any query, in ms."""
    latencies = []
    for _ in range(1_000):
        start = time.perf_counter_ns()
        db.session.execute(text("SELECT 1")).first()
        latencies.append(time.perf_counter_ns() - start)
    return round(percentile_ms(latencies, 50), 4)


def bulk_breakdown(points):
    """Server-side planning, execution and JIT compilation time of one locate_many batch."""
    statement = text("EXPLAIN (ANALYZE, FORMAT JSON) " + _LOCATE_MANY_SQL).bindparams(
        bindparam("lons", type_=ARRAY(Float)), bindparam("lats", type_=ARRAY(Float)))
    plan = db.session.execute(statement, {"lons": [p.lon for p in points],
                                          "lats": [p.lat for p in points]}).scalar()[0]
    return {"points": len(points), "planning_ms": round(plan["Planning Time"], 1),
            "execution_ms": round(plan["Execution Time"], 1),
            "jit_ms": round(plan.get("JIT", {}).get("Timing", {}).get("Total", 0.0), 1)}


def median(values):
    return sorted(values)[len(values) // 2]


# --- report ---------------------------------------------------------------------------------

def ratio(slow, fast):
    return round(slow / fast, 2) if fast else None


def build_result(args, env, single, naive_single, bulk_rate, naive_rate, checks, breakdown):
    f = {"benchmark": "region_lookup",
         "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "seed": args.seed,
         "points": args.points,
         "p50_ms": single["p50"], "p95_ms": single["p95"], "p99_ms": single["p99"],
         "naive_p50_ms": naive_single["p50"], "naive_p95_ms": naive_single["p95"],
         "naive_p99_ms": naive_single["p99"],
         "bulk_points": args.bulk, "bulk_batch": args.batch, "bulk_points_per_s": round(bulk_rate),
         "naive_bulk_points": args.naive_bulk, "naive_bulk_points_per_s": round(naive_rate),
         "p95_ratio": ratio(naive_single["p95"], single["p95"]),
         "bulk_ratio": ratio(bulk_rate, naive_rate)}
    f["met"] = {
        "p95_ms": f["p95_ms"] <= TARGETS["p95_ms"],
        "bulk_points_per_s": f["bulk_points_per_s"] >= TARGETS["bulk_points_per_s"],
        "p95_ratio": (f["p95_ratio"] or 0) >= TARGETS["p95_ratio"],
        "bulk_ratio": (f["bulk_ratio"] or 0) >= TARGETS["bulk_ratio"],
        "correct": all(checks[k]["disagree_off_border"] == 0
                       and checks[k]["outside_found_region"] == 0 for k in ("single", "bulk")),
    }
    return f | {"targets": TARGETS, "checks": checks, "breakdown": breakdown, "environment": env}


def print_report(f):
    env, met = f["environment"], {k: "yes" if v else "NO" for k, v in f["met"].items()}
    print(f"\nRegion lookup - {f['date']}, seed {f['seed']}, {env['cpus']} cpus, PostgreSQL "
          f"{env['postgresql']}, PostGIS {env['postgis']}, jit={env['jit']}")
    rows = [
        ("", "subdivided (product)", "naive ST_Contains", "ratio", "target", "met"),
        (f"per point p50 ms (n={f['points']:,})", f"{f['p50_ms']:.3f}", f"{f['naive_p50_ms']:.3f}",
         f"{ratio(f['naive_p50_ms'], f['p50_ms'])}x", "", ""),
        ("per point p95 ms", f"{f['p95_ms']:.3f}", f"{f['naive_p95_ms']:.3f}", f"{f['p95_ratio']}x",
         f"<= {TARGETS['p95_ms']} ms, >= {TARGETS['p95_ratio']:g}x",
         f"{met['p95_ms']}, {met['p95_ratio']}"),
        ("per point p99 ms", f"{f['p99_ms']:.3f}", f"{f['naive_p99_ms']:.3f}",
         f"{ratio(f['naive_p99_ms'], f['p99_ms'])}x", "", ""),
        (f"bulk points/s (n={f['bulk_points']:,} / {f['naive_bulk_points']:,})",
         f"{f['bulk_points_per_s']:,}", f"{f['naive_bulk_points_per_s']:,}", f"{f['bulk_ratio']}x",
         f">= {TARGETS['bulk_points_per_s']:,}/s, >= {TARGETS['bulk_ratio']:g}x",
         f"{met['bulk_points_per_s']}, {met['bulk_ratio']}"),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print_checks(f["checks"], met["correct"])
    print_breakdown(f["breakdown"])


def print_checks(checks, correct):
    for name in ("single", "bulk"):
        c = checks[name]
        print(f"agreement ({name}, {c['compared']:,} points): {c['disagree']} differ "
              f"({c['disagree_on_border']} on a border, {c['disagree_off_border']} off it); "
              f"{c['outside_found_region']} of {c['outside_points']} outside points found a region")
    print(f"inside points found in the kecamatan they were drawn in: {checks['source_share']:.2%}"
          f" (the rest lie where outlines overlap; the lowest code wins); correct: {correct}")


def print_breakdown(b):
    single, naive, bulk = b["single"], b["naive_single"], b["bulk"]
    print(f"where the time goes (server side, p50 of {single['sample']} EXPLAIN ANALYZE):")
    for name, s in (("subdivided", single), ("naive", naive)):
        print(f"  single point, {name:10s}: planning {s['planning_ms_p50']:.3f} ms"
              f" + execution {s['execution_ms_p50']:.3f} ms")
    print(f"  SELECT 1 through the same session: {b['select_1_ms_p50']:.3f} ms"
          " (client + round trip)")
    print(f"  one locate_many batch of {bulk['points']:,}: planning {bulk['planning_ms']:.1f} ms,"
          f" execution {bulk['execution_ms']:.1f} ms, of which JIT compilation"
          f" {bulk['jit_ms']:.1f} ms\n")


# --- main -----------------------------------------------------------------------------------

def run(args):
    require_regions()
    env = environment()
    log(f"generating {max(args.points, args.bulk):,} points (seed {args.seed})")
    points = make_points(max(args.points, args.bulk), args.seed)
    single_points = take(points, args.points)

    log(f"timing {args.points:,} single lookups per method, interleaved")
    timed = time_single({"subdivided": locate, "naive": naive_locate}, single_points)
    (latencies, answers), (naive_latencies, naive_answers) = timed["subdivided"], timed["naive"]

    log(f"timing locate_many on {args.bulk:,} points, the naive bulk query on {args.naive_bulk:,}")
    bulk_points = take(points, args.bulk)
    bulk_rate, bulk_answers = time_bulk(locate_many, bulk_points, args.batch)
    naive_points = bulk_points[:args.naive_bulk]
    naive_rate, naive_bulk_answers = time_bulk(naive_locate_many, naive_points, args.batch)

    log("checking agreement and measuring where the time goes")
    checks = {"single": compare(single_points, answers, naive_answers),
              "bulk": compare(naive_points, bulk_answers, naive_bulk_answers),
              "source_share": source_share(single_points, answers)}
    breakdown = {"single": single_breakdown(_LOCATE_SQL, single_points),
                 "naive_single": single_breakdown(NAIVE_LOCATE_SQL, single_points),
                 "select_1_ms_p50": select_one_ms(),
                 "bulk": bulk_breakdown(bulk_points[:args.batch])}
    return build_result(args, env, latency_summary(latencies), latency_summary(naive_latencies),
                        bulk_rate, naive_rate, checks, breakdown)


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main():
    args = parse_args()
    if not os.environ.get("APOA_DATABASE_URL"):
        sys.exit("region_lookup: APOA_DATABASE_URL is not set; run `make bench`, or first"
                 " eval \"$(scripts/dev.sh services apoa)\"")
    app = create_app()
    with app.app_context():
        try:
            figures = run(args)
        except OperationalError as error:
            sys.exit(f"region_lookup: cannot reach the database: {error.orig}")
        finally:
            db.session.rollback()  # read only: leave nothing behind
    print_report(figures)
    print(json.dumps(figures, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
