"""Where a run's weights start: fresh from the seed, from its latest checkpoint (resume), or from an exported
bundle (fine-tuning); and the meta its checkpoints record."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from dcgan import checkpoint
from dcgan.config import Config
from dcgan.data import Cache
from dcgan.errors import ConfigError
from dcgan.model import DCGAN
from dcgan.training.run_dir import drop_rows_after
from dcgan.widen import widen_generator


def start_from_bundle(gan: DCGAN, model_dir: Path) -> dict:
    """Load an exported generator into G and its average (widened when the run's gf is larger, `dcgan.widen`), and
    its discriminator, if any, into D (fine-tuning); returns what the checkpoints record of it, including, for a
    bundle that was itself fine-tuned, the bundle it started from (and so on back). D's optimizer starts fresh
    either way."""
    from dcgan.bundle import DISCRIMINATOR_FILE, WEIGHTS_FILE, assign_variables, load_generator, weights_digest

    source = load_generator(model_dir)
    ours, theirs = gan.cfg.model_dict(), source.config.model_dict()
    widened = ours["gf"] > theirs["gf"]  # a wider G starts as the bundle's, widened (dcgan.widen)
    differ = [
        f"{k}: bundle has {theirs[k]!r}, run has {ours[k]!r}"
        for k in ours
        if ours[k] != theirs[k] and not (k == "gf" and widened)
    ]
    if differ:
        raise ConfigError(f"--init-generator {model_dir} does not fit this run's model ({'; '.join(differ)})")
    if widened:
        widen_generator(source.generator, gan.generator, gan.cfg.seed)
        tqdm.write(f"G widened from gf {theirs['gf']} to {ours['gf']} (Net2WiderNet: the same faces)", file=sys.stderr)
    else:
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
        "generator_sha256": weights_digest(Path(model_dir) / WEIGHTS_FILE),
        **{k: provenance.get(k) for k in ("step", "images_seen", "train_seconds", "weights")},
        "discriminator": "the bundle's" if with_d else "fresh",
        **({"widened_from_gf": theirs["gf"]} if widened else {}),
    }
    if "init_generator" in provenance:  # the bundle was fine-tuned itself: keep the whole chain of runs
        meta["init_generator"] = provenance["init_generator"]
    return meta


def resume_from_checkpoint(gan: DCGAN, run_dir: Path, chief: bool) -> dict:
    """Restore the run's latest checkpoint into `gan` (the config's learning rates, not the saved ones: they may
    change); the chief drops the log rows of the steps the resume redoes. Returns the checkpoint's meta."""
    cfg = gan.cfg
    latest = checkpoint.resolve(run_dir / "checkpoints")
    variables = gan.state_variables()
    missing_ema = "g_ema" in variables and "g_ema" not in checkpoint.groups_in(latest)
    groups = tuple(g for g in variables if not (missing_ema and g == "g_ema"))
    meta = checkpoint.restore(latest, variables, groups=groups)
    if missing_ema:  # a run from before the EMA (or with --g-ema 0) starts its average now
        gan.reset_ema()
        tqdm.write(f"{latest.name} has no EMA generator: the average starts from its weights", file=sys.stderr)
    if chief and (dropped := drop_rows_after(run_dir, meta["step"])):
        tqdm.write(f"resuming at step {meta['step']}: dropped {dropped} log rows of later steps", file=sys.stderr)
    gan.g_optimizer.learning_rate = cfg.lr_g
    gan.d_optimizer.learning_rate = cfg.lr_d
    return meta


def starting_point(gan: DCGAN, run_dir: Path, resume: bool, chief: bool) -> tuple[int, dict, bool]:
    """Set `gan`'s weights for the run's start; returns (start step, restored meta, whether fine-tuning starts).

    A resumed run continues its latest checkpoint (if it has one yet); a new run with `init_generator` starts
    from that bundle (a resumed one's checkpoints record the bundle it started from); else the fresh weights stay.
    """
    if resume and checkpoint.list_checkpoints(run_dir / "checkpoints"):
        meta = resume_from_checkpoint(gan, run_dir, chief)
        return meta["step"], meta, False
    if gan.cfg.init_generator:
        return 0, {"init_generator": start_from_bundle(gan, Path(gan.cfg.init_generator))}, True
    return 0, {}, False


def run_meta(cfg: Config, data: Path, cache: Cache, restored: dict, changes: dict, start: int, chief: bool) -> dict:
    """What every checkpoint of the run records besides its weights: the data, the config and its history of
    changes (`changes` of the resume at `start` appended), the training time so far and the bundle it started from.
    """
    history = restored.get("config_changes", [])
    if changes and start:
        history = [*history, {"step": start, **changes}]
        if chief:
            said = ", ".join(f"{k} {old!r} → {new!r}" for k, (old, new) in changes.items())
            tqdm.write(f"resuming at step {start} with {said} (recorded in the checkpoints)", file=sys.stderr)
    return {
        "data": str(Path(data).resolve()),
        "data_count": len(cache.images),
        "data_fingerprint": cache.manifest.get("fingerprint"),
        "config": cfg.to_dict(),
        "config_changes": history,
        "train_seconds": restored.get("train_seconds", 0.0),
        **({"init_generator": restored["init_generator"]} if "init_generator" in restored else {}),
    }
