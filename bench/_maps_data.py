"""The maps benchmark's data: offices, officers and 1,000,000 synthetic reports loaded with COPY.

Reports are spread over the kabupaten/kota by weight (big cities, Batam and Bali heaviest, other
cities 3, other kabupaten 1) and clustered around towns: most around the kabupaten's label point,
the rest around a few other towns drawn on its surface, each with a normal scatter of a few km.
A point that falls outside every region (at sea, across a border) is drawn again from its town, so
every report lies inside Indonesia and gets its kecamatan, kabupaten/kota and office from the same
region_part pieces the product uses. The rows themselves (states by age, outcomes, tracking codes;
valid by construction) are made in bench/_maps_rows.py.

The load is one transaction: the report's secondary indexes are dropped and re-created from their
own definitions (one sorted build each instead of a million insertions); the triggers that keep
rollups (report_grid for the map, the summaries' if present) are disabled during the COPY and the
rollups rebuilt once afterwards (report_grid_rebuild(), summary_rebuild()). Then VACUUM ANALYZE,
as autovacuum would eventually do on a real table. No report_event rows are made: the maps never
read them.

The database is kept: a later run reuses it when it holds the same number of reports made by the
same generator version (a comment on the database says which), and says so.
"""
import io
import os
import platform
import time
from datetime import datetime, timezone

import numpy as np
import psycopg2

import _maps_rows as report_rows
from _common import BENCH_PASSWORD, durability, officer_email

GENERATOR_VERSION = 1
MARKER = "apoa bench maps: {count} reports, seed {seed}, generator {version}"

# (code, name, kind, parent code, kabupaten/kota codes): the demo's offices and a few more, so
# the densest cities have a Kantor Imigrasi and most of the country has none (Ditjen only).
EXTRA_OFFICES = (
    ("KANWIL-DKI", "Kantor Wilayah Imigrasi DKI Jakarta", "kanwil", "DITJEN", ()),
    ("KANIM-JAKSEL", "Kantor Imigrasi Kelas I Non TPI Jakarta Selatan", "kantor", "KANWIL-DKI", ("31.74", "31.75")),
    ("KANIM-JAKPUS", "Kantor Imigrasi Kelas I Khusus Non TPI Jakarta Pusat", "kantor", "KANWIL-DKI",
     ("31.71", "31.72", "31.73")),
    ("KANWIL-BALI", "Kantor Wilayah Imigrasi Bali", "kanwil", "DITJEN", ()),
    ("KANIM-NGURAH-RAI", "Kantor Imigrasi Kelas I Khusus TPI Ngurah Rai", "kantor", "KANWIL-BALI", ("51.03", "51.71")),
    ("KANWIL-KEPRI", "Kantor Wilayah Imigrasi Kepulauan Riau", "kanwil", "DITJEN", ()),
    ("KANIM-BATAM", "Kantor Imigrasi Kelas I Khusus TPI Batam", "kantor", "KANWIL-KEPRI", ("21.71",)),
    ("KANWIL-JATIM", "Kantor Wilayah Imigrasi Jawa Timur", "kanwil", "DITJEN", ()),
    ("KANIM-SURABAYA", "Kantor Imigrasi Kelas I Khusus TPI Surabaya", "kantor", "KANWIL-JATIM", ("35.78",)),
)
# The two officers whose map is measured: one sees everything, one a Kantor's jurisdiction.
DITJEN_OFFICE, KANTOR_OFFICE = report_rows.DITJEN_OFFICE, "KANIM-JAKSEL"

# Weight of a kabupaten/kota: these, else 3 for a city (kode NN.7x) and 1 for a kabupaten.
CITY_WEIGHTS = {
    "31.71": 30, "31.72": 25, "31.73": 30, "31.74": 35, "31.75": 25,  # Jakarta
    "21.71": 30, "51.03": 35, "51.71": 25,                            # Batam, Badung, Denpasar
    "35.78": 25, "32.73": 20, "12.71": 20, "36.71": 15, "36.74": 12,  # Surabaya, Bandung, Medan, Tangerang
    "32.75": 15, "32.15": 15, "33.74": 12, "73.71": 10, "34.71": 10,  # Bekasi, Karawang, Semarang, ...
    "64.72": 8, "16.71": 8,
}
MAIN_TOWN_SHARE = 0.55      # of a kabupaten's reports, around its label point
EXTRA_TOWNS = {"city": 2, "kabupaten": 4}
SCATTER_KM = {"main_city": 2.5, "main_kabupaten": 4.0, "extra": 2.0}
KM_PER_DEGREE = 111.32
LOOKUP_BATCH = 10_000


