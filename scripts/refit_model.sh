#!/usr/bin/env bash
# Rebuild everything fitted to a bundle's generator, in one step, after its weights changed (a new shipped model):
# the default truncation ψ (`dcgan evaluate --truncation ... --set-default`: the ψ of lowest val FID, with its
# table, in model.json; skipped when model.json already has one), the named controls (`dcgan controls fit`), the
# photo encoder (`dcgan encoder train`), the browser export (`dcgan export-web`) and the card's pictures (`dcgan
# sample grid` and `directions`), with the shipped model's recipes. Each fitted part refuses to load until it is
# refitted: they name the generator's sha256. 22 minutes for stage 6 on a quiet 2-core CPU, 25–29 for stages 7, 8, 10–13
# on one without AMX (the truncation table and the encoder take most of it: a warm start from the bundle's previous encoder,
# 1,500 steps, or 5,000 from scratch when it has none); run again after a stop, the encoder resumes from its
# checkpoints (kept per generator).
# Usage: scripts/refit_model.sh [MODEL_DIR] [FACES]
#   MODEL_DIR default models/celeba64, with discriminator.npz; FACES default data/celeba-usual64, a cache with
#   train/ and val/ splits in the model's framing (built by scripts/celeba_usual64.sh when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-models/celeba64}"
faces="${2:-data/celeba-usual64}"
scripts/setup.sh controls,photo,web
[ -d "$faces/train" ] || scripts/celeba_usual64.sh ../shared/datasets "$faces"
dcgan=.venv/bin/dcgan
grep -q '"truncation"' "$model/model.json" ||
  $dcgan evaluate "$model" --data "$faces/val" --truncation 1,0.9,0.8,0.7,0.6 --samples 2000 --set-default
$dcgan controls fit "$model" --classifier models/attributes64 models/attributes64-s2 --real "$faces/val"
warm=()
[ -f "$model/encoder/encoder.json" ] && warm=(--init-encoder "$model" --steps 1500)
$dcgan encoder train "$model" --data "$faces/train" --val "$faces/val" --width 32 --resume "${warm[@]}" \
  --work "runs/encoder-$(basename "$model")-$(sha256sum "$model/generator.npz" | cut -c1-12)"
$dcgan export-web "$model"
$dcgan sample "$model" grid --grid-size 8 --z-seed 0 --out "$model/samples"
$dcgan sample "$model" directions --out "$model/samples"
