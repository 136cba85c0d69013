"""Does keeping the samples the discriminator finds most real make better faces? FID by the share kept.

    python benchmarks/discriminator_ranking.py --model models/celeba64 --data data/celeba-usual64/val

Draws `--pool` z from the bundle's prior (ψ = 1), ranks their faces by D's logit (the bundle's
`discriminator.npz`, or `--discriminator`, in inference mode) and scores, for each share in `--keep`, the first
`--samples` faces (in z order) of the kept top share, or of the bottom share for a negative value: a rejection
sampler in the manner of discriminator rejection sampling (Azadi et al. 2019) without its acceptance curve.
Every row is scored on features of the same pool (`--extractor`, against `--data`), so rows differ only in
which faces are kept; share 1 is the plain sampler on the first `--samples` z.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import dcgan  # noqa: F401  (sets TensorFlow's oneDNN / logging defaults before TF loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/celeba64"), help="the model bundle")
    parser.add_argument("--data", type=Path, required=True, help="prepared real split to score against")
    parser.add_argument("--discriminator", type=Path, help="D's weights (default: the bundle's discriminator.npz)")
    parser.add_argument("--pool", type=int, default=5000, help="z drawn and ranked (default 5000)")
    parser.add_argument("--samples", type=int, default=2000, help="faces scored a row (default 2000)")
    parser.add_argument("--keep", default="1,0.8,0.6,0.4,-0.8,-0.6", help="shares kept; negative: the lowest")
    parser.add_argument("--z-seed", type=int, default=123)
    parser.add_argument("--extractor", default="inception-fid", help="feature extractor (default inception-fid)")
    args = parser.parse_args()
    keeps = [float(k) for k in args.keep.split(",")]
    if any(not 0 < abs(k) <= 1 or abs(k) * args.pool < args.samples for k in keeps):
        parser.error(f"every |share| must be in (0, 1] and keep at least --samples of the {args.pool} z")

    import numpy as np

    from dcgan.bundle import DISCRIMINATOR_FILE, assign_variables, load_generator
    from dcgan.evaluation import evaluate_features, get_extractor, reference_stats
    from dcgan.model import build_discriminator

    model = load_generator(args.model)
    discriminator = build_discriminator(model.config)
    assign_variables(args.discriminator or args.model / DISCRIMINATOR_FILE, discriminator.variables)
    extractor = get_extractor(args.extractor)
    reference = reference_stats(args.data, extractor)
    z = model.sample_z(args.pool, seed=args.z_seed, truncation=1.0)
    logits, features = [], []
    for start in range(0, args.pool, 50):
        images = model.generate(z[start : start + 50])
        logits.append(np.asarray(discriminator(images.astype(np.float32) / 127.5 - 1.0, training=False)).ravel())
        features.append(extractor(images))
    logits, features = np.concatenate(logits), np.concatenate(features)
    order = np.argsort(-logits)
    print(f"D's logit over {args.pool} faces: mean {logits.mean():.3f}, sd {logits.std():.3f}")
    print(f"{'kept':>12}  {'FID':>6}  {'KID×10³':>8}  {'precision':>9}  {'recall':>6}")
    for keep in keeps:
        count = int(abs(keep) * args.pool)
        chosen = np.sort(order[:count] if keep > 0 else order[::-1][:count])[: args.samples]
        result = evaluate_features(features[chosen], reference, extractor)
        what = f"{'top' if keep > 0 else 'bottom'} {abs(keep):.0%}"
        print(
            f"{what:>12}  {result['fid']:>6.2f}  {result['kid_mean'] * 1e3:>8.2f}  {result['precision']:>9.3f}  "
            f"{result['recall']:>6.3f}"
        )
    print(f"{args.samples} faces a row vs {reference.count} images of {args.data}; {args.extractor}, P/R k = 3")


if __name__ == "__main__":
    main()