class Phases:
    """Wall time of each phase, in order, printed as it ends."""

    def __init__(self, log):
        self.log, self.seconds = log, {}

    def run(self, name, function, *args, **kwargs):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        self.seconds[name] = round(time.perf_counter() - start, 2)
        self.log(f"  {name}: {self.seconds[name]:.1f} s")
        return result


# --- offices and officers ----------------------------------------------------------------------

def all_offices():
    from apoa.demo.seed import OFFICES

    return tuple(OFFICES) + EXTRA_OFFICES


def totp_secret(office_code):
    """A fixed base32 secret per bench officer (public, like the demo's): 32 symbols."""
    import base64

    return base64.b32encode(f"apoa-bench-{office_code}".ljust(20, "x")[:20].encode()).decode()


def ensure_offices_and_officers(app):
    """The offices with their jurisdictions, and one officer with TOTP per Ditjen and Kantor."""
    from apoa.auth.services import create_user, find_user_by_email
    from apoa.auth.totp import enrol_with_secret
    from apoa.extensions import db
    from apoa.regions.offices import create_office, find_office, set_jurisdiction

    with app.app_context():
        for code, name, kind, parent, kabupaten in all_offices():
            if find_office(code) is None:
                create_office(code, name, kind, parent)
            if kabupaten:
                set_jurisdiction(code, kabupaten)
        for code, name, kind, _parent, _kab in all_offices():
            if kind == "kanwil":
                continue
            email = officer_email(code)
            user = find_user_by_email(email)
            if user is None:
                user = create_user(email, f"Petugas {name}", BENCH_PASSWORD, "officer", code)
                enrol_with_secret(user, totp_secret(code))
        db.session.commit()
        db.session.remove()


# --- reuse -----------------------------------------------------------------------------------

def marker(count, seed):
    return MARKER.format(count=count, seed=seed, version=GENERATOR_VERSION)


