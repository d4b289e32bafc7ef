#!/usr/bin/env bash
# Run PCRM as production does (`make prod`): gunicorn with DEBUG=0, static files from whitenoise's
# manifest storage, one Celery worker and one beat as separate processes, JSON logs, settings and
# secrets from the environment (see docs/deployment.md and .env.example).
#
#   scripts/prod.sh            web + worker + beat on this machine (Ctrl-C or TERM stops all three)
#   scripts/prod.sh web        only gunicorn   (as many machines as needed)
#   scripts/prod.sh worker     only a worker   (as many machines as needed)
#   scripts/prod.sh beat       only the beat   (exactly one in the whole deployment)
#   scripts/prod.sh release    checks, collectstatic and migrations, once per release
#
# Each process writes JSON lines to stdout; with several processes here they go to $PCRM_LOG_DIR/<name>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
export PCRM_MODE=production DEBUG=0
for name in DJANGO_SECRET_KEY POSTGRES_PASSWORD MESH_PASSWORD MESH_SHARED_KEY ALLOWED_HOSTS; do
  if [ -z "${!name:-}" ]; then echo "prod: $name must be set (see docs/deployment.md)" >&2; exit 2; fi
done
LOG_DIR=${PCRM_LOG_DIR:-.run/prod}
mkdir -p "$LOG_DIR"
PY=.venv/bin/python

release() {
  $PY manage.py check --deploy --fail-level WARNING
  $PY manage.py collectstatic --noinput -v 0
  $PY manage.py migrate --noinput -v 0
}
web() { PCRM_PROCESS=web exec .venv/bin/gunicorn pcrm_site.wsgi:application -c pcrm_site/gunicorn.conf.py; }
worker() {
  PCRM_PROCESS=worker exec .venv/bin/celery -A pcrm_site --quiet worker --loglevel=INFO \
    --concurrency="${WORKER_CONCURRENCY:-2}" -Q "${CELERY_TASK_DEFAULT_QUEUE:-celery}" -n "worker-$$@%h"
}
beat() {
  PCRM_PROCESS=beat exec .venv/bin/celery -A pcrm_site --quiet beat --loglevel=INFO \
    --schedule="${BEAT_SCHEDULE_FILE:-$LOG_DIR/celerybeat-schedule}" --pidfile=
}

case "${1:-all}" in
release) release ;;
web) web ;;
worker) worker ;;
beat) beat ;;
all)
  release
  pids=()
  stop() {
    trap - EXIT INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
  }
  trap stop EXIT INT TERM
  (worker) >>"$LOG_DIR/worker.log" 2>&1 &
  pids+=($!)
  (beat) >>"$LOG_DIR/beat.log" 2>&1 &
  pids+=($!)
  (web) >>"$LOG_DIR/web.log" 2>&1 &
  pids+=($!)
  echo "PCRM (production mode) on ${BIND:-127.0.0.1:8000}: logs in $LOG_DIR/{web,worker,beat}.log; Ctrl-C stops all"
  # If one of them ends the others go on, and /readyz names the missing part; Ctrl-C or TERM stops all.
  wait
  ;;
*) echo "usage: $0 [all|web|worker|beat|release]" >&2; exit 2 ;;
esac
