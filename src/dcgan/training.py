"""The training loop: deterministic batches, side work in callbacks, atomic resumable checkpoints."""

from __future__ import annotations

import json
import math
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from dcgan import checkpoint
from dcgan.config import (
    RESUMABLE_FIELDS,
    TRAINING_KNOBS,
    Config,
    ConfigError,
    write_text_atomic,
)
from dcgan.config import load as load_config
from dcgan.data import BatchSource, Cache
from dcgan.images import make_grid, save_png, to_uint8
from dcgan.model import DCGAN


def set_precision(cfg: Config) -> None:
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if cfg.mixed_precision == "bf16" else "float32")


def fixed_z(cfg: Config, n: int = 64) -> np.ndarray:
    """The z of the sample grids: drawn once from the config's prior and seed."""
    rng = np.random.default_rng([cfg.seed, 2024])
    if cfg.z_prior == "uniform":
        return rng.uniform(-1.0, 1.0, (n, cfg.z_dim)).astype(np.float32)
    return rng.standard_normal((n, cfg.z_dim)).astype(np.float32)


LOGS = ("metrics.jsonl", "evals.jsonl")


def drop_rows_after(run_dir: Path, step: int) -> int:
    """Drop the rows of the run's logs past `step` (an interrupted run's, whose steps a resume redoes); returns
    how many. As TensorBoard purges orphaned events: each step is logged once, by the weights that persist.
    A best checkpoint from past `step` stays, its score in its best.json."""
    dropped = 0
    for name in LOGS:
        path = run_dir / name
        if not path.exists():
            continue
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        kept = [line for line in lines if json.loads(line)["step"] <= step]
        if len(kept) < len(lines):
            write_text_atomic(path, "".join(f"{line}\n" for line in kept))
            dropped += len(lines) - len(kept)
    return dropped


def check_run_dir(run_dir: Path, cfg: Config, resume: bool, force: bool) -> dict[str, list]:
    """Make the run dir's saved config and the requested one agree.

    Returns the training fields a resume changes ({field: [old, new]}, e.g. a decayed learning rate).
    """
    saved_path = run_dir / "config.json"
    if not saved_path.exists():
        if resume:
            raise ConfigError(f"--resume given but {run_dir} holds no run (no config.json)")
        return {}
    old, new = load_config(saved_path).to_dict(), cfg.to_dict()
    differ = sorted(k for k in new if k not in RESUMABLE_FIELDS and old[k] != new[k])
    if differ and not force:
        details = ", ".join(f"{k}: run has {old[k]!r}, asked {new[k]!r}" for k in differ)
        raise ConfigError(
            f"run dir {run_dir} belongs to a different config ({details}); "
            "use another --run-dir, or --force to start over there"
        )
    latest = checkpoint.list_checkpoints(run_dir / "checkpoints")
    if latest and not resume and not force:
        raise ConfigError(
            f"run dir {run_dir} already has checkpoints up to step {latest[-1][0]}; "
            "pass --resume to continue it or --force to start over"
        )
    if force and not resume:
        for _, path in latest:
            path.unlink()
        return {}
    return {k: [old[k], new[k]] for k in TRAINING_KNOBS if old[k] != new[k]}


