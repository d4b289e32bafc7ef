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
# "Sign in with CIS2 (local)": a real OpenID Connect provider (oidc-provider) with the demo staff, unless
# CIS2_ISSUER points PCRM at another CIS2 environment.
CIS2_LOCAL="http://127.0.0.1:${CIS2_LOCAL_PORT:-8710}"
if [ -z "${CIS2_ISSUER:-}" ] || [ "${CIS2_ISSUER}" = "$CIS2_LOCAL" ]; then
  export CIS2_ISSUER="$CIS2_LOCAL"
  addr="${ADDR:-127.0.0.1:8000}"
  redirects="http://127.0.0.1:${addr##*:}/accounts/cis2/callback/,http://localhost:${addr##*:}/accounts/cis2/callback/"
  case "$redirects" in *"http://$addr/"*) ;; *) redirects="$redirects,http://$addr/accounts/cis2/callback/" ;; esac
  CIS2_LOCAL_PORT="${CIS2_LOCAL_PORT:-8710}" CIS2_LOCAL_REDIRECT_URIS="$redirects" CIS2_LOCAL_CLIENT_KEY="${CIS2_CLIENT_KEY_FILE:-$PWD/$RUN/cis2-client-key.pem}" \
    node scripts/cis2-local/provider.mjs >"$RUN/cis2-local.log" 2>&1 &
  pids+=($!)
  echo "CIS2 (local): $CIS2_LOCAL  (demo staff in scripts/cis2-local/staff.json; log $RUN/cis2-local.log)"
fi
echo "PCRM: http://${ADDR:-127.0.0.1:8000}  (worker log $RUN/worker.log, beat log $RUN/beat.log; Ctrl-C stops all)"
# --noreload: one process, so Ctrl-C (or TERM) stops it for certain; restart to pick up code changes.
.venv/bin/python manage.py runserver --noreload "${ADDR:-127.0.0.1:8000}" &
pids+=($!)
wait "${pids[-1]}"
