"""Model bundles: a generator (and, to fine-tune from, optionally its discriminator) exported from a run; loaded
for sampling and serving."""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from dcgan import __version__, checkpoint
from dcgan.atomic import atomic_dir, write_json_atomic
from dcgan.config import MODEL_FIELDS, Config
from dcgan.config import load as load_config
from dcgan.errors import CheckpointError, ConfigError, ModelError, read_model_json
from dcgan.fingerprint import WEIGHTS_FILE, weights_digest
from dcgan.images import to_uint8
from dcgan.model import build_discriminator, build_generator, standing_statistics
from dcgan.provenance import relative, relative_chain
from dcgan.z import check_truncation, check_z, clip_z, sample_z

if TYPE_CHECKING:
    from dcgan.controls.runtime import Controls, Sampled
    from dcgan.inversion.runtime import Inverter

DISCRIMINATOR_FILE = "discriminator.npz"
BUNDLE_FILE = "model.json"
RESET_Z_SEED = 0  # seed of the candidates of `FaceGenerator.reset_z`
RESET_Z_CANDIDATES = 256


def narrow(array: np.ndarray, dtype: str) -> np.ndarray:
    """`array` as `dtype`, or as float32 if its values exceed that range (a BN moving variance of D can top
    float16's 65,504, which would turn into inf)."""
    fits = array.size == 0 or np.abs(array).max() <= np.finfo(dtype).max
    return array.astype(dtype if fits else np.float32)


def save_variables(path: Path, variables: list[tf.Variable], arrays: list[np.ndarray], dtype: str) -> list[str]:
    """Arrays as `dtype` (those out of its range as float32), keyed by their variables' paths (.npz, no pickle);
    returns the paths of the arrays stored in another dtype than `dtype`."""
    saved = {v.path: narrow(a, dtype) for v, a in zip(variables, arrays, strict=True)}
    np.savez(path, **saved)
    return [name for name, array in saved.items() if array.dtype != np.dtype(dtype)]


def assign_variables(path: Path, variables: list[tf.Variable]) -> None:
    """Assign each variable its array (as float32) from an .npz file written by `save_variables`; inf or NaN is
    an error."""
    with np.load(path, allow_pickle=False) as saved:
        for variable in variables:
            if variable.path not in saved:
                raise ModelError(f"{path} lacks weights for {variable.path}")
            array = saved[variable.path].astype(np.float32)
            if not np.isfinite(array).all():
                raise ModelError(f"{path}: {variable.path} holds non-finite values (re-export the bundle)")
            variable.assign(array)


def generator_group(groups: Iterable[str], raw: bool = False) -> str:
    """The checkpoint group to ship out of `groups`: the EMA generator ("g_ema") unless `raw` or there is none."""
    return "generator" if raw or "g_ema" not in groups else "g_ema"


def average_checkpoints(paths: list[Path], raw: bool = False) -> tuple[list[np.ndarray], dict, str]:
    """The generator arrays averaged over several checkpoints (float64 sums), the last one's meta, and the group."""
    total: list[np.ndarray] | None = None
    group: str | None = None
    for path in paths:
        saved, meta = checkpoint.read(path)
        kind = generator_group(saved, raw)
        if group is not None and kind != group:
            raise CheckpointError(
                f"only some of the checkpoints hold an EMA generator ({paths[0].name}: {group}, {path.name}: "
                f"{kind}): average the raw generators with --raw, or choose checkpoints of one kind"
            )
        group = kind
        arrays = [a.astype(np.float64) for a in saved.get(group, [])]
        if total is not None and [a.shape for a in arrays] != [a.shape for a in total]:
            raise CheckpointError(f"{path} holds another generator than {paths[0]}")
        total = arrays if total is None else [t + a for t, a in zip(total, arrays, strict=True)]
    return [(t / len(paths)).astype(np.float32) for t in total or []], meta, group


