#!/usr/bin/env bash
# The scale-out demo (`make scale-demo`, README "Beyond one machine"): what an immigration service
# outgrowing one server runs, all of it started for real on this machine:
#
#   nginx (unprivileged, its own prefix) ─┬─ gunicorn app instance 1 ─┬─ PostgreSQL primary (writes)
#     load-balancing, retrying a failed   └─ gunicorn app instance 2 ─┤    │ streaming (pg_basebackup -R)
#     connection on the other instance                                └─ PostgreSQL replica (maps,
#   job worker + scheduler on their own; Redis shared                      summaries, exports)
#
# Everything lives under $APOA_SCALE_DIR (instance/scale): the two clusters' data, pid files, logs
# and the nginx prefix. The ports are chosen once (the next free one from a default) and kept in
# $APOA_SCALE_DIR/ports.env. Redis is APOA_REDIS_URL if set, else the private one of scripts/dev.sh,
# database 1 (so the demo's queue, limits and keys are apart from `make run`'s).
#
#   scripts/scale-demo.sh run     set up, start everything, print the address and the accounts,
#                                 wait; Ctrl-C (or `scripts/scale-demo.sh stop`) stops everything
#   scripts/scale-demo.sh start   the same in the background (the tests use it); prints ports.env
#   scripts/scale-demo.sh stop    stop everything the demo started (the shared Redis keeps running)
#   scripts/scale-demo.sh status  what runs
#   scripts/scale-demo.sh reset   stop, and delete $APOA_SCALE_DIR (clusters, logs) to start afresh
#   scripts/scale-demo.sh app app1          start app instance 1 again (after killing it)
#   scripts/scale-demo.sh stop-replica      stop the replica (reads go to the primary)
#   scripts/scale-demo.sh start-replica     start it again (it catches up from its slot)
#
# Environment: APOA_SCALE_DIR, APOA_SCALE_SEED=no (schema and regions only, no demo data),
# APOA_SCALE_WEB_WORKERS (gunicorn workers per instance, 2), APOA_SCALE_ENV (extra KEY=VALUE lines
# for the app, e.g. APOA_RATELIMIT_ENABLED=false), APOA_REGIONS_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${APOA_VENV:-$ROOT/.venv}
SCALE=${APOA_SCALE_DIR:-$ROOT/instance/scale}
PG_BIN=/usr/lib/postgresql/15/bin
RUN="$SCALE/run"
LOGS="$SCALE/log"
PORTS="$SCALE/ports.env"
DBNAME=apoa
WEB_WORKERS=${APOA_SCALE_WEB_WORKERS:-2}
# Every commit on disk before it is acknowledged, on both servers (as scripts/dev.sh keeps make run).
PG_DURABLE="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
PG_COMMON="-c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=128MB"
# The primary streams its WAL to the replica; a replication slot keeps what the replica still needs.
PG_PRIMARY="-c wal_level=replica -c max_wal_senders=10 -c max_replication_slots=10"
# Read-only queries on the replica; it tells the primary which rows its queries still read, so
# a long export there is not cancelled by the primary's clean-up.
PG_REPLICA="-c hot_standby=on -c hot_standby_feedback=on -c max_standby_streaming_delay=30s"

log() { echo "[scale] $*" >&2; }

