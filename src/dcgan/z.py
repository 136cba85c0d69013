"""The z contract in code: what a model's noise vector z is, and z drawn, checked and clipped in one place.

A contract is `Config.z_contract()`, saved as `z` in every model.json: {"dim", "prior", "low", "high"}. z holds
`dim` numbers from the `prior`: "uniform" on [low, high], or "normal", the standard normal, for which [low, high]
is ±3σ. [low, high] is the range a person may dial in: the HTTP API refuses z outside it and the page's sliders
span it. It is not a limit of the model: a normal prior's own samples pass ±3σ now and then (about one vector of
100 numbers in four), so the Python API (`FaceGenerator.generate`) checks only the shape and finiteness of z.

Truncation trades variety for realism (the "truncation trick" of Brock et al. 2019 and Karras et al. 2019): z drawn
from the prior is pulled toward the prior's centre, z ← c + ψ·(z − c) with ψ in (0, 1] (1: the prior itself). The
same seed keeps its direction at every ψ, so one face moves from typical to distinctive as ψ goes from 0 to 1.

Training draws z with `sample_z_stateless`, a pure function of a TensorFlow stateless seed (a resumed run draws
exactly the z of an uninterrupted one); everything else draws with `sample_z` (NumPy, seeded), except the face of
a seed a person types (`/api/random?seed=`, the page's seed box): `seeded_z`, whose small portable generator the
page runs too, so a seed shows the same face whether the browser or the server makes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from dcgan.config import Config
from dcgan.errors import ModelError

ZContract = Mapping[str, Any]
# salt of the seed of a run's fixed z (sample grids, validation scores), apart from every other draw of its seed
FIXED_Z_SALT = 2024


def contract_of(source: Config | ZContract) -> ZContract:
    """The z contract of a config, or `source` itself when it already is one."""
    return source.z_contract() if isinstance(source, Config) else source


def sample_z_stateless(source: Config | ZContract, batch: int | tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """batch×dim float32 z from the prior, a pure function of the stateless `seed` (shape [2])."""
    contract = contract_of(source)
    shape = tf.stack([batch, contract["dim"]])
    if contract["prior"] == "uniform":
        return tf.random.stateless_uniform(shape, seed, minval=contract["low"], maxval=contract["high"])
    return tf.random.stateless_normal(shape, seed)


def sample_z(
    source: Config | ZContract, n: int, seed: int | Sequence[int] | None = None, truncation: float = 1.0
) -> np.ndarray:
    """n×dim float32 z from the prior, drawn by NumPy's default generator seeded with `seed` (None: fresh), then
    pulled toward the prior's centre by `truncation` (see `truncate`)."""
    contract = contract_of(source)
    rng = np.random.default_rng(seed)
    shape = (n, contract["dim"])
    if contract["prior"] == "uniform":
        z = rng.uniform(contract["low"], contract["high"], shape).astype(np.float32)
    else:
        z = rng.standard_normal(shape).astype(np.float32)
    return truncate(contract, z, truncation)


def _mulberry32(seed: int):
    """mulberry32 (Tommy Ettinger, public domain): uniform floats in [0, 1), as the page's `seededRandom` gives them."""
    state = seed & 0xFFFFFFFF

    def imul(a: int, b: int) -> int:
        return (a * b) & 0xFFFFFFFF

    def next_float() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = imul(state ^ (state >> 15), state | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return next_float


def seeded_z(source: Config | ZContract, seed: int, truncation: float = 1.0) -> np.ndarray:
    """The z (dim, float32) of a seed a person types: the page's `sampleZ`, number for number.

    mulberry32 draws in float64: uniform low + (high − low)·u, or Box–Muller for the normal prior; then
    c + ψ·(z − c), clipped into [low, high] and rounded to float32, in that order, as the page does.
    """
    contract = contract_of(source)
    psi = check_truncation(truncation)
    random = _mulberry32(seed)
    low, high = contract["low"], contract["high"]

    def normal() -> float:
        u = 0.0
        while u == 0.0:
            u = random()
        return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * random())

    draw = normal if contract["prior"] == "normal" else lambda: low + (high - low) * random()
    z = np.array([draw() for _ in range(contract["dim"])], np.float64)
    centre = (low + high) / 2
    return np.clip(centre + psi * (z - centre), low, high).astype(np.float32)


def check_truncation(truncation: float) -> float:
    """ψ as a float, or a ModelError unless 0 < ψ ≤ 1."""
    if not (isinstance(truncation, int | float) and 0 < truncation <= 1):
        raise ModelError(f"truncation must be in (0, 1] (1: no truncation), got {truncation!r}")
    return float(truncation)


