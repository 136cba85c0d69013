"""`train`: a run from its data and run dir to its last checkpoint, one deterministic step after another."""

from __future__ import annotations

import math
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import tensorflow as tf
from tqdm import tqdm

from dcgan import checkpoint
from dcgan.config import Config
from dcgan.data import BatchSource, Cache
from dcgan.errors import ConfigError
from dcgan.model import DCGAN
from dcgan.training.hooks import Checkpointer, CollapseWatch, Evaluator, Hook, ProgressBar, SampleGrid, ScalarLogger
from dcgan.training.run_dir import default_val, prepare_run_dir
from dcgan.training.start import run_meta, starting_point


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


def set_precision(cfg: Config) -> None:
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if cfg.mixed_precision == "bf16" else "float32")


def total_steps(cfg: Config, steps_per_epoch: int) -> int:
    if cfg.steps:
        return cfg.steps
    if cfg.epochs:
        return math.ceil(cfg.epochs * steps_per_epoch)
    raise ConfigError("say how long to train: --steps N or --epochs N")


def open_data(cfg: Config, data: Path, val: Path | None) -> tuple[Cache, Path | None]:
    """The training cache and the validation split (default: the one beside a train split), both checked
    against the model's image shape."""
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
    return cache, val


def chief_hooks(
    gan: DCGAN,
    run_dir: Path,
    val: Path | None,
    writer: tf.summary.SummaryWriter,
    meta: dict,
    steps: int,
    start: int,
    progress: bool,
    score_start: bool,
) -> list[Hook]:
    """The chief's side work, in the order it runs after each step (and at the end). With `score_start` (a
    fine-tuning run's first start), the starting weights get their sample grid and score, for comparison and as
    the best to beat."""
    cfg = gan.cfg
    saver = Checkpointer(gan, run_dir, cfg.checkpoint_every, cfg.keep_checkpoints, meta)
    grid = SampleGrid(gan, run_dir, cfg.sample_every, writer, start)
    evaluator = Evaluator(gan, run_dir, val, saver, writer) if cfg.eval_every else None
    if score_start:
        grid.write(start)
        if evaluator is not None:
            evaluator.evaluate(start)
    hooks = [
        ProgressBar(steps, start, cfg.images_per_step, progress),
        ScalarLogger(run_dir, cfg.log_every, writer),
        CollapseWatch(after=cfg.d_warmup),
        saver,
        grid,
    ]
    return hooks if evaluator is None else [*hooks, evaluator]


def run_steps(
    gan: DCGAN,
    steps: int,
    start: int,
    load: Callable[[int], object],
    step_fn: Callable | None,
    hooks: list[Hook],
    stop: GracefulStop,
    checkpoints: Path,
) -> tuple[dict[str, float], int, bool]:
    """Steps `start` … `steps` − 1, loading each batch in a thread while the previous step runs; stops early
    after a step when signalled (distributed: when any worker was). Returns (last logs, steps done, whether
    another worker's signal stopped this one). A non-finite loss stops the run, its checkpoints untouched."""
    cfg = gan.cfg
    logs: dict[str, float] = {}
    step = start
    agreed_stop = False  # distributed: some worker was signalled; all workers stop after the same step
    penalty: float | None = None
    with ThreadPoolExecutor(1) as loader:
        upcoming = loader.submit(load, step)
        while step < steps and not (agreed_stop if step_fn is not None else stop.signal is not None):
            images = upcoming.result()
            if step + 1 < steps:
                upcoming = loader.submit(load, step + 1)
            train_g = step >= cfg.d_warmup
            if step_fn is None:
                batch = (tf.constant(images), tf.constant(step, tf.int64))
                logs = {k: float(v) for k, v in gan.train_step(batch, train_g, cfg.r1_due(step)).items()}
            else:
                logs, agreed_stop = step_fn(images, step, stop.signal is not None, train_g, cfg.r1_due(step))
            if "r1" in logs:
                penalty = logs["r1"]
            elif penalty is not None:  # lazy R1 (cfg.r1_every): show the last penalty computed
                logs["r1"] = penalty
            if not all(math.isfinite(v) for v in logs.values()):
                kept = checkpoint.list_checkpoints(checkpoints)
                last = f"the last checkpoint (step {kept[-1][0]}) is kept" if kept else "no checkpoint yet"
                raise FloatingPointError(f"non-finite loss at step {step + 1}: {logs}; {last}")
            step += 1
            for hook in hooks:
                hook.after_step(step, logs)
    return logs, step, agreed_stop and stop.signal is None


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
    (see `dcgan.distributed`); None / "default" is the plain single-device loop. Each step draws
    `cfg.images_per_step` real images (batch_size per D update); checkpoints count them as `images_seen`.
    """
    from dcgan import distributed

    if isinstance(strategy, str):
        strategy = distributed.make_strategy(strategy)  # first: multi-worker collectives need a fresh runtime
    chief = distributed.is_chief(strategy)
    run_dir = Path(run_dir)
    cache, val = open_data(cfg, data, val)
    source_type = BatchSource if strategy is None else distributed.ShardedBatchSource
    source = source_type(cache.images, cfg.images_per_step, cfg.seed, cfg.flip)
    steps = total_steps(cfg, source.steps_per_epoch)
    changes = prepare_run_dir(run_dir, cfg, resume, force, chief)

    set_precision(cfg)
    keras.utils.set_random_seed(cfg.seed)  # the initial weights follow from the seed too
    if strategy is None:
        gan = DCGAN(cfg)
        step_fn = None
    else:
        with strategy.scope():  # variables of both models and optimizers are mirrored
            gan = DCGAN(cfg, synchronized_bn=True)
        step_fn = distributed.DistributedStep(strategy, gan, source)
    start, restored, fine_tuning = starting_point(gan, run_dir, resume, chief)
    meta = run_meta(cfg, data, cache, restored, changes, start, chief)
    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard")) if chief else None
    hooks = chief_hooks(gan, run_dir, val, writer, meta, steps, start, progress, fine_tuning) if chief else []
    load = source.batch if step_fn is None else step_fn.load
    with GracefulStop() as stop:
        logs, step, peer_stopped = run_steps(gan, steps, start, load, step_fn, hooks, stop, run_dir / "checkpoints")
    for hook in hooks:  # the final checkpoint and sample grid
        hook.end(step, logs)
    if writer is not None:
        writer.flush()
    interrupted = stop.signal is not None or peer_stopped
    if interrupted:
        cause = "a peer worker's signal" if peer_stopped else f"signal {stop.signal}"
        tqdm.write(f"stopped by {cause} at step {step}; checkpoint written, resume with --resume", file=sys.stderr)
    return {**logs, "step": step, "interrupted": interrupted}
