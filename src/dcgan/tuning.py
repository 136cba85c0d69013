"""Hyperparameter search with Optuna: `dcgan tune`.

Each trial trains a DCGAN with `dcgan.training.train` for a fixed budget of images (budget_images // batch_size
steps) in its own run dir, exports it, and is scored by FID (and KID) on the validation split of a split cache
from `dcgan prepare --split`, always with the same z seed so the trials are comparable. The study lives in an
Optuna RDB storage (SQLite beside the results by default), so rerunning the same command resumes it:

- `--trials N` is the number of finished (complete or pruned) trials the study should end up with; a rerun
  with the same N finishes an interrupted search, a larger N extends it.
- A trial that failed (an error, Ctrl-C / SIGTERM, or a process that died: its heartbeat goes stale and Optuna
  marks it failed) is retried with the same parameters, up to `max_retries` times, continuing from its last
  checkpoint in the same run dir.
- A trial whose losses went non-finite, or that ran out of memory, is recorded as pruned with a note.

Only the winner (lowest validation FID) is ever scored on the test split, and only when asked (`--test`); the
result is kept in the study and not recomputed while the winner stays the same.

Results: a table (printed), OUT/trials.csv, OUT/results.json, OUT/best_config.json and a plot of FID per trial
with the best so far (OUT/fid.svg, written without extra dependencies; also OUT/fid.png when matplotlib is
installed). Optuna is imported lazily: `pip install 'dcgan[tune]'`.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from dcgan.config import SCHEDULE_FIELDS, Config, ConfigError, write_json_atomic
from dcgan.config import load as load_config
from dcgan.data import DataError

# The default search space. Forms a space entry may take (also in --space JSON):
#   [a, b, ...]                           categorical choices (one choice: a fixed value)
#   {"low": a, "high": b, "log": true}    a range, float or int by the Config field's type
#   a scalar                              a fixed value for every trial (not searched)
#   null                                  not searched: the base config's value
DEFAULT_SPACE: dict[str, Any] = {
    "lr_d": {"low": 5e-5, "high": 1e-3, "log": True},
    "lr_g": {"low": 5e-5, "high": 1e-3, "log": True},
    "beta1": [0.0, 0.5, 0.9],
    "batch_size": [32, 64, 128],
    "gf": [32, 64, 96],
    "df": [32, 64, 96],
    "label_smoothing": {"low": 0.0, "high": 0.2},
    "z_prior": ["uniform", "normal"],
}
# What a trial's identity ignores: the schedule, which the tuner sets, and the side knobs it does not search.
TRIAL_SIDE_FIELDS = (*SCHEDULE_FIELDS, "g_ema", "augment")
# Fixed by the data (image_size, channels) or by the tuner itself (the schedule).
NOT_SEARCHABLE = ("image_size", "channels", *TRIAL_SIDE_FIELDS)
FIELD_TYPES = {f.name: f.type for f in fields(Config)}

OPTUNA_HINT = "dcgan tune needs Optuna: pip install 'dcgan[tune]' (or pip install 'optuna>=4')"
HEARTBEAT_SECONDS = 60
GRACE_SECONDS = 300
RESULTS_FILE = "results.json"
CSV_FILE = "trials.csv"
PLOT_FILE = "fid.svg"
PNG_FILE = "fid.png"
MARKER_FILE = "tune.json"


class TuningInterrupted(Exception):
    """The search was stopped by a signal; rerunning the same command resumes it."""


# --------------------------------------------------------------------------------------------------------------
# search space


def _coerce(name: str, value: Any) -> Any:
    if FIELD_TYPES[name] == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _check_value(base: Config, name: str, value: Any) -> None:
    try:
        base.replace(**{name: value})
    except ConfigError as exc:
        raise ConfigError(f"search space entry {name!r}: {exc}") from None


def _canonical(base: Config, name: str, spec: Any) -> dict[str, Any]:
    """One space entry in canonical form: {"type": "categorical"|"float"|"int"|"fixed", ...}, values checked."""
    kind = FIELD_TYPES[name]
    if isinstance(spec, dict) and "type" in spec:  # the canonical form (as saved in the study) is accepted too
        rest = {k: v for k, v in spec.items() if k != "type"}
        if spec["type"] == "categorical" and set(rest) == {"choices"}:
            spec = list(rest["choices"])
        elif spec["type"] == "fixed" and set(rest) == {"value"}:
            spec = rest["value"]
        elif spec["type"] == kind:
            spec = rest
        else:
            raise ConfigError(f"search space entry {name!r}: cannot read {spec!r} for a {kind} field")
    if isinstance(spec, list | tuple):
        choices = [_coerce(name, v) for v in spec]
        if not choices:
            raise ConfigError(f"search space entry {name!r} has no choices")
        if len(set(map(repr, choices))) != len(choices):
            raise ConfigError(f"search space entry {name!r} repeats a choice: {choices}")
        for value in choices:
            if not isinstance(value, bool | int | float | str):
                raise ConfigError(f"search space entry {name!r}: choices must be numbers, strings or booleans")
            _check_value(base, name, value)
        if len(choices) == 1:
            return {"type": "fixed", "value": choices[0]}
        return {"type": "categorical", "choices": choices}
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - {"low", "high", "log"})
        if unknown or "low" not in spec or "high" not in spec:
            raise ConfigError(
                f"search space entry {name!r} must be a list of choices, a value, null or "
                f'{{"low": L, "high": H, "log": false}}; got {spec!r}'
            )
        if kind not in ("int", "float"):
            raise ConfigError(f"search space entry {name!r} is a {kind} field: give a list of choices, not a range")
        low, high, log = _coerce(name, spec["low"]), _coerce(name, spec["high"]), bool(spec.get("log", False))
        numbers = (int,) if kind == "int" else (int, float)
        if not all(isinstance(v, numbers) and not isinstance(v, bool) for v in (low, high)):
            raise ConfigError(f"search space entry {name!r}: low and high must be {kind}s, got {low!r}, {high!r}")
        if not low < high:
            raise ConfigError(f"search space entry {name!r}: low must be < high, got {low} and {high}")
        if log and low <= 0:
            raise ConfigError(f"search space entry {name!r}: a log range needs low > 0, got {low}")
        _check_value(base, name, low)
        _check_value(base, name, high)
        return {"type": kind, "low": low, "high": high, "log": log}
    value = _coerce(name, spec)
    _check_value(base, name, value)
    return {"type": "fixed", "value": value}


def resolve_space(base: Config, overrides: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The default space updated with `overrides` (same forms as DEFAULT_SPACE; null drops an entry), checked."""
    if overrides is not None and not isinstance(overrides, dict):
        raise ConfigError(f"the search space must be a JSON object of config field → choices, got {overrides!r}")
    raw = {**DEFAULT_SPACE, **(overrides or {})}
    space: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        if name not in FIELD_TYPES:
            raise ConfigError(
                f"search space: unknown config field {name!r}; known fields: {', '.join(sorted(FIELD_TYPES))}"
            )
        if name in NOT_SEARCHABLE:
            raise ConfigError(
                f"search space: {name!r} cannot be searched (image_size and channels come from the data, "
                "the schedule from --budget-images)"
            )
        if spec is not None:
            space[name] = _canonical(base, name, spec)
    fixed_config(base, space)  # the fixed values must also be valid together
    return space