class GracefulStop:
    """Turns SIGINT / SIGTERM into a flag so the loop can checkpoint before exiting."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __enter__(self) -> GracefulStop:
        self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def _handle(self, signum: int, _frame) -> None:
        self.signal = signum

    def __exit__(self, *_exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


class ProgressBar(keras.callbacks.Callback):
    """tqdm bar with losses, D(x), D(G(z)) and images/s."""

    def __init__(self, total: int, initial: int, batch_size: int, enabled: bool = True) -> None:
        super().__init__()
        self.bar = tqdm(
            total=total, initial=initial, desc="train", unit="step", disable=not enabled, dynamic_ncols=True
        )
        self.batch_size = batch_size
        self.last = time.perf_counter()
        self.rate = 0.0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        rate = self.batch_size / max(now - self.last, 1e-9)
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

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()


class ScalarLogger(keras.callbacks.Callback):
    """Losses every `every` steps to TensorBoard and to metrics.jsonl."""

    def __init__(self, run_dir: Path, every: int, writer: tf.summary.SummaryWriter) -> None:
        super().__init__()
        self.path, self.every, self.writer = run_dir / "metrics.jsonl", every, writer

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if batch % self.every:
            return
        with self.writer.as_default(step=batch):
            for key, value in logs.items():
                tf.summary.scalar(key, value)
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": batch, **{k: round(float(v), 5) for k, v in logs.items()}}) + "\n")


class CollapseWatch(keras.callbacks.Callback):
    """Warns once when D has rejected nearly every fake for a while, the usual sign of a collapsed run.

    A running mean of D(G(z)) (decay 0.98 per step) stayed above 0.04 through the shipped run's healthy
    14,900 steps; its collapse after that drove it to 0.004. Replayed on that run's progress-bar logs, this
    watch fires once, at step 15,176, dating the onset to step 14,914.
    """

    def __init__(self, threshold: float = 0.01, patience: int = 100, decay: float = 0.98) -> None:
        super().__init__()
        self.threshold, self.patience, self.decay = threshold, patience, decay
        self.mean: float | None = None
        self.onset: int | None = None  # first step of the current stretch below 5 × threshold
        self.low_since: int | None = None  # first step of the current stretch below the threshold
        self.warned = False

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        fake = float(logs["d_fake"])
        self.mean = fake if self.mean is None else self.decay * self.mean + (1 - self.decay) * fake
        if self.mean >= 5 * self.threshold:
            self.onset, self.low_since, self.warned = None, None, False
            return
        self.onset = batch if self.onset is None else self.onset
        if self.mean >= self.threshold:
            self.low_since = None
            return
        self.low_since = batch if self.low_since is None else self.low_since
        if not self.warned and batch - self.low_since >= self.patience:
            self.warned = True
            tqdm.write(
                f"warning: D has rejected nearly every fake since about step {self.onset} (running mean of D(G(z)) "
                f"{self.mean:.4f} at step {batch}): training has probably collapsed. Check the sample grids; to back "
                f"out, resume a copy of the run from a checkpoint before step {self.onset} with a change such as "
                "--label-smoothing 0.1 or a lower --lr-d (see the README)",
                file=sys.stderr,
            )


class SampleGrid(keras.callbacks.Callback):
    """A grid of G(fixed z) every `every` steps, as PNG and in TensorBoard."""

    def __init__(self, gan: DCGAN, run_dir: Path, every: int, writer: tf.summary.SummaryWriter) -> None:
        super().__init__()
        self.gan, self.every, self.writer = gan, every, writer
        self.folder = run_dir / "samples"
        self.z = fixed_z(gan.cfg)
        self.folder.mkdir(parents=True, exist_ok=True)
        np.save(self.folder / "z.npy", self.z)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if batch % self.every == 0:
            self.write(batch)

    def write(self, step: int) -> None:
        images = to_uint8(self.gan.sampler(self.z, training=False))
        grid = make_grid(images)
        save_png(grid, self.folder / f"step_{step:09d}.png")
        with self.writer.as_default(step=step):
            tf.summary.image("samples", grid[None], max_outputs=1)


class Checkpointer(keras.callbacks.Callback):
    """Atomic checkpoint every `every` steps, keeping the last `keep`."""

    def __init__(self, gan: DCGAN, run_dir: Path, every: int, keep: int, meta: dict) -> None:
        super().__init__()
        self.gan, self.every, self.keep, self.meta = gan, every, keep, meta
        self.folder = run_dir / "checkpoints"
        self.started = time.perf_counter()
        self.base_seconds = meta.get("train_seconds", 0.0)
        self.last_step = -1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if batch % self.every == 0:
            self.save(batch)

    def save(self, step: int, directory: Path | None = None, keep: int | None = None) -> None:
        """Checkpoint into the run's checkpoints (or `directory`, e.g. the best-checkpoint folder)."""
        if directory is None and step == self.last_step:
            return
        seconds = self.base_seconds + time.perf_counter() - self.started
        meta = {**self.meta, "images_seen": step * self.gan.cfg.batch_size, "train_seconds": round(seconds, 1)}
        checkpoint.save(directory or self.folder, step, self.gan.state_variables(), meta, keep=keep or self.keep)
        if directory is None:
            self.last_step = step


class Evaluator(keras.callbacks.Callback):
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

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if batch % self.every == 0 and batch > self.gan.cfg.d_warmup:  # G rests in the warm-up: nothing new to score
            self.evaluate(batch)

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


