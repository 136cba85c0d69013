"""Side work of the training loop, as hooks the chief runs after every step.

A hook is a plain object (not a Keras callback: nothing here runs `model.fit`). `after_step(step, logs)` is
called after each step with `step` the number of steps done, i.e. the global step the weights now belong to and
the one checkpoints record, and `logs` the step's losses as floats; `end(step, logs)` once after the last step,
also when a signal stopped the run (then `step` may be the start: nothing ran).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from dcgan import checkpoint
from dcgan.atomic import write_npy_atomic
from dcgan.data import Cache
from dcgan.images import make_grid, save_png, to_uint8
from dcgan.model import DCGAN
from dcgan.z import fixed_z


class Hook:
    """Does nothing; subclasses override what they need."""

    def after_step(self, step: int, logs: dict[str, float]) -> None:
        """After every step: `step` steps are done."""

    def end(self, step: int, logs: dict[str, float]) -> None:
        """Once, after the last step."""


class ProgressBar(Hook):
    """tqdm bar with losses, D(x), D(G(z)) and images/s (real images drawn from the data, `images_per_step`)."""

    def __init__(self, total: int, initial: int, images_per_step: int, enabled: bool = True) -> None:
        self.bar = tqdm(
            total=total, initial=initial, desc="train", unit="step", disable=not enabled, dynamic_ncols=True
        )
        self.images_per_step = images_per_step
        self.last = time.perf_counter()
        self.rate = 0.0

    def after_step(self, step: int, logs: dict[str, float]) -> None:
        now = time.perf_counter()
        rate = self.images_per_step / max(now - self.last, 1e-9)
        self.rate = rate if self.rate == 0 else 0.9 * self.rate + 0.1 * rate
        self.last = now
        self.bar.update(1)
        self.bar.set_postfix(
            d=f"{logs['d_loss']:.3f}",
            g=f"{logs['g_loss']:.3f}",
            Dx=f"{logs['d_real']:.2f}",
            DGz=f"{logs['d_fake']:.2f}",
            img_s=f"{self.rate:.0f}",
            refresh=False,
        )

    def end(self, step: int, logs: dict[str, float]) -> None:
        self.bar.close()


class ScalarLogger(Hook):
    """Losses every `every` steps to TensorBoard and to metrics.jsonl."""

    def __init__(self, run_dir: Path, every: int, writer: tf.summary.SummaryWriter) -> None:
        self.path, self.every, self.writer = run_dir / "metrics.jsonl", every, writer

    def after_step(self, step: int, logs: dict[str, float]) -> None:
        if step % self.every:
            return
        with self.writer.as_default(step=step):
            for key, value in logs.items():
                tf.summary.scalar(key, value)
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, **{k: round(float(v), 5) for k, v in logs.items()}}) + "\n")


class CollapseWatch(Hook):
    """Warns once when D has rejected nearly every fake for a while, the usual sign of a collapsed run.

    A running mean of D(G(z)) (decay 0.98 per step) stayed above 0.04 through the shipped run's healthy
    14,900 steps; its collapse after that drove it to 0.004. Replayed on that run's progress-bar logs, this
    watch fires once, at step 15,176, dating the onset to step 14,914. It starts after `after` steps (the D
    warm-up: G rests there, and a D trained alone rejecting every fake is the point, not a collapse).
    """

    def __init__(self, threshold: float = 0.01, patience: int = 100, decay: float = 0.98, after: int = 0) -> None:
        self.threshold, self.patience, self.decay, self.after = threshold, patience, decay, after
        self.mean: float | None = None
        self.onset: int | None = None  # first step of the current stretch below 5 × threshold
        self.low_since: int | None = None  # first step of the current stretch below the threshold
        self.warned = False

    def after_step(self, step: int, logs: dict[str, float]) -> None:
        if step <= self.after:
            return
        fake = float(logs["d_fake"])
        self.mean = fake if self.mean is None else self.decay * self.mean + (1 - self.decay) * fake
        if self.mean >= 5 * self.threshold:
            self.onset, self.low_since, self.warned = None, None, False
            return
        self.onset = step if self.onset is None else self.onset
        if self.mean >= self.threshold:
            self.low_since = None
            return
        self.low_since = step if self.low_since is None else self.low_since
        if not self.warned and step - self.low_since >= self.patience:
            self.warned = True
            tqdm.write(
                f"warning: D has rejected nearly every fake since about step {self.onset} (running mean of D(G(z)) "
                f"{self.mean:.4f} at step {step}): training has probably collapsed. Check the sample grids; to back "
                f"out, resume a copy of the run from a checkpoint before step {self.onset} with a change such as "
                "--label-smoothing 0.1 or a lower --lr-d (see the README)",
                file=sys.stderr,
            )


class SampleGrid(Hook):
    """A grid of G(fixed z) every `every` steps and at the end, as PNG and in TensorBoard.

    The grid of step `start` is not redrawn at the end (it exists, or the run trained no step).
    """

    def __init__(self, gan: DCGAN, run_dir: Path, every: int, writer: tf.summary.SummaryWriter, start: int) -> None:
        self.gan, self.every, self.writer = gan, every, writer
        self.folder = run_dir / "samples"
        self.z = fixed_z(gan.cfg)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_npy_atomic(self.folder / "z.npy", self.z)
        self.last_step = start

    def after_step(self, step: int, logs: dict[str, float]) -> None:
        if step % self.every == 0:
            self.write(step)

    def end(self, step: int, logs: dict[str, float]) -> None:
        if step != self.last_step:
            self.write(step)

    def write(self, step: int) -> None:
        images = to_uint8(self.gan.sampler(self.z, training=False))
        grid = make_grid(images)
        save_png(grid, self.folder / f"step_{step:09d}.png")
        with self.writer.as_default(step=step):
            tf.summary.image("samples", grid[None], max_outputs=1)
        self.last_step = step


class Checkpointer(Hook):
    """Atomic checkpoint every `every` steps and at the end, keeping the last `keep`.

    Its meta counts `images_seen`: the real images drawn from the data, `cfg.images_per_step` per step (every
    D update takes its own batch_size images); G's updates see batch_size z each.
    """

    def __init__(self, gan: DCGAN, run_dir: Path, every: int, keep: int, meta: dict) -> None:
        self.gan, self.every, self.keep, self.meta = gan, every, keep, meta
        self.folder = run_dir / "checkpoints"
        self.started = time.perf_counter()
        self.base_seconds = meta.get("train_seconds", 0.0)
        self.last_step = -1

    def after_step(self, step: int, logs: dict[str, float]) -> None:
        if step % self.every == 0:
            self.save(step)

    def end(self, step: int, logs: dict[str, float]) -> None:
        self.save(step)

    def save(self, step: int, directory: Path | None = None, keep: int | None = None) -> None:
        """Checkpoint into the run's checkpoints (or `directory`, e.g. the best-checkpoint folder)."""
        if directory is None and step == self.last_step:
            return
        seconds = self.base_seconds + time.perf_counter() - self.started
        images_seen = step * self.gan.cfg.images_per_step
        meta = {**self.meta, "images_seen": images_seen, "train_seconds": round(seconds, 1)}
        checkpoint.save(directory or self.folder, step, self.gan.state_variables(), meta, keep=keep or self.keep)
        if directory is None:
            self.last_step = step


