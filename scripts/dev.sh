#!/usr/bin/env bash
# Set-up shared by `make run` and `make test`: system packages, venv, private services, and what
# `make run` serves (gunicorn, the job worker and scheduler, a local mail sink).
# Every step is idempotent and quick when there is nothing to do.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
INSTANCE=${APOA_INSTANCE_DIR:-$ROOT/instance}
VENV=${APOA_VENV:-$ROOT/.venv}
PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT_FILE="$INSTANCE/pg/port"
REDIS_PORT_FILE="$INSTANCE/redis/port"
SMTP_PORT_FILE="$INSTANCE/smtp/port"
RUN_DIR="$INSTANCE/run"   # pid files of what `make run` starts
LOG_DIR="$INSTANCE/log"
# The cluster keeps every commit: a report whose receipt was shown survives a crash of PostgreSQL
# or of the machine. Test databases trade this for speed per database (tests/conftest.py).
PG_DURABLE="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
# libpango*/libharfbuzz-subset0: WeasyPrint renders the monthly report's PDF with them.
# nginx-light: the load balancer of the scale-out demo (scripts/scale-demo.sh), run unprivileged.
DEB_PACKAGES="postgresql-15 postgresql-15-postgis-3 redis-server chromium nodejs npm libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core nginx-light"

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
    local options="-p $PG_PORT -k $sock -c listen_addresses=127.0.0.1 -c max_connections=200"
    pg_run "$PG_BIN/pg_ctl" -D "$data" -l "$INSTANCE/pg/postgres.log" -w -t 60 start \
      -o "$options -c shared_buffers=512MB $PG_DURABLE" >/dev/null
  fi
}

pg_psql() {
  local dbname=$1; shift
  "$PG_BIN/psql" -h 127.0.0.1 -p "$(cat "$PG_PORT_FILE")" -U postgres -Atq "$@" "$dbname"
}

postgres_is_durable() {
  local query="SELECT concat_ws(',', current_setting('fsync'), current_setting('synchronous_commit'),
    current_setting('full_page_writes'))"
  [ "$(pg_psql "$1" -c "$query")" = "on,on,on" ]
}

