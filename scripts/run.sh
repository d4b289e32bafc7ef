#!/usr/bin/env bash
# Serve the back office with a Celery worker and beat draining MESH. Ctrl-C stops everything,
# including the services `make services` started for this run.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=.run; mkdir -p "$RUN"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/services.sh stop
}
trap cleanup EXIT INT TERM
.venv/bin/celery -A pcrm_site worker --pool=prefork --concurrency=2 --loglevel=INFO --logfile="$RUN/worker.log" &
pids+=($!)
.venv/bin/celery -A pcrm_site beat --loglevel=INFO --schedule="$RUN/celerybeat-schedule" --logfile="$RUN/beat.log" &
pids+=($!)
echo "PCRM: http://${ADDR:-127.0.0.1:8000}  (worker log $RUN/worker.log, beat log $RUN/beat.log; Ctrl-C stops all)"
# --noreload: one process, so Ctrl-C (or TERM) stops it for certain; restart to pick up code changes.
.venv/bin/python manage.py runserver --noreload "${ADDR:-127.0.0.1:8000}" &
pids+=($!)
wait "${pids[-1]}"
