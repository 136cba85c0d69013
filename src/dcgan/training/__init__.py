"""Training a DCGAN run, one concern per module:

- `run_dir`: the run directory: its saved config against the asked one, log rows a resume redoes, the val split.
- `start`: where the weights start (fresh, the latest checkpoint, an exported bundle) and what checkpoints record.
- `hooks`: side work after every step: progress, logs, collapse watch, checkpoints, sample grids, validation.
- `loop`: `train`, the deterministic steps with prefetching, signals and the distributed stop.
"""

from dcgan.training.loop import set_precision, train

__all__ = ["set_precision", "train"]