# A cluster started by an earlier version of this script runs with fsync=off: restart it with the
# durable settings (this ends the sessions open on it), and undo a per-database speed setting.
make_postgres_durable() {
  local dbname=$1
  postgres_is_durable "$dbname" && return 0
  log "PostgreSQL is not durable (fsync, synchronous_commit, full_page_writes): restarting it"
  pg_psql "$dbname" -c "ALTER DATABASE \"$dbname\" RESET synchronous_commit"
  stop_postgres
  start_postgres
  if ! postgres_is_durable "$dbname"; then
    log "PostgreSQL is still not durable: see $INSTANCE/pg/data/postgresql*.conf"; exit 1
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

# Prints `export` lines for the services in use, so the Makefile can `eval` them, and writes the
# same addresses to instance/.env, which the app reads for variables that are not set (so
# `flask --app apoa ...` works in any shell). `--durable`: also restart a cluster found running
# with fsync off (`make setup`/`make run`; a test run leaves the cluster as it finds it).
services() {
  local dbname=$1 durable=${2:-} addresses=()
  if [ -z "${APOA_DATABASE_URL:-}" ]; then
    start_postgres
    ensure_database "$dbname"
    if [ "$durable" = --durable ]; then make_postgres_durable "$dbname"; fi
    addresses+=("APOA_DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$dbname")
  fi
  if [ -z "${APOA_REDIS_URL:-}" ]; then
    start_redis
    addresses+=("APOA_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0")
  fi
  for line in "${addresses[@]}"; do echo "export $line"; done
  write_env_file "${addresses[@]}" "APOA_SMTP_HOST=127.0.0.1" \
    "APOA_SMTP_PORT=$(instance_port "$SMTP_PORT_FILE" 2525)"
}

write_env_file() {
  local file="$INSTANCE/.env"
  mkdir -p "$INSTANCE"
  {
    echo "# Written by scripts/dev.sh: the private services of this checkout (the mail sink is the"
    echo "# one \`make run\` starts). Variables set in the environment win over these."
    printf '%s\n' "$@"
  } > "$file.tmp"
  mv "$file.tmp" "$file"
}

# --- what `make run` serves ---------------------------------------------------------------------

# The pid file names a live process of ours (not a number the system has since given to another).
running() {
  local pid
  pid=$(cat "$RUN_DIR/$1.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$VENV/bin/"
}

# NAME COMMAND...: in a session of its own, so Ctrl-C on the terminal reaches gunicorn only and
# this script stops the rest by pid file; output to instance/log/NAME.log.
start_background() {
  local name=$1; shift
  if running "$name"; then log "$name is already running"; return 0; fi
  log "starting $name (log: $LOG_DIR/$name.log)"
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$RUN_DIR/$name.pid" "$@" \
    >> "$LOG_DIR/$name.log" 2>&1 < /dev/null &
  for _ in $(seq 50); do [ -s "$RUN_DIR/$name.pid" ] && break; sleep 0.1; done
}

stop_background() {
  local name=$1 pid
  running "$name" || { rm -f "$RUN_DIR/$name.pid"; return 0; }
  pid=$(cat "$RUN_DIR/$name.pid")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # gunicorn lets running requests finish (graceful_timeout 20 s), the worker its current job.
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid" 2>/dev/null || true; }
  rm -f "$RUN_DIR/$name.pid"
}

stop_app() {
  for name in gunicorn scheduler worker sink fakegraph; do stop_background "$name"; done
}

# A helper that failed at start (a missing setting, Redis refused) should not go unnoticed beside
# gunicorn's log: say so on the terminal.
report_early_exits() {
  sleep 8
  for name in sink fakegraph worker scheduler; do
    running "$name" || log "$name has stopped: see $LOG_DIR/$name.log"
  done
}

# gunicorn in the foreground (its log on the terminal); the worker, the scheduler, the mail sink
# and the fake WhatsApp Graph API in the background. Ctrl-C or gunicorn's end stops those too;
# PostgreSQL and Redis keep running for the next `make run` or `make test` (`make stop` ends
# everything).
serve() {
  local host=$1 port=$2 graph_port_file="$INSTANCE/whatsapp-fake/port"
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$INSTANCE/mail" "$INSTANCE/whatsapp-fake"
  if running gunicorn; then
    log "already serving (gunicorn pid $(cat "$RUN_DIR/gunicorn.pid")): make stop first"; exit 1
  fi
  # Mail of `make run` goes to the local sink, never to a real server: the demo users are fictional.
  while read -r name; do unset "$name"; done < <(compgen -e | grep '^APOA_SMTP_' || true)
  export APOA_SMTP_HOST=127.0.0.1 APOA_SMTP_PORT
  # Links in mails and WhatsApp replies point at what is served here, unless told otherwise.
  export APOA_BASE_URL="${APOA_BASE_URL:-http://$host:$port}"
  APOA_SMTP_PORT=$(instance_port "$SMTP_PORT_FILE" 2525)
  # Likewise WhatsApp goes to the local fake, never to Meta: the app and the fake share the
  # development stand-ins of apoa/config.py (DEV_WHATSAPP), exported so no .env can differ.
  local dev_whatsapp
  dev_whatsapp=$("$VENV/bin/python" -c 'import shlex; from apoa.config import DEV_WHATSAPP as dev
print("\n".join(f"export {name}={shlex.quote(value)}" for name, value in dev.items()))')
  eval "$dev_whatsapp"
  export APOA_WHATSAPP_GRAPH_URL
  APOA_WHATSAPP_GRAPH_URL="http://127.0.0.1:$(instance_port "$graph_port_file" 8790)"
  trap 'kill "${WATCHER:-}" 2>/dev/null || true; stop_app' EXIT
  trap 'exit 130' INT TERM
  start_background sink "$VENV/bin/python" -m apoa.notifications.sink --host 127.0.0.1 \
    --port "$APOA_SMTP_PORT" --maildir "$INSTANCE/mail"
  start_background fakegraph "$VENV/bin/python" -m apoa.whatsapp.fake_graph --host 127.0.0.1 \
    --port "$(cat "$graph_port_file")" --data "$INSTANCE/whatsapp-fake" \
    --token "$APOA_WHATSAPP_TOKEN" --phone-number-id "$APOA_WHATSAPP_PHONE_NUMBER_ID" \
    --webhook "http://$host:$port/whatsapp/webhook" --app-secret "$APOA_WHATSAPP_APP_SECRET"
  start_background worker "$VENV/bin/flask" --app apoa jobs worker
  start_background scheduler "$VENV/bin/flask" --app apoa jobs scheduler
  report_early_exits & WATCHER=$!
  log "serving on http://$host:$port (gunicorn); mail lands in $INSTANCE/mail"
  log "WhatsApp messages go to the fake Graph API on $APOA_WHATSAPP_GRAPH_URL"
  log "Ctrl-C stops gunicorn, worker, scheduler, mail sink and fake Graph API;"
  log "\`make stop\` also PostgreSQL and Redis"
  "$VENV/bin/gunicorn" -c "$ROOT/deploy/gunicorn.conf.py" --bind "$host:$port" \
    --pid "$RUN_DIR/gunicorn.pid" apoa.wsgi:app
}

case "${1:-}" in
  setup) install_debs; install_python; install_assets; compile_translations ;;
  services) services "${2:-apoa}" "${3:-}" ;;
  serve) serve "${2:-127.0.0.1}" "${3:-5000}" ;;
  stop) stop_app; stop_postgres; stop_redis ;;
  *) echo "usage: $0 setup | services DBNAME [--durable] | serve HOST PORT | stop" >&2; exit 2 ;;
esac
