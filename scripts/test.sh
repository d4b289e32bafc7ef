#!/usr/bin/env bash
# Run the whole suite against the real services, then stop what `make services` started.
set -uo pipefail
cd "$(dirname "$0")/.."
# Tests seed the demo world and start the harness from the devtools app.
export PCRM_DEVTOOLS="${PCRM_DEVTOOLS:-1}"
# Hypothesis derandomised (tests/conftest.py): the same examples every run, as in CI.
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
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
# The date-sensitive tests (mark `dates`) again with the clock moved (tests/conftest.py, PCRM_TEST_NOW):
# the first working Monday of 2027, the BST change of 28 March 2027 (clocks go forward at 01:00 UTC;
# the run starts just before it), New Year's Eve and a quarter end. Override with PCRM_TEST_DATES
# (space-separated ISO times; empty skips). Only in-process tests run shifted: worker processes, the
# MESH sandbox, PostgreSQL and the browser keep the real clock.
dates=${PCRM_TEST_DATES-2027-01-04T09:00 2027-03-28T00:59:30+00:00 2027-12-31T16:30 2027-09-30T17:45}
if [ $status -eq 0 ] && [ $# -eq 0 ]; then
  for when in $dates; do
    echo "== date-sensitive tests with the clock at $when"
    PCRM_TEST_NOW=$when .venv/bin/pytest -p no:cacheprovider -q -m dates --reuse-db || { status=$?; break; }
  done
fi
echo "tests finished in ${SECONDS}s with status $status"
exit $status