class Evaluator(Hook):
    """Validation FID/KID of fixed-z samples every `every` steps; keeps the best checkpoint in checkpoints/best.

    GANs often get worse late in training, so the best checkpoint by validation FID is the one to export. The
    rows are `dcgan select`'s (evaluation.scoring.validation_row), so select reuses them.
    """

    def __init__(self, gan: DCGAN, run_dir: Path, val: Path, saver: Checkpointer, writer) -> None:
        super().__init__()
        from dcgan.evaluation import BestCheckpoint, EvalLog, get_extractor, reference_stats

        cfg = gan.cfg
        self.gan, self.saver, self.writer = gan, saver, writer
        self.every = cfg.eval_every
        self.extractor = get_extractor(cfg.eval_extractor)
        self.reference = reference_stats(Cache.open(val), self.extractor)
        self.z = fixed_z(cfg, cfg.eval_samples)
        self.log = EvalLog(run_dir / "evals.jsonl")
        self.best = BestCheckpoint(run_dir / "checkpoints" / "best")

    def after_step(self, step: int, logs: dict | None = None) -> None:
        if step % self.every == 0 and step > self.gan.cfg.d_warmup:  # G rests in the warm-up: nothing new to score
            self.evaluate(step)

    def evaluate(self, step: int) -> dict:
        from dcgan.evaluation import validation_row

        def generate(z: np.ndarray) -> np.ndarray:
            return to_uint8(self.gan.sampler(z, training=False))

        weights = "g_ema" if self.gan.generator_ema is not None else "generator"
        row = validation_row(
            generate,
            self.z,
            self.reference,
            self.extractor,
            step=step,
            weights=weights,
            z_seed=self.gan.cfg.seed,
            by="dcgan train",
        )
        self.log.append(row)
        with self.writer.as_default(step=step):
            tf.summary.scalar("val/fid", row["fid"])
            tf.summary.scalar("val/kid", row["kid"])
        self.best.offer(row, lambda folder: self.saver.save(step, directory=folder, keep=1))
        tqdm.write(
            f"step {step}: val FID {row['fid']:.2f}, KID {row['kid']:.4f} ({self.extractor.name}); "
            f"best FID {self.best.row['fid']:.2f} at step {self.best.row['step']}"
        )
        return row
