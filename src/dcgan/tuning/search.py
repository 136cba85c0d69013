"""`tune()`: run or resume a search until the study has the asked number of finished trials.

- `trials` is the number of finished (complete or pruned) trials the study should end up with; a rerun with the
  same number finishes an interrupted search, a larger one extends it.
- A trial that failed (an error, Ctrl-C / SIGTERM, or a process that died: its heartbeat goes stale and Optuna
  marks it failed) is retried with the same parameters, up to `max_retries` times, continuing from its last
  checkpoint in the same run dir.
- A trial whose losses went non-finite, or that ran out of memory, is recorded as pruned with a note.

Only the winner (lowest validation FID) is ever scored on the test split, and only when asked (`test=True`);
the result is kept in the study and not recomputed while the winner stays the same.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dcgan.atomic import write_json_atomic
from dcgan.config import Config
from dcgan.errors import ConfigError, DataError
from dcgan.tuning.objective import TuningInterrupted, evaluate_winner_on_test, make_objective
from dcgan.tuning.report import print_trial, report
from dcgan.tuning.space import TRIAL_SIDE_FIELDS, fixed_config, resolve_space, searched, space_maximum
from dcgan.tuning.splits import open_split, split_dirs
from dcgan.tuning.study import (
    GRACE_SECONDS,
    HEARTBEAT_SECONDS,
    check_settings,
    enqueue_retries,
    fail_stale_trials,
    finished_count,
    import_optuna,
    open_study,
)

MARKER_FILE = "tune.json"


def default_out(study_name: str) -> Path:
    """Where a search keeps its study, results and trial run dirs unless --out says otherwise."""
    return Path("runs") / f"tune-{study_name}"


def tune(
    data: Path | str,
    trials: int,
    budget_images: int,
    *,
    study_name: str | None = None,
    storage: str | None = None,
    out: Path | str | None = None,
    extractor: str = "inception-fid",
    eval_samples: int = 1000,
    eval_seed: int = 0,
    base: Config | None = None,
    space: dict[str, Any] | None = None,
    test: bool = False,
    ref_max: int | None = None,
    kid_subsets: int = 100,
    max_retries: int = 2,
    sampler_seed: int = 0,
    discard_checkpoints: bool = False,
    heartbeat_interval: int = HEARTBEAT_SECONDS,
    grace_period: int = GRACE_SECONDS,
    threads: int | None = None,
) -> dict:
    """Run (or resume) a search until the study has `trials` finished trials; returns the results dict.

    `base` is the config of every trial's fixed fields (default: paper defaults at the data's image size);
    `space` updates DEFAULT_SPACE (see there for the forms an entry takes; null drops an entry). `test=True`
    also scores the winner on the test split.
    """
    for name, value, low in (
        ("trials", trials, 1),
        ("budget_images", budget_images, 1),
        ("eval_samples", eval_samples, 2),
        ("max_retries", max_retries, 0),
        ("kid_subsets", kid_subsets, 1),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"--{name.replace('_', '-')} must be an integer >= {low}, got {value!r}")
    if ref_max is not None and ref_max < 2:
        raise ConfigError(f"--ref-max must be >= 2, got {ref_max}")
    optuna = import_optuna()
    data = Path(data)
    train_dir, val_dir, test_dir = split_dirs(data, need_test=test)
    base, space = _check_data(train_dir, val_dir, test_dir if test else None, base, space, budget_images)

    study_name = study_name or data.resolve().name
    out = Path(out) if out is not None else default_out(study_name)
    storage = _claim_out(out, study_name, storage)
    settings = {
        "data_fingerprint": _data_fingerprint(data),
        "space": space,
        "base_config": {  # what every trial shares: the base config with the space's fixed values
            k: v
            for k, v in fixed_config(base, space).to_dict().items()
            if k not in TRIAL_SIDE_FIELDS and k not in searched(space)
        },
        "budget_images": budget_images,
        "extractor": extractor,
        "eval_samples": eval_samples,
        "eval_seed": eval_seed,
        "ref_max": ref_max,
        "kid_subsets": kid_subsets,
    }
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(study_name, storage, sampler_seed, trials, heartbeat_interval, grace_period)
    check_settings(study, settings)
    settings = study.user_attrs["settings"]

    get_feature_extractor, get_reference = _lazy_reference(extractor, val_dir, ref_max, threads)
    objective = make_objective(
        base=base,
        space=space,
        budget_images=budget_images,
        train_dir=train_dir,
        out=out,
        reference=get_reference,
        extractor=get_feature_extractor,
        eval_samples=eval_samples,
        eval_seed=eval_seed,
        kid_subsets=kid_subsets,
        discard_checkpoints=discard_checkpoints,
        study_name=study_name,
    )
    print(f"study {study_name!r} in {storage}: {finished_count(study)} of {trials} trials finished; results in {out}")
    if finished_count(study) < trials:
        get_reference()  # a missing extractor or an unreadable split shows up before any training
    try:
        _optimize_until(study, objective, trials, max_retries)
    except (TuningInterrupted, KeyboardInterrupt) as exc:
        _report_quietly(study, out, space, settings, storage)
        raise TuningInterrupted(
            f"{exc or 'interrupted'}; the study and the trial's checkpoint are saved: rerun the same command to resume"
        ) from None
    except Exception:
        _report_quietly(study, out, space, settings, storage)
        raise
    if test:
        evaluate_winner_on_test(study, out, test_dir, get_feature_extractor(), settings)
    results = report(study, out, space, settings, storage)
    if not test and results["best"] is not None and test_dir is not None and study.user_attrs.get("test") is None:
        print("the winner has not been scored on the test split; add --test to do it (once)")
    return results


def _check_data(
    train_dir: Path,
    val_dir: Path,
    test_dir: Path | None,
    base: Config | None,
    space: dict[str, Any] | None,
    budget_images: int,
) -> tuple[Config, dict[str, dict]]:
    """The base config (default: the train split's image shape) and the resolved space, checked against the
    splits (test_dir: only when the winner is to be scored on it) and the budget."""
    if base is None:
        from dcgan.data import Cache

        base = Config(**Cache.open(train_dir).model_shape())
    train_cache = open_split(train_dir, "train", base)
    open_split(val_dir, "val", base)
    if test_dir is not None:
        open_split(test_dir, "test", base)
    space = resolve_space(base, space)
    largest_batch = space_maximum(base, space, "batch_size") * space_maximum(base, space, "d_steps")
    if budget_images < space_maximum(base, space, "batch_size"):
        raise ConfigError(
            f"--budget-images {budget_images} is less than one batch of the largest batch size in the search space "
            f"({space_maximum(base, space, 'batch_size')}); raise it or restrict batch_size with --space"
        )
    if len(train_cache.images) < largest_batch:
        raise DataError(
            f"the train split holds {len(train_cache.images)} images, fewer than the largest batch in the search "
            f"space ({largest_batch}); restrict batch_size with --space"
        )
    return base, space


def _claim_out(out: Path, study_name: str, storage: str | None) -> str:
    """Make `out` this study's folder (refusing one that holds another search); returns the storage URL."""
    out.mkdir(parents=True, exist_ok=True)
    marker = out / MARKER_FILE
    if marker.exists():
        owner = json.loads(marker.read_text()).get("study")
        if owner != study_name:
            raise ConfigError(f"{out} holds the search {owner!r}, not {study_name!r}; use another --out")
    storage = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    write_json_atomic(marker, {"study": study_name, "storage": storage})
    return storage


def _data_fingerprint(data: Path) -> str:
    """The split cache's fingerprint from its manifest, or its absolute path when it has none."""
    manifest_path = data / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    return manifest.get("fingerprint") or str(data.resolve())


def _lazy_reference(
    extractor: str, val_dir: Path, ref_max: int | None, threads: int | None
) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(feature extractor, validation reference statistics), each made on its first call and kept."""
    from dcgan.evaluation.extractors import get_extractor
    from dcgan.evaluation.reference import reference_stats

    lazy: dict[str, Any] = {}

    def get_feature_extractor():
        if "extractor" not in lazy:
            lazy["extractor"] = get_extractor(extractor)
            if threads and extractor == "inception-fid":
                import torch

                torch.set_num_threads(threads)
        return lazy["extractor"]

    def get_reference():
        if "reference" not in lazy:
            print(f"reference statistics of {val_dir} ({extractor})")
            lazy["reference"] = reference_stats(val_dir, get_feature_extractor(), max_images=ref_max, progress=True)
        return lazy["reference"]

    return get_feature_extractor, get_reference


def _optimize_until(study, objective: Callable, trials: int, max_retries: int) -> None:
    """Retry failed trials and run new ones, one at a time, until the study has `trials` finished trials."""
    current: dict[str, int] = {}

    def run_one(trial) -> float:
        current["number"] = trial.number
        return objective(trial)

    while True:
        fail_stale_trials(study)
        for root in enqueue_retries(study, max_retries):
            print(f"trial {root} failed earlier: retrying it with the same parameters")
        if finished_count(study) >= trials:
            break
        started, current["number"] = time.perf_counter(), -1
        try:
            study.optimize(run_one, n_trials=1, gc_after_trial=True)
        finally:
            done = [t for t in study.get_trials(deepcopy=False) if t.number == current["number"]]
            if done and done[0].state.name != "RUNNING":
                print_trial(study, done[0], time.perf_counter() - started)


def _report_quietly(study, out: Path, space: dict, settings: dict, storage: str) -> None:
    """Update the reports on the way out of an error, without hiding that error."""
    try:
        report(study, out, space, settings, storage, echo=False)
    except Exception as exc:
        print(f"warning: could not update the reports in {out}: {exc!r}", file=sys.stderr)