def load_space(text: str | Path | None) -> dict[str, Any] | None:
    """--space: inline JSON or the path of a JSON file."""
    if text is None:
        return None
    text = str(text)
    source = "--space"
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise ConfigError(f"--space must be a JSON object or a JSON file; {text!r} is neither")
        source, text = str(path), path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must be a JSON object of config field → choices")
    return data


def searched(space: dict[str, dict]) -> list[str]:
    return [name for name, spec in space.items() if spec["type"] != "fixed"]


def fixed_config(base: Config, space: dict[str, dict]) -> Config:
    """The base config with the space's fixed values applied."""
    return base.replace(**{name: spec["value"] for name, spec in space.items() if spec["type"] == "fixed"})


def space_maximum(base: Config, space: dict[str, dict], name: str) -> Any:
    spec = space.get(name)
    if spec is None:
        return getattr(base, name)
    if spec["type"] == "fixed":
        return spec["value"]
    if spec["type"] == "categorical":
        return max(spec["choices"])
    return spec["high"]


def suggest(trial, space: dict[str, dict]) -> dict[str, Any]:
    """Ask an Optuna trial for a value of every searched entry."""
    params: dict[str, Any] = {}
    for name, spec in space.items():
        if spec["type"] == "categorical":
            params[name] = trial.suggest_categorical(name, spec["choices"])
        elif spec["type"] == "float":
            params[name] = trial.suggest_float(name, spec["low"], spec["high"], log=spec["log"])
        elif spec["type"] == "int":
            params[name] = trial.suggest_int(name, spec["low"], spec["high"], log=spec["log"])
    return params


