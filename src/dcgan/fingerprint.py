"""A bundle's generator weights file and its sha256, without TensorFlow: what is fitted to a generator (named
controls, the photo encoder, the browser export) names the weights it was made from, and a check of that (e.g.
`scripts/app.sh` before it exports for the browser) should not have to load TensorFlow."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

WEIGHTS_FILE = "generator.npz"


def weights_digest(path: Path) -> str:
    """sha256 of a bundle's generator weights: what is fitted to a generator is valid only for the weights it was
    made from. Computed again only when the file's mtime or size changes (a server checks it on every /api/models)."""
    stat = Path(path).stat()
    return _file_sha256(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str, _mtime_ns: int, _size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
