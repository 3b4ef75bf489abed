"""Benchmark: the bulk upload of guest check-ins (issue 14 item 13: >= 5,000 rows/s on 2 cores).

What is measured, in one run, on generated guests (each a different passport, checked in over the
last two days, so some are late):

* the product: `apoa.guests.bulk.commit_rows` for --rows guests and the commit, as the upload's
  commit job runs it (STTPOA numbers, encryption of the personal fields, keyed hashes, the insert
  in chunks with ON CONFLICT DO NOTHING, the audit entry); rows per second and the ratio against
  the target;
* for information, the preview's work on the same guests written as a template CSV:
  `read_rows` + `check_rows` (what the check job does before the operator confirms);
* the baseline: as many other guests through `services.check_in` in chunks of --baseline-chunk
  (a group per call, a commit after each), the path without the bulk code;
* correctness: committing the same guests again stores none of them and counts them all as
  existing (re-uploading a file makes no duplicates); otherwise the run is BROKEN.

The guests go to a verified lodging of the benchmark's own ("Hotel Bench Bulk", made on the first
run) in its own database (--database, default apoa_bench_guests_bulk: the audit log is append-only, so
nothing a benchmark writes could be removed from the development database). `--scale smoke` (make
bench-smoke) runs a few hundred rows against apoa_bench_smoke; its figures mean nothing.

Run: .venv/bin/python bench/guests_bulk.py [--scale full|smoke] [--rows 20000] [--baseline-chunk 100]
[--database NAME] with APOA_DATABASE_URL set. Prints a table, then as its last line one JSON object.
`measure_bulk(rows)` does the measurement inside an app context the caller has pushed (bench/guests.py).
"""
import argparse
import csv
import io
import os
import platform
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone

from _common import (SMOKE_DATABASE, app_environ, bench_url, durability, durability_line, ensure_database, finish,
                     log, parse_scaled, require_environment)

TARGET_ROWS_PER_S = 5000
SCALES = {"full": {"rows": 20000, "baseline_chunk": 100, "database": "apoa_bench_guests_bulk"},
          "smoke": {"rows": 300, "baseline_chunk": 50, "database": SMOKE_DATABASE}}
LODGING_NAME = "Hotel Bench Bulk"
OPERATOR_EMAIL = "pengelola.bulk@bench.apoa.id"
KARAWANG = (107.30, -6.30)
NATIONALITIES = ("AUS", "CHN", "D", "GBR", "IND", "JPN", "KOR", "MYS", "NLD", "SGP", "USA", "FRA")
PERMITS = ("visit_visa", "visa_on_arrival", "itas", "itap", "other")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="guests committed in one bulk upload")
    parser.add_argument("--baseline-chunk", type=int, help="guests per services.check_in call in the baseline")
    parser.add_argument("--database", help="database on APOA_DATABASE_URL's server")
    return parse_scaled(parser, SCALES, argv)


# --- the lodging and the guests ----------------------------------------------------------------

def bench_lodging():
    """The benchmark's verified lodging and its operator, made on the first run and committed."""
    from sqlalchemy import select

    from apoa.auth.models import User
    from apoa.extensions import db
    from apoa.guests.models import Organisation, OrganisationState
    from apoa.guests.services import register_organisation

    operator = db.session.scalar(select(User).where(User.email == OPERATOR_EMAIL))
    if operator is None:
        operator = User(email=OPERATOR_EMAIL, name="Pengelola Bench", role="resident", password_hash="!")
        db.session.add(operator)
        db.session.flush()
    # bench/guests.py empties the organisations of its database before it fills it again.
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == LODGING_NAME))
    if organisation is None:
        organisation = register_organisation(operator, "lodging", LODGING_NAME, "Jl. Bench 1, Karawang", KARAWANG,
                                             licence_no="9120000000001", lodging_kind="hotel")
        # Verified directly: the benchmark measures check-ins, not the office's decision.
        organisation.state = OrganisationState.verified.value
        organisation.decided_at = datetime.now(timezone.utc)
    db.session.commit()
    return organisation, operator


def generated(count, now):
    """`count` different guests; a fresh tag in every passport number, so runs never collide."""
    from apoa.guests.services import GuestData

    tag = uuid.uuid4().hex[:6].upper()
    today = now.date()
    guests = []
    for n in range(count):
        checked_in = now - timedelta(minutes=1 + n % 2880)
        guests.append(GuestData(
            surname=f"BENCH{n}", given_names="TEST GUEST", sex="MF"[n % 2],
            date_of_birth=date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
            nationality=NATIONALITIES[n % len(NATIONALITIES)], passport_number=f"{tag}{n:07d}",
            passport_expiry=today + timedelta(days=400 + n % 2000), permit_kind=PERMITS[n % len(PERMITS)],
            permit_number=f"2C{n:08d}" if n % 3 == 0 else None, permit_expiry=today + timedelta(days=30 + n % 300),
            arrived_in_indonesia=checked_in.date() - timedelta(days=n % 10), checked_in_at=checked_in,
            planned_check_out=today + timedelta(days=1 + n % 14), room=str(100 + n % 300)))
    return guests


