#!/usr/bin/env bash
# Install what the project needs into .venv (Python) and web/node_modules (page), and build the page.
# Idempotent: a second run only checks. Usage: scripts/setup.sh [pip extras, e.g. test,datasets]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${extras//,/_}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q -e "$spec"
  touch "$stamp"
fi
if [ -f web/package.json ]; then
  web_stamp="web/node_modules/.installed-$(sha256sum web/package-lock.json | cut -c1-16)"
  if [ ! -f "$web_stamp" ]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    touch "$web_stamp"
  fi
  newest_source=$(find web/src web/index.html web/vite.config.ts web/package.json -newer web/dist/index.html 2>/dev/null | head -1 || true)
  if [ ! -f web/dist/index.html ] || [ -n "$newest_source" ]; then
    (cd web && npm run build --silent)
  fi
fi
