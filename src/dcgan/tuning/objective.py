"""One trial of `dcgan tune`, and the winner's test score.

A trial trains a DCGAN with `dcgan.training.train` for budget_images // batch_size steps in its own run dir
(continuing an earlier attempt's checkpoint), exports it, and is scored by FID (and KID) on the validation split
with a fixed z seed, so trials compare. Losses that went non-finite, out of memory or a failed evaluation prune
the trial with a note. Every score goes through `evaluate_model`, the one place tuning scores a generator.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dcgan.atomic import write_json_atomic
from dcgan.config import Config
from dcgan.config import load as load_config
from dcgan.errors import ConfigError, MetricsError
from dcgan.tuning.space import TRIAL_SIDE_FIELDS, suggest, trial_config
from dcgan.tuning.study import import_optuna, trial_root


class TuningInterrupted(Exception):
    """The search was stopped by a signal; rerunning the same command resumes it."""


def evaluate_model(
    model_dir: Path,
    reference,
    extractor,
    n: int,
    seed: int,
    *,
    split: str = "val",
    kid_subsets: int = 100,
    precision_recall: bool = False,
    fid_method: str = "eigh",
) -> dict:
    """FID/KID of an exported bundle against reference stats, on n samples of the fixed z seed `seed`."""
    from dcgan.bundle import load_generator
    from dcgan.evaluation.scoring import score_generator

    model = load_generator(model_dir)
    result = score_generator(
        model.generate,
        model.sample_z(n, seed),
        reference,
        extractor,
        z_seed=seed,
        kid_subsets=kid_subsets,
        pr_k=3 if precision_recall else None,
        fid_method=fid_method,
        seed=seed,
    )
    result.update(model=str(model_dir), split=split)
    return result


def resume_or_force(run_dir: Path, cfg: Config) -> tuple[bool, bool]:
    """(resume, force) for train(): continue a matching earlier attempt, otherwise start over in the dir."""
    from dcgan import checkpoint

    if not checkpoint.list_checkpoints(run_dir / "checkpoints") or not (run_dir / "config.json").exists():
        return False, True
    try:
        saved = load_config(run_dir / "config.json").to_dict()
    except ConfigError:
        return False, True
    same = all(saved[k] == v for k, v in cfg.to_dict().items() if k not in TRIAL_SIDE_FIELDS)
    return (True, False) if same else (False, True)


def make_objective(
    *,
    base: Config,
    space: dict[str, dict],
    budget_images: int,
    train_dir: Path,
    out: Path,
    reference: Callable[[], Any],
    extractor: Callable[[], Any],
    eval_samples: int,
    eval_seed: int,
    kid_subsets: int,
    discard_checkpoints: bool,
    study_name: str,
) -> Callable:
    """The Optuna objective: train, export, score on val; returns the validation FID."""
    optuna = import_optuna()

    def objective(trial) -> float:
        root = trial_root(trial)
        params = suggest(trial, space)
        cfg = trial_config(base, space, params, budget_images)
        relative = Path("trials") / f"trial-{root:04d}"
        run_dir, model_dir = out / relative, out / relative / "model"
        trial.set_user_attr("run_dir", relative.as_posix())
        trial.set_user_attr("steps", cfg.steps)
        try:
            import keras
            import tensorflow as tf

            from dcgan.bundle import export
            from dcgan.training import train

            keras.utils.clear_session(free_memory=True)  # drop the previous trial's models and graphs
            resume, force = resume_or_force(run_dir, cfg)
            started = time.perf_counter()
            try:
                result = train(cfg, train_dir, run_dir, resume=resume, force=force, progress=False)
            except FloatingPointError as exc:
                trial.set_user_attr("note", f"diverged: {exc}"[:300])
                raise optuna.TrialPruned(f"diverged: {exc}") from None
            except (tf.errors.ResourceExhaustedError, MemoryError) as exc:
                trial.set_user_attr("note", f"out of memory: {exc}"[:300])
                raise optuna.TrialPruned("out of memory") from None
            trial.set_user_attr("train_seconds", round(time.perf_counter() - started, 1))
            if result["interrupted"]:
                trial.set_user_attr("note", f"interrupted at step {result['step']}")
                raise TuningInterrupted(f"trial {trial.number} interrupted at step {result['step']} of {cfg.steps}")
            started = time.perf_counter()
            export(run_dir, model_dir, extra={"tuning": {"study": study_name, "trial": trial.number}})
            try:
                metrics = evaluate_model(
                    model_dir, reference(), extractor(), eval_samples, eval_seed, kid_subsets=kid_subsets
                )
            except MetricsError as exc:
                trial.set_user_attr("note", f"evaluation failed: {exc}"[:300])
                raise optuna.TrialPruned(f"evaluation failed: {exc}") from None
            write_json_atomic(run_dir / "val_metrics.json", metrics)
            trial.set_user_attr("eval_seconds", round(time.perf_counter() - started, 1))
            if not math.isfinite(metrics["fid"]):
                trial.set_user_attr("note", f"non-finite FID {metrics['fid']}")
                raise optuna.TrialPruned("non-finite FID")
            for key in ("fid", "kid_mean", "kid_std"):
                trial.set_user_attr(key, metrics[key])
            trial.set_user_attr("model_dir", (relative / "model").as_posix())
            if discard_checkpoints:
                shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
            return float(metrics["fid"])
        except (optuna.TrialPruned, TuningInterrupted):
            raise
        except Exception as exc:
            trial.set_user_attr("note", f"error: {exc!r}"[:300])
            raise

    return objective


def evaluate_winner_on_test(study, out: Path, test_dir: Path, extractor, settings: dict) -> dict:
    """Score the best trial's model on the test split once (kept in the study; reused while it stays the winner)."""
    from dcgan.evaluation.reference import reference_stats

    try:
        best = study.best_trial
    except ValueError:
        raise ConfigError("no completed trial yet: nothing to evaluate on the test split") from None
    previous = study.user_attrs.get("test")
    if previous is not None and previous.get("trial") == best.number:
        print(f"test split: trial {best.number} (the winner) was already evaluated; not repeating it")
        return previous
    print(f"test split: evaluating the winner, trial {best.number}")
    reference = reference_stats(test_dir, extractor, max_images=settings["ref_max"], progress=True)
    metrics = evaluate_model(
        out / best.user_attrs["model_dir"],
        reference,
        extractor,
        settings["eval_samples"],
        settings["eval_seed"],
        split="test",
        kid_subsets=settings["kid_subsets"],
        precision_recall=True,
        fid_method="sqrtm",
    )
    write_json_atomic(out / "test_metrics.json", {**metrics, "trial": best.number})
    record = {
        "trial": best.number,
        "split": str(test_dir),
        **{k: metrics[k] for k in ("fid", "kid_mean", "kid_std", "precision", "recall", "n_generated")},
        "n_reference": metrics["n_reference"],
        "extractor": metrics["extractor"],
        "comparable_with_published_fid": metrics["comparable_with_published_fid"],
    }
    study.set_user_attr("test", record)
    study.set_user_attr("test_history", [*study.user_attrs.get("test_history", []), record])
    return record
