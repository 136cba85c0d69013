"""`dcgan datasets`: what is prepared under a folder (every folder with a prepare manifest.json)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from dcgan.datasets.download import human
from dcgan.errors import DataError
from dcgan.splits import SPLIT_NAMES


def disk_usage(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def list_prepared(root: Path) -> list[dict]:
    """One row per prepared cache under `root` (a split cache is one row with its split counts)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; give the folder that holds your prepared caches with --root")
    rows = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if "manifest.json" not in files:
            continue
        path = Path(folder)
        row = {"name": path.relative_to(root).as_posix() if path != root else path.name, "path": str(path)}
        try:
            manifest = json.loads((path / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            rows.append({**row, "error": f"unreadable manifest.json ({exc})", "disk": disk_usage(path)})
            dirs[:] = []
            continue
        if not isinstance(manifest, dict) or "count" not in manifest or "size" not in manifest:
            continue  # some other manifest.json (a model bundle, a run), not a prepared cache
        counts = manifest.get("counts")
        if not isinstance(counts, dict):
            counts = {"all": manifest.get("count", 0)}
        rows.append(
            {
                **row,
                "counts": counts,
                "count": manifest.get("count", sum(counts.values())),
                "size": manifest.get("size"),
                "channels": manifest.get("channels"),
                "crop": manifest.get("crop"),
                "split": manifest.get("split"),
                "skipped": manifest.get("skipped_count", 0),
                "source": manifest.get("source", ""),
                "disk": disk_usage(path),
            }
        )
        dirs[:] = [d for d in dirs if d not in SPLIT_NAMES]  # a split cache's parts are in its row
    return sorted(rows, key=lambda r: r["name"])


def format_table(rows: list[dict]) -> str:
    if not rows:
        return "no prepared datasets"
    header = ("name", "images", "splits", "size", "ch", "disk", "source")
    lines = [header]
    for r in rows:
        if "error" in r:
            lines.append((r["name"], "?", r["error"], "", "", human(r["disk"]), ""))
            continue
        splits = ", ".join(f"{k} {v}" for k, v in r["counts"].items()) if list(r["counts"]) != ["all"] else "-"
        lines.append(
            (
                r["name"],
                str(r["count"]),
                splits,
                f"{r['size']}×{r['size']}",
                str(r["channels"]),
                human(r["disk"]),
                r["source"],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)) + "  " + line[-1] for line in lines
    )
