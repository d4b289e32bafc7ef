#!/usr/bin/env bash
# start|stop|status the servers PCRM needs, without systemd: PostgreSQL (Debian's cluster), Redis and
# the MESH sandbox. `stop` stops only what `start` started (marker files in .run/).
set -euo pipefail
cd "$(dirname "$0")/.."
PGVER="${PGVER:-15}"
DB="${POSTGRES_DB:-pcrm}" DB_USER="${POSTGRES_USER:-pcrm}" DB_PASS="${POSTGRES_PASSWORD:-pcrm}"
REDIS_PORT="${REDIS_PORT:-6379}"
MESH_PORT="${MESH_PORT:-8700}"
RUN="$PWD/.run"; mkdir -p "$RUN"
as_pg() { runuser -u postgres -- "$@"; }

start_postgres() {
  pg_lsclusters -h | grep -q "^$PGVER main " || pg_createcluster "$PGVER" main >/dev/null
  if ! pg_ctlcluster "$PGVER" main status >/dev/null 2>&1; then
    pg_ctlcluster "$PGVER" main start
    touch "$RUN/pg.started-by-us"
  fi
  q() { as_pg psql -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
  [ "$(q "SELECT 1 FROM pg_roles WHERE rolname='$DB_USER'")" = 1 ] \
    || q "CREATE ROLE \"$DB_USER\" LOGIN CREATEDB PASSWORD '$DB_PASS'"
  [ "$(q "SELECT 1 FROM pg_database WHERE datname='$DB'")" = 1 ] || as_pg createdb -O "$DB_USER" "$DB"
  echo "postgres: up ($DB)"
}

start_redis() {
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
      --dir "$RUN" --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log"
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "redis: $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping)"
}

mesh_up() { curl -sf "http://127.0.0.1:$MESH_PORT/health" >/dev/null 2>&1; }

start_mesh() {
  if ! mesh_up; then
    AUTH_MODE=full SHARED_KEY="${MESH_SHARED_KEY:-PCRMLocalKey}" STORE_MODE=memory \
    MESH_SANDBOX_DATA_DIR="$RUN/mesh" PYTHONWARNINGS=ignore::UserWarning \
      nohup .venv/bin/uvicorn mesh_sandbox_app:app --app-dir scripts --host 127.0.0.1 --port "$MESH_PORT" \
      --workers 1 --log-level warning >"$RUN/mesh.log" 2>&1 &
    echo $! >"$RUN/mesh.pid"
    for _ in $(seq 100); do mesh_up && break; sleep 0.1; done
    mesh_up || { echo "mesh-sandbox did not start; see $RUN/mesh.log" >&2; exit 1; }
    # The sandbox builds its store lazily and can lose messages if the first requests race:
    # one authenticated call warms it up before anything else talks to it.
    .venv/bin/python - <<PY
from mesh_client import MeshClient
with MeshClient("http://127.0.0.1:$MESH_PORT", "${MESH_MAILBOX:-PCRMHUB01}", "${MESH_PASSWORD:-password}",
                shared_key=b"${MESH_SHARED_KEY:-PCRMLocalKey}") as c:
    c.handshake()
PY
  fi
  echo "mesh-sandbox: up on :$MESH_PORT"
}

stop_pidfile() {
  local f="$RUN/$1.pid"
  if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; fi
}

case "${1:-}" in
start) start_postgres; start_redis; start_mesh ;;
stop)
  stop_pidfile mesh
  stop_pidfile redis
  if [ -f "$RUN/pg.started-by-us" ]; then pg_ctlcluster "$PGVER" main stop -m fast || true; rm -f "$RUN/pg.started-by-us"; fi
  echo "services: stopped what we started"
  ;;
status)
  pg_ctlcluster "$PGVER" main status >/dev/null 2>&1 && echo "postgres: up" || echo "postgres: down"
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && echo "redis: up" || echo "redis: down"
  mesh_up && echo "mesh-sandbox: up" || echo "mesh-sandbox: down"
  ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