def existing_data(conn):
    """(the database's comment, reports, reports counted in report_grid)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                       " WHERE datname = current_database()")
        comment = cursor.fetchone()[0]
        cursor.execute("SELECT (SELECT count(*) FROM report), (SELECT coalesce(sum(reports), 0) FROM report_grid)")
        reports, in_grid = cursor.fetchone()
    conn.rollback()
    return comment, reports, int(in_grid)


# --- where the reports are -------------------------------------------------------------------

def load_kabupaten(conn, seed):
    """Kabupaten/kota with id, code, weight and towns: [(lon, lat, sigma_km, share)]."""
    with conn.cursor() as cursor:
        # The label point, unless it lies outside the kabupaten's pieces (at sea off an island):
        # then a point on its surface, so a report drawn at the town centre is always inside.
        cursor.execute("""
            SELECT r.id, r.kode, ST_X(c.g), ST_Y(c.g)
            FROM region r CROSS JOIN LATERAL (SELECT CASE WHEN EXISTS (
                SELECT 1 FROM region_part p WHERE p.kab_id = r.id AND ST_Intersects(p.geom,
                       ST_SetSRID(ST_MakePoint(r.label_lon, r.label_lat), 4326)))
                THEN ST_SetSRID(ST_MakePoint(r.label_lon, r.label_lat), 4326)
                ELSE ST_PointOnSurface(r.geom) END AS g) c
            WHERE r.level = 'kabupaten_kota' ORDER BY r.kode""")
        regions = cursor.fetchall()
        cursor.execute("""
            SELECT r.kode, ST_X(d.geom), ST_Y(d.geom)
            FROM region r CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(r.geom,
                 CASE WHEN split_part(r.kode, '.', 2)::int >= 70 THEN %s ELSE %s END, %s)) d
            WHERE r.level = 'kabupaten_kota' ORDER BY r.kode, d.path""",
                       (EXTRA_TOWNS["city"], EXTRA_TOWNS["kabupaten"], seed))
        extra = {}
        for kode, lon, lat in cursor.fetchall():
            extra.setdefault(kode, []).append((lon, lat))
    conn.rollback()
    kabupaten = []
    for id_, kode, lon, lat in regions:
        city = int(kode.split(".")[1]) >= 70
        towns = extra.get(kode, [])
        sites = [(lon, lat, SCATTER_KM["main_city" if city else "main_kabupaten"], MAIN_TOWN_SHARE if towns else 1.0)]
        sites += [(x, y, SCATTER_KM["extra"], (1 - MAIN_TOWN_SHARE) / len(towns)) for x, y in towns]
        kabupaten.append({"id": id_, "kode": kode, "weight": CITY_WEIGHTS.get(kode, 3 if city else 1),
                          "towns": sites})
    return kabupaten


def town_table(kabupaten):
    """Arrays over all towns: lon, lat, sigma in degrees, probability of a report."""
    total = sum(k["weight"] for k in kabupaten)
    rows = [(x, y, s / KM_PER_DEGREE, k["weight"] / total * share)
            for k in kabupaten for x, y, s, share in k["towns"]]
    lon, lat, sigma, p = (np.array(column, dtype=float) for column in zip(*rows))
    return {"lon": lon, "lat": lat, "sigma": sigma, "p": p / p.sum()}


def scatter(towns, town_of, rng, narrowing=1.0):
    """A point around each given town: normal scatter, longitude widened by 1/cos(latitude)."""
    sigma = towns["sigma"][town_of] * narrowing
    lat = towns["lat"][town_of] + rng.normal(0.0, 1.0, len(town_of)) * sigma
    lon = towns["lon"][town_of] + rng.normal(0.0, 1.0, len(town_of)) * sigma / np.cos(np.radians(lat))
    return np.round(lon, 6), np.round(lat, 6)


# --- region lookup: the product's locate_many against one set-based query ----------------------

SET_BASED_SQL = """
COPY (
  SELECT t.i, kec.region_id, coalesce(kec.kab_id, kab.kab_id),
         (SELECT o.office_id FROM office_region o WHERE o.region_id = coalesce(kec.kab_id, kab.kab_id))
  FROM bench_point t
  LEFT JOIN LATERAL (
    SELECT p.region_id, p.kab_id FROM region_part p
    WHERE p.level = 'kecamatan' AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326))
    ORDER BY p.kode LIMIT 1) kec ON true
  LEFT JOIN LATERAL (
    SELECT p.kab_id FROM region_part p
    WHERE kec.region_id IS NULL AND p.level = 'kabupaten_kota'
      AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326))
    ORDER BY p.kode LIMIT 1) kab ON true
) TO STDOUT
"""


def locate_with_product(app, lon, lat):
    """kec, kab, office ids (-1 for none) from apoa.regions.lookup.locate_many in batches."""
    from apoa.extensions import db
    from apoa.regions.lookup import locate_many

    out = np.full((len(lon), 3), -1, dtype=np.int64)
    with app.app_context():
        for start in range(0, len(lon), LOOKUP_BATCH):
            stop = start + LOOKUP_BATCH
            found = locate_many(list(zip(lon[start:stop].tolist(), lat[start:stop].tolist())))
            out[start:stop] = [[-1 if v is None else v for v in (f.kec_id, f.kab_id, f.office_id)] for f in found]
            db.session.rollback()
        db.session.remove()
    return out


def locate_set_based(conn, lon, lat):
    """The same ids from one set-based query: the points COPYed into an unlogged table, joined with
    region_part (parallel workers allowed), the answer COPYed back."""
    with conn.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_point;"
                       " CREATE UNLOGGED TABLE bench_point (i integer, lon float8, lat float8)")
        text = "".join(f"{i}\t{x!r}\t{y!r}\n" for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist())))
        cursor.copy_expert("COPY bench_point FROM STDIN", io.StringIO(text))
        cursor.execute("ANALYZE bench_point; SET LOCAL jit = off")
        answer = io.StringIO()
        cursor.copy_expert(SET_BASED_SQL, answer)
        cursor.execute("DROP TABLE bench_point")
    conn.commit()
    out = np.full((len(lon), 3), -1, dtype=np.int64)
    for line in answer.getvalue().splitlines():
        i, *ids = line.split("\t")
        out[int(i)] = [-1 if v == "\\N" else int(v) for v in ids]
    return out


def compare_lookups(app, conn, lon, lat):
    """Both ways on the same points: points/s each and whether they agree on every point."""
    timings, answers = {}, {}
    for name, run in (("locate_many", lambda: locate_with_product(app, lon, lat)),
                      ("set_based", lambda: locate_set_based(conn, lon, lat))):
        start = time.perf_counter()
        answers[name] = run()
        timings[name] = round(len(lon) / (time.perf_counter() - start))
    disagree = int((answers["locate_many"] != answers["set_based"]).any(axis=1).sum())
    faster = max(timings, key=timings.get)
    return faster, answers[faster], {"points": len(lon), "points_per_s": timings, "disagreements": disagree,
                                     "used": faster}


def place_points(app, conn, towns, count, sample, rng, log):
    """`count` points inside Indonesia around towns, with kec/kab/office ids; how lookups compared."""
    town_of = rng.choice(len(towns["p"]), size=count, p=towns["p"])
    lon, lat = scatter(towns, town_of, rng)
    sample = min(sample, count)
    method, first, comparison = compare_lookups(app, conn, lon[:sample], lat[:sample])
    log(f"  lookup on {sample:,} points: " + ", ".join(f"{k} {v:,}/s" for k, v in comparison["points_per_s"].items())
        + f"; {comparison['disagreements']} disagreements; using {method}")
    lookup = (lambda x, y: locate_with_product(app, x, y)) if method == "locate_many" else (
        lambda x, y: locate_set_based(conn, x, y))
    ids = np.empty((count, 3), dtype=np.int64)
    ids[:sample] = first
    start = time.perf_counter()
    if count > sample:
        ids[sample:] = lookup(lon[sample:], lat[sample:])
    redrawn, rounds = 0, 0
    while (missing := np.flatnonzero(ids[:, 1] < 0)).size:
        rounds += 1
        if rounds > 40:
            raise RuntimeError(f"{missing.size} points still outside every region after 40 draws")
        redrawn += missing.size
        # Towns on small islands lose most of their scatter to the sea: after a few rounds the
        # scatter narrows, and in the end the town centre itself (always inside) is taken.
        narrowing = 0.5 ** max(0, rounds - 10) if rounds < 30 else 0.0
        lon[missing], lat[missing] = scatter(towns, town_of[missing], rng, narrowing)
        ids[missing] = lookup(lon[missing], lat[missing])
    seconds = time.perf_counter() - start
    comparison.update(rest_points_per_s=round((count - sample + redrawn) / seconds) if seconds else None,
                      redrawn=redrawn, redraw_rounds=rounds)
    return lon, lat, ids, comparison


# --- the load --------------------------------------------------------------------------------

def secondary_indexes(cursor):
    """(name, definition) of report's indexes that no constraint owns."""
    cursor.execute("""
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = 'report'::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) ORDER BY i.relname""")
    return cursor.fetchall()


