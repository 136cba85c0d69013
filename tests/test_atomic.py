"""The one atomic write: a reader sees the old file or the new one, and no temp is left behind."""

from __future__ import annotations

import numpy as np
import pytest

from dcgan.atomic import atomic_path, write_npy_atomic


def test_npy_written_under_its_own_name_without_temps(tmp_path) -> None:
    path = tmp_path / "z.npy"
    write_npy_atomic(path, np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(np.load(path), np.arange(6).reshape(2, 3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.npy"]


def test_a_failed_write_keeps_the_old_file(tmp_path) -> None:
    path = tmp_path / "z.npy"
    write_npy_atomic(path, np.zeros(3))
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    np.testing.assert_array_equal(np.load(path), np.zeros(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.npy"]