def template_csv(guests):
    """The guests as a template CSV, as a property-management export would write them."""
    from apoa.guests.bulk import TEMPLATE_HEADERS

    def day(value):
        return value.isoformat() if value else ""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TEMPLATE_HEADERS)
    for g in guests:
        writer.writerow([g.surname, g.given_names, g.sex, day(g.date_of_birth), g.nationality, g.passport_number,
                         day(g.passport_expiry), g.permit_kind, g.permit_number or "", day(g.permit_expiry),
                         day(g.arrived_in_indonesia), g.checked_in_at.isoformat(), day(g.planned_check_out), g.room])
    return buffer.getvalue().encode("utf-8")


# --- the measurement ---------------------------------------------------------------------------

def measure_bulk(rows: int, baseline: bool = True, baseline_chunk: int = 100) -> dict:
    """Rows per second of commit_rows (and the commit) for `rows` generated guests, of the
    preview's read_rows + check_rows, and (with `baseline`) of services.check_in in chunks of
    `baseline_chunk`; with the re-upload check. Runs in the caller's app context and commits."""
    from apoa.extensions import db
    from apoa.guests.bulk import check_rows, commit_rows, read_rows

    organisation, operator = bench_lodging()
    now = datetime.now(timezone.utc)
    guests = generated(rows, now)
    raw = template_csv(guests)
    started = time.perf_counter()
    checked, problems = check_rows(organisation, read_rows(raw, "csv"), now)
    check_s = time.perf_counter() - started
    log(f"committing {rows} guests through commit_rows")
    started = time.perf_counter()
    created, existing = commit_rows(organisation, operator, checked, now)
    db.session.commit()
    bulk_s = time.perf_counter() - started
    again = commit_rows(organisation, operator, checked, now)
    db.session.commit()
    figures = {
        "rows": rows, "file_bytes": len(raw), "problems": len(problems), "created": created, "existing": existing,
        "bulk_s": round(bulk_s, 3), "bulk_rows_per_s": round(rows / bulk_s), "rows_per_s": round(rows / bulk_s),
        "check_s": round(check_s, 3), "check_rows_per_s": round(rows / check_s),
        "target_rows_per_s": TARGET_ROWS_PER_S, "ratio_to_target": round(rows / bulk_s / TARGET_ROWS_PER_S, 2),
        "reupload": {"created": again[0], "existing": again[1]},
    }
    if baseline:
        figures["baseline"] = measure_check_in(organisation, operator, generated(rows, now), now, baseline_chunk)
        figures["speedup"] = round(figures["bulk_rows_per_s"] / figures["baseline"]["rows_per_s"], 1)
    return figures


def measure_check_in(organisation, operator, guests, now, chunk):
    """The same work without the bulk path: services.check_in, `chunk` guests a call, a commit each."""
    from apoa.extensions import db
    from apoa.guests.services import check_in

    log(f"checking in {len(guests)} guests through services.check_in, {chunk} a call")
    started = time.perf_counter()
    for start in range(0, len(guests), chunk):
        check_in(organisation, operator, guests[start:start + chunk], now)
        db.session.commit()
    seconds = time.perf_counter() - started
    return {"rows": len(guests), "chunk": chunk, "seconds": round(seconds, 3),
            "rows_per_s": round(len(guests) / seconds)}


def broken_checks(figures):
    broken = []
    if figures["problems"] or figures["created"] != figures["rows"]:
        broken.append("the generated guests were not all stored")
    if figures["reupload"] != {"created": 0, "existing": figures["rows"]}:
        broken.append("committing the same guests again stored some of them twice")
    return broken


def print_report(f):
    print(f"\nguests bulk upload: {f['rows']} rows ({f['file_bytes'] / 1e6:.1f} MB as CSV), {f['cpus']} CPUs, "
          f"{f['machine']}")
    print(durability_line(f["server"]))
    print(f"  {'path':<44} {'seconds':>8} {'rows/s':>9}")
    print(f"  {'commit_rows + commit (the product)':<44} {f['bulk_s']:>8.2f} {f['bulk_rows_per_s']:>9}")
    print(f"  {'read_rows + check_rows (the preview)':<44} {f['check_s']:>8.2f} {f['check_rows_per_s']:>9}")
    if "baseline" in f:
        b = f["baseline"]
        print(f"  {'services.check_in, ' + str(b['chunk']) + ' a call (baseline)':<44} {b['seconds']:>8.2f} "
              f"{b['rows_per_s']:>9}")
        print(f"  bulk vs baseline: {f['speedup']}x")
    met = "met" if f["bulk_rows_per_s"] >= f["target_rows_per_s"] else "MISSED"
    print(f"  target {f['target_rows_per_s']} rows/s: ratio {f['ratio_to_target']} ({met})")
    print(f"  re-upload of the same rows: {f['reupload']['created']} new, {f['reupload']['existing']} existing\n")


def main(argv=None):
    args = parse_args(argv)
    require_environment("guests_bulk", ("APOA_DATABASE_URL",))
    from apoa import create_app
    from apoa.extensions import db

    db_url = bench_url(os.environ["APOA_DATABASE_URL"], args.database)
    ensure_database(db_url)
    app = create_app(environ=app_environ(db_url, os.environ.get("APOA_REDIS_URL")))
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            server = durability(raw)
        finally:
            raw.close()
        figures = {"benchmark": "guests_bulk", "scale": args.scale, "database": args.database,
                   "cpus": os.cpu_count(), "machine": platform.machine(), "server": server,
                   **measure_bulk(args.rows, baseline_chunk=args.baseline_chunk)}
    finish("guests_bulk", figures, print_report, broken_checks(figures))


if __name__ == "__main__":
    sys.exit(main())
