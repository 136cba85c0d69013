"""The project's errors: everything a user can cause is a DcganError, which the CLI reports as
`dcgan CMD: error: …` with exit status 2. Any other exception is a bug and shows its traceback.
`read_model_json` reads the JSON files that describe a bundle and its parts, with those errors."""

import json
from pathlib import Path


class DcganError(Exception):
    """Bad input or state a user can fix: a readable message, no traceback."""


class ConfigError(DcganError):
    """An invalid configuration value, reported before any work starts."""


class DataError(DcganError):
    """Unreadable or inconsistent data: a missing cache, a bad split, an image folder with no images."""


class CheckpointError(DcganError):
    """A missing, corrupt or mismatched checkpoint or run directory."""


class ModelError(DcganError):
    """A missing or invalid model bundle, or a z that breaks the model's z contract."""


class MetricsError(DcganError):
    """A scoring request that cannot be met: too few images, an unavailable feature extractor."""


def read_model_json(path: Path, missing: str, fmt: int | None = None) -> dict:
    """The JSON object in `path` (a bundle's or a part's info). A ModelError saying `missing` when the file is
    absent, a clear one when it is unreadable, not an object, or (with `fmt`) of another format."""
    try:
        info = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ModelError(missing) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from None
    if not isinstance(info, dict):
        raise ModelError(f"{path} is not a JSON object")
    if fmt is not None and info.get("format") != fmt:
        raise ModelError(f"{path} has format {info.get('format')!r}; this version reads format {fmt}")
    return info
