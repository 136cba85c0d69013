"""The search space of `dcgan tune`: which Config fields a trial may vary, read from JSON and checked.

A space maps a Config field to one of (also the forms --space takes):
  [a, b, ...]                           categorical choices (one choice: a fixed value)
  {"low": a, "high": b, "log": true}    a range, float or int by the Config field's type
  a scalar                              a fixed value for every trial (not searched)
  null                                  not searched: the base config's value
Canonical form (as saved in the study): {"type": "categorical"|"float"|"int"|"fixed", ...}.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from dcgan.config import SCHEDULE_FIELDS, Config
from dcgan.errors import ConfigError

# The default search space (forms above).
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
    """The names of the entries a trial varies (not fixed)."""
    return [name for name, spec in space.items() if spec["type"] != "fixed"]


def fixed_config(base: Config, space: dict[str, dict]) -> Config:
    """The base config with the space's fixed values applied."""
    return base.replace(**{name: spec["value"] for name, spec in space.items() if spec["type"] == "fixed"})


def space_maximum(base: Config, space: dict[str, dict], name: str) -> Any:
    """The largest value a trial may give field `name` (the base config's when the space leaves it out)."""
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