def truncate(source: Config | ZContract, z: np.ndarray, truncation: float) -> np.ndarray:
    """z pulled toward the centre c of the prior's range: c + ψ·(z − c), as float32 (ψ = 1 returns z)."""
    contract = contract_of(source)
    psi = check_truncation(truncation)
    z = np.asarray(z, dtype=np.float32)
    if psi == 1.0:
        return z
    centre = (contract["low"] + contract["high"]) / 2
    return (centre + psi * (z - centre)).astype(np.float32)


def prior_std(source: Config | ZContract) -> float:
    """The prior's standard deviation along any unit direction (its coordinates are independent and alike):
    (high − low)/√12 for a uniform prior, 1 for the standard normal."""
    contract = contract_of(source)
    if contract["prior"] == "uniform":
        return (contract["high"] - contract["low"]) / math.sqrt(12)
    return 1.0


def fixed_z(cfg: Config, n: int = 64) -> np.ndarray:
    """A run's fixed z, for its sample grids and validation scores: drawn from the config's prior and seed."""
    return sample_z(cfg, n, [cfg.seed, FIXED_Z_SALT])


def check_z(source: Config | ZContract, z: Any, what: str = "z", within_range: bool = True) -> np.ndarray:
    """`z` (one vector or a batch) as an n×dim float32 array, or a ModelError naming what is wrong with it.

    Refused: a shape other than dim or n×dim, NaN or infinite values (also values beyond float32), and, when
    `within_range`, values outside the contract's [low, high]. `what` names z in the messages ("a", "b"...).
    """
    contract = contract_of(source)
    dim = contract["dim"]
    try:
        array = np.asarray(z, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(f"{what} must hold vectors of {dim} numbers, got ragged or non-numeric values") from None
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != dim:
        raise ModelError(f"{what} must hold vectors of {dim} numbers, got shape {list(array.shape)}")
    with np.errstate(over="ignore"):
        single = array.astype(np.float32)
    if len(bad := np.argwhere(~np.isfinite(single))):
        row, col = bad[0]
        raise ModelError(
            f"{what} contains NaN or infinite values (as float32): {what}[{row}][{col}] = {array[row, col]:g}"
        )
    if within_range and len(bad := np.argwhere(outside(contract, array))):
        row, col = bad[0]
        raise ModelError(
            f"{what}[{row}][{col}] = {array[row, col]:g} is outside the prior's range "
            f"[{contract['low']:g}, {contract['high']:g}] ({contract['prior']})"
        )
    return single


def outside(source: Config | ZContract, z: np.ndarray) -> np.ndarray:
    """Which values of z lie outside the contract's [low, high] (a boolean array of z's shape)."""
    contract = contract_of(source)
    z = np.asarray(z)
    return (z < contract["low"]) | (z > contract["high"])


def clip_z(source: Config | ZContract, z: np.ndarray) -> np.ndarray:
    """z clipped into the contract's [low, high] (e.g. a slerp that bulges past it), as float32."""
    contract = contract_of(source)
    return np.clip(np.asarray(z, dtype=np.float32), contract["low"], contract["high"])


def rescale_z(source: Config | ZContract, z: np.ndarray) -> tuple[np.ndarray, float]:
    """One z pulled toward the prior's centre (`truncate`) just enough that every value is in [low, high], and
    the factor ψ ≤ 1 it was pulled by (1: z was in range). Unlike `clip_z`, it keeps z's direction from the centre."""
    contract = contract_of(source)
    centre, half = (contract["low"] + contract["high"]) / 2, (contract["high"] - contract["low"]) / 2
    reach = float(np.max(np.abs(np.asarray(z, np.float64) - centre)))
    psi = half / reach if reach > half else 1.0
    return clip_z(contract, truncate(contract, z, psi)), psi  # clip_z: only float32 rounding can still pass the range


def json_schema(source: Config | ZContract) -> dict[str, Any]:
    """The JSON schema of one z of the contract: `dim` numbers in [low, high] (what `check_z` accepts)."""
    contract = contract_of(source)
    dim, low, high = contract["dim"], contract["low"], contract["high"]
    return {
        "type": "array",
        "items": {"type": "number", "minimum": low, "maximum": high},
        "minItems": dim,
        "maxItems": dim,
        "description": f"{dim} numbers in [{low:g}, {high:g}] ({contract['prior']} prior)",
    }