def trial_config(base: Config, space: dict[str, dict], params: dict[str, Any], budget_images: int) -> Config:
    """The training config of a trial: base + fixed values + params, trained for budget_images // batch_size steps."""
    cfg = fixed_config(base, space).replace(**params)
    steps = max(1, budget_images // cfg.batch_size)
    return cfg.replace(
        steps=steps,
        epochs=0.0,
        sample_every=steps,
        checkpoint_every=min(cfg.checkpoint_every, steps),
        keep_checkpoints=1,
    )


# --------------------------------------------------------------------------------------------------------------
# data


def split_dirs(data: Path, need_test: bool = False) -> tuple[Path, Path, Path | None]:
    """DIR/train, DIR/val and DIR/test (None when absent) of a split cache; readable errors when missing."""
    data = Path(data)
    if not data.is_dir():
        raise DataError(
            f"--data {data} does not exist; make a split cache with `dcgan prepare SRC --out {data} --split`"
        )
    train, val, test = (data / name for name in ("train", "val", "test"))
    make = f"`dcgan prepare SRC --out {data} --split 0.9,0.05,0.05`"
    if not (train / "images.npy").exists():
        hint = " (it is a single cache, not a split one)" if (data / "images.npy").exists() else ""
        raise DataError(f"{data} is not a split cache{hint}: no {train}; make one with {make}")
    if not (val / "images.npy").exists():
        raise DataError(f"{data} has no validation split ({val}); tuning scores trials on it. Make it with {make}")
    if need_test and not (test / "images.npy").exists():
        raise DataError(f"{data} has no test split ({test}) to evaluate the winner on; make it with {make}")
    return train, val, test if (test / "images.npy").exists() else None


def _open_split(path: Path, what: str, base: Config):
    from dcgan.data import Cache

    try:
        cache = Cache.open(path)
    except DataError as exc:
        raise DataError(f"the {what} split: {exc}; re-run `dcgan prepare --split` with a larger {what} share") from None
    cache.check_shape(base.image_size, base.channels)
    if what != "train" and len(cache.images) < 2:
        raise DataError(f"the {what} split {path} holds {len(cache.images)} image; FID needs at least 2")
    return cache


# --------------------------------------------------------------------------------------------------------------
# study


def _optuna():
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
    optuna = _optuna()
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


def _root(trial) -> int:
    return int(trial.user_attrs.get("retry_of", trial.number))


def enqueue_retries(study, max_retries: int) -> list[int]:
    """Enqueue a retry (same params, same run dir) of each failed trial not yet retried `max_retries` times."""
    optuna = _optuna()
    groups: dict[int, list] = defaultdict(list)
    for trial in study.get_trials(deepcopy=False):
        groups[_root(trial)].append(trial)
    enqueued = []
    for root, group in sorted(groups.items()):
        if any(t.state != optuna.trial.TrialState.FAIL for t in group) or len(group) > max_retries:
            continue
        last = max(group, key=lambda t: t.number)
        study.enqueue_trial(dict(last.params), user_attrs={"retry_of": root})
        enqueued.append(root)
    return enqueued


def fail_stale_trials(study) -> None:
    optuna = _optuna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def finished_count(study) -> int:
    optuna = _optuna()
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


# --------------------------------------------------------------------------------------------------------------
# one trial


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
    from dcgan.evaluation.scoring import evaluate_generator, generate_from_z

    model = load_generator(model_dir)
    z = model.sample_z(n, seed)
    result = evaluate_generator(
        generate_from_z(model.generate, z),
        n,
        reference,
        extractor,
        kid_subsets=kid_subsets,
        pr_k=3 if precision_recall else None,
        fid_method=fid_method,
        seed=seed,
    )
    result.update(model=str(model_dir), split=split, z_seed=seed)
    return result


def _resume_or_force(run_dir: Path, cfg: Config) -> tuple[bool, bool]:
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
    optuna = _optuna()

    def objective(trial) -> float:
        root = _root(trial)
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
            from dcgan.errors import MetricsError
            from dcgan.training import train

            keras.utils.clear_session(free_memory=True)  # drop the previous trial's models and graphs
            resume, force = _resume_or_force(run_dir, cfg)
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


# --------------------------------------------------------------------------------------------------------------
# reports


def trial_rows(study, param_names: list[str]) -> list[dict[str, Any]]:
    """One JSON-ready row per trial, in trial order."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name,
                "fid": t.value if t.state.name == "COMPLETE" else None,
                "kid_mean": attrs.get("kid_mean"),
                "kid_std": attrs.get("kid_std"),
                "params": {name: t.params.get(name) for name in param_names},
                "steps": attrs.get("steps"),
                "train_seconds": attrs.get("train_seconds"),
                "eval_seconds": attrs.get("eval_seconds"),
                "retry_of": attrs.get("retry_of"),
                "note": attrs.get("note", ""),
                "run_dir": attrs.get("run_dir"),
                "model_dir": attrs.get("model_dir"),
            }
        )
    return rows


def best_row(rows: list[dict]) -> dict | None:
    complete = [r for r in rows if r["fid"] is not None]
    return min(complete, key=lambda r: (r["fid"], r["trial"])) if complete else None


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(rows: list[dict], param_names: list[str], best: int | None, test: dict | None = None) -> str:
    header = ["", "trial", "state", "FID", "KID×10³", *param_names, "steps", "note"]
    body = []
    for r in rows:
        kid = "-" if r["kid_mean"] is None else f"{1e3 * r['kid_mean']:.3g}±{1e3 * r['kid_std']:.2g}"
        fid = "-" if r["fid"] is None else f"{r['fid']:.3f}"
        params = [_fmt(r["params"].get(name)) for name in param_names]
        note = r["note"] + (f" (retry of {r['retry_of']})" if r["retry_of"] is not None else "")
        body.append(
            [
                "*" if r["trial"] == best else "",
                str(r["trial"]),
                r["state"],
                fid,
                kid,
                *params,
                _fmt(r["steps"]),
                note.strip(),
            ]
        )
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *body]]
    if best is not None:
        lines.append(f"* best on the validation split: trial {best}")
    if test is not None:
        lines.append(
            f"test split, winner trial {test['trial']}: FID {test['fid']:.3f}, KID×10³ "
            f"{1e3 * test['kid_mean']:.3g} ± {1e3 * test['kid_std']:.2g} ({test['n_generated']} samples vs "
            f"{test['n_reference']} test images, {test['extractor']})"
        )
    return "\n".join(lines)


def write_csv(rows: list[dict], param_names: list[str], best: int | None, path: Path) -> Path:
    columns = ["trial", "state", "best", "fid", "kid_mean", "kid_std", *param_names]
    columns += ["steps", "train_seconds", "eval_seconds", "retry_of", "note", "run_dir"]
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for r in rows:
            flat = {k: v for k, v in r.items() if k in columns}
            writer.writerow({**flat, **r["params"], "best": r["trial"] == best})
    tmp.replace(path)
    return path


def write_svg_plot(rows: list[dict], path: Path, title: str, ylabel: str) -> Path:
    """A dependency-free SVG: validation FID of each completed trial and the best so far."""
    width, height, left, right, top, bottom = 720, 420, 80, 30, 50, 60
    points = [(r["trial"], r["fid"]) for r in rows if r["fid"] is not None]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    if not points:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no completed trials yet</text>')
    else:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, x1 = min(xs) - 0.5, max(xs) + 0.5
        pad = (max(ys) - min(ys)) * 0.08 or max(abs(ys[0]) * 0.1, 1e-3)
        y0, y1 = min(ys) - pad, max(ys) + pad

        def sx(x: float) -> float:
            return left + (x - x0) / (x1 - x0) * (width - left - right)

        def sy(y: float) -> float:
            return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

        bottom_y, right_x = height - bottom, width - right
        parts.append(
            f'<rect x="{left}" y="{top}" width="{right_x - left}" height="{bottom_y - top}" fill="none" stroke="#444"/>'
        )
        for i in range(6):
            value = y0 + (y1 - y0) * i / 5
            parts.append(f'<line x1="{left}" x2="{right_x}" y1="{sy(value):.1f}" y2="{sy(value):.1f}" stroke="#ddd"/>')
            parts.append(f'<text x="{left - 6}" y="{sy(value) + 4:.1f}" text-anchor="end">{value:.4g}</text>')
        step = max(1, math.ceil((max(xs) - min(xs) + 1) / 10))
        for x in range(min(xs), max(xs) + 1, step):
            parts.append(f'<text x="{sx(x):.1f}" y="{bottom_y + 18}" text-anchor="middle">{x}</text>')
        parts.append(f'<text x="{(left + right_x) / 2}" y="{height - 18}" text-anchor="middle">trial</text>')
        parts.append(
            f'<text transform="translate(18 {(top + bottom_y) / 2}) rotate(-90)" '
            f'text-anchor="middle">{escape(ylabel)}</text>'
        )
        best, line = math.inf, []
        for x, y in points:
            if y < best:
                if line:
                    line.append(f"{sx(x):.1f},{sy(best):.1f}")
                best = y
            line.append(f"{sx(x):.1f},{sy(best):.1f}")
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#d62728" stroke-width="2"/>')
        winner = min(points, key=lambda p: (p[1], p[0]))
        for x, y in points:
            parts.append(
                f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="#1f77b4"><title>trial {x}: '
                f"FID {y:.4g}</title></circle>"
            )
        parts.append(
            f'<circle cx="{sx(winner[0]):.1f}" cy="{sy(winner[1]):.1f}" r="8" fill="none" '
            'stroke="#d62728" stroke-width="2"/>'
        )
        parts.append(
            f'<rect x="{right_x - 162}" y="{top + 4}" width="156" height="42" fill="white" '
            'fill-opacity="0.85" stroke="#ccc"/>'
        )
        parts.append(
            f'<circle cx="{right_x - 150}" cy="{top + 14}" r="4" fill="#1f77b4"/>'
            f'<text x="{right_x - 140}" y="{top + 18}">trial FID</text>'
            f'<line x1="{right_x - 156}" x2="{right_x - 144}" y1="{top + 32}" y2="{top + 32}" '
            f'stroke="#d62728" stroke-width="2"/><text x="{right_x - 140}" y="{top + 36}">best so far</text>'
        )
    parts.append("</svg>")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(parts) + "\n")
    tmp.replace(path)
    return path


def write_png_plot(rows: list[dict], path: Path, title: str, ylabel: str) -> Path | None:
    """The same plot as PNG when matplotlib is installed (it is optional); None otherwise."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    points = [(r["trial"], r["fid"]) for r in rows if r["fid"] is not None]
    fig, ax = plt.subplots(figsize=(7.2, 4.2), dpi=100)
    if points:
        xs, ys = zip(*points, strict=True)
        best = [min(ys[: i + 1]) for i in range(len(ys))]
        ax.scatter(xs, ys, label="trial FID")
        ax.step(xs, best, where="post", color="tab:red", label="best so far")
        ax.legend()
    ax.set(title=title, xlabel="trial", ylabel=ylabel)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def report(study, out: Path, space: dict[str, dict], settings: dict, storage: str, echo: bool = True) -> dict:
    """Table (printed), CSV, JSON, best config and plot of the study so far; returns the JSON dict."""
    params = searched(space)
    rows = trial_rows(study, params)
    best = best_row(rows)
    test = study.user_attrs.get("test")
    best_number = best["trial"] if best else None
    if test is not None and test.get("trial") != best_number:
        test = None  # from an earlier winner: kept in the study's test_history, not reported as the winner's
    results: dict[str, Any] = {
        "study": study.study_name,
        "storage": storage,
        "out": str(out),
        "settings": settings,
        "searched": params,
        "counts": {state: sum(r["state"] == state for r in rows) for state in sorted({r["state"] for r in rows})},
        "best": None,
        "test": test,
        "test_history": study.user_attrs.get("test_history", []),
        "trials": rows,
        "files": {"csv": CSV_FILE, "plot": PLOT_FILE},
    }
    if best is not None:
        config_path = out / best["run_dir"] / "config.json"
        config = json.loads(config_path.read_text()) if config_path.exists() else None
        results["best"] = {
            "trial": best["trial"],
            "params": best["params"],
            "val": {k: best[k] for k in ("fid", "kid_mean", "kid_std")},
            "config": config,
            "run_dir": best["run_dir"],
            "model_dir": best["model_dir"],
        }
        if config is not None:
            write_json_atomic(out / "best_config.json", config)
            results["files"]["best_config"] = "best_config.json"
    write_csv(rows, params, best_number, out / CSV_FILE)
    title = f"dcgan tune: {study.study_name}"
    ylabel = f"validation FID ({settings['extractor']})"
    write_svg_plot(rows, out / PLOT_FILE, title, ylabel)
    if write_png_plot(rows, out / PNG_FILE, title, ylabel):
        results["files"]["png"] = PNG_FILE
    write_json_atomic(out / RESULTS_FILE, results)
    if echo:
        print(format_table(rows, params, best_number, test))
        print(f"wrote {out / RESULTS_FILE}, {out / CSV_FILE}, {out / PLOT_FILE}")
    return results


# --------------------------------------------------------------------------------------------------------------
# test split: the winner only


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


# --------------------------------------------------------------------------------------------------------------
# the search


def default_out(study_name: str) -> Path:
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
    optuna = _optuna()
    data = Path(data)
    train_dir, val_dir, test_dir = split_dirs(data, need_test=test)

    if base is None:
        from dcgan.data import Cache

        _, h, _, c = Cache.open(train_dir).images.shape
        base = Config(image_size=h, channels=c)
    train_cache = _open_split(train_dir, "train", base)
    _open_split(val_dir, "val", base)
    if test:
        _open_split(test_dir, "test", base)
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

    study_name = study_name or data.resolve().name
    out = Path(out) if out is not None else default_out(study_name)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / MARKER_FILE
    if marker.exists():
        owner = json.loads(marker.read_text()).get("study")
        if owner != study_name:
            raise ConfigError(f"{out} holds the search {owner!r}, not {study_name!r}; use another --out")
    storage = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    write_json_atomic(marker, {"study": study_name, "storage": storage})

    manifest_path = data / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    settings = {
        "data_fingerprint": manifest.get("fingerprint") or str(data.resolve()),
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
    current: dict[str, int] = {}

    def run_one(trial) -> float:
        current["number"] = trial.number
        return objective(trial)

    try:
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
                    _print_trial(study, done[0], time.perf_counter() - started)
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


def _report_quietly(study, out: Path, space: dict, settings: dict, storage: str) -> None:
    """Update the reports on the way out of an error, without hiding that error."""
    try:
        report(study, out, space, settings, storage, echo=False)
    except Exception as exc:
        print(f"warning: could not update the reports in {out}: {exc!r}", file=sys.stderr)


def _print_trial(study, trial, seconds: float) -> None:
    params = ", ".join(f"{k}={_fmt(v)}" for k, v in trial.params.items())
    if trial.state.name == "COMPLETE":
        best = study.best_trial
        outcome = f"FID {trial.value:.3f}, KID {trial.user_attrs.get('kid_mean', math.nan):.4g} (best: trial "
        outcome += f"{best.number}, FID {best.value:.3f})"
    else:
        outcome = f"{trial.state.name.lower()}: {trial.user_attrs.get('note', '')}"
    print(f"trial {trial.number} [{seconds:.0f} s] {params} → {outcome}", flush=True)
