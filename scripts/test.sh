#!/usr/bin/env bash
# One command from a fresh machine to the full test suite: lint, page unit tests and build,
# Python tests (unit, API, training, browser end-to-end with Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  else
    echo "warning: chromium missing and not root; browser tests will be skipped" >&2
  fi
fi
scripts/setup.sh test,datasets,eval,tune,controls,photo,crawl,web
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check .
if [ -f web/package.json ]; then
  (cd web && npm test --silent)
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