def continue_average(weights: list[np.ndarray], count: int, meta: dict, cfg: Config, weight: float) -> tuple:
    """The mean of `count` checkpoints' generators continued with the generator the run started from (its
    `--init-generator` bundle, itself often a mean), counted as `weight` checkpoints: Polyak averaging across the
    fine-tuning runs of one model. Returns the weights and what the provenance records of it."""
    start = meta.get("init_generator")
    if not start:
        raise ConfigError("averaging with the starting generator needs a run fine-tuned from a bundle (init_generator)")
    if "widened_from_gf" in start:
        raise ConfigError(
            f"the run widened the generator it started from (gf {start['widened_from_gf']} to {cfg.gf}): its weights "
            "cannot be averaged with that narrower one; average the run's own checkpoints (no --average-start)"
        )
    folder = Path(start["path"])
    if not (folder / WEIGHTS_FILE).exists():
        raise ConfigError(f"the bundle the run started from, {folder}, is gone")
    digest = weights_digest(folder / WEIGHTS_FILE)
    if start.get("generator_sha256", digest) != digest:
        raise ConfigError(f"{folder}'s generator is no longer the one the run started from (its weights changed)")
    generator = build_generator(cfg)
    assign_variables(folder / WEIGHTS_FILE, generator.variables)
    blended = [
        ((count * a + weight * v.numpy().astype(np.float64)) / (count + weight)).astype(np.float32)
        for a, v in zip(weights, generator.variables, strict=True)
    ]
    return blended, {"path": relative(folder), "generator_sha256": digest, "weight": weight, "checkpoints": count}


def export(
    run_dir: Path,
    out: Path,
    step: int | None = None,
    dtype: str = "float16",
    extra: dict | None = None,
    best: bool = False,
    average: list[int] | None = None,
    raw: bool = False,
    standing_stats: int = 0,
    discriminator: bool = False,
    init_weight: float = 0.0,
) -> Path:
    """Write MODEL_DIR/model.json (config, z contract, provenance) and generator.npz (weights, no pickle).

    The checkpoint is the one of `step` (default: the latest), the `best` one kept by validation FID, or
    several in `average`, whose generator weights are averaged (Polyak averaging, which smooths the
    oscillation of GAN training; BN statistics are averaged too); with `init_weight` > 0, the generator a
    fine-tuned run started from joins that average as `init_weight` checkpoints (`continue_average`). Its EMA
    generator is shipped when it has one (`g_ema` in the config), its raw generator with `raw`. With
    `standing_stats` > 0 its BN moving statistics are recomputed from that many training-mode batches
    (`model.standing_statistics`). With `discriminator`, the checkpoint's D (of an average: the last step's) is
    written too (`discriminator.npz`), so that a fine-tuning run (`--init-generator`) starts with a D that has
    learnt this G instead of a fresh one.
    """
    run_dir, out = Path(run_dir), Path(out)
    cfg = load_config(run_dir / "config.json")
    if standing_stats < 0:
        raise ConfigError(f"standing_stats must be >= 0 batches, got {standing_stats}")
    if average and (best or step is not None):
        raise ConfigError("average is its own choice of weights: give it without step or best")
    if init_weight < 0 or (init_weight and not average):
        raise ConfigError(f"the starting generator's weight must be >= 0 and goes with an average, got {init_weight}")
    folder = run_dir / "checkpoints" / ("best" if best else "")
    if average:
        paths = [checkpoint.resolve(folder, s) for s in sorted(set(average))]
        weights, meta, group = average_checkpoints(paths, raw)
        extra = {**(extra or {}), "averaged_steps": sorted(set(average))}
        if init_weight:
            weights, joined = continue_average(weights, len(paths), meta, cfg, init_weight)
            extra["averaged_with_start"] = joined
        path = paths[-1]
        saved = checkpoint.read(path)[0] if discriminator else {}  # D of the last step: it has seen every G averaged
    else:
        path = checkpoint.resolve(folder, step)
        saved, meta = checkpoint.read(path)
        group = generator_group(saved, raw)
        weights = saved.get(group, [])
    if best:  # record how the checkpoint was chosen (validation FID during training)
        extra = {**(extra or {}), "selected_by": json.loads((folder / "best.json").read_text())}
    generator = build_generator(cfg)
    if len(weights) != len(generator.variables):
        raise CheckpointError(f"{path} does not match the generator of {run_dir / 'config.json'}")
    if standing_stats:
        for variable, array in zip(generator.variables, weights, strict=True):
            variable.assign(array)
        standing_statistics(generator, cfg, standing_stats)
        weights = [variable.numpy() for variable in generator.variables]
        extra = {**(extra or {}), "bn_statistics": f"standing: {standing_stats} batches of {cfg.batch_size} z"}
    if discriminator:
        d_model = build_discriminator(cfg)
        d_weights = saved.get("discriminator", [])
        if len(d_weights) != len(d_model.variables):
            raise CheckpointError(f"{path} holds no discriminator for {run_dir / 'config.json'}")
        last = ", the last averaged" if average else ""
        extra = {
            **(extra or {}),
            "discriminator": f"D of step {meta['step']}{last} ({DISCRIMINATOR_FILE}), to fine-tune",
        }
    with atomic_dir(out) as staging:
        widened = {WEIGHTS_FILE: save_variables(staging / WEIGHTS_FILE, generator.variables, weights, dtype)}
        if discriminator:
            widened[DISCRIMINATOR_FILE] = save_variables(
                staging / DISCRIMINATOR_FILE, d_model.variables, d_weights, dtype
            )
        widened = {file: names for file, names in widened.items() if names}
        info = {
            "format": 1,
            "config": cfg.model_dict(),
            "z": cfg.z_contract(),
            "weights_dtype": dtype,
            **({"weights_float32": widened} if widened else {}),  # {file: arrays beyond `dtype`'s range}
            "provenance": {
                "step": meta["step"],
                "images_seen": meta.get("images_seen"),
                "train_seconds": meta.get("train_seconds"),
                "data": relative(meta["data"]) if meta.get("data") else None,
                "data_count": meta.get("data_count"),
                "train_config": cfg.to_dict(),
                "config_changes": meta.get("config_changes", []),
                **({"init_generator": relative_chain(meta["init_generator"])} if "init_generator" in meta else {}),
                "checkpoint": relative(path),
                "weights": f"EMA of G, decay {cfg.g_ema}" if group == "g_ema" else "G",
                "exported": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "dcgan_version": __version__,
                **(extra or {}),
            },
        }
        write_json_atomic(staging / BUNDLE_FILE, info)
    return out


