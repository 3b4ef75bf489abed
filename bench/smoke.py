"""`make bench-smoke`: every benchmark at `--scale smoke`, so that none of them can rot unnoticed.

The database `apoa_bench_smoke` is dropped and made afresh first (migrated, the regions imported),
so a smoke run never meets what an earlier one, or an older version of the schema, left (the
benchmarks are told so and do not migrate it again); the databases of the full benchmarks
(apoa_bench, apoa_bench_maps, apoa_bench_summaries with their million reports, and
apoa_bench_weight) are never touched. The benchmarks then run one after the other, in an order
in which each finds what it needs: region_lookup (reads the regions), maps (makes 3,000
reports), summaries (reuses them, adds their histories), submit (adds reports and audit
entries), whatsapp (the webhook's acknowledgements, then the bot's replies through two job workers
and the fake Graph API, beside a few form submissions), guests (3,000 stays over 200 lodgings, the
officers' reads with and without their indexes, a bulk upload of 200 rows), page_weight (loads
three pages in a throttled Chromium).

Each prints its table and JSON line as usual. The run fails when a benchmark fails (it raised, or
its run showed broken answers), takes longer than TIMEOUT_S, or does not end with its JSON line;
a target missed at this scale never fails it. Ends with each benchmark's wall time.

Run: .venv/bin/python bench/smoke.py with APOA_DATABASE_URL and APOA_REDIS_URL set.
"""
import json
import os
import subprocess
import sys
import time

from _common import PREPARED_VARIABLE, ROOT, SMOKE_DATABASE, bench_url, ensure_database, log, require_environment

BENCHMARKS = ("region_lookup", "maps", "summaries", "submit", "whatsapp", "guests", "guests_bulk",
              "page_weight")
TIMEOUT_S = 180  # about a minute each is expected; a hung benchmark must not hang CI


def run_one(name):
    """Run one benchmark at smoke scale; (seconds, None or what went wrong)."""
    log(f"--- {name} (smoke) ---")
    command = [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--scale", "smoke"]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, timeout=TIMEOUT_S,
                              env=dict(os.environ, **{PREPARED_VARIABLE: SMOKE_DATABASE}))
    except subprocess.TimeoutExpired as timeout:
        sys.stdout.write(timeout.stdout or "")
        return time.perf_counter() - start, f"still running after {TIMEOUT_S} s"
    seconds = time.perf_counter() - start
    sys.stdout.write(done.stdout)
    sys.stdout.flush()
    if done.returncode != 0:
        return seconds, f"exit status {done.returncode}"
    return seconds, json_line_problem(name, done.stdout)


def json_line_problem(name, output):
    """None when the output ends with the benchmark's JSON object, else what is wrong."""
    lines = output.strip().splitlines()
    try:
        figures = json.loads(lines[-1]) if lines else None
    except ValueError:
        figures = None
    if not isinstance(figures, dict) or figures.get("benchmark") != name:
        return "its output does not end with its JSON line"
    return None


def main():
    require_environment("bench-smoke")
    started = time.perf_counter()
    ensure_database(bench_url(os.environ["APOA_DATABASE_URL"], SMOKE_DATABASE), fresh=True)
    setup_s = time.perf_counter() - started
    results = [(name, *run_one(name)) for name in BENCHMARKS]
    total = time.perf_counter() - started
    print(f"bench-smoke: database {SMOKE_DATABASE} made afresh in {setup_s:.0f} s")
    for name, seconds, problem in results:
        print(f"  {name:<14} {seconds:5.0f} s  {'FAILED: ' + problem if problem else 'ok'}")
    print(f"  {'total':<14} {total:5.0f} s")
    failed = [name for name, _s, problem in results if problem]
    if failed:
        sys.exit(f"bench-smoke: {', '.join(failed)} failed")


if __name__ == "__main__":
    main()
