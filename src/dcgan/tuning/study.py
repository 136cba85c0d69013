"""The resumable Optuna study of `dcgan tune`: storage, settings check, retries of failed trials.

The study lives in an Optuna RDB storage (SQLite beside the results by default) with trial heartbeats, so a
trial whose process died goes stale and is marked failed; each failed trial is retried with the same
parameters (and run dir) up to `max_retries` times. Optuna is imported lazily: `pip install 'dcgan[tune]'`.
"""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from typing import Any

from dcgan.errors import ConfigError

OPTUNA_HINT = "dcgan tune needs Optuna: pip install 'dcgan[tune]' (or pip install 'optuna>=4')"
HEARTBEAT_SECONDS = 60
GRACE_SECONDS = 300


def import_optuna():
    """The optuna module, or a ConfigError saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(OPTUNA_HINT) from None
    return optuna


def open_study(
    name: str,
    storage: str,
    sampler_seed: int = 0,
    n_trials: int = 10,
    heartbeat_interval: int = HEARTBEAT_SECONDS,
    grace_period: int = GRACE_SECONDS,
):
    """Create or load (load_if_exists) a minimising study in an RDB storage with trial heartbeats."""
    optuna = import_optuna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        rdb = optuna.storages.RDBStorage(storage, heartbeat_interval=heartbeat_interval, grace_period=grace_period)
    study = optuna.create_study(study_name=name, storage=rdb, direction="minimize", load_if_exists=True)
    # Seeded by the number of trials so far: a resumed search does not replay the first run's random draws.
    study.sampler = optuna.samplers.TPESampler(
        seed=sampler_seed + len(study.get_trials(deepcopy=False)),
        n_startup_trials=max(3, min(10, n_trials // 2)),
    )
    return study


def check_settings(study, settings: dict[str, Any]) -> None:
    """Record the settings on a new study; on an existing one, refuse different settings (trials would not compare)."""
    settings = json.loads(json.dumps(settings))
    saved = study.user_attrs.get("settings")
    if saved is None:
        study.set_user_attr("settings", settings)
        return
    differ = []
    for key in sorted(set(saved) | set(settings)):
        old, new = saved.get(key), settings.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            inner = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            differ.append(f"{key}: " + ", ".join(f"{k} study has {old.get(k)!r}, asked {new.get(k)!r}" for k in inner))
        else:
            differ.append(f"{key}: study has {old!r}, asked {new!r}")
    if differ:
        raise ConfigError(
            f"study {study.study_name!r} was started with other settings ({'; '.join(differ)}); resume it with the "
            "same options, or start another search with a new --study / --out"
        )


def trial_root(trial) -> int:
    """The number of the first attempt of a trial (retries share its parameters and run dir)."""
    return int(trial.user_attrs.get("retry_of", trial.number))


def enqueue_retries(study, max_retries: int) -> list[int]:
    """Enqueue a retry (same params, same run dir) of each failed trial not yet retried `max_retries` times."""
    optuna = import_optuna()
    groups: dict[int, list] = defaultdict(list)
    for trial in study.get_trials(deepcopy=False):
        groups[trial_root(trial)].append(trial)
    enqueued = []
    for root, group in sorted(groups.items()):
        if any(t.state != optuna.trial.TrialState.FAIL for t in group) or len(group) > max_retries:
            continue
        last = max(group, key=lambda t: t.number)
        study.enqueue_trial(dict(last.params), user_attrs={"retry_of": root})
        enqueued.append(root)
    return enqueued


def fail_stale_trials(study) -> None:
    """Mark failed the RUNNING trials whose heartbeat went stale (their process died)."""
    optuna = import_optuna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def finished_count(study) -> int:
    """Complete and pruned trials: those the search counts towards --trials."""
    optuna = import_optuna()
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))
