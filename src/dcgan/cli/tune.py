"""`dcgan tune`: the hyperparameter search (dcgan.tuning) from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dcgan.cli._flags import add_extractor, add_samples, add_z_seed, deprecated
from dcgan.config import load as load_config

TUNE_SAMPLES = 1000  # per trial, on one z seed


def cmd_tune(args: argparse.Namespace) -> None:
    from dcgan.tuning import TuningInterrupted, load_space, tune

    base = load_config(args.base_config) if args.base_config else None
    try:
        tune(
            args.data,
            args.trials,
            args.budget_images,
            study_name=args.study,
            storage=args.storage,
            out=args.out,
            extractor=args.extractor,
            eval_samples=args.samples,
            eval_seed=args.z_seed,
            base=base,
            space=load_space(args.space),
            test=args.test,
            ref_max=args.ref_max,
            kid_subsets=args.kid_subsets,
            max_retries=args.max_retries,
            sampler_seed=args.sampler_seed,
            discard_checkpoints=args.discard_checkpoints,
            threads=args.threads,
        )
    except TuningInterrupted as exc:
        print(f"dcgan tune: {exc}", file=sys.stderr)
        sys.exit(130)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `dcgan tune` on an argparse subparsers object (sets func=cmd_tune)."""
    p = subparsers.add_parser(
        "tune",
        help="hyperparameter search with Optuna (resumable), scored by FID on the validation split",
        description="Search learning rates (D and G), beta1, batch size, widths, label smoothing and the z prior. "
        "Each trial trains for --budget-images images, is exported and scored by FID/KID on DIR/val with a "
        "fixed z seed. The study is kept in SQLite, so rerunning the same command resumes it; failed or "
        "interrupted trials are retried from their checkpoint. --test scores the winner (only) on DIR/test.",
    )
    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="split cache from `dcgan prepare --split`")
    p.add_argument(
        "--trials", type=int, required=True, help="finished trials the study should have (a rerun resumes/extends)"
    )
    p.add_argument(
        "--budget-images", type=int, required=True, metavar="M", help="images per trial: M // batch_size steps"
    )
    p.add_argument("--study", default=None, metavar="NAME", help="study name (default: the data folder's name)")
    p.add_argument("--storage", default=None, metavar="URL", help="Optuna storage (default: sqlite:///OUT/study.db)")
    p.add_argument("--out", type=Path, default=None, help="results and trial run dirs (default: runs/tune-NAME)")
    add_extractor(
        p,
        "features for FID/KID: inception-fid (standard, needs dcgan[eval]; ~5-10 images/s on CPU), "
        "pixels (fast, test/debug only)",
    )
    add_samples(p, TUNE_SAMPLES, "generated samples per evaluation", old="--eval-samples")
    add_z_seed(p, "seed of the evaluation z (the same for all trials)", old="--eval-seed")
    p.add_argument("--base-config", type=Path, default=None, metavar="JSON", help="config of the fields not searched")
    p.add_argument(
        "--space",
        default=None,
        metavar="JSON",
        help='search space changes, inline JSON or a file: {"gf": [32, 64], "lr_d": {"low": 1e-4, "high": 5e-4, '
        '"log": true}, "beta1": 0.5, "z_prior": null}: a list of choices, a range, a fixed value, or null to '
        "take the base config's value",
    )
    p.add_argument("--test", action="store_true", help="score the winner (only) on DIR/test, once")
    p.add_argument("--ref-max", type=int, default=None, help="use only the first N images of val/test as reference")
    p.add_argument("--kid-subsets", type=int, default=100, help="KID subsets (default 100)")
    p.add_argument("--max-retries", type=int, default=2, help="retries of a failed trial (default 2)")
    p.add_argument("--sampler-seed", type=int, default=0, help="seed of Optuna's sampler (default 0)")
    deprecated(p, "--seed", "--sampler-seed", "sampler_seed", type=int)
    p.add_argument("--threads", type=int, default=None, help="PyTorch threads for inception-fid")
    p.add_argument("--discard-checkpoints", action="store_true", help="delete a trial's checkpoints once it is scored")
    p.set_defaults(func=cmd_tune)
