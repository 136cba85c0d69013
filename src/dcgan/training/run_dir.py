"""A run directory: its saved config against the asked one, the log rows a resume redoes, the val split beside."""

from __future__ import annotations

import json
from pathlib import Path

from dcgan import checkpoint
from dcgan.atomic import write_text_atomic
from dcgan.config import RESUMABLE_FIELDS, TRAINING_KNOBS, Config
from dcgan.config import load as load_config
from dcgan.errors import ConfigError

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


def prepare_run_dir(run_dir: Path, cfg: Config, resume: bool, force: bool, chief: bool) -> dict[str, list]:
    """`check_run_dir`, then (on the chief, which owns the run dir) create it and save the config; returns the
    training fields a resume changes. Other workers only check, and only when they resume."""
    changes = check_run_dir(run_dir, cfg, resume, force) if chief or resume else {}
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg.save(run_dir / "config.json")
    return changes


def default_val(data: Path) -> Path | None:
    """The val split beside a train split (data/x/train → data/x/val), if there is one."""
    data = Path(data)
    candidate = data.parent / "val"
    return candidate if data.name == "train" and (candidate / "images.npy").exists() else None
