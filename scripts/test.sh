#!/usr/bin/env bash
# Run the whole suite against the real services, then stop what `make services` started.
set -uo pipefail
cd "$(dirname "$0")/.."
trap 'scripts/services.sh stop' EXIT
SECONDS=0
.venv/bin/python manage.py check --fail-level WARNING || exit 1
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null || { echo "missing migrations" >&2; exit 1; }
.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . >/dev/null || { echo "ruff format would change files: run make format" >&2; exit 1; }
.venv/bin/pytest -p no:cacheprovider "$@"
status=$?
echo "tests finished in ${SECONDS}s with status $status"
exit $status
