"""Atomic, pickle-free checkpoints: every variable of G, D and both optimizers plus the step."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from dcgan.atomic import atomic_path
from dcgan.errors import CheckpointError

CHECKPOINT_RE = re.compile(r"^ckpt-(\d{9})\.npz$")


def checkpoint_path(directory: Path, step: int) -> Path:
    return Path(directory) / f"ckpt-{step:09d}.npz"


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """(step, path) of the complete checkpoints in a folder, oldest first (temp files are ignored)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), directory / name) for name in os.listdir(directory) if (m := CHECKPOINT_RE.match(name))]
    return sorted(found)


def save(directory: Path, step: int, variables: dict[str, list], meta: dict, keep: int | None = None) -> Path:
    """Write variables + meta atomically (`dcgan.atomic`: temp file, fsync, rename), then prune to the last `keep`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {f"{group}/{i}": np.asarray(v) for group, vs in variables.items() for i, v in enumerate(vs)}
    arrays["meta"] = np.frombuffer(json.dumps({**meta, "step": step}).encode(), dtype=np.uint8)
    final = checkpoint_path(directory, step)
    with atomic_path(final) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    if keep:
        for _, old in list_checkpoints(directory)[:-keep]:
            old.unlink(missing_ok=True)
    return final


def read(path: Path) -> tuple[dict[str, list[np.ndarray]], dict]:
    """Arrays grouped as they were saved, and the meta dict."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            groups: dict[str, list[np.ndarray]] = {}
            for key in sorted(
                (k for k in data.files if k != "meta"), key=lambda k: (k.split("/")[0], int(k.split("/")[1]))
            ):
                groups.setdefault(key.split("/")[0], []).append(data[key])
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable: {exc}") from None
    return groups, meta


def groups_in(path: Path) -> set[str]:
    """The variable groups a checkpoint holds (reads the archive's index, not its arrays)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key.split("/")[0] for key in data.files if key != "meta"}
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable: {exc}") from None


def restore(path: Path, variables: dict[str, list], groups: tuple[str, ...] | None = None) -> dict:
    """Assign saved arrays to `variables` (all groups, or only `groups`); returns the meta dict."""
    saved, meta = read(path)
    for group in groups or tuple(variables):
        targets, arrays = variables[group], saved.get(group, [])
        if len(targets) != len(arrays):
            raise CheckpointError(
                f"checkpoint {path} has {len(arrays)} {group} variables, the model has {len(targets)}"
            )
        for variable, array in zip(targets, arrays, strict=True):
            if tuple(variable.shape) != array.shape:
                raise CheckpointError(
                    f"checkpoint {path}: {group} variable {variable.path} has shape "
                    f"{tuple(variable.shape)}, saved {array.shape}"
                )
            variable.assign(array)
    return meta


def resolve(directory: Path, step: int | None = None) -> Path:
    """The checkpoint for `step`, or the latest one."""
    found = list_checkpoints(directory)
    if not found:
        raise CheckpointError(f"no checkpoint in {directory}")
    if step is None:
        return found[-1][1]
    for s, path in found:
        if s == step:
            return path
    raise CheckpointError(f"no checkpoint for step {step} in {directory}; have {[s for s, _ in found]}")
