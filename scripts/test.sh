#!/usr/bin/env bash
# Run the whole suite against the real services, then stop what `make services` started.
set -uo pipefail
cd "$(dirname "$0")/.."
# Tests seed the demo world and start the harness from the devtools app.
export PCRM_DEVTOOLS="${PCRM_DEVTOOLS:-1}"
trap 'scripts/services.sh stop' EXIT
SECONDS=0
.venv/bin/python manage.py check --fail-level WARNING || exit 1
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null || { echo "missing migrations" >&2; exit 1; }
.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . >/dev/null || { echo "ruff format would change files: run make format" >&2; exit 1; }
# The import-linter contracts in pyproject.toml: which app and which layer may import which.
contracts=$(.venv/bin/lint-imports --no-cache 2>&1) || { echo "$contracts" >&2; exit 1; }
.venv/bin/pytest -p no:cacheprovider "$@"
status=$?
echo "tests finished in ${SECONDS}s with status $status"
exit $status
