"""Is the discriminator memorising the training images? D on train vs held-out real images vs fakes.

    python benchmarks/discriminator_overfit.py runs/celeba64 --train data/celeba64/train \
        --heldout data/celeba64/val --steps 7000,7500

For each checkpoint prints D's mean output (sigmoid, inference-mode BN) and the fraction judged real
(logit > 0) on `--n` train images, `--n` held-out images and `--n` samples of the plain generator, and
ADA's overfitting heuristic r_t = E[sign D(train)] = 2·fraction − 1 (Karras et al. 2020, whose ADA raises
augmentation while r_t > 0.6). An overfitting D rates train images clearly above held-out ones and
held-out ones drift toward the fakes; then data augmentation for D (`--augment`, DiffAugment) is the remedy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import dcgan  # noqa: F401  (sets TensorFlow's oneDNN / logging defaults before TF loads)


def d_outputs(discriminator, images, batch: int = 128):
    import numpy as np
    import tensorflow as tf

    logits = [
        discriminator(tf.cast(images[i : i + batch], tf.float32) / 127.5 - 1.0, training=False)
        for i in range(0, len(images), batch)
    ]
    return np.concatenate([np.asarray(x) for x in logits]).ravel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="run directory (config.json, checkpoints/)")
    parser.add_argument("--train", type=Path, required=True, help="the prepared split the run trained on")
    parser.add_argument("--heldout", type=Path, required=True, help="a prepared split it never saw")
    parser.add_argument("--steps", required=True, help="comma-separated checkpoint steps")
    parser.add_argument("--n", type=int, default=1000, help="images of each kind (default 1000)")
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from dcgan import checkpoint
    from dcgan.config import load
    from dcgan.data import Cache
    from dcgan.images import to_uint8
    from dcgan.model import DCGAN
    from dcgan.z import sample_z_stateless

    cfg = load(args.run / "config.json")
    gan = DCGAN(cfg)
    train = np.asarray(Cache.open(args.train).images[: args.n])
    heldout = np.asarray(Cache.open(args.heldout).images[: args.n])
    n = min(len(train), len(heldout))
    z = sample_z_stateless(cfg, n, tf.constant([cfg.seed, 12345], tf.int64))
    print(
        f"{'step':>7}  {'D(train)':>9} {'D(held)':>8} {'D(fake)':>8}   judged real: {'train':>6} {'held':>6} "
        f"{'fake':>6}   ADA r_t"
    )
    for step in (int(s) for s in args.steps.split(",")):
        path = checkpoint.checkpoint_path(args.run / "checkpoints", step)
        checkpoint.restore(path, gan.state_variables(), groups=("generator", "discriminator"))
        fakes = to_uint8(gan.generator(z, training=False))
        logits = [d_outputs(gan.discriminator, x) for x in (train[:n], heldout[:n], fakes)]
        means = [float(np.mean(1.0 / (1.0 + np.exp(-x)))) for x in logits]
        real_rates = [float(np.mean(x > 0)) for x in logits]
        rates = " ".join(f"{r:>6.3f}" for r in real_rates)
        r_t = float(np.mean(np.sign(logits[0])))
        print(f"{step:>7}  {means[0]:>9.3f} {means[1]:>8.3f} {means[2]:>8.3f}                {rates}   {r_t:>7.3f}")
    print(f"{n} images of each kind; D in inference mode; fakes from the plain generator")


if __name__ == "__main__":
    main()
