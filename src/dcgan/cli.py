"""The `dcgan` command line."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from dcgan import resources
from dcgan.config import Config, ConfigError, from_dict
from dcgan.config import load as load_config
from dcgan.data import DataError

DEFAULT_MODEL = resources.default_model()


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
                help=f"default {f.default!r}",
            )


def config_from_args(args: argparse.Namespace, base_file: Path | None = None) -> Config:
    """Flags over a base: `base_file`, else --config, else the defaults."""
    base_file = base_file or args.config
    base = load_config(base_file).to_dict() if base_file else Config().to_dict()
    overrides = {f.name: getattr(args, f.name) for f in fields(Config) if getattr(args, f.name) is not None}
    return from_dict({**base, **overrides})


def cmd_prepare(args: argparse.Namespace) -> None:
    from dcgan.data import PrepareOptions, prepare

    opts = PrepareOptions(args.size, args.crop, args.grayscale)
    partition = args.partition
    if partition is None and args.split and args.src.is_dir():
        from dcgan.datasets.celeba import find_partition

        partition = find_partition(args.src)
        if partition is not None:
            print(f"{partition} found: splitting by CelebA's official partition instead of --split {args.split}")
    if partition is not None:
        from dcgan.datasets.celeba import prepare_partitioned

        prepare_partitioned(args.src, args.out, opts, partition, workers=args.workers)
        return
    prepare(args.src, args.out, opts, split=args.split, seed=args.seed, workers=args.workers)


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
    )
    print(path)


def cmd_sample(args: argparse.Namespace) -> None:
    from dcgan import sampling
    from dcgan.bundle import load_generator

    model = load_generator(args.model)
    out = args.out
    if args.mode == "grid":
        path = sampling.grid(model, out, args.n, args.seed)
    elif args.mode == "interpolate":
        a, b = sampling.read_z(args.a, model)[0], sampling.read_z(args.b, model)[0]
        path = sampling.interpolation(model, out, a, b, args.steps, args.method)
    elif args.mode == "sweep":
        dims = [int(d) for d in args.dims.split(",")]
        path = sampling.dimension_sweep(model, out, sampling.read_z(args.z, model)[0], dims, args.steps)
    elif args.mode == "gif":
        path = sampling.gif_walk(model, out, sampling.read_z(args.keys, model), args.steps, args.method)
    else:
        a, b, c = (sampling.read_z(spec, model) for spec in (args.a, args.b, args.c))
        path = sampling.vector_arithmetic(model, out, a, b, c)
    print(path)


def cmd_serve(args: argparse.Namespace) -> None:
    from dcgan.serving import run

    run(args.model or [DEFAULT_MODEL], host=args.host, port=args.port, cors_origins=args.cors, workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dcgan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare", help="images (folder or .tar) → uint8 cache with manifest")
    p.add_argument("src", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument(
        "--crop",
        choices=("center", "celeba", "none"),
        default="center",
        help="center: centre square; celeba: the DCGAN CelebA crop (108×108 at (35, 55) of 178×218, scaled to "
        "the image); none: resize the whole image",
    )
    p.add_argument("--grayscale", action="store_true")
    p.add_argument("--split", help="train,val,test fractions, e.g. 0.9,0.05,0.05")
    p.add_argument(
        "--partition",
        type=Path,
        default=None,
        help="CelebA's list_eval_partition.txt: split by it (0 train, 1 val, 2 test) instead of the name hash; "
        "used automatically with --split when SRC holds that file",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split assignment")
    p.add_argument("--workers", type=int, default=None, help="decoding processes (default: all cores)")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("train", help="train or resume a DCGAN on a prepared cache")
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
    p.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True, help="show the progress bar (chief only)"
    )
    add_config_flags(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="write a model bundle (generator, optionally discriminator) from a run")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: latest)")
    p.add_argument("--best", action="store_true", help="the best checkpoint by validation FID (--eval-every, select)")
    p.add_argument(
        "--average", metavar="STEPS", help="comma-separated checkpoint steps whose generator weights are averaged"
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

    p = sub.add_parser("sample", help="grids, interpolations, sweeps, GIFs, arithmetic")
    p.add_argument("model", type=Path, nargs="?", default=DEFAULT_MODEL)
    p.add_argument("mode", choices=("grid", "interpolate", "sweep", "gif", "arithmetic"))
    p.add_argument("--out", type=Path, default=Path("samples"))
    p.add_argument("--n", type=int, default=8, help="grid: N×N faces")
    p.add_argument("--seed", type=int, default=0, help="grid: random seed")
    p.add_argument("--a", default="1", help="seeds like '1,2' or a .npy/.json z file")
    p.add_argument("--b", default="2")
    p.add_argument("--c", default="3")
    p.add_argument("--z", default="0", help="sweep: the base z")
    p.add_argument("--dims", default="0,1,2,3", help="sweep: z dimensions to sweep")
    p.add_argument("--keys", default="0,1,2,3", help="gif: key z vectors")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--method", choices=("linear", "spherical"), default="spherical")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("serve", help="the face studio: HTTP API and web page")
    p.add_argument("--model", type=Path, action="append", help="model bundle (repeatable); default: shipped model")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--cors", action="append", metavar="ORIGIN", help="allow this browser origin (CORS is closed by default)"
    )
    p.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port, each with its own model copy"
    )
    p.set_defaults(func=cmd_serve)

    from dcgan.datasets.cli import add_commands
    from dcgan.metrics import add_evaluate_command
    from dcgan.selection import add_select_command
    from dcgan.tuning import add_tune_command

    add_commands(sub)
    add_evaluate_command(sub)
    add_select_command(sub)
    add_tune_command(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ConfigError, DataError, ValueError) as exc:
        print(f"dcgan {args.command}: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