# Trigger functions on report that keep a rollup, and the function that rebuilds that rollup from
# the reports: for a bulk load such a trigger is disabled and the rollup rebuilt once afterwards.
# A trigger not named here stays enabled and does its work row by row (slower, still correct).
REBUILT_ROLLUPS = {"report_grid_track": "report_grid_rebuild", "summary_track_report": "summary_rebuild"}


def insert_triggers_with_rebuild(cursor):
    """(trigger, rebuild function) of report's user triggers firing on INSERT that have a rebuild."""
    cursor.execute("""
        SELECT t.tgname, p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE t.tgrelid = 'report'::regclass AND NOT t.tgisinternal AND t.tgtype & 4 = 4 ORDER BY t.tgname""")
    return [(name, REBUILT_ROLLUPS[function]) for name, function in cursor.fetchall() if function in REBUILT_ROLLUPS]


def load_reports(conn, columns, phases):
    """One transaction: empty the tables, drop secondary indexes, COPY with the rollup triggers
    off, re-create the indexes, rebuild the rollups, re-enable the triggers."""
    with conn.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("TRUNCATE report CASCADE")
        indexes = secondary_indexes(cursor)
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        triggers = insert_triggers_with_rebuild(cursor)
        for trigger, _rebuild in triggers:
            cursor.execute(f'ALTER TABLE report DISABLE TRIGGER "{trigger}"')
        phases.run(f"COPY {len(columns['id']):,} report rows (formatted in Python as PostgreSQL reads them)",
                   cursor.copy_expert, f"COPY report ({', '.join(report_rows.COLUMNS)}) FROM STDIN",
                   report_rows.RowStream(columns), 1 << 16)
        cursor.execute("SELECT setval(pg_get_serial_sequence('report', 'id'), (SELECT max(id) FROM report))")
        phases.run(f"re-create {len(indexes)} secondary indexes", lambda: [cursor.execute(d) for _n, d in indexes])
        for trigger, rebuild in triggers:
            phases.run(f"{rebuild}() (trigger {trigger} was off)", cursor.execute, f"SELECT {rebuild}()")
            cursor.execute(f'ALTER TABLE report ENABLE TRIGGER "{trigger}"')
    phases.run("commit", conn.commit)


