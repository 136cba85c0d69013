#!/usr/bin/env bash
# One command from a fresh machine to the running face studio: installs, builds the page, exports the shipped model's
# generator for the browser (when it has no export of its current weights, e.g. on a fresh clone or after a new model
# was pulled; the page then paints without the server), and serves it at http://127.0.0.1:8000 (extra arguments go
# to `dcgan serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh photo,web
current='import sys; from dcgan.web_export import web_export_info; sys.exit(web_export_info("models/celeba64") is None)'
.venv/bin/python -c "$current" || .venv/bin/dcgan export-web models/celeba64
exec .venv/bin/dcgan serve "$@"
