"""Sampling modes: grids, interpolations, per-dimension sweeps, GIF walks and z arithmetic.

Each mode writes its picture, the exact z used (NAME_z.npy) and how it was made (NAME.json: the mode and its
settings), so any image can be reproduced.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dcgan.atomic import atomic_path, write_json_atomic, write_npy_atomic
from dcgan.bundle import FaceGenerator
from dcgan.errors import ConfigError
from dcgan.images import make_grid, save_png, to_pil, upscale
from dcgan.z import check_z


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return (1 - t)[:, None] * a + t[:, None] * b


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation (White 2016); falls back to lerp for (anti)parallel vectors."""
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp(a, b, t)
    return (np.sin((1 - t) * omega)[:, None] * a + np.sin(t * omega)[:, None] * b) / np.sin(omega)


def interpolate(a: np.ndarray, b: np.ndarray, steps: int, method: str = "linear") -> np.ndarray:
    if steps < 2:
        raise ConfigError(f"steps must be >= 2, got {steps}")
    if method not in ("linear", "spherical"):
        raise ConfigError(f"method must be 'linear' or 'spherical', got {method!r}")
    t = np.linspace(0.0, 1.0, steps)
    return (slerp if method == "spherical" else lerp)(np.asarray(a, np.float64), np.asarray(b, np.float64), t).astype(
        np.float32
    )


def sweep(base: np.ndarray, dim: int, low: float, high: float, steps: int) -> np.ndarray:
    """`steps` copies of `base` with dimension `dim` going from low to high."""
    if not 0 <= dim < base.shape[-1]:
        raise ConfigError(f"dim must be in [0, {base.shape[-1]}), got {dim}")
    z = np.repeat(base[None].astype(np.float32), steps, axis=0)
    z[:, dim] = np.linspace(low, high, steps)
    return z


def arithmetic(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """mean(A) − mean(B) + mean(C), the paper's section 6.3."""
    return (np.mean(a, axis=0) - np.mean(b, axis=0) + np.mean(c, axis=0)).astype(np.float32)


def read_z(spec: str, model: FaceGenerator) -> np.ndarray:
    """z vectors from a spec: comma-separated seeds ("3,17"), or a .npy / .json file of vectors."""
    path = Path(spec)
    if path.suffix in (".npy", ".json"):
        if not path.exists():
            raise ConfigError(f"z file {path} does not exist")
        z = np.load(path, allow_pickle=False) if path.suffix == ".npy" else np.asarray(json.loads(path.read_text()))
        return check_z(model.z_contract, z, within_range=False)
    try:
        seeds = [int(s) for s in spec.split(",")]
    except ValueError:
        raise ConfigError(f"z spec {spec!r} is neither seeds like '3,17' nor a .npy/.json file") from None
    return np.concatenate([model.sample_z(1, seed) for seed in seeds])


def save_z(out: Path, name: str, z: np.ndarray, info: dict) -> None:
    """The z of a picture (NAME_z.npy) and how it was made (NAME.json)."""
    out.mkdir(parents=True, exist_ok=True)
    write_npy_atomic(out / f"{name}_z.npy", z)
    write_json_atomic(out / f"{name}.json", {**info, "z_file": f"{name}_z.npy"})


def write_outputs(out: Path, name: str, picture: np.ndarray, z: np.ndarray, info: dict) -> Path:
    save_z(out, name, z, info)
    return save_png(picture, out / f"{name}.png")


def grid(model: FaceGenerator, out: Path, n: int = 8, seed: int = 0, scale: int = 1) -> Path:
    """n×n faces of the z drawn with `seed`, each enlarged `scale` times (Lanczos) for judging them by eye."""
    if not 1 <= scale <= 8:
        raise ConfigError(f"scale must be between 1 and 8, got {scale}")
    z = model.sample_z(n * n, seed)
    picture = make_grid(upscale(model.generate(z), scale), cols=n)
    return write_outputs(out, "grid", picture, z, {"mode": "grid", "seed": seed, "scale": scale})


def interpolation(
    model: FaceGenerator, out: Path, a: np.ndarray, b: np.ndarray, steps: int = 10, method: str = "linear"
) -> Path:
    z = interpolate(a, b, steps, method)
    picture = make_grid(model.generate(z), cols=steps)
    return write_outputs(out, f"interpolate_{method}", picture, z, {"mode": "interpolate", "method": method})


def direction_grid(
    model: FaceGenerator, out: Path, names: list[str] | None = None, seeds: int = 4, amounts: tuple = (-2, -1, 0, 1, 2)
) -> Path:
    """Faces × named directions: one row per direction, for each of `seeds` faces the edits by `amounts` steps."""
    names = names or [c["name"] for c in model.directions() if c["kind"] == "attribute"]
    base = model.sample_z(seeds, 0)
    rows = [np.stack([model.edit(base, {name: a}) for a in amounts], axis=1) for name in names]
    z = np.concatenate(rows).reshape(-1, base.shape[1])
    picture = make_grid(model.generate(z), cols=seeds * len(amounts))
    info = {"mode": "directions", "rows": names, "faces": seeds, "amounts": list(amounts), "z_seed": 0}
    return write_outputs(out, "directions", picture, z, info)


def dimension_sweep(model: FaceGenerator, out: Path, base: np.ndarray, dims: list[int], steps: int = 9) -> Path:
    low, high = model.z_contract["low"], model.z_contract["high"]
    z = np.concatenate([sweep(base, d, low, high, steps) for d in dims])
    picture = make_grid(model.generate(z), cols=steps)
    return write_outputs(out, "sweep", picture, z, {"mode": "sweep", "dims": dims, "low": low, "high": high})


def gif_walk(
    model: FaceGenerator,
    out: Path,
    keys: np.ndarray,
    steps: int = 16,
    method: str = "spherical",
    scale: int = 4,
    frame_ms: int = 60,
) -> Path:
    """An animated GIF through the key z vectors and back to the first (a seamless loop)."""
    if len(keys) < 2:
        raise ConfigError("a GIF walk needs at least two key z vectors")
    loop = np.concatenate([keys, keys[:1]])
    z = np.concatenate([interpolate(loop[i], loop[i + 1], steps + 1, method)[:-1] for i in range(len(keys))])
    frames = [to_pil(image) for image in upscale(model.generate(z), scale)]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "walk.gif"
    with atomic_path(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    save_z(out, "walk", z, {"mode": "gif", "method": method, "steps": steps, "frame_ms": frame_ms})
    return path


def vector_arithmetic(model: FaceGenerator, out: Path, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> Path:
    """Row of mean faces A, B, C and the result A − B + C."""
    result = arithmetic(a, b, c)
    z = np.stack([a.mean(0), b.mean(0), c.mean(0), result]).astype(np.float32)
    picture = make_grid(model.generate(z), cols=4)
    return write_outputs(
        out,
        "arithmetic",
        picture,
        z,
        {
            "mode": "arithmetic",
            "rows": ["mean A", "mean B", "mean C", "A - B + C"],
            "a": a.tolist(),
            "b": b.tolist(),
            "c": c.tolist(),
        },
    )