def vacuum_analyze(conn):
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE report")
        cursor.execute("VACUUM ANALYZE report_grid")
        cursor.execute("SELECT to_regclass('summary_report') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute("VACUUM ANALYZE summary_report")
    conn.autocommit = False


def set_marker(conn, text):
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        name = cursor.fetchone()[0]
        cursor.execute(f'COMMENT ON DATABASE "{name}" IS %s', (text,))
    conn.commit()


def officer_ids(conn):
    """{office id: its bench officer's user id, and DITJEN_OFFICE: the Ditjen officer's}."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT o.id, o.code, u.id FROM office o JOIN user_account u ON u.office_id = o.id"
                       " WHERE u.email LIKE 'petugas.%@bench.apoa.id'")
        rows = cursor.fetchall()
    conn.rollback()
    officers = {office_id: user_id for office_id, _code, user_id in rows}
    officers[DITJEN_OFFICE] = next(user_id for _o, code, user_id in rows if code == DITJEN_OFFICE)
    return officers


def category_ids(conn):
    with conn.cursor() as cursor:
        cursor.execute("SELECT id FROM category ORDER BY position")
        ids = [row[0] for row in cursor.fetchall()]
    conn.rollback()
    return ids[:len(report_rows.CATEGORY_WEIGHTS)]


def data_summary(conn):
    with conn.cursor() as cursor:
        cursor.execute("""
            SELECT count(*), count(DISTINCT kab_id), count(office_id), min(created_at), max(created_at),
                   (SELECT coalesce(sum(reports), 0) FROM report_grid), (SELECT count(*) FROM report_grid),
                   pg_total_relation_size('report'), (SELECT count(*) FROM office)
            FROM report""")
        row = cursor.fetchone()
        cursor.execute("SELECT state, count(*) FROM report GROUP BY state ORDER BY count(*) DESC")
        states = dict(cursor.fetchall())
    conn.rollback()
    return {"reports": row[0], "kabupaten_with_reports": row[1], "reports_with_office": row[2],
            "created_from": row[3].isoformat(timespec="seconds"), "created_to": row[4].isoformat(timespec="seconds"),
            "reports_in_grid": int(row[5]), "grid_rows": row[6], "report_table_mb": round(row[7] / 2**20),
            "offices": row[8], "states": states}


def ensure_reports(app, db_url, count, seed, lookup_sample, log):
    """Make sure the benchmark database holds `count` generated reports; returns what was done."""
    ensure_offices_and_officers(app)
    conn = psycopg2.connect(db_url)
    comment, reports, in_grid = existing_data(conn)
    wanted = marker(count, seed)
    if comment == wanted and reports == count and in_grid == count:
        log(f"reusing the {reports:,} reports already in the database ({comment})")
        summary = data_summary(conn)
        conn.close()
        return {"reused": True, "phases_s": {}, "lookup": None, **summary}
    log(f"generating {count:,} reports (database had {reports:,}; marker {comment!r})")
    phases = Phases(log)
    rng = np.random.default_rng(seed)
    kabupaten = phases.run("towns (label points + ST_GeneratePoints)", load_kabupaten, conn, seed)
    towns = town_table(kabupaten)
    lon, lat, ids, lookup = phases.run("points, region lookup and redraws", place_points, app, conn, towns,
                                       count, lookup_sample, rng, log)
    columns = phases.run("report columns (states, outcomes, codes, ...)", report_rows.report_columns, lon, lat, ids,
                         category_ids(conn), officer_ids(conn), rng, datetime.now(timezone.utc))
    set_marker(conn, None)
    load_reports(conn, columns, phases)
    phases.run("VACUUM ANALYZE (report and its rollups)", vacuum_analyze, conn)
    set_marker(conn, wanted)
    summary = data_summary(conn)
    conn.close()
    return {"reused": False, "phases_s": phases.seconds, "lookup": lookup, **summary}


def environment(conn):
    """The machine and database settings a benchmark's figures depend on (shared by the 1M-report
    benchmarks, maps.py and summaries.py)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), postgis_lib_version(),"
                       " current_setting('shared_buffers'), current_setting('work_mem'), current_setting('jit')")
        row = cursor.fetchone()
    conn.rollback()
    return {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "postgresql": row[0].split()[0], "postgis": row[1], "shared_buffers": row[2], "work_mem": row[3],
            "jit": row[4], "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "durability": durability(conn)}