def start_from_bundle(gan: DCGAN, model_dir: Path) -> dict:
    """Load an exported generator into G and its average, and its discriminator, if any, into D (fine-tuning);
    returns what the checkpoints record of it, including, for a bundle that was itself fine-tuned, the bundle it
    started from (and so on back). D's optimizer starts fresh either way."""
    from dcgan.bundle import DISCRIMINATOR_FILE, assign_variables, load_generator

    source = load_generator(model_dir)
    ours, theirs = gan.cfg.model_dict(), source.config.model_dict()
    differ = [f"{k}: bundle has {theirs[k]!r}, run has {ours[k]!r}" for k in ours if ours[k] != theirs[k]]
    if differ:
        raise ConfigError(f"--init-generator {model_dir} does not fit this run's model ({'; '.join(differ)})")
    for variable, value in zip(gan.generator.variables, source.generator.variables, strict=True):
        variable.assign(value)
    if gan.generator_ema is not None:
        gan.reset_ema()
    with_d = gan.cfg.init_discriminator and (Path(model_dir) / DISCRIMINATOR_FILE).exists()
    if with_d:
        assign_variables(Path(model_dir) / DISCRIMINATOR_FILE, gan.discriminator.variables)
    provenance = source.info.get("provenance", {})
    meta = {
        "path": str(Path(model_dir).resolve()),
        **{k: provenance.get(k) for k in ("step", "images_seen", "train_seconds", "weights")},
        "discriminator": "the bundle's" if with_d else "fresh",
    }
    if "init_generator" in provenance:  # the bundle was fine-tuned itself: keep the whole chain of runs
        meta["init_generator"] = provenance["init_generator"]
    return meta


def total_steps(cfg: Config, steps_per_epoch: int) -> int:
    if cfg.steps:
        return cfg.steps
    if cfg.epochs:
        return math.ceil(cfg.epochs * steps_per_epoch)
    raise ConfigError("say how long to train: --steps N or --epochs N")


def default_val(data: Path) -> Path | None:
    """The val split beside a train split (data/x/train → data/x/val), if there is one."""
    data = Path(data)
    candidate = data.parent / "val"
    return candidate if data.name == "train" and (candidate / "images.npy").exists() else None


