#!/usr/bin/env bash
# Install what PCRM and its tests need, skipping what is already there. Runs as root on Debian
# (CI has no stdin). apt for the servers and the browser; a venv from the lock; npm for NHS.UK assets.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
APT_PKGS="curl postgresql postgresql-contrib redis-server chromium chromium-driver fonts-liberation nodejs npm"
missing=""
for p in $APT_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
# nodejs/npm may come from outside apt (the image ships its own); only insist on them if absent.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=$(echo "$missing" | sed -e 's/ nodejs//' -e 's/ npm//')
fi
if [ -n "${missing// /}" ]; then
  echo "bootstrap: apt-get install$missing"
  apt-get update -q
  apt-get install -y -q --no-install-recommends $missing </dev/null
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# The lock is the full resolved set: reproducible installs. Skip pip when it is already satisfied.
if ! cmp -s requirements.lock.txt .venv/.installed-lock 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.lock.txt 2>&1 | grep -v "Location 'file" || true
  .venv/bin/pip check >/dev/null
  cp requirements.lock.txt .venv/.installed-lock
fi
if ! cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p .run staticfiles
