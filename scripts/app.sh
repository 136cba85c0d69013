#!/usr/bin/env bash
# One command from a fresh machine to the running face studio: installs, builds the page, serves the
# shipped face model at http://127.0.0.1:8000 (extra arguments go to `dcgan serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh photo
exec .venv/bin/dcgan serve "$@"