def set_default_truncation(model_dir: Path, results: list[dict], data: Path) -> dict:
    """Record in the bundle's model.json the truncation ψ of lowest FID among `results` (from `dcgan evaluate
    --truncation`) as its default, with the measured table; returns that record."""
    model_dir = Path(model_dir)
    info = json.loads((model_dir / BUNDLE_FILE).read_text())
    best = min(results, key=lambda r: r["fid"])
    info["truncation"] = {
        "default": best["truncation"],
        "chosen_by": "lowest FID",
        "data": relative(data),
        "extractor": best["extractor"],
        "samples": best["n_generated"],
        "z_seed": best["z_seed"],
        "table": [
            {
                "truncation": r["truncation"],
                "fid": round(r["fid"], 3),
                "kid": round(r["kid_mean"], 5),
                **{k: round(r[k], 4) for k in ("precision", "recall") if k in r},
            }
            for r in results
        ],
    }
    write_json_atomic(model_dir / BUNDLE_FILE, info)
    return info["truncation"]


class FaceGenerator:
    """A loaded generator with its z contract: `sample_z(n, seed)` and `generate(z)` → uint8 images."""

    def __init__(self, model_dir: Path) -> None:
        model_dir = Path(model_dir)
        self.info = read_model_json(
            model_dir / BUNDLE_FILE,
            f"{model_dir} is not a model bundle (no {BUNDLE_FILE}); "
            "make one with `dcgan export RUN_DIR --out MODEL_DIR`",
        )
        self.model_dir = model_dir
        self.config = Config(**{k: self.info["config"][k] for k in MODEL_FIELDS})
        self.z_contract = self.config.z_contract()
        self.generator = build_generator(self.config)
        assign_variables(model_dir / WEIGHTS_FILE, self.generator.variables)
        self._reset_z: np.ndarray | None = None
        self._run = tf.function(
            lambda z: self.generator(z, training=False),
            reduce_retracing=True,
            input_signature=[tf.TensorSpec([None, self.config.z_dim], tf.float32)],
        )

    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.config.image_size, self.config.image_size, self.config.channels)

    def sample_z(self, n: int, seed: int | None = None, truncation: float | None = None) -> np.ndarray:
        """n×z_dim float32 from the model's own prior (`dcgan.z.sample_z`), truncated by ψ (None: the bundle's
        measured default, `truncation` in model.json, or 1 when it has none)."""
        return sample_z(self.z_contract, n, seed, self.default_truncation if truncation is None else truncation)

    @property
    def default_truncation(self) -> float:
        """The ψ this bundle recommends (`dcgan evaluate --truncation ... --set-default`), 1 when none was chosen."""
        return float(self.info.get("truncation", {}).get("default", 1.0))

    def generate(self, z: np.ndarray) -> np.ndarray:
        """uint8 N×H×W×C faces for one z (z_dim,) or a batch (N, z_dim).

        A z of the wrong shape or with NaN or infinite values is a ModelError; a z outside the contract's
        [low, high] is generated as it is (a normal prior's own samples pass ±3σ; see `dcgan.z`).
        """
        return to_uint8(self._run(tf.constant(check_z(self.z_contract, z, within_range=False))).numpy())

    # --- named controls (`dcgan controls fit` puts them in the bundle; see dcgan.controls) ----------------------
    @functools.cached_property
    def controls(self) -> Controls:
        """The bundle's named controls; a ModelError when it has none."""
        from dcgan.controls.runtime import Controls

        return Controls.load(self.model_dir, self.z_contract, self.generate, self.generator)

    def directions(self) -> list[dict]:
        """Every slider: {"name", "kind" ("attribute" or "sefa"), "label", "how", "step", "description"}."""
        return self.controls.directions.controls()

    def edit(self, z: np.ndarray, moves: dict[str, float], hold: list[str] | None = None) -> np.ndarray:
        """z (one or a batch) moved by `moves` in slider steps, e.g. {"Smiling": 1.0, "Young": -0.5}; `hold`:
        the attributes kept still (None: all not moved). `controls.edit` also reports what the box took."""
        return self.controls.edit(z, moves, hold).z

    def attributes(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """The bundled classifier's calibrated attribute probabilities (and "Age" in years) of uint8 faces."""
        return self.controls.attributes(images)

    def sample_where(
        self, constraints: dict, n: int = 8, seed: int | None = None, truncation: float | None = None
    ) -> Sampled:
        """n faces meeting e.g. {"Male": False, "Smiling": True, "Age": [30, 40]} by the classifier."""
        psi = self.default_truncation if truncation is None else check_truncation(truncation)
        return self.controls.sample_where(constraints, n, seed, psi)

    def children(
        self, z: np.ndarray, n: int = 6, amount: float = 0.3, lock: bool = True, seed: int | None = None
    ) -> np.ndarray:
        """n variations of z; `amount` in (0, 1] of the prior's spread; `lock` keeps the identity."""
        return self.controls.children(z, n, amount, lock, seed)

    def cross(
        self, parents: np.ndarray, n: int = 6, weights: list[float] | None = None, seed: int | None = None
    ) -> np.ndarray:
        """n children of 2–8 parents, mixed direction by direction."""
        return self.controls.cross(parents, n, weights, seed).z

    # --- photos (`dcgan encoder train` puts the encoder in the bundle; see dcgan.inversion) ----------------------
    @functools.cached_property
    def inverter(self) -> Inverter:
        """The bundle's photo inverter; a ModelError when it has no encoder."""
        from dcgan.inversion.runtime import Inverter

        return Inverter.load(self)

    def invert(self, images: np.ndarray) -> np.ndarray:
        """z (N×z_dim, inside the box) whose faces look most like uint8 faces in the model's framing
        (`dcgan.align_face` makes them from photos); `inverter.invert` also gives the faces and their scores."""
        return self.inverter.invert(images).z

    def reset_z(self) -> np.ndarray:
        """A z whose face looks like the mean face, for the page's Reset (all-zero z gives a flat texture): of 256 z
        drawn with a fixed seed at the default truncation (clipped into the contract's range), the one whose face is
        nearest (mean squared pixel distance) to the mean of their 256 faces. Computed once per instance."""
        if self._reset_z is None:
            z = clip_z(self.z_contract, self.sample_z(RESET_Z_CANDIDATES, RESET_Z_SEED))
            faces = self.generate(z).astype(np.float32)
            distance = np.mean((faces - faces.mean(axis=0)) ** 2, axis=(1, 2, 3))
            self._reset_z = z[int(np.argmin(distance))]
        return self._reset_z


def load_generator(model_dir: Path | str) -> FaceGenerator:
    return FaceGenerator(Path(model_dir))
