#!/usr/bin/env bash
# Set-up shared by `make run` and `make test`: system packages, venv, private services.
# Every step is idempotent and quick when there is nothing to do.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
INSTANCE=${APOA_INSTANCE_DIR:-$ROOT/instance}
VENV=${APOA_VENV:-$ROOT/.venv}
PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT_FILE="$INSTANCE/pg/port"
REDIS_PORT_FILE="$INSTANCE/redis/port"
# libpango*/libharfbuzz-subset0: WeasyPrint renders the monthly report's PDF with them.
DEB_PACKAGES="postgresql-15 postgresql-15-postgis-3 redis-server chromium nodejs npm libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"

log() { echo "[apoa] $*" >&2; }

port_in_use() { (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Each checkout keeps the port it chose the first time, so two checkouts on one machine never
# share (or fight over) a database or a Redis.
instance_port() {
  local file=$1 port=$2
  if [ -f "$file" ]; then cat "$file"; return; fi
  while port_in_use "$port"; do port=$((port + 1)); done
  mkdir -p "$(dirname "$file")"
  echo "$port" > "$file"
  echo "$port"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing_debs() {
  local missing=""
  for pkg in $DEB_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
  done
  # node/npm may come from elsewhere (nvm, the image); only ask apt when they are absent.
  for tool in nodejs npm; do
    if command -v "${tool/nodejs/node}" >/dev/null 2>&1; then missing=${missing/ $tool/}; fi
  done
  echo "$missing"
}

install_debs() {
  local missing
  missing=$(missing_debs)
  [ -z "$missing" ] && return 0
  log "installing Debian packages:$missing"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

install_python() {
  local stamp="$VENV/.installed"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv in $VENV"
    python3 -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ "$ROOT/constraints.txt" -nt "$stamp" ] || [ "$ROOT/setup.cfg" -nt "$stamp" ]; then
    log "installing pinned Python packages"
    "$VENV/bin/pip" install -q --disable-pip-version-check -c "$ROOT/constraints.txt" -e "$ROOT[test]"
    touch "$stamp"
  fi
}

install_assets() {
  # Front-end libraries come from the npm registry at pinned versions and are served by the app.
  local stamp="$ROOT/node_modules/.installed"
  if [ ! -f "$stamp" ] || [ "$ROOT/package-lock.json" -nt "$stamp" ]; then
    log "installing pinned front-end assets (npm ci)"
    (cd "$ROOT" && npm ci --silent --no-audit --no-fund >/dev/null)
    touch "$stamp"
  fi
}

compile_translations() {
  "$VENV/bin/pybabel" compile -q -d "$ROOT/apoa/translations" 2>/dev/null || "$VENV/bin/pybabel" compile -d "$ROOT/apoa/translations"
}

# --- private PostgreSQL cluster (only when APOA_DATABASE_URL is unset) -------------------------

pg_run() {
  # initdb refuses to run as root, so the cluster belongs to the postgres user.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_postgres_can_reach() {
  # The postgres user must traverse every parent folder of the data directory.
  local dir=$1
  while [ "$dir" != "/" ]; do
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir"; then
      log "granting traverse permission on $dir to reach the database folder"
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
}

start_postgres() {
  local data="$INSTANCE/pg/data" sock="$INSTANCE/pg/run"
  mkdir -p "$INSTANCE/pg"
  if pg_run "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    sed -n 4p "$data/postmaster.pid" > "$PG_PORT_FILE"  # the port a running cluster listens on
  fi
  PG_PORT=$(instance_port "$PG_PORT_FILE" 54329)
  if [ "$(id -u)" = 0 ]; then chown postgres: "$INSTANCE/pg"; fi
  ensure_postgres_can_reach "$INSTANCE/pg"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating a private PostgreSQL cluster in $data"
    pg_run mkdir -p "$data" "$sock"
    pg_run "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  pg_run mkdir -p "$sock"
  if ! pg_run "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    pg_run "$PG_BIN/pg_ctl" -D "$data" -l "$INSTANCE/pg/postgres.log" -w -t 60 start \
      -o "-p $PG_PORT -k $sock -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB -c fsync=off -c synchronous_commit=off" >/dev/null
  fi
}

ensure_database() {
  local name=$1
  PG_PORT=$(cat "$PG_PORT_FILE")
  if ! "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atqc "select 1 from pg_database where datname='$name'" postgres | grep -q 1; then
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$name"
  fi
}

stop_postgres() {
  local data="$INSTANCE/pg/data"
  [ -f "$data/PG_VERSION" ] && pg_run "$PG_BIN/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
}

# --- private Redis (only when APOA_REDIS_URL is unset) ----------------------------------------

our_redis_running() {
  local pid
  pid=$(cat "$INSTANCE/redis/redis.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1
}

start_redis() {
  mkdir -p "$INSTANCE/redis"
  REDIS_PORT=$(instance_port "$REDIS_PORT_FILE" 63799)
  if ! our_redis_running; then
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir "$INSTANCE/redis" --pidfile "$INSTANCE/redis/redis.pid" --logfile "$INSTANCE/redis/redis.log"
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
}

stop_redis() {
  [ -f "$REDIS_PORT_FILE" ] || return 0
  REDIS_PORT=$(cat "$REDIS_PORT_FILE")
  our_redis_running && redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

# Prints `export` lines for the services in use, so the Makefile can `eval` them.
services() {
  local dbname=$1
  if [ -z "${APOA_DATABASE_URL:-}" ]; then
    start_postgres
    ensure_database "$dbname"
    echo "export APOA_DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$dbname"
  fi
  if [ -z "${APOA_REDIS_URL:-}" ]; then
    start_redis
    echo "export APOA_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  fi
}

case "${1:-}" in
  setup) install_debs; install_python; install_assets; compile_translations ;;
  services) services "${2:-apoa}" ;;
  stop) stop_postgres; stop_redis ;;
  *) echo "usage: $0 setup | services DBNAME | stop" >&2; exit 2 ;;
esac