port_in_use() { (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

next_free_port() {
  local port=$1
  while port_in_use "$port"; do port=$((port + 1)); done
  echo "$port"
}

# Ports chosen the first time, kept for the next runs; two services never get the same one.
choose_ports() {
  mkdir -p "$SCALE"
  if [ -f "$PORTS" ]; then . "$PORTS"; return; fi
  local taken=" " name default port
  for pair in PRIMARY_PORT:55432 REPLICA_PORT:55433 APP1_PORT:5081 APP2_PORT:5082 NGINX_PORT:5080; do
    name=${pair%%:*}; default=${pair##*:}
    port=$(next_free_port "$default")
    while [[ "$taken" == *" $port "* ]]; do port=$(next_free_port $((port + 1))); done
    taken="$taken$port "
    printf -v "$name" '%s' "$port"
  done
  printf 'PRIMARY_PORT=%s\nREPLICA_PORT=%s\nAPP1_PORT=%s\nAPP2_PORT=%s\nNGINX_PORT=%s\n' \
    "$PRIMARY_PORT" "$REPLICA_PORT" "$APP1_PORT" "$APP2_PORT" "$NGINX_PORT" > "$PORTS.tmp"
  mv "$PORTS.tmp" "$PORTS"
}

# --- PostgreSQL: primary and replica ----------------------------------------------------------------

is_root() { [ "$(id -u)" = 0 ]; }

# initdb and postgres refuse to run as root: as root the clusters belong to the postgres user.
pg_run() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

# The postgres user (and nginx's, nobody) must traverse every parent folder of $SCALE.
make_reachable() {
  local dir=$1
  is_root || return 0
  while [ "$dir" != "/" ]; do
    if ! runuser -u nobody -- test -x "$dir" 2>/dev/null || ! runuser -u postgres -- test -x "$dir"; then
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
}

cluster_dir() { echo "$SCALE/pg-$1"; }

cluster_running() { pg_run "$PG_BIN/pg_ctl" -D "$(cluster_dir "$1")/data" status >/dev/null 2>&1; }

start_cluster() {
  local name=$1 port=$2 options=$3 dir
  dir=$(cluster_dir "$name")
  cluster_running "$name" && { log "PostgreSQL $name is already running"; return 0; }
  pg_run mkdir -p "$dir/run"
  log "starting PostgreSQL $name on 127.0.0.1:$port"
  pg_run "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 120 start \
    -o "-p $port -k $dir/run $PG_COMMON $PG_DURABLE $options" >/dev/null
}

stop_cluster() {
  local dir
  dir=$(cluster_dir "$1")
  [ -f "$dir/data/PG_VERSION" ] || return 0
  cluster_running "$1" || return 0
  log "stopping PostgreSQL $1"
  pg_run "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

psql_at() {
  local port=$1; shift
  "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -Atq "$@"
}

start_primary() {
  local dir
  dir=$(cluster_dir primary)
  mkdir -p "$dir"
  if is_root; then chown postgres: "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "creating the primary cluster in $dir/data"
    # -A trust on loopback (a demo); initdb's pg_hba.conf already lets 127.0.0.1 replicate.
    pg_run "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  start_cluster primary "$PRIMARY_PORT" "$PG_PRIMARY"
  if ! psql_at "$PRIMARY_PORT" -c "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'" postgres | grep -q 1; then
    psql_at "$PRIMARY_PORT" -c "CREATE DATABASE $DBNAME" postgres
  fi
}

# The replica: a base backup of the running primary (-R writes primary_conninfo and
# standby.signal; -C -S creates the replication slot), then started as a hot standby.
start_replica() {
  local dir
  dir=$(cluster_dir replica)
  mkdir -p "$dir"
  if is_root; then chown postgres: "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "making the replica: pg_basebackup -R from the primary into $dir/data"
    psql_at "$PRIMARY_PORT" -c "SELECT pg_drop_replication_slot('apoa_replica')
      FROM pg_replication_slots WHERE slot_name = 'apoa_replica'" postgres >/dev/null
    pg_run "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$dir/data" \
      -R -X stream -C -S apoa_replica -c fast
  fi
  start_cluster replica "$REPLICA_PORT" "$PG_REPLICA"
  wait_for_streaming
}

wait_for_streaming() {
  for _ in $(seq 300); do
    if [ "$(psql_at "$PRIMARY_PORT" -c "SELECT count(*) FROM pg_stat_replication
        WHERE application_name = 'walreceiver' AND state = 'streaming'" postgres)" != 0 ]; then
      log "the replica streams from the primary"
      return 0
    fi
    sleep 0.2
  done
  log "the replica does not stream: see $(cluster_dir replica)/postgres.log"; return 1
}

# --- the app: environment, schema, demo data ----------------------------------------------------

redis_url() {
  if [ -n "${APOA_REDIS_URL:-}" ]; then echo "$APOA_REDIS_URL"; return; fi
  local url
  url=$("$ROOT/scripts/dev.sh" services apoa | sed -n 's/^export APOA_REDIS_URL=//p')
  echo "${url%/0}/1"
}

secret_key() {
  local file="$SCALE/secret_key"
  if [ ! -s "$file" ]; then
    (umask 077; "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(48))' > "$file")
  fi
  cat "$file"
}

# What every process of the app sees: the primary, the replica, the shared Redis, this demo's own
# instance folder, queue and secret key; nothing of the caller's APOA_* settings except the ones
# listed in APOA_SCALE_ENV. Written to $SCALE/instance/.env as well, so that
# `APOA_INSTANCE_DIR=instance/scale/instance .venv/bin/flask --app apoa ...` works on the demo.
app_environment() {
  local redis
  redis=$(redis_url)
  mkdir -p "$SCALE/instance"
  {
    echo "APOA_ENV=development"
    echo "APOA_SECRET_KEY=$(secret_key)"
    echo "APOA_DATABASE_URL=postgresql://postgres@127.0.0.1:$PRIMARY_PORT/$DBNAME"
    echo "APOA_REPLICA_DATABASE_URL=postgresql://postgres@127.0.0.1:$REPLICA_PORT/$DBNAME"
    echo "APOA_REDIS_URL=$redis"
    echo "APOA_JOBS_QUEUE=apoa-scale"
    echo "APOA_INSTANCE_DIR=$SCALE/instance"
    echo "APOA_PROXY_HOPS=1"
    echo "APOA_BASE_URL=http://127.0.0.1:$NGINX_PORT"
    if [ -n "${APOA_REGIONS_DIR:-}" ]; then echo "APOA_REGIONS_DIR=$APOA_REGIONS_DIR"; fi
    if [ -n "${APOA_SCALE_ENV:-}" ]; then printf '%s\n' "$APOA_SCALE_ENV"; fi
  } > "$SCALE/app.env"
  cp "$SCALE/app.env" "$SCALE/instance/.env"
  load_app_env
}

# The arguments of `env` that give a command exactly the app's environment: the caller's APOA_*
# and PG* variables dropped, the lines of app.env set (PATH and the like kept).
APP_ENV=()
load_app_env() {
  local variable line
  APP_ENV=()
  while read -r variable; do APP_ENV+=(-u "$variable"); done < <(compgen -e | grep -E '^(APOA_|PG)' || true)
  while IFS= read -r line; do if [ -n "$line" ]; then APP_ENV+=("$line"); fi; done < "$SCALE/app.env"
}

with_app_env() { env "${APP_ENV[@]}" "$@"; }

# A set-up step: its standard output appended to $1, its errors to setup.log; when it fails, the
# end of setup.log is shown.
setup_step() {
  local out=$1 status=0
  shift
  with_app_env "$@" >> "$out" 2>> "$LOGS/setup.log" || status=$?
  if [ "$status" -ne 0 ]; then
    log "set-up failed (exit $status); the end of $LOGS/setup.log:"
    tail -n 15 "$LOGS/setup.log" | sed 's/^/[scale]   /' >&2
    log "\`scripts/scale-demo.sh reset\` starts afresh when the demo's own databases are the problem"
    return "$status"
  fi
}

prepare_database() {
  log "migrating the primary's schema"
  setup_step "$LOGS/setup.log" "$VENV/bin/flask" --app apoa db upgrade
  log "importing the regions (skipped when unchanged)"
  setup_step "$LOGS/setup.log" "$VENV/bin/flask" --app apoa regions import --skip-unchanged
  if [ "${APOA_SCALE_SEED:-yes}" != no ]; then
    log "seeding the demo data"
    : > "$SCALE/accounts.txt"
    setup_step "$SCALE/accounts.txt" "$VENV/bin/flask" --app apoa demo seed
  fi
}

# --- processes: gunicorn x2, worker, scheduler, nginx -------------------------------------------

pid_of() { cat "$RUN/$1.pid" 2>/dev/null; }

# A live process (a killed one not yet reaped is a zombie: not running).
running() {
  local pid state
  pid=$(pid_of "$1") || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# NAME COMMAND...: in a session of its own (so one signal reaches it and its children), output to
# $LOGS/NAME.log, pid in $RUN/NAME.pid.
start_process() {
  local name=$1; shift
  if running "$name"; then log "$name is already running"; return 0; fi
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$RUN/$name.pid" "$@" >> "$LOGS/$name.log" 2>&1 < /dev/null &
  for _ in $(seq 50); do [ -s "$RUN/$name.pid" ] && break; sleep 0.1; done
}

# SIGTERM to each named process's session (gunicorn finishes its requests, the worker its job),
# all at once; then wait for them, SIGKILL after 25 s.
stop_processes() {
  local name pid pids=()
  for name in "$@"; do
    running "$name" || { rm -f "$RUN/$name.pid"; continue; }
    pid=$(pid_of "$name")
    log "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 250); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  done
  for name in "$@"; do rm -f "$RUN/$name.pid"; done
}

start_app() {
  local name=$1 port=$2
  log "starting $name: gunicorn on 127.0.0.1:$port ($WEB_WORKERS workers)"
  start_process "$name" env "${APP_ENV[@]}" APOA_WEB_WORKERS="$WEB_WORKERS" \
    "$VENV/bin/gunicorn" -c "$ROOT/deploy/gunicorn.conf.py" --chdir "$ROOT" \
    --bind "127.0.0.1:$port" apoa.wsgi:app
}

wait_for_http() {
  local port=$1 what=$2
  for _ in $(seq 600); do
    if "$VENV/bin/python" -c "import sys, urllib.request as u
try: u.urlopen('http://127.0.0.1:$port/healthz', timeout=2)
except Exception as e: sys.exit(0 if getattr(e, 'code', None) else 1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  log "$what does not answer on port $port: see $LOGS"; return 1
}

nginx_user() { if is_root; then echo nobody; else id -un; fi; }

start_nginx() {
  local prefix="$SCALE/nginx" user
  user=$(nginx_user)
  mkdir -p "$prefix/tmp"
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@NGINX_PORT@|$NGINX_PORT|g" \
      -e "s|@APP1_PORT@|$APP1_PORT|g" -e "s|@APP2_PORT@|$APP2_PORT|g" \
      "$ROOT/deploy/nginx-scale.conf.template" > "$prefix/nginx.conf"
  # Unprivileged: as root nginx runs as nobody, owning only its prefix.
  if is_root; then chown -R nobody: "$prefix"; fi
  log "starting nginx on 127.0.0.1:$NGINX_PORT (as $user, prefix $prefix)"
  local run=()
  if is_root; then run=(runuser -u nobody --); fi
  "${run[@]}" nginx -t -q -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf"
  start_process nginx "${run[@]}" nginx -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf" \
    -g "daemon off;"
}

start_all() {
  [ -x "$VENV/bin/gunicorn" ] && command -v nginx >/dev/null || "$ROOT/scripts/dev.sh" setup
  choose_ports
  mkdir -p "$RUN" "$LOGS"
  make_reachable "$SCALE"
  if is_root; then chmod 755 "$SCALE"; fi
  start_primary
  app_environment
  start_replica
  prepare_database
  start_app app1 "$APP1_PORT"
  start_app app2 "$APP2_PORT"
  start_process worker env "${APP_ENV[@]}" "$VENV/bin/flask" --app apoa jobs worker
  start_process scheduler env "${APP_ENV[@]}" "$VENV/bin/flask" --app apoa jobs scheduler
  wait_for_http "$APP1_PORT" app1
  wait_for_http "$APP2_PORT" app2
  start_nginx
  wait_for_http "$NGINX_PORT" nginx
}

stop_all() {
  [ -f "$PORTS" ] || return 0
  stop_processes nginx app1 app2 worker scheduler
  stop_cluster replica
  stop_cluster primary
}

status() {
  [ -f "$PORTS" ] && cat "$PORTS"
  for name in nginx app1 app2 worker scheduler; do
    if running "$name"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: stopped"; fi
  done
  for name in primary replica; do
    if cluster_running "$name"; then echo "postgres $name: running"; else echo "postgres $name: stopped"; fi
  done
}

announce() {
  log "serving on http://127.0.0.1:$NGINX_PORT (nginx → 127.0.0.1:$APP1_PORT, 127.0.0.1:$APP2_PORT)"
  log "PostgreSQL primary 127.0.0.1:$PRIMARY_PORT, replica 127.0.0.1:$REPLICA_PORT; Redis $(sed -n 's/^APOA_REDIS_URL=//p' "$SCALE/app.env")"
  log "logs in $LOGS; the app's settings in $SCALE/app.env"
  if [ -s "$SCALE/accounts.txt" ]; then sed -n '/^demo data:/,$p' "$SCALE/accounts.txt" | sed 's/^/[scale] /' >&2; fi
  log "Ctrl-C stops everything (or \`scripts/scale-demo.sh stop\` from another terminal)"
}

run_foreground() {
  trap 'stop_all' EXIT
  trap 'exit 130' INT TERM
  start_all
  announce
  # Until Ctrl-C, or until nginx ends.
  while running nginx; do sleep 1; done
  log "nginx has stopped: see $SCALE/nginx/error.log"
}

# Start one app instance again (after killing it, say).
start_instance() {
  local name=$1 port
  choose_ports
  load_app_env
  case "$name" in
    app1) port=$APP1_PORT ;;
    app2) port=$APP2_PORT ;;
    *) echo "usage: $0 app app1|app2" >&2; exit 2 ;;
  esac
  start_app "$name" "$port"
  wait_for_http "$port" "$name"
}

case "${1:-run}" in
  run) run_foreground ;;
  start) start_all; cat "$PORTS" ;;
  stop) stop_all ;;
  status) status ;;
  app) start_instance "${2:-}" ;;
  stop-replica) choose_ports; stop_cluster replica ;;
  start-replica) choose_ports; mkdir -p "$LOGS"; start_cluster replica "$REPLICA_PORT" "$PG_REPLICA"; wait_for_streaming ;;
  reset) stop_all; rm -rf "$SCALE"; log "removed $SCALE" ;;
  *) echo "usage: $0 run | start | stop | status | reset | app app1|app2 | stop-replica | start-replica" >&2
     exit 2 ;;
esac