def train(
    cfg: Config,
    data: Path,
    run_dir: Path,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    val: Path | None = None,
    strategy: str | tf.distribute.Strategy | None = None,
) -> dict:
    """Train (or resume) a run; returns the final logs with the step reached.

    With `cfg.eval_every`, `val` (default: the val split beside a train split) scores the generator.
    `strategy` ("default", "mirrored", "multiworker" or a `tf.distribute.Strategy`) trains data-parallel
    (see `dcgan.distributed`); None / "default" is the plain single-device loop.
    """
    from dcgan import distributed

    if isinstance(strategy, str):
        strategy = distributed.make_strategy(strategy)  # first: multi-worker collectives need a fresh runtime
    chief = distributed.is_chief(strategy)
    run_dir = Path(run_dir)
    cache = Cache.open(data)
    cache.check_shape(cfg.image_size, cfg.channels)
    val = val or default_val(data)
    if cfg.eval_every and val is None:
        raise ConfigError(
            "--eval-every needs a validation split: pass --eval-data VAL_CACHE, or train on a "
            "split cache's train/ folder so its val/ is found"
        )
    if val is not None:
        Cache.open(val).check_shape(cfg.image_size, cfg.channels)
    source_type = BatchSource if strategy is None else distributed.ShardedBatchSource
    source = source_type(cache.images, cfg.batch_size * cfg.d_steps, cfg.seed, cfg.flip)
    steps = total_steps(cfg, source.steps_per_epoch)
    changes = check_run_dir(run_dir, cfg, resume, force) if chief or resume else {}
    if chief:  # other workers only check (the chief owns the run dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg.save(run_dir / "config.json")

    set_precision(cfg)
    keras.utils.set_random_seed(cfg.seed)  # the initial weights follow from the seed too
    if strategy is None:
        gan = DCGAN(cfg)
        step_fn = None
    else:
        with strategy.scope():  # variables of both models and optimizers are mirrored
            gan = DCGAN(cfg, synchronized_bn=True)
        step_fn = distributed.DistributedStep(strategy, gan, source)
    start, meta = 0, {}
    resuming = resume and bool(checkpoint.list_checkpoints(run_dir / "checkpoints"))
    if cfg.init_generator and not resuming:  # a resumed run's checkpoints record the bundle it started from
        meta["init_generator"] = start_from_bundle(gan, Path(cfg.init_generator))
    if resuming:
        latest = checkpoint.resolve(run_dir / "checkpoints")
        variables = gan.state_variables()
        missing_ema = "g_ema" in variables and "g_ema" not in checkpoint.groups_in(latest)
        groups = tuple(g for g in variables if not (missing_ema and g == "g_ema"))
        meta = checkpoint.restore(latest, variables, groups=groups)
        if missing_ema:  # a run from before the EMA (or with --g-ema 0) starts its average now
            gan.reset_ema()
            tqdm.write(f"{latest.name} has no EMA generator: the average starts from its weights", file=sys.stderr)
        start = meta["step"]
        if chief and (dropped := drop_rows_after(run_dir, start)):
            tqdm.write(f"resuming at step {start}: dropped {dropped} log rows of later steps", file=sys.stderr)
        gan.g_optimizer.learning_rate = cfg.lr_g  # the config's rates, not the saved ones: they may change
        gan.d_optimizer.learning_rate = cfg.lr_d
    history = meta.get("config_changes", [])
    if changes and start:
        history = [*history, {"step": start, **changes}]
        if chief:
            said = ", ".join(f"{k} {old!r} → {new!r}" for k, (old, new) in changes.items())
            tqdm.write(f"resuming at step {start} with {said} (recorded in the checkpoints)", file=sys.stderr)
    meta = {
        "data": str(Path(data).resolve()),
        "data_count": len(cache.images),
        "data_fingerprint": cache.manifest.get("fingerprint"),
        "config": cfg.to_dict(),
        "config_changes": history,
        "train_seconds": meta.get("train_seconds", 0.0),
        **({"init_generator": meta["init_generator"]} if "init_generator" in meta else {}),
    }
    if chief:
        writer = tf.summary.create_file_writer(str(run_dir / "tensorboard"))
        saver = Checkpointer(gan, run_dir, cfg.checkpoint_every, cfg.keep_checkpoints, meta)
        sampler = SampleGrid(gan, run_dir, cfg.sample_every, writer)
        callbacks = [
            ProgressBar(steps, start, cfg.batch_size, progress),
            ScalarLogger(run_dir, cfg.log_every, writer),
            CollapseWatch(),
            sampler,
            saver,
        ]
        evaluator = Evaluator(gan, run_dir, val, saver, writer) if cfg.eval_every else None
        if evaluator is not None:
            callbacks.append(evaluator)
        if cfg.init_generator and not resuming:  # the starting point, for comparison (and as `best` to beat)
            sampler.write(0)
            if evaluator is not None:
                evaluator.evaluate(0)
    else:  # a non-chief worker computes its share of every step and writes nothing
        callbacks = []
    load = source.batch if step_fn is None else step_fn.load
    logs: dict = {}
    step = start
    agreed_stop = False  # distributed: some worker was signalled; all workers stop after the same step
    with GracefulStop() as stop, ThreadPoolExecutor(1) as loader:
        upcoming = loader.submit(load, step)
        while step < steps and not (agreed_stop if step_fn is not None else stop.signal is not None):
            images = upcoming.result()
            if step + 1 < steps:
                upcoming = loader.submit(load, step + 1)
            train_g = step >= cfg.d_warmup
            if step_fn is None:
                batch = (tf.constant(images), tf.constant(step, tf.int64))
                logs = {k: float(v) for k, v in gan.train_step(batch, train_g).items()}
            else:
                logs, agreed_stop = step_fn(images, step, stop.signal is not None, train_g)
            if not all(math.isfinite(v) for v in logs.values()):
                last = saver.last_step if chief else "see the chief"
                raise FloatingPointError(
                    f"non-finite loss at step {step + 1}: {logs}; the last checkpoint (step {last}) is kept"
                )
            step += 1
            for callback in callbacks:
                callback.on_train_batch_end(step, logs)
    if agreed_stop and stop.signal is None:
        stop.signal = -1  # stopped because another worker was signalled
    if chief:
        saver.save(step)
        if step > start and step % cfg.sample_every:
            sampler.write(step)
        for callback in callbacks:
            callback.on_train_end(logs)
        writer.flush()
    if stop.signal is not None:
        cause = "a peer worker's signal" if stop.signal == -1 else f"signal {stop.signal}"
        tqdm.write(f"stopped by {cause} at step {step}; checkpoint written, resume with --resume", file=sys.stderr)
    return {**logs, "step": step, "interrupted": stop.signal is not None}
