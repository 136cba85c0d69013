"""Checkpoint selection by validation FID: a run's evals.jsonl, the best checkpoint, and `select_checkpoint`.

Training's `--eval-every` and `dcgan select` (its offline counterpart) score generators with
`scoring.validation_row` on the same fixed z, log each row in the run's `evals.jsonl` (so an interrupted
selection resumes where it stopped, and select reuses what training scored), and keep the best checkpoint in
`checkpoints/best/` with `best.json`, which `dcgan export --best` reads.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dcgan import checkpoint
from dcgan.atomic import write_json_atomic
from dcgan.config import load as load_config
from dcgan.errors import CheckpointError, MetricsError


def read_evals(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


class EvalLog:
    """A run's evals.jsonl: one `validation_row` per line, appended as scores come (flushed and fsynced)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, row: dict) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(row) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def scored(self, **scoring) -> dict[tuple[int, str], dict]:
        """The logged rows scored as `scoring` says (extractor, samples, z_seed, reference), by (step, weights)."""
        return {
            (row["step"], row.get("weights")): row
            for row in read_evals(self.path)
            if all(row.get(k) == v for k, v in scoring.items())
        }


class BestCheckpoint:
    """checkpoints/best: the checkpoint with the lowest validation FID, its validation row in best.json."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        path = self.folder / "best.json"
        self.row: dict | None = json.loads(path.read_text()) if path.exists() else None

    def offer(self, row: dict, save: Callable[[Path], object]) -> bool:
        """Keep `row`'s checkpoint if its FID beats the best so far; returns whether it did."""
        if self.row is not None and row["fid"] >= self.row["fid"]:
            return False
        self.keep(row, save)
        return True

    def keep(self, row: dict, save: Callable[[Path], object]) -> None:
        """Make `row` the best: `save(folder)` writes its checkpoint (atomically, as checkpoint.save does), then
        best.json is written atomically and the other checkpoints there are removed, by step, not by age (the
        best may be older than the one kept before)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        save(self.folder)
        write_json_atomic(self.folder / "best.json", row)
        for step, old in checkpoint.list_checkpoints(self.folder):
            if step != row["step"]:
                old.unlink(missing_ok=True)
        self.row = row


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

    Each checkpoint's shipped generator is scored (`bundle.generator_group`: its EMA unless `raw`) on the run's
    fixed z (`z.fixed_z`, the config's seed). Returns {"rows": [...] (oldest first), "best": row}. Rows
    already in evals.jsonl for the same step, weights, extractor, sample count, z seed and reference, whether
    training or an earlier selection wrote them, are reused, not recomputed.
    """
    import tensorflow as tf

    from dcgan.bundle import generator_group
    from dcgan.data import Cache
    from dcgan.evaluation.extractors import get_extractor
    from dcgan.evaluation.reference import reference_stats
    from dcgan.evaluation.scoring import validation_row
    from dcgan.images import to_uint8
    from dcgan.model import build_generator
    from dcgan.z import fixed_z

    run_dir = Path(run_dir)
    cfg = load_config(run_dir / "config.json")
    found = [(s, p) for s, p in checkpoint.list_checkpoints(run_dir / "checkpoints") if s >= min_step]
    if steps:
        missing = sorted(set(steps) - {s for s, _ in found})
        if missing:
            raise CheckpointError(f"no checkpoint for steps {missing} in {run_dir / 'checkpoints'}")
        wanted = set(steps)
        found = [(s, p) for s, p in found if s in wanted]
    if not found:
        raise CheckpointError(f"no checkpoint at or after step {min_step} in {run_dir / 'checkpoints'}")
    if n < 2:
        raise MetricsError(f"need at least 2 samples per checkpoint, got n={n}")

    extractor = get_extractor(extractor_name)
    reference = reference_stats(Cache.open(val), extractor, progress=progress)
    log = EvalLog(run_dir / "evals.jsonl")
    done = log.scored(extractor=extractor.name, samples=n, z_seed=cfg.seed, reference=reference.fingerprint)
    z = fixed_z(cfg, n)
    generator = build_generator(cfg)

    def generate(batch: np.ndarray) -> np.ndarray:
        return to_uint8(generator(tf.constant(batch), training=False))

    rows = []
    for step, path in found:
        group = generator_group(checkpoint.groups_in(path), raw)
        row = done.get((step, group))
        if row is None:
            checkpoint.restore(path, {group: generator.variables}, groups=(group,))
            row = validation_row(
                generate, z, reference, extractor, step=step, weights=group, z_seed=cfg.seed, by="dcgan select"
            )
            log.append(row)
            if progress:
                print(f"step {step}: val FID {row['fid']:.2f}, KID {row['kid']:.4f}", file=sys.stderr)
        rows.append(row)
    best = min(rows, key=lambda r: r["fid"])
    source = dict(found)[best["step"]]
    BestCheckpoint(run_dir / "checkpoints" / "best").keep(
        best, lambda folder: checkpoint.save(folder, best["step"], *checkpoint.read(source))
    )
    return {"rows": rows, "best": best}


def format_rows(rows: list[dict], best: dict) -> str:
    lines = [f"{'step':>8}  {'val FID':>8}  {'KID ×10³':>14}"]
    for r in rows:
        mark = "  ← best" if r is best else ""
        lines.append(f"{r['step']:>8}  {r['fid']:>8.2f}  {1e3 * r['kid']:>6.2f} ± {1e3 * r['kid_std']:<5.2f}{mark}")
    return "\n".join(lines)
