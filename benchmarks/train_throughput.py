"""Steady-state training throughput of the default 64×64 DCGAN (batch 64), fp32 and bf16.

    python benchmarks/train_throughput.py [--repeats 5] [--steps 3] [--precision fp32 bf16] [--augment POLICY]
        [--r1-gamma G] [--r1-every K] [--gf N] [--df N] [--xla] [--quick]

Prints images/s as the median of `repeats` timings of `steps` train steps each, after warm-up. `--quick` is a
smoke run of seconds (a tiny 32×32 model, one fp32 step), to check that the benchmark still runs, not a measurement.
`--xla` compiles the step with XLA (`jit_compile=True`) instead of TensorFlow's graph executor, which training uses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import dcgan  # noqa: F401  (sets TensorFlow's oneDNN / logging defaults before TF loads)

QUICK_MODEL = {"image_size": 32, "gf": 8, "df": 8, "batch_size": 8}


def measure(
    precision: str,
    repeats: int,
    steps: int,
    warmup: int,
    augment: str = "",
    r1_gamma: float = 0.0,
    r1_every: int = 1,
    model: dict | None = None,
    xla: bool = False,
) -> list[float]:
    import keras
    import numpy as np
    import tensorflow as tf

    from dcgan.config import Config
    from dcgan.model import DCGAN
    from dcgan.training import set_precision

    cfg = Config(mixed_precision=precision, augment=augment, r1_gamma=r1_gamma, r1_every=r1_every, **(model or {}))
    set_precision(cfg)
    gan = DCGAN(cfg)
    shape = (cfg.batch_size, cfg.image_size, cfg.image_size, cfg.channels)
    images = tf.constant(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8))
    train_step = type(gan).train_step.python_function
    compiled = tf.function(lambda *a: train_step(gan, *a), jit_compile=True) if xla else gan.train_step
    step = 0

    def run(n: int) -> None:
        nonlocal step
        for _ in range(n):
            logs = compiled((images, tf.constant(step, tf.int64)), True, cfg.r1_due(step))
            step += 1
        float(logs["g_loss"])  # wait for the last step to finish

    run(warmup)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(steps)
        rates.append(steps * cfg.batch_size / (time.perf_counter() - start))
    keras.mixed_precision.set_global_policy("float32")
    return rates


def cpu_has_avx512() -> bool:
    try:
        return "avx512f" in open("/proc/cpuinfo").read()
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--augment", default="", help="DiffAugment policy, e.g. color,translation,cutout")
    parser.add_argument("--r1-gamma", type=float, default=0.0, help="R1 penalty weight (0 = off)")
    parser.add_argument(
        "--r1-every", type=int, default=1, help="lazy R1: the penalty every K steps (time a multiple of K steps)"
    )
    parser.add_argument("--gf", type=int, help="generator width (the first layer is 4×4×(8·gf)); default: Config's")
    parser.add_argument("--df", type=int, help="discriminator width; default: Config's")
    parser.add_argument("--force-bf16", action="store_true", help="measure bf16 even without AVX-512")
    parser.add_argument("--xla", action="store_true", help="compile the train step with XLA (jit_compile)")
    parser.add_argument("--quick", action="store_true", help="a smoke run of seconds: tiny model, one fp32 step")
    args = parser.parse_args()
    from dcgan.config import Config

    model = QUICK_MODEL if args.quick else {k: v for k, v in (("gf", args.gf), ("df", args.df)) if v is not None}
    if args.quick:
        args.precision, args.repeats, args.steps, args.warmup = ["fp32"], 1, 1, 1
    cfg = Config(**model)
    print(
        f"cores: {os.cpu_count()}, oneDNN: {os.environ.get('TF_ENABLE_ONEDNN_OPTS')}, "
        f"batch {cfg.batch_size}, {cfg.image_size}×{cfg.image_size}×{cfg.channels}, gf={cfg.gf} df={cfg.df}, "
        f"augment: {args.augment or 'none'}, R1 γ: {args.r1_gamma or 'off'} every {args.r1_every} steps, "
        f"XLA: {'on' if args.xla else 'off'}"
    )
    for precision in args.precision:
        if precision == "bf16" and not cpu_has_avx512() and not args.force_bf16:
            print(
                "bf16: skipped, this CPU has no AVX-512, so oneDNN falls back to Eigen's bf16 kernels "
                "(measured here: one repeat took over 10 minutes); --force-bf16 runs it anyway"
            )
            continue
        rates = measure(
            precision,
            args.repeats,
            args.steps,
            args.warmup,
            args.augment,
            args.r1_gamma,
            args.r1_every,
            model,
            args.xla,
        )
        print(
            f"{precision}: {statistics.median(rates):.1f} images/s (median of {len(rates)}; "
            f"min {min(rates):.1f}, max {max(rates):.1f})"
        )


if __name__ == "__main__":
    main()
