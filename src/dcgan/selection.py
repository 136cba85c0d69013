"""Choose a run's checkpoint by validation FID after training (`dcgan select`).

The offline counterpart of `--eval-every`: every kept checkpoint's generator is scored on the same fixed z
against a validation split, each score is appended to the run's `evals.jsonl` (so an interrupted selection
resumes where it stopped), and the best checkpoint is copied to `checkpoints/best/` with `best.json`, which
`dcgan export --best` reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from dcgan import checkpoint
from dcgan.config import load as load_config
from dcgan.config import write_json_atomic


def read_evals(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def select_checkpoint(
    run_dir: Path,
    val: Path,
    steps: list[int] | None = None,
    min_step: int = 0,
    n: int = 1000,
    extractor_name: str = "inception-fid",
    progress: bool = True,
    raw: bool = False,
) -> dict:
    """Score the run's checkpoints (all kept ones from `min_step`, or `steps`) on `val`; keep the best.

    Each checkpoint's shipped generator is scored (`bundle.generator_group`: its EMA unless `raw`).
    Returns {"rows": [...] (oldest first), "best": row}. Scores already in evals.jsonl for the same
    weights, extractor, sample count and reference are reused, not recomputed.
    """
    import tensorflow as tf

    from dcgan.bundle import generator_group
    from dcgan.data import Cache
    from dcgan.features import get_extractor
    from dcgan.images import to_uint8
    from dcgan.metrics import MetricsError, reference_stats, validation_score
    from dcgan.model import build_generator
    from dcgan.training import fixed_z

    run_dir = Path(run_dir)
    cfg = load_config(run_dir / "config.json")
    found = [(s, p) for s, p in checkpoint.list_checkpoints(run_dir / "checkpoints") if s >= min_step]
    if steps:
        missing = sorted(set(steps) - {s for s, _ in found})
        if missing:
            raise checkpoint.CheckpointError(f"no checkpoint for steps {missing} in {run_dir / 'checkpoints'}")
        wanted = set(steps)
        found = [(s, p) for s, p in found if s in wanted]
    if not found:
        raise checkpoint.CheckpointError(f"no checkpoint at or after step {min_step} in {run_dir / 'checkpoints'}")
    if n < 2:
        raise MetricsError(f"need at least 2 samples per checkpoint, got n={n}")

    extractor = get_extractor(extractor_name)
    reference = reference_stats(Cache.open(val), extractor, progress=progress)
    log = run_dir / "evals.jsonl"
    key = (extractor.name, n, reference.fingerprint)
    done = {
        (r["step"], r.get("weights", "generator")): r
        for r in read_evals(log)
        if (r.get("extractor"), r.get("samples"), r.get("reference")) == key
    }
    z = fixed_z(cfg, n)
    generator = build_generator(cfg)

    def generate(batch: np.ndarray) -> np.ndarray:
        return to_uint8(generator(tf.constant(batch), training=False))

    rows = []
    for step, path in found:
        group = generator_group(checkpoint.groups_in(path), raw)
        if (step, group) in done:
            rows.append(done[step, group])
            continue
        checkpoint.restore(path, {group: generator.variables}, groups=(group,))
        row = {
            "step": step,
            "weights": group,
            **validation_score(generate, z, reference, extractor, progress),
            "reference": reference.fingerprint,
            "reference_source": str(val),
            "by": "dcgan select",
        }
        with open(log, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        if progress:
            print(f"step {step}: val FID {row['fid']:.2f}, KID {row['kid']:.4f}", file=sys.stderr)
        rows.append(row)
    best = min(rows, key=lambda r: r["fid"])
    keep_as_best(run_dir, best, dict(found)[best["step"]])
    return {"rows": rows, "best": best}


def keep_as_best(run_dir: Path, row: dict, source: Path) -> None:
    """Write a checkpoint into checkpoints/best (checkpoint.save: atomic) with its best.json; drop the others.

    The best may be older than the one kept there before, so the others are removed by step, not by age.
    """
    best_dir = run_dir / "checkpoints" / "best"
    saved, meta = checkpoint.read(source)
    checkpoint.save(best_dir, row["step"], saved, meta)
    write_json_atomic(best_dir / "best.json", row)
    for step, old in checkpoint.list_checkpoints(best_dir):
        if step != row["step"]:
            old.unlink(missing_ok=True)


def format_rows(rows: list[dict], best: dict) -> str:
    lines = [f"{'step':>8}  {'val FID':>8}  {'KID ×10³':>14}"]
    for r in rows:
        mark = "  ← best" if r is best else ""
        lines.append(f"{r['step']:>8}  {r['fid']:>8.2f}  {1e3 * r['kid']:>6.2f} ± {1e3 * r['kid_std']:<5.2f}{mark}")
    return "\n".join(lines)


def cmd_select(args: argparse.Namespace) -> None:
    steps = [int(s) for s in args.steps.split(",")] if args.steps else None
    result = select_checkpoint(
        args.run_dir, args.data, steps, args.min_step, args.n, args.extractor, progress=not args.quiet, raw=args.raw
    )
    best = result["best"]
    print(format_rows(result["rows"], best))
    print(
        f"best: step {best['step']} (val FID {best['fid']:.2f}, {best['extractor']}, {best['samples']} samples); "
        f"copied to {Path(args.run_dir) / 'checkpoints' / 'best'}; export it with: "
        f"dcgan export {args.run_dir} --best --out models/NAME"
    )


def add_select_command(subparsers) -> argparse.ArgumentParser:
    from dcgan.features import EXTRACTORS

    p = subparsers.add_parser(
        "select",
        help="choose a run's checkpoint by validation FID (after training)",
        description=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument("run_dir", type=Path)
    p.add_argument("--data", type=Path, required=True, metavar="VAL_CACHE", help="validation split, e.g. data/x/val")
    p.add_argument("--steps", help="comma-separated checkpoint steps (default: every kept checkpoint)")
    p.add_argument("--min-step", type=int, default=0, help="skip checkpoints before this step")
    p.add_argument("--n", type=int, default=1000, help="generated samples per checkpoint (same z for all)")
    p.add_argument("--extractor", choices=tuple(EXTRACTORS), default="inception-fid")
    p.add_argument("--raw", action="store_true", help="score the raw generators, not their EMA (see export --raw)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_select)
    return p
