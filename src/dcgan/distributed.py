"""`dcgan train --strategy`: data-parallel training with `tf.distribute`.

* `default`: no strategy, the plain single-device loop (`DCGAN.train_step`), unchanged.
* `mirrored`: `tf.distribute.MirroredStrategy` over every GPU of this host (or its CPU when it has none).
* `multiworker`: `tf.distribute.MultiWorkerMirroredStrategy` over several processes/hosts described by the
  `TF_CONFIG` environment variable (one process per host, each over all of its local devices).
* `tpu`: `tf.distribute.TPUStrategy` on the TPU named by `$TPU_NAME` (or `local` on a TPU VM). Written to the
  documented API but not run here (no TPU): on a machine without one it stops with a clear error.

Semantics, identical on every strategy:

* `batch_size` is the *global* batch: R replicas each get `batch_size / R` images (it must divide). Replica r
  takes rows r::R of every `batch_size` chunk of BatchSource's deterministic batch (one chunk per `d_steps`), so
  the replicas together see exactly the images, flips and z of the single-device step, and a resumed run sees the
  same data whatever the strategy. Under `multiworker` each worker reads from the memory-mapped cache only the rows
  of its own replicas (a disjoint split: with one replica per worker, rows worker_index::num_workers).
* Losses are per-example losses summed over a replica's rows and divided by the global batch
  (`tf.nn.compute_average_loss`); the optimizers all-reduce (sum) the gradients, so every update follows the
  gradient of the global-batch mean. Logged losses and D(x), D(G(z)) are SUM-reduced shares, i.e. global means.
* BatchNormalization is *synchronized* under `mirrored` and `multiworker` (`BatchNormalization(synchronized=True)`):
  batch statistics are all-reduced over the global batch, so a distributed step normalises the same batch a single
  device would and results do not depend on the number of replicas. This costs three small all-reduces per BN
  layer per forward pass. (Keras' default, per-replica statistics, would make the model depend on the per-replica
  batch size and, with small per-replica batches, destabilise the discriminator.) The `default` strategy keeps
  the plain, unsynchronized layers. The variables are the same, so checkpoints resume across strategies.
* Only the chief (task `chief`, or `worker` 0 when the cluster has no chief) writes checkpoints, samples,
  metrics.jsonl, evals and TensorBoard; other workers write nothing. The run dir must be on a filesystem that every
  worker sees (NFS, a mounted bucket...): with `--resume` every worker restores the chief's latest checkpoint.
* A SIGINT/SIGTERM on any worker stops all of them after the same step (the stop flag is all-reduced every step),
  and the chief writes a checkpoint. If a worker dies (SIGKILL, lost host), the others block in the next collective
  op: stop them all and restart every worker with `--resume`.
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from dcgan.data import BatchSource
from dcgan.errors import ConfigError

STRATEGIES = ("default", "mirrored", "multiworker", "tpu")


def make_strategy(name: str) -> tf.distribute.Strategy | None:
    """The strategy for `--strategy NAME` (None for `default`); call it before any other TensorFlow work."""
    if name == "default":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ConfigError("--strategy multiworker needs TF_CONFIG (the cluster and this worker's task)")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as exc:
            raise ConfigError(f"TF_CONFIG is not valid JSON: {exc}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ.get("TPU_NAME", ""))
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.OpError) as exc:
            raise ConfigError(
                f"--strategy tpu found no TPU ({exc}); set TPU_NAME, or TPU_NAME=local on a TPU VM"
            ) from None
        return tf.distribute.TPUStrategy(resolver)
    raise ConfigError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """Whether this process writes the run's outputs (always true outside multi-worker training)."""
    return strategy is None or bool(strategy.extended.should_checkpoint)


def replica_positions(batch_size: int, d_steps: int, replica: int, num_replicas: int) -> np.ndarray:
    """Positions in BatchSource's batch of `batch_size * d_steps` rows that replica `replica` trains on."""
    return np.concatenate([i * batch_size + np.arange(replica, batch_size, num_replicas) for i in range(d_steps)])


class ShardedBatchSource(BatchSource):
    """BatchSource that can read only some rows of batch k (the same rows, flips included, as `batch(k)`)."""

    def rows(self, step: int, positions: np.ndarray) -> np.ndarray:
        epoch, offset = divmod(step, self.steps_per_epoch)
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.images))
            self._perm_epoch = epoch
        index = np.sort(self._perm[offset * self.batch_size : (offset + 1) * self.batch_size])
        batch = self.images[index[positions]]  # only these rows are read from the memory-mapped cache
        if self.flip:
            mask = np.random.default_rng([self.seed, epoch, offset, 1]).random(len(index)) < 0.5
            mask = mask[positions]
            batch[mask] = batch[mask, :, ::-1]
        return batch


class DistributedStep:
    """Reads this worker's replicas' rows of batch k and runs `DCGAN.replica_step` on every replica."""

    def __init__(self, strategy: tf.distribute.Strategy, gan, source: ShardedBatchSource) -> None:
        cfg = gan.cfg
        self.strategy, self.gan, self.source = strategy, gan, source
        self.num_replicas = strategy.num_replicas_in_sync
        if cfg.batch_size % self.num_replicas:
            raise ConfigError(
                f"batch size {cfg.batch_size} (the global batch) must be a multiple of the "
                f"{self.num_replicas} replicas in sync"
            )
        local: list[int] = []

        def record(context: tf.distribute.InputReplicaContext) -> tf.Tensor:
            local.append(int(context.replica_id_in_sync_group))
            return tf.zeros(())

        strategy.experimental_distribute_values_from_function(record)
        self.local_replicas = local
        self.positions = {
            r: replica_positions(cfg.batch_size, cfg.d_steps, r, self.num_replicas) for r in self.local_replicas
        }
        self._step = tf.function(self._distributed_step)

    def load(self, step: int) -> dict[int, np.ndarray]:
        """The images of this process's replicas for step `step` (safe to call in a loader thread)."""
        return {r: self.source.rows(step, positions) for r, positions in self.positions.items()}

    def __call__(
        self, shards: dict[int, np.ndarray], step: int, stop: bool, train_g: bool = True, r1: bool = True
    ) -> tuple[dict[str, float], bool]:
        """One global step (D only unless `train_g`, R1 if `r1`); returns the global logs and whether any worker
        asked to stop."""
        images = self.strategy.experimental_distribute_values_from_function(
            lambda context: tf.constant(shards[context.replica_id_in_sync_group])
        )
        logs, stops = self._step(images, tf.constant(step, tf.int64), tf.constant(float(stop)), train_g, r1)
        return {k: float(v) for k, v in logs.items()}, float(stops) > 0

    def _distributed_step(self, images, step: tf.Tensor, stop: tf.Tensor, train_g: bool, r1: bool):
        strategy = self.strategy
        per_replica = strategy.run(self.gan.replica_step, args=(images, step, train_g, r1))
        if train_g:
            self.gan.update_ema(step)
        logs = {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for k, v in per_replica.items()}
        stops = strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(tf.identity, args=(stop,)), axis=None)
        return logs, stops
