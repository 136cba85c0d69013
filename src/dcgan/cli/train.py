"""The training commands: `dcgan train` (config flags generated from `Config`) and `dcgan export`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from dcgan.cli._flags import add_progress
from dcgan.config import Config, from_dict
from dcgan.config import load as load_config

SHAPE = ("image_size", "channels")  # without a base config, these follow the images in --data


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per Config field (--lr-g, --z-prior, --flip/--no-flip, ...); unset flags keep the base config."""
    group = parser.add_argument_group("config (overrides --config and the defaults)")
    for f in fields(Config):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None)
        else:
            group.add_argument(
                flag,
                dest=f.name,
                type={"int": int, "float": float, "str": str}[f.type],
                default=None,
                metavar=f.type.upper(),
                help=(
                    f"default: the --data cache's, else {f.default!r}" if f.name in SHAPE else f"default {f.default!r}"
                ),
            )


def config_from_args(args: argparse.Namespace, base_file: Path | None = None) -> Config:
    """Flags over a base: `base_file`, else --config, else the defaults at the image shape of the --data cache."""
    base_file = base_file or args.config
    if base_file:
        base = load_config(base_file).to_dict()
    else:
        from dcgan.data import Cache
        from dcgan.errors import DataError

        try:
            shape = Cache.open(args.data).model_shape()
        except DataError:
            shape = {}  # training opens the cache again and says what is wrong, after the flags are checked
        base = {**Config().to_dict(), **shape}
    overrides = {f.name: getattr(args, f.name) for f in fields(Config) if getattr(args, f.name) is not None}
    return from_dict({**base, **overrides})


def cmd_train(args: argparse.Namespace) -> None:
    saved = args.run_dir / "config.json"
    resuming_saved = args.resume and not args.config and saved.exists()
    cfg = config_from_args(args, saved if resuming_saved else None)
    from dcgan.training import train

    result = train(
        cfg,
        args.data,
        args.run_dir,
        resume=args.resume,
        force=args.force,
        val=args.eval_data,
        progress=args.progress,
        strategy=args.strategy,
    )
    print(f"step {result['step']}: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items() if isinstance(v, float)))
    if result["interrupted"]:
        sys.exit(130)


def cmd_export(args: argparse.Namespace) -> None:
    from dcgan.bundle import export

    average = [int(s) for s in args.average.split(",")] if args.average else None
    path = export(
        args.run_dir,
        args.out,
        args.step,
        dtype=args.dtype,
        best=args.best,
        average=average,
        raw=args.raw,
        standing_stats=args.standing_stats,
        discriminator=args.discriminator,
        init_weight=args.average_start,
    )
    print(path)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train or resume a DCGAN on a prepared cache")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    p.add_argument("--force", action="store_true", help="use a run dir that holds another config / start over")
    p.add_argument("--config", type=Path, help="base config JSON (e.g. a run's config.json)")
    p.add_argument("--eval-data", type=Path, help="val cache for --eval-every (default: val/ beside a train/ split)")
    p.add_argument(
        "--strategy",
        choices=("default", "mirrored", "multiworker", "tpu"),
        default="default",
        help="default: one device; mirrored: all GPUs of this host (tf.distribute.MirroredStrategy); multiworker: "
        "the hosts in TF_CONFIG (MultiWorkerMirroredStrategy); tpu: the TPU in $TPU_NAME (TPUStrategy). "
        "--batch-size is the global batch on every strategy",
    )
    add_progress(p, "show the progress bar (chief only)", quiet=False)
    add_config_flags(p)
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("export", help="write a model bundle (generator, optionally discriminator) from a run")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: latest)")
    p.add_argument("--best", action="store_true", help="the best checkpoint by validation FID (--eval-every, select)")
    p.add_argument(
        "--average", metavar="STEPS", help="comma-separated checkpoint steps whose generator weights are averaged"
    )
    p.add_argument(
        "--average-start",
        type=float,
        default=0.0,
        metavar="N",
        help="with --average: the generator a fine-tuned run started from joins the mean as N checkpoints (e.g. as "
        "many as that bundle averaged), continuing its average across runs",
    )
    p.add_argument("--raw", action="store_true", help="export the raw generator, not its EMA (config g_ema)")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    p.add_argument(
        "--discriminator",
        action="store_true",
        help="also write D (discriminator.npz), so that --init-generator fine-tunes with it instead of a fresh D",
    )
    p.add_argument(
        "--standing-stats",
        type=int,
        default=0,
        metavar="BATCHES",
        help="recompute G's BN moving statistics from BATCHES training-mode batches (e.g. 200; default: keep them)",
    )
    p.set_defaults(func=cmd_export)
