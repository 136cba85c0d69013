#!/usr/bin/env bash
# The face model's data: the 27,576 CelebA faces of the usual DCGAN framing in ../shared/datasets (ids 1-10,000 of
# celeba64.tar and all of celeba64-extra.tar; the test-partition faces of celeba64.tar are framed wider and left
# out), split 86/4/10 by person (CelebA's identity file), so no person is in two splits.
# Usage: scripts/celeba_usual64.sh [SHARED_DATASETS_DIR] [OUT]   (default ../shared/datasets, data/celeba-usual64)
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${1:-../shared/datasets}"
out="${2:-data/celeba-usual64}"
raw=data/raw/celeba-usual
if [ ! -f "$raw.complete" ]; then
  rm -rf "$raw" && mkdir -p "$raw"
  tar -xf "$shared/faces64/celeba64-extra.tar" -C "$raw" --strip-components=1
  tar -xf "$shared/faces64/celeba64.tar" -C "$raw" --strip-components=1 --wildcards 'celeba64/00[0-9][0-9][0-9][0-9].jpg' 'celeba64/010000.jpg'
  touch "$raw.complete"
fi
.venv/bin/dcgan prepare "$raw" --out "$out" --size 64 --crop none --split 0.86,0.04,0.10 \
  --identities "$shared/labels/list_identity_celeba.txt"
