"""The evaluation commands: `dcgan evaluate` (FID, KID, precision/recall of a model) and `dcgan select`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dcgan.cli._flags import add_extractor, add_progress, add_samples, add_z_seed
from dcgan.errors import DcganError, MetricsError
from dcgan.evaluation.frechet import FID_METHODS

EVALUATE_SAMPLES = 10_000  # the literature's FID-10k sample count
SELECT_SAMPLES = 1000  # per checkpoint: fast enough to score many, enough to rank them


def cmd_evaluate(args: argparse.Namespace) -> None:
    from dcgan.data import Cache
    from dcgan.evaluation import evaluate_features, format_table, get_extractor, reference_stats, score_generator

    if args.samples < 2:
        raise MetricsError(f"--samples must be at least 2, got {args.samples}")
    extractor = get_extractor(args.extractor)
    if args.threads:
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            pass
    cache = Cache.open(args.data)
    reference = reference_stats(
        cache,
        extractor,
        max_images=args.ref_max,
        batch_size=args.batch_size,
        refresh=args.refresh_stats,
        progress=args.progress,
    )
    options = dict(
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        pr_k=None if args.no_pr else args.pr_k,
        pr_max_samples=args.pr_samples,
        fid_method=args.fid_method,
        seed=args.z_seed,
    )
    source = Path(args.model)
    if (source / "images.npy").exists():  # another prepared cache: real-vs-real, a sanity baseline
        other = Cache.open(source)
        _warn_shape(other.images.shape[1:], cache)
        count = min(args.samples, len(other.images))
        # the other split's features are cached beside it too (and reused if already there)
        stats = reference_stats(other, extractor, max_images=count, batch_size=args.batch_size, progress=args.progress)
        result = evaluate_features(stats.features, reference, extractor, **options)
        result["model"] = f"{source} (image cache, first {count} images)"
    else:
        from dcgan.bundle import load_generator

        model = load_generator(source)
        _warn_shape(model.image_shape, cache)
        results = []
        for psi in args.truncation or [model.default_truncation]:
            result = score_generator(
                model.generate,
                model.sample_z(args.samples, args.z_seed, psi),
                reference,
                extractor,
                z_seed=args.z_seed,
                batch_size=args.batch_size,
                progress=args.progress,
                **options,
            )
            result.update(model=str(source), model_step=model.info.get("provenance", {}).get("step"), truncation=psi)
            result["extractor_info"] = extractor.describe()
            print(format_table(result) + "\n")
            results.append(result)
        if len(results) > 1:
            print(format_truncation_table(results))
        if args.set_default:
            from dcgan.bundle import set_default_truncation

            choice = set_default_truncation(source, results, data=args.data)
            print(f"default truncation of {source}: {choice['default']} (lowest FID), written to its model.json")
        _write_json(args.json, results[0] if len(results) == 1 else {"results": results})
        return
    result["extractor_info"] = extractor.describe()
    print(format_table(result))
    _write_json(args.json, result)


def _write_json(path: Path | None, result: dict) -> None:
    if path:
        from dcgan.atomic import write_json_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, result)
        print(f"wrote {path}")


def format_truncation_table(results: list[dict]) -> str:
    """One line per truncation ψ: FID, KID, precision and recall."""
    lines = ["| truncation ψ | FID | KID ×10³ | precision | recall |", "|---|---|---|---|---|"]
    for r in results:
        pr = f"{r['precision']:.3f} | {r['recall']:.3f}" if "precision" in r else "– | –"
        lines.append(f"| {r['truncation']:g} | {r['fid']:.2f} | {1e3 * r['kid_mean']:.2f} | {pr} |")
    return "\n".join(lines)


def parse_truncations(text: str) -> list[float]:
    """'1,0.8,0.6' → [1.0, 0.8, 0.6], each in (0, 1]."""
    from dcgan.z import check_truncation

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers in (0, 1], got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one truncation value")
    try:
        return [check_truncation(v) for v in values]
    except DcganError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _warn_shape(shape: tuple, cache) -> None:
    if tuple(shape) != tuple(cache.images.shape[1:]):
        print(
            f"warning: evaluated images are {'×'.join(map(str, shape))} but {cache.path} holds "
            f"{'×'.join(map(str, cache.images.shape[1:]))}; is this the right reference split?",
            file=sys.stderr,
        )


def cmd_select(args: argparse.Namespace) -> None:
    from dcgan.evaluation.selection import format_rows, select_checkpoint

    steps = [int(s) for s in args.steps.split(",")] if args.steps else None
    result = select_checkpoint(
        args.run_dir, args.data, steps, args.min_step, args.samples, args.extractor, args.progress, raw=args.raw
    )
    best = result["best"]
    print(format_rows(result["rows"], best))
    print(
        f"best: step {best['step']} (val FID {best['fid']:.2f}, {best['extractor']}, {best['samples']} samples); "
        f"copied to {Path(args.run_dir) / 'checkpoints' / 'best'}; export it with: "
        f"dcgan export {args.run_dir} --best --out models/NAME"
    )


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="FID, KID and precision/recall of a model against a prepared split",
        description="Score a model bundle (or another prepared cache) against a prepared split. Reference "
        "statistics are cached beside the split as fid_stats_<extractor>.npz.",
    )
    p.add_argument(
        "model",
        type=Path,
        metavar="MODEL_DIR",
        help="model bundle (from `dcgan export`), or a prepared cache folder for a real-vs-real baseline",
    )
    p.add_argument("--data", type=Path, required=True, metavar="SPLIT_CACHE", help="reference split, e.g. data/x/val")
    add_samples(p, EVALUATE_SAMPLES, "generated samples (or images of a compared cache)")
    add_extractor(p)
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the result as JSON")
    p.add_argument("--batch-size", type=int, default=50)
    add_z_seed(p, "seed of the generated z, and of the KID and precision/recall subsets")
    p.add_argument(
        "--truncation",
        type=parse_truncations,
        metavar="PSI[,PSI...]",
        help="pull z toward the prior's centre by ψ in (0, 1] (realism ↔ variety); several values give a table "
        "(default: the model's own default, 1 if it has none)",
    )
    p.add_argument(
        "--set-default",
        action="store_true",
        help="store the ψ of lowest FID, and the table, in the model's model.json as its default truncation",
    )
    p.add_argument("--kid-subsets", type=int, default=100)
    p.add_argument("--kid-subset-size", type=int, default=1000, help="capped by both sample counts")
    p.add_argument("--pr-k", type=int, default=3, help="k of the k-NN balls for precision/recall")
    p.add_argument("--pr-samples", type=int, default=10_000, help="at most this many samples per side for P/R")
    p.add_argument("--no-pr", action="store_true", help="skip precision/recall")
    p.add_argument(
        "--fid-method",
        choices=FID_METHODS,
        default="sqrtm",
        help="sqrtm: scipy.linalg.sqrtm as pytorch-fid; eigh: same value, faster",
    )
    p.add_argument("--ref-max", type=int, default=None, help="use only the first N images of the split")
    p.add_argument("--refresh-stats", action="store_true", help="recompute the cached reference statistics")
    p.add_argument("--threads", type=int, default=None, help="PyTorch threads for inception-fid")
    add_progress(p)
    p.set_defaults(func=cmd_evaluate)

    p = subparsers.add_parser(
        "select",
        help="choose a run's checkpoint by validation FID (after training)",
        description="Score every kept checkpoint's generator on the run's fixed z against a validation split, "
        "log each score in the run's evals.jsonl (scores training's --eval-every already logged for the same "
        "weights, extractor, samples, z and split are reused), and copy the best checkpoint to "
        "checkpoints/best/ with best.json, which `dcgan export --best` reads.",
    )
    p.add_argument("run_dir", type=Path)
    p.add_argument("--data", type=Path, required=True, metavar="VAL_CACHE", help="validation split, e.g. data/x/val")
    p.add_argument("--steps", help="comma-separated checkpoint steps (default: every kept checkpoint)")
    p.add_argument("--min-step", type=int, default=0, help="skip checkpoints before this step")
    add_samples(p, SELECT_SAMPLES, "generated samples per checkpoint, on the same z for all")
    add_extractor(p)
    p.add_argument("--raw", action="store_true", help="score the raw generators, not their EMA (see export --raw)")
    add_progress(p, "progress bars and one line per scored checkpoint on stderr")
    p.set_defaults(func=cmd_select)
