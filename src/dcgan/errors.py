"""The project's errors: everything a user can cause is a DcganError, which the CLI reports as
`dcgan CMD: error: …` with exit status 2. Any other exception is a bug and shows its traceback."""


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
