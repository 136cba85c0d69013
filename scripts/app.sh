#!/usr/bin/env bash
# One command from a fresh machine to the running face studio: installs, builds the page, exports the shipped model's
# generator for the browser (once; the page then paints without the server), and serves it at http://127.0.0.1:8000
# (extra arguments go to `dcgan serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh photo,web
[ -f models/celeba64/web/web.json ] || .venv/bin/dcgan export-web models/celeba64
exec .venv/bin/dcgan serve "$@"
